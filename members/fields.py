from django.db import models

from . import crypto


class EncryptedTextField(models.TextField):
    """Stores a Fernet token; Python code only ever sees the clear text.

    Lookups against it are meaningless (each encryption differs): search through
    the digest column beside it instead.
    """

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        return crypto.decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return crypto.encrypt(value)

"""The operators' reference data as spreadsheets: django-import-export resources for the admin.

Three resources, each importing with the admin's preview (a dry run in a transaction that is
rolled back) and exporting the same columns, so that an exported file imports again unchanged:

- `OrganisationResource`: the organisation tree (a county sets up its branches from a sheet);
- `ExternalOrganisationResource`: organisations outside this deployment;
- `StaffResource` (accounts/resources.py): staff accounts and their assignment to a node.

Shared rules (`ReferenceResource`):

- The first row holds the column names (Chinese, as a county's sheet has them; a few common
  variants are accepted, see each resource's `header_aliases`). Values are trimmed; numbers that
  Excel made of codes and phone numbers (510723, 13800138000.0) are read back as text.
- A file is imported whole or not at all: a row error rolls every row back, even on the real
  import (`rollback_on_validation_errors` defaults to True here).
- Re-importing an unchanged row changes nothing (`skip_unchanged`): no save, no history entry.
- Row errors are in Chinese and name the sheet row ("表格第 5 行", the header being row 1).
- Phone numbers go through `members.phone.validate` (as the model's `validate_phone` does) and are
  stored in its normal form (e.g. 0571-87654321), like the app's forms store them.
- Blank rows are skipped.
"""

from collections import Counter

from django.contrib.auth.base_user import BaseUserManager
from django.core.exceptions import (
    NON_FIELD_ERRORS,
    FieldDoesNotExist,
    ValidationError,
)
from django.db.models import TextChoices
from django.utils import translation
from import_export import resources, widgets
from import_export.results import RowResult

from .. import phone
from ..models import Organisation

# The language of the sheets and of their error messages, whatever the admin's language.
SHEET_LANGUAGE = "zh-hans"


def text(value) -> str:
    """A cell as trimmed text; a whole number Excel stored as a float loses its '.0'."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


# --- widgets ---------------------------------------------------------------------------------


class TextWidget(widgets.CharWidget):
    def clean(self, value, row=None, **kwargs):
        return text(value)


class PhoneWidget(TextWidget):
    """A phone number checked by members.phone (the model's validator) and stored normalised."""

    def clean(self, value, row=None, **kwargs):
        number = text(value)
        if not number:
            return ""
        try:
            return phone.validate(number)
        except ValidationError as error:
            with translation.override(SHEET_LANGUAGE):
                reason = "".join(str(message) for message in error.messages)
            raise ValueError(f"“{number}”不是有效的电话号码。{reason}") from None


class EmailWidget(TextWidget):
    def clean(self, value, row=None, **kwargs):
        return BaseUserManager.normalize_email(text(value))


class ChoiceWidget(widgets.Widget):
    """A choice by its stored value, its label (Chinese or English) or a common short name.

    Exports the Chinese label.
    """

    def __init__(self, choices: type[TextChoices], what: str, aliases: dict[str, str]):
        super().__init__()
        self.choices = choices
        self.what = what
        self.aliases = aliases
        self._lookup: dict[str, str] | None = None

    @staticmethod
    def _key(value: str) -> str:
        return "".join(value.split()).casefold()

    def lookup(self) -> dict[str, str]:
        if self._lookup is None:
            table = {self._key(alias): value for alias, value in self.aliases.items()}
            for choice in self.choices:
                table[self._key(choice.value)] = choice.value
                for language in ("en", SHEET_LANGUAGE):
                    with translation.override(language):
                        table[self._key(str(choice.label))] = choice.value
            self._lookup = table
        return self._lookup

    def clean(self, value, row=None, **kwargs):
        given = text(value)
        if not given:
            return ""
        try:
            return self.lookup()[self._key(given)]
        except KeyError:
            with translation.override(SHEET_LANGUAGE):
                labels = "、".join(str(choice.label) for choice in self.choices)
            raise ValueError(f"不认识的{self.what}“{given}”，可填：{labels}。") from None

    def render(self, value, obj=None, **kwargs):
        if not value:
            return ""
        with translation.override(SHEET_LANGUAGE):
            return str(self.choices(value).label)


class UnknownOrganisation(LookupError):
    pass


class AmbiguousOrganisation(LookupError):
    pass


def find_organisation(reference: str) -> Organisation:
    """An organisation by its code or, failing that, by its name.

    Raises UnknownOrganisation, or AmbiguousOrganisation (with the reason in Chinese).
    """
    by_code = list(Organisation.objects.filter(code=reference)[:2])
    if len(by_code) > 1:
        raise AmbiguousOrganisation(f"有多个党组织的代码是“{reference}”，无法确定是哪一个。")
    if by_code:
        return by_code[0]
    by_name = list(Organisation.objects.filter(name=reference)[:2])
    if len(by_name) > 1:
        raise AmbiguousOrganisation(
            f"有多个党组织名为“{reference}”，请改填它的代码"
            "（如它还没有代码，先在党组织中为它填上一个）。"
        )
    if by_name:
        return by_name[0]
    raise UnknownOrganisation(f"找不到党组织“{reference}”（按代码和名称都查不到）。")


class OrganisationWidget(widgets.ForeignKeyWidget):
    """An organisation node by code or name (`find_organisation`); renders its name."""

    def __init__(self):
        super().__init__(Organisation, field="name")

    def clean(self, value, row=None, **kwargs):
        reference = text(value)
        if not reference:
            return None
        try:
            return find_organisation(reference)
        except LookupError as error:
            raise ValueError(str(error)) from None


class OrganisationReferences:
    """How an export names an organisation: by name, or by code where the name is not unique.

    So that the exported file finds the same organisations when it is imported again.
    """

    def __init__(self):
        self._name_counts: Counter | None = None

    def of(self, organisation: Organisation | None) -> str:
        if organisation is None:
            return ""
        if self._name_counts is None:
            self._name_counts = Counter(Organisation.objects.values_list("name", flat=True))
        if self._name_counts[organisation.name] > 1 and organisation.code:
            return organisation.code
        return organisation.name


# --- the shared base -------------------------------------------------------------------------


class ReferenceResource(resources.ModelResource):
    """Whole file or nothing, Chinese errors that name the row, header variants, blank rows."""

    #: Other names a county's sheet may give a column, mapped to ours.
    header_aliases: dict[str, str] = {}
    #: Columns a file must have.
    required_headers: tuple[str, ...] = ()
    #: Model fields that full_clean() leaves alone (set by saving, not by the file).
    clean_exclude: tuple[str, ...] = ()

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._line = 0
        self._imported_at: dict[object, int] = {}  # pk → sheet row, to catch a repeated row

    # The whole file or nothing: a row that fails validation rolls back every row.
    def import_data(
        self,
        dataset,
        dry_run=False,
        raise_errors=False,
        use_transactions=None,
        collect_failed_rows=False,
        rollback_on_validation_errors=True,
        **kwargs,
    ):
        return super().import_data(
            dataset,
            dry_run=dry_run,
            raise_errors=raise_errors,
            use_transactions=use_transactions,
            collect_failed_rows=collect_failed_rows,
            rollback_on_validation_errors=rollback_on_validation_errors,
            **kwargs,
        )

    def before_import(self, dataset, **kwargs):
        headers = [text(header) for header in dataset.headers or []]
        present = set(headers)
        for index, header in enumerate(headers):
            ours = self.header_aliases.get(header)
            if ours and ours not in present:
                headers[index] = ours
                present.add(ours)
        if dataset.headers:
            dataset.headers = headers
        missing = [header for header in self.required_headers if header not in present]
        if missing:
            columns = "、".join(field.column_name for field in self.get_import_fields())
            raise ValueError(
                f"表格缺少这些列：{'、'.join(missing)}。第一行应是列名，可用的列有：{columns}。"
            )

    def import_row(self, row, instance_loader, **kwargs):
        if not any(text(value) for value in row.values()):
            blank = self.get_row_result_class()()
            blank.import_type = RowResult.IMPORT_TYPE_SKIP
            return blank
        return super().import_row(row, instance_loader, **kwargs)

    def before_import_row(self, row, **kwargs):
        self._line = kwargs.get("row_number", 0) + 1  # the header is the sheet's first row

    def get_or_init_instance(self, instance_loader, row):
        instance, new = super().get_or_init_instance(instance_loader, row)
        if not new and instance.pk in self._imported_at:
            first = self.fields[self.get_import_id_fields()[0]].column_name
            raise self.row_error(
                first, f"与表格第{self._imported_at[instance.pk]}行是同一条记录，请删去重复的一行。"
            )
        return instance, new

    def after_import_row(self, row, row_result, **kwargs):
        if row_result.object_id is not None:
            self._imported_at.setdefault(row_result.object_id, self._line)

    # --- errors ---

    def row_error(self, column: str | None, message: str) -> ValidationError:
        """A row error in Chinese that names the sheet row (and the column)."""
        where = f"表格第{self._line}行" + (f"“{column}”" if column else "")
        return ValidationError({column or NON_FIELD_ERRORS: [f"{where}：{message}"]})

    def check_instance(self, instance) -> dict[str, str]:
        """Rules beyond the model's own, as {field name: message}. None by default."""
        return {}

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        """The widgets' errors, `check_instance` and the model's full_clean(), in Chinese."""
        errors = dict(import_validation_errors or {})
        for name, message in self.check_instance(instance).items():
            errors.setdefault(name, []).append(ValidationError(message))
        try:
            instance.full_clean(
                exclude=[*errors, *self.clean_exclude], validate_unique=validate_unique
            )
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        if not errors:
            return
        columns = {field.attribute: field.column_name for field in self.fields.values()}
        located: dict[str, list[str]] = {}
        with translation.override(SHEET_LANGUAGE):
            for name, messages in ValidationError(errors).message_dict.items():
                if name == NON_FIELD_ERRORS:
                    column = None
                else:
                    column = columns.get(name) or self._verbose_name(instance, name)
                for message in messages:
                    for key, value in self.row_error(column, message).message_dict.items():
                        located.setdefault(key, []).extend(value)
        raise ValidationError(located)

    @staticmethod
    def _verbose_name(instance, name: str) -> str:
        try:
            return str(instance._meta.get_field(name).verbose_name)
        except FieldDoesNotExist:
            return name


# --- the organisation tree -------------------------------------------------------------------

NAME, KIND, PARENT, CODE = "名称", "类型", "上级党组织", "代码"
REGION, CONTACT, PHONE = "所在地区", "联系人", "联系电话"

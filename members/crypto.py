"""Encryption at rest for national ID numbers.

Fernet (AES-128-CBC + HMAC, from the `cryptography` library) with a MultiFernet so that
FIELD_ENCRYPTION_KEY can hold several keys during a rotation: the first encrypts, all
decrypt. A keyed digest (HMAC-SHA256) gives a stable value for uniqueness and exact
search without storing the number in clear; it too is keyed by the first key, so a
rotation (manage.py rotate_field_key) recomputes it.
"""

import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


@lru_cache(maxsize=4)
def _digest_key(primary_key: str) -> bytes:
    return hashlib.sha256(b"liudong-digest:" + primary_key.encode()).digest()


def encrypt(plain: str) -> str:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS)).encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS)).decrypt(token.encode()).decode()


def digest(plain: str) -> str:
    key = _digest_key(settings.FIELD_ENCRYPTION_KEYS[0])
    return hmac.new(key, plain.encode(), hashlib.sha256).hexdigest()


def digests(plain: str) -> list[str]:
    """The digest under each key, first key first: exact search that still finds rows a
    rotation has not reached yet."""
    return [
        hmac.new(_digest_key(key), plain.encode(), hashlib.sha256).hexdigest()
        for key in settings.FIELD_ENCRYPTION_KEYS
    ]


def under_first_key(token: str) -> bool:
    try:
        _fernet((settings.FIELD_ENCRYPTION_KEYS[0],)).decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def rotate(token: str) -> str:
    """The same clear text encrypted under the first key (any listed key may have made it)."""
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS)).rotate(token.encode()).decode()

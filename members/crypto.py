"""Encryption at rest for national ID numbers.

Fernet (AES-128-CBC + HMAC, from the `cryptography` library) with a MultiFernet so that
FIELD_ENCRYPTION_KEY can hold several keys during a rotation: the first encrypts, all
decrypt. A keyed digest (HMAC-SHA256) gives a stable value for uniqueness and exact
search without storing the number in clear.
"""

import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, MultiFernet
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

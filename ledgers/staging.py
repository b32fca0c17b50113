"""Uploaded spreadsheets between the preview and the import, never on disk.

The file is encrypted (it holds ID numbers) and kept in the cache — Redis in production,
which the Celery worker shares — for an hour, then dropped.
"""

import uuid

from django.core.cache import cache

from members import crypto

TTL_SECONDS = 60 * 60


def _key(token: str) -> str:
    return f"ledger-upload:{token}"


def stash(content: bytes) -> str | None:
    """A token to fetch the content with, or None when the cache could not keep it."""
    token = uuid.uuid4().hex
    return token if stash_as(token, content) else None


def stash_as(token: str, content: bytes, *, ttl: int = TTL_SECONDS) -> bool:
    # Django's caches return None from set(); config.cache's returns False when Redis is down.
    kept = cache.set(_key(token), crypto.encrypt(content.decode("latin-1")), ttl)
    return kept is not False


def fetch(token: str) -> bytes | None:
    stored = cache.get(_key(token))
    return None if stored is None else crypto.decrypt(stored).encode("latin-1")


def drop(token: str) -> None:
    cache.delete(_key(token))

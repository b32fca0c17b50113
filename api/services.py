"""Writes: issuing and revoking tokens, recording calls."""

import hashlib
import secrets
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .models import ApiCall, ApiClient, ApiToken

TOKEN_PREFIX = "ld_"  # noqa: S105 - marks a Liudong token; not a secret
# last_used_at is a hint for administrators; writing it on every call would make every read
# a write on the same row.
LAST_USED_EVERY = timedelta(minutes=1)


def token_digest(token: str) -> str:
    # A random 256-bit token needs no slow hash: nothing to guess from the digest.
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def issue_token(*, client: ApiClient, actor=None, revoke_others: bool = True) -> str:
    """A new token for the client (returned once, never stored); the old ones stop working."""
    ApiClient.objects.select_for_update().get(pk=client.pk)
    if revoke_others:
        client.tokens.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    ApiToken.objects.create(
        client=client,
        digest=token_digest(token),
        prefix=token[: len(TOKEN_PREFIX) + 6],
        created_by=actor,
    )
    return token


def revoke_tokens(*, client: ApiClient) -> int:
    return client.tokens.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())


def record_call(
    *,
    token: ApiToken | None,
    method: str,
    path: str,
    query: str,
    status: int,
    ip_address: str | None,
) -> ApiCall:
    """One line of the access log, and the client's last use (at most once a minute)."""
    client_id = token.client_id if token is not None else None
    if client_id is not None:
        now = timezone.now()
        stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_EVERY)
        ApiClient.objects.filter(stale, pk=client_id).update(last_used_at=now)
    return ApiCall.objects.create(
        client_id=client_id,
        token=token,
        method=method[:10],
        path=path[:300],
        query=query[:300],
        status=status,
        ip_address=ip_address,
    )

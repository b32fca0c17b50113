"""Signing what goes to a partner and checking what comes from one.

HMAC-SHA256 with the direction's shared secret over "<timestamp>.<body bytes>": the signature
covers the time, so a captured request replays only inside the window, and within it the
message id makes a replay a duplicate that is answered and ignored.
"""

import hashlib
import hmac
import time

from django.conf import settings

KEY_HEADER = "X-Liudong-Key"
TIMESTAMP_HEADER = "X-Liudong-Timestamp"
SIGNATURE_HEADER = "X-Liudong-Signature"


def window_seconds() -> int:
    return getattr(settings, "PARTNER_CLOCK_SKEW_SECONDS", 300)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def signed_headers(*, key_id: str, secret: str, body: bytes, now: float | None = None) -> dict:
    timestamp = str(int(now if now is not None else time.time()))
    return {
        KEY_HEADER: key_id,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }


def verify(
    *, secret: str, timestamp: str, given: str, body: bytes, now: float | None = None
) -> bool:
    """True when the signature matches and the timestamp is inside the window."""
    try:
        at = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - at) > window_seconds():
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), given or "")

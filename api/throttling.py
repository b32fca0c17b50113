"""Calls per token, counted in Django's cache (Redis when REDIS_URL is set).

ninja keeps one throttle object for every request and SimpleRateThrottle keeps the request's
history on it; under threads two calls would mix theirs, so each call counts on its own copy.
"""

import threading

from django.conf import settings
from ninja.throttling import BaseThrottle, SimpleRateThrottle

DEFAULT_RATE = "600/min"


def api_rate() -> str:
    return getattr(settings, "API_RATE", DEFAULT_RATE)


class _OneCall(SimpleRateThrottle):
    scope = "api_token"

    def get_cache_key(self, request) -> str | None:
        token = getattr(request, "auth", None)
        if token is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": token.pk}


class TokenRateThrottle(BaseThrottle):
    def __init__(self):
        self._last = threading.local()

    def allow_request(self, request) -> bool:
        call = _OneCall(api_rate())  # read each time: the setting may change in tests
        self._last.call = call
        return call.allow_request(request)

    def wait(self) -> float | None:
        call = getattr(self._last, "call", None)
        return call.wait() if call is not None else None

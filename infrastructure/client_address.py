"""The address of the person at the keyboard, behind PROXY_COUNT trusted reverse proxies.

Each proxy appends the address it was connected from to X-Forwarded-For, so behind N proxies
the client is the N-th entry from the right; anything further left was written by the client
and is not trusted. With no proxy the socket's address (REMOTE_ADDR) is the client.

Why not django-ipware (python-ipware 4): its `proxy_count` assumes every proxy, the last one
included, appears in the header ("client, proxy1, proxy2"); nginx, Caddy and Traefik append the
address they saw, not their own, so with one proxy and a forged header ipware answered with the
proxy's own address, and a stranger could again lock out a username for everyone behind it
(tests/test_security.py). This is the rule Werkzeug's ProxyFix and DRF's NUM_PROXIES use.
"""

from ipaddress import ip_address

from django.conf import settings


def _valid(value: str) -> str | None:
    try:
        return str(ip_address(value.strip()))
    except ValueError:
        return None


def client_address(request) -> str | None:
    remote = request.META.get("REMOTE_ADDR")
    count = settings.PROXY_COUNT
    if not count:
        return _valid(remote) if remote else None
    forwarded = [part for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part]
    if len(forwarded) < count:
        # A request that did not come through every proxy (e.g. a health check from inside).
        return _valid(remote) if remote else None
    return _valid(forwarded[-count])

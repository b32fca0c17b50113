"""A Redis cache that a Redis outage cannot take the site down with.

The cache holds nothing the database does not (sessions and login attempts live in the
database); what it does hold — staged uploads and finished exports — is lost anyway when Redis
is. So while Redis is unreachable every call logs and behaves like a miss, and pages go on.
"""

import logging
from functools import wraps

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

UNREACHABLE = (RedisConnectionError, RedisTimeoutError)


def _degrades_to(fallback):
    """Run the Redis call; when Redis is unreachable, log and return `fallback(*args)`."""

    def decorate(method):
        @wraps(method)
        def call(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except UNREACHABLE as error:
                logger.warning("cache %s skipped, Redis unreachable: %s", method.__name__, error)
                return fallback(*args, **kwargs)

        return call

    return decorate


def _default(key, default=None, version=None):
    return default


class TolerantRedisCache(RedisCache):
    """RedisCache whose reads miss and whose writes are skipped while Redis is down.

    `set` returns True when Redis kept the value and False when it did not, so a caller that
    must know (a staged upload) can ask; Django's own callers ignore the result.
    """

    get = _degrades_to(_default)(RedisCache.get)
    get_many = _degrades_to(lambda *args, **kwargs: {})(RedisCache.get_many)
    has_key = _degrades_to(lambda *args, **kwargs: False)(RedisCache.has_key)
    add = _degrades_to(lambda *args, **kwargs: False)(RedisCache.add)
    touch = _degrades_to(lambda *args, **kwargs: False)(RedisCache.touch)
    delete = _degrades_to(lambda *args, **kwargs: False)(RedisCache.delete)
    delete_many = _degrades_to(lambda *args, **kwargs: None)(RedisCache.delete_many)
    set_many = _degrades_to(lambda data, *args, **kwargs: list(data))(RedisCache.set_many)
    clear = _degrades_to(lambda *args, **kwargs: False)(RedisCache.clear)

    @_degrades_to(lambda *args, **kwargs: False)
    def set(self, *args, **kwargs):
        super().set(*args, **kwargs)
        return True

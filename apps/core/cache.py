"""Caches: a tiny per-process TTL cache for hot reads, and Django's Redis cache, forgiving a Redis outage: with short socket timeouts (in
settings), a read that cannot reach Redis is a miss and a write is dropped, each
with a log line, so that what uses the cache (the login throttle, rate limits)
degrades instead of answering 500 or hanging while Redis is down."""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger("weft.cache")
_last_log = {"at": 0.0}


def _forgiving(default):
    def wrap(method):
        @functools.wraps(method)
        def call(self, *args, **kwargs):  # default(*args): what the call gives without Redis
            try:
                return method(self, *args, **kwargs)
            except RedisError as exc:
                now = time.monotonic()
                if now - _last_log["at"] > 5:  # one line per few seconds of outage
                    _last_log["at"] = now
                    logger.warning("the cache is unreachable (%s); %s goes on without it",
                                   exc.__class__.__name__, method.__name__)
                return default(*args, **kwargs) if callable(default) else default
        return call
    return wrap


def _given_default(key, default=None, *args, **kwargs):
    return default


class ForgivingRedisCache(RedisCache):
    get = _forgiving(_given_default)(RedisCache.get)
    get_many = _forgiving(lambda *a, **k: {})(RedisCache.get_many)
    has_key = _forgiving(False)(RedisCache.has_key)
    add = _forgiving(False)(RedisCache.add)
    set = _forgiving(None)(RedisCache.set)
    set_many = _forgiving(lambda data, *a, **k: list(data))(RedisCache.set_many)
    touch = _forgiving(False)(RedisCache.touch)
    delete = _forgiving(False)(RedisCache.delete)
    delete_many = _forgiving(None)(RedisCache.delete_many)
    clear = _forgiving(False)(RedisCache.clear)


class TtlCache:
    """A tiny per-process cache for hot reads that may lag by `ttl` seconds (another
    process's kill switch change, a new published version, a webhook's settings).

    One thread loads an expired key at a time: while it does, the others get the value
    that just expired (a lag of one load more). Without that, every webhook thread that
    came in while an entry was being loaded again ran the same query (with 32 in flight,
    about one query a run at 1 s entries). No caller ever waits for another's load: a
    waiter would hold its thread's database connection while the load waits for one
    from the same pool (with every connection so held, nothing moves until the pool
    times out). So a key that has no value yet is loaded by each caller that asks."""

    def __init__(self, ttl: float, *, max_entries: int = 10000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.data: dict[Hashable, tuple[float, Any]] = {}
        self._loading: set[Hashable] = set()  # expired keys one thread is loading again
        self._lock = threading.Lock()

    def get(self, key: Hashable, load: Callable[[], Any]) -> Any:
        now = time.monotonic()
        hit = self.data.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        mine = False
        if hit is not None:
            with self._lock:
                if key in self._loading:
                    return hit[1]
                self._loading.add(key)
                mine = True
        try:
            value = load()
            if len(self.data) > self.max_entries:
                self.data.clear()
            self.data[key] = (now + self.ttl, value)
        finally:
            if mine:  # after the store: no thread finds it expired and unclaimed
                with self._lock:
                    self._loading.discard(key)
        return value

    def forget(self, key: Hashable) -> None:
        self.data.pop(key, None)

    def clear(self) -> None:
        self.data.clear()

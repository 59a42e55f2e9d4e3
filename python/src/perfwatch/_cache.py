"""Cache hit/miss accounting: explicit counters and ``functools.lru_cache`` readers."""

from __future__ import annotations

import threading
from typing import Any, Callable, Optional

# name -> object with a ``counts() -> (hits, misses)`` method.  A later registration under
# the same name replaces the earlier one.
_caches: dict = {}
_caches_lock = threading.Lock()


def _register(name: str, source: Any) -> None:
    if not isinstance(name, str) or not name:
        raise ValueError("a cache needs a non-empty string name")
    with _caches_lock:
        _caches[name] = source


class CacheStats:
    """Thread-safe hit/miss counters for a cache of your own, reported as ``cache.<name>.*``.

    Creating one registers it under ``name`` (replacing any earlier cache of that name),
    so :func:`perfwatch.summary` and :func:`perfwatch.emit` report its hit rate, hits and
    misses::

        stats = CacheStats("coords")
        value = cache.get(key)
        stats.record(value is not None)
    """

    __slots__ = ("name", "_lock", "_hits", "_misses")

    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._hits = 0
        self._misses = 0
        _register(name, self)

    def hit(self) -> None:
        """Counts one lookup that found its entry."""
        with self._lock:
            self._hits += 1

    def miss(self) -> None:
        """Counts one lookup that did not."""
        with self._lock:
            self._misses += 1

    def record(self, hit: bool) -> None:
        """Counts one lookup, a hit when ``hit`` is true."""
        with self._lock:
            if hit:
                self._hits += 1
            else:
                self._misses += 1

    def counts(self) -> tuple:
        """``(hits, misses)`` read together, so they are consistent with each other."""
        with self._lock:
            return self._hits, self._misses

    @property
    def hits(self) -> int:
        """Lookups that hit."""
        return self.counts()[0]

    @property
    def misses(self) -> int:
        """Lookups that missed."""
        return self.counts()[1]

    @property
    def hit_rate(self) -> Optional[float]:
        """hits / (hits + misses), or ``None`` before the first lookup."""
        return _rate(*self.counts())

    def clear(self) -> None:
        """Sets both counters back to zero."""
        with self._lock:
            self._hits = self._misses = 0

    def __repr__(self) -> str:
        hits, misses = self.counts()
        return f"CacheStats({self.name!r}, hits={hits}, misses={misses})"


class _LruReader:
    """Reads ``cache_info()`` of an ``lru_cache``-wrapped function when asked."""

    __slots__ = ("fn",)

    def __init__(self, fn: Any) -> None:
        self.fn = fn

    def counts(self) -> tuple:
        info = self.fn.cache_info()
        return info.hits, info.misses


def track_cache(name: str, cached_fn: Callable) -> Callable:
    """Reports the hit rate of a ``functools.lru_cache`` (or ``functools.cache``) function.

    Its ``cache_info()`` is read whenever :func:`perfwatch.summary` or
    :func:`perfwatch.emit` runs (including the automatic emit at exit under perfwatch), and
    reported as ``cache.<name>.hit_rate``, ``.hits`` and ``.misses``.  The counts are the
    cache's own, since it was created or last ``cache_clear()``-ed; :func:`perfwatch.reset`
    stops tracking but does not clear the cache.  Returns ``cached_fn`` unchanged, so it can
    be used inline: ``lookup = track_cache("lookup", functools.lru_cache(maxsize=256)(f))``.
    """
    if not callable(getattr(cached_fn, "cache_info", None)):
        raise TypeError("track_cache expects a functools.lru_cache-wrapped function (with cache_info())")
    _register(name, _LruReader(cached_fn))
    return cached_fn


def _rate(hits: int, misses: int) -> Optional[float]:
    total = hits + misses
    return hits / total if total else None


def cache_summaries() -> dict:
    """``{name: {"hits", "misses", "lookups", "hit_rate"}}`` for every registered cache."""
    with _caches_lock:
        items = sorted(_caches.items())
    out = {}
    for name, source in items:
        hits, misses = source.counts()
        out[name] = {"hits": hits, "misses": misses, "lookups": hits + misses,
                     "hit_rate": _rate(hits, misses)}
    return out


def reset_caches() -> None:
    """Zeroes every ``CacheStats`` (which stay registered, like operations) and stops
    tracking ``lru_cache`` functions."""
    with _caches_lock:
        for name, source in list(_caches.items()):
            if isinstance(source, CacheStats):
                source.clear()
            else:
                del _caches[name]

"""CacheStats and track_cache."""

from __future__ import annotations

import functools
import threading

import pytest

import perfwatch


def test_cache_stats_counts_and_rate():
    stats = perfwatch.CacheStats("coords")
    assert stats.hit_rate is None
    stats.hit()
    stats.hit()
    stats.miss()
    stats.record(True)
    stats.record(False)
    assert (stats.hits, stats.misses) == (3, 2)
    assert stats.hit_rate == pytest.approx(0.6)
    assert perfwatch.summary()["caches"]["coords"] == {
        "hits": 3, "misses": 2, "lookups": 5, "hit_rate": pytest.approx(0.6)}


def test_cache_stats_thread_safe():
    stats = perfwatch.CacheStats("mt")

    def run():
        for i in range(10_000):
            stats.record(i % 4 != 0)

    threads = [threading.Thread(target=run) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert (stats.hits, stats.misses) == (60_000, 20_000)
    assert stats.hit_rate == 0.75


def test_track_cache_reads_lru_cache_info():
    @functools.lru_cache(maxsize=None)
    def square(x):
        return x * x

    assert perfwatch.track_cache("square", square) is square
    for x in [1, 2, 1, 1, 2]:  # 2 misses, then 3 hits
        square(x)
    c = perfwatch.summary()["caches"]["square"]
    assert (c["hits"], c["misses"], c["hit_rate"]) == (3, 2, 0.6)
    square(3)  # read live, at summary time
    assert perfwatch.summary()["caches"]["square"]["hit_rate"] == 0.5


def test_track_cache_inline_and_rejects_plain_functions():
    lookup = perfwatch.track_cache("inline", functools.lru_cache(maxsize=4)(str.upper))
    assert lookup("a") == "A"
    with pytest.raises(TypeError):
        perfwatch.track_cache("plain", len)


def test_reset_forgets_tracked_and_zeroes_stats():
    stats = perfwatch.CacheStats("kept")
    stats.hit()
    perfwatch.track_cache("gone", functools.lru_cache()(abs))
    perfwatch.reset()
    caches = perfwatch.summary()["caches"]
    assert "gone" not in caches
    assert caches["kept"]["lookups"] == 0 and caches["kept"]["hit_rate"] is None

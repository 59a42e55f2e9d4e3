"""Timing, percentiles, thread and asyncio safety, slow-call logging."""

from __future__ import annotations

import asyncio
import inspect
import logging
import statistics
import sys
import threading
import time

import pytest

import perfwatch
from perfwatch import _ops


@pytest.fixture
def fast_switching():
    # Switch threads very often so an unlocked read-modify-write would actually race.
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(old)


def test_decorator_forms_and_context_manager():
    @perfwatch.timed
    def bare():
        return 1

    @perfwatch.timed("named")
    def named(x, *, y=0):
        return x + y

    @perfwatch.timed(name="kw", memory=False, warn_s=1.0, error_s=5.0)
    def kw():
        return "kw"

    assert bare() == 1 and named(2, y=3) == 5 and kw() == "kw"
    assert bare.__name__ == "bare"  # functools.wraps kept the metadata
    with perfwatch.timed("block"):
        pass
    ops = perfwatch.summary()["operations"]
    assert {n: s["count"] for n, s in ops.items()} == {
        "test_timing.test_decorator_forms_and_context_manager.<locals>.bare": 1,
        "named": 1, "kw": 1, "block": 1,
    }


def test_failing_calls_are_recorded_and_reraised():
    @perfwatch.timed("boom")
    def boom():
        raise KeyError("x")

    with pytest.raises(KeyError):
        boom()
    with pytest.raises(ValueError):
        with perfwatch.timed("boom"):
            raise ValueError
    assert perfwatch.summary()["operations"]["boom"]["count"] == 2


def test_nested_context_manager_reuse():
    t = perfwatch.timed("nest")
    with t:
        time.sleep(0.01)
        with t:
            pass
    s = perfwatch.summary()["operations"]["nest"]
    assert s["count"] == 2
    assert s["max_s"] >= 0.01 > s["min_s"]


def test_threads_lose_no_counts(fast_switching):
    @perfwatch.timed("mt")
    def work():
        pass

    def run():
        for _ in range(10_000):
            work()

    threads = [threading.Thread(target=run) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    s = perfwatch.summary()["operations"]["mt"]
    assert s["count"] == 100_000
    assert s["sampled"] is True
    assert 0 < s["min_s"] <= s["p50_s"] <= s["p95_s"] <= s["p99_s"] <= s["max_s"]
    assert s["total_s"] == pytest.approx(s["mean_s"] * 100_000)
    assert len(_ops.get_op("mt").reservoir) == perfwatch.RESERVOIR_CAPACITY


def test_each_call_takes_the_operation_lock_once(monkeypatch):
    # Under the GIL a lost update is rare enough that the test above may pass without the
    # lock; this pins the lock itself (and that the hot path takes it only once).
    op = _ops.get_op("locked")
    acquired = []

    class CountingLock:
        def __init__(self, inner):
            self.inner = inner

        def __enter__(self):
            acquired.append(1)
            return self.inner.__enter__()

        def __exit__(self, *exc):
            return self.inner.__exit__(*exc)

    monkeypatch.setattr(op, "lock", CountingLock(op.lock))

    @perfwatch.timed("locked")
    def work():
        pass

    for _ in range(3):
        work()
    assert len(acquired) == 3
    assert op.count == 3


def test_asyncio_tasks_lose_no_counts():
    @perfwatch.timed("coro")
    async def step():
        await asyncio.sleep(0)
        return 7

    async def main():
        return await asyncio.gather(*(step() for _ in range(1000)))

    assert asyncio.run(main()) == [7] * 1000
    assert inspect.iscoroutinefunction(step)
    assert perfwatch.summary()["operations"]["coro"]["count"] == 1000


def test_async_time_includes_idle_awaits():
    @perfwatch.timed("nap")
    async def nap():
        await asyncio.sleep(0.02)

    asyncio.run(nap())
    s = perfwatch.summary()["operations"]["nap"]
    assert s["count"] == 1
    assert 0.02 <= s["min_s"] < 1.0


def test_percentiles_match_statistics_quantiles_inclusive():
    durations = [ms / 1000 for ms in range(1, 1001)]
    for d in reversed(durations):  # order must not matter
        perfwatch.record("known", d)
    s = perfwatch.summary()["operations"]["known"]
    cuts = statistics.quantiles(durations, n=100, method="inclusive")
    assert s["p50_s"] == pytest.approx(cuts[49], abs=1e-9)
    assert s["p95_s"] == pytest.approx(cuts[94], abs=1e-9)
    assert s["p99_s"] == pytest.approx(cuts[98], abs=1e-9)
    # Hand-computed type-7 values: h = 999 p, interpolated between ranks.
    assert s["p50_s"] == pytest.approx(0.5005, abs=1e-9)
    assert s["p95_s"] == pytest.approx(0.95005, abs=1e-9)
    assert s["p99_s"] == pytest.approx(0.99001, abs=1e-9)
    assert (s["count"], s["min_s"], s["max_s"]) == (1000, 0.001, 1.0)
    assert s["total_s"] == pytest.approx(500.5)
    assert s["sampled"] is False


def test_quantile_edge_cases():
    assert perfwatch.quantile([5], 0.99) == 5
    assert perfwatch.quantile([1, 3], 0.5) == 2
    assert perfwatch.quantile([], 0.5) != perfwatch.quantile([], 0.5)  # NaN


def test_reservoir_stays_bounded_and_uniform():
    # 20,000 values 0..19,999: the reservoir keeps 2048 of them, a uniform sample, so the
    # median lands near 10,000 (its standard error is about 5,800/sqrt(2048) ≈ 130).
    for i in range(20_000):
        perfwatch.record("big", i / 1e9)
    op = _ops.get_op("big")
    assert len(op.reservoir) == perfwatch.RESERVOIR_CAPACITY
    s = perfwatch.summary()["operations"]["big"]
    assert s["count"] == 20_000 and s["max_s"] == pytest.approx(19_999e-9)
    assert 9_000e-9 < s["p50_s"] < 11_000e-9
    # Items after the reservoir filled must have got in (not just the first 2048).
    assert max(op.reservoir) > 2048


def _records(caplog, name):
    return [r for r in caplog.records if r.name == "perfwatch" and name in r.getMessage()]


def test_slow_call_warns_once(caplog):
    perfwatch.set_thresholds("slowish", warn_s=0.05, error_s=1.0)

    @perfwatch.timed("slowish")
    def slowish():
        time.sleep(0.06)

    with caplog.at_level(logging.DEBUG, logger="perfwatch"):
        slowish()
    records = _records(caplog, "slowish")
    assert [r.levelno for r in records] == [logging.WARNING]
    assert perfwatch.summary()["operations"]["slowish"]["slow_count"] == 1


def test_very_slow_call_errors_once(caplog):
    @perfwatch.timed("veryslow", warn_s=0.01, error_s=0.03)
    def veryslow():
        time.sleep(0.04)

    with caplog.at_level(logging.DEBUG, logger="perfwatch"):
        veryslow()
    records = _records(caplog, "veryslow")
    assert [r.levelno for r in records] == [logging.ERROR]
    assert perfwatch.summary()["operations"]["veryslow"]["slow_count"] == 1


def test_fast_call_logs_nothing_and_defaults_apply(caplog):
    @perfwatch.timed("quick")
    def quick():
        pass

    with caplog.at_level(logging.DEBUG, logger="perfwatch"):
        quick()
        perfwatch.record("quick", 0.999)   # below the default 1 s
        perfwatch.record("quick", 1.5)     # default warning
        perfwatch.record("quick", 6.0)     # default error
    assert [r.levelno for r in _records(caplog, "quick")] == [logging.WARNING, logging.ERROR]
    assert perfwatch.summary()["operations"]["quick"]["slow_count"] == 2


def test_override_wins_over_decorator_and_none_disables(caplog):
    @perfwatch.timed("ovr", warn_s=0.0, error_s=None)
    def ovr():
        pass

    perfwatch.set_thresholds("ovr", warn_s=None)
    with caplog.at_level(logging.DEBUG, logger="perfwatch"):
        ovr()
    assert _records(caplog, "ovr") == []
    perfwatch.reset()  # drops the override: the decorator's warn_s=0 applies again
    with caplog.at_level(logging.DEBUG, logger="perfwatch"):
        ovr()
    assert [r.levelno for r in _records(caplog, "ovr")] == [logging.WARNING]


def test_bad_thresholds_rejected():
    with pytest.raises(ValueError):
        perfwatch.set_thresholds("x", warn_s=-1)
    with pytest.raises(ValueError):
        perfwatch.timed("x", error_s=float("nan"))


def test_context_manager_needs_a_name():
    with pytest.raises(TypeError):
        with perfwatch.timed():
            pass

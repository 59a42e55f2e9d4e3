"""memory=True: tracemalloc peak and net bytes per call."""

from __future__ import annotations

import asyncio

import perfwatch

SIZE = 10_000_000
_kept = []


def test_freed_allocation_has_peak_but_no_net():
    @perfwatch.timed("transient", memory=True)
    def transient():
        buf = bytearray(SIZE)
        del buf

    transient()
    s = perfwatch.summary()["operations"]["transient"]
    assert s["mem_peak_bytes"] >= 10e6
    assert abs(s["mem_net_bytes"]) < 100_000


def test_kept_allocation_has_net():
    @perfwatch.timed("leaky", memory=True)
    def leaky():
        _kept.append(bytearray(SIZE))

    try:
        leaky()
        s = perfwatch.summary()["operations"]["leaky"]
        assert s["mem_net_bytes"] >= 10e6
        assert s["mem_peak_bytes"] >= 10e6
    finally:
        _kept.clear()


def test_inner_call_does_not_hide_outer_peak():
    @perfwatch.timed("inner", memory=True)
    def inner():
        return 1

    def outer_body():
        buf = bytearray(SIZE)
        del buf
        inner()  # resets tracemalloc's peak; the outer call must still see its 10 MB

    with perfwatch.timed("outer", memory=True):
        outer_body()
    ops = perfwatch.summary()["operations"]
    assert ops["outer"]["mem_peak_bytes"] >= 10e6
    assert ops["inner"]["mem_peak_bytes"] < 1e6


def test_async_memory():
    @perfwatch.timed("amem", memory=True)
    async def amem():
        await asyncio.sleep(0)
        buf = bytearray(SIZE)
        del buf

    asyncio.run(amem())
    assert perfwatch.summary()["operations"]["amem"]["mem_peak_bytes"] >= 10e6


def test_memory_fields_only_when_measured():
    with perfwatch.timed("nomem"):
        pass
    assert "mem_peak_bytes" not in perfwatch.summary()["operations"]["nomem"]

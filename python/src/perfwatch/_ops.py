"""Per-operation timing statistics: the registry, reservoirs, thresholds and ``timed``.

Each operation name owns one :class:`_OpStats`.  Count, total, min and max are exact;
percentiles come from a fixed-size uniform reservoir sample of the durations
(Algorithm R, J. S. Vitter, "Random sampling with a reservoir", ACM TOMS 11(1), 1985),
so memory per operation stays bounded however many calls are made.
"""

from __future__ import annotations

import functools
import inspect
import logging
import math
import random
import threading
import tracemalloc
from time import perf_counter_ns
from typing import Any, Callable, Optional

logger = logging.getLogger("perfwatch")

#: Durations kept per operation for percentiles; beyond this, Algorithm R replaces them.
RESERVOIR_CAPACITY = 2048

_NS_PER_S = 1_000_000_000
# Defaults from the brief: a call of 1 s or more is slow (WARNING), 5 s or more very slow (ERROR).
_DEFAULT_WARN_S: Optional[float] = 1.0
_DEFAULT_ERROR_S: Optional[float] = 5.0


class _Unset:
    """Marker for "argument not given" where ``None`` already means "disabled"."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


def _to_ns(seconds: Optional[float]) -> float:
    # A disabled threshold becomes +inf so the hot path is a single comparison.
    if seconds is None:
        return math.inf
    if not isinstance(seconds, (int, float)) or math.isnan(seconds) or seconds < 0:
        raise ValueError(f"threshold must be a non-negative number of seconds or None, not {seconds!r}")
    return seconds * _NS_PER_S


class _OpStats:
    """Statistics of one operation; every mutation happens under ``self.lock``."""

    __slots__ = (
        "name", "lock", "count", "total_ns", "min_ns", "max_ns", "reservoir", "_rng",
        "slow_count", "mem_calls", "mem_peak_max", "mem_net_total",
        "warn_ns", "error_ns", "_site_warn", "_site_error", "_override_warn", "_override_error",
    )

    def __init__(self, name: str) -> None:
        self.name = name
        self.lock = threading.Lock()
        # A private generator: drawing from the global ``random`` would perturb the
        # sequence of a program that seeds it for reproducibility.
        self._rng = random.Random()
        self._site_warn: Any = UNSET
        self._site_error: Any = UNSET
        self._override_warn: Any = UNSET
        self._override_error: Any = UNSET
        self.warn_ns = math.inf
        self.error_ns = math.inf
        self.clear()
        self.resolve_thresholds()

    def clear(self) -> None:
        """Forgets every recorded call (thresholds set in code are kept)."""
        with self.lock:
            self.count = 0
            self.total_ns = 0
            self.min_ns = 0
            self.max_ns = 0
            self.reservoir: list = []
            self.slow_count = 0
            self.mem_calls = 0
            self.mem_peak_max = 0
            self.mem_net_total = 0

    def resolve_thresholds(self) -> None:
        """Override from ``set_thresholds`` > decorator arguments > global default."""
        warn = self._override_warn
        if warn is UNSET:
            warn = self._site_warn if self._site_warn is not UNSET else _DEFAULT_WARN_S
        error = self._override_error
        if error is UNSET:
            error = self._site_error if self._site_error is not UNSET else _DEFAULT_ERROR_S
        self.warn_ns = _to_ns(warn)
        self.error_ns = _to_ns(error)

    def add(self, ns: int) -> None:
        """Records one call of ``ns`` nanoseconds (the hot path: one lock, no allocation
        once the reservoir is full)."""
        with self.lock:
            self.count = n = self.count + 1
            self.total_ns += ns
            if n == 1:
                self.min_ns = self.max_ns = ns
            elif ns < self.min_ns:
                self.min_ns = ns
            elif ns > self.max_ns:
                self.max_ns = ns
            if n <= RESERVOIR_CAPACITY:
                self.reservoir.append(ns)
            else:
                # Algorithm R: the n-th item replaces a random slot with probability cap/n,
                # which keeps the reservoir a uniform sample of all n items.
                j = int(self._rng.random() * n)
                if j < RESERVOIR_CAPACITY:
                    self.reservoir[j] = ns
            slow = ns >= self.warn_ns or ns >= self.error_ns
            if slow:
                self.slow_count += 1
        if slow:
            # Logging happens outside the lock: handlers may be slow or re-enter perfwatch.
            _log_slow(self, ns)

    def add_memory(self, peak: int, net: int) -> None:
        """Records the tracemalloc peak and net bytes of one call."""
        with self.lock:
            self.mem_calls += 1
            if peak > self.mem_peak_max:
                self.mem_peak_max = peak
            self.mem_net_total += net

    def snapshot(self) -> Optional[dict]:
        """The operation's summary entry, or ``None`` when it has no calls."""
        with self.lock:
            if self.count == 0:
                return None
            count, total, lo, hi = self.count, self.total_ns, self.min_ns, self.max_ns
            sample = list(self.reservoir)
            slow, mem_calls = self.slow_count, self.mem_calls
            mem_peak, mem_net = self.mem_peak_max, self.mem_net_total
        sample.sort()
        entry = {
            "count": count,
            "total_s": total / _NS_PER_S,
            "mean_s": total / count / _NS_PER_S,
            "min_s": lo / _NS_PER_S,
            "max_s": hi / _NS_PER_S,
            "p50_s": quantile(sample, 0.50) / _NS_PER_S,
            "p95_s": quantile(sample, 0.95) / _NS_PER_S,
            "p99_s": quantile(sample, 0.99) / _NS_PER_S,
            "slow_count": slow,
            "sampled": len(sample) < count,
        }
        if mem_calls:
            entry["mem_peak_bytes"] = mem_peak
            entry["mem_net_bytes"] = mem_net / mem_calls
            entry["mem_net_total_bytes"] = mem_net
        return entry


def _log_slow(op: _OpStats, ns: int) -> None:
    seconds = ns / _NS_PER_S
    # Exactly one record per slow call: ERROR replaces WARNING above the error threshold.
    if ns >= op.error_ns:
        logger.error("slow operation %s took %.3f s (error threshold %.3f s)",
                     op.name, seconds, op.error_ns / _NS_PER_S)
    else:
        logger.warning("slow operation %s took %.3f s (warning threshold %.3f s)",
                       op.name, seconds, op.warn_ns / _NS_PER_S)


def quantile(sorted_data: list, p: float) -> float:
    """The ``p``-quantile (0 ≤ p ≤ 1) of ascending ``sorted_data`` by linear interpolation.

    This is Hyndman & Fan's type 7 definition, the one ``statistics.quantiles(...,
    method='inclusive')`` uses (and numpy's default): position ``h = (m - 1) * p`` in the
    0-based sorted sample, interpolated between its neighbours.  One value is its own
    quantile; an empty sample gives NaN.
    """
    m = len(sorted_data)
    if m == 0:
        return math.nan
    h = (m - 1) * p
    lo = math.floor(h)
    hi = min(lo + 1, m - 1)
    return sorted_data[lo] + (sorted_data[hi] - sorted_data[lo]) * (h - lo)


# --- registry ---------------------------------------------------------------------------

_registry: dict = {}
_registry_lock = threading.Lock()


def get_op(name: str) -> _OpStats:
    """The statistics object of ``name``, created on first use."""
    op = _registry.get(name)
    if op is None:
        with _registry_lock:
            op = _registry.get(name)
            if op is None:
                op = _registry[name] = _OpStats(name)
    return op


def all_ops() -> list:
    """Every registered operation (including those with no calls yet)."""
    with _registry_lock:
        return list(_registry.values())


def record(name: str, seconds: float) -> None:
    """Records one call of ``name`` lasting ``seconds``, as if it had been timed.

    Useful for durations measured elsewhere (and for tests of the statistics).
    """
    get_op(name).add(round(seconds * _NS_PER_S))


def set_thresholds(name: str, warn_s: Optional[float] = UNSET, error_s: Optional[float] = UNSET) -> None:
    """Overrides the slow-call thresholds of operation ``name``.

    A call lasting at least ``warn_s`` seconds is logged at WARNING on the ``perfwatch``
    logger, one lasting at least ``error_s`` at ERROR instead (never both), and either way
    counted in ``slow_count``.  ``None`` disables a threshold; an argument left out keeps
    its current setting.  Overrides win over ``timed(..., warn_s=, error_s=)`` and the
    defaults (1 s and 5 s, see :func:`set_default_thresholds`).
    """
    op = get_op(name)
    with op.lock:
        if warn_s is not UNSET:
            _to_ns(warn_s)  # validate before storing
            op._override_warn = warn_s
        if error_s is not UNSET:
            _to_ns(error_s)
            op._override_error = error_s
        op.resolve_thresholds()


def set_default_thresholds(warn_s: Optional[float] = UNSET, error_s: Optional[float] = UNSET) -> None:
    """Changes the thresholds of operations that set none themselves (initially 1 s / 5 s)."""
    global _DEFAULT_WARN_S, _DEFAULT_ERROR_S
    if warn_s is not UNSET:
        _to_ns(warn_s)
        _DEFAULT_WARN_S = warn_s
    if error_s is not UNSET:
        _to_ns(error_s)
        _DEFAULT_ERROR_S = error_s
    for op in all_ops():
        with op.lock:
            op.resolve_thresholds()


def reset_ops() -> None:
    """Clears every operation's calls and threshold overrides, and restores the defaults.

    Operations stay registered (decorated functions keep a reference to theirs), but those
    without calls are left out of summaries.
    """
    global _DEFAULT_WARN_S, _DEFAULT_ERROR_S
    _DEFAULT_WARN_S, _DEFAULT_ERROR_S = 1.0, 5.0
    for op in all_ops():
        op.clear()
        with op.lock:
            op._override_warn = op._override_error = UNSET
            op.resolve_thresholds()


# --- memory measurement -----------------------------------------------------------------

# tracemalloc has a single, process-wide peak.  Each measured call resets it, which would
# hide an inner call's peak from the enclosing call; so before every reset the current peak
# is folded into all calls still running, and each call's peak is the max of what it saw.
_mem_lock = threading.Lock()
_mem_active: list = []


class _MemFrame:
    __slots__ = ("base", "seen_peak")

    def __init__(self, base: int, seen_peak: int) -> None:
        self.base = base
        self.seen_peak = seen_peak


def _mem_enter() -> _MemFrame:
    if not tracemalloc.is_tracing():
        # Left running afterwards: stopping it would discard the traces other calls rely on.
        tracemalloc.start()
    with _mem_lock:
        current, peak = tracemalloc.get_traced_memory()
        for frame in _mem_active:
            if peak > frame.seen_peak:
                frame.seen_peak = peak
        tracemalloc.reset_peak()
        frame = _MemFrame(current, current)
        _mem_active.append(frame)
    return frame


def _mem_exit(frame: _MemFrame) -> tuple:
    with _mem_lock:
        current, peak = tracemalloc.get_traced_memory()
        _mem_active.remove(frame)
    return max(peak, frame.seen_peak) - frame.base, current - frame.base


# --- timed ------------------------------------------------------------------------------


def _default_name(fn: Callable) -> str:
    module = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)
    if module and module != "__main__":
        return f"{module}.{qualname}"
    return qualname


def timed(name: Any = None, *, memory: bool = False,
          warn_s: Optional[float] = UNSET, error_s: Optional[float] = UNSET) -> Any:
    """Times a function, coroutine function or block under an operation name.

    Forms::

        @timed                      # name = "module.qualname" ("qualname" in __main__)
        @timed("parse")
        @timed(name="load", memory=True, warn_s=0.5, error_s=2.0)
        async def fetch(): ...      # coroutine functions are timed until their result
        with timed("flush"): ...

    Durations are wall time from the call to its return (or, for ``async def``, to the
    awaited result, idle awaits included), and calls that raise are recorded too.  Count,
    total, min and max are exact; p50/p95/p99 come from a reservoir of
    ``RESERVOIR_CAPACITY`` durations (Algorithm R, Vitter 1985) interpolated as in
    ``statistics.quantiles(method='inclusive')``.

    ``memory=True`` also records the tracemalloc peak and net bytes of each call (starting
    tracemalloc if needed and leaving it on, which slows allocation for the whole process).
    tracemalloc is process-wide: calls running in other threads or tasks at the same time
    are counted in each other's figures.  Nested measured calls are handled (an inner call
    does not hide its peak from the outer one).

    ``warn_s``/``error_s`` set this operation's slow-call thresholds (``None`` disables one);
    :func:`set_thresholds` overrides them.  When several sites share a name, the last one
    decorated sets them.

    Generator functions are timed only until the generator object is created.  The object
    ``timed(name)`` returns may be entered again (nested) as a context manager in the same
    thread, but should not be shared between threads or asyncio tasks: write one
    ``with timed(...)`` per block.
    """
    if callable(name) and not isinstance(name, str):
        # Bare ``@timed``: decorate straight away.
        return _Timer(None, False, UNSET, UNSET)(name)
    if name is not None and not isinstance(name, str):
        raise TypeError(f"operation name must be a string, not {type(name).__name__}")
    if warn_s is not UNSET:
        _to_ns(warn_s)
    if error_s is not UNSET:
        _to_ns(error_s)
    return _Timer(name, memory, warn_s, error_s)


class _Timer:
    """What ``timed(...)`` returns: a decorator and a context manager (see :func:`timed`)."""

    __slots__ = ("_name", "_memory", "_warn", "_error", "_op", "_starts")

    def __init__(self, name: Optional[str], memory: bool, warn_s: Any, error_s: Any) -> None:
        self._name = name
        self._memory = bool(memory)
        self._warn = warn_s
        self._error = error_s
        self._op: Optional[_OpStats] = self._bind(name) if name is not None else None
        self._starts: list = []

    def _bind(self, name: str) -> _OpStats:
        op = get_op(name)
        if self._warn is not UNSET or self._error is not UNSET:
            with op.lock:
                if self._warn is not UNSET:
                    op._site_warn = self._warn
                if self._error is not UNSET:
                    op._site_error = self._error
                op.resolve_thresholds()
        return op

    # -- decorator --

    def __call__(self, fn: Callable) -> Callable:
        if not callable(fn):
            raise TypeError("timed(...) decorates a callable")
        op = self._op if self._op is not None else self._bind(_default_name(fn))
        add = op.add
        if self._memory:
            add_memory = op.add_memory
            if inspect.iscoroutinefunction(fn):
                @functools.wraps(fn)
                async def async_mem_wrapper(*args: Any, **kwargs: Any) -> Any:
                    frame = _mem_enter()
                    t0 = perf_counter_ns()
                    try:
                        return await fn(*args, **kwargs)
                    finally:
                        t1 = perf_counter_ns()
                        add_memory(*_mem_exit(frame))
                        add(t1 - t0)
                return async_mem_wrapper

            @functools.wraps(fn)
            def mem_wrapper(*args: Any, **kwargs: Any) -> Any:
                frame = _mem_enter()
                t0 = perf_counter_ns()
                try:
                    return fn(*args, **kwargs)
                finally:
                    t1 = perf_counter_ns()
                    add_memory(*_mem_exit(frame))
                    add(t1 - t0)
            return mem_wrapper

        if inspect.iscoroutinefunction(fn):
            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                t0 = perf_counter_ns()
                try:
                    return await fn(*args, **kwargs)
                finally:
                    add(perf_counter_ns() - t0)
            return async_wrapper

        # The hot path: two clock reads and OpStats.add (one lock).
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t0 = perf_counter_ns()
            try:
                return fn(*args, **kwargs)
            finally:
                add(perf_counter_ns() - t0)
        return wrapper

    # -- context manager --

    def __enter__(self) -> "_Timer":
        if self._op is None:
            raise TypeError("timed() needs an operation name to be used as a context manager")
        frame = _mem_enter() if self._memory else None
        self._starts.append((frame, perf_counter_ns()))
        return self

    def __exit__(self, *exc: Any) -> None:
        t1 = perf_counter_ns()
        frame, t0 = self._starts.pop()
        if frame is not None:
            self._op.add_memory(*_mem_exit(frame))
        self._op.add(t1 - t0)

    def __repr__(self) -> str:
        return f"timed({self._name!r}, memory={self._memory})"

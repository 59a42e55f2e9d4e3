"""``perfwatch-metric`` lines: formatting, and delivery to perfwatch.

Format (one metric per line, fields in any order, ``name`` and ``value`` required)::

    perfwatch-metric name=cache.coords.hit_rate value=0.967 unit=ratio better=higher

Under perfwatch, ``PERFWATCH_METRICS_FILE`` names a private file: lines are appended there,
each with a single ``write`` on an ``O_APPEND`` descriptor so concurrent writers cannot
interleave inside a line, and the program's stdout stays untouched.  Otherwise they go to
stdout.
"""

from __future__ import annotations

import math
import os
import re
import sys
import threading
from typing import Iterable, Optional

from . import _cache, _ops

METRICS_FILE_ENV = "PERFWATCH_METRICS_FILE"
PREFIX = "perfwatch-metric"

_NAME_OK = re.compile(r"[A-Za-z0-9_./-]+\Z")
_NAME_BAD_CHAR = re.compile(r"[^A-Za-z0-9_./-]")
# Measured by perfwatch itself; a benchmark may not report them.
_BUILTIN = frozenset({"wall", "user", "sys", "cpu", "max_rss", "throughput"})


def is_under_perfwatch() -> bool:
    """Whether this process runs under perfwatch (``PERFWATCH_METRICS_FILE`` set, non-empty)."""
    return bool(os.environ.get(METRICS_FILE_ENV))


def sanitize_name(name: str) -> str:
    """``name`` with every character outside letters, digits, ``_ . - /`` replaced by ``_``."""
    return _NAME_BAD_CHAR.sub("_", name) or "_"


def _is_builtin(name: str) -> bool:
    return name in _BUILTIN or name.startswith("gpu_")


def format_metric(name: str, value: float, unit: Optional[str] = None,
                  better: Optional[str] = None) -> str:
    """One ``perfwatch-metric`` line (without newline); raises ``ValueError`` if invalid.

    ``value`` must be finite; ``better`` is ``"lower"``, ``"higher"`` or ``None``; the name
    must already be made of allowed characters and not be a built-in metric.
    """
    if not _NAME_OK.match(name):
        raise ValueError(f"invalid metric name {name!r} (use letters, digits, _ . - /)")
    if _is_builtin(name):
        raise ValueError(f"{name!r} is a built-in perfwatch metric and cannot be reported")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"metric value must be a number, not {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"metric value must be finite, not {value!r}")
    if better not in (None, "lower", "higher"):
        raise ValueError(f"better must be 'lower' or 'higher', not {better!r}")
    # repr() of a float is the shortest round-tripping form (e.g. 1e-05), which Rust's
    # f64 parser accepts; ints are written exactly.
    parts = [PREFIX, f"name={name}", f"value={value!r}" if isinstance(value, float) else f"value={int(value)}"]
    if unit is not None:
        if not unit or any(c.isspace() for c in unit):
            raise ValueError(f"unit must be a non-empty word without whitespace, not {unit!r}")
        parts.append(f"unit={unit}")
    if better is not None:
        parts.append(f"better={better}")
    return " ".join(parts)


_write_lock = threading.Lock()


def _write_lines(lines: Iterable[str]) -> None:
    data = [(line + "\n").encode("utf-8") for line in lines]
    if not data:
        return
    path = os.environ.get(METRICS_FILE_ENV)
    with _write_lock:
        if path:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                for chunk in data:
                    # One write per line; the loop only matters for a (rare) short write.
                    view = memoryview(chunk)
                    while view:
                        view = view[os.write(fd, view):]
            finally:
                os.close(fd)
        else:
            out = sys.stdout
            for chunk in data:
                out.write(chunk.decode("utf-8"))
            out.flush()


def report_metric(name: str, value: float, unit: Optional[str] = None,
                  better: Optional[str] = None) -> None:
    """Reports one custom metric now (to ``PERFWATCH_METRICS_FILE`` or stdout).

    The name is sanitised to the allowed characters; a built-in name or a non-finite value
    raises ``ValueError``.
    """
    _write_lines([format_metric(sanitize_name(name), value, unit, better)])


def metric_lines() -> list:
    """The lines :func:`emit` would write now, operations first, then caches.

    Per operation ``op.<name>.``: ``p50 p95 p99 mean`` (s, lower), ``count`` (count, lower:
    perfwatch wants a direction, and a change in call count is usually a cost or a bug,
    so more is flagged as worse), ``slow_count`` (count, lower), and ``mem_peak`` (bytes,
    lower) when memory was measured.  Per cache ``cache.<name>.``: ``hit_rate`` (ratio,
    higher, omitted before the first lookup), ``hits`` (count, higher) and ``misses`` (count,
    lower).  perfwatch keeps at most 1000 metric lines per run: about 140 operations.
    """
    lines = []
    snapshots = sorted(((op.name, op.snapshot()) for op in _ops.all_ops()), key=lambda item: item[0])
    for name, snap in snapshots:
        if snap is None:
            continue
        base = "op." + sanitize_name(name)
        for key in ("p50", "p95", "p99", "mean"):
            lines.append(format_metric(f"{base}.{key}", snap[key + "_s"], "s", "lower"))
        lines.append(format_metric(f"{base}.count", snap["count"], "count", "lower"))
        lines.append(format_metric(f"{base}.slow_count", snap["slow_count"], "count", "lower"))
        if "mem_peak_bytes" in snap:
            lines.append(format_metric(f"{base}.mem_peak", snap["mem_peak_bytes"], "bytes", "lower"))
    for name, cache in _cache.cache_summaries().items():
        base = "cache." + sanitize_name(name)
        if cache["hit_rate"] is not None:
            lines.append(format_metric(f"{base}.hit_rate", cache["hit_rate"], "ratio", "higher"))
        lines.append(format_metric(f"{base}.hits", cache["hits"], "count", "higher"))
        lines.append(format_metric(f"{base}.misses", cache["misses"], "count", "lower"))
    return lines


# The lines of the last emit(), so the exit hook does not repeat an identical report.
_last_emitted: Optional[list] = None


def emit() -> None:
    """Writes metric lines for every operation and cache (see :func:`metric_lines`).

    Under perfwatch they are appended to ``PERFWATCH_METRICS_FILE``, otherwise printed to
    stdout.  Under perfwatch this also runs automatically at interpreter exit, unless
    nothing changed since the last explicit call.
    """
    global _last_emitted
    lines = metric_lines()
    _write_lines(lines)
    _last_emitted = lines


def _emit_at_exit() -> None:
    # Registered at import for every process, but acts only under perfwatch: outside it,
    # nothing is printed unless the program calls emit() itself.
    if not is_under_perfwatch():
        return
    lines = metric_lines()
    if lines and lines != _last_emitted:
        _write_lines(lines)


def forget_last_emit() -> None:
    """Part of :func:`perfwatch.reset`: the exit hook no longer compares with old lines."""
    global _last_emitted
    _last_emitted = None

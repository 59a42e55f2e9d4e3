"""``summary()``: every operation and cache in one JSON-ready dict, plus a text table."""

from __future__ import annotations

import json
import os
from typing import Union

from . import _cache, _ops

#: How many operations each bottleneck list names.
TOP_N = 5


def summary() -> dict:
    """A JSON-serialisable snapshot of everything measured so far::

        {"operations": {name: {count, total_s, mean_s, min_s, max_s, p50_s, p95_s, p99_s,
                               slow_count, sampled[, mem_peak_bytes, mem_net_bytes,
                               mem_net_total_bytes]}},
         "caches": {name: {hits, misses, lookups, hit_rate}},
         "bottlenecks": {"by_total": [{name, total_s, p95_s}, ...],
                         "by_p95": [{name, total_s, p95_s}, ...]}}

    Percentiles are interpolated as ``statistics.quantiles(method='inclusive')`` over a
    reservoir sample (Algorithm R, Vitter 1985) of at most ``RESERVOIR_CAPACITY`` calls;
    ``sampled`` says whether the sample is smaller than the count.  ``mem_peak_bytes`` is
    the largest per-call tracemalloc peak, ``mem_net_bytes`` the mean net change per call.
    Operations without calls are left out.  ``bottlenecks`` lists the top ``TOP_N``
    operations by total time and by p95, largest first (ties by name).
    """
    ops = {}
    for op in sorted(_ops.all_ops(), key=lambda o: o.name):
        snap = op.snapshot()
        if snap is not None:
            ops[op.name] = snap

    def top(key: str) -> list:
        ranked = sorted(ops.items(), key=lambda item: (-item[1][key], item[0]))[:TOP_N]
        return [{"name": name, "total_s": s["total_s"], "p95_s": s["p95_s"]} for name, s in ranked]

    return {
        "operations": ops,
        "caches": _cache.cache_summaries(),
        "bottlenecks": {"by_total": top("total_s"), "by_p95": top("p95_s")},
    }


def _fmt_s(seconds: float) -> str:
    # Three significant-ish digits in the unit that suits the magnitude.
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def _fmt_bytes(n: float) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n:.0f} B"


def _table(header: list, rows: list) -> list:
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    # First column (names) left-aligned, numbers right-aligned.
    def fmt(row: list) -> str:
        cells = [str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(row, widths))]
        return "  ".join(cells).rstrip()
    return [fmt(header), "  ".join("-" * w for w in widths)] + [fmt(r) for r in rows]


def summary_text() -> str:
    """:func:`summary` as a readable table: operations by total time, then caches."""
    data = summary()
    lines = []
    ops = sorted(data["operations"].items(), key=lambda item: (-item[1]["total_s"], item[0]))
    if ops:
        with_mem = any("mem_peak_bytes" in s for _, s in ops)
        header = ["operation", "count", "total", "mean", "p50", "p95", "p99", "max", "slow"]
        if with_mem:
            header += ["mem peak", "mem net"]
        rows = []
        for name, s in ops:
            row = [name, s["count"]] + [_fmt_s(s[k]) for k in
                                        ("total_s", "mean_s", "p50_s", "p95_s", "p99_s", "max_s")]
            row.append(s["slow_count"])
            if with_mem:
                row += ([_fmt_bytes(s["mem_peak_bytes"]), _fmt_bytes(s["mem_net_bytes"])]
                        if "mem_peak_bytes" in s else ["-", "-"])
            rows.append(row)
        lines += _table(header, rows)
    caches = data["caches"]
    if caches:
        if lines:
            lines.append("")
        rows = [[name, c["hits"], c["misses"],
                 "-" if c["hit_rate"] is None else f"{c['hit_rate']:.1%}"]
                for name, c in caches.items()]
        lines += _table(["cache", "hits", "misses", "hit rate"], rows)
    if not lines:
        return "perfwatch: nothing measured yet\n"
    return "\n".join(lines) + "\n"


def export_json(path: Union[str, "os.PathLike[str]"]) -> dict:
    """Writes :func:`summary` to ``path`` as JSON and returns it."""
    data = summary()
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")
    return data

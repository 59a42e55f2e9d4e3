"""perfwatch client: time functions, measure memory and cache hit rates, report to perfwatch.

::

    import perfwatch

    @perfwatch.timed
    def step(): ...

    @perfwatch.timed("fetch", warn_s=0.5)
    async def fetch(url): ...

    with perfwatch.timed("flush"):
        ...

    print(perfwatch.summary_text())

Under perfwatch (``PERFWATCH_METRICS_FILE`` set) every operation and cache is reported as
``perfwatch-metric`` lines automatically at exit; elsewhere call :func:`emit` to print them.
"""

from __future__ import annotations

import atexit

from . import _cache, _emit, _ops
from ._cache import CacheStats, track_cache
from ._emit import (
    METRICS_FILE_ENV,
    emit,
    format_metric,
    is_under_perfwatch,
    metric_lines,
    report_metric,
    sanitize_name,
)
from ._ops import RESERVOIR_CAPACITY, quantile, record, set_default_thresholds, set_thresholds, timed
from ._summary import export_json, summary, summary_text

__version__ = "0.1.0"

__all__ = [
    "CacheStats",
    "METRICS_FILE_ENV",
    "RESERVOIR_CAPACITY",
    "emit",
    "export_json",
    "format_metric",
    "is_under_perfwatch",
    "metric_lines",
    "quantile",
    "record",
    "report_metric",
    "reset",
    "sanitize_name",
    "set_default_thresholds",
    "set_thresholds",
    "summary",
    "summary_text",
    "timed",
    "track_cache",
]


def reset() -> None:
    """Clears all measurements, threshold overrides and tracked ``lru_cache`` functions.

    Meant for tests.  Decorated functions and ``CacheStats`` objects stay usable (and
    registered); they simply start again from zero.
    """
    _ops.reset_ops()
    _cache.reset_caches()
    _emit.forget_last_emit()


# Registered unconditionally but a no-op outside perfwatch, so a program run under
# perfwatch needs nothing but decorators.
atexit.register(_emit._emit_at_exit)

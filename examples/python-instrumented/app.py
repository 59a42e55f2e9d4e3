"""A small program in the spirit of the seed projects, instrumented with perfwatch's Python
client: a cached coordinate conversion, a batch that streams a large input, and a slow path.

Run it alone (`python3 app.py`) to see the summary table; under `perfwatch run` its
per-operation figures become metrics (`op.transform.p95`, `cache.coords.hit_rate`, ...).

APP_SLOW multiplies the work of `transform` (1.3 = 30 % slower); APP_KEYS is the number of
distinct coordinates among the 500 conversions (hit rate = 1 - APP_KEYS / 500).
"""

import functools
import math
import os
import sys

import perfwatch

SLOW = float(os.environ.get("APP_SLOW", "1.0"))
KEYS = int(os.environ.get("APP_KEYS", "50"))
LOOKUPS = 500


@functools.lru_cache(maxsize=4096)
def to_cartesian(lat: float, lon: float) -> tuple:
    """Unit-sphere coordinates of a latitude/longitude in degrees."""
    la, lo = math.radians(lat), math.radians(lon)
    return (math.cos(la) * math.cos(lo), math.cos(la) * math.sin(lo), math.sin(la))


perfwatch.track_cache("coords", to_cartesian)


@perfwatch.timed("convert")
def convert() -> list:
    return [to_cartesian(float(i % KEYS), float((i * 7) % KEYS)) for i in range(LOOKUPS)]


@perfwatch.timed("stream")
def stream(n: int) -> int:
    """Sums a large input without holding it: a generator, as a batch job would."""
    return sum(x * x % 7 for x in range(n))


@perfwatch.timed("transform")
def transform(rows: int) -> float:
    """The deliberately slow path: work proportional to APP_SLOW."""
    acc = 0.0
    for i in range(int(rows * SLOW)):
        acc += math.sqrt(i)
    return acc


def main() -> int:
    convert()
    stream(100_000)
    for _ in range(3):
        transform(150_000)
    if not perfwatch.is_under_perfwatch():
        print(perfwatch.summary_text(), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

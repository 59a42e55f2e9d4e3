#!/usr/bin/env python3
"""Writes a Google Benchmark JSON with N cases x R repetitions (the shape of
--benchmark_format=json --benchmark_repetitions=R) to stdout, for the import speed benchmark."""
import json
import random
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
reps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
rng = random.Random(7)
benchmarks = []
for i in range(n):
    name = f"BM_Case{i}/{(i % 64) + 1}"
    for r in range(reps):
        t = 1000.0 * (1 + i % 97) * rng.uniform(0.97, 1.03)
        benchmarks.append({
            "name": name, "family_index": i, "per_family_instance_index": 0,
            "run_name": name, "run_type": "iteration", "repetitions": reps,
            "repetition_index": r, "threads": 1, "iterations": 1000,
            "real_time": t, "cpu_time": t * 0.99, "time_unit": "ns",
        })
doc = {
    "context": {"date": "2026-12-03T08:00:00+00:00", "host_name": "bench", "executable": "./bm",
                "num_cpus": 2, "mhz_per_cpu": 2000, "cpu_scaling_enabled": False,
                "caches": [], "load_avg": [0.1, 0.1, 0.1], "library_build_type": "release"},
    "benchmarks": benchmarks,
}
json.dump(doc, sys.stdout)

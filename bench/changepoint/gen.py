#!/usr/bin/env python3
"""Generate the labelled change-point benchmark under out/data/ (fixed seeds, reproducible).

Two sources:
  * otava-test-data (PyPI, Apache-2.0): `otava-gen generate --lengths 50 500 --seed 42`
    (noise levels 0 2 5 10, with pairwise combinations). Labels of type "outlier" (a single
    anomalous point) are NOT change points for perfwatch: they are dropped from the truth, and
    the family is scored as "must report nothing".
  * perfwatch's own performance-like patterns (numpy, seed 20260).

Writes out/data/*.csv (one value per line) and out/manifest.tsv:
    file <TAB> family <TAB> true change points (comma separated, may be empty)
"""
import json, os, subprocess, sys
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "out")
DATA = os.path.join(OUT, "data")
os.makedirs(DATA, exist_ok=True)
rows = []


def write(name, family, values, truth):
    path = os.path.join(DATA, name + ".csv")
    np.savetxt(path, np.asarray(values, dtype=float), fmt="%.10g")
    rows.append((name + ".csv", family, sorted(set(int(t) for t in truth))))


def otava_family(gen, noisy):
    if gen in ("constant", "noise_normal", "noise_uniform"):
        return "otd_null:" + gen
    if gen == "outlier":
        return "otd_outlier"
    if gen in ("step_function", "regression_fix", "banding", "multiple_changes"):
        return "otd_level:" + gen + (":noisy" if noisy else ":clean")
    return "otd_other:" + gen  # variance_change, phase_change (not level shifts)


def otava_test_data():
    src = os.path.join(OUT, "otava_test_data")
    gen = os.path.join(os.path.dirname(sys.executable), "otava-gen")
    subprocess.run([gen, "generate", "-o", src, "--lengths", "50", "500", "--seed", "42"],
                   check=True, stdout=subprocess.DEVNULL)
    manifest = json.load(open(os.path.join(src, "manifest.json")))
    for e in manifest:
        vals = np.loadtxt(os.path.join(src, e["filename"]), delimiter=",", skiprows=1,
                          usecols=1, converters={1: float})
        g = e["generator"]
        noisy = "noise_sigma" in e["parameters"]
        if g.startswith("combine"):
            fam = "otd_combined"
        else:
            base = e["parameters"]["base"]["name"] if noisy else g
            fam = otava_family(base, noisy)
        truth = [i for i, t in zip(e["change_point_indices"], e["change_point_types"])
                 if t != "outlier"]
        write("otd_" + e["filename"][:-4], fam, vals, truth)


def own(rng):
    """Performance-like patterns: multiplicative noise around a level (timings)."""
    # 1) single steps of 1..10 % at 0.5..3 % noise, detectable ones (step >= 2 sigma) and hard ones.
    for step in (0.01, 0.02, 0.05, 0.10):
        for sigma in (0.005, 0.01, 0.02, 0.03):
            fam = "perf_step" if step >= 2 * sigma else "perf_step_hard"
            for rep in range(5):
                n = int(rng.integers(150, 400))
                cp = int(rng.integers(40, n - 40))
                sign = 1 if rng.random() < 0.5 else -1
                lvl = np.where(np.arange(n) < cp, 1.0, 1.0 + sign * step)
                write(f"perf_step_{step}_{sigma}_{rep}", fam, 100 * lvl * (1 + sigma * rng.standard_normal(n)), [cp])
    # 2) several steps (2..10 %) at 1 % noise, segments >= 30 points
    for rep in range(20):
        k = int(rng.integers(2, 5))
        lens = rng.integers(30, 120, size=k + 1)
        lvl, vals, cps, pos = 100.0, [], [], 0
        for i, L in enumerate(lens):
            if i:
                lvl *= 1 + rng.choice([-1, 1]) * rng.uniform(0.02, 0.10)
                cps.append(pos)
            vals += list(lvl * (1 + 0.01 * rng.standard_normal(L)))
            pos += L
        write(f"perf_multi_{rep}", "perf_multi", vals, cps)
    # 3) spikes / outlier bursts on 1 % noise, with and without a 5 % step
    for rep in range(20):
        n = 300
        x = 100 * (1 + 0.01 * rng.standard_normal(n))
        cps = []
        if rep % 2:
            cp = int(rng.integers(60, 240)); x[cp:] *= 1.05; cps = [cp]
        for _ in range(6):  # isolated spikes
            i = int(rng.integers(0, n)); x[i] *= rng.uniform(1.2, 2.0)
        for _ in range(2):  # bursts of 2-3 consecutive outliers
            i = int(rng.integers(0, n - 3)); b = int(rng.integers(2, 4)); x[i:i + b] *= rng.uniform(1.3, 1.8)
        write(f"perf_spikes_{rep}", "perf_spikes", x, cps)
    # 4) heavy tails: Student-t(3) noise scaled to ~1 %, with and without a 5 % step
    for rep in range(20):
        n = 300
        x = 100 * (1 + 0.01 * rng.standard_t(3, n))
        cps = []
        if rep % 2:
            cp = int(rng.integers(60, 240)); x[cp:] *= 1.05; cps = [cp]
        write(f"perf_heavy_{rep}", "perf_heavy", x, cps)
    # 5) a second mode (+15 %) visited at random 10 % of the time, with and without a 5 % step
    for rep in range(20):
        n = 300
        x = 100 * (1 + 0.01 * rng.standard_normal(n)) * np.where(rng.random(n) < 0.1, 1.15, 1.0)
        cps = []
        if rep % 2:
            cp = int(rng.integers(60, 240)); x[cp:] *= 1.05; cps = [cp]
        write(f"perf_bimodal_{rep}", "perf_bimodal", x, cps)
    # 6) a step in the last 10..15 points (3..10 % at 1 % noise)
    for rep in range(20):
        n = int(rng.integers(150, 400)); k = int(rng.integers(10, 16)); cp = n - k
        x = 100 * (1 + 0.01 * rng.standard_normal(n)); x[cp:] *= 1 + rng.choice([-1, 1]) * rng.uniform(0.03, 0.10)
        write(f"perf_tail_{rep}", "perf_tail", x, [cp])
    # 7) slow drift (+5 % over the series) without any step: reported, not a level shift
    for rep in range(10):
        n = 400
        x = 100 * np.linspace(1, 1.05, n) * (1 + 0.01 * rng.standard_normal(n))
        write(f"perf_drift_{rep}", "perf_drift", x, [])
    # 8) variance change only (1 % -> 4 % noise): no level shift
    for rep in range(10):
        n = 400; cp = 200
        s = np.where(np.arange(n) < cp, 0.01, 0.04)
        write(f"perf_variance_{rep}", "perf_variance", 100 * (1 + s * rng.standard_normal(n)), [])
    # 9) pure noise (1 %, 2 %) with no change
    for rep in range(20):
        write(f"perf_noise_{rep}", "perf_noise", 100 * (1 + (0.01 + 0.01 * (rep % 2)) * rng.standard_normal(500)), [])


otava_test_data()
own(np.random.default_rng(20260))
with open(os.path.join(OUT, "manifest.tsv"), "w") as f:
    for name, fam, truth in rows:
        f.write(f"{name}\t{fam}\t{','.join(map(str, truth))}\n")
print(f"{len(rows)} series written to {DATA}")

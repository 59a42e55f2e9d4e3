#!/usr/bin/env python3
"""Run Apache Otava (pip install apache-otava; black box, its public Python API
otava.analysis.compute_change_points) over the same series; writes out/pred_otava*.tsv.

Usage: run_otava.py [--window 50] [-P 0.001] [-M 0.0] [--tag SUFFIX]"""
import argparse, os, time
import numpy as np
from otava.analysis import compute_change_points

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "out")
ap = argparse.ArgumentParser()
ap.add_argument("--window", type=int, default=50)
ap.add_argument("-P", type=float, default=0.001)
ap.add_argument("-M", type=float, default=0.0)
ap.add_argument("--tag", default="")
a = ap.parse_args()
lines = []
t0 = time.perf_counter()
for row in open(os.path.join(OUT, "manifest.tsv")):
    f = row.split("\t")[0]
    x = np.atleast_1d(np.loadtxt(os.path.join(OUT, "data", f)))
    cps, _ = compute_change_points(list(map(float, x)), window_len=a.window, max_pvalue=a.P, min_magnitude=a.M)
    lines.append(f + "\t" + ",".join(str(c.index) for c in cps))
print(f"otava: {len(lines)} series in {time.perf_counter() - t0:.2f} s")
open(os.path.join(OUT, f"pred_otava{a.tag}.tsv"), "w").write("\n".join(lines) + "\n")

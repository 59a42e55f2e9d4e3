#!/usr/bin/env python3
"""Score out/pred_*.tsv against out/manifest.tsv: precision / recall / F1 at margin 5.

Matching as in TCPDBench (van den Burg & Williams 2020, metrics.py) and otava-test-data: a true
change point is found when a prediction lies within ±5 indices; each prediction is used once
(closest first). Per family the counts are pooled over its series:
  P = TP / #predictions, R = TP / #true, F1 = 2PR/(P+R).
Families without any true change point show the number of false positives (FP) instead.
Usage: score.py [pred names...]   (default: every out/pred_*.tsv)"""
import glob, os, sys
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "out")
M = 5


def load(p):
    d = {}
    for line in open(p):
        if line.strip():
            f, _, idx = line.rstrip("\n").partition("\t")
            d[f] = [int(i) for i in idx.split(",") if i]
    return d


def tp(truth, pred):
    used, n = set(), 0
    for t in truth:
        cands = sorted((abs(p - t), j) for j, p in enumerate(pred) if j not in used and abs(p - t) <= M)
        if cands:
            used.add(cands[0][1]); n += 1
    return n


man = [l.rstrip("\n").split("\t") for l in open(os.path.join(OUT, "manifest.tsv"))]
truth = {f: [int(i) for i in t.split(",") if i] for f, _, t in man}
fam_of = {f: fam for f, fam, _ in man}
names = sys.argv[1:] or sorted(os.path.basename(p)[5:-4] for p in glob.glob(os.path.join(OUT, "pred_*.tsv")))
preds = {n: load(os.path.join(OUT, f"pred_{n}.tsv")) for n in names}
fams = sorted(set(fam_of.values()))
groups = {"ALL level-shift (otd_level:*)": lambda f: f.startswith("otd_level"),
          "ALL perf (step,multi,spikes,heavy,bimodal,tail)": lambda f: f in ("perf_step", "perf_multi", "perf_spikes", "perf_heavy", "perf_bimodal", "perf_tail")}


def cell(n, sel):
    T = P = TP = 0
    for f in truth:
        if sel(fam_of[f]):
            pr = preds[n].get(f, [])
            T += len(truth[f]); P += len(pr); TP += tp(truth[f], pr)
    if T == 0:
        return f"FP={P}"
    p = TP / P if P else 1.0
    r = TP / T
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return f"{p:.2f}/{r:.2f}/{f1:.2f}"


w = max(len(x) for x in fams + list(groups)) + 1
print("P/R/F1 at margin 5 (FP = false positives where nothing is to be found)")
print("family".ljust(w) + " n  " + "".join(n.rjust(16) for n in names))
for fam in fams:
    k = sum(1 for f in fam_of if fam_of[f] == fam)
    print(fam.ljust(w) + f"{k:3d} " + "".join(cell(n, lambda x, fam=fam: x == fam).rjust(16) for n in names))
for g, sel in groups.items():
    print(g.ljust(w) + "    " + "".join(cell(n, sel).rjust(16) for n in names))

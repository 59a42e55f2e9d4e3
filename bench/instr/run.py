#!/usr/bin/env python3
"""Instruction counts (`[bench.instr]`) against wall time, under seeded background noise.

Uses bench/sensitivity's `spin N` (a dependent LCG loop: work linear in N) and its `noise`
generator. Three studies, each with `perfwatch run` (3 timed runs + one run under Valgrind):
  1. repeat: the same command --repeat times, quiet: are the instruction counts identical,
     how much do the wall medians vary?
  2. aa: --pairs A/A pairs under noise: `compare` of two runs of the same command, the
     instructions ratio and verdict against the wall ratio and verdict.
  3. ab: --pairs pairs under noise where B spins 1 % more: how often each metric says
     "regressed" from one run under Valgrind per side.
  4. `perfwatch ab --metric instructions A B` under noise: --pairs A/A and --pairs A/B (1 %)
     comparisons, each from one Valgrind run per side, no suite.

usage: run.py [--perfwatch PATH] [--repeat 10] [--pairs 10] [--n 4000000] [--tool cachegrind] [--seed 1]
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SENS = os.path.join(HERE, "..", "sensitivity")
OUT = os.path.join(HERE, "out")


def build():
    os.makedirs(OUT, exist_ok=True)
    for src, extra in (("spin.c", []), ("noise.c", ["-pthread", "-lm"])):
        exe = os.path.join(OUT, src[:-2])
        subprocess.run(["cc", "-O2", "-o", exe, os.path.join(SENS, src)] + extra, check=True)


def suite(n, tool):
    return f"""
[defaults]
warmup = 0
min_runs = 3
max_runs = 3
[[bench]]
name = "spin"
command = ["{OUT}/spin", "{n}"]
[bench.instr]
tool = "{tool}"
"""


class Project:
    def __init__(self, pw, tool):
        self.dir = tempfile.mkdtemp(prefix="pw-instr-")
        self.pw, self.tool = pw, tool

    def run(self, n):
        with open(os.path.join(self.dir, "perfwatch.toml"), "w") as f:
            f.write(suite(n, self.tool))
        out = subprocess.run([self.pw, "run", "-q", "--format", "json"], cwd=self.dir, capture_output=True, check=True)
        r = json.loads(out.stdout)
        m = r["benchmarks"][0]["metrics"]
        return r["run"]["id"], m["instructions"]["median"], m["wall"]["median"]

    def compare(self, base, cand):
        out = subprocess.run(
            [self.pw, "compare", "--to", base, "--candidate", cand, "--format", "json"],
            cwd=self.dir, capture_output=True,
        )
        rows = {c["metric"]: c for c in json.loads(out.stdout)["comparisons"]}
        return rows["instructions"], rows["wall"]


def noise(seed, seconds):
    return subprocess.Popen([os.path.join(OUT, "noise"), str(seed), str(seconds)])


def pairs(p, n, delta, count, seed):
    rows = []
    for i in range(count):
        g = noise(seed + i, 600)
        try:
            a, b = p.run(n), p.run(int(round(n * (1 + delta))))
        finally:
            g.kill()
            g.wait()
        instr, wall = p.compare(a[0], b[0])
        rows.append((instr["ratio"], instr["verdict"], wall["ratio"], wall["verdict"]))
        print(f"  pair {i + 1}: instructions ×{instr['ratio']:.4f} {instr['verdict']:<12} "
              f"wall ×{wall['ratio']:.4f} {wall['verdict']}", flush=True)
    return rows


def ab_pairs(pw, n, delta, count, seed):
    verdicts, ratios = [], []
    for i in range(count):
        g = noise(seed + i, 600)
        try:
            b = int(round(n * (1 + delta)))
            out = subprocess.run([pw, "ab", "--metric", "instructions", "--format", "json",
                                  f"{OUT}/spin {n}", f"{OUT}/spin {b}"], capture_output=True)
        finally:
            g.kill()
            g.wait()
        row = next(c for c in json.loads(out.stdout)["comparisons"] if c["metric"] == "instructions")
        verdicts.append(row["verdict"])
        ratios.append(row["ratio"])
    return verdicts, ratios


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--perfwatch", default=os.path.join(HERE, "..", "..", "target", "release", "perfwatch"))
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--pairs", type=int, default=10)
    ap.add_argument("--n", type=int, default=4_000_000)
    ap.add_argument("--tool", default="cachegrind", choices=["cachegrind", "callgrind"])
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    build()
    p = Project(os.path.abspath(a.perfwatch), a.tool)

    print(f"1. the same command {a.repeat} times (no noise generator)")
    reps = [p.run(a.n) for _ in range(a.repeat)]
    counts = sorted({r[1] for r in reps})
    walls = [r[2] for r in reps]
    print(f"  distinct instruction counts: {len(counts)} ({', '.join(f'{c:.0f}' for c in counts)})")
    print(f"  wall medians: min {min(walls) * 1e3:.3f} ms, max {max(walls) * 1e3:.3f} ms, "
          f"CV {statistics.stdev(walls) / statistics.mean(walls) * 100:.2f} %")

    print(f"2. A/A under noise, {a.pairs} pairs")
    aa = pairs(p, a.n, 0.0, a.pairs, a.seed)
    print(f"  instructions: ratios {sorted({round(r[0], 6) for r in aa})}, "
          f"verdicts {dict((v, [r[1] for r in aa].count(v)) for v in {r[1] for r in aa})}")
    print(f"  wall: ratios {min(r[2] for r in aa):.4f}–{max(r[2] for r in aa):.4f}, "
          f"verdicts {dict((v, [r[3] for r in aa].count(v)) for v in {r[3] for r in aa})}")

    print(f"3. B spins 1 % more, under noise, {a.pairs} pairs")
    ab = pairs(p, a.n, 0.01, a.pairs, a.seed + 1000)
    print(f"  instructions regressed: {sum(r[1] == 'regressed' for r in ab)}/{len(ab)} "
          f"(ratios {min(r[0] for r in ab):.4f}–{max(r[0] for r in ab):.4f})")
    print(f"  wall regressed: {sum(r[3] == 'regressed' for r in ab)}/{len(ab)} "
          f"(ratios {min(r[2] for r in ab):.4f}–{max(r[2] for r in ab):.4f})")

    print(f"4. ab --metric instructions under noise, {a.pairs} A/A and {a.pairs} A/B (+1 %)")
    for label, delta, seed in (("A/A", 0.0, a.seed + 2000), ("A/B", 0.01, a.seed + 3000)):
        v, r = ab_pairs(p.pw, a.n, delta, a.pairs, seed)
        print(f"  {label}: verdicts {dict((x, v.count(x)) for x in sorted(set(v)))}, "
              f"ratios {min(r):.4f}–{max(r):.4f}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""What `perfwatch explain` costs, on the quickstart suite's largest cases.

For each case (default: `sort[n=200000]` and `gzip[level=9]` of examples/quickstart), in a
scratch git repository holding a copy of the quickstart suite:
  1. overhead: the case's command plain, under callgrind, and under perf (where perf can
     sample) — --reps runs each, interleaved, median wall per way; the ratio to plain is
     the profiling overhead.
  2. explain: `perfwatch explain CASE --base HEAD` (HEAD's worktree against the work tree,
     callgrind, one profiled run per side) --reps times, the first one building the
     worktree, and its wall time; then the same with `--profiler perf` (3 rounds per side).

usage: run.py [--perfwatch PATH] [--reps 5] [--case NAME ...] [--json FILE]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
QUICKSTART = os.path.join(ROOT, "examples", "quickstart", "perfwatch.toml")

# The commands of the quickstart cases, with their setup, as the suite runs them.
CASES = {
    "sort[n=200000]": ("seq 200000 | shuf --random-source=/dev/zero > numbers-200000.txt",
                       ["sort", "-n", "-o", "/dev/null", "numbers-200000.txt"]),
    "gzip[level=9]": ("seq 300000 > numbers.txt", ["gzip", "-9", "-c", "numbers.txt"]),
}


def timed(argv, cwd):
    start = time.perf_counter()
    out = subprocess.run(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - start
    if out.returncode != 0:
        raise SystemExit(f"{argv} failed ({out.returncode}): {out.stderr.decode()[-500:]}")
    return wall


def perf_works(cwd):
    try:
        return subprocess.run(["perf", "record", "-q", "-o", os.path.join(cwd, "probe.data"), "--", "true"],
                              capture_output=True).returncode == 0
    except FileNotFoundError:
        return False


def overhead(case, cwd, reps):
    setup, argv = CASES[case]
    subprocess.run(["sh", "-c", setup], cwd=cwd, check=True)
    ways = {"plain": argv,
            "callgrind": ["valgrind", "--tool=callgrind", "--trace-children=yes", "--quiet",
                          "--callgrind-out-file=/dev/null"] + argv}
    if perf_works(cwd):
        ways["perf"] = ["perf", "record", "-q", "-F", "499", "-g", "-o", os.path.join(cwd, "perf.data"), "--"] + argv
    walls = {w: [] for w in ways}
    for _ in range(reps):
        for way, cmd in ways.items():
            walls[way].append(timed(cmd, cwd))
    med = {w: statistics.median(v) for w, v in walls.items()}
    return {w: {"median_s": med[w], "ratio_to_plain": med[w] / med["plain"], "walls": walls[w]} for w in ways}


def explain_cost(perfwatch, case, cwd, reps, profiler):
    walls, first = [], None
    for i in range(reps):
        args = [perfwatch, "explain", case, "--base", "HEAD", "--format", "json"]
        if profiler != "callgrind":
            args += ["--profiler", profiler]
        start = time.perf_counter()
        out = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if out.returncode != 0:
            raise SystemExit(f"explain failed: {out.stderr[-800:]}")
        doc = json.loads(out.stdout)
        top = doc["functions"][0]["function"] if doc["functions"] else "-"
        if i == 0:
            first = {"wall_s": wall, "base_total": doc["base"]["total"], "head_total": doc["head"]["total"],
                     "top": top}
        else:
            walls.append(wall)
    return {"first_s": first["wall_s"], "median_s": statistics.median(walls) if walls else None,
            "base_total": first["base_total"], "head_total": first["head_total"], "unit": doc["unit"]}


def scratch_repo(tmp):
    shutil.copy(QUICKSTART, os.path.join(tmp, "perfwatch.toml"))
    with open(os.path.join(tmp, ".gitignore"), "w") as f:
        f.write(".perfwatch/\n*.txt\n*.data\n")
    git = ["git", "-c", "user.name=b", "-c", "user.email=b@example.com", "-c", "commit.gpgsign=false"]
    subprocess.run(git + ["init", "-q"], cwd=tmp, check=True)
    subprocess.run(git + ["add", "-A"], cwd=tmp, check=True)
    subprocess.run(git + ["commit", "-q", "-m", "quickstart"], cwd=tmp, check=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--perfwatch", default=os.path.join(ROOT, "target", "release", "perfwatch"))
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--case", action="append", choices=sorted(CASES))
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    if not os.path.exists(args.perfwatch):
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "perfwatch"], cwd=ROOT, check=True)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        scratch_repo(tmp)
        for case in args.case or sorted(CASES):
            print(f"== {case}", flush=True)
            r = {"overhead": overhead(case, tmp, args.reps)}
            for way, o in r["overhead"].items():
                print(f"  {way:10} median {o['median_s']*1000:9.1f} ms  ×{o['ratio_to_plain']:.1f}", flush=True)
            r["explain"] = {"callgrind": explain_cost(args.perfwatch, case, tmp, args.reps, "callgrind")}
            if "perf" in r["overhead"]:
                r["explain"]["perf"] = explain_cost(args.perfwatch, case, tmp, args.reps, "perf")
            for prof, e in r["explain"].items():
                med = f"{e['median_s']:.2f} s" if e["median_s"] is not None else "-"
                print(f"  explain ({prof}): first {e['first_s']:.2f} s (builds the worktree), then median {med}; "
                      f"base {e['base_total']} head {e['head_total']} {e['unit']}", flush=True)
            results[case] = r
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()

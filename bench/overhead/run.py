#!/usr/bin/env python3
"""Harness overhead: perfwatch's median for `true` vs `hyperfine -N`, side by side.

Both tools measure the same trivial command 200 times per repetition; repetitions alternate
(perfwatch, hyperfine, perfwatch, ...) so machine drift hits both alike. Reported: each
tool's median of per-repetition medians, and their ratio (perfwatch / hyperfine).

Usage: python3 bench/overhead/run.py [--reps 7] [--runs 200] [--command true]
Needs: a release build (cargo build --release) and hyperfine (apt-get install hyperfine).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def perfwatch_median(binary, command, runs, workdir):
    suite = os.path.join(workdir, "perfwatch.toml")
    with open(suite, "w") as f:
        f.write(
            f"""[defaults]
warmup = 5
min_runs = {runs}
max_runs = {runs}
max_time = "600s"
precision = "0%"
[[bench]]
name = "cmd"
command = {json.dumps(command.split())}
"""
        )
    out = subprocess.run(
        [binary, "run", "-c", suite, "--no-save", "--format", "json"],
        check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout)["benchmarks"][0]["metrics"]["wall"]["median"]


def hyperfine_median(command, runs, workdir):
    export = os.path.join(workdir, "hf.json")
    subprocess.run(
        ["hyperfine", "-N", "--warmup", "5", "--runs", str(runs), "--export-json", export, command],
        check=True, capture_output=True,
    )
    with open(export) as f:
        return json.load(f)["results"][0]["median"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--command", default="true")
    ap.add_argument("--perfwatch", default=os.path.join(ROOT, "target", "release", "perfwatch"),
                    help="perfwatch binary (default: target/release/perfwatch)")
    args = ap.parse_args()
    binary = args.perfwatch
    if not os.path.exists(binary):
        sys.exit("build first: cargo build --release")
    if not shutil.which("hyperfine"):
        sys.exit("hyperfine not found: apt-get install hyperfine")
    pw, hf = [], []
    with tempfile.TemporaryDirectory() as work:
        for rep in range(args.reps):
            pw.append(perfwatch_median(binary, args.command, args.runs, work))
            hf.append(hyperfine_median(args.command, args.runs, work))
            print(f"rep {rep + 1}: perfwatch {pw[-1] * 1e3:.3f} ms  hyperfine {hf[-1] * 1e3:.3f} ms", flush=True)
    mp, mh = statistics.median(pw), statistics.median(hf)
    print(f"\ncommand: {args.command!r}, {args.reps} alternating repetitions x {args.runs} runs each")
    print(f"perfwatch median of medians: {mp * 1e3:.3f} ms")
    print(f"hyperfine -N median of medians: {mh * 1e3:.3f} ms")
    print(f"ratio perfwatch / hyperfine: {mp / mh:.3f}")


if __name__ == "__main__":
    main()

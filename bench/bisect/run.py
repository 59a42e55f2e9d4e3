#!/usr/bin/env python3
"""Bisect study: does `perfwatch bisect` name the right commit under noise, and does the
interleaved design beat a block design (one `perfwatch run` per commit and the unpaired
`perfwatch compare`, which is how asv's `find` decides)?

A scratch repository of 64 commits c0..c63 holds `spin.c` (bench/sensitivity) and a `steps`
file: c37 makes the program 5 % slower, c50 another 0.5 % (below the 2 % threshold). Each
commit builds `spin` with `cc -O2`. With `--broken 20`, c20's spin.c does not compile. The
bounded noise generator of bench/sensitivity (`noise SEED SECONDS`) runs during every try.

    python3 bench/bisect/run.py --perfwatch target/release/perfwatch --tries 10
    python3 bench/bisect/run.py --perfwatch target/release/perfwatch --tries 1 --broken 20 --designs interleaved

One JSON line per try goes to out/<results>; a summary table is printed at the end. Needs
`cc`, `git` and python3 (standard library only). out/ is git-ignored.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SENS = os.path.join(HERE, "..", "sensitivity")
BASE_STEPS = 40_000_000
STEP_AT, STEP = 37, 0.05
SMALL_AT, SMALL = 50, 0.005

SUITE = """
[build]
shell = "cc -O2 -o spin spin.c"

[defaults]
warmup = 1
min_runs = 5
max_runs = 400
max_time = "{max_time}"
threshold = "2%"{precision}

[[bench]]
name = "spin"
shell = "./spin $(cat steps)"
"""


def sh(args, cwd=None, env=None, check=True):
    out = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    if check and out.returncode != 0:
        sys.exit(f"{args} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    return out


def build_repo(root, max_time, broken, precision=None):
    """The 64-commit repository; returns the commit hashes c0..c63."""
    os.makedirs(root)
    spin_c = open(os.path.join(SENS, "spin.c")).read()
    open(os.path.join(root, "perfwatch.toml"), "w").write(SUITE.format(
        max_time=max_time, precision=f'\nprecision = "{precision}"' if precision else ""))
    open(os.path.join(root, ".gitignore"), "w").write(".perfwatch/\nspin\n")
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com", "-c", "commit.gpgsign=false"]
    sh(["git", "init", "-q", "-b", "main"], cwd=root)
    commits = []
    for k in range(64):
        factor = (1 + STEP if k >= STEP_AT else 1) * (1 + SMALL if k >= SMALL_AT else 1)
        open(os.path.join(root, "steps"), "w").write(f"{round(BASE_STEPS * factor)}\n")
        src = spin_c + ("\n#error this commit does not build\n" if k in broken else "")
        open(os.path.join(root, "spin.c"), "w").write(src)
        sh(["git", "add", "-A"], cwd=root)
        env = dict(os.environ, GIT_AUTHOR_DATE=f"{1767225600 + k * 3600} +0000",
                   GIT_COMMITTER_DATE=f"{1767225600 + k * 3600} +0000")
        sh(git + ["commit", "-q", "--allow-empty", "-m", f"c{k}"], cwd=root, env=env)
        commits.append(sh(["git", "rev-parse", "HEAD"], cwd=root).stdout.strip())
    return commits


def noise(out_dir, seed, seconds):
    return subprocess.Popen([os.path.join(out_dir, "noise"), str(seed), str(seconds)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def interleaved(pw, repo, commits, seed, max_time):
    """`perfwatch bisect`: (named position or None, steps, seconds, report)."""
    t = time.monotonic()
    out = sh([pw, "bisect", "spin", "--good", commits[0], "--bad", commits[63], "--seed", str(seed),
              "--max-time", max_time, "--format", "json", "-c", os.path.join(repo, "perfwatch.toml")],
             cwd=repo, check=False)
    elapsed = time.monotonic() - t
    if out.returncode != 0:
        return None, 0, elapsed, {"error": out.stderr[-2000:]}
    doc = json.loads(out.stdout)
    named = doc["first_bad"]["position"] if doc["outcome"] == "found" else None
    tested = sum(1 for s in doc["steps"] if s["decision"] != "skipped")
    skipped = [s["commit"]["position"] for s in doc["steps"] if s["decision"] == "skipped"]
    path = [(s["commit"]["position"], s["decision"]) for s in doc["steps"]]
    return named, tested, elapsed, {"outcome": doc["outcome"], "confidence": doc["confidence"],
                                    "skipped": skipped, "path": path,
                                    "step": doc.get("step"), "perfwatch_elapsed_s": doc["elapsed_s"]}


def block(pw, repo, commits, seed, max_time):
    """asv-find-like block design: each commit measured once (`perfwatch run` in its own
    worktree, budget: the suite's max_time, twice the per-comparison one), binary search moving left when the unpaired `compare` of the
    midpoint against the current good end says regressed, right otherwise."""
    t = time.monotonic()
    db = os.path.join(repo, f".perfwatch/block-{seed}.db")
    runs = {}

    def measure(i):
        if i in runs:
            return runs[i]
        wt = os.path.join(repo, ".perfwatch", "block-wt", commits[i])
        if not os.path.isdir(wt):
            sh(["git", "worktree", "add", "-q", "--detach", wt, commits[i]], cwd=repo)
        sh(["cc", "-O2", "-o", "spin", "spin.c"], cwd=wt)
        out = sh([pw, "run", "--db", f"sqlite://{db}", "--format", "json", "-c", os.path.join(wt, "perfwatch.toml")],
                 cwd=wt)
        runs[i] = json.loads(out.stdout)["run"]["id"]
        return runs[i]

    lo, hi, steps = 0, 63, 0
    measure(lo)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        steps += 1
        cand = measure(mid)
        out = sh([pw, "compare", "--db", f"sqlite://{db}", "--to", runs[lo], "--candidate", cand,
                  "--format", "json", "-c", os.path.join(repo, "perfwatch.toml")], cwd=repo, check=False)
        verdicts = [c["verdict"] for c in json.loads(out.stdout)["comparisons"] if c["metric"] == "wall"]
        if verdicts and verdicts[0] == "regressed":
            hi = mid
        else:
            lo = mid
    return hi, steps, time.monotonic() - t, {}


def backfill(pw, repo, commits, out_dir, with_noise):
    """`backfill c0..c63 --every 1`, killed after a third and resumed with --skip-existing,
    then `detect`: where the change points are, and what the resumed and repeated calls did."""
    cfg = ["-c", os.path.join(repo, "perfwatch.toml")]
    rng = f"{commits[0]}..{commits[63]}"
    nz = noise(out_dir, 7, 3600) if with_noise else None
    try:
        t = time.monotonic()
        first = subprocess.Popen([pw, "backfill", rng, "--every", "1"] + cfg, cwd=repo,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while True:
            time.sleep(2)
            runs = sh([pw, "runs", "--format", "json"] + cfg, cwd=repo, check=False)
            if runs.returncode == 0 and len(json.loads(runs.stdout)["runs"]) >= 21:
                break
        first.kill()
        first.wait()
        killed_after = len(json.loads(sh([pw, "runs", "--format", "json"] + cfg, cwd=repo).stdout)["runs"])
        resumed = sh([pw, "backfill", rng, "--every", "1", "--skip-existing"] + cfg, cwd=repo)
        again = sh([pw, "backfill", rng, "--every", "1", "--skip-existing"] + cfg, cwd=repo)
        elapsed = time.monotonic() - t
    finally:
        if nz:
            nz.kill()
            nz.wait()
    history = json.loads(sh([pw, "history", "spin", "--metric", "wall", "--format", "json"] + cfg, cwd=repo).stdout)
    medians = [round(p["median"] * 1e3, 2) for p in history["series"][0]["points"]]
    detect = json.loads(sh([pw, "detect", "spin", "--metric", "wall", "--format", "json"] + cfg, cwd=repo,
                           check=False).stdout)
    cps = [(commits.index(c["commit"]), round(c["change"] * 100, 2)) for s in detect["series"]
           for c in s["change_points"] if c.get("commit") in commits]
    plan = lambda text: next((l for l in text.splitlines() if l.startswith("backfilling")), "")
    return {"design": "backfill", "noise": with_noise, "medians_ms": medians, "runs_after_kill": killed_after, "resumed": plan(resumed.stderr),
            "repeated": plan(again.stderr), "change_points": cps, "elapsed_s": round(elapsed, 1)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--perfwatch", default="target/release/perfwatch")
    ap.add_argument("--tries", type=int, default=10)
    ap.add_argument("--designs", default="interleaved,block", help="interleaved, block and/or backfill")
    ap.add_argument("--max-time", default="10s", help="budget per comparison (interleaved); a commit of the block design gets twice this")
    ap.add_argument("--broken", default="", help="comma-separated commits that do not build")
    ap.add_argument("--results", default="bisect.jsonl")
    ap.add_argument("--block-precision", help="`precision` of the suite's runs (block design); "
                    "0%% makes every commit use its whole budget [default: perfwatch's 1%%]")
    ap.add_argument("--backfill-budget", default="1s", help="max_time per commit of the backfill design")
    ap.add_argument("--quiet-backfill", action="store_true", help="backfill without the noise generator")
    ap.add_argument("--seed", type=int, default=100)
    args = ap.parse_args()
    pw = os.path.abspath(args.perfwatch)
    out_dir = os.path.join(HERE, "out")
    os.makedirs(out_dir, exist_ok=True)
    sh(["cc", "-O2", "-o", os.path.join(out_dir, "noise"), os.path.join(SENS, "noise.c"), "-pthread", "-lm"])
    broken = {int(b) for b in args.broken.split(",") if b}
    results = open(os.path.join(out_dir, args.results), "a")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        repo = os.path.join(tmp, "repo")
        # The block design measures one new commit per step, the interleaved one runs two
        # comparisons per step: each commit gets twice the per-comparison budget, so both
        # spend the same measuring time per step.
        budget = f"{2 * float(args.max_time.rstrip('s')):g}s"
        commits = build_repo(repo, budget, broken, args.block_precision)
        if "backfill" in args.designs.split(","):
            # Its own repository with a short budget per commit: 63 commits measured in minutes.
            bf_repo = os.path.join(tmp, "repo-backfill")
            row = backfill(pw, bf_repo, build_repo(bf_repo, args.backfill_budget, broken), out_dir,
                           not args.quiet_backfill)
            results.write(json.dumps(row) + "\n")
            print(json.dumps(row), flush=True)
        for t in range(args.tries):
            for design in [d for d in args.designs.split(",") if d != "backfill"]:
                seed = args.seed + t
                nz = noise(out_dir, seed, 3600)
                try:
                    fn = interleaved if design == "interleaved" else block
                    named, steps, elapsed, extra = fn(pw, repo, commits, seed, args.max_time)
                finally:
                    nz.kill()
                    nz.wait()
                row = {"design": design, "try": t, "seed": seed, "broken": sorted(broken), "named": named,
                       "correct": named == STEP_AT, "steps": steps, "elapsed_s": round(elapsed, 1), **extra}
                results.write(json.dumps(row) + "\n")
                results.flush()
                rows.append(row)
                print(json.dumps(row), flush=True)
    print()
    print(f"{'design':<12} {'correct':>8} {'median steps':>13} {'median time':>12}  named")
    for design in [d for d in args.designs.split(",") if d != "backfill"]:
        mine = [r for r in rows if r["design"] == design]
        if not mine:
            continue
        ok = sum(r["correct"] for r in mine)
        print(f"{design:<12} {ok:>4}/{len(mine):<3} {statistics.median(r['steps'] for r in mine):>13} "
              f"{statistics.median(r['elapsed_s'] for r in mine):>11.0f}s  {[r['named'] for r in mine]}")


if __name__ == "__main__":
    main()

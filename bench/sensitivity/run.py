#!/usr/bin/env python3
"""Sensitivity benchmark: false-alarm rate and detection power of `perfwatch ab` vs
`hyperfine -N` (A block then B block) + Welch's t-test, under seeded background noise, with a
fixed time budget per comparison. See README.md.

usage: run.py [--aa 40] [--per-delta 20] [--deltas 1,2,5] [--budget 10] [--seed 1]
              [--methods perfwatch,hyperfine] [--perfwatch PATH] [--quiet]
                                                    # measure (appends to out/results.jsonl)
       run.py --summarize [FILE]                     # print the tables
"""
import argparse, json, os, random, statistics, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "out")
N_BASE = 40_000_000  # ~45-50 ms per process on the reference VM


def build():
    os.makedirs(OUT, exist_ok=True)
    for src, extra in (("spin.c", []), ("noise.c", ["-pthread", "-lm"])):
        exe = os.path.join(OUT, src[:-2])
        subprocess.run(["cc", "-O2", "-o", exe, os.path.join(HERE, src)] + extra, check=True)


def spin(delta_pct):
    return [os.path.join(OUT, "spin"), str(int(round(N_BASE * (1 + delta_pct / 100.0))))]


def start_noise(seed, seconds):
    return subprocess.Popen([os.path.join(OUT, "noise"), str(seed), str(seconds)])


def stop_noise(p):
    if p is not None and p.poll() is None:
        p.kill()
    if p is not None:
        p.wait()


def calibrate_runs(budget, quiet):
    """hyperfine --runs R so that 2R runs take about the budget (measured under the same
    kind of background noise as the comparisons)."""
    walls = []
    noise = None if quiet else start_noise(12345, 30)
    for _ in range(40):
        t = time.monotonic()
        subprocess.run(spin(0), check=True)
        walls.append(time.monotonic() - t)
    stop_noise(noise)
    med = statistics.median(walls)
    return max(5, int(budget / 2 / med)), med


def run_perfwatch(exe, a, b, budget, seed, metric="wall"):
    """One `perfwatch ab`; `metric` is its decision metric (`--metric`): the one whose
    confidence sequence decides when to stop. The other metrics are read from the same runs."""
    cmd = [exe, "ab", " ".join(a), " ".join(b), "--max-time", f"{budget}s", "--threshold", "0%",
           "--format", "json", "--fail-on", "never", "--seed", str(seed), "--metric", metric]
    t = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True)
    total = time.monotonic() - t
    rep = json.loads(p.stdout)
    res = {"rounds": rep.get("rounds"), "elapsed_s": rep.get("elapsed_s"), "stopped": rep.get("stopped"),
           "total_s": total}
    for c in rep["comparisons"]:
        if c["metric"] in ("wall", "cpu"):
            res[c["metric"]] = {"verdict": c["verdict"], "ratio": c["ratio"], "ci95": c["ci95"]}
    return res


def run_hyperfine(a, b, runs, path):
    t = time.monotonic()
    subprocess.run(["hyperfine", "-N", "--warmup", "1", "--runs", str(runs), "--style", "none",
                    "--export-json", path, " ".join(a), " ".join(b)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    total = time.monotonic() - t
    from scipy import stats  # hyperfine's scripts/welch_ttest.py does exactly this
    r = json.load(open(path))["results"]
    ta, tb = r[0]["times"], r[1]["times"]
    _, p = stats.ttest_ind(ta, tb, equal_var=False)
    ratio = statistics.mean(tb) / statistics.mean(ta)
    verdict = "unchanged" if p >= 0.05 else ("regressed" if ratio > 1 else "improved")
    return {"wall": {"verdict": verdict, "ratio": ratio, "p": p}, "total_s": total, "runs": runs}


def measure(args):
    build()
    rng = random.Random(args.seed)
    cells = [(m, 0.0, i) for m in args.methods for i in range(args.aa)]
    for d in args.deltas:
        cells += [(m, d, i) for m in args.methods for i in range(args.per_delta)]
    rng.shuffle(cells)  # randomized cell order: drift of the machine hits all methods alike
    hf_runs, med = calibrate_runs(args.budget, args.quiet)
    print(f"{len(cells)} cells; spin median {med*1000:.1f} ms; hyperfine --runs {hf_runs}", flush=True)
    out_path = os.path.join(OUT, args.results)
    for k, (method, delta, i) in enumerate(cells):
        seed = rng.randrange(1 << 31)
        noise = None if args.quiet else start_noise(seed, int(args.budget) + 10)
        try:
            a, b = spin(0), spin(delta)
            if method == "perfwatch":
                res = run_perfwatch(args.perfwatch, a, b, args.budget, seed)
            elif method == "perfwatch-cpu":
                res = run_perfwatch(args.perfwatch, a, b, args.budget, seed, metric="cpu")
            else:
                res = run_hyperfine(a, b, hf_runs, os.path.join(OUT, "hf.json"))
        finally:
            stop_noise(noise)
        row = {"method": method, "delta": delta, "trial": i, "seed": seed, "noise": not args.quiet, **res}
        with open(out_path, "a") as f:
            f.write(json.dumps(row) + "\n")
        w = res["wall"]["verdict"]
        print(f"[{k+1}/{len(cells)}] {method:9s} d={delta:>4}% wall={w:12s} "
              f"cpu={res.get('cpu', {}).get('verdict', '-'):12s} {res.get('elapsed_s') or res['total_s']:.1f}s",
              flush=True)


def summarize(path):
    rows = [json.loads(l) for l in open(path)]
    by = {}
    for r in rows:
        by.setdefault((r["method"], r["delta"]), []).append(r)
    deltas = sorted({r["delta"] for r in rows})

    def flagged(rs, metric, aa):
        vs = [r[metric]["verdict"] for r in rs if metric in r]
        k = sum(v in ("regressed", "improved") for v in vs) if aa else sum(v == "regressed" for v in vs)
        return k, len(vs)

    print(f"results: {path} ({len(rows)} comparisons)")
    print("| method / metric | A/A false alarms | " + " | ".join(f"power {d:g}%" for d in deltas if d) + " |")
    print("|---|---|" + "---|" * sum(1 for d in deltas if d))
    rows_to_show = (("perfwatch", "wall"), ("perfwatch", "cpu"), ("perfwatch-cpu", "cpu"), ("hyperfine", "wall"))
    for method, metric in rows_to_show:
        if not any(m == method for m, _ in by):
            continue
        cells = []
        for d in deltas:
            rs = by.get((method, d), [])
            k, n = flagged(rs, metric, d == 0)
            cells.append(f"{k}/{n} ({100*k/n:.0f}%)" if n else "-")
        label = {"perfwatch": "perfwatch ab (interleaved, paired HL, anytime CS)",
                 "perfwatch-cpu": "perfwatch ab --metric cpu",
                 "hyperfine": "hyperfine -N blocks + Welch t"}[method]
        print(f"| {label}, {metric} | " + " | ".join(cells) + " |")
    print()
    for method, metric in (("perfwatch", "wall"), ("perfwatch-cpu", "cpu")):
        for d in deltas:
            rs = by.get((method, d), [])
            if not rs:
                continue
            el = sorted(r["elapsed_s"] for r in rs)
            early = sum(r["stopped"] == "verdict" for r in rs)
            ratios = sorted(r[metric]["ratio"] for r in rs)
            print(f"{method} d={d:g}%: median time to verdict/budget {statistics.median(el):.2f} s "
                  f"(stopped early on a verdict {early}/{len(rs)}), median rounds "
                  f"{statistics.median(r['rounds'] for r in rs):.0f}, median {metric} ratio "
                  f"{statistics.median(ratios):.4f}")
    for d in deltas:
        rs = by.get(("hyperfine", d), [])
        if rs:
            print(f"hyperfine d={d:g}%: median time {statistics.median(r['total_s'] for r in rs):.2f} s, "
                  f"median mean-ratio {statistics.median(r['wall']['ratio'] for r in rs):.4f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--aa", type=int, default=40)
    ap.add_argument("--per-delta", type=int, default=20)
    ap.add_argument("--deltas", default="1,2,5")
    ap.add_argument("--budget", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--perfwatch", default="perfwatch")
    ap.add_argument("--methods", default="perfwatch,hyperfine",
                    help="comma-separated: perfwatch (wall decides when to stop), perfwatch-cpu "
                         "(`ab --metric cpu`: cpu decides), hyperfine")
    ap.add_argument("--quiet", action="store_true", help="no background noise")
    ap.add_argument("--results", default="results.jsonl")
    ap.add_argument("--summarize", nargs="?", const="", default=None)
    args = ap.parse_args()
    args.deltas = [float(x) for x in args.deltas.split(",") if x]
    args.methods = [m for m in args.methods.split(",") if m]
    unknown = set(args.methods) - {"perfwatch", "perfwatch-cpu", "hyperfine"}
    if unknown:
        ap.error(f"unknown method(s): {', '.join(sorted(unknown))}")
    if args.summarize is not None:
        summarize(args.summarize or os.path.join(OUT, args.results))
    else:
        measure(args)


if __name__ == "__main__":
    main()

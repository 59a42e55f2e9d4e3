#!/usr/bin/env python3
"""Record raw interleaved rounds (RMIT) of `spin` A/B under the seeded noise, then replay the
sign/median confidence sequence on them for several tunings n*: the evidence behind
perfwatch-detect's `planned_n_star` (n* = half the rounds the budget holds).

usage: rounds.py record DELTA_PCT SECONDS SEED [--out out/rounds.jsonl]
       rounds.py replay [out/rounds.jsonl]      # per n*: early stops and median stop time per delta
Build spin and noise first (run.py does, into out/). Run on an otherwise idle machine.
"""
import argparse, json, math, os, random, subprocess, sys, time
import statistics

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "out")
N = 40_000_000
WINDOW = 10.0  # seconds per replayed comparison, as in run.py


def run(argv):
    t = time.monotonic()
    pid = os.posix_spawn(argv[0], argv, os.environ)
    _, _, ru = os.wait4(pid, 0)
    return time.monotonic() - t, ru.ru_utime + ru.ru_stime


def record(delta, secs, seed, out):
    rng = random.Random(seed)
    a = [os.path.join(OUT, "spin"), str(N)]
    b = [os.path.join(OUT, "spin"), str(int(round(N * (1 + delta / 100))))]
    noise = subprocess.Popen([os.path.join(OUT, "noise"), str(seed), str(int(secs) + 5)])
    rows = []
    try:
        run(a), run(b)  # warm-up
        t0 = time.monotonic()
        while time.monotonic() - t0 < secs:
            b_first = rng.random() < 0.5
            if b_first:
                rb = run(b)
                ra = run(a)
            else:
                ra = run(a)
                rb = run(b)
            rows.append({"t": time.monotonic() - t0, "bf": b_first, "aw": ra[0], "bw": rb[0],
                         "ac": ra[1], "bc": rb[1]})
    finally:
        noise.kill()
        noise.wait()
    with open(out, "a") as f:
        f.write(json.dumps({"delta": delta, "seed": seed, "rounds": rows}) + "\n")
    print(f"delta {delta}%: {len(rows)} rounds", file=sys.stderr)


def mixture_ratio(alpha):
    """r* minimising (1 + 1/r) ln((1 + r)/alpha^2), as paired::sequence::mixture_ratio."""
    f = lambda lr: (1 + 1 / math.exp(lr)) * math.log((1 + math.exp(lr)) / alpha ** 2)
    lo, hi, g = -10.0, 15.0, (5 ** .5 - 1) / 2
    for _ in range(100):
        c, d = hi - g * (hi - lo), lo + g * (hi - lo)
        if f(c) < f(d):
            hi = d
        else:
            lo = c
    return math.exp((lo + hi) / 2)


def half_width(sigma2, n, alpha, n_star):
    rho2 = mixture_ratio(alpha) * sigma2 / n_star
    v = sigma2 + n * rho2
    return math.sqrt(sigma2 * v / (n * n * rho2) * math.log(v / (sigma2 * alpha * alpha)))


def sign_cs(d, alpha, n_star):
    """The sign/median confidence sequence of perfwatch-stats' sequence::median_cs."""
    s, n = sorted(d), len(d)
    h = half_width(0.25, n, alpha, n_star)
    lo_i, hi_i = n - math.floor(n * (0.5 + h)), n - math.ceil(n * (0.5 - h)) + 1
    return (-math.inf if lo_i < 1 else s[lo_i - 1]), (math.inf if hi_i > n else s[max(hi_i, 1) - 1])


def replay(path, alpha=0.01, burn_in=10):
    trials = [json.loads(line) for line in open(path)]
    for n_star in (25, 50, 100, 200):
        by = {}
        for tr in trials:
            rows = tr["rounds"]
            for w in range(int(rows[-1]["t"] // WINDOW)):
                rs = [r for r in rows if w * WINDOW <= r["t"] < (w + 1) * WINDOW]
                d = [math.log(r["bw"] / r["aw"]) for r in rs]
                stop = (None, WINDOW)
                for n in range(burn_in, len(d) + 1):
                    lo, hi = sign_cs(d[:n], alpha, n_star)
                    if lo > 0 or hi < 0:
                        stop = ("regressed" if lo > 0 else "improved", rs[n - 1]["t"] - w * WINDOW)
                        break
                by.setdefault(tr["delta"], []).append(stop)
        cells = [f"{dl:g}%: {sum(v is not None for v, _ in s)}/{len(s)} early, "
                 f"median {statistics.median(t for _, t in s):.2f} s" for dl, s in sorted(by.items())]
        print(f"n* = {n_star:3}: " + "; ".join(cells))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("record")
    r.add_argument("delta", type=float)
    r.add_argument("seconds", type=float)
    r.add_argument("seed", type=int)
    r.add_argument("--out", default=os.path.join(OUT, "rounds.jsonl"))
    p = sub.add_parser("replay")
    p.add_argument("path", nargs="?", default=os.path.join(OUT, "rounds.jsonl"))
    args = ap.parse_args()
    if args.cmd == "record":
        record(args.delta, args.seconds, args.seed, args.out)
    else:
        replay(args.path)


if __name__ == "__main__":
    main()

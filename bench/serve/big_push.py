#!/usr/bin/env python3
"""Server memory and page size with a huge store (issue "Nothing lost, nothing left behind").

Starts `perfwatch serve` on a fresh SQLite store, pushes one run report of --series series
(about 6 MB at 20,000), then reads the overview's first and last pages and the series API,
and waits for the idle warm-up to analyse every series. Prints the server's RSS (VmRSS, and
its high-water mark VmHWM) after each step, and the size of each answer.

The report is a real `perfwatch run --format json` of a small suite (run once here), its case
copied under new names until it holds --series series.

Usage: big_push.py PERFWATCH [--series 20000] [--port 18090] [--settle 30]
"""
import argparse
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

SUITE = """
[defaults]
warmup = 0
min_runs = 1
max_runs = 1
[[bench]]
name = "seed"
command = ["true"]
"""


def rss_kib(pid):
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
    )
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def request(url, data=None, token=None):
    req = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    if data:
        req.add_header("Content-Type", "application/json")
    start = time.monotonic()
    with urllib.request.urlopen(req, timeout=600) as r:
        body = r.read()
    return r.status, len(body), time.monotonic() - start


def big_report(perfwatch, tmp, series):
    (tmp / "perfwatch.toml").write_text(SUITE)
    out = subprocess.run([perfwatch, "run", "--format", "json", "-q"], cwd=tmp, capture_output=True, check=True)
    report = json.loads(out.stdout)
    case = report["benchmarks"][0]
    per_case = len(case["metrics"])
    cases = -(-series // per_case)
    report["benchmarks"] = [dict(case, name=f"kernel_{i:05d}") for i in range(cases)]
    report["run"]["id"] = "big-push-0001"
    return json.dumps(report).encode(), cases * per_case


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("perfwatch")
    ap.add_argument("--series", type=int, default=20000)
    ap.add_argument("--port", type=int, default=18090)
    ap.add_argument("--settle", type=float, default=30, help="seconds to let the warm-up run")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        body, n = big_report(a.perfwatch, tmp, a.series)
        db = f"sqlite://{tmp}/team.db"
        token = subprocess.run(
            [a.perfwatch, "token", "create", "bench", "--db", db, "-q"], capture_output=True, text=True, check=True
        ).stdout.strip().split()[-1]
        server = subprocess.Popen(
            [a.perfwatch, "serve", "--db", db, "--addr", f"127.0.0.1:{a.port}", "--no-request-log"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{a.port}"
        try:
            for _ in range(100):
                try:
                    request(base + "/api/v1/runs")
                    break
                except OSError:
                    time.sleep(0.1)
            rows = []

            def step(name, answer=None):
                rss, hwm = rss_kib(server.pid)
                size = f"{answer[1] / 1e6:.2f} MB in {answer[2]:.2f} s" if answer else ""
                rows.append((name, rss, hwm, size))
                print(f"{name:<34} RSS {rss / 1024:7.1f} MiB  peak {hwm / 1024:7.1f} MiB  {size}", flush=True)

            step("started, empty store")
            step(f"pushed {len(body) / 1e6:.1f} MB ({n} series)", request(base + "/api/v1/runs", body, token))
            step("GET / (page 1)", request(base + "/"))
            pages = -(-n // 100)
            step(f"GET /?page={pages} (the last)", request(base + f"/?page={pages}"))
            step("GET /api/v1/series?limit=100", request(base + "/api/v1/series?limit=100"))
            step("GET /api/v1/series (all)", request(base + "/api/v1/series"))
            time.sleep(a.settle)
            step(f"after {a.settle:.0f} s of idle warm-up")
            step("GET / again", request(base + "/"))
        finally:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Fuzz perfwatch's readers of untrusted input with cargo-afl for a fixed budget per target.

Targets (crates/perfwatch-fuzz): suite, metric_output, ingest, import. Each runs under
afl-fuzz until its process tree has used --minutes of CPU time (measured from /proc), at most
--jobs at a time, starting from fuzz/seeds/<target> (or resuming fuzz/out/<target>). Every
crash and hang afl saves is copied to fuzz/regressions/<target>/ (named by its content hash),
where `cargo test -p perfwatch-fuzz` replays it from then on: fix it, keep the file.

Needs: cargo install cargo-afl (stable Rust; it builds AFL++ on first use).
Prints per target: executions (of this session of afl-fuzz), wall and CPU seconds, corpus
size, crashes and hangs.
"""

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FUZZ = ROOT / "fuzz"
TARGETS = ["suite", "metric_output", "ingest", "import"]
# Fuzzers yield the CPU to anything else on the machine (a build, a test run).
NICE = 19


def build():
    # The harness crate is its own workspace; pin it to the main lock file's versions.
    shutil.copy(ROOT / "Cargo.lock", FUZZ / "Cargo.lock")
    subprocess.run(["cargo", "afl", "build", "--release"], cwd=FUZZ, check=True)


def stats(out: Path) -> dict:
    text = (out / "default" / "fuzzer_stats").read_text()
    pairs = (line.split(":", 1) for line in text.splitlines() if ":" in line)
    return {k.strip(): v.strip() for k, v in pairs}


TICK = os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds of `root` and its descendants: each live process's own time plus that of
    the children it has reaped (afl's fork server reaps the target's children, afl-fuzz the
    fork server only at the end, so /usr/bin/time around afl-fuzz misses the target)."""
    children, cpu = {}, {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        pid = int(stat.parent.name)
        fields = text[text.rindex(")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(pid)
        cpu[pid] = sum(int(x) for x in fields[11:15]) / TICK  # utime stime cutime cstime
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += cpu.get(pid, 0.0)
        todo.extend(children.get(pid, []))
    return total


def start(target: str, seconds: int, out_root: Path, timeout_ms: int):
    out = out_root / target
    env = dict(
        os.environ,
        AFL_NO_UI="1",
        AFL_SKIP_CPUFREQ="1",
        AFL_AUTORESUME="1",
        AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES="1",
        AFL_NO_AFFINITY="1",
    )
    cmd = [
        "cargo", "afl", "fuzz",
        "-i", str(FUZZ / "seeds" / target),
        "-o", str(out),
        "-V", str(seconds),
        "-t", str(timeout_ms),
        "-m", "none",
        "--", str(FUZZ / "target" / "release" / target),
    ]
    log = open(out_root / f"{target}.log", "a")
    return subprocess.Popen(["nice", "-n", str(NICE)] + cmd, cwd=FUZZ, env=env, stdout=log, stderr=subprocess.STDOUT)


def keep_findings(target: str, out: Path) -> tuple[int, int]:
    found = {"crashes": 0, "hangs": 0}
    dest = FUZZ / "regressions" / target
    dest.mkdir(parents=True, exist_ok=True)
    for kind in found:
        for f in sorted((out / "default" / kind).glob("id:*")):
            data = f.read_bytes()
            name = f"{'crash' if kind == 'crashes' else 'hang'}-{hashlib.sha1(data).hexdigest()[:16]}"
            (dest / name).write_bytes(data)
            found[kind] += 1
    return found["crashes"], found["hangs"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("targets", nargs="*", default=TARGETS, help=f"default: all of {', '.join(TARGETS)}")
    ap.add_argument("--minutes", type=float, default=30.0, help="CPU minutes per target (default 30)")
    ap.add_argument("--max-wall", type=float, default=None, help="stop a target after this many wall minutes anyway")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="targets fuzzed at once")
    ap.add_argument("--timeout-ms", type=int, default=2000, help="an input slower than this is a hang")
    ap.add_argument("--out", type=Path, default=FUZZ / "out", help="afl output (default fuzz/out)")
    ap.add_argument("--no-build", action="store_true", help="use the harnesses already built")
    ap.add_argument("--json", type=Path, help="also write the results here")
    a = ap.parse_args()
    unknown = [t for t in a.targets if t not in TARGETS]
    if unknown:
        sys.exit(f"unknown targets {unknown}; known: {TARGETS}")
    if not a.no_build:
        build()
    a.out.mkdir(parents=True, exist_ok=True)
    budget = a.minutes * 60
    wall_cap = int(a.max_wall * 60) if a.max_wall else 10 * 365 * 86400
    pending, running, results = list(a.targets), {}, []
    while pending or running:
        while pending and len(running) < a.jobs:
            t = pending.pop(0)
            running[t] = [start(t, wall_cap, a.out, a.timeout_ms), time.time(), 0.0]
            print(f"fuzzing {t} for {budget:.0f} CPU seconds", flush=True)
        time.sleep(5)
        for t, entry in list(running.items()):
            p, began, _ = entry
            if p.poll() is None:
                entry[2] = max(entry[2], tree_cpu_seconds(p.pid))
                if entry[2] >= budget:
                    # afl-fuzz writes its final stats on SIGINT.
                    subprocess.run(["pkill", "-INT", "-f", f"afl-fuzz .*-o {a.out / t} "], check=False)
                continue
            del running[t]
            s = stats(a.out / t)
            cpu = entry[2]
            crashes, hangs = keep_findings(t, a.out / t)
            row = {
                "target": t,
                "execs": int(s.get("execs_done", 0)),
                "execs_per_sec": float(s.get("execs_per_sec", 0)),
                "wall_s": round(time.time() - began),
                "cpu_s": round(cpu),
                "corpus": int(s.get("corpus_count", 0)),
                "edges_found": s.get("edges_found"),
                "bitmap_cvg": s.get("bitmap_cvg"),
                "crashes": crashes,
                "hangs": hangs,
                "exit": p.returncode,
            }
            results.append(row)
            print(json.dumps(row), flush=True)
    print(f"\n{'target':<14}{'execs':>12}{'execs/s':>9}{'wall s':>8}{'cpu s':>7}{'corpus':>8}{'crashes':>8}{'hangs':>6}")
    for r in results:
        print(
            f"{r['target']:<14}{r['execs']:>12}{r['execs_per_sec']:>9.0f}{r['wall_s']:>8}{r['cpu_s']:>7}"
            f"{r['corpus']:>8}{r['crashes']:>8}{r['hangs']:>6}"
        )
    if a.json:
        a.json.write_text(json.dumps(results, indent=2))
    if any(r["crashes"] or r["hangs"] for r in results):
        print(f"findings copied to {FUZZ / 'regressions'}: `cargo test -p perfwatch-fuzz` replays them")


if __name__ == "__main__":
    main()

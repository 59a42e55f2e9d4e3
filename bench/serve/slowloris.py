#!/usr/bin/env python3
"""Slowloris against `perfwatch serve` (issue "Nothing lost, nothing left behind", item 6).

Starts the server under a file-descriptor limit, keeps N connections that send half a request
head and then nothing (re-opening any the server closes), and meanwhile sends one legitimate
`GET /api/v1/runs` every 0.5 s, recording its latency (5 s timeout = failure).

Usage: slowloris.py PERFWATCH [--nofile 128] [--idle 150] [--seconds 30] [--port 18080]
"""
import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import time


def half_request(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    s.setblocking(False)
    return s


def alive(s):
    try:
        return s.recv(1) != b""  # data (a 408) or EOF: the server closed it
    except BlockingIOError:
        return True
    except OSError:
        return False


def legit(port):
    start = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.settimeout(5)
            s.sendall(b"GET /api/v1/runs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            head = s.recv(64)
        ok = head.startswith(b"HTTP/1.1 200")
    except OSError:
        ok = False
    return ok, time.monotonic() - start


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("perfwatch")
    ap.add_argument("--nofile", type=int, default=128)
    ap.add_argument("--idle", type=int, default=150)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--port", type=int, default=18080)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite://{tmp}/h.db"
        server = subprocess.Popen(
            ["prlimit", f"--nofile={a.nofile}", a.perfwatch, "serve", "--db", db, "--addr", f"127.0.0.1:{a.port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(100):
                if legit(a.port)[0]:
                    break
                time.sleep(0.1)
            idle, reopened, results = [], 0, []
            end = time.monotonic() + a.seconds
            while time.monotonic() < end:
                kept = [s for s in idle if alive(s)]
                for s in idle:
                    if s not in kept:
                        s.close()
                reopened += len(idle) - len(kept)
                idle = kept
                while len(idle) < a.idle:
                    try:
                        idle.append(half_request(a.port))
                    except OSError:
                        break
                results.append(legit(a.port))
                time.sleep(0.5)
            for s in idle:
                s.close()
        finally:
            server.kill()
            server.wait()
    lat = [t for ok, t in results if ok]
    failed = sum(1 for ok, _ in results if not ok)
    print(f"nofile={a.nofile} idle={a.idle} seconds={a.seconds}: {len(results)} requests, {failed} failed, "
          f"latency median {statistics.median(lat) * 1e3 if lat else float('nan'):.1f} ms, "
          f"max {max(lat) * 1e3 if lat else float('nan'):.1f} ms; idle connections closed by the server: {reopened}")


if __name__ == "__main__":
    sys.exit(main())

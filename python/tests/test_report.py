"""emit(), the metrics file, the exit hook, summary(), export_json()."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import perfwatch

SRC = str(Path(__file__).resolve().parents[1] / "src")


def _populate():
    for d in (0.001, 0.002, 0.003):
        perfwatch.record("parse json", d)  # space must be sanitised
    with perfwatch.timed("alloc", memory=True):
        bytearray(1000)
    stats = perfwatch.CacheStats("coords")
    stats.hit()
    stats.miss()
    perfwatch.CacheStats("empty")


def _check_lines(metrics):
    assert metrics["op.parse_json.p95"]["unit"] == "s"
    assert metrics["op.parse_json.p95"]["better"] == "lower"
    assert metrics["op.parse_json.p50"]["value"] == pytest.approx(0.002)
    assert metrics["op.parse_json.mean"]["value"] == pytest.approx(0.002)
    assert metrics["op.parse_json.count"]["value"] == 3
    assert metrics["op.parse_json.slow_count"]["value"] == 0
    assert "op.parse_json.mem_peak" not in metrics
    assert metrics["op.alloc.mem_peak"]["unit"] == "bytes"
    assert metrics["cache.coords.hit_rate"] == {
        "name": "cache.coords.hit_rate", "value": 0.5, "unit": "ratio", "better": "higher"}
    assert "cache.empty.hit_rate" not in metrics  # no lookups: no rate
    assert metrics["cache.empty.hits"]["value"] == 0


def test_emit_to_stdout_outside_perfwatch(capsys, parse_metrics):
    assert not perfwatch.is_under_perfwatch()
    _populate()
    perfwatch.emit()
    out = capsys.readouterr().out
    _check_lines(parse_metrics(out))


def test_emit_to_metrics_file_under_perfwatch(tmp_path, monkeypatch, capsys, parse_metrics):
    path = tmp_path / "run.metrics"
    path.write_text("perfwatch-metric name=earlier value=1\n")  # appended to, not replaced
    monkeypatch.setenv("PERFWATCH_METRICS_FILE", str(path))
    assert perfwatch.is_under_perfwatch()
    _populate()
    perfwatch.emit()
    assert capsys.readouterr().out == ""
    text = path.read_text()
    assert text.startswith("perfwatch-metric name=earlier value=1\n") and text.endswith("\n")
    metrics = parse_metrics(text)
    _check_lines(metrics)
    assert "earlier" in metrics


def test_report_metric_and_validation(capsys, parse_metrics):
    perfwatch.report_metric("rows per/s", 1.5e-5, unit="1/s", better="higher")
    m = parse_metrics(capsys.readouterr().out)["rows_per/s"]
    assert m["value"] == 1.5e-5 and m["better"] == "higher"
    for bad in [dict(name="wall", value=1), dict(name="gpu_util", value=1),
                dict(name="x", value=float("inf")), dict(name="x", value=float("nan")),
                dict(name="x", value=1, better="up"), dict(name="x", value=1, unit="a b"),
                dict(name="x", value="1")]:
        with pytest.raises(ValueError):
            perfwatch.report_metric(**bad)


def test_summary_bottlenecks_and_text():
    for name, durations in {"a": [1.0], "b": [0.1] * 30, "c": [0.5, 0.5], "d": [0.01],
                            "e": [0.02], "f": [0.03], "g": [0.2]}.items():
        for d in durations:
            perfwatch.record(name, d)
    b = perfwatch.summary()["bottlenecks"]
    assert [e["name"] for e in b["by_total"]] == ["b", "a", "c", "g", "f"]
    assert [e["name"] for e in b["by_p95"]] == ["a", "c", "g", "b", "f"]
    assert b["by_total"][0]["total_s"] == pytest.approx(3.0)
    text = perfwatch.summary_text()
    assert text.splitlines()[0].split()[:3] == ["operation", "count", "total"]
    assert text.splitlines()[2].split()[:2] == ["b", "30"]


def test_export_json_round_trip(tmp_path):
    _populate()
    path = tmp_path / "summary.json"
    returned = perfwatch.export_json(path)
    with open(path) as f:
        loaded = json.load(f)
    assert loaded == json.loads(json.dumps(perfwatch.summary())) == json.loads(json.dumps(returned))
    assert loaded["operations"]["parse json"]["count"] == 3


def test_nothing_measured():
    # CacheStats objects from earlier tests stay registered (zeroed); drop them here.
    perfwatch._cache._caches.clear()
    assert perfwatch.metric_lines() == []
    assert perfwatch.summary()["operations"] == {}
    assert "nothing measured" in perfwatch.summary_text()


PROGRAM = textwrap.dedent("""
    import functools, sys
    sys.path.insert(0, {src!r})
    import perfwatch

    @perfwatch.timed("work step")
    def work(n):
        return sum(range(n))

    @functools.lru_cache(maxsize=None)
    def sq(x):
        return x * x
    perfwatch.track_cache("sq", sq)

    for i in range(50):
        work(1000)
    for x in [1, 2, 1, 1, 2]:
        sq(x)
    print("program output")
""")


def _run(env_extra, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PERFWATCH_METRICS_FILE"}
    env.update(env_extra)
    return subprocess.run([sys.executable, "-c", PROGRAM.format(src=SRC)], env=env,
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)


def test_exit_hook_writes_metrics_file(tmp_path, parse_metrics):
    path = tmp_path / "child.metrics"
    proc = _run({"PERFWATCH_METRICS_FILE": str(path)}, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "program output\n"  # stdout untouched
    metrics = parse_metrics(path.read_text())
    for key in ("p50", "p95", "p99", "mean", "count", "slow_count"):
        assert f"op.work_step.{key}" in metrics
    assert metrics["op.work_step.count"]["value"] == 50
    assert metrics["cache.sq.hit_rate"]["value"] == 0.6


def test_no_automatic_output_outside_perfwatch(tmp_path):
    proc = _run({}, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "program output\n"

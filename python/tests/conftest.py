"""Shared fixtures: every test starts from an empty perfwatch state, outside perfwatch."""

from __future__ import annotations

import math
import re

import pytest

import perfwatch


@pytest.fixture(autouse=True)
def clean_state(monkeypatch):
    monkeypatch.delenv("PERFWATCH_METRICS_FILE", raising=False)
    perfwatch.reset()
    yield
    perfwatch.reset()


_NAME = re.compile(r"[A-Za-z0-9_./-]+\Z")
_BUILTIN = {"wall", "user", "sys", "cpu", "max_rss", "throughput"}


def parse_metric_line(line: str) -> dict:
    """Reference parser of the perfwatch-metric format (independent of the client's code).

    Mirrors perfwatch's Rust parser: prefix word, whitespace-separated key=value fields in
    any order, no duplicates, name and value required, name charset, finite value,
    better in {lower, higher}, no built-in names.
    """
    words = line.split()
    assert words and words[0] == "perfwatch-metric", line
    fields = {}
    for word in words[1:]:
        key, sep, value = word.partition("=")
        assert sep, f"not key=value: {word!r}"
        assert key in {"name", "value", "unit", "better"}, f"unknown key {key!r}"
        assert key not in fields, f"duplicate {key!r}"
        fields[key] = value
    assert "name" in fields and "value" in fields, line
    name = fields["name"]
    assert _NAME.match(name), f"bad name {name!r}"
    assert name not in _BUILTIN and not name.startswith("gpu_"), f"built-in name {name!r}"
    value = float(fields["value"])
    assert math.isfinite(value), line
    if "better" in fields:
        assert fields["better"] in {"lower", "higher"}, line
    fields["value"] = value
    return fields


@pytest.fixture
def parse_metrics():
    """Parses every non-empty line of a text, returning {name: fields}."""

    def parse(text: str) -> dict:
        out = {}
        for line in text.splitlines():
            if line.strip():
                fields = parse_metric_line(line)
                out[fields["name"]] = fields
        return out

    return parse

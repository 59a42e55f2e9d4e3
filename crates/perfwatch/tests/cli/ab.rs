//! Integration tests of `perfwatch ab` and `perfwatch compare --rev` with the real binary on
//! real child processes. No timing assertions: the machine is shared and noisy; effects are
//! made large (2–3×) so the verdicts are certain.

use std::path::Path;
use std::process::{Command, Output};

use crate::util::{describe, git, json, pw_fake};

fn perfwatch(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_perfwatch"))
        .args(args)
        .current_dir(dir)
        .env_remove("PERFWATCH_DB")
        .output()
        .unwrap()
}

fn comparison<'a>(report: &'a serde_json::Value, name: &str, metric: &str) -> &'a serde_json::Value {
    report["comparisons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name && c["metric"] == metric)
        .unwrap_or_else(|| panic!("no {name}/{metric} in {report:#}"))
}

#[test]
fn ab_reports_a_large_slowdown_as_regressed_and_stops_on_the_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let fake = pw_fake();
    let fake = fake.to_str().unwrap();
    let a = format!("{fake} spin 2000000");
    let b = format!("{fake} spin 6000000");
    let out = perfwatch(dir.path(), &["ab", &a, &b, "--max-time", "120s", "--format", "json", "--seed", "7"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let report = json(&out);
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["stopped"], "verdict", "{report:#}");
    let rounds = report["rounds"].as_u64().unwrap();
    assert!(rounds >= 10, "burn-in of 10 rounds: {rounds}");
    assert!(report["elapsed_s"].as_f64().unwrap() > 0.0);
    let wall = comparison(&report, "ab", "wall");
    assert_eq!(wall["verdict"], "regressed", "{wall:#}");
    assert!(wall["ratio"].as_f64().unwrap() > 1.3, "{wall:#}");
    assert!(wall["ci95"][0].as_f64().unwrap() > 1.01);
    assert_eq!(wall["baseline_n"].as_u64(), Some(rounds));
    // cpu and max_rss are reported beside the decision metric.
    assert!(comparison(&report, "ab", "cpu")["ratio"].as_f64().unwrap() > 1.3);
    comparison(&report, "ab", "max_rss");

    // --fail-on never: same verdict, exit 0; the table shows it.
    let out = perfwatch(dir.path(), &["ab", &a, &b, "--fail-on", "never", "--seed", "1"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("REGRESSED") || text.contains("regressed"), "{text}");
}

#[test]
fn ab_expect_speedup_is_met_at_3x_and_missed_at_6x_for_a_4x_faster_b() {
    let dir = tempfile::tempdir().unwrap();
    let fake = pw_fake();
    let fake = fake.to_str().unwrap();
    // B spins a quarter as long: a speedup near 4×, far from both 3× and 6×.
    let a = format!("{fake} spin 40000000");
    let b = format!("{fake} spin 10000000");
    let goal_of = |factor: &str, code: i32| {
        let args = ["ab", &a, &b, "--expect-speedup", factor, "--max-time", "120s", "--format", "json"];
        let out = perfwatch(dir.path(), &args);
        assert_eq!(out.status.code(), Some(code), "{factor}: {}", describe(&out));
        json(&out)["speedup_goal"].clone()
    };
    let met = goal_of("3x", 0);
    assert_eq!(met["status"], "met", "{met:#}");
    assert_eq!(met["factor"], 3.0);
    assert!(met["ci95"][0].as_f64().unwrap() >= 3.0, "{met:#}");
    let missed = goal_of("6x", 1);
    assert_eq!(missed["status"], "missed", "{missed:#}");
    assert!(missed["ci95"][1].as_f64().unwrap() < 6.0, "{missed:#}");

    // A factor that is no speedup is refused before anything runs.
    let out = perfwatch(dir.path(), &["ab", &a, &b, "--expect-speedup", "0.5x"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("greater than 1"), "{}", describe(&out));
}

#[test]
fn ab_without_a_clear_verdict_runs_to_the_budget_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let fake = pw_fake();
    let cmd = format!("{} sleep 5", fake.display());
    // No time budget at all: the 3 minimum rounds run, then measuring stops on the budget
    // (3 rounds are far too few for any interval to exclude anything).
    let out = perfwatch(
        dir.path(),
        &[
            "ab",
            &cmd,
            &cmd,
            "--max-time",
            "0s",
            "--min-rounds",
            "3",
            "--format",
            "json",
            "--fail-on",
            "never",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let report = json(&out);
    assert_eq!(report["stopped"], "budget", "{report:#}");
    assert_eq!(report["rounds"], 3);
    assert_eq!(comparison(&report, "ab", "wall")["verdict"], "inconclusive");
    // Warnings are typed objects, like caveats.
    assert_eq!(report["warnings"][0]["kind"], "budget_limited", "{report:#}");
    assert_eq!(report["warnings"][0]["rounds"], 3);
    let table = perfwatch(
        dir.path(),
        &["ab", &cmd, &cmd, "--max-time", "0s", "--min-rounds", "3", "--format", "table"],
    );
    assert!(String::from_utf8_lossy(&table.stdout).contains("budget-limited"), "{}", describe(&table));
}

#[test]
fn ab_reports_custom_metrics_and_failing_commands() {
    let dir = tempfile::tempdir().unwrap();
    let fake = pw_fake();
    let fake = fake.to_str().unwrap();
    let a = format!("{fake} metric ops=100,better=higher");
    let b = format!("{fake} metric ops=50,better=higher");
    let out =
        perfwatch(dir.path(), &["ab", &a, &b, "--max-time", "60s", "--format", "json", "--metric", "ops"]);
    let report = json(&out);
    let ops = comparison(&report, "ab", "ops");
    assert_eq!(ops["better"], "higher");
    assert!((ops["ratio"].as_f64().unwrap() - 0.5).abs() < 1e-9, "{ops:#}");
    assert_eq!(ops["verdict"], "regressed");
    assert_eq!(report["stopped"], "verdict");
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));

    // B fails: exit 3 with the reason.
    let out = perfwatch(dir.path(), &["ab", &format!("{fake} sleep 1"), &format!("{fake} fail 4")]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("status 4"), "{}", describe(&out));

    // Bad option values are usage errors.
    let out = perfwatch(dir.path(), &["ab", "true", "true", "--threshold", "1"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
}

/// A suite whose build step copies `iters.txt` to `build/iters` and counts builds in a log
/// outside the repository; the `slow` case spins for `build/iters` steps.
fn rev_repo(log: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let fake = pw_fake();
    let suite = format!(
        r#"[defaults]
warmup = 1
min_runs = 5
max_runs = 400
max_time = "60s"
threshold = "2%"

[build]
shell = "mkdir -p build && cp iters.txt build/iters && echo built >> {log}"

[[bench]]
name = "steady"
command = ["{fake}", "spin", "2000000"]

[[bench]]
name = "slow"
shell = "exec {fake} spin $(cat build/iters)"
"#,
        log = log.display(),
        fake = fake.display()
    );
    std::fs::write(dir.path().join("perfwatch.toml"), suite).unwrap();
    std::fs::write(dir.path().join("iters.txt"), "2000000\n").unwrap();
    std::fs::write(dir.path().join(".gitignore"), ".perfwatch/\nbuild/\n").unwrap();
    git(dir.path(), &["init", "-q"]);
    git(dir.path(), &["add", "."]);
    git(dir.path(), &["commit", "-q", "-m", "base"]);
    dir
}

#[test]
fn compare_rev_reports_the_slowed_case_and_caches_builds() {
    let logdir = tempfile::tempdir().unwrap();
    let log = logdir.path().join("builds.log");
    let repo = rev_repo(&log);
    let base = git(repo.path(), &["rev-parse", "HEAD"]);
    std::fs::write(repo.path().join("iters.txt"), "6000000\n").unwrap();
    git(repo.path(), &["commit", "-q", "-am", "slower"]);
    let head = git(repo.path(), &["rev-parse", "HEAD"]);

    let args = ["compare", "--rev", &base, "--rev", &head, "--format", "json"];
    let out = perfwatch(repo.path(), &args);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let report = json(&out);
    assert_eq!(comparison(&report, "slow", "wall")["verdict"], "regressed", "{report:#}");
    assert!(comparison(&report, "slow", "cpu")["ratio"].as_f64().unwrap() > 1.3);
    assert_ne!(comparison(&report, "steady", "wall")["verdict"], "regressed", "{report:#}");
    assert_eq!(report["baseline"]["commit"], base.as_str());
    assert_eq!(report["candidate"]["commit"], head.as_str());
    assert!(report["rounds"].as_u64().unwrap() >= 20);
    assert!(report["stopped"].is_string());
    assert!(repo.path().join(".perfwatch/worktrees").join(&base).join("perfwatch.toml").exists());
    assert_eq!(std::fs::read_to_string(&log).unwrap().lines().count(), 2, "one build per commit");

    // Both runs were saved with their commits.
    let db = rusqlite::Connection::open(repo.path().join(".perfwatch/history.db")).unwrap();
    let runs: i64 = db.query_row("SELECT COUNT(*) FROM runs", [], |r| r.get(0)).unwrap();
    assert_eq!(runs, 2);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("saved runs"), "{stderr}");

    // Again: the builds are cached, the verdict is the same.
    let out = perfwatch(repo.path(), &args);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert_eq!(std::fs::read_to_string(&log).unwrap().lines().count(), 2, "builds were repeated");
    assert!(String::from_utf8_lossy(&out.stderr).contains("cached"), "{}", describe(&out));

    // One --rev: the dirty work tree is the candidate, measured in place (built each time).
    std::fs::write(repo.path().join("iters.txt"), "2000000\n").unwrap();
    let out = perfwatch(repo.path(), &["compare", "--rev", &head, "-b", "slow", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let report = json(&out);
    assert_eq!(comparison(&report, "slow", "wall")["verdict"], "improved", "{report:#}");
    assert_eq!(report["comparisons"].as_array().unwrap().iter().filter(|c| c["name"] == "steady").count(), 0);
    assert_eq!(std::fs::read_to_string(&log).unwrap().lines().count(), 3);
}

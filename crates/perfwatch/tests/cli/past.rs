//! `backfill` and `bisect` on real scratch git repositories: each commit's benchmark sleeps
//! for the time in its `delay` file, builds run the commit's own `build.sh` (which can fail),
//! and every measurement is a real child process.

use std::path::Path;
use std::process::{Command, Stdio};

use super::util::{Suite, assert_schema_valid, describe, git, json, wait_for};

const SUITE: &str = r#"
[build]
shell = "sh build.sh"

[defaults]
warmup = 1
min_runs = 5
max_runs = 40
max_time = "3s"
threshold = "10%"

[[bench]]
name = "nap"
shell = "sleep $(cat delay)"
"#;

/// A repository of `n` commits `c0…c{n-1}` one day apart; commit k sleeps `delay(k)` seconds
/// and does not build when `broken(k)`. Returns the commits' hashes.
fn history(
    suite: &Suite,
    n: usize,
    delay: impl Fn(usize) -> f64,
    broken: impl Fn(usize) -> bool,
) -> Vec<String> {
    let dir = suite.dir.path();
    git(dir, &["init", "-q", "-b", "main"]);
    std::fs::write(dir.join(".gitignore"), ".perfwatch/\n").unwrap();
    let mut commits = Vec::new();
    for k in 0..n {
        std::fs::write(dir.join("delay"), format!("{}\n", delay(k))).unwrap();
        let build = if broken(k) { "echo 'syntax error' >&2; exit 1\n" } else { "exit 0\n" };
        std::fs::write(dir.join("build.sh"), build).unwrap();
        git(dir, &["add", "-A"]);
        let date = format!("2026-01-{:02}T12:00:00Z", k + 1);
        let out = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"])
            .args(["commit", "-q", "--allow-empty", "-m", &format!("c{k}")])
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", describe(&out));
        commits.push(git(dir, &["rev-parse", "HEAD"]));
    }
    commits
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn bisect_names_the_first_slower_commit_and_skips_one_that_does_not_build() {
    let suite = Suite::new(SUITE);
    // 20 ms up to c6, 40 ms from c7; c5 (the first midpoint) does not build.
    let commits = history(&suite, 12, |k| if k < 7 { 0.02 } else { 0.04 }, |k| k == 5);
    let out = suite.run(&[
        "bisect",
        "nap",
        "--good",
        &commits[0],
        "--bad",
        "main",
        "--seed",
        "3",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let doc = json(&out);
    assert_schema_valid(&doc, "bisect");
    assert_eq!(doc["outcome"], "found", "{doc:#}");
    assert_eq!(doc["first_bad"]["commit"], commits[7].as_str(), "{doc:#}");
    assert_eq!(doc["first_bad"]["subject"], "c7");
    assert_eq!(doc["last_good"]["position"], 6);
    assert_eq!(doc["commits"], 11);
    let step = &doc["step"];
    assert!(step["ratio"].as_f64().unwrap() > 1.5, "the step doubles the sleep: {step}");
    assert_eq!(step["verdict"], "regressed");
    let steps = doc["steps"].as_array().unwrap();
    let skipped: Vec<&serde_json::Value> = steps.iter().filter(|s| s["decision"] == "skipped").collect();
    assert_eq!(skipped.len(), 1, "{doc:#}");
    assert_eq!(skipped[0]["commit"]["position"], 5);
    assert!(skipped[0]["note"].as_str().unwrap().contains("syntax error"), "{doc:#}");
    // Every tested step was decided by two comparisons that agree.
    for s in steps.iter().filter(|s| s["decision"] != "skipped") {
        let (g, b) = (&s["vs_good"]["verdict"], &s["vs_bad"]["verdict"]);
        match s["decision"].as_str().unwrap() {
            "bad" => assert!(g == "regressed" || b == "unchanged", "{s}"),
            "good" => assert!(g == "unchanged" || b == "regressed", "{s}"),
            other => panic!("unexpected decision {other}: {doc:#}"),
        }
    }
    let confidence = doc["confidence"].as_f64().unwrap();
    assert!(confidence > 0.0 && confidence <= 1.0, "{confidence}");
    // Bisect stores nothing: it is an investigation, not a history.
    assert!(!suite.db().exists(), "bisect created a store");
}

#[test]
fn bisect_says_when_there_is_nothing_to_find_and_refuses_a_range_that_is_not_one() {
    let suite = Suite::new(SUITE);
    let commits = history(&suite, 4, |_| 0.02, |_| false);
    let out = suite.run(&["bisect", "nap", "--good", &commits[0], "--bad", &commits[3], "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let doc = json(&out);
    assert!(doc["outcome"] == "no_regression" || doc["outcome"] == "inconclusive", "{doc:#}");
    assert!(doc["steps"].as_array().unwrap().is_empty(), "nothing is searched: {doc:#}");

    // Good after bad is not a range.
    let out = suite.run(&["bisect", "nap", "--good", &commits[3], "--bad", &commits[0]]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(stderr(&out).contains("not a first-parent descendant"), "{}", describe(&out));
    let out = suite.run(&["bisect", "nap", "--good", "no-such-rev", "--bad", &commits[3]]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(stderr(&out).contains("--good no-such-rev: no such commit"), "{}", describe(&out));
    let out = suite.run(&["bisect", "nope", "--good", &commits[0], "--bad", &commits[3]]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(stderr(&out).contains("no case `nope`"), "{}", describe(&out));
}

/// Complete runs in the store, as (commit, started_at), in history order.
fn stored(suite: &Suite) -> Vec<(String, String)> {
    if !suite.db().exists() {
        return vec![];
    }
    let out = suite.run(&["runs", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let mut runs: Vec<(String, String)> = json(&out)["runs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "complete")
        .map(|r| {
            (r["git"]["commit"].as_str().unwrap().to_string(), r["started_at"].as_str().unwrap().to_string())
        })
        .collect();
    runs.sort_by(|a, b| a.1.cmp(&b.1));
    runs
}

#[test]
fn backfill_dates_runs_by_commit_finds_the_step_and_resumes_after_a_kill() {
    let suite = Suite::new(
        &SUITE.replace("max_time = \"3s\"", "max_time = \"0.5s\"").replace("min_runs = 5", "min_runs = 3"),
    );
    // 10 ms up to c9, 30 ms from c10; c3 does not build. (detect wants 8 points on each side
    // of a change: `min_size`.)
    let commits = history(&suite, 18, |k| if k < 10 { 0.01 } else { 0.03 }, |k| k == 3);
    let range = format!("{}..main", commits[0]);

    // Killed while measuring: what finished is kept.
    let mut child =
        suite.cmd(&["backfill", &range]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    wait_for("two backfilled runs", || (stored(&suite).len() >= 2).then_some(()));
    child.kill().unwrap();
    child.wait().unwrap();
    let before = stored(&suite).len();
    assert!((2..17).contains(&before), "{before} runs survived the kill");

    let out = suite.run(&["backfill", &range, "--skip-existing"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let log = stderr(&out);
    let todo: usize = log
        .split("backfilling ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no plan in {log}"));
    assert!(todo <= 17 - before, "the {before} stored commits are not measured again: {log}");
    let marker = suite.dir.path().join(format!(".perfwatch/worktrees/{}.build-failed", commits[3]));
    let why = std::fs::read_to_string(&marker).unwrap_or_default();
    assert!(why.contains("syntax error"), "the broken build is recorded with its output: {why:?}\n{log}");
    let runs = stored(&suite);
    let expected: Vec<&String> = commits[1..].iter().filter(|c| **c != commits[3]).collect();
    assert_eq!(
        runs.iter().map(|r| &r.0).collect::<Vec<_>>(),
        expected,
        "one run per buildable commit, in commit order"
    );
    assert!(runs[0].1.starts_with("2026-01-02T12:00:00"), "dated with the commit: {runs:?}");

    // Nothing left to do: the failed build is remembered too.
    let out = suite.run(&["backfill", &range, "--skip-existing"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(stderr(&out).contains("backfilling 0 of 17 commits"), "{}", describe(&out));
    assert_eq!(stored(&suite).len(), 16);

    // detect places the step on c10, and bisect can start from it.
    let out = suite.run(&["detect", "nap", "--metric", "wall", "--format", "json"]);
    let doc = json(&out);
    let cps = doc["series"][0]["change_points"].as_array().unwrap();
    let at: Vec<&str> = cps.iter().map(|c| c["commit"].as_str().unwrap()).collect();
    assert_eq!(at, vec![commits[10].as_str()], "{doc:#}");
    let out = suite.run(&["bisect", "nap", "--from-change-point", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let doc = json(&out);
    assert_eq!(doc["good"]["commit"], commits[9].as_str(), "{doc:#}");
    assert_eq!(doc["first_bad"]["commit"], commits[10].as_str(), "{doc:#}");
    assert_eq!(doc["outcome"], "found");
}

#[test]
fn backfill_refuses_what_is_not_a_range() {
    let suite = Suite::new(SUITE);
    let commits = history(&suite, 2, |_| 0.01, |_| false);
    for (range, message) in [
        ("main", "is not a range: expected A..B"),
        (&format!("main..{}", commits[0]) as &str, "holds no commits"),
        ("nope..main", "nope: no such commit"),
    ] {
        let out = suite.run(&["backfill", range]);
        assert_eq!(out.status.code(), Some(2), "{range}: {}", describe(&out));
        assert!(stderr(&out).contains(message), "{range}: {}", describe(&out));
    }
    let out = suite.run(&["backfill", &format!("{}..main", commits[0]), "--every", "0"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(!Path::new(&suite.db()).exists() || stored(&suite).is_empty());
}

//! The history store, baselines and `compare` end to end (real processes, real SQLite).

use std::process::Stdio;
use std::time::Duration;

use crate::util::*;

#[test]
fn eight_concurrent_writers_lose_nothing() {
    let suite = Suite::new(
        r#"
[defaults]
warmup = 0
min_runs = 1
max_runs = 1
[[bench]]
name = "tiny"
command = ["{fake}", "sleep", "1"]
"#,
    );
    let writers: Vec<_> = (0..8)
        .map(|_| {
            let config = suite.config();
            let dir = suite.dir.path().to_path_buf();
            std::thread::spawn(move || {
                for _ in 0..20 {
                    let out = std::process::Command::new(env!("CARGO_BIN_EXE_perfwatch"))
                        .args(["run", "--format", "csv", "-c"])
                        .arg(&config)
                        .current_dir(&dir)
                        .env_remove("PERFWATCH_DB")
                        .output()
                        .unwrap();
                    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
                    assert!(!String::from_utf8_lossy(&out.stderr).contains("locked"), "{}", describe(&out));
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let history = json(&suite.run(&["history", "tiny", "--format", "json"]));
    assert_eq!(history["series"][0]["points"].as_array().unwrap().len(), 160);
    assert_integrity_ok(&suite);
}

#[test]
fn kill_9_mid_run_leaves_the_store_intact_and_the_run_incomplete() {
    let suite = Suite::new(
        r#"
[defaults]
warmup = 0
min_runs = 2
max_runs = 2
[[bench]]
name = "quick"
command = ["{fake}", "sleep", "1"]
[[bench]]
name = "slow"
command = ["{fake}", "sleep", "60000"]
timeout = "120s"
"#,
    );
    let mut child = suite.cmd(&["run"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    // Wait until the first case is in the store, then kill perfwatch outright.
    // (Histories leave incomplete runs out: read the run itself.)
    let url = format!("sqlite://{}", suite.db().display());
    wait_for("the first case reaching the store", || {
        let mut store = perfwatch_store::open(&url).ok()?;
        let id = store.list_runs(&Default::default()).ok()?.first()?.id.clone();
        let stored = !store.run(&id).ok()??.benchmarks.is_empty();
        stored.then_some(())
    });
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert_integrity_ok(&suite);
    let mut store = perfwatch_store::open(&format!("sqlite://{}", suite.db().display())).unwrap();
    let runs = store.list_runs(&Default::default()).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, perfwatch_model::RunStatus::Incomplete);
    let report = store.run(&runs[0].id).unwrap().unwrap();
    assert_eq!(report.benchmarks.len(), 1, "the finished case must be kept");
    // It is kept, but a killed run is no part of any history.
    let history = suite.run(&["history", "quick", "--format", "json"]);
    assert_eq!(history.status.code(), Some(2), "{}", describe(&history));
    // The benchmark it was running must not outlive perfwatch for long (the spawner kills it
    // when its control pipe closes).
    std::thread::sleep(Duration::from_millis(500));
    let strays = processes_with(&format!("{} sleep 60000", pw_fake().display()));
    assert!(strays.is_empty(), "{strays:?}");
}

/// Issue 19, item 3: after a kill -9, `compare` took the killed run (0 cases) as the
/// candidate, printed "0 regressed, 0 improved, 0 unchanged, 0 inconclusive" and exited 0 — an
/// OOM-killed benchmark job went green.
#[test]
fn a_killed_run_is_never_judged_as_a_pass() {
    let quick = r#"
[defaults]
warmup = 0
min_runs = 2
max_runs = 2
[[bench]]
name = "quick"
command = ["{fake}", "sleep", "1"]
"#;
    let suite = Suite::new(quick);
    assert!(suite.run(&["run", "--format", "json"]).status.success());
    assert!(suite.run(&["baseline", "set", "main"]).status.success());
    // The next run hangs on its first case and is killed while measuring it.
    suite.write(&format!(
        "{quick}[[bench]]\nname = \"stuck\"\ncommand = [\"{{fake}}\", \"sleep\", \"60000\"]\ntimeout = \"120s\"\n"
    ));
    let mut child =
        suite.cmd(&["run", "-b", "stuck"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let killed_id = wait_for("the second run reaching the store", || {
        let runs = json(&suite.run(&["runs", "--format", "json"]));
        let run = runs["runs"].as_array()?.iter().find(|r| r["status"] == "incomplete")?;
        Some(run["id"].as_str().unwrap().to_string())
    });
    std::thread::sleep(Duration::from_millis(300)); // it is measuring `stuck` now
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    // The latest finished run is the baseline itself: an error, not a pass.
    let out = suite.run(&["compare", "--format", "json"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    // Named explicitly, the killed run has nothing to judge: an error too.
    let out = suite.run(&["compare", "--candidate", &killed_id, "--format", "json"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no measured case"), "{}", describe(&out));
    // And `baseline set` without a run names a finished one, not the killed one.
    assert!(suite.run(&["baseline", "set", "after"]).status.success());
    let baselines = String::from_utf8_lossy(&suite.run(&["baseline", "list"]).stdout).to_string();
    assert!(!baselines.contains(&killed_id), "{baselines}");
    // Without a baseline `main`, the next run is compared with the previous *finished* run,
    // never with the killed one in between.
    assert!(suite.run(&["baseline", "delete", "main"]).status.success());
    assert!(suite.run(&["run", "-b", "quick"]).status.success());
    let out = suite.run(&["compare", "--format", "json"]);
    assert!(out.status.success(), "{}", describe(&out));
    let baseline = json(&out)["baseline"]["run_id"].as_str().unwrap().to_string();
    assert_ne!(baseline, killed_id, "the killed run was taken as the baseline");
}

fn assert_integrity_ok(suite: &Suite) {
    let conn = rusqlite::Connection::open(suite.db()).unwrap();
    let result: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(result, "ok");
}

/// Issue 19, item 1: 3 old runs, 4 `perfwatch run` in the background, and
/// `prune --keep-last 1` while they measure: 3 of the 4 exited 2 ("no run matches") and lost
/// their measurements.
#[test]
fn prune_never_deletes_runs_still_being_measured() {
    let suite = Suite::new(
        r#"
[defaults]
warmup = 0
min_runs = 1
max_runs = 1
[[bench]]
name = "first"
command = ["{fake}", "sleep", "1"]
[[bench]]
name = "second"
command = ["{fake}", "sleep", "1500"]
"#,
    );
    for _ in 0..3 {
        assert!(suite.run(&["run", "-b", "first", "--format", "json"]).status.success());
    }
    let children: Vec<_> = (0..4)
        .map(|_| {
            suite
                .cmd(&["run", "--format", "json"])
                .stderr(Stdio::null())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    // Prune once all four have begun (they are `incomplete` while measuring `second`).
    wait_for("all four runs beginning", || {
        let runs = json(&suite.run(&["runs", "--format", "json"]));
        let live = runs["runs"].as_array().unwrap().iter().filter(|r| r["status"] == "incomplete").count();
        (live == 4).then_some(())
    });
    let out = suite.run(&["prune", "--keep-last", "1"]);
    assert!(out.status.success(), "{}", describe(&out));
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "a run lost its store: {}", describe(&out));
        let id = json(&out)["run"]["id"].as_str().unwrap().to_string();
        let stored = json(&suite.run(&["show", &id, "--format", "json"]));
        assert_eq!(stored["run"]["status"], "complete", "{stored:#}");
        assert_eq!(stored["benchmarks"].as_array().unwrap().len(), 2, "{stored:#}");
    }
}

#[test]
fn prune_keeps_baselines_and_the_newest_runs() {
    let suite = Suite::new(
        r#"
[defaults]
warmup = 0
min_runs = 1
max_runs = 1
[[bench]]
name = "tiny"
command = ["{fake}", "sleep", "1"]
"#,
    );
    for _ in 0..4 {
        let out = suite.run(&["run", "--format", "csv"]);
        assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
        if !suite.db().exists() {
            panic!("no store");
        }
    }
    let points = |suite: &Suite| {
        json(&suite.run(&["history", "tiny", "--format", "json"]))["series"][0]["points"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["run_id"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let before = points(&suite);
    assert_eq!(before.len(), 4);
    let out = suite.run(&["baseline", "set", "main", &before[0]]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let out = suite.run(&["prune", "--keep-last", "1"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert_eq!(
        points(&suite),
        vec![before[0].clone(), before[3].clone()],
        "baseline run and newest run stay"
    );
    // Usage errors are exit 2 with a message.
    let out = suite.run(&["prune"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let out = suite.run(&["prune", "--older-than", "soon"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--older-than"), "{}", describe(&out));
}

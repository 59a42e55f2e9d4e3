//! `perfwatch run`, `check` and `init` end to end.

use std::time::{Duration, Instant};

use crate::util::*;

#[test]
fn example_suite_shipped_in_the_repo_runs_and_saves() {
    // Copy the example so its data files and store land in a temp dir, not the checkout.
    let src = repo_root().join("examples/quickstart/perfwatch.toml");
    let suite = Suite::new(&std::fs::read_to_string(src).unwrap());
    let out = suite.run(&["run", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let doc = json(&out);
    let names: Vec<String> = doc["benchmarks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| format!("{}{}", b["name"].as_str().unwrap(), b["params"]))
        .collect();
    assert_eq!(names.len(), 6, "{names:?}");
    for b in doc["benchmarks"].as_array().unwrap() {
        assert_eq!(b["status"], "ok", "{b}");
        assert!(b["metrics"]["wall"]["median"].as_f64().unwrap() > 0.0);
    }
    let cache = doc["benchmarks"].as_array().unwrap().iter().find(|b| b["name"] == "cache").unwrap();
    assert_eq!(cache["metrics"]["cache_hit_rate"]["median"], 0.95);
    assert_eq!(cache["metrics"]["cache_hit_rate"]["better"], "higher");
    let sort = doc["benchmarks"].as_array().unwrap().iter().find(|b| b["name"] == "sort").unwrap();
    assert!(sort["metrics"]["throughput"]["median"].as_f64().unwrap() > 0.0);
    assert!(suite.db().exists(), "the run was not saved to {}", suite.db().display());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let id = doc["run"]["id"].as_str().unwrap();
    assert!(stderr.contains(id), "run id not printed on stderr: {stderr}");
}

#[test]
fn json_output_matches_the_committed_schema() {
    let suite = Suite::new(
        r#"
[defaults]
min_runs = 3
max_runs = 3
[[bench]]
name = "metrics"
command = ["{fake}", "metric", "hits=0.9,unit=ratio,better=higher", "ops=1200"]
[[bench]]
name = "bad"
command = ["{fake}", "fail", "4"]
"#,
    );
    let out = suite.run(&["run", "--format", "json", "--no-save"]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let doc = json(&out);
    assert_schema_valid(&doc, "run");
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["benchmarks"][0]["metrics"]["hits"]["median"], 0.9);
    assert!(!suite.db().exists(), "--no-save still wrote a store");
}

#[test]
fn failing_hanging_and_good_benches_are_all_reported_and_exit_3() {
    let suite = Suite::new(
        r#"
[defaults]
warmup = 0
min_runs = 3
max_runs = 3
timeout = "1s"
[[bench]]
name = "failing"
command = ["{fake}", "fail", "7"]
[[bench]]
name = "hanging"
command = ["{fake}", "hang"]
[[bench]]
name = "good"
command = ["{fake}", "sleep", "5"]
"#,
    );
    let start = Instant::now();
    let out = suite.run(&["run", "--format", "json"]);
    assert!(start.elapsed() < Duration::from_secs(30), "the hanging bench was not cut off");
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let doc = json(&out);
    let status = |name: &str| {
        let b = doc["benchmarks"].as_array().unwrap().iter().find(|b| b["name"] == name).unwrap().clone();
        (b["status"].as_str().unwrap().to_string(), b)
    };
    let (s, failing) = status("failing");
    assert_eq!(s, "failed");
    assert!(failing["failure"]["message"].as_str().unwrap().contains('7'), "{failing}");
    assert!(!failing["failure"]["stderr_tail"].as_str().unwrap().is_empty(), "{failing}");
    assert_eq!(status("hanging").0, "timeout");
    let (s, good) = status("good");
    assert_eq!(s, "ok");
    assert_eq!(good["runs"], 3);
    // The hanging bench and the child it forked must be gone.
    std::thread::sleep(Duration::from_millis(200));
    let fake = pw_fake();
    let strays = processes_with(&format!("{} hang", fake.display()));
    assert!(strays.is_empty(), "stray processes left behind: {strays:?}");
    // The table format names the failures with their stderr too.
    let out = suite.run(&["run", "--no-save", "-b", "failing"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("failing") && text.contains("status 7"), "{}", describe(&out));
}

#[test]
fn malformed_suite_is_a_located_error_with_exit_2() {
    let suite = Suite::new("[[bench]]\nname = \"x\"\ncomand = [\"true\"]\n");
    let out = suite.run(&["run"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("perfwatch.toml:3:1"), "no file:line:column in {err}");
    assert!(err.contains("command"), "no near-miss hint in {err}");
    let out = suite.run(&["check"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
}

#[test]
fn init_writes_a_suite_that_check_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_perfwatch");
    let out = std::process::Command::new(bin).arg("init").current_dir(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let out = std::process::Command::new(bin).arg("check").current_dir(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("cases"));
    // A second init refuses to overwrite.
    let out = std::process::Command::new(bin).arg("init").current_dir(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
}

#[test]
fn caveats_appear_in_every_format() {
    let suite = Suite::new(
        r#"
[defaults]
warmup = 0
min_runs = 2
max_runs = 2
[[bench]]
name = "few"
command = ["{fake}", "sleep", "1"]
"#,
    );
    for (format, needle) in
        [("json", "few_runs"), ("table", "only 2 runs"), ("markdown", "only 2 runs"), ("csv", "only 2 runs")]
    {
        let out = suite.run(&["run", "--no-save", "--format", format]);
        assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(needle), "{format} output lacks the caveat {needle:?}:\n{text}");
    }
}

#[test]
fn output_file_and_show_output() {
    let suite = Suite::new(
        r#"
[defaults]
warmup = 0
min_runs = 1
max_runs = 1
[[bench]]
name = "talk"
shell = "echo hello-from-bench"
"#,
    );
    let out = suite.run(&["run", "--no-save", "--format", "csv", "-o", "out.csv"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let csv = std::fs::read_to_string(suite.dir.path().join("out.csv")).unwrap();
    assert!(csv.starts_with("run_id,name,params,status,metric"), "{csv}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("hello-from-bench"));
    let out = suite.run(&["run", "--no-save", "--show-output"]);
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(all.contains("hello-from-bench"), "{}", describe(&out));
}

#[test]
fn ctrl_c_stops_after_the_current_run_and_keeps_what_was_measured() {
    let suite = Suite::new(
        r#"
[defaults]
warmup = 0
min_runs = 4
max_runs = 4
precision = "0%"
[[bench]]
name = "first"
command = ["{fake}", "sleep", "10"]
[[bench]]
name = "second"
command = ["{fake}", "sleep", "400"]
[[bench]]
name = "third"
command = ["{fake}", "sleep", "10"]
"#,
    );
    let child = suite.cmd(&["run", "--format", "json"]).stdout(std::process::Stdio::piped()).spawn().unwrap();
    // "second" needs 1.6 s; interrupt in its middle.
    std::thread::sleep(Duration::from_millis(1200));
    // SAFETY: plain kill(2) on a child we own.
    unsafe { libc_kill(child.id() as i32, 2) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", describe(&out));
    let doc = json(&out);
    assert_eq!(doc["run"]["status"], "interrupted");
    let names: Vec<&str> =
        doc["benchmarks"].as_array().unwrap().iter().map(|b| b["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["first", "second"], "third must not have started");
    assert_eq!(doc["benchmarks"][0]["runs"], 4);
    let second_runs = doc["benchmarks"][1]["runs"].as_u64().unwrap();
    assert!((1..4).contains(&second_runs), "second should be cut short, got {second_runs} runs");
    // The store agrees: both measured cases saved, the run marked interrupted.
    let mut store = perfwatch_store::open(&format!("sqlite://{}", suite.db().display())).unwrap();
    let saved = store.run(doc["run"]["id"].as_str().unwrap()).unwrap().unwrap();
    assert_eq!(saved.run.status, perfwatch_model::RunStatus::Interrupted);
    assert_eq!(saved.benchmarks.len(), 2);
}

unsafe extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

/// Issue 19, item 4: `value=1.7976931348623157e308` made the mean infinite, JSON wrote `null`,
/// and the report broke its own schema (and the team server refused it for good).
#[test]
fn a_metric_near_the_largest_float_keeps_the_report_finite_and_valid() {
    let suite = Suite::new(
        r#"
[defaults]
warmup = 0
min_runs = 3
max_runs = 3
[[bench]]
name = "huge"
command = ["{fake}", "metric", "huge=1.7976931348623157e308"]
"#,
    );
    let out = suite.run(&["run", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let doc = json(&out);
    assert_schema_valid(&doc, "run");
    let huge = &doc["benchmarks"][0]["metrics"]["huge"];
    assert_eq!(huge["mean"].as_f64(), Some(f64::MAX), "{huge:#}");
    assert_eq!(huge["stddev"].as_f64(), Some(0.0), "{huge:#}");
    // The stored run reads back whole.
    let out = suite.run(&["show", doc["run"]["id"].as_str().unwrap(), "--format", "json"]);
    assert_eq!(json(&out)["benchmarks"][0]["metrics"]["huge"]["mean"].as_f64(), Some(f64::MAX));
}

/// Issue 19, item 7: a benchmark that double-forks with `setsid` left its daemon running, also
/// after a timeout. Runs now kill what they leave outside their process group and say so; a
/// server that `setup` starts lives until `cleanup`.
#[test]
fn daemons_left_by_runs_are_killed_and_reported_but_setup_servers_live() {
    let suite = Suite::new(
        &r#"
[defaults]
warmup = 0
min_runs = 3
max_runs = 3
timeout = "1s"
[[bench]]
name = "daemonizes"
setup = "setsid sleep 600.5678 </dev/null >/dev/null 2>&1 & echo $! > server.pid; SETTLED"
shell = "kill -0 $(cat server.pid) || exit 7; setsid sleep 600.1234 </dev/null >/dev/null 2>&1 & SETTLED"
cleanup = "kill $(cat server.pid)"
[[bench]]
name = "hangs"
min_runs = 1
max_runs = 1
shell = "setsid sleep 600.4321 </dev/null >/dev/null 2>&1 & SETTLED sleep 30"
"#
        // A command that returns right after `cmd &` races its child: until the child has
        // called setsid() it is still in the command's process group, which perfwatch kills
        // when the command ends. Each command waits until its child leads its own session
        // (field 6 of /proc/PID/stat), so what is left behind is exactly one daemon per run.
        .replace(
            "SETTLED",
            r#"pid=$!; while [ \"$(cut -d' ' -f6 /proc/$pid/stat)\" != \"$pid\" ]; do :; done;"#,
        ),
    );
    let out = suite.run(&["run", "--format", "json"]);
    assert_eq!(out.status.code(), Some(3), "the `hangs` case times out: {}", describe(&out));
    let doc = json(&out);
    let leftovers = |case: usize| {
        doc["benchmarks"][case]["caveats"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["kind"] == "leftover_processes")
            .map(|c| c["killed"].as_u64().unwrap())
    };
    // The setup server was alive in every run (or a run would have exited 7).
    assert_eq!(doc["benchmarks"][0]["status"], "ok", "{doc:#}");
    assert_eq!(leftovers(0), Some(3), "{doc:#}");
    assert_eq!(doc["benchmarks"][1]["status"], "timeout", "{doc:#}");
    assert_eq!(leftovers(1), Some(1), "{doc:#}");
    std::thread::sleep(Duration::from_millis(200));
    for marker in ["sleep 600.1234", "sleep 600.4321", "sleep 600.5678"] {
        let strays = processes_with(marker);
        assert!(strays.is_empty(), "{marker} outlived the run: {strays:?}");
    }
}

/// Benchmarks get a private metrics file; where the temporary directory cannot hold one, the
/// run still happens without it, and printed metric lines still count.
#[test]
fn metrics_file_lines_count_and_a_missing_temp_dir_only_unsets_the_variable() {
    let suite = Suite::new(
        r#"
[defaults]
warmup = 0
min_runs = 2
max_runs = 2
[[bench]]
name = "file"
shell = "echo 'perfwatch-metric name=ops value=7 unit=count better=higher' >> \"$PERFWATCH_METRICS_FILE\""
[[bench]]
name = "printed"
shell = "test -z \"$PERFWATCH_METRICS_FILE\" && echo 'perfwatch-metric name=ops value=3 unit=count better=higher'"
"#,
    );
    let out = suite.run(&["run", "--format", "json", "--no-save", "-b", "file"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert_eq!(json(&out)["benchmarks"][0]["metrics"]["ops"]["median"], 7.0);
    let out = suite
        .cmd(&["run", "--format", "json", "--no-save", "-b", "printed"])
        .env("TMPDIR", suite.dir.path().join("no/such/dir"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert_eq!(json(&out)["benchmarks"][0]["metrics"]["ops"]["median"], 3.0);
}

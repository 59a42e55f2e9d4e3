//! The exit-code table of design §6, plus the two codes the README adds (4: measured but not
//! saved; 130: Ctrl-C), each row produced by a real scenario on real processes and stores.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::team_util::perfwatch;
#[cfg(feature = "postgres")]
use crate::team_util::{PgSchema, pg_base_url};
use crate::util::*;

/// Two quick benches; `extra` adds keys to the second.
fn suite(first_command: &str, extra: &str) -> Suite {
    Suite::new(&format!(
        r#"
[defaults]
warmup = 0
min_runs = 2
max_runs = 2
precision = "0%"
[[bench]]
name = "first"
{first_command}
[[bench]]
name = "second"
command = ["{{fake}}", "sleep", "5"]
{extra}
"#
    ))
}

#[test]
fn exit_0_when_nothing_failed() {
    let s = suite(r#"command = ["{fake}", "sleep", "5"]"#, "");
    let out = s.run(&["run", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert_eq!(json(&out)["run"]["status"], "complete");
}

#[test]
fn exit_1_when_a_budget_is_breached() {
    let s = suite(r#"command = ["{fake}", "sleep", "5"]"#, r#"budgets = ["wall.max < 1ms"]"#);
    let out = s.run(&["run", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert_eq!(json(&out)["budgets"][0]["status"], "fail");
}

#[test]
fn exit_2_for_a_bad_suite_with_nothing_measured_or_created() {
    let s = suite(r#"comand = ["{fake}", "sleep", "5"]"#, "");
    let out = s.run(&["run"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("perfwatch.toml:9:1"), "{}", describe(&out));
    assert!(!s.db().exists(), "no store was created");
    // A bad option value is a usage error too, before anything runs.
    let out = perfwatch().args(["ab", "true", "true", "--max-time", "soon"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--max-time"), "{}", describe(&out));
}

#[test]
fn exit_3_when_a_run_fails_and_it_outranks_a_breached_budget() {
    let s = suite(r#"command = ["{fake}", "fail", "7"]"#, r#"budgets = ["wall.max < 1ms"]"#);
    let out = s.run(&["run", "--format", "json"]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let doc = json(&out);
    assert_eq!(doc["benchmarks"][0]["status"], "failed");
    assert_eq!(doc["benchmarks"][1]["runs"], 2, "the rest was measured");
    let mut store = perfwatch_store::open(&format!("sqlite://{}", s.db().display())).unwrap();
    let saved = store.run(doc["run"]["id"].as_str().unwrap()).unwrap().unwrap();
    assert_eq!(saved.benchmarks.len(), 2, "and saved");
}

/// The first benchmark drops the store's table of summaries (a database that fails under
/// perfwatch's feet): the measurements are still printed, the exit code says they were not
/// saved, and the run is not passed off as complete.
#[cfg(feature = "postgres")]
#[test]
fn exit_4_when_the_store_fails_after_measuring() {
    let pg = PgSchema::new();
    let schema = pg.url().rsplit_once("schema=").unwrap().1.to_string();
    let drop = format!(
        r#"shell = "psql -q '{}' -c 'DROP TABLE IF EXISTS \"{schema}\".summaries CASCADE'""#,
        pg_base_url()
    );
    let s = suite(&drop, "");
    let out = s.run(&["run", "--format", "json", "--db", &pg.url()]);
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
    let doc = json(&out);
    assert_eq!(doc["benchmarks"].as_array().unwrap().len(), 2, "every measurement is in the output");
    assert_eq!(doc["benchmarks"][1]["metrics"]["wall"]["n"], 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("not saved"), "{}", describe(&out));
    let mut db = postgres::Client::connect(&pg_base_url(), postgres::NoTls).unwrap();
    let status: String = db.query_one(&format!(r#"SELECT status FROM "{schema}".runs"#), &[]).unwrap().get(0);
    assert_eq!(status, "incomplete", "never marked complete");
}

#[test]
fn exit_130_when_ctrl_c_stops_an_ab_comparison() {
    let fake = pw_fake();
    let cmd = format!("{} sleep 100", fake.display());
    let mut c = perfwatch();
    c.args(["ab", &cmd, &cmd, "--max-time", "60s", "--format", "json"]);
    let child = c.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let start = Instant::now();
    std::thread::sleep(Duration::from_millis(1500));
    // SAFETY: plain kill(2) on a child we own.
    unsafe { libc_kill(child.id() as i32, 2) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", describe(&out));
    assert!(start.elapsed() < Duration::from_secs(30), "it stopped after the current run");
    let doc = json(&out);
    assert_eq!(doc["stopped"], "interrupted");
    assert!(doc["rounds"].as_u64().unwrap() >= 1, "what was measured is reported");
}

unsafe extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

/// Issue 19, item 2, on a real full disk: the store lives on a 220 KiB tmpfs (mounted in a
/// private mount namespace) that fills while the run saves its 12 cases. Exit 4; the `-o`
/// file, on another disk, holds every case; the stored run stays `incomplete` with the cases
/// that fit. (`bench/diskfull/run.sh` repeats this at 20 sizes.)
#[test]
fn exit_4_and_every_measurement_kept_when_the_disk_fills_mid_run() {
    let s = Suite::new(
        "[defaults]\nwarmup = 0\nmin_runs = 10\nmax_runs = 10\n[[bench]]\nname = \"case\"\n\
         shell = \"for m in a b c d e f g h; do echo perfwatch-metric name=$m value=1 unit=count better=lower; done\"\n\
         params = { i = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] }\n",
    );
    let out_dir = tempfile::tempdir().unwrap();
    let (dir, output) = (s.dir.path().display().to_string(), out_dir.path().join("run.json"));
    let pw = env!("CARGO_BIN_EXE_perfwatch");
    let script = format!(
        "mkdir -p '{dir}/.perfwatch' && mount -t tmpfs -o size=220k tmpfs '{dir}/.perfwatch' && cd '{dir}' && \
         '{pw}' run -q -o '{}' > /dev/null; echo \"exit=$?\"; '{pw}' runs --format json",
        output.display()
    );
    let out = std::process::Command::new("unshare").args(["-m", "sh", "-c", &script]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("exit=4\n"), "{}", describe(&out));
    let runs: serde_json::Value = serde_json::from_str(&text["exit=4\n".len()..]).unwrap();
    assert_eq!(runs["runs"][0]["status"], "incomplete", "{runs}");
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&output).unwrap()).unwrap();
    let cases = doc["benchmarks"].as_array().unwrap();
    assert_eq!(cases.len(), 12);
    let whole = cases.iter().filter(|c| c["runs"] == 10 && c["metrics"]["h"]["n"] == 10).count();
    assert_eq!(whole, 12, "cases with all 10 runs and their custom metric in the -o file");
}

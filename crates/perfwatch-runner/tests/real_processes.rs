//! Real child processes through the real spawner helper.
//!
//! `harness = false`: this binary is also the spawner helper (it dispatches the hidden
//! argument first, like the perfwatch CLI does), so `SpawnerExecutor::start()` works here.
//! Tests run one after another: they measure time and memory, and parallel tests would
//! disturb each other.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use perfwatch_model::{CaseId, CasePlan, CaseStatus, CommandSpec, ExitKind, Plan, RunSettings};
use perfwatch_runner::{
    Event, ExecOutcome, ExecRequest, Executor, RunOptions, SPAWNER_ARG, SpawnerExecutor, Stream, SuiteEnd,
    run_plan,
};

const MIB: u64 = 1 << 20;

type Test = (&'static str, fn());

fn main() {
    perfwatch_runner::run_spawner_if_requested();
    let tests: &[Test] = &[
        ("peak_memory_of_alloc_100", peak_memory_of_alloc_100),
        ("peak_memory_of_grandchildren", peak_memory_of_grandchildren),
        ("sleep_50_timing_direct_and_shell", sleep_50_timing_direct_and_shell),
        ("timeout_kills_whole_group", timeout_kills_whole_group),
        ("failing_and_crashing_commands", failing_and_crashing_commands),
        ("spawn_failures_have_clear_messages", spawn_failures_have_clear_messages),
        ("spam_does_not_deadlock", spam_does_not_deadlock),
        ("forwarded_output_cwd_and_env", forwarded_output_cwd_and_env),
        ("metric_lines_are_collected", metric_lines_are_collected),
        ("metrics_file_lines_are_collected", metrics_file_lines_are_collected),
        ("run_plan_with_real_processes", run_plan_with_real_processes),
        ("closing_control_pipe_kills_benchmark", closing_control_pipe_kills_benchmark),
        // Last: it grows this process by 300 MiB for good.
        ("peak_memory_not_inherited_from_big_parent", peak_memory_not_inherited_from_big_parent),
    ];
    let filter: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let mut failed = Vec::new();
    let mut ran = 0;
    for (name, test) in tests {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        ran += 1;
        let start = Instant::now();
        let result = std::panic::catch_unwind(AssertUnwindSafe(test));
        let status = if result.is_ok() { "ok" } else { "FAILED" };
        println!("test {name} ... {status} ({:.1}s)", start.elapsed().as_secs_f64());
        if result.is_err() {
            failed.push(*name);
        }
    }
    println!("\n{} passed; {} failed", ran - failed.len(), failed.len());
    if !failed.is_empty() {
        println!("failures: {failed:?}");
        std::process::exit(1);
    }
}

// ------------------------------------------------------------------------------------------
// Helpers

/// The `pw-fake` binary: `$PW_FAKE`, else freshly built by cargo into a target directory of
/// its own (a nested build in the outer target directory would wait on the outer cargo's
/// lock), else the one beside this test binary (present after `cargo test --workspace`).
fn pw_fake() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        if let Some(p) = std::env::var_os("PW_FAKE") {
            return PathBuf::from(p);
        }
        let exe = std::env::current_exe().expect("own path");
        let profile_dir = exe.parent().and_then(Path::parent).expect("target/<profile>/deps");
        let sibling = profile_dir.join("pw-fake");
        let target_root = profile_dir.parent().expect("target dir");
        let build_dir = target_root.join("pw-fake-build");
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../perfwatch-testkit/Cargo.toml");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let built = Command::new(cargo)
            .args(["build", "--quiet", "--bin", "pw-fake", "--manifest-path"])
            .arg(&manifest)
            .env("CARGO_TARGET_DIR", &build_dir)
            .status()
            .is_ok_and(|s| s.success());
        let fresh = build_dir.join("debug").join("pw-fake");
        if built && fresh.exists() {
            fresh
        } else if sibling.exists() {
            eprintln!("note: using {} (could not build pw-fake)", sibling.display());
            sibling
        } else {
            panic!("pw-fake not found; run `cargo build -p perfwatch-testkit` or set PW_FAKE");
        }
    })
}

fn fake(args: &[&str]) -> Vec<String> {
    let mut argv = vec![pw_fake().display().to_string()];
    argv.extend(args.iter().map(|s| s.to_string()));
    argv
}

fn req(argv: Vec<String>) -> ExecRequest {
    ExecRequest {
        argv,
        cwd: std::env::temp_dir(),
        env: BTreeMap::new(),
        timeout: Some(Duration::from_secs(60)),
        forward_output: false,
        kill_leftovers: true,
        metrics_file: true,
        gpu_interval: None,
    }
}

fn spawner() -> SpawnerExecutor {
    SpawnerExecutor::start().expect("spawner starts")
}

fn run(ex: &mut SpawnerExecutor, r: &ExecRequest) -> ExecOutcome {
    ex.execute(r, &mut |_, _| {}).expect("executor works")
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / MIB as f64
}

/// Whether `pid` is gone (or only a zombie waiting for init to reap it).
fn process_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // The state is the first field after the parenthesised command name.
        Ok(stat) => stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

fn wait_gone(pid: u32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        if process_gone(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn metric_value(outcome: &ExecOutcome, name: &str) -> Option<f64> {
    outcome.metric_lines.iter().find_map(|l| {
        let m = perfwatch_runner::parse_metric_line(&l.text).ok()?;
        (m.name == name).then_some(m.value)
    })
}

// ------------------------------------------------------------------------------------------
// Tests

fn peak_memory_of_alloc_100() {
    let mut ex = spawner();
    for _ in 0..3 {
        let o = run(&mut ex, &req(fake(&["alloc", "100"])));
        assert_eq!(o.exit, ExitKind::Exited { code: 0 });
        println!("  alloc 100: max_rss = {:.1} MiB", mib(o.max_rss));
        assert!((100 * MIB..=110 * MIB).contains(&o.max_rss), "max_rss {:.1} MiB", mib(o.max_rss));
    }
}

fn peak_memory_of_grandchildren() {
    let mut ex = spawner();
    // `; true` keeps sh from exec'ing pw-fake in place: pw-fake is a child of sh.
    let script = format!("{} alloc 100; true", pw_fake().display());
    let o = run(&mut ex, &req(CommandSpec::Shell(script).to_argv()));
    assert!(o.exit.is_success());
    println!("  sh -c 'alloc 100; true': max_rss = {:.1} MiB", mib(o.max_rss));
    assert!(o.max_rss >= 100 * MIB, "max_rss {:.1} MiB", mib(o.max_rss));

    let o = run(&mut ex, &req(fake(&["fork-alloc", "100"])));
    assert!(o.exit.is_success());
    println!("  fork-alloc 100: max_rss = {:.1} MiB", mib(o.max_rss));
    assert!(o.max_rss >= 100 * MIB, "max_rss {:.1} MiB", mib(o.max_rss));
}

fn peak_memory_not_inherited_from_big_parent() {
    // Started while this process is still small, as the CLI does.
    let mut early = spawner();
    let big = touch_mib(300);
    let rss = self_rss();
    println!("  test process now holds {:.0} MiB resident", mib(rss));
    assert!(rss >= 300 * MIB);
    // Started after growing: the helper is a fresh image, so it is small either way.
    let mut late = spawner();
    let small = req(fake(&["sleep", "1"]));
    for (what, ex) in [("early", &mut early), ("late", &mut late)] {
        let o = run(ex, &small);
        println!("  pw-fake sleep 1 via {what} spawner: max_rss = {:.2} MiB", mib(o.max_rss));
        assert!(o.exit.is_success());
        assert!(o.max_rss < 10 * MIB, "{what}: max_rss {:.1} MiB", mib(o.max_rss));
    }
    // Contrast: the same program spawned straight from this big process is charged our peak.
    // This proves the test above can fail.
    // Reaped by wait4_maxrss below, which std cannot see.
    #[allow(clippy::zombie_processes)]
    let child = Command::new(pw_fake()).args(["sleep", "1"]).spawn().expect("spawn");
    let direct = wait4_maxrss(child.id() as libc::pid_t);
    println!("  pw-fake sleep 1 spawned directly from the big process: max_rss = {:.1} MiB", mib(direct));
    assert!(direct >= 300 * MIB, "direct spawn max_rss {:.1} MiB", mib(direct));
    std::hint::black_box(&big);
}

fn touch_mib(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n << 20];
    for i in (0..v.len()).step_by(4096) {
        v[i] = 1;
    }
    std::hint::black_box(v)
}

fn self_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}

/// Reaps `pid` and returns its `ru_maxrss` in bytes.
fn wait4_maxrss(pid: libc::pid_t) -> u64 {
    let mut status = 0;
    // SAFETY: rusage is plain old data; all-zero bytes are a valid value.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `status` and `ru` are valid and writable for the duration of the call.
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    assert_eq!(rc, pid, "wait4 failed");
    ru.ru_maxrss as u64 * 1024
}

fn sleep_50_timing_direct_and_shell() {
    let mut ex = spawner();
    let direct = req(fake(&["sleep", "50"]));
    let shell = req(CommandSpec::Shell(format!("{} sleep 50", pw_fake().display())).to_argv());
    run(&mut ex, &direct); // warm-up: page cache, dynamic loader
    run(&mut ex, &shell);
    let (mut d, mut s) = (Vec::new(), Vec::new());
    // Interleaved so that machine-wide drift hits both alike.
    for _ in 0..15 {
        let o = run(&mut ex, &direct);
        assert!(o.exit.is_success());
        d.push(o.wall);
        let o = run(&mut ex, &shell);
        assert!(o.exit.is_success());
        s.push(o.wall);
    }
    let (md, ms) = (median(d), median(s));
    println!("  sleep 50: direct median {:.3} ms, via sh -c {:.3} ms", md * 1e3, ms * 1e3);
    assert!((0.050..=0.053).contains(&md), "direct median {:.3} ms", md * 1e3);
    assert!(ms >= md, "shell median {:.3} ms below direct {:.3} ms", ms * 1e3, md * 1e3);
}

fn timeout_kills_whole_group() {
    let mut ex = spawner();
    let mut r = req(fake(&["hang"]));
    r.timeout = Some(Duration::from_secs(1));
    let o = run(&mut ex, &r);
    println!("  hang with 1 s timeout: wall {:.3} s, exit {:?}", o.wall, o.exit);
    assert_eq!(o.exit, ExitKind::TimedOut);
    assert!((1.0..5.0).contains(&o.wall), "wall {}", o.wall);
    let grandchild = metric_value(&o, "hang_child_pid").expect("hang reports its child's pid") as u32;
    assert!(wait_gone(grandchild), "grandchild {grandchild} survived the timeout");
    assert!(o.stderr_tail.contains("hanging"), "stderr tail: {:?}", o.stderr_tail);
}

fn failing_and_crashing_commands() {
    let mut ex = spawner();
    let o = run(&mut ex, &req(fake(&["fail", "3"])));
    assert_eq!(o.exit, ExitKind::Exited { code: 3 });
    assert!(o.stderr_tail.contains("error line 2 of 3"), "{:?}", o.stderr_tail);
    assert!(o.stderr_tail.ends_with("pw-fake: failing with status 3"), "{:?}", o.stderr_tail);
    assert!(!o.stderr_tail.contains("stdout"), "stdout leaked into the stderr tail");

    let o = run(&mut ex, &req(fake(&["crash"])));
    assert_eq!(o.exit, ExitKind::Signaled { signal: libc::SIGABRT });
    let o = run(&mut ex, &req(fake(&["crash", "segv"])));
    assert_eq!(o.exit, ExitKind::Signaled { signal: libc::SIGSEGV });
    assert!(o.stderr_tail.contains("SIGSEGV"));
}

fn spawn_failures_have_clear_messages() {
    let mut ex = spawner();
    let failed = |o: ExecOutcome| match o.exit {
        ExitKind::SpawnFailed { message } => message,
        other => panic!("expected SpawnFailed, got {other:?}"),
    };
    let msg = failed(run(&mut ex, &req(vec!["perfwatch-no-such-command-xyz".into(), "a".into()])));
    assert_eq!(msg, "command not found: perfwatch-no-such-command-xyz");

    let msg = failed(run(&mut ex, &req(vec!["/nonexistent/dir/tool".into()])));
    assert_eq!(msg, "no such file: /nonexistent/dir/tool");

    let dir = tempfile::tempdir().expect("tempdir");
    let script = dir.path().join("not-executable.sh");
    std::fs::write(&script, "#!/bin/sh\n").expect("write");
    let msg = failed(run(&mut ex, &req(vec![script.display().to_string()])));
    assert!(msg.starts_with("permission denied: "), "{msg}");

    let mut r = req(fake(&["sleep", "1"]));
    r.cwd = dir.path().join("missing");
    let msg = failed(run(&mut ex, &r));
    assert!(msg.starts_with("working directory does not exist"), "{msg}");

    // The helper carries on after failures.
    assert!(run(&mut ex, &req(fake(&["sleep", "1"]))).exit.is_success());
}

fn spam_does_not_deadlock() {
    let mut ex = spawner();
    let o = run(&mut ex, &req(fake(&["spam", "30000000"])));
    assert!(o.exit.is_success(), "{:?}", o.exit);
    assert!(o.stderr_tail.len() <= 4096);

    // With forwarding every byte arrives, in order per stream.
    let mut r = req(fake(&["spam", "1000000"]));
    r.forward_output = true;
    let (mut out, mut err) = (0usize, 0usize);
    let o = ex
        .execute(&r, &mut |stream, data| match stream {
            Stream::Stdout => out += data.len(),
            Stream::Stderr => err += data.len(),
            Stream::MetricsFile => panic!("a metrics file is never forwarded"),
        })
        .expect("executor works");
    assert!(o.exit.is_success());
    assert_eq!((out, err), (1_000_000, 1_000_000));
}

fn forwarded_output_cwd_and_env() {
    let mut ex = spawner();
    let dir = tempfile::tempdir().expect("tempdir");
    let cwd = dir.path().canonicalize().expect("canonical");
    let mut r = req(CommandSpec::Shell("pwd; echo \"foo=$PW_TEST_FOO\"; echo err >&2".into()).to_argv());
    r.cwd = cwd.clone();
    r.env.insert("PW_TEST_FOO".into(), "bar baz".into());
    r.forward_output = true;
    let mut stdout = Vec::new();
    let o = ex
        .execute(&r, &mut |stream, data| {
            if stream == Stream::Stdout {
                stdout.extend_from_slice(data)
            }
        })
        .expect("executor works");
    assert!(o.exit.is_success());
    assert_eq!(String::from_utf8_lossy(&stdout), format!("{}\nfoo=bar baz\n", cwd.display()));
    assert_eq!(o.stderr_tail, "err");
}

fn metric_lines_are_collected() {
    let mut ex = spawner();
    let o = run(&mut ex, &req(fake(&["metric", "hits=0.967,unit=ratio,better=higher", "ops=5350455"])));
    assert!(o.exit.is_success());
    let got: Vec<(Stream, u64, &str)> =
        o.metric_lines.iter().map(|l| (l.stream, l.line_no, l.text.as_str())).collect();
    assert_eq!(
        got,
        [
            (Stream::Stdout, 2, "perfwatch-metric name=hits value=0.967 unit=ratio better=higher"),
            (Stream::Stdout, 3, "perfwatch-metric name=ops value=5350455"),
        ]
    );
    // Lines on stderr count too, numbered within stderr.
    let script =
        "echo a >&2; echo 'perfwatch-metric name=x value=2' >&2; echo 'perfwatch-metric name=y value=oops'";
    let o = run(&mut ex, &req(CommandSpec::Shell(script.into()).to_argv()));
    let got: Vec<(Stream, u64)> = o.metric_lines.iter().map(|l| (l.stream, l.line_no)).collect();
    assert!(got.contains(&(Stream::Stderr, 2)) && got.contains(&(Stream::Stdout, 1)), "{got:?}");
}

fn metrics_file_lines_are_collected() {
    let mut ex = spawner();
    // The program keeps stdout to itself and appends its metric lines to the private file;
    // a line without a newline at the end counts too.
    let script = "echo 'perfwatch-metric name=on_stdout value=1'; f=$PERFWATCH_METRICS_FILE; \
                  ls -l \"$f\" >&2; echo 'not a metric' >> \"$f\"; \
                  echo 'perfwatch-metric name=op.parse.p95 value=0.25 unit=s better=lower' >> \"$f\"; \
                  printf 'perfwatch-metric name=cache.hit_rate value=0.9' >> \"$f\"; echo \"$f\" > where";
    let dir = tempfile::tempdir().unwrap();
    let r = ExecRequest { cwd: dir.path().to_path_buf(), ..req(CommandSpec::Shell(script.into()).to_argv()) };
    let o = run(&mut ex, &r);
    assert!(o.exit.is_success(), "{o:?}");
    let got: Vec<(Stream, u64, &str)> =
        o.metric_lines.iter().map(|l| (l.stream, l.line_no, l.text.as_str())).collect();
    assert_eq!(
        got,
        [
            (Stream::Stdout, 1, "perfwatch-metric name=on_stdout value=1"),
            (Stream::MetricsFile, 2, "perfwatch-metric name=op.parse.p95 value=0.25 unit=s better=lower"),
            (Stream::MetricsFile, 3, "perfwatch-metric name=cache.hit_rate value=0.9"),
        ]
    );
    // Private (owner-only) while the run lasts, and gone after it.
    assert!(o.stderr_tail.starts_with("-rw-------"), "{}", o.stderr_tail);
    let path = std::fs::read_to_string(dir.path().join("where")).unwrap();
    assert!(!Path::new(path.trim()).exists(), "{path} was left behind");
    // Hooks get no file.
    let hook = ExecRequest {
        metrics_file: false,
        ..req(CommandSpec::Shell("test -z \"$PERFWATCH_METRICS_FILE\"".into()).to_argv())
    };
    assert!(run(&mut ex, &hook).exit.is_success());
}

fn case(name: &str, command: CommandSpec, settings: RunSettings) -> CasePlan {
    CasePlan {
        id: CaseId::new(name, Vec::<(String, String)>::new()),
        command,
        setup: None,
        prepare: None,
        cleanup: None,
        cwd: std::env::temp_dir(),
        env: BTreeMap::new(),
        settings,
        throughput: None,
        thresholds: BTreeMap::new(),
        budgets: Vec::new(),
        metrics: BTreeMap::new(),
        gpu: None,
        instr: None,
    }
}

fn run_plan_with_real_processes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("hooks.log");
    let settings = RunSettings {
        warmup: 1,
        min_runs: 3,
        max_runs: 3,
        max_time: Duration::from_secs(10),
        precision: 0.0,
        timeout: Duration::from_secs(10),
        threshold: 0.02,
    };
    let mut ok = case(
        "metric",
        CommandSpec::Shell(format!(
            "{} metric hits=0.5,unit=ratio,better=higher; echo 'perfwatch-metric name=bad value=x'",
            pw_fake().display()
        )),
        settings,
    );
    ok.setup = Some(format!("echo setup >> {}", log.display()));
    ok.prepare = Some(format!("echo prepare >> {}", log.display()));
    ok.cleanup = Some(format!("echo cleanup >> {}", log.display()));
    ok.throughput = Some(1000.0);
    let mut failing = case("fail", CommandSpec::Argv(fake(&["fail", "7"])), settings);
    failing.settings.warmup = 0;
    failing.cleanup = Some(format!("echo cleanup-fail >> {}", log.display()));
    let mut bad_setup = case("bad-setup", CommandSpec::Argv(fake(&["sleep", "1"])), settings);
    bad_setup.setup = Some("echo setup broke >&2; exit 4".into());
    bad_setup.cleanup = Some(format!("echo cleanup-bad-setup >> {}", log.display()));
    let last = case("last", CommandSpec::Argv(fake(&["sleep", "1"])), settings);
    let plan = Plan {
        suite_path: dir.path().join("perfwatch.toml"),
        suite_hash: String::new(),
        build: None,
        cases: vec![ok, failing, bad_setup, last],
    };

    let mut ex = spawner();
    let mut warnings = Vec::new();
    let mut runs_done = 0;
    let mut sink = |e: &Event<'_>| match e {
        Event::MetricWarning(w) => warnings.push(w.to_string()),
        Event::RunDone { .. } => runs_done += 1,
        _ => {}
    };
    let outcome = run_plan(&plan, &mut ex, &mut sink, &AtomicBool::new(false), &RunOptions::default());
    assert_eq!(outcome.end, SuiteEnd::Complete);
    let r = &outcome.reports;
    assert_eq!(r.len(), 4);

    assert_eq!(r[0].status, CaseStatus::Ok);
    assert_eq!(r[0].runs, 3);
    assert_eq!(r[0].metrics["hits"].samples, [0.5, 0.5, 0.5]);
    assert_eq!(r[0].metrics["hits"].unit, "ratio");
    assert!(r[0].metrics.contains_key("throughput") && r[0].metrics.contains_key("max_rss"));
    assert_eq!(warnings.len(), 1, "one warning for the same bad line in every run: {warnings:?}");
    assert!(
        warnings[0].contains("metric: warmup 1 stdout, line 4: value `x` is not a finite number"),
        "{}",
        warnings[0]
    );

    assert_eq!(r[1].status, CaseStatus::Failed);
    assert_eq!(r[1].runs, 0);
    let f = r[1].failure.as_ref().expect("failure");
    assert_eq!(f.exit, ExitKind::Exited { code: 7 });
    assert!(f.message.contains("exited with status 7 (run 1)"), "{}", f.message);
    assert!(f.stderr_tail.contains("failing with status 7"));

    assert_eq!(r[2].status, CaseStatus::Failed);
    let f = r[2].failure.as_ref().expect("failure");
    assert!(f.message.starts_with("setup hook"), "{}", f.message);
    assert_eq!(f.stderr_tail, "setup broke");
    assert!(r[2].raw.is_empty());

    assert_eq!(r[3].status, CaseStatus::Ok);
    assert_eq!(runs_done, 3 + 1 + 3);
    let log = std::fs::read_to_string(&log).expect("hook log");
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(
        lines,
        ["setup", "prepare", "prepare", "prepare", "prepare", "cleanup", "cleanup-fail", "cleanup-bad-setup"]
    );
}

fn closing_control_pipe_kills_benchmark() {
    let exe = std::env::current_exe().expect("own path");
    let mut helper = Command::new(exe)
        .arg(SPAWNER_ARG)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start helper");
    let mut stdin = helper.stdin.take().expect("stdin");
    let mut r = req(fake(&["hang"]));
    r.forward_output = true;
    r.timeout = None;
    serde_json::to_writer(&mut stdin, &r).expect("send");
    stdin.write_all(b"\n").and_then(|()| stdin.flush()).expect("send");
    // The forwarded output carries the grandchild's pid; the hang process is its parent.
    let mut reader = BufReader::new(helper.stdout.take().expect("stdout"));
    let mut seen = String::new();
    let grandchild = loop {
        let mut line = String::new();
        assert!(reader.read_line(&mut line).expect("read") > 0, "helper ended early");
        let reply: serde_json::Value = serde_json::from_str(&line).expect("json");
        if let Some(data) = reply.pointer("/Output/data").and_then(|d| d.as_array()) {
            seen.extend(data.iter().filter_map(|b| b.as_u64()).map(|b| b as u8 as char));
        }
        if let Some(pid) = seen.split("hang_child_pid value=").nth(1).and_then(|r| r.split('\n').next()) {
            if seen.contains('\n') {
                break pid.trim().parse::<u32>().expect("pid");
            }
        }
    };
    let stat = std::fs::read_to_string(format!("/proc/{grandchild}/stat")).expect("grandchild alive");
    let hang: u32 =
        stat.rsplit_once(')').and_then(|(_, r)| r.split_whitespace().nth(1)?.parse().ok()).expect("ppid");
    drop(stdin); // perfwatch "dies"
    let status = helper.wait().expect("helper exits");
    assert!(status.success(), "helper {status}");
    assert!(wait_gone(hang), "benchmark {hang} survived its spawner");
    assert!(wait_gone(grandchild), "grandchild {grandchild} survived its spawner");
}

//! The run loop over a scripted executor: deterministic, no processes.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use perfwatch_model::{
    Better, CaseId, CasePlan, CaseStatus, Caveat, CommandSpec, ExitKind, MetricInfo, Plan, RunSettings,
};
use perfwatch_runner::executor::RawMetricLine;
use perfwatch_runner::{
    Event, ExecOutcome, NullSink, RunOptions, ScriptedExecutor, Stream, SuiteEnd, run_plan,
};

fn settings(min: u32, max: u32, precision: f64) -> RunSettings {
    RunSettings {
        warmup: 0,
        min_runs: min,
        max_runs: max,
        max_time: Duration::from_secs(3600),
        precision,
        timeout: Duration::from_secs(2),
        threshold: 0.02,
    }
}

fn case(name: &str, s: RunSettings) -> CasePlan {
    CasePlan {
        id: CaseId::new(name, [("n", "1")]),
        command: CommandSpec::Argv(vec![name.into(), "--go".into()]),
        setup: None,
        prepare: None,
        cleanup: None,
        cwd: "/tmp".into(),
        env: BTreeMap::from([("K".to_string(), "V".to_string())]),
        settings: s,
        throughput: None,
        thresholds: BTreeMap::new(),
        budgets: Vec::new(),
        metrics: BTreeMap::new(),
        gpu: None,
        instr: None,
    }
}

fn plan(cases: Vec<CasePlan>) -> Plan {
    Plan { suite_path: "/tmp/perfwatch.toml".into(), suite_hash: "h".into(), build: None, cases }
}

fn exited(code: i32) -> ExecOutcome {
    ExecOutcome {
        exit: ExitKind::Exited { code },
        stderr_tail: format!("boom {code}"),
        ..ExecOutcome::ok(0.1)
    }
}

fn with_metrics(wall: f64, lines: &[&str]) -> ExecOutcome {
    let mut o = ExecOutcome::ok(wall);
    o.metric_lines = lines
        .iter()
        .enumerate()
        .map(|(i, t)| RawMetricLine {
            stream: Stream::Stdout,
            line_no: i as u64 + 1,
            text: t.to_string(),
            truncated: false,
        })
        .collect();
    o
}

fn no_stop() -> AtomicBool {
    AtomicBool::new(false)
}

#[test]
fn stops_at_min_runs_once_precise() {
    let mut ex = ScriptedExecutor::default().with_fallback(ExecOutcome::ok(0.1));
    let p = plan(vec![case("a", settings(8, 100, 0.01))]);
    let out = run_plan(&p, &mut ex, &mut NullSink, &no_stop(), &RunOptions::default());
    let r = &out.reports[0];
    assert_eq!((r.status, r.runs), (CaseStatus::Ok, 8));
    assert_eq!(r.metrics["wall"].median, 0.1);
    assert!(!r.caveats.iter().any(|c| matches!(c, Caveat::PrecisionNotReached { .. })));
    // The request carries the case's cwd, env and timeout.
    let req = &ex.requests[0];
    assert_eq!(req.argv, ["a", "--go"]);
    assert_eq!(req.env["K"], "V");
    assert_eq!(req.timeout, Some(Duration::from_secs(2)));
}

#[test]
fn stops_at_max_runs_and_says_precision_was_not_reached() {
    let walls = (0..12).map(|i| ExecOutcome::ok(if i % 2 == 0 { 0.1 } else { 0.2 }));
    let mut ex = ScriptedExecutor::new(walls);
    let p = plan(vec![case("a", settings(2, 12, 0.001))]);
    let out = run_plan(&p, &mut ex, &mut NullSink, &no_stop(), &RunOptions::default());
    let r = &out.reports[0];
    assert_eq!(r.runs, 12);
    assert!(
        r.caveats.iter().any(|c| matches!(c, Caveat::PrecisionNotReached { target, .. } if *target == 0.001))
    );
    assert!(r.caveats.iter().any(|c| matches!(c, Caveat::HighNoise { .. })));
}

#[test]
fn max_time_limits_runs_but_not_below_min_runs() {
    let mut s = settings(3, 100, 0.0);
    s.max_time = Duration::ZERO;
    let mut ex = ScriptedExecutor::default().with_fallback(ExecOutcome::ok(0.1));
    let out = run_plan(&plan(vec![case("a", s)]), &mut ex, &mut NullSink, &no_stop(), &RunOptions::default());
    assert_eq!(out.reports[0].runs, 3);
    assert!(
        out.reports[0].caveats.contains(&Caveat::FewRuns { runs: 3, half_width: None }),
        "3 runs are too few for a 95% interval of the median"
    );
}

#[test]
fn failing_run_ends_case_and_suite_goes_on() {
    let mut ex = ScriptedExecutor::new([ExecOutcome::ok(0.1), exited(3)]).with_fallback(ExecOutcome::ok(0.1));
    let p = plan(vec![case("a", settings(5, 5, 0.0)), case("b", settings(5, 5, 0.0))]);
    let out = run_plan(&p, &mut ex, &mut NullSink, &no_stop(), &RunOptions::default());
    assert_eq!(out.end, SuiteEnd::Complete);
    let a = &out.reports[0];
    assert_eq!((a.status, a.runs, a.raw.len()), (CaseStatus::Failed, 1, 2));
    let f = a.failure.as_ref().unwrap();
    assert_eq!(f.message, "`a --go` exited with status 3 (run 2)");
    assert_eq!(f.stderr_tail, "boom 3");
    assert_eq!(a.metrics["wall"].n, 1, "summaries cover successful runs only");
    assert_eq!((out.reports[1].status, out.reports[1].runs), (CaseStatus::Ok, 5));
}

#[test]
fn timeout_and_signal_messages() {
    let timeout = ExecOutcome { exit: ExitKind::TimedOut, ..ExecOutcome::ok(2.0) };
    let crash = ExecOutcome { exit: ExitKind::Signaled { signal: 11 }, ..ExecOutcome::ok(0.1) };
    let mut ex = ScriptedExecutor::new([timeout, crash]);
    let p = plan(vec![case("a", settings(1, 1, 0.0)), case("b", settings(1, 1, 0.0))]);
    let out = run_plan(&p, &mut ex, &mut NullSink, &no_stop(), &RunOptions::default());
    assert_eq!(out.reports[0].status, CaseStatus::Timeout);
    assert_eq!(
        out.reports[0].failure.as_ref().unwrap().message,
        "`a --go` timed out after 2s; its process group was killed (run 1)"
    );
    assert_eq!(out.reports[1].status, CaseStatus::Failed);
    assert_eq!(
        out.reports[1].failure.as_ref().unwrap().message,
        "`b --go` was killed by signal 11 (SIGSEGV) (run 1)"
    );
    assert!(out.reports[1].metrics.is_empty());
}

#[test]
fn hooks_run_in_order_and_cleanup_always_runs() {
    let mut c = case("a", RunSettings { warmup: 1, ..settings(2, 2, 0.0) });
    c.setup = Some("make data".into());
    c.prepare = Some("sync".into());
    c.cleanup = Some("rm data".into());
    let mut failing_setup = c.clone();
    failing_setup.id = CaseId::new("b", Vec::<(String, String)>::new());
    let mut ex = ScriptedExecutor::new(
        std::iter::repeat_n(ExecOutcome::ok(0.0), 8).chain([exited(1), ExecOutcome::ok(0.0)]),
    );
    let out =
        run_plan(&plan(vec![c, failing_setup]), &mut ex, &mut NullSink, &no_stop(), &RunOptions::default());
    let argv: Vec<String> = ex.requests.iter().map(|r| r.argv.join(" ")).collect();
    assert_eq!(
        argv,
        [
            "sh -c make data",
            "sh -c sync",
            "a --go",
            "sh -c sync",
            "a --go",
            "sh -c sync",
            "a --go",
            "sh -c rm data",
            "sh -c make data",
            "sh -c rm data",
        ]
    );
    assert_eq!(out.reports[0].runs, 2);
    let b = &out.reports[1];
    assert_eq!((b.status, b.runs), (CaseStatus::Failed, 0));
    assert_eq!(b.failure.as_ref().unwrap().message, "setup hook `make data` exited with status 1");
    assert_eq!(b.failure.as_ref().unwrap().stderr_tail, "boom 1");
}

#[test]
fn stop_flag_ends_after_current_run() {
    let stop = AtomicBool::new(false);
    let mut c = case("a", settings(10, 10, 0.0));
    c.cleanup = Some("cleanup".into());
    let p = plan(vec![c, case("b", settings(1, 1, 0.0))]);
    let mut ex = ScriptedExecutor::default().with_fallback(ExecOutcome::ok(0.1));
    let mut finished = Vec::new();
    let mut sink = |e: &Event<'_>| match e {
        Event::RunDone { run: 3, .. } => stop.store(true, Ordering::SeqCst),
        Event::CaseFinished { report, .. } => finished.push(report.case.name.clone()),
        Event::SuiteFinished { end } => assert_eq!(**end, SuiteEnd::Interrupted),
        _ => {}
    };
    let out = run_plan(&p, &mut ex, &mut sink, &stop, &RunOptions::default());
    assert_eq!(out.end, SuiteEnd::Interrupted);
    assert_eq!(out.reports.len(), 1);
    assert_eq!((out.reports[0].status, out.reports[0].runs), (CaseStatus::Ok, 3));
    assert_eq!(finished, ["a"]);
    assert_eq!(ex.requests.last().unwrap().argv.join(" "), "sh -c cleanup");
}

#[test]
fn custom_metrics_throughput_and_warnings() {
    let mut c = case("a", settings(3, 3, 0.0));
    c.throughput = Some(1000.0);
    c.metrics.insert("hit_rate".into(), MetricInfo::new("ratio", Better::Higher));
    let lines = [
        "perfwatch-metric name=hit_rate value=0.5",
        "perfwatch-metric name=hit_rate value=0.9",
        "perfwatch-metric name=ops value=7 unit=1/s better=higher",
        "perfwatch-metric name=bare value=1",
        "perfwatch-metric name=bad value=x",
        "perfwatch-metric name=ops value=8 unit=ms better=higher",
        "perfwatch-metric name=hit_rate value=0.9 better=lower",
    ];
    let mut ex = ScriptedExecutor::default().with_fallback(with_metrics(0.5, &lines));
    let mut warnings = Vec::new();
    let mut sink = |e: &Event<'_>| {
        if let Event::MetricWarning(w) = e {
            warnings.push(w.to_string());
        }
    };
    let out = run_plan(&plan(vec![c]), &mut ex, &mut sink, &no_stop(), &RunOptions::default());
    let m = &out.reports[0].metrics;
    assert_eq!(m["hit_rate"].samples, [0.9, 0.9, 0.9], "last value of a run wins");
    assert_eq!(m["ops"].samples, [8.0, 8.0, 8.0]);
    assert_eq!((m["hit_rate"].unit.as_str(), m["hit_rate"].better), ("ratio", Better::Higher));
    assert_eq!((m["ops"].unit.as_str(), m["ops"].better), ("1/s", Better::Higher));
    assert_eq!(m["bare"].better, Better::Lower);
    assert_eq!(m["throughput"].median, 2000.0);
    assert!(!m.contains_key("bad"));
    assert_eq!(
        warnings,
        [
            "a[n=1]: run 1 stdout, line 4: metric `bare` has no `better=` and none is declared in [bench.metrics]; assuming lower is better: \"perfwatch-metric name=bare value=1\"",
            "a[n=1]: run 1 stdout, line 5: value `x` is not a finite number: \"perfwatch-metric name=bad value=x\"",
            "a[n=1]: run 1 stdout, line 6: metric `ops` was first reported with unit=1/s, better=higher; this line disagrees and the first one wins: \"perfwatch-metric name=ops value=8 unit=ms better=higher\"",
            "a[n=1]: run 1 stdout, line 7: metric `hit_rate` disagrees with its declaration (unit=ratio, better=higher); the declaration wins: \"perfwatch-metric name=hit_rate value=0.9 better=lower\"",
        ]
    );
}

#[test]
fn output_is_forwarded_only_when_asked() {
    let mut ex = ScriptedExecutor::default().with_fallback(ExecOutcome::ok(0.1));
    ex.queue_output(Stream::Stderr, b"hello");
    let p = plan(vec![case("a", settings(1, 1, 0.0))]);
    let mut got = Vec::new();
    let mut sink = |e: &Event<'_>| {
        if let Event::Output { stream, data, .. } = e {
            got.push((*stream, data.to_vec()));
        }
    };
    run_plan(&p, &mut ex, &mut sink, &no_stop(), &RunOptions { show_output: true });
    assert_eq!(got, [(Stream::Stderr, b"hello".to_vec())]);
    assert!(ex.requests[0].forward_output);
}

#[test]
fn broken_executor_aborts_the_suite() {
    let mut ex = ScriptedExecutor::new([ExecOutcome::ok(0.1)]);
    let p = plan(vec![case("a", settings(3, 3, 0.0)), case("b", settings(1, 1, 0.0))]);
    let out = run_plan(&p, &mut ex, &mut NullSink, &no_stop(), &RunOptions::default());
    assert!(matches!(out.end, SuiteEnd::Aborted { .. }));
    assert_eq!(out.reports.len(), 1);
    assert_eq!((out.reports[0].status, out.reports[0].runs), (CaseStatus::Failed, 1));
}

#[test]
fn caveat_rules() {
    let info = MetricInfo::new("s", Better::Lower);
    let walls = [0.004, 0.002, 0.002, 0.002, 0.002, 0.002];
    let summary = perfwatch_stats::summarize(&walls, &info);
    let c = perfwatch_runner::caveats(&walls, Some(&summary), None);
    // Six runs do have an interval (from the extreme order statistics): the caveat gives it.
    assert!(
        c.iter().any(|c| matches!(c, Caveat::FewRuns { runs: 6, half_width: Some(h) } if *h > 0.0)),
        "{c:?}"
    );
    assert!(c.contains(&Caveat::SlowFirstRun { ratio: 2.0 }));
    assert!(c.contains(&Caveat::VeryShort { median_s: 0.002 }));
    assert!(!c.iter().any(|c| matches!(c, Caveat::HighNoise { .. })));
    assert!(perfwatch_runner::caveats(&[], None, Some(0.01)).is_empty());
}

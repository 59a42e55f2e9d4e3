//! Issue 19, item 4, as a property: whatever finite numbers a benchmark produces — wall times
//! from 0 to decades, peak memory of u64::MAX, custom metrics of either sign near ±f64::MAX or
//! subnormal —
//! the run report `perfwatch run` builds from them validates against `schemas/run.schema.json`
//! (no statistic becomes infinite and turns into JSON `null`), so the team server, which reads
//! reports by that schema, accepts every run perfwatch can produce.

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use perfwatch_model::{
    CaseId, CasePlan, CommandSpec, HostInfo, Plan, RunMeta, RunReport, RunSettings, RunStatus,
};
use perfwatch_runner::executor::RawMetricLine;
use perfwatch_runner::{ExecOutcome, NullSink, RunOptions, ScriptedExecutor, Stream, run_plan};
use proptest::prelude::*;

fn validator() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../schemas/run.schema.json");
        let schema: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        jsonschema::validator_for(&schema).unwrap()
    })
}

fn plan(runs: u32) -> Plan {
    let settings = RunSettings {
        warmup: 0,
        min_runs: runs,
        max_runs: runs,
        max_time: Duration::from_secs(1 << 40),
        precision: 0.0,
        timeout: Duration::from_secs(1),
        threshold: 0.02,
    };
    let case = CasePlan {
        id: CaseId::new("extreme", [("n", "1")]),
        command: CommandSpec::Argv(vec!["bench".into()]),
        setup: None,
        prepare: None,
        cleanup: None,
        cwd: "/tmp".into(),
        env: BTreeMap::new(),
        settings,
        throughput: Some(1000.0),
        thresholds: BTreeMap::new(),
        budgets: Vec::new(),
        metrics: BTreeMap::new(),
        gpu: None,
        instr: None,
    };
    Plan { suite_path: "/tmp/perfwatch.toml".into(), suite_hash: "h".into(), build: None, cases: vec![case] }
}

fn meta() -> RunMeta {
    RunMeta {
        id: "01a23b00-0000-7000-8000-000000000000".into(),
        started_at: jiff::Timestamp::UNIX_EPOCH,
        ended_at: Some(jiff::Timestamp::UNIX_EPOCH),
        status: RunStatus::Complete,
        git: None,
        host: HostInfo {
            fingerprint: "f".into(),
            hostname: "h".into(),
            cpu: "c".into(),
            cores: 1,
            memory_bytes: 1,
            os: "o".into(),
            kernel: "k".into(),
            load_avg: [0.0; 3],
            governor: None,
            gpu: None,
        },
        labels: BTreeMap::new(),
        perfwatch_version: "0".into(),
        suite_hash: "h".into(),
    }
}

/// Any finite f64, extremes and subnormals included.
fn any_finite() -> impl Strategy<Value = f64> {
    prop_oneof![
        proptest::num::f64::NORMAL | proptest::num::f64::SUBNORMAL | proptest::num::f64::ZERO,
        Just(f64::MAX),
        Just(-f64::MAX),
    ]
}

/// A time a monotonic clock or `wait4` can report: ordinary, zero, the smallest positive
/// float (its throughput overflows), or decades.
fn any_time() -> impl Strategy<Value = f64> {
    prop_oneof![0.0f64..10.0, Just(0.0), Just(f64::MIN_POSITIVE), 1e6f64..1e9]
}

fn outcome(wall: f64, user: f64, custom: f64) -> ExecOutcome {
    let mut o = ExecOutcome { user, sys: user, max_rss: u64::MAX, ..ExecOutcome::ok(wall) };
    o.metric_lines = vec![RawMetricLine {
        stream: Stream::Stdout,
        line_no: 1,
        text: format!("perfwatch-metric name=custom value={custom:e}"),
        truncated: false,
    }];
    o
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]
    #[test]
    fn every_run_report_validates_against_its_schema(
        runs in proptest::collection::vec((any_time(), any_time(), any_finite()), 1..12)
    ) {
        let mut executor = ScriptedExecutor::new(runs.iter().map(|&(w, u, c)| outcome(w, u, c)));
        let outcome = run_plan(&plan(runs.len() as u32), &mut executor, &mut NullSink, &AtomicBool::new(false), &RunOptions::default());
        let report = RunReport { schema_version: 1, run: meta(), benchmarks: outcome.reports, budgets: vec![] };
        let doc = serde_json::to_value(&report).unwrap();
        let errors: Vec<String> = validator().iter_errors(&doc).map(|e| format!("{e} at {}", e.instance_path())).collect();
        prop_assert!(errors.is_empty(), "{errors:#?}\nfrom runs {runs:?}");
        prop_assert_eq!(doc["benchmarks"][0]["metrics"]["custom"]["n"].as_u64(), Some(runs.len() as u64));
    }
}

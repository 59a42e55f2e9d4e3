#![cfg_attr(not(feature = "postgres"), allow(dead_code))]
//! The store contract: one suite of tests written against `dyn Store`, run against SQLite
//! (a temporary WAL file) and PostgreSQL (a fresh schema per test on the server named by
//! `PERFWATCH_TEST_PG_URL`, default `postgres://postgres@127.0.0.1:5432/test`).
//!
//! The PostgreSQL tests fail (they do not skip) when the server cannot be reached.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use perfwatch_model::{
    Better, BudgetResult, BudgetStatus, CaseFailure, CaseId, CaseReport, CaseStatus, Caveat, ChangePoint,
    ExitKind, GitInfo, HostInfo, Profile, Profiler, RunMeta, RunReport, RunStatus, Sample, Summary,
};
use perfwatch_store::{ErrorKind, PrunePolicy, PushState, RunFilter, Store, TokenScope};

// ---------------------------------------------------------------------------------------------
// Fixtures: where a fresh store lives.

/// A fresh, empty store location for one test; cleaned up on drop.
trait Fixture {
    /// The URL `perfwatch_store::open` is given.
    fn url(&self) -> String;

    /// Runs SQL on the store's database directly, behind the store's back.
    fn raw(&self, sql: &str);

    /// The one integer the query `sql` returns, read directly from the store's database.
    fn raw_i64(&self, sql: &str) -> i64;

    /// Opens (or re-opens) the store.
    fn open(&self) -> Box<dyn Store> {
        match perfwatch_store::open(&self.url()) {
            Ok(s) => s,
            Err(e) => panic!("cannot open store {}: {e}", self.url()),
        }
    }
}

struct SqliteFx {
    dir: tempfile::TempDir,
}

impl SqliteFx {
    fn new() -> SqliteFx {
        SqliteFx { dir: tempfile::tempdir().expect("temp dir") }
    }

    fn path(&self) -> std::path::PathBuf {
        self.dir.path().join("sub/dir/history.db")
    }

    fn connect(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.path()).expect("open the SQLite file directly")
    }
}

impl Fixture for SqliteFx {
    fn url(&self) -> String {
        format!("sqlite://{}", self.path().display())
    }

    fn raw(&self, sql: &str) {
        self.connect().execute_batch(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    fn raw_i64(&self, sql: &str) -> i64 {
        self.connect().query_row(sql, [], |r| r.get(0)).unwrap_or_else(|e| panic!("{sql}: {e}"))
    }
}

fn pg_base_url() -> String {
    std::env::var("PERFWATCH_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// A schema of its own on the test server, dropped (with everything in it) on drop — also
/// when the test panics.
struct PgFx {
    base: String,
    schema: String,
}

impl PgFx {
    fn new() -> PgFx {
        let base = pg_base_url();
        let schema = format!("pw_test_{}", uuid::Uuid::now_v7().simple());
        let mut client = pg_connect(&base);
        client
            .batch_execute(&format!("CREATE SCHEMA \"{schema}\""))
            .unwrap_or_else(|e| panic!("cannot create test schema {schema}: {e}"));
        PgFx { base, schema }
    }
}

fn pg_connect(url: &str) -> ::postgres::Client {
    ::postgres::Client::connect(url, ::postgres::NoTls).unwrap_or_else(|e| {
        panic!(
            "the PostgreSQL contract tests need a server at {url} (set PERFWATCH_TEST_PG_URL \
             to another one): {e}"
        )
    })
}

impl PgFx {
    /// A connection of its own, in the test's schema.
    fn connect(&self) -> ::postgres::Client {
        let mut client = pg_connect(&self.base);
        client.batch_execute(&format!("SET search_path TO \"{}\"", self.schema)).expect("search_path");
        client
    }
}

impl Fixture for PgFx {
    fn url(&self) -> String {
        let sep = if self.base.contains('?') { '&' } else { '?' };
        format!("{}{sep}schema={}", self.base, self.schema)
    }

    fn raw(&self, sql: &str) {
        self.connect().batch_execute(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    fn raw_i64(&self, sql: &str) -> i64 {
        let row = self.connect().query_one(sql, &[]).unwrap_or_else(|e| panic!("{sql}: {e}"));
        row.get(0)
    }
}

impl Drop for PgFx {
    fn drop(&mut self) {
        if let Ok(mut c) = ::postgres::Client::connect(&self.base, ::postgres::NoTls) {
            let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.schema));
        }
    }
}

/// Instantiates every contract test for both backends.
macro_rules! contract_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test] fn $name() { super::$name(&super::SqliteFx::new()); })*
        }
        #[cfg(feature = "postgres")]
        mod postgres {
            $(#[test] fn $name() { super::$name(&super::PgFx::new()); })*
        }
    };
}

contract_tests!(
    round_trip_of_a_full_report,
    incremental_writes_keep_what_finished,
    write_errors_have_kinds,
    baselines_crud,
    history_is_oldest_first_and_limited,
    list_series_lists_every_case_and_metric,
    prune_never_deletes_baseline_runs,
    prune_older_than,
    insert_run_is_idempotent,
    prefix_lookup,
    migrations_are_idempotent,
    names_are_stored_literally,
    list_runs_filters_and_previous_run,
    integrity_check_passes,
    change_points_keep_alerts_and_follow_their_runs,
    tokens_are_created_listed_and_revoked,
    push_state_marks_runs_and_prune_keeps_unpushed,
    prune_spares_runs_still_being_measured,
    series_reads_leave_out_incomplete_runs,
    profiles_round_trip,
    add_profile_replaces_and_needs_the_run,
    profiles_go_with_their_run,
    corrupt_profiles_are_corrupt_errors,
    profiled_cases_lists_a_runs_profiles,
    a_version_6_store_is_migrated_to_7,
);

// ---------------------------------------------------------------------------------------------
// Test data.

fn t(s: &str) -> Timestamp {
    s.parse().expect("timestamp")
}

fn host(fp: &str) -> HostInfo {
    HostInfo {
        fingerprint: fp.to_string(),
        hostname: "runner-1".into(),
        cpu: "AMD EPYC 7763 64-Core Processor".into(),
        cores: 2,
        memory_bytes: 8_000_000_000,
        os: "Debian GNU/Linux 12 (bookworm)".into(),
        kernel: "6.1.0-18-amd64".into(),
        load_avg: [0.25, 0.1 + 0.2, 1e-300],
        governor: None,
        gpu: None,
    }
}

fn meta(id: &str, started: Timestamp) -> RunMeta {
    RunMeta {
        id: id.to_string(),
        started_at: started,
        ended_at: Some(started + SignedDuration::from_millis(61_234)),
        status: RunStatus::Complete,
        git: Some(GitInfo {
            commit: format!("c0ffee{}", id.len()),
            branch: Some("main".into()),
            dirty: true,
        }),
        host: host("fp-a"),
        labels: [("ci".to_string(), "true".to_string()), ("k=v".into(), "a,b".into())].into(),
        perfwatch_version: "0.1.0".into(),
        suite_hash: "sha256:abcd".into(),
    }
}

fn summary(unit: &str, better: Better, values: &[f64]) -> Summary {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or(0.0);
    Summary {
        unit: unit.to_string(),
        better,
        n: values.len() as u32,
        median,
        ci95: [median * 0.98, median * 1.0234567891],
        mean: values.iter().sum::<f64>() / values.len().max(1) as f64,
        stddev: 0.1 / 3.0,
        mad: 1.0 / 7.0,
        min: sorted.first().copied().unwrap_or(0.0),
        max: sorted.last().copied().unwrap_or(0.0),
        p95: median * 1.1,
        p99: f64::INFINITY,
        outliers: 1,
        samples: values.to_vec(),
    }
}

/// A case with three metrics (one custom), raw samples of every exit kind, caveats and a
/// failure.
fn case(name: &str, params: &[(&str, &str)], base: f64) -> CaseReport {
    let walls: Vec<f64> = (0..7).map(|i| base * (1.0 + f64::from(i) * 0.013)).collect();
    let exits = [
        ExitKind::Exited { code: 0 },
        ExitKind::Exited { code: 3 },
        ExitKind::Signaled { signal: 9 },
        ExitKind::TimedOut,
        ExitKind::SpawnFailed { message: "No such file or directory (os error 2)".into() },
    ];
    let raw = walls
        .iter()
        .enumerate()
        .map(|(i, &w)| Sample {
            wall: w,
            user: w * 0.7,
            sys: w * 0.1,
            max_rss: 123_456_789 + i as u64,
            exit: exits[i % exits.len()].clone(),
            metrics: [("cache_hit_rate".to_string(), 0.967 - i as f64 * 1e-3)].into(),
        })
        .collect();
    CaseReport {
        case: CaseId {
            name: name.to_string(),
            params: params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        },
        status: CaseStatus::Failed,
        runs: 7,
        caveats: vec![
            Caveat::HighNoise { cv: 0.123456789 },
            Caveat::FewRuns { runs: 7, half_width: Some(0.01) },
            Caveat::SlowFirstRun { ratio: 2.5 },
        ],
        metrics: BTreeMap::from([
            ("wall".to_string(), summary("s", Better::Lower, &walls)),
            ("max_rss".to_string(), summary("bytes", Better::Lower, &[1e8, 1.2e8, 1.1e8])),
            ("cache_hit_rate".to_string(), summary("ratio", Better::Higher, &[0.9, 0.95])),
        ]),
        failure: Some(CaseFailure {
            message: "command exited with status 3".into(),
            exit: ExitKind::Exited { code: 3 },
            stderr_tail: "Traceback (most recent call last):\n  boom".into(),
        }),
        raw,
    }
}

fn report(id: &str, started: Timestamp) -> RunReport {
    RunReport {
        schema_version: perfwatch_model::SCHEMA_VERSION,
        run: meta(id, started),
        benchmarks: vec![
            case("sort", &[("n", "1000"), ("algo", "quick")], 0.012),
            case("sort", &[("n", "100000"), ("algo", "quick")], 1.5),
            case("import", &[], 0.09),
        ],
        budgets: vec![BudgetResult {
            case: CaseId { name: "sort".into(), params: [("n".to_string(), "1000".to_string())].into() },
            budget: "wall.p95 < 500ms".into(),
            target: 0.5,
            measured: Some(0.0132),
            achievement_pct: Some(2.64),
            status: BudgetStatus::Pass,
        }],
    }
}

/// A time-ordered id like the UUID v7 the runner makes, with a readable number in it.
fn rid(n: u32) -> String {
    format!("0190b6a8-{n:04x}-7000-8000-000000000000")
}

fn base_time() -> Timestamp {
    t("2025-03-01T12:00:00.123456789Z")
}

fn nth_time(i: i64) -> Timestamp {
    base_time() + SignedDuration::from_hours(i)
}

fn sort_small() -> CaseId {
    CaseId::new("sort", [("n", "1000"), ("algo", "quick")])
}

// ---------------------------------------------------------------------------------------------
// The contract.

fn round_trip_of_a_full_report(fx: &dyn Fixture) {
    let mut store = fx.open();
    let mut written = report(&rid(1), base_time());
    written.run.host.governor = Some("performance".into());
    written.run.host.gpu = Some("2 × NVIDIA A100-SXM4-40GB (driver 550.54)".into());
    assert!(store.insert_run(&written).unwrap());
    assert_eq!(store.run(&rid(1)).unwrap().as_ref(), Some(&written));

    // Without git, labels, budgets, ended_at, cases: still equal.
    let mut bare = report(&rid(2), nth_time(1));
    bare.run.git = None;
    bare.run.labels.clear();
    bare.run.ended_at = None;
    bare.run.status = RunStatus::Interrupted;
    bare.budgets.clear();
    bare.benchmarks.clear();
    assert!(store.insert_run(&bare).unwrap());
    assert_eq!(store.run(&rid(2)).unwrap(), Some(bare));

    // A git branch may be absent (detached HEAD) and a case may have no metrics at all.
    let mut detached = report(&rid(3), nth_time(2));
    if let Some(g) = detached.run.git.as_mut() {
        g.branch = None;
        g.dirty = false;
    }
    detached.benchmarks[0].metrics.clear();
    detached.benchmarks[0].raw.clear();
    detached.benchmarks[0].failure = None;
    detached.benchmarks[0].caveats.clear();
    assert!(store.insert_run(&detached).unwrap());
    assert_eq!(store.run(&rid(3)).unwrap(), Some(detached));

    // The same report, written incrementally, reads back equal too.
    let mut inc = report(&rid(4), nth_time(3));
    store.begin_run(&inc.run).unwrap();
    for c in &inc.benchmarks {
        store.add_case(&inc.run.id, c).unwrap();
    }
    store.set_budgets(&inc.run.id, &inc.budgets).unwrap();
    let end = inc.run.ended_at.expect("fixture has an end");
    store.finish_run(&inc.run.id, RunStatus::Complete, end).unwrap();
    inc.run.status = RunStatus::Complete;
    assert_eq!(store.run(&rid(4)).unwrap(), Some(inc));

    assert_eq!(store.run(&rid(99)).unwrap(), None);
}

fn incremental_writes_keep_what_finished(fx: &dyn Fixture) {
    let full = report(&rid(1), base_time());
    {
        let mut store = fx.open();
        store.begin_run(&full.run).unwrap();
        store.add_case(&full.run.id, &full.benchmarks[0]).unwrap();
        store.add_case(&full.run.id, &full.benchmarks[1]).unwrap();
        // The process "dies" here: no finish_run.
    }
    let mut store = fx.open();
    let got = store.run(&rid(1)).unwrap().expect("run kept");
    assert_eq!(got.run.status, RunStatus::Incomplete);
    assert_eq!(got.run.ended_at, None);
    assert_eq!(got.benchmarks, full.benchmarks[..2].to_vec());
    let listed = store.list_runs(&RunFilter::default()).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].status, RunStatus::Incomplete);
    // Finished cases are kept, but join the history only when the run finishes.
    assert!(store.history(&sort_small(), "wall", None).unwrap().is_empty());

    store.add_case(&full.run.id, &full.benchmarks[2]).unwrap();
    let end = t("2025-03-01T13:00:00Z");
    store.finish_run(&full.run.id, RunStatus::Interrupted, end).unwrap();
    let got = store.run(&rid(1)).unwrap().expect("run kept");
    assert_eq!(got.run.status, RunStatus::Interrupted);
    assert_eq!(got.run.ended_at, Some(end));
    assert_eq!(got.benchmarks, full.benchmarks);
    let only_incomplete = RunFilter { status: Some(RunStatus::Incomplete), ..Default::default() };
    assert!(store.list_runs(&only_incomplete).unwrap().is_empty());
    assert_eq!(store.history(&sort_small(), "wall", None).unwrap().len(), 1);
}

fn write_errors_have_kinds(fx: &dyn Fixture) {
    let mut store = fx.open();
    let r = report(&rid(1), base_time());
    store.begin_run(&r.run).unwrap();
    assert_eq!(store.begin_run(&r.run).unwrap_err().kind(), ErrorKind::AlreadyExists);
    let err = store.add_case("no-such-run", &r.benchmarks[0]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let err = store.finish_run("no-such-run", RunStatus::Complete, base_time()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(store.set_budgets("no-such-run", &[]).unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(store.previous_run("no-such-run", false).unwrap_err().kind(), ErrorKind::NotFound);
    // A failed write leaves the store usable.
    store.add_case(&r.run.id, &r.benchmarks[0]).unwrap();
    assert_eq!(store.run(&r.run.id).unwrap().unwrap().benchmarks.len(), 1);
}

fn baselines_crud(fx: &dyn Fixture) {
    let mut store = fx.open();
    store.insert_run(&report(&rid(1), base_time())).unwrap();
    store.insert_run(&report(&rid(2), nth_time(1))).unwrap();
    assert_eq!(store.baseline("main").unwrap(), None);
    assert!(store.list_baselines().unwrap().is_empty());

    let before = Timestamp::now();
    let set = store.set_baseline("main", &rid(1)).unwrap();
    assert_eq!(set.run_id, rid(1));
    assert!(set.set_at >= before - SignedDuration::from_secs(1));
    assert_eq!(store.baseline("main").unwrap(), Some(set.clone()));

    // Moving it, by unique prefix.
    let moved = store.set_baseline("main", "0190b6a8-0002").unwrap();
    assert_eq!(moved.run_id, rid(2));
    assert_eq!(store.baseline("main").unwrap().unwrap().run_id, rid(2));
    store.set_baseline("v1.2", &rid(1)).unwrap();
    let names: Vec<_> = store.list_baselines().unwrap().into_iter().map(|b| (b.name, b.run_id)).collect();
    assert_eq!(names, vec![("main".to_string(), rid(2)), ("v1.2".to_string(), rid(1))]);

    assert_eq!(store.set_baseline("x", &rid(77)).unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(store.set_baseline("", &rid(1)).unwrap_err().kind(), ErrorKind::Invalid);
    assert!(store.delete_baseline("main").unwrap());
    assert!(!store.delete_baseline("main").unwrap());
    assert_eq!(store.baseline("main").unwrap(), None);
    assert_eq!(store.list_baselines().unwrap().len(), 1);
    // Deleting a baseline keeps its run.
    assert!(store.run(&rid(2)).unwrap().is_some());
}

fn history_is_oldest_first_and_limited(fx: &dyn Fixture) {
    let mut store = fx.open();
    // Written out of time order; history must still come back oldest first.
    for i in [3u32, 0, 4, 1, 2] {
        let mut r = report(&rid(i), nth_time(i64::from(i)));
        r.benchmarks[0].metrics.get_mut("wall").expect("wall").median = f64::from(i) + 0.5;
        store.insert_run(&r).unwrap();
    }
    let h = store.history(&sort_small(), "wall", None).unwrap();
    assert_eq!(h.len(), 5);
    let ids: Vec<_> = h.iter().map(|p| p.run_id.clone()).collect();
    assert_eq!(ids, (0..5).map(rid).collect::<Vec<_>>());
    for (i, p) in h.iter().enumerate() {
        assert_eq!(p.time, nth_time(i as i64));
        assert_eq!(p.median, i as f64 + 0.5);
        assert_eq!(p.commit.as_deref(), Some(format!("c0ffee{}", rid(0).len()).as_str()));
        assert!(p.ci95[0] <= p.ci95[1]);
    }
    let last2 = store.history(&sort_small(), "wall", Some(2)).unwrap();
    assert_eq!(last2, h[3..].to_vec());
    assert_eq!(store.history(&sort_small(), "wall", Some(100)).unwrap(), h);
    assert!(store.history(&sort_small(), "wall", Some(0)).unwrap().is_empty());
    assert!(store.history(&sort_small(), "nope", None).unwrap().is_empty());
    // The detector's lean read returns the same medians in the same order.
    let medians: Vec<f64> = h.iter().map(|p| p.median).collect();
    assert_eq!(store.history_medians(&sort_small(), "wall").unwrap(), medians);
    assert!(store.history_medians(&sort_small(), "nope").unwrap().is_empty());
    assert!(store.history(&CaseId::new("sort", [("n", "1")]), "wall", None).unwrap().is_empty());
    // The parameterless case and a custom metric have their own series.
    let import = CaseId::new("import", Vec::<(String, String)>::new());
    assert_eq!(store.history(&import, "cache_hit_rate", None).unwrap().len(), 5);
}

fn list_series_lists_every_case_and_metric(fx: &dyn Fixture) {
    let mut store = fx.open();
    assert!(store.list_series().unwrap().is_empty());
    store.insert_run(&report(&rid(1), base_time())).unwrap();
    store.insert_run(&report(&rid(2), nth_time(1))).unwrap();
    let series = store.list_series().unwrap();
    assert_eq!(series.len(), 9, "3 cases × 3 metrics: {series:#?}");
    let wall =
        series.iter().find(|s| s.case == sort_small() && s.metric == "wall").expect("sort[n=1000] wall");
    assert_eq!((wall.unit.as_str(), wall.better, wall.points), ("s", Better::Lower, 2));
    let hit = series.iter().find(|s| s.metric == "cache_hit_rate").expect("custom metric");
    assert_eq!(hit.better, Better::Higher);
    let mut sorted = series.clone();
    sorted.sort_by(|a, b| (&a.case.name, &a.metric).cmp(&(&b.case.name, &b.metric)));
    assert_eq!(
        series.iter().map(|s| &s.case.name).collect::<Vec<_>>(),
        sorted.iter().map(|s| &s.case.name).collect::<Vec<_>>()
    );
}

fn prune_never_deletes_baseline_runs(fx: &dyn Fixture) {
    let mut store = fx.open();
    for i in 0..6 {
        store.insert_run(&report(&rid(i), nth_time(i64::from(i)))).unwrap();
    }
    store.set_baseline("main", &rid(0)).unwrap();
    store.set_baseline("old", &rid(1)).unwrap();
    // Keep the 2 newest (4, 5) plus the baseline runs (0, 1): 2 and 3 go.
    assert_eq!(store.prune(&PrunePolicy::KeepLast(2)).unwrap(), 2);
    let left: Vec<_> = store.list_runs(&RunFilter::default()).unwrap().into_iter().map(|m| m.id).collect();
    assert_eq!(left, vec![rid(5), rid(4), rid(1), rid(0)]);
    assert_eq!(store.run(&rid(0)).unwrap(), Some(report(&rid(0), nth_time(0))));
    assert_eq!(store.run(&rid(2)).unwrap(), None);
    let h: Vec<_> =
        store.history(&sort_small(), "wall", None).unwrap().into_iter().map(|p| p.run_id).collect();
    assert_eq!(h, vec![rid(0), rid(1), rid(4), rid(5)]);
    // Nothing to do: nothing deleted; KeepLast(0) still keeps baselines.
    assert_eq!(store.prune(&PrunePolicy::KeepLast(10)).unwrap(), 0);
    assert_eq!(store.prune(&PrunePolicy::KeepLast(0)).unwrap(), 2);
    assert_eq!(store.list_runs(&RunFilter::default()).unwrap().len(), 2);
    assert_eq!(store.baseline("main").unwrap().unwrap().run_id, rid(0));
    store.integrity_check().unwrap();
}

fn prune_older_than(fx: &dyn Fixture) {
    let mut store = fx.open();
    for i in 0..5 {
        store.insert_run(&report(&rid(i), nth_time(i64::from(i)))).unwrap();
    }
    store.set_baseline("b", &rid(1)).unwrap();
    // Strictly older than run 3's start: 0 and 2 go, 1 is a baseline, 3 is not older.
    assert_eq!(store.prune(&PrunePolicy::OlderThan(nth_time(3))).unwrap(), 2);
    let left: Vec<_> = store.list_runs(&RunFilter::default()).unwrap().into_iter().map(|m| m.id).collect();
    assert_eq!(left, vec![rid(4), rid(3), rid(1)]);
    store.integrity_check().unwrap();
}

/// Issue 19, item 1: `prune --keep-last 1` (or `--older-than 0s`) deleted runs that other
/// perfwatch processes were still measuring. An incomplete run whose lease holds is spared by
/// every policy — also one dated years back, as `backfill` dates its runs — and one whose
/// lease ran out (its perfwatch died) is reaped whatever the policy.
fn prune_spares_runs_still_being_measured(fx: &dyn Fixture) {
    let mut store = fx.open();
    for i in 0..3 {
        store.insert_run(&report(&rid(i), nth_time(i64::from(i)))).unwrap();
    }
    let in_ten_minutes = Timestamp::now() + SignedDuration::from_mins(10);
    // Begun a second ago and still being measured, one case written so far.
    let live = report(&rid(10), Timestamp::now() - SignedDuration::from_secs(1));
    store.begin_run(&live.run).unwrap();
    store.renew_lease(&live.run.id, in_ten_minutes).unwrap();
    store.add_case(&live.run.id, &live.benchmarks[0]).unwrap();
    // A backfill run, dated at its commit two years ago, being measured now.
    let dated = report(&rid(12), Timestamp::now() - SignedDuration::from_hours(2 * 365 * 24));
    store.begin_run(&dated.run).unwrap();
    store.renew_lease(&dated.run.id, in_ten_minutes).unwrap();
    // Begun an hour ago; its lease ran out a minute ago: its perfwatch died.
    let dead = report(&rid(11), Timestamp::now() - SignedDuration::from_hours(1));
    store.begin_run(&dead.run).unwrap();
    store.renew_lease(&dead.run.id, Timestamp::now() - SignedDuration::from_mins(1)).unwrap();
    // Begun two days ago by a perfwatch from before leases, never finished.
    let legacy = report(&rid(13), Timestamp::now() - SignedDuration::from_hours(48));
    store.begin_run(&legacy.run).unwrap();

    // Keeping the newest ten would keep every run: only the abandoned ones go.
    assert_eq!(store.prune(&PrunePolicy::KeepLast(10)).unwrap(), 2, "the dead run and the legacy one");
    assert_eq!(store.prune(&PrunePolicy::OlderThan(Timestamp::now())).unwrap(), 3, "the 3 old runs");
    assert_eq!(store.prune(&PrunePolicy::KeepLast(0)).unwrap(), 0);
    let mut left: Vec<_> =
        store.list_runs(&RunFilter::default()).unwrap().into_iter().map(|m| m.id).collect();
    left.sort();
    assert_eq!(left, vec![rid(10), rid(12)]);
    // The live run goes on as if nothing happened.
    store.add_case(&live.run.id, &live.benchmarks[1]).unwrap();
    store.finish_run(&live.run.id, RunStatus::Complete, Timestamp::now()).unwrap();
    assert_eq!(store.run(&rid(10)).unwrap().unwrap().benchmarks, live.benchmarks[..2].to_vec());
    // Finished, it is an ordinary run again.
    assert_eq!(store.prune(&PrunePolicy::KeepLast(0)).unwrap(), 1);
    assert!(matches!(store.renew_lease(&rid(99), in_ten_minutes), Err(e) if e.kind() == ErrorKind::NotFound));
    store.integrity_check().unwrap();
}

/// Issue 19: a run still being measured (or killed) showed in every history, so `detect` and
/// the dashboard judged half a run — and a killed run's points for ever. Series reads now
/// leave incomplete runs out, in every form, until they finish.
fn series_reads_leave_out_incomplete_runs(fx: &dyn Fixture) {
    let mut store = fx.open();
    for i in 0..3 {
        store.insert_run(&report(&rid(i), nth_time(i64::from(i)))).unwrap();
    }
    // Dated between the second and third runs, so that it would shift positions after it.
    let running = report(&rid(5), nth_time(1) + SignedDuration::from_mins(30));
    store.begin_run(&running.run).unwrap();
    store.add_case(&running.run.id, &running.benchmarks[0]).unwrap();
    // A series only the incomplete run has measured is not listed at all.
    let mut only = running.benchmarks[2].clone();
    only.case = CaseId::new("only_in_the_running_run", Vec::<(String, String)>::new());
    store.add_case(&running.run.id, &only).unwrap();
    let points = |store: &mut Box<dyn Store>| {
        let series = store.list_series().unwrap();
        let listed = series.iter().find(|s| s.case == sort_small() && s.metric == "wall").unwrap().points;
        let history = store.history(&sort_small(), "wall", None).unwrap();
        let medians = store.history_medians(&sort_small(), "wall").unwrap();
        assert_eq!(medians, history.iter().map(|p| p.median).collect::<Vec<_>>());
        (listed, history.len(), history.iter().map(|p| p.run_id.clone()).collect::<Vec<_>>())
    };
    assert_eq!(points(&mut store), (3, 3, (0..3).map(rid).collect()));
    let series = store.list_series().unwrap();
    assert!(series.iter().all(|s| s.case.name != "only_in_the_running_run"), "{series:?}");
    // Change points keep their positions in the history without the incomplete run.
    let cp = ChangePoint { run_id: Some(rid(2)), ..ChangePoint::at(2, 1.0, 2.0, 1.0, 1e-4, Better::Lower) };
    store.replace_change_points(&sort_small(), "wall", 3, std::slice::from_ref(&cp)).unwrap();
    let stored = store.change_points(&sort_small(), "wall").unwrap().unwrap();
    assert_eq!(stored.iter().map(|c| c.index).collect::<Vec<_>>(), [2]);
    // Finished, the run joins every history.
    store.finish_run(&running.run.id, RunStatus::Interrupted, nth_time(6)).unwrap();
    assert_eq!(points(&mut store), (4, 4, vec![rid(0), rid(1), rid(5), rid(2)]));
    let stored = store.change_points(&sort_small(), "wall").unwrap().unwrap();
    assert_eq!(stored.iter().map(|c| c.index).collect::<Vec<_>>(), [3]);
}

fn insert_run_is_idempotent(fx: &dyn Fixture) {
    let mut store = fx.open();
    let r = report(&rid(1), base_time());
    assert!(store.insert_run(&r).unwrap());
    assert!(!store.insert_run(&r).unwrap());
    // Even a different body under the same id does not duplicate or overwrite.
    let mut other = r.clone();
    other.benchmarks.truncate(1);
    assert!(!store.insert_run(&other).unwrap());
    assert_eq!(store.list_runs(&RunFilter::default()).unwrap().len(), 1);
    assert_eq!(store.history(&sort_small(), "wall", None).unwrap().len(), 1);
    assert_eq!(store.run(&rid(1)).unwrap(), Some(r));
    // Re-opening and inserting again is still a no-op.
    drop(store);
    let mut store = fx.open();
    assert!(!store.insert_run(&report(&rid(1), base_time())).unwrap());
    assert_eq!(store.list_runs(&RunFilter::default()).unwrap().len(), 1);
}

fn prefix_lookup(fx: &dyn Fixture) {
    let mut store = fx.open();
    store.insert_run(&report("abc-111", base_time())).unwrap();
    store.insert_run(&report("abc-122", nth_time(1))).unwrap();
    store.insert_run(&report("abd", nth_time(2))).unwrap();
    // An id that is a prefix of another one is found exactly.
    store.insert_run(&report("abc-1", nth_time(3))).unwrap();

    assert_eq!(store.run("abc-11").unwrap().unwrap().run.id, "abc-111");
    assert_eq!(store.resolve_run_id("abd").unwrap().as_deref(), Some("abd"));
    assert_eq!(store.resolve_run_id("abc-1").unwrap().as_deref(), Some("abc-1"));
    assert_eq!(store.resolve_run_id("zzz").unwrap(), None);
    assert_eq!(store.run("zzz").unwrap(), None);
    let err = store.run("abc-").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Ambiguous);
    let msg = err.to_string();
    assert!(msg.contains("abc-111") && msg.contains("abc-122"), "{msg}");
    assert_eq!(store.run("ab").unwrap_err().kind(), ErrorKind::Ambiguous);
    assert_eq!(store.run("").unwrap_err().kind(), ErrorKind::Invalid);
    // LIKE wildcards in a prefix are literal characters.
    assert_eq!(store.resolve_run_id("ab_").unwrap(), None);
    assert_eq!(store.resolve_run_id("%").unwrap(), None);
    // Prefix matching is case-sensitive and exact.
    assert_eq!(store.resolve_run_id("ABD").unwrap(), None);
    assert_eq!(store.previous_run("abd", false).unwrap().unwrap().id, "abc-122");
}

fn migrations_are_idempotent(fx: &dyn Fixture) {
    let r = report(&rid(1), base_time());
    {
        let mut store = fx.open();
        store.insert_run(&r).unwrap();
    }
    for _ in 0..3 {
        let mut store = fx.open();
        store.integrity_check().unwrap();
        assert_eq!(store.run(&rid(1)).unwrap().as_ref(), Some(&r));
    }
    // Two stores open on the same database at once.
    let mut a = fx.open();
    let mut b = fx.open();
    a.insert_run(&report(&rid(2), nth_time(1))).unwrap();
    assert_eq!(b.list_runs(&RunFilter::default()).unwrap().len(), 2);
}

fn names_are_stored_literally(fx: &dyn Fixture) {
    let nasty = [
        "it's",
        "say \"hi\"",
        "x'); DROP TABLE runs; --",
        "<script>alert('x')</script>&amp;",
        "100% _done_ \\ back\\slash",
        "ünï😀code\ttab\nnewline",
        "a[b=c,d]",
        "$1 ?1 :name @x",
    ];
    let mut store = fx.open();
    for (i, name) in nasty.iter().enumerate() {
        let mut r = report(&format!("{name}-{i}"), nth_time(i as i64));
        r.run.labels = [(name.to_string(), name.to_string())].into();
        r.run.host.hostname = name.to_string();
        r.run.host.fingerprint = name.to_string();
        r.run.suite_hash = name.to_string();
        if let Some(g) = r.run.git.as_mut() {
            g.commit = name.to_string();
            g.branch = Some(name.to_string());
        }
        let mut c = case(name, &[(name, name), ("n", "1")], 0.5);
        let wall = c.metrics.get("wall").expect("wall").clone();
        c.metrics.insert(name.to_string(), wall);
        if let Some(f) = c.failure.as_mut() {
            f.stderr_tail = name.to_string();
        }
        c.raw[0].metrics.insert(name.to_string(), 1.0);
        r.benchmarks = vec![c];
        assert!(store.insert_run(&r).unwrap());
        assert_eq!(store.run(&r.run.id).unwrap(), Some(r.clone()), "{name}");
        let id = CaseId::new(*name, [(*name, *name), ("n", "1")]);
        let h = store.history(&id, name, None).unwrap();
        assert_eq!(h.len(), 1, "{name}");
        assert_eq!(h[0].commit.as_deref(), Some(*name));
        store.set_baseline(name, &r.run.id).unwrap();
        assert_eq!(store.baseline(name).unwrap().unwrap().run_id, r.run.id);
        let by_host = RunFilter { host_fingerprint: Some(name.to_string()), ..Default::default() };
        assert_eq!(store.list_runs(&by_host).unwrap().len(), 1, "{name}");
    }
    assert_eq!(store.list_runs(&RunFilter::default()).unwrap().len(), nasty.len());
    assert_eq!(store.list_baselines().unwrap().len(), nasty.len());
    let series = store.list_series().unwrap();
    for name in nasty {
        assert!(series.iter().any(|s| s.case.name == name && s.metric == name), "{name}");
    }
    store.integrity_check().unwrap();
}

fn list_runs_filters_and_previous_run(fx: &dyn Fixture) {
    let mut store = fx.open();
    for i in 0..6u32 {
        let mut r = report(&rid(i), nth_time(i64::from(i)));
        r.run.host = host(if i % 2 == 0 { "even" } else { "odd" });
        if i == 5 {
            r.run.status = RunStatus::Interrupted;
        }
        store.insert_run(&r).unwrap();
    }
    // A run starting at the same instant as run 3: ordered by id after it.
    let mut twin = report("0190b6a8-0003-7000-8000-000000000001", nth_time(3));
    twin.run.host = host("odd");
    store.insert_run(&twin).unwrap();

    let ids = |v: Vec<RunMeta>| v.into_iter().map(|m| m.id).collect::<Vec<_>>();
    let all = ids(store.list_runs(&RunFilter::default()).unwrap());
    assert_eq!(all, vec![rid(5), rid(4), twin.run.id.clone(), rid(3), rid(2), rid(1), rid(0)]);
    let f = RunFilter { limit: Some(2), ..Default::default() };
    assert_eq!(ids(store.list_runs(&f).unwrap()), vec![rid(5), rid(4)]);
    let f = RunFilter { host_fingerprint: Some("even".into()), ..Default::default() };
    assert_eq!(ids(store.list_runs(&f).unwrap()), vec![rid(4), rid(2), rid(0)]);
    let f = RunFilter { status: Some(RunStatus::Complete), limit: Some(1), ..Default::default() };
    assert_eq!(ids(store.list_runs(&f).unwrap()), vec![rid(4)]);
    let f = RunFilter { before: Some(nth_time(3)), ..Default::default() };
    assert_eq!(ids(store.list_runs(&f).unwrap()), vec![rid(2), rid(1), rid(0)]);
    let f = RunFilter { since: Some(nth_time(4)), ..Default::default() };
    assert_eq!(ids(store.list_runs(&f).unwrap()), vec![rid(5), rid(4)]);
    let f = RunFilter {
        before: Some(nth_time(4)),
        since: Some(nth_time(1)),
        host_fingerprint: Some("odd".into()),
        ..Default::default()
    };
    assert_eq!(ids(store.list_runs(&f).unwrap()), vec![twin.run.id.clone(), rid(3), rid(1)]);

    assert_eq!(store.latest_run(&RunFilter::default()).unwrap().unwrap().id, rid(5));
    let f = RunFilter { host_fingerprint: Some("none".into()), ..Default::default() };
    assert_eq!(store.latest_run(&f).unwrap(), None);

    let prev = |s: &mut dyn Store, id: &str, same: bool| s.previous_run(id, same).unwrap().map(|m| m.id);
    assert_eq!(prev(&mut *store, &rid(5), false), Some(rid(4)));
    assert_eq!(prev(&mut *store, &rid(5), true), Some(twin.run.id.clone()));
    assert_eq!(prev(&mut *store, &twin.run.id, false), Some(rid(3)));
    assert_eq!(prev(&mut *store, &rid(4), false), Some(twin.run.id.clone()));
    assert_eq!(prev(&mut *store, &rid(1), true), None);
    assert_eq!(prev(&mut *store, &rid(0), false), None);
}

fn integrity_check_passes(fx: &dyn Fixture) {
    let mut store = fx.open();
    store.integrity_check().unwrap();
    store.insert_run(&report(&rid(1), base_time())).unwrap();
    store.integrity_check().unwrap();
    store.compact().unwrap();
    store.integrity_check().unwrap();
}

/// A profile whose frames have spaces, punctuation and non-ASCII letters, with costs up to
/// `u64::MAX / 4`, and enough call paths that it compresses like a real one.
fn rich_profile() -> Profile {
    let mut stacks: BTreeMap<String, u64> = (0..3000u64)
        .map(|i| {
            let path = format!(
                "main;perfwatch::run (src/main.rs:{i});<alloc::vec::Vec<T> as Drop>::drop;f_{}",
                i % 97
            );
            (path, u64::MAX / 4 - i)
        })
        .collect();
    stacks.insert("main;ünïcödé 😀 frame;naïve sort (in /usr/lib/x86_64-linux-gnu/libc.so.6)".into(), 1);
    stacks.insert("python3;<module> (bench.py:12);sort (sort.py:40)".into(), u64::MAX / 4);
    stacks.insert("[unknown];0x7f3a00c0ffee".into(), 0);
    Profile { profiler: Profiler::Callgrind, stacks }
}

fn small_profile(profiler: Profiler, cost: u64) -> Profile {
    Profile { profiler, stacks: [("main;sort;partition".to_string(), cost)].into() }
}

fn profiles_round_trip(fx: &dyn Fixture) {
    let mut store = fx.open();
    store.insert_run(&report(&rid(1), base_time())).unwrap();
    store.insert_run(&report(&rid(2), nth_time(1))).unwrap();
    let case = sort_small();
    assert_eq!(store.profile(&rid(1), &case).unwrap(), None);
    let rich = rich_profile();
    store.add_profile(&rid(1), &case, &rich).unwrap();
    assert_eq!(store.profile(&rid(1), &case).unwrap().as_ref(), Some(&rich));
    // Stored compressed: the blob is a small fraction of the folded text.
    let stored = fx.raw_i64("SELECT CAST(octet_length(folded) AS BIGINT) FROM profiles");
    assert!(stored * 10 < rich.to_folded().len() as i64, "{stored} bytes stored");

    // Unknown cases, other runs and unknown runs have none.
    let sort_big = CaseId::new("sort", [("n", "100000"), ("algo", "quick")]);
    assert_eq!(store.profile(&rid(1), &sort_big).unwrap(), None);
    assert_eq!(store.profile(&rid(1), &CaseId::new("sort", [("n", "1000")])).unwrap(), None);
    assert_eq!(store.profile(&rid(1), &CaseId::new("nope", Vec::<(String, String)>::new())).unwrap(), None);
    assert_eq!(store.profile(&rid(2), &case).unwrap(), None);
    assert_eq!(store.profile("no-such-run", &case).unwrap(), None);

    // Each case of a run has its own; a case needs no case row; an empty profile is a profile.
    let import = CaseId::new("import", Vec::<(String, String)>::new());
    let odd = CaseId::new("it's \"odd\" ü", [("k=v", "a,b"), ("$1", "?1")]);
    store.add_profile(&rid(1), &import, &small_profile(Profiler::PySpy, 3)).unwrap();
    store.add_profile(&rid(1), &odd, &small_profile(Profiler::Perf, 4)).unwrap();
    let empty = Profile { profiler: Profiler::Perf, stacks: BTreeMap::new() };
    store.add_profile(&rid(2), &case, &empty).unwrap();
    assert_eq!(store.profile(&rid(1), &import).unwrap(), Some(small_profile(Profiler::PySpy, 3)));
    assert_eq!(store.profile(&rid(1), &odd).unwrap(), Some(small_profile(Profiler::Perf, 4)));
    assert_eq!(store.profile(&rid(2), &case).unwrap(), Some(empty));
    assert_eq!(store.profile(&rid(1), &case).unwrap().as_ref(), Some(&rich));
    // The runs themselves are unchanged.
    assert_eq!(store.run(&rid(1)).unwrap(), Some(report(&rid(1), base_time())));

    // Survives reopening, also through a reconnecting store.
    drop(store);
    let mut store = perfwatch_store::open_reconnecting(&fx.url()).unwrap();
    assert_eq!(store.profile(&rid(1), &case).unwrap(), Some(rich));
    store.add_profile(&rid(2), &import, &small_profile(Profiler::Callgrind, 9)).unwrap();
    assert_eq!(store.profile(&rid(2), &import).unwrap(), Some(small_profile(Profiler::Callgrind, 9)));
    store.integrity_check().unwrap();
}

/// `profiled_cases` names exactly the cases of a run that have a profile (odd names and
/// parameters come back as written), in the same order on both backends, and follows
/// replacements and deletions.
fn profiled_cases_lists_a_runs_profiles(fx: &dyn Fixture) {
    let mut store = fx.open();
    store.insert_run(&report(&rid(1), base_time())).unwrap();
    store.insert_run(&report(&rid(2), nth_time(1))).unwrap();
    assert_eq!(store.profiled_cases(&rid(1)).unwrap(), vec![]);
    assert_eq!(store.profiled_cases("no-such-run").unwrap(), vec![]);
    let odd = CaseId::new("it's \"odd\" ü", [("k=v", "a,b"), ("$1", "?1")]);
    let import = CaseId::new("import", Vec::<(String, String)>::new());
    let big = CaseId::new("sort", [("n", "100000")]);
    for case in [&odd, &big, &sort_small(), &import] {
        store.add_profile(&rid(1), case, &small_profile(Profiler::Callgrind, 5)).unwrap();
    }
    store.add_profile(&rid(2), &import, &small_profile(Profiler::Perf, 1)).unwrap();
    // By name, then by the stored text of the parameters (`{"n":"1000"}` < `{"n":"100000"}`).
    let want = vec![import.clone(), odd.clone(), sort_small(), big.clone()];
    assert_eq!(store.profiled_cases(&rid(1)).unwrap(), want);
    assert_eq!(store.profiled_cases(&rid(2)).unwrap(), vec![import.clone()]);
    // A replaced profile is listed once; a prefix names no run.
    store.add_profile(&rid(1), &odd, &small_profile(Profiler::Perf, 7)).unwrap();
    assert_eq!(store.profiled_cases(&rid(1)).unwrap(), want);
    assert_eq!(store.profiled_cases(&rid(1)[..8]).unwrap(), vec![]);
    // Deleted with their run; through a reconnecting store as well.
    store.prune(&PrunePolicy::KeepLast(1)).unwrap();
    assert_eq!(store.profiled_cases(&rid(1)).unwrap(), vec![]);
    drop(store);
    let mut store = perfwatch_store::open_reconnecting(&fx.url()).unwrap();
    assert_eq!(store.profiled_cases(&rid(2)).unwrap(), vec![import]);
}

fn add_profile_replaces_and_needs_the_run(fx: &dyn Fixture) {
    let mut store = fx.open();
    store.insert_run(&report(&rid(1), base_time())).unwrap();
    let case = sort_small();
    store.add_profile(&rid(1), &case, &rich_profile()).unwrap();
    // A second profile of the same case replaces the first, profiler and all.
    let second = small_profile(Profiler::Perf, u64::MAX / 4);
    store.add_profile(&rid(1), &case, &second).unwrap();
    assert_eq!(store.profile(&rid(1), &case).unwrap().as_ref(), Some(&second));
    assert_eq!(fx.raw_i64("SELECT COUNT(*) FROM profiles"), 1);

    // Only stored runs, by full id: a prefix is not enough for a writer.
    for run in ["no-such-run", "0190b6a8"] {
        let err = store.add_profile(run, &case, &second).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{run}: {err}");
        assert_eq!(store.profile(run, &case).unwrap(), None);
    }
    // A run that is being measured takes profiles as it goes.
    let live = report(&rid(2), nth_time(1));
    store.begin_run(&live.run).unwrap();
    store.add_profile(&rid(2), &case, &second).unwrap();
    // A call path folded text cannot hold is refused, and the stored profile is kept.
    for bad in ["main;f\nmain;g", " main;f", "main;f "] {
        let p = Profile { profiler: Profiler::Perf, stacks: [(bad.to_string(), 1)].into() };
        assert_eq!(store.add_profile(&rid(1), &case, &p).unwrap_err().kind(), ErrorKind::Invalid, "{bad:?}");
    }
    assert_eq!(store.profile(&rid(1), &case).unwrap(), Some(second));
    assert_eq!(fx.raw_i64("SELECT COUNT(*) FROM profiles"), 2);
    store.integrity_check().unwrap();
}

fn profiles_go_with_their_run(fx: &dyn Fixture) {
    let mut store = fx.open();
    let case = sort_small();
    for i in 0..3 {
        store.insert_run(&report(&rid(i), nth_time(i64::from(i)))).unwrap();
        store.add_profile(&rid(i), &case, &small_profile(Profiler::Callgrind, u64::from(i))).unwrap();
        let import = CaseId::new("import", Vec::<(String, String)>::new());
        store.add_profile(&rid(i), &import, &rich_profile()).unwrap();
    }
    store.set_baseline("main", &rid(0)).unwrap();
    // Keep the newest (2) and the baseline's run (0): run 1 goes, with its profiles.
    assert_eq!(store.prune(&PrunePolicy::KeepLast(1)).unwrap(), 1);
    assert_eq!(store.profile(&rid(1), &case).unwrap(), None);
    assert_eq!(store.profile(&rid(0), &case).unwrap(), Some(small_profile(Profiler::Callgrind, 0)));
    assert_eq!(store.profile(&rid(2), &case).unwrap(), Some(small_profile(Profiler::Callgrind, 2)));
    assert_eq!(fx.raw_i64("SELECT COUNT(*) FROM profiles"), 4);
    assert_eq!(fx.raw_i64(&format!("SELECT COUNT(*) FROM profiles WHERE run_id = '{}'", rid(1))), 0);
    store.integrity_check().unwrap();
    // A run that is stored again starts without profiles.
    store.insert_run(&report(&rid(1), nth_time(1))).unwrap();
    assert_eq!(store.profile(&rid(1), &case).unwrap(), None);
    assert!(store.delete_baseline("main").unwrap());
    assert_eq!(store.prune(&PrunePolicy::OlderThan(nth_time(10))).unwrap(), 3);
    assert_eq!(fx.raw_i64("SELECT COUNT(*) FROM profiles"), 0);
    store.integrity_check().unwrap();
}

fn corrupt_profiles_are_corrupt_errors(fx: &dyn Fixture) {
    let mut store = fx.open();
    store.insert_run(&report(&rid(1), base_time())).unwrap();
    let case = sort_small();
    store.add_profile(&rid(1), &case, &rich_profile()).unwrap();
    // Cut short behind the store's back: an error, not a panic and not a wrong profile.
    fx.raw("UPDATE profiles SET folded = substr(folded, 1, 20)");
    assert_eq!(store.profile(&rid(1), &case).unwrap_err().kind(), ErrorKind::Corrupt);
    store.add_profile(&rid(1), &case, &small_profile(Profiler::Perf, 1)).unwrap();
    fx.raw("UPDATE profiles SET profiler = 'gprof'");
    assert_eq!(store.profile(&rid(1), &case).unwrap_err().kind(), ErrorKind::Corrupt);
    // The rest of the store reads on, and a new profile mends it.
    assert!(store.run(&rid(1)).unwrap().is_some());
    store.add_profile(&rid(1), &case, &small_profile(Profiler::Perf, 2)).unwrap();
    assert_eq!(store.profile(&rid(1), &case).unwrap(), Some(small_profile(Profiler::Perf, 2)));
}

/// A store written before profiles (schema version 6) gets the table on its next open, keeps
/// its runs, and takes profiles; a store from a newer perfwatch (version 8) is refused.
fn a_version_6_store_is_migrated_to_7(fx: &dyn Fixture) {
    let r = report(&rid(1), base_time());
    fx.open().insert_run(&r).unwrap();
    assert_eq!(fx.raw_i64("SELECT MAX(version) FROM perfwatch_migrations"), 7);
    // Back to version 6, as a perfwatch from before profiles left it.
    fx.raw("DROP TABLE profiles; DELETE FROM perfwatch_migrations WHERE version = 7;");
    assert_eq!(fx.raw_i64("SELECT MAX(version) FROM perfwatch_migrations"), 6);

    let mut store = fx.open();
    assert_eq!(fx.raw_i64("SELECT MAX(version) FROM perfwatch_migrations"), 7);
    assert_eq!(fx.raw_i64("SELECT COUNT(*) FROM perfwatch_migrations WHERE version = 7"), 1);
    assert_eq!(store.run(&rid(1)).unwrap(), Some(r));
    store.add_profile(&rid(1), &sort_small(), &rich_profile()).unwrap();
    assert_eq!(store.profile(&rid(1), &sort_small()).unwrap(), Some(rich_profile()));
    store.integrity_check().unwrap();
    drop(store);
    // Reopening a current store changes nothing.
    fx.open().integrity_check().unwrap();
    assert_eq!(fx.raw_i64("SELECT COUNT(*) FROM perfwatch_migrations"), 7);

    fx.raw("INSERT INTO perfwatch_migrations (version, name, applied_at) VALUES (8, 'future', 'x')");
    let err = perfwatch_store::open(&fx.url()).err().expect("a newer schema is refused");
    assert_eq!(err.kind(), ErrorKind::TooNew);
    assert!(err.to_string().contains("(7)"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// SQLite only.

/// Eight writers, each with its own connection, write 20 runs each into one file at once:
/// every run arrives, nobody sees "database is locked", and the file is intact.
#[test]
fn sqlite_concurrent_writers_queue_instead_of_failing() {
    let fx = SqliteFx::new();
    let url = fx.url();
    let threads: Vec<_> = (0..8u32)
        .map(|th| {
            let url = url.clone();
            std::thread::spawn(move || {
                // Every thread opens the fresh file at the same moment: migrations race too.
                let mut store = perfwatch_store::open(&url).expect("open");
                for i in 0..20u32 {
                    let n = th * 100 + i;
                    let r = report(&rid(n), nth_time(i64::from(n)));
                    if i % 2 == 0 {
                        store.insert_run(&r).expect("insert_run");
                    } else {
                        store.begin_run(&r.run).expect("begin_run");
                        for c in &r.benchmarks {
                            store.add_case(&r.run.id, c).expect("add_case");
                        }
                        let end = r.run.ended_at.expect("end");
                        store.finish_run(&r.run.id, RunStatus::Complete, end).expect("finish");
                    }
                }
            })
        })
        .collect();
    for th in threads {
        th.join().expect("writer thread panicked");
    }
    let mut store = fx.open();
    store.integrity_check().unwrap();
    assert_eq!(store.list_runs(&RunFilter::default()).unwrap().len(), 160);
    assert_eq!(store.history(&sort_small(), "wall", None).unwrap().len(), 160);
    let r = store.run(&rid(702)).unwrap().expect("run 702 (written by insert_run)");
    assert!(r == report(&rid(702), nth_time(702)), "run 702 differs");
}

#[test]
fn sqlite_bad_urls_are_errors() {
    assert_eq!(perfwatch_store::open("").err().map(|e| e.kind()), Some(ErrorKind::Invalid));
    assert_eq!(perfwatch_store::open("mysql://x/y").err().map(|e| e.kind()), Some(ErrorKind::Invalid));
    assert_eq!(perfwatch_store::open("sqlite://").err().map(|e| e.kind()), Some(ErrorKind::Invalid));
    // A directory where the file should be.
    let dir = tempfile::tempdir().unwrap();
    let err = perfwatch_store::open(dir.path().to_str().unwrap()).err().expect("a directory");
    assert_eq!(err.kind(), ErrorKind::Backend);
}

#[test]
fn sqlite_bare_path_and_url_are_the_same_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.db");
    let mut a = perfwatch_store::open(path.to_str().unwrap()).unwrap();
    a.insert_run(&report(&rid(1), base_time())).unwrap();
    let mut b = perfwatch_store::open(&format!("sqlite:{}", path.display())).unwrap();
    assert!(b.run(&rid(1)).unwrap().is_some());
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_unreachable_server_is_a_clear_error() {
    let err = perfwatch_store::open("postgres://postgres@127.0.0.1:1/test?connect_timeout=2")
        .err()
        .expect("nothing listens on port 1");
    assert_eq!(err.kind(), ErrorKind::Backend);
    assert!(err.is_disconnected(), "{err}");
    assert!(err.to_string().contains("127.0.0.1:1"), "{err}");
    let err = perfwatch_store::open_reconnecting("postgres://postgres@127.0.0.1:1/test?connect_timeout=2")
        .err()
        .expect("nothing listens on port 1");
    assert!(err.is_disconnected(), "{err}");
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL only.

/// Several writers open a fresh schema at once (migrations race under the advisory lock) and
/// write runs concurrently, two of them pushing the same run ids (idempotent ingest).
#[cfg(feature = "postgres")]
#[test]
fn postgres_concurrent_writers_and_duplicate_pushes() {
    let fx = PgFx::new();
    let url = fx.url();
    let threads: Vec<_> = (0..4u32)
        .map(|th| {
            let url = url.clone();
            std::thread::spawn(move || {
                let mut store = perfwatch_store::open(&url).expect("open");
                let mut inserted = 0;
                for i in 0..10u32 {
                    // Threads 0 and 1 push the same ids; 2 and 3 their own.
                    let group = if th < 2 { 0 } else { th };
                    let n = group * 100 + i;
                    let r = report(&rid(n), nth_time(i64::from(n)));
                    if store.insert_run(&r).expect("insert_run") {
                        inserted += 1;
                    }
                }
                inserted
            })
        })
        .collect();
    let inserted: u32 = threads.into_iter().map(|t| t.join().expect("writer panicked")).sum();
    let mut store = fx.open();
    let runs = store.list_runs(&RunFilter::default()).unwrap();
    assert_eq!(runs.len(), 30);
    assert_eq!(inserted, 30);
    assert_eq!(store.history(&sort_small(), "wall", None).unwrap().len(), 30);
    store.integrity_check().unwrap();
}

fn change_points_keep_alerts_and_follow_their_runs(fx: &dyn Fixture) {
    let mut store = fx.open();
    for i in 0..4 {
        store.insert_run(&report(&rid(i), nth_time(i as i64))).unwrap();
    }
    let case = sort_small();
    let cp = |run: u32, change: f64| ChangePoint {
        run_id: Some(rid(run)),
        ..ChangePoint::at(run as usize, 1.0, 1.0 + change, change, 1e-4, Better::Lower)
    };
    // Stored points come back placed on the history: index, commit and time of their run.
    let placed = |run: u32, change: f64| ChangePoint {
        commit: Some(format!("c0ffee{}", rid(run).len())),
        time: Some(nth_time(run as i64)),
        ..cp(run, change)
    };
    assert_eq!(store.change_points(&case, "wall").unwrap(), None, "not analysed yet");
    store.replace_change_points(&case, "wall", 4, &[cp(2, 0.05)]).unwrap();
    assert_eq!(store.change_points(&case, "wall").unwrap(), Some(vec![placed(2, 0.05)]));
    // The first alert is new, the second is not.
    assert!(store.mark_alerted(&case, "wall", &rid(2)).unwrap());
    assert!(!store.mark_alerted(&case, "wall", &rid(2)).unwrap());
    // Re-detection keeps the flag of a point that stayed, drops one that vanished.
    store.replace_change_points(&case, "wall", 4, &[cp(1, -0.1), cp(2, 0.06)]).unwrap();
    let got = store.change_points(&case, "wall").unwrap().unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0], placed(1, -0.1));
    assert_eq!((got[1].run_id.clone(), got[1].new, got[1].change), (Some(rid(2)), false, 0.06));
    assert!(got[1].is_regression() && !got[0].is_regression());
    store.replace_change_points(&case, "wall", 4, &[cp(2, 0.06)]).unwrap();
    assert_eq!(store.change_points(&case, "wall").unwrap().map(|v| v.len()), Some(1));
    // "Analysed, no change point" is an answer too.
    store.replace_change_points(&case, "wall", 4, &[]).unwrap();
    assert_eq!(store.change_points(&case, "wall").unwrap(), Some(vec![]));
    store.replace_change_points(&case, "wall", 4, &[cp(2, 0.06)]).unwrap();
    // Unknown series and runs are ignored; other series are untouched.
    store.replace_change_points(&CaseId::new("nope", [("a", "b")]), "wall", 4, &[cp(2, 0.1)]).unwrap();
    store.replace_change_points(&case, "cpu", 4, &[cp(77, 0.1)]).unwrap();
    assert_eq!(store.change_points(&case, "cpu").unwrap(), None, "the fixture has no cpu series");
    assert_eq!(store.change_points(&case, "wall").unwrap().map(|v| v.len()), Some(1));
    // Pruning older runs moves the point's index with its run; pruning the run drops it.
    store.prune(&PrunePolicy::KeepLast(2)).unwrap();
    assert_eq!(store.change_points(&case, "wall").unwrap().unwrap()[0].index, 0);
    store.prune(&PrunePolicy::KeepLast(1)).unwrap();
    assert_eq!(store.change_points(&case, "wall").unwrap(), Some(vec![]));
}

fn tokens_are_created_listed_and_revoked(fx: &dyn Fixture) {
    let mut store = fx.open();
    let h1 = "a".repeat(64);
    let h2 = format!("{}{}", "0123456789abcdef".repeat(3), "fedcba9876543210");
    assert!(store.list_tokens().unwrap().is_empty());
    let t = store.create_token("ci-runner.1", TokenScope::Write, &h1).unwrap();
    assert_eq!((t.name.as_str(), t.scope, t.revoked_at), ("ci-runner.1", TokenScope::Write, None));
    store.create_token("dashboard", TokenScope::Read, &h2).unwrap();
    // A second active token of the same name is refused, whatever its hash.
    let err = store.create_token("dashboard", TokenScope::Write, &"b".repeat(64)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    // Names stay plain (they appear in logs); hashes must be SHA-256 hex.
    for bad in ["", "a b", "x'); DROP TABLE tokens; --", "<b>", &"n".repeat(65)] {
        let err = store.create_token(bad, TokenScope::Read, &"c".repeat(64)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Invalid, "{bad:?}");
    }
    assert_eq!(store.create_token("x", TokenScope::Read, "secret").unwrap_err().kind(), ErrorKind::Invalid);
    assert_eq!(
        store.create_token("x", TokenScope::Read, &"A".repeat(64)).unwrap_err().kind(),
        ErrorKind::Invalid
    );

    let active = store.active_tokens().unwrap();
    assert_eq!(active.len(), 2);
    assert_eq!(
        (active[0].name.as_str(), active[0].scope, active[0].hash.as_str()),
        ("ci-runner.1", TokenScope::Write, h1.as_str())
    );
    assert_eq!(
        (active[1].name.as_str(), active[1].scope, active[1].hash.as_str()),
        ("dashboard", TokenScope::Read, h2.as_str())
    );

    assert!(store.revoke_token("ci-runner.1").unwrap());
    assert!(!store.revoke_token("ci-runner.1").unwrap(), "already revoked");
    assert!(!store.revoke_token("nope").unwrap());
    let active = store.active_tokens().unwrap();
    assert_eq!(active.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["dashboard"]);
    let all = store.list_tokens().unwrap();
    assert_eq!(all.len(), 2);
    assert!(all[0].revoked_at.is_some() && all[1].revoked_at.is_none(), "{all:?}");
    // A revoked name can be reused with a new secret; the old hash is gone.
    store.create_token("ci-runner.1", TokenScope::Read, &"d".repeat(64)).unwrap();
    let active = store.active_tokens().unwrap();
    assert_eq!(active.len(), 2);
    assert!(active.iter().all(|t| t.hash != h1));
    // Survives reopening.
    drop(store);
    assert_eq!(fx.open().active_tokens().unwrap().len(), 2);
}

fn push_state_marks_runs_and_prune_keeps_unpushed(fx: &dyn Fixture) {
    let mut store = fx.open();
    for i in 0..5 {
        store.insert_run(&report(&rid(i), nth_time(i64::from(i)))).unwrap();
    }
    assert_eq!(store.push_state(&rid(0)).unwrap(), None);
    assert!(store.unpushed_runs().unwrap().is_empty());
    // Marked out of time order: listed oldest first.
    for i in [3, 0, 1] {
        store.set_push_state(&rid(i), Some(PushState::Unpushed)).unwrap();
    }
    assert_eq!(store.unpushed_runs().unwrap(), vec![rid(0), rid(1), rid(3)]);
    store.set_push_state(&rid(1), Some(PushState::Pushed)).unwrap();
    assert_eq!(store.push_state(&rid(1)).unwrap(), Some(PushState::Pushed));
    assert_eq!(store.push_state(&rid(3)).unwrap(), Some(PushState::Unpushed));
    assert_eq!(store.unpushed_runs().unwrap(), vec![rid(0), rid(3)]);
    assert_eq!(store.set_push_state("nope", None).unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(store.push_state("nope").unwrap_err().kind(), ErrorKind::NotFound);
    // The report itself is unchanged by the marker.
    assert_eq!(store.run(&rid(3)).unwrap(), Some(report(&rid(3), nth_time(3))));

    // Keep the newest one: 0 and 3 wait to be pushed, so only 1 and 2 go.
    assert_eq!(store.prune(&PrunePolicy::KeepLast(1)).unwrap(), 2);
    let left: Vec<_> = store.list_runs(&RunFilter::default()).unwrap().into_iter().map(|m| m.id).collect();
    assert_eq!(left, vec![rid(4), rid(3), rid(0)]);
    store.set_push_state(&rid(0), Some(PushState::Pushed)).unwrap();
    assert_eq!(store.prune(&PrunePolicy::OlderThan(nth_time(4))).unwrap(), 1);
    assert_eq!(store.unpushed_runs().unwrap(), vec![rid(3)]);
    store.set_push_state(&rid(3), None).unwrap();
    assert!(store.unpushed_runs().unwrap().is_empty());
    store.integrity_check().unwrap();
}

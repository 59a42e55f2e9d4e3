//! Store throughput: writes 1,000 runs × 50 cases × 30 samples, then reads one case's whole
//! history, on SQLite and on PostgreSQL. Plain `main`, printing figures.
//!
//! ```text
//! cargo bench -p perfwatch-store
//! PERFWATCH_BENCH_RUNS=200 cargo bench -p perfwatch-store     # smaller
//! PERFWATCH_TEST_PG_URL=postgres://… cargo bench -p perfwatch-store
//! ```
//! PostgreSQL is skipped (with a message) when the server cannot be reached; the bench works
//! in a `pw_bench_<uuid>` schema that it drops at the end.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use perfwatch_model::{
    Better, CaseId, CaseReport, CaseStatus, ExitKind, GitInfo, HostInfo, RunMeta, RunReport, RunStatus,
    Sample, Summary,
};
use perfwatch_store::{RunFilter, Store};

const CASES: usize = 50;
const SAMPLES: usize = 30;
/// Runs written through the incremental path (begin_run, add_case × 50, finish_run).
const INCREMENTAL_RUNS: usize = 20;
const READ_REPS: usize = 25;

/// A small deterministic generator (xorshift64*), so every run has different numbers.
struct Rng(u64);

impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn summary(unit: &str, values: &[f64]) -> Summary {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let q = |p: f64| sorted[((sorted.len() - 1) as f64 * p) as usize];
    Summary {
        unit: unit.into(),
        better: Better::Lower,
        n: values.len() as u32,
        median: q(0.5),
        ci95: [q(0.4), q(0.6)],
        mean: values.iter().sum::<f64>() / values.len() as f64,
        stddev: q(0.75) - q(0.25),
        mad: (q(0.75) - q(0.25)) / 2.0,
        min: q(0.0),
        max: q(1.0),
        p95: q(0.95),
        p99: q(0.99),
        outliers: 0,
        samples: values.to_vec(),
    }
}

fn make_report(i: usize, rng: &mut Rng) -> RunReport {
    let started = Timestamp::from_second(1_735_689_600).expect("valid") // 2025-01-01
        + SignedDuration::from_secs(i as i64 * 3600);
    let benchmarks = (0..CASES)
        .map(|c| {
            let raw: Vec<Sample> = (0..SAMPLES)
                .map(|_| {
                    let wall = 0.01 * (c + 1) as f64 * (1.0 + 0.05 * rng.next_f64());
                    Sample {
                        wall,
                        user: wall * 0.8,
                        sys: wall * 0.1,
                        max_rss: 50_000_000 + (rng.next_f64() * 1e6) as u64,
                        exit: ExitKind::Exited { code: 0 },
                        metrics: BTreeMap::new(),
                    }
                })
                .collect();
            let col = |f: &dyn Fn(&Sample) -> f64| raw.iter().map(f).collect::<Vec<_>>();
            let metrics = BTreeMap::from([
                ("wall".to_string(), summary("s", &col(&|s| s.wall))),
                ("user".to_string(), summary("s", &col(&|s| s.user))),
                ("sys".to_string(), summary("s", &col(&|s| s.sys))),
                ("cpu".to_string(), summary("s", &col(&|s| s.cpu()))),
                ("max_rss".to_string(), summary("bytes", &col(&|s| s.max_rss as f64))),
            ]);
            CaseReport {
                case: CaseId {
                    name: format!("bench{}", c / 5),
                    params: [("n".to_string(), format!("{}", 10usize.pow((c % 5) as u32 + 1)))].into(),
                },
                status: CaseStatus::Ok,
                runs: SAMPLES as u32,
                caveats: vec![],
                metrics,
                failure: None,
                raw,
            }
        })
        .collect();
    RunReport {
        schema_version: perfwatch_model::SCHEMA_VERSION,
        run: RunMeta {
            id: format!("{i:08x}-0190-7000-8000-000000000000"),
            started_at: started,
            ended_at: Some(started + SignedDuration::from_secs(60)),
            status: RunStatus::Complete,
            git: Some(GitInfo { commit: format!("{i:040x}"), branch: Some("main".into()), dirty: false }),
            host: HostInfo {
                fingerprint: "bench-host".into(),
                hostname: "bench".into(),
                cpu: "cpu".into(),
                cores: 2,
                memory_bytes: 8 << 30,
                os: "linux".into(),
                kernel: "6".into(),
                load_avg: [0.1, 0.2, 0.3],
                governor: None,
                gpu: None,
            },
            labels: BTreeMap::new(),
            perfwatch_version: "0.1.0".into(),
            suite_hash: "bench".into(),
        },
        benchmarks,
        budgets: vec![],
    }
}

fn median(mut d: Vec<Duration>) -> Duration {
    d.sort();
    d[d.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn bench(label: &str, store: &mut dyn Store, runs: usize) {
    println!("== {label}: {runs} runs × {CASES} cases × {SAMPLES} samples (5 metrics per case)");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);

    // Bulk path (push / ingest): one transaction per run.
    let mut write = Duration::ZERO;
    let t0 = Instant::now();
    for i in 0..runs {
        let report = make_report(i, &mut rng);
        let t = Instant::now();
        store.insert_run(&report).expect("insert_run");
        write += t.elapsed();
    }
    let total = t0.elapsed();
    println!(
        "insert_run:   {:.2} s in the store ({:.2} s with data generation), {} per run",
        write.as_secs_f64(),
        total.as_secs_f64(),
        ms(write / runs as u32)
    );

    // Incremental path (the runner): one transaction per case.
    let mut write = Duration::ZERO;
    for i in runs..runs + INCREMENTAL_RUNS {
        let report = make_report(i, &mut rng);
        let t = Instant::now();
        store.begin_run(&report.run).expect("begin_run");
        for case in &report.benchmarks {
            store.add_case(&report.run.id, case).expect("add_case");
        }
        store.finish_run(&report.run.id, RunStatus::Complete, report.run.started_at).expect("finish");
        write += t.elapsed();
    }
    println!(
        "incremental:  {} per run ({} per add_case), over {INCREMENTAL_RUNS} runs",
        ms(write / INCREMENTAL_RUNS as u32),
        ms(write / (INCREMENTAL_RUNS * CASES) as u32)
    );

    let case = CaseId::new("bench3", [("n", "1000")]);
    let mut full = Vec::new();
    let mut points = 0;
    for _ in 0..READ_REPS {
        let t = Instant::now();
        points = store.history(&case, "wall", None).expect("history").len();
        full.push(t.elapsed());
    }
    let mut last100 = Vec::new();
    for _ in 0..READ_REPS {
        let t = Instant::now();
        store.history(&case, "wall", Some(100)).expect("history");
        last100.push(t.elapsed());
    }
    println!(
        "history:      {points} points in {} (median of {READ_REPS}); last 100 in {}",
        ms(median(full)),
        ms(median(last100))
    );

    let latest = store.latest_run(&RunFilter::default()).expect("latest").expect("a run");
    let mut reads = Vec::new();
    for _ in 0..READ_REPS {
        let t = Instant::now();
        store.run(&latest.id[..8]).expect("run").expect("found");
        reads.push(t.elapsed());
    }
    let t = Instant::now();
    let series = store.list_series().expect("list_series").len();
    let list_series = t.elapsed();
    let t = Instant::now();
    let listed = store.list_runs(&RunFilter { limit: Some(50), ..Default::default() }).expect("list");
    println!(
        "run (by prefix, full report): {}; list_runs(50): {} ({} runs); list_series: {} ({series} series)",
        ms(median(reads)),
        ms(t.elapsed()),
        listed.len(),
        ms(list_series)
    );
    println!();
}

/// Drops the bench schema at the end, also after a panic.
struct DropSchema {
    base: String,
    schema: String,
}

impl Drop for DropSchema {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.base, postgres::NoTls) {
            let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.schema));
        }
    }
}

fn main() {
    let runs: usize = std::env::var("PERFWATCH_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);

    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bench.db");
    let mut store = perfwatch_store::open(path.to_str().expect("utf-8 path")).expect("open sqlite");
    bench("SQLite (WAL, synchronous=NORMAL)", &mut *store, runs);
    drop(store);
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!("SQLite file: {:.1} MB\n", size as f64 / 1e6);

    let base = std::env::var("PERFWATCH_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
    let schema = format!("pw_bench_{}", uuid::Uuid::now_v7().simple());
    let sep = if base.contains('?') { '&' } else { '?' };
    let _guard = DropSchema { base: base.clone(), schema: schema.clone() };
    match perfwatch_store::open(&format!("{base}{sep}schema={schema}")) {
        Ok(mut store) => bench("PostgreSQL", &mut *store, runs),
        Err(e) => println!("PostgreSQL skipped: {e}"),
    }
}

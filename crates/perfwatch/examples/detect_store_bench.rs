//! Benchmark (not a test): `perfwatch detect` over a store of 1,000 series × 1,000 points.
//!
//! Builds (once, cached) a SQLite store with 1,000 runs of 200 cases × 5 judged metrics
//! (wall, cpu, max_rss, throughput, one custom), some series with a 5 % step, then times the
//! real `perfwatch detect` binary end to end over every series, several times, and prints the
//! median. Run with:
//!
//! ```sh
//! cargo build --release -p perfwatch && cargo run --release -p perfwatch --example detect_store_bench
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use perfwatch_model::*;

const RUNS: usize = 1000;
const CASES: usize = 200;

fn main() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/tmp/detect-store-bench");
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("history.db");
    let url = format!("sqlite://{}", db.display());
    if !db.exists() {
        let t = Instant::now();
        let mut store = perfwatch_store::open(&url).unwrap();
        let start: jiff::Timestamp = "2025-01-01T00:00:00Z".parse().unwrap();
        let host = perfwatch_runner::host_info();
        let mut x: u64 = 42;
        let mut noise = move || {
            // xorshift: a fixed, dependency-free pseudo-random sequence.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % 2001) as f64 / 100_000.0 - 0.01
        };
        for r in 0..RUNS {
            let benchmarks = (0..CASES)
                .map(|c| {
                    let step = if c % 10 == 0 && r >= 700 { 1.05 } else { 1.0 };
                    let mut metrics = BTreeMap::new();
                    for (name, unit, better, base) in [
                        ("wall", "s", Better::Lower, 0.1),
                        ("cpu", "s", Better::Lower, 0.08),
                        ("max_rss", "bytes", Better::Lower, 5e7),
                        ("throughput", "1/s", Better::Higher, 1e4),
                        ("hits", "ratio", Better::Higher, 0.9),
                    ] {
                        let level = base * step;
                        let samples: Vec<f64> = (0..5).map(|_| level * (1.0 + noise())).collect();
                        metrics.insert(
                            name.to_string(),
                            perfwatch_stats::summarize(&samples, &MetricInfo::new(unit, better)),
                        );
                    }
                    CaseReport {
                        case: CaseId { name: format!("case{c:03}"), params: BTreeMap::new() },
                        status: CaseStatus::Ok,
                        runs: 5,
                        caveats: vec![],
                        metrics,
                        failure: None,
                        raw: vec![],
                    }
                })
                .collect();
            let report = RunReport {
                schema_version: 1,
                run: RunMeta {
                    id: format!("01900000-{r:04}-7000-8000-000000000000"),
                    started_at: start + jiff::SignedDuration::from_hours(r as i64),
                    ended_at: None,
                    status: RunStatus::Complete,
                    git: Some(GitInfo { commit: format!("{r:040x}"), branch: None, dirty: false }),
                    host: host.clone(),
                    labels: BTreeMap::new(),
                    perfwatch_version: "bench".into(),
                    suite_hash: "bench".into(),
                },
                benchmarks,
                budgets: vec![],
            };
            store.insert_run(&report).unwrap();
        }
        eprintln!("built {} in {:.1} s", db.display(), t.elapsed().as_secs_f64());
    }
    let bin = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/release/perfwatch");
    let bin = std::env::var_os("PERFWATCH_BIN").map(PathBuf::from).unwrap_or(bin);
    let mut times = Vec::new();
    for i in 0..5 {
        let t = Instant::now();
        let out = Command::new(&bin)
            .args(["detect", "--fail-on", "never", "--format", "csv", "--db", &url])
            .output()
            .expect("run perfwatch (build it with cargo build --release first)");
        let secs = t.elapsed().as_secs_f64();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let cps = String::from_utf8_lossy(&out.stdout).lines().count().saturating_sub(1);
        eprintln!("repetition {}: {secs:.3} s, {cps} change points", i + 1);
        times.push(secs);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "perfwatch detect over {} series × {RUNS} points: median {:.3} s",
        CASES * 5,
        times[times.len() / 2]
    );
}

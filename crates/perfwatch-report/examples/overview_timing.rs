//! Times [`overview_page`] on a large store: the overview is the hot path of `perfwatch serve`
//! (re-rendered whenever a run arrives) and of `perfwatch report --html`.
//!
//! ```text
//! cargo run --release -p perfwatch-report --example overview_timing [ROWS] [REPEATS]
//! ```
//!
//! Prints the median, minimum and maximum of `REPEATS` renders (after two warm-up renders) of
//! an overview with `ROWS` case × metric rows (default 5,000 rows, 31 repeats). A plain
//! example rather than a criterion benchmark so that it builds in seconds and two builds (old
//! and new page code) can be run one after the other on the same data.

use std::hint::black_box;
use std::time::{Duration, Instant};

use perfwatch_model::{
    Better, CaseId, ChangePoint, GitInfo, HistoryPoint, HostInfo, RunMeta, RunStatus, Verdict,
};
use perfwatch_report::html::{Link, Overview, OverviewRow, overview_page};

const METRICS: [(&str, &str, Better); 5] = [
    ("wall", "s", Better::Lower),
    ("user", "s", Better::Lower),
    ("sys", "s", Better::Lower),
    ("max_rss", "bytes", Better::Lower),
    ("throughput", "1/s", Better::Higher),
];

fn run(i: u32) -> RunMeta {
    RunMeta {
        id: format!("0190f5a2-0000-7000-8000-{i:012}"),
        started_at: jiff::Timestamp::from_second(1_790_000_000 + i64::from(i) * 3600).unwrap(),
        ended_at: None,
        status: RunStatus::Complete,
        git: Some(GitInfo { commit: format!("{i:040x}"), branch: Some("main".into()), dirty: false }),
        host: HostInfo {
            fingerprint: "fp".into(),
            hostname: "bench-host".into(),
            cpu: "cpu".into(),
            cores: 8,
            memory_bytes: 1 << 34,
            os: "Linux".into(),
            kernel: "6.1".into(),
            load_avg: [0.0; 3],
            governor: None,
            gpu: None,
        },
        labels: Default::default(),
        perfwatch_version: "0.1.0".into(),
        suite_hash: "h".into(),
    }
}

/// A deterministic overview of `rows` rows: cases `bench-K[n=…]` × the five metrics, 30-point
/// sparklines, every verdict, and a change point on every third row.
fn big_overview(rows: usize) -> Overview {
    let rows = (0..rows)
        .map(|i| {
            let (metric, unit, better) = METRICS[i % METRICS.len()];
            let case =
                CaseId::new(format!("bench-{}", i / 50), [("n", format!("{}", i / METRICS.len() % 10))]);
            let base = 0.001 * (1 + i % 97) as f64;
            let spark: Vec<f64> = (0..30).map(|k| base * (1.0 + ((i + k) % 13) as f64 * 0.01)).collect();
            let latest = *spark.last().unwrap();
            let verdict =
                [Some(Verdict::Regressed), Some(Verdict::Unchanged), Some(Verdict::Improved), None][i % 4];
            let change = (i % 3 == 0).then(|| ChangePoint {
                run_id: Some(run(20).id),
                commit: Some(format!("{:040x}", 20)),
                time: Some(run(20).started_at),
                ..ChangePoint::at(20, base, latest, 0.05, 0.001, better)
            });
            OverviewRow {
                case,
                metric: metric.into(),
                unit: unit.into(),
                better,
                points: 30,
                latest: Some(HistoryPoint {
                    run_id: run(29).id,
                    time: run(29).started_at,
                    commit: None,
                    median: latest,
                    ci95: [latest * 0.99, latest * 1.01],
                }),
                spark,
                verdict,
                ratio: verdict.map(|_| 1.05),
                change,
            }
        })
        .collect();
    Overview {
        rows,
        recent_runs: (0..20).rev().map(|i| (run(i), true)).collect(),
        run_count: 30,
        comparisons: vec![Link { href: "compare-latest.html".into(), label: "Latest vs previous".into() }],
        generated_at: Some(jiff::Timestamp::from_second(1_790_200_000).unwrap()),
        live: true,
        pager: None,
    }
}

fn main() {
    let mut args =
        std::env::args().skip(1).map(|a| a.parse::<usize>().expect("ROWS and REPEATS are numbers"));
    let rows = args.next().unwrap_or(5_000);
    let repeats = args.next().unwrap_or(31).max(1);
    let overview = big_overview(rows);
    let mut bytes = 0;
    for _ in 0..2 {
        bytes = black_box(overview_page(black_box(&overview))).len();
    }
    let mut times: Vec<Duration> = (0..repeats)
        .map(|_| {
            let start = Instant::now();
            black_box(overview_page(black_box(&overview)));
            start.elapsed()
        })
        .collect();
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "overview_page: {rows} rows, {bytes} bytes, {repeats} renders: median {:.2} ms, min {:.2} ms, max {:.2} ms",
        ms(times[times.len() / 2]),
        ms(times[0]),
        ms(times[times.len() - 1])
    );
}

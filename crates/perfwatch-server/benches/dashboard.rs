//! Dashboard benchmark (not a test): a store of 100 cases × 5 metrics = 500 series × 10,000
//! points, then
//! 1. `write_site` (what `perfwatch report --html DIR` does): wall time and size;
//! 2. the JSON API for one 10,000-point series (`/api/v1/series/data`), cold and warm;
//! 3. headless Chromium: time from navigation start until a case page's chart is drawn
//!    (5 metrics × 10,000 points), for first visits and revisits, on `perfwatch serve` and on
//!    the static report from disk;
//! 4. a synthetic static case page with one 100,000-point series: chart drawn, and the time to
//!    handle 50 cursor moves (responsiveness).
//!
//! `cargo bench -p perfwatch-server --bench dashboard`. Sizes: `PW_BENCH_CASES` (100),
//! `PW_BENCH_POINTS` (10000). The store is kept in `target/tmp/` and reused. Needs `chromium`
//! and `chromium-driver` for parts 3 and 4 (skipped otherwise).
//!
//! Figures on the shared 2-vCPU box (load 4.5–5.5, others compiling), two runs, medians:
//!
//! | what | run 1 | run 2 | target |
//! |---|---|---|---|
//! | `report --html` (500 series, 408 run pages, 276 MB) | 13.8 s | 32.1 s | — |
//! | API, one 10,000-point series, warm | 19.9 ms | 19.1 ms | < 100 ms |
//! | API, first request (reads the series list, detects) | 1.24 s | 1.33 s | — |
//! | chart drawn, `serve`, first visit (5 × 10,000 points) | 340 ms | 463 ms | < 1 s |
//! | chart drawn, `serve`, revisit | 227 ms | 294 ms | < 1 s |
//! | chart drawn, static report from disk | 128 ms | 181 ms | < 1 s |
//! | overview, `serve`, no warm-up, first / cached | 14.6 s / 228 ms | 22.1 s / 365 ms | — |
//! | 100,000-point page: chart drawn / one cursor move | 252 ms / 0.54 ms | 532 ms / 0.68 ms | — |

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{Driver, Fixture, fill_store, get};
use perfwatch_app::site::{SiteOptions, write_site};
use perfwatch_model::{Better, CaseId, HistoryPoint, RunMeta};
use perfwatch_report::html::{self, CaseView, SeriesColumns, case_href};
use perfwatch_server::{ServeOptions, start};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn dir_size(p: &Path) -> u64 {
    std::fs::read_dir(p)
        .map(|rd| {
            rd.flatten()
                .map(|e| {
                    let m = e.metadata().unwrap();
                    if m.is_dir() { dir_size(&e.path()) } else { m.len() }
                })
                .sum()
        })
        .unwrap_or(0)
}

fn main() {
    let cases = env_usize("PW_BENCH_CASES", 100);
    let points = env_usize("PW_BENCH_POINTS", 10_000);
    let metrics = vec!["wall", "user", "sys", "cpu", "max_rss"];
    let f = Fixture {
        cases: (0..cases).map(|k| CaseId::new(format!("case{k:03}"), [("n", "1000")])).collect(),
        metrics: metrics.clone(),
        runs: points,
        samples: 0,
        // Every 10th case gets a 20 % step somewhere.
        steps: (0..cases).step_by(10).map(|k| (k, (k * 997 + points / 3) % points, 1.2)).collect(),
    };
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(tmp).unwrap();
    let db = tmp.join(format!("pw-dashboard-bench-{cases}x{}x{points}.db", metrics.len()));
    let done = db.with_extension("done");
    let url = format!("sqlite://{}", db.display());
    if !done.exists() {
        let _ = std::fs::remove_file(&db);
        eprintln!("building the store: {points} runs × {cases} cases × {} metrics …", metrics.len());
        let t = Instant::now();
        fill_store(&db, &f);
        std::fs::write(&done, "").unwrap();
        eprintln!("store built in {:.1} s", t.elapsed().as_secs_f64());
    }
    println!("store: {} series × {points} points ({})", cases * metrics.len(), db.display());

    // 1. Static report.
    let site = tmp.join("pw-dashboard-bench-site");
    let _ = std::fs::remove_dir_all(&site);
    let mut store = perfwatch_store::open(&url).unwrap();
    let t = Instant::now();
    let summary = write_site(store.as_mut(), &site, &SiteOptions::default()).unwrap();
    let secs = t.elapsed().as_secs_f64();
    drop(store);
    println!(
        "report --html: {secs:.2} s ({} cases, {} series, {} points, {} run pages, {} files, {:.1} MB)",
        summary.cases,
        summary.series,
        summary.points,
        summary.run_pages,
        summary.files,
        dir_size(&site) as f64 / 1e6
    );

    // 2. JSON API.
    // No idle warm-up: "first" figures include change-point detection of the series shown.
    let server = start(
        &url,
        "127.0.0.1:0".parse().unwrap(),
        ServeOptions { warm_up: false, ..ServeOptions::default() },
    )
    .unwrap();
    let addr = server.addr();
    let target = "/api/v1/series/data?case=case007%5Bn%3D1000%5D&metric=wall";
    let t = Instant::now();
    let r = get(addr, target);
    let cold = t.elapsed().as_secs_f64() * 1e3;
    assert_eq!(r.status, 200);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["points"], points);
    let warm: Vec<f64> = (0..21)
        .map(|_| {
            let t = Instant::now();
            assert_eq!(get(addr, target).status, 200);
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    println!(
        "API one {points}-point series: first {cold:.1} ms (incl. change-point detection), then median {:.1} ms (min {:.1}, max {:.1}) over {}; {:.0} KB",
        median(warm.clone()),
        warm.iter().copied().fold(f64::INFINITY, f64::min),
        warm.iter().copied().fold(0.0, f64::max),
        warm.len(),
        r.body.len() as f64 / 1e3
    );

    // 3 and 4. Browser.
    let Some(driver) = Driver::start() else {
        println!("browser parts skipped: chromium / chromedriver not installed");
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let profile = tempfile::tempdir().unwrap();
        let c = driver.session(profile.path(), false).await;
        let drawn = |c: &fantoccini::Client| {
            let c = c.clone();
            async move {
                c.wait()
                    .at_most(Duration::from_secs(60))
                    .for_element(fantoccini::Locator::Css("body[data-chart-drawn='1']"))
                    .await
                    .expect("chart drawn");
                c.execute("return PW.drawnAt;", vec![]).await.unwrap().as_f64().unwrap()
            }
        };
        let base = format!("http://{addr}");
        let mut first = Vec::new();
        let mut again = Vec::new();
        for k in [11, 23, 35, 47, 59] {
            let href = case_href(&f.cases[k % cases]);
            c.goto(&format!("{base}/{href}")).await.unwrap();
            first.push(drawn(&c).await);
            c.goto(&format!("{base}/{href}")).await.unwrap();
            again.push(drawn(&c).await);
        }
        println!(
            "serve: case page ({} metrics × {points} points) chart drawn after: first visit median {:.0} ms {:?}, revisit median {:.0} ms {:?}",
            metrics.len(),
            median(first.clone()),
            first.iter().map(|v| v.round()).collect::<Vec<_>>(),
            median(again.clone()),
            again.iter().map(|v| v.round()).collect::<Vec<_>>()
        );
        let mut st = Vec::new();
        for k in [11, 23, 35, 47, 59] {
            c.goto(&format!("file://{}/{}", site.display(), case_href(&f.cases[k % cases]))).await.unwrap();
            st.push(drawn(&c).await);
        }
        println!(
            "static report from disk: chart drawn after median {:.0} ms {:?}",
            median(st.clone()),
            st.iter().map(|v| v.round()).collect::<Vec<_>>()
        );
        let t = Instant::now();
        c.goto(&format!("{base}/")).await.unwrap();
        println!(
            "serve: overview of {} series loaded in {:.0} ms (first load computes every change point)",
            cases * metrics.len(),
            t.elapsed().as_secs_f64() * 1e3
        );
        let t = Instant::now();
        c.goto(&format!("{base}/")).await.unwrap();
        println!("serve: overview again (cached) {:.0} ms", t.elapsed().as_secs_f64() * 1e3);

        // 4. One 100,000-point series, written with the report crate's functions.
        let big = tempfile::tempdir().unwrap();
        let n = 100_000;
        let case = CaseId::new("big", [("n", "100000")]);
        let start_t: jiff::Timestamp = "2020-01-01T00:00:00Z".parse().unwrap();
        let metas: Vec<RunMeta> = (0..n)
            .map(|i| {
                let mut m = common::run_meta(0);
                m.id = common::run_id(i);
                m.started_at = start_t + jiff::SignedDuration::from_secs(i as i64 * 600);
                m
            })
            .collect();
        let pts: Vec<HistoryPoint> = metas
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let v = 0.01 * (1.0 + 0.02 * common::noise(i as u64, 1)) * if i > n / 2 { 1.1 } else { 1.0 };
                HistoryPoint { run_id: m.id.clone(), time: m.started_at, commit: None, median: v, ci95: [v * 0.99, v * 1.01] }
            })
            .collect();
        let index: HashMap<&str, usize> = metas.iter().enumerate().map(|(i, m)| (m.id.as_str(), i)).collect();
        let cols = [SeriesColumns { metric: "wall", unit: "s", better: Better::Lower, points: &pts, change_points: &[] }];
        std::fs::create_dir_all(big.path().join("data")).unwrap();
        std::fs::create_dir_all(big.path().join("assets")).unwrap();
        for (p, _, body) in html::assets::ALL {
            std::fs::write(big.path().join(p), body).unwrap();
        }
        std::fs::write(big.path().join("data/runs.js"), html::runs_js(&metas, |_| false)).unwrap();
        std::fs::write(big.path().join(html::case_data_href(&case)), html::case_data_js(&case, &cols, &index, &|_, _| None)).unwrap();
        let view = CaseView { case: case.clone(), metrics: vec![("wall".into(), "s".into(), n as u64)], live: false };
        std::fs::write(big.path().join(case_href(&case)), html::case_page(&view)).unwrap();
        let mut big_drawn = Vec::new();
        let mut moves = Vec::new();
        for _ in 0..3 {
            c.goto(&format!("file://{}/{}", big.path().display(), case_href(&case))).await.unwrap();
            big_drawn.push(drawn(&c).await);
            let ms = c
                .execute(
                    "var u = PW.chart, t = performance.now();
                     for (var k = 0; k < 50; k++) u.setCursor({left: (k * 37) % u.over.clientWidth, top: 50});
                     return (performance.now() - t) / 50;",
                    vec![],
                )
                .await
                .unwrap()
                .as_f64()
                .unwrap();
            moves.push(ms);
        }
        println!(
            "100,000-point series (static page): chart drawn after median {:.0} ms {:?}; one cursor move (hover details) {:.2} ms",
            median(big_drawn.clone()),
            big_drawn.iter().map(|v| v.round()).collect::<Vec<_>>(),
            median(moves)
        );
        c.close().await.unwrap();
    });
    server.shutdown();
}

//! Shared by the integration tests and the benchmark: synthetic stores, a tiny HTTP client, and
//! chromedriver + headless Chromium.
#![allow(dead_code, missing_docs)]

use std::collections::BTreeMap;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use perfwatch_model::{
    Better, CaseId, CaseReport, CaseStatus, GitInfo, HostInfo, RunMeta, RunReport, RunStatus, SCHEMA_VERSION,
    Summary,
};

/// A deterministic pseudo-random number in [0, 1) from two integers (SplitMix64).
pub fn noise(a: u64, b: u64) -> f64 {
    let mut z = a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b.wrapping_add(0x632B_E59B_D9B9_B2E5);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

pub fn run_id(i: usize) -> String {
    format!("0190b6a8-0000-7000-8000-{:012x}", i + 1)
}

/// A commit hash for run `i` (40 hex digits, distinct per run).
pub fn commit(i: usize) -> String {
    let h = |k: u64| (noise(i as u64, k) * (1u64 << 52) as f64) as u64;
    format!("{:013x}{:013x}{:014x}", h(1), h(2), i)
}

/// What to put in a synthetic store.
pub struct Fixture {
    pub cases: Vec<CaseId>,
    pub metrics: Vec<&'static str>,
    pub runs: usize,
    /// Samples per summary (0 keeps only the median and CI).
    pub samples: usize,
    /// (case index, run index, factor): from that run on, the case is `factor` times slower.
    pub steps: Vec<(usize, usize, f64)>,
}

fn summary(metric: &str, level: f64, seed: u64, n: usize) -> Summary {
    let (unit, better, scale) = match metric {
        "max_rss" => ("bytes", Better::Lower, 50e6),
        "throughput" => ("1/s", Better::Higher, 1e6),
        _ => ("s", Better::Lower, 1.0),
    };
    let center = level * scale;
    let samples: Vec<f64> = (0..n).map(|k| center * (1.0 + 0.01 * (noise(seed, k as u64) - 0.5))).collect();
    let median = center * (1.0 + 0.004 * (noise(seed, 999) - 0.5));
    Summary {
        unit: unit.into(),
        better,
        n: n.max(1) as u32,
        median,
        ci95: [median * 0.995, median * 1.005],
        mean: median,
        stddev: median * 0.003,
        mad: median * 0.002,
        min: median * 0.99,
        max: median * 1.01,
        p95: median * 1.008,
        p99: median * 1.009,
        outliers: 0,
        samples,
    }
}

/// Metadata of run `i`: one hour after run `i − 1`, its own commit, one host.
pub fn run_meta(i: usize) -> RunMeta {
    let start: jiff::Timestamp = "2025-01-01T00:00:00Z".parse().unwrap();
    let started_at = start + jiff::SignedDuration::from_secs(i as i64 * 3600);
    RunMeta {
        id: run_id(i),
        started_at,
        ended_at: Some(started_at + jiff::SignedDuration::from_secs(60)),
        status: RunStatus::Complete,
        git: Some(GitInfo { commit: commit(i), branch: Some("main".into()), dirty: false }),
        host: HostInfo {
            fingerprint: "fp1".into(),
            hostname: "bench-host".into(),
            cpu: "Test CPU".into(),
            cores: 2,
            memory_bytes: 8 << 30,
            os: "Debian 12".into(),
            kernel: "6.1".into(),
            load_avg: [0.1, 0.2, 0.3],
            governor: None,
            gpu: None,
        },
        labels: BTreeMap::new(),
        perfwatch_version: "0.1.0".into(),
        suite_hash: "suite".into(),
    }
}

pub fn report(f: &Fixture, i: usize) -> RunReport {
    let benchmarks = f
        .cases
        .iter()
        .enumerate()
        .map(|(ci, case)| {
            let mut level = 0.01 * (1.0 + ci as f64 % 7.0);
            for &(sc, si, factor) in &f.steps {
                if sc == ci && i >= si {
                    level *= factor;
                }
            }
            let metrics: BTreeMap<String, Summary> = f
                .metrics
                .iter()
                .enumerate()
                .map(|(mi, m)| {
                    (m.to_string(), summary(m, level, (i * 1_000_003 + ci * 101 + mi) as u64, f.samples))
                })
                .collect();
            CaseReport {
                case: CaseId { name: case.name.clone(), params: case.params.clone() },
                status: CaseStatus::Ok,
                runs: f.samples as u32,
                caveats: vec![],
                metrics,
                failure: None,
                raw: vec![],
            }
        })
        .collect();
    RunReport { schema_version: SCHEMA_VERSION, run: run_meta(i), benchmarks, budgets: vec![] }
}

/// Writes the fixture into a new SQLite store at `path`; returns its URL.
pub fn fill_store(path: &Path, f: &Fixture) -> String {
    let url = format!("sqlite://{}", path.display());
    let mut store = perfwatch_store::open(&url).expect("open store");
    for i in 0..f.runs {
        store.insert_run(&report(f, i)).expect("insert run");
    }
    url
}

/// The small store of the tests: 4 cases (one named like an XSS attempt), wall + max_rss,
/// 60 runs, `sort[n=1000]` 30 % slower from run 40 on.
pub fn small_fixture() -> Fixture {
    Fixture {
        cases: vec![
            CaseId::new("sort", [("n", "1000")]),
            CaseId::new("sort", [("n", "100000")]),
            CaseId::new("import", Vec::<(String, String)>::new()),
            CaseId::new("<script>alert(1)</script>", Vec::<(String, String)>::new()),
        ],
        metrics: vec!["wall", "max_rss"],
        runs: 60,
        samples: 7,
        steps: vec![(0, 40, 1.3)],
    }
}

// ------------------------------------------------------------------ profiles

/// A profile before a change: `beta` and `gamma` cost the same, a frame is named like markup.
pub const BASE_PROFILE: &str =
    "main;parse;alpha 100\nmain;parse;beta 100\nmain;gamma 100\nmain;<script>alert(1)</script> 10\n";
/// After it: `beta` three times as costly (red in the differential graph), `gamma` half
/// (blue).
pub const HEAD_PROFILE: &str =
    "main;parse;alpha 100\nmain;parse;beta 300\nmain;gamma 50\nmain;<script>alert(1)</script> 20\n";

/// Stores callgrind profiles (folded text) of cases of the fixture: `(case index, run index,
/// folded stacks)`.
pub fn add_profiles(url: &str, f: &Fixture, profiles: &[(usize, usize, &str)]) {
    use perfwatch_model::{Profile, Profiler};
    let mut store = perfwatch_store::open(url).expect("open store");
    for &(case, run, folded) in profiles {
        let p = Profile::from_folded(Profiler::Callgrind, folded).unwrap();
        store.add_profile(&run_id(run), &f.cases[case], &p).expect("add profile");
    }
}

/// The small store with profiles of `sort[n=1000]` (case 0) on both sides of its change point
/// (runs 39 and 40) and in the two newest runs (58 and 59), and of the case named like markup
/// (case 3) in the two newest runs; run 59's profile of `import` (case 2) has no partner.
pub fn profiled_store(path: &Path) -> (Fixture, String) {
    let f = small_fixture();
    let url = fill_store(path, &f);
    add_profiles(
        &url,
        &f,
        &[
            (0, 39, BASE_PROFILE),
            (0, 40, HEAD_PROFILE),
            (0, 58, BASE_PROFILE),
            (0, 59, HEAD_PROFILE),
            (3, 58, BASE_PROFILE),
            (3, 59, HEAD_PROFILE),
            (2, 59, HEAD_PROFILE),
        ],
    );
    (f, url)
}

// ------------------------------------------------------------------ HTTP

// Not every binary that includes this module talks HTTP (the ingest bench has its own client).
#[allow(unused_imports)]
pub use perfwatch_testkit::http::{Reply, get};

// ------------------------------------------------------------------ browser

/// The Chromium binary for chromedriver (Debian's wrapper script is skipped).
pub fn chromium_binary() -> Option<PathBuf> {
    ["/usr/lib/chromium/chromium", "/usr/bin/chromium"].iter().map(PathBuf::from).find(|p| p.exists())
}

/// A chromedriver process on a free loopback port, killed on drop.
pub struct Driver {
    child: Child,
    pub port: u16,
}

impl Driver {
    /// Starts `chromedriver`; `None` when it or Chromium is not installed.
    pub fn start() -> Option<Driver> {
        chromium_binary()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let d = Driver { child, port };
        let t0 = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if t0.elapsed() > Duration::from_secs(20) {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(d)
    }

    /// Opens a headless Chromium session with a fresh profile; `offline` additionally sends
    /// every network request to a dead proxy, resolves no host name, and asks for dark mode.
    pub async fn session(&self, profile: &Path, offline: bool) -> fantoccini::Client {
        let mut args = vec![
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-dev-shm-usage".into(),
            "--window-size=1280,900".into(),
            "--force-device-scale-factor=1".into(),
            format!("--user-data-dir={}", profile.display()),
        ];
        if offline {
            // Also shows the pages in dark mode (prefers-color-scheme: dark).
            args.push("--force-dark-mode".into());
            args.push("--proxy-server=127.0.0.1:9".into());
            args.push("--proxy-bypass-list=<-loopback>".into());
            args.push("--host-resolver-rules=MAP * ~NOTFOUND".into());
        }
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({ "binary": chromium_binary().unwrap(), "args": args }),
        );
        fantoccini::ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("WebDriver session")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where screenshots go: `$PERFWATCH_ARTIFACTS` or `target/tmp/dashboard-screenshots`.
pub fn artifacts_dir() -> PathBuf {
    let dir = std::env::var_os("PERFWATCH_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard-screenshots"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

// ------------------------------------------------------------------ schemas

/// Panics unless `json` is valid against `schemas/NAME.schema.json`.
#[allow(dead_code)]
pub fn assert_matches_schema(json: &str, name: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(format!("{name}.schema.json"))).unwrap())
            .unwrap();
    let doc: serde_json::Value =
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{name}: not JSON ({e}): {json}"));
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> =
        validator.iter_errors(&doc).map(|e| format!("{}: {e}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{name}: {errors:?}\n{json}");
}

//! `GET /metrics` of a live server over a real store (SQLite, and PostgreSQL at
//! 127.0.0.1:5432 or `PERFWATCH_TEST_PG_URL`): the newest median of every series exactly once,
//! request counters that grow, the same auth as the other reads, and a body that the real
//! OpenMetrics parser of the Prometheus client library (Python `prometheus_client`) accepts.
//! That parser is required: without python3 or `prometheus_client` these tests fail (`.ci/run`
//! installs it).

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::process::{Command, Stdio};

use common::Fixture;
use perfwatch_model::{Better, CaseId, RunReport};
use perfwatch_server::{ServeOptions, start};
use perfwatch_store::TokenScope;
use perfwatch_testkit::http::{Reply, request};
use serde_json::Value;

const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Parses stdin with `prometheus_client`'s OpenMetrics parser and prints the families as JSON;
/// exit 3 when the package is missing, a traceback (exit 1) when the text does not parse.
const PARSE: &str = r#"
import json, sys
try:
    from prometheus_client.openmetrics.parser import text_string_to_metric_families
except ImportError as e:
    print(e, file=sys.stderr)
    sys.exit(3)
families = [
    {"name": f.name, "type": f.type, "unit": f.unit, "help": f.documentation,
     "samples": [{"name": s.name, "labels": s.labels, "value": float(s.value)} for s in f.samples]}
    for f in text_string_to_metric_families(sys.stdin.read())
]
print(json.dumps(families))
"#;

/// The families of an OpenMetrics text, as the Prometheus client library parses them.
fn prometheus_parse(text: &str) -> Vec<Value> {
    let mut child = Command::new("python3")
        .args(["-c", PARSE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("this test needs python3 with prometheus_client (the real Prometheus text parser): {e}")
        });
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.code() != Some(3),
        "this test needs the Python package prometheus_client: `python3 -m pip install prometheus-client` \
         (.ci/run installs it): {stderr}"
    );
    assert!(out.status.success(), "prometheus_client rejects the /metrics body: {stderr}\n{text}");
    serde_json::from_slice::<Value>(&out.stdout).unwrap().as_array().unwrap().clone()
}

/// Three cases (one with a quote, a comma and a backslash in its parameters), the built-in
/// metrics in s, bytes and 1/s, and custom metrics in other units (see [`run`]).
fn fixture() -> Fixture {
    Fixture {
        cases: vec![
            CaseId::new("sort", [("n", "1000"), ("algo", "quick")]),
            CaseId::new("parse", [("input", "say \"hi\", twice"), ("path", "C:\\tmp")]),
            CaseId::new("import", Vec::<(String, String)>::new()),
        ],
        metrics: vec!["wall", "max_rss", "throughput"],
        runs: 2,
        samples: 3,
        steps: vec![],
    }
}

/// Run `i` of the fixture plus two custom metrics: `cache_hit_rate` (unit `ratio`) on every
/// case, and one whose name holds a line feed, a backslash and a quote (unit `count`) on the
/// last case.
fn run(f: &Fixture, i: usize) -> RunReport {
    let mut r = common::report(f, i);
    let n = r.benchmarks.len();
    for (ci, c) in r.benchmarks.iter_mut().enumerate() {
        let mut s = c.metrics["wall"].clone();
        s.unit = "ratio".into();
        s.better = Better::Higher;
        s.median = 0.5 + 0.1 * ci as f64 + 0.01 * i as f64;
        s.ci95 = [s.median, s.median];
        c.metrics.insert("cache_hit_rate".into(), s.clone());
        if ci == n - 1 {
            s.unit = "count".into();
            s.median = 40.0 + i as f64;
            c.metrics.insert("odd\nname \\ \"x\"".into(), s);
        }
    }
    r
}

/// (family, labels, median) of every series of a run, as `/metrics` must show them.
fn expected(r: &RunReport) -> Vec<(&'static str, BTreeMap<String, String>, f64)> {
    let mut out = Vec::new();
    for c in &r.benchmarks {
        for (metric, s) in &c.metrics {
            let params: Vec<String> = c.case.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let mut labels = BTreeMap::from([
                ("case".to_string(), c.case.name.clone()),
                ("params".to_string(), params.join(",")),
                ("metric".to_string(), metric.clone()),
            ]);
            let family = match s.unit.as_str() {
                "s" => "perfwatch_latest_median_seconds",
                "bytes" => "perfwatch_latest_median_bytes",
                "1/s" => "perfwatch_latest_median_per_second",
                _ => {
                    labels.insert("unit".into(), s.unit.clone());
                    "perfwatch_latest_median"
                }
            };
            out.push((family, labels, s.median));
        }
    }
    out
}

fn labels_of(sample: &Value) -> BTreeMap<String, String> {
    serde_json::from_value(sample["labels"].clone()).unwrap()
}

/// The samples of family `name` (empty when it is absent).
fn samples<'a>(families: &'a [Value], name: &str) -> Vec<&'a Value> {
    families.iter().filter(|f| f["name"] == name).flat_map(|f| f["samples"].as_array().unwrap()).collect()
}

/// Every series of `r` appears exactly once, in the family of its unit, with `r`'s median and
/// start time; no other median sample is there.
fn assert_shows_run(families: &[Value], r: &RunReport) {
    let want = expected(r);
    let median_families = [
        "perfwatch_latest_median_seconds",
        "perfwatch_latest_median_bytes",
        "perfwatch_latest_median_per_second",
        "perfwatch_latest_median",
    ];
    let total: usize = median_families.iter().map(|f| samples(families, f).len()).sum();
    assert_eq!(total, want.len(), "one median sample per stored series: {families:?}");
    let started = r.run.started_at.as_duration().as_secs_f64();
    for (family, labels, median) in &want {
        let found: Vec<_> =
            samples(families, family).into_iter().filter(|s| labels_of(s) == *labels).collect();
        assert_eq!(found.len(), 1, "{family} {labels:?} in {families:?}");
        let got = found[0]["value"].as_f64().unwrap();
        assert!((got - median).abs() <= 1e-12 * median.abs(), "{family} {labels:?}: {got} != {median}");
        let mut series = labels.clone();
        series.remove("unit");
        let stamp: Vec<_> = samples(families, "perfwatch_latest_run_timestamp_seconds")
            .into_iter()
            .filter(|s| labels_of(s) == series)
            .collect();
        assert_eq!(stamp.len(), 1, "{series:?}");
        assert_eq!(stamp[0]["value"].as_f64().unwrap(), started, "{series:?}");
    }
    for f in families {
        let name = f["name"].as_str().unwrap();
        let (kind, unit) = match name {
            "perfwatch_http_requests" => ("counter", ""),
            "perfwatch_latest_median" => ("gauge", ""),
            n if n.ends_with("_seconds") => ("gauge", "seconds"),
            n if n.ends_with("_bytes") => ("gauge", "bytes"),
            n if n.ends_with("_per_second") => ("gauge", "per_second"),
            n => panic!("unexpected family {n}"),
        };
        assert_eq!((f["type"].as_str().unwrap(), f["unit"].as_str().unwrap()), (kind, unit), "{name}");
        assert!(!f["help"].as_str().unwrap().is_empty(), "{name} has a HELP");
    }
}

/// `perfwatch_http_requests_total` of `route` and `status`; 0 when absent.
fn requests(families: &[Value], route: &str, status: &str) -> f64 {
    samples(families, "perfwatch_http_requests")
        .into_iter()
        .filter(|s| s["name"] == "perfwatch_http_requests_total")
        .find(|s| s["labels"]["route"] == route && s["labels"]["status"] == status)
        .map_or(0.0, |s| s["value"].as_f64().unwrap())
}

/// `GET target` with a read token when the server is private.
fn read(addr: SocketAddr, target: &str, token: Option<&str>) -> Reply {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    request(addr, "GET", target, &headers, b"")
}

/// `GET /metrics`, checked as an answer, then parsed by the Prometheus client library.
fn scrape(addr: SocketAddr, token: Option<&str>) -> Vec<Value> {
    let r = read(addr, "/metrics", token);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("content-type"), Some(CONTENT_TYPE));
    assert!(r.body.ends_with("\n# EOF\n"), "{}", r.body);
    prometheus_parse(&r.body)
}

/// The whole check over the store at `url`: run 0 inserted, run 1 pushed through the API.
fn metrics_over(url: &str, private: bool) {
    let f = fixture();
    let (r0, r1) = (run(&f, 0), run(&f, 1));
    let mut store = perfwatch_store::open(url).unwrap();
    store.insert_run(&r0).unwrap();
    let writer = perfwatch_app::team::generate_token().unwrap();
    let reader = perfwatch_app::team::generate_token().unwrap();
    store.create_token("ci", TokenScope::Write, &perfwatch_app::team::hash_token(&writer)).unwrap();
    store.create_token("prometheus", TokenScope::Read, &perfwatch_app::team::hash_token(&reader)).unwrap();
    drop(store);
    let opts = ServeOptions { private, warm_up: false, ..ServeOptions::default() };
    let server = start(url, "127.0.0.1:0".parse().unwrap(), opts).unwrap();
    let addr = server.addr();
    let token = private.then_some(reader.as_str());

    // The same auth as every read: a private server wants a token.
    let anonymous = read(addr, "/metrics", None);
    assert_eq!(anonymous.status, if private { 401 } else { 200 }, "{}", anonymous.body);
    assert_shows_run(&scrape(addr, token), &r0);

    // A pushed run replaces every latest median.
    let body = serde_json::to_vec(&r1).unwrap();
    let auth = format!("Bearer {writer}");
    let push = request(addr, "POST", "/api/v1/runs", &[("Authorization", &auth)], &body);
    assert_eq!(push.status, 201, "{}", push.body);
    let before = scrape(addr, token);
    assert_shows_run(&before, &r1);
    assert_eq!(requests(&before, "/api/v1/runs", "201"), 1.0);
    // So far: the anonymous try (401 when private) and the first scrape; not this one.
    let (ok, refused) = if private { (1.0, 1.0) } else { (2.0, 0.0) };
    assert_eq!(requests(&before, "/metrics", "200"), ok);
    assert_eq!(requests(&before, "/metrics", "401"), refused);

    // Counters grow with requests, by route template and status.
    for _ in 0..3 {
        assert_eq!(read(addr, "/api/v1/series", token).status, 200);
    }
    let case = format!("/api/v1/runs/{}", r0.run.id);
    assert_eq!(read(addr, &case, token).status, 200);
    assert_eq!(read(addr, "/no/such/page", token).status, 404);
    let after = scrape(addr, token);
    assert_eq!(requests(&after, "/api/v1/series", "200"), requests(&before, "/api/v1/series", "200") + 3.0);
    assert_eq!(requests(&after, "/api/v1/runs/{id}", "200"), 1.0, "counted by template, not by path");
    assert_eq!(requests(&after, "unmatched", "404"), 1.0);
    assert_eq!(requests(&after, "/metrics", "200"), ok + 1.0);
    assert_shows_run(&after, &r1);
    server.shutdown();
}

#[test]
fn metrics_over_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    metrics_over(&format!("sqlite://{}", dir.path().join("history.db").display()), false);
}

#[test]
fn metrics_over_postgres_on_a_private_server() {
    let pg = PgSchema::new();
    metrics_over(&pg.url(), true);
}

#[test]
fn the_labels_of_an_awkward_case_are_escaped_for_the_parser() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("history.db").display());
    let f = fixture();
    perfwatch_store::open(&url).unwrap().insert_run(&run(&f, 0)).unwrap();
    let server = start(&url, "127.0.0.1:0".parse().unwrap(), ServeOptions::default()).unwrap();
    let text = read(server.addr(), "/metrics", None).body;
    assert!(
        text.contains(r#"{case="parse",params="input=say \"hi\", twice,path=C:\\tmp",metric="wall"}"#),
        "{text}"
    );
    assert!(text.contains(r#"metric="odd\nname \\ \"x\"",unit="count"} 40.0"#), "{text}");
    let families = prometheus_parse(&text);
    let odd = samples(&families, "perfwatch_latest_median");
    assert!(odd.iter().any(|s| s["labels"]["metric"] == "odd\nname \\ \"x\""), "{odd:?}");
    server.shutdown();
}

// ------------------------------------------------------------------ PostgreSQL

/// A schema of its own on the test server, dropped on drop.
struct PgSchema {
    base: String,
    name: String,
}

impl PgSchema {
    fn new() -> PgSchema {
        let base = std::env::var("PERFWATCH_TEST_PG_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let name = format!("pw_test_{}", uuid::Uuid::now_v7().simple());
        let mut c = postgres::Client::connect(&base, postgres::NoTls)
            .unwrap_or_else(|e| panic!("this test needs PostgreSQL at {base}: {e}"));
        c.batch_execute(&format!("CREATE SCHEMA \"{name}\"")).unwrap();
        PgSchema { base, name }
    }

    fn url(&self) -> String {
        let sep = if self.base.contains('?') { '&' } else { '?' };
        format!("{}{sep}schema={}", self.base, self.name)
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.base, postgres::NoTls) {
            let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.name));
        }
    }
}

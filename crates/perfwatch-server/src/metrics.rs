//! `GET /metrics`: the newest median of every stored series and the server's request counts
//! in the OpenMetrics 1.0 text format, which Prometheus scrapes. This module only renders
//! ([`render`]) and counts ([`RequestCounts`]); the route handler fetches the data.
//!
//! Families, in base units as Prometheus names them (a family with no series is left out,
//! except the request counter, which is always there):
//!
//! | family | type | series |
//! |---|---|---|
//! | `perfwatch_latest_median_seconds` | gauge, unit `seconds` | series in `s` |
//! | `perfwatch_latest_median_bytes` | gauge, unit `bytes` | series in `bytes` |
//! | `perfwatch_latest_median_per_second` | gauge, unit `per_second` | series in `1/s` |
//! | `perfwatch_latest_median` | gauge, label `unit` | every other unit (custom metrics) |
//! | `perfwatch_latest_run_timestamp_seconds` | gauge, unit `seconds` | start of the run of each median above |
//! | `perfwatch_http_requests` | counter (`_total`) | requests by `route` template and `status` code |
//!
//! The series are labelled `case` (the bench name), `params` (`n=1000,algo=quick`, empty when
//! the case has none) and `metric` (perfwatch's metric name).

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::sync::Mutex;

use perfwatch_model::CaseId;

/// The `Content-Type` of the answer.
pub(crate) const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The `route` label of requests that matched no route (a real template starts with `/`).
pub(crate) const UNMATCHED: &str = "unmatched";

/// The newest stored point of one series.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LatestPoint {
    /// The case.
    pub case: CaseId,
    /// perfwatch's metric name.
    pub metric: String,
    /// The series' unit (`s`, `bytes`, `1/s` or a custom metric's).
    pub unit: String,
    /// The median of the newest run.
    pub median: f64,
    /// When that run started.
    pub run_started: jiff::Timestamp,
}

/// A gauge family of medians: name, `# UNIT` (if any), help, and whether its series carry a
/// `unit` label.
struct Family {
    name: &'static str,
    unit: Option<&'static str>,
    help: &'static str,
    unit_label: bool,
}

/// The median families, in the order they are written.
const FAMILIES: [Family; 4] = [
    Family {
        name: "perfwatch_latest_median_seconds",
        unit: Some("seconds"),
        help: "Median of the newest stored run of each perfwatch series measured in seconds.",
        unit_label: false,
    },
    Family {
        name: "perfwatch_latest_median_bytes",
        unit: Some("bytes"),
        help: "Median of the newest stored run of each perfwatch series measured in bytes.",
        unit_label: false,
    },
    Family {
        name: "perfwatch_latest_median_per_second",
        unit: Some("per_second"),
        help: "Median of the newest stored run of each perfwatch series measured per second.",
        unit_label: false,
    },
    Family {
        name: "perfwatch_latest_median",
        unit: None,
        help: "Median of the newest stored run of each perfwatch series in another unit (label unit).",
        unit_label: true,
    },
];

const TIMESTAMP: Family = Family {
    name: "perfwatch_latest_run_timestamp_seconds",
    unit: Some("seconds"),
    help: "Start time (Unix seconds) of the run that gave each series' latest median.",
    unit_label: false,
};

const REQUESTS: &str = "perfwatch_http_requests";

/// Index into [`FAMILIES`] of the family for a perfwatch unit.
fn family_of(unit: &str) -> usize {
    match unit {
        "s" => 0,
        "bytes" => 1,
        "1/s" => 2,
        _ => 3,
    }
}

/// A label value escaped for the text format: backslash, double quote and line feed.
pub(crate) fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// A sample value: shortest round-trip decimal, `NaN`, `+Inf` or `-Inf`.
pub(crate) fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf".into() } else { "-Inf".into() }
    } else {
        format!("{v:?}")
    }
}

/// The parameters of a case as the `params` label shows them: `k=v` joined by `,`, sorted
/// by key; empty without parameters.
pub(crate) fn params_label(case: &CaseId) -> String {
    case.params.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
}

/// The label set of a series, `{case="…",params="…",metric="…"[,unit="…"]}`.
fn labels(p: &LatestPoint, unit_label: bool) -> String {
    let mut s = format!(
        "{{case=\"{}\",params=\"{}\",metric=\"{}\"",
        escape(&p.case.name),
        escape(&params_label(&p.case)),
        escape(&p.metric)
    );
    if unit_label {
        let _ = write!(s, ",unit=\"{}\"", escape(&p.unit));
    }
    s.push('}');
    s
}

/// Writes `# TYPE`, `# UNIT` and `# HELP` of a family.
fn header(out: &mut String, name: &str, kind: &str, unit: Option<&str>, help: &str) {
    let _ = writeln!(out, "# TYPE {name} {kind}");
    if let Some(u) = unit {
        let _ = writeln!(out, "# UNIT {name} {u}");
    }
    let _ = writeln!(out, "# HELP {name} {}", escape(help));
}

/// Writes one gauge family with a sample per point (`value` of each); nothing when `points`
/// is empty. A label set already written is skipped: two cases whose parameter values hold
/// commas could otherwise show the same `params` text, and a duplicate sample is invalid.
fn gauge(out: &mut String, f: &Family, points: &[&LatestPoint], value: impl Fn(&LatestPoint) -> f64) {
    if points.is_empty() {
        return;
    }
    header(out, f.name, "gauge", f.unit, f.help);
    let mut seen = HashSet::new();
    for p in points {
        let l = labels(p, f.unit_label);
        if seen.insert(l.clone()) {
            let _ = writeln!(out, "{}{l} {}", f.name, number(value(p)));
        }
    }
}

/// The whole `/metrics` document: the median families, the run timestamps, the request
/// counter (`requests`: route template, status code, count), and `# EOF`.
pub(crate) fn render(latest: &[LatestPoint], requests: &[(String, u16, u64)]) -> String {
    let mut out = String::new();
    let mut by_family: [Vec<&LatestPoint>; 4] = Default::default();
    for p in latest {
        by_family[family_of(&p.unit)].push(p);
    }
    for (f, points) in FAMILIES.iter().zip(&by_family) {
        gauge(&mut out, f, points, |p| p.median);
    }
    let all: Vec<&LatestPoint> = latest.iter().collect();
    gauge(&mut out, &TIMESTAMP, &all, |p| p.run_started.as_duration().as_secs_f64());
    header(&mut out, REQUESTS, "counter", None, "HTTP requests answered, by route template and status code.");
    for (route, status, n) in requests {
        let _ = writeln!(out, "{REQUESTS}_total{{route=\"{}\",status=\"{status}\"}} {n}", escape(route));
    }
    out.push_str("# EOF\n");
    out
}

/// Requests answered so far, by route template and status code: one short lock per request.
#[derive(Debug, Default)]
pub(crate) struct RequestCounts {
    counts: Mutex<BTreeMap<String, BTreeMap<u16, u64>>>,
}

impl RequestCounts {
    /// Counts one answer (allocates only for a route's first request).
    pub(crate) fn record(&self, route: &str, status: u16) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(by_status) = counts.get_mut(route) {
            *by_status.entry(status).or_default() += 1;
        } else {
            counts.insert(route.to_string(), BTreeMap::from([(status, 1)]));
        }
    }

    /// Every (route, status, count), sorted.
    pub(crate) fn snapshot(&self) -> Vec<(String, u16, u64)> {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts.iter().flat_map(|(r, s)| s.iter().map(move |(st, n)| (r.clone(), *st, *n))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(name: &str, params: &[(&str, &str)], metric: &str, unit: &str, median: f64) -> LatestPoint {
        LatestPoint {
            case: CaseId::new(name, params.iter().copied()),
            metric: metric.into(),
            unit: unit.into(),
            median,
            run_started: "2025-01-01T00:00:00.5Z".parse().unwrap(),
        }
    }

    /// The sample lines of a family, in order.
    fn samples<'a>(text: &'a str, family: &str) -> Vec<&'a str> {
        text.lines().filter(|l| !l.starts_with('#') && l.split(['{', ' ']).next() == Some(family)).collect()
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape(r#"a\b"c"#), r#"a\\b\"c"#);
        assert_eq!(escape("line\nbreak"), "line\\nbreak");
        assert_eq!(escape("plain, =}{ ü"), "plain, =}{ ü");
        let p = point("we\"ird\\", &[("q", "\"x\",y"), ("a", "1")], "m\n", "s", 1.0);
        let text = render(&[p], &[]);
        let line = samples(&text, "perfwatch_latest_median_seconds")[0];
        assert_eq!(
            line,
            r#"perfwatch_latest_median_seconds{case="we\"ird\\",params="a=1,q=\"x\",y",metric="m\n"} 1.0"#
        );
        assert!(!text.lines().any(|l| l.is_empty()), "a raw line feed would end the line: {text}");
    }

    #[test]
    fn series_are_grouped_into_families_by_unit() {
        let latest = [
            point("sort", &[("n", "1000"), ("algo", "quick")], "wall", "s", 0.0125),
            point("sort", &[("n", "1000"), ("algo", "quick")], "max_rss", "bytes", 52428800.0),
            point("parse", &[], "throughput", "1/s", 1.5e6),
            point("parse", &[], "cache_hit_rate", "ratio", 0.967),
            point("parse", &[], "cpu", "s", 2e-7),
        ];
        let text = render(&latest, &[]);
        assert_eq!(
            samples(&text, "perfwatch_latest_median_seconds"),
            [
                r#"perfwatch_latest_median_seconds{case="sort",params="algo=quick,n=1000",metric="wall"} 0.0125"#,
                r#"perfwatch_latest_median_seconds{case="parse",params="",metric="cpu"} 2e-7"#,
            ]
        );
        assert_eq!(
            samples(&text, "perfwatch_latest_median_bytes"),
            [
                r#"perfwatch_latest_median_bytes{case="sort",params="algo=quick,n=1000",metric="max_rss"} 52428800.0"#
            ]
        );
        assert_eq!(
            samples(&text, "perfwatch_latest_median_per_second"),
            [r#"perfwatch_latest_median_per_second{case="parse",params="",metric="throughput"} 1500000.0"#]
        );
        assert_eq!(
            samples(&text, "perfwatch_latest_median"),
            [r#"perfwatch_latest_median{case="parse",params="",metric="cache_hit_rate",unit="ratio"} 0.967"#]
        );
        let stamps = samples(&text, "perfwatch_latest_run_timestamp_seconds");
        assert_eq!(stamps.len(), 5);
        assert!(stamps[0].ends_with("} 1735689600.5"), "{}", stamps[0]);
        // Each family's metadata once, before its samples; no family without series.
        for f in FAMILIES.iter().chain([&TIMESTAMP]) {
            assert_eq!(text.matches(&format!("# TYPE {} gauge\n", f.name)).count(), 1, "{}", f.name);
            let first_sample = text.find(&format!("\n{}{{", f.name)).unwrap();
            assert!(text.find(&format!("# HELP {} ", f.name)).unwrap() < first_sample);
        }
        let only_seconds = render(&latest[..1], &[]);
        assert!(!only_seconds.contains("perfwatch_latest_median_bytes"), "{only_seconds}");
    }

    #[test]
    fn names_follow_the_rules_and_the_document_ends_with_eof() {
        let text = render(&[point("a", &[], "wall", "s", 1.0)], &[("/metrics".into(), 200, 3)]);
        assert!(text.ends_with("\n# EOF\n"), "{text}");
        assert_eq!(text.matches("# EOF").count(), 1);
        let name_ok = |n: &str| {
            n.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        };
        for line in text.lines().filter(|l| l.starts_with("# TYPE") || l.starts_with("# UNIT")) {
            let parts: Vec<&str> = line.split(' ').collect();
            assert!(name_ok(parts[2]), "{line}");
            if parts[1] == "UNIT" {
                assert!(
                    parts[2].ends_with(&format!("_{}", parts[3])),
                    "OpenMetrics: name ends with _unit: {line}"
                );
            }
        }
        for f in FAMILIES.iter().chain([&TIMESTAMP]) {
            assert!(name_ok(f.name) && f.name.starts_with("perfwatch_"), "{}", f.name);
            assert!(f.unit.is_none_or(|u| f.name.ends_with(&format!("_{u}"))), "{}", f.name);
        }
        assert!(text.contains("# TYPE perfwatch_http_requests counter\n"));
        assert!(!text.contains("# UNIT perfwatch_http_requests"));
        assert!(text.contains("\nperfwatch_http_requests_total{route=\"/metrics\",status=\"200\"} 3\n"));
        // No data at all: still a valid document, with the counter family.
        assert_eq!(
            render(&[], &[]),
            "# TYPE perfwatch_http_requests counter\n# HELP perfwatch_http_requests HTTP requests answered, \
             by route template and status code.\n# EOF\n"
        );
    }

    #[test]
    fn values_are_numbers_the_format_accepts() {
        assert_eq!(number(0.5), "0.5");
        assert_eq!(number(3.0), "3.0");
        assert_eq!(number(1e-9), "1e-9");
        assert_eq!(number(f64::NAN), "NaN");
        assert_eq!(number(f64::INFINITY), "+Inf");
        assert_eq!(number(f64::NEG_INFINITY), "-Inf");
        for v in [0.1, 1e300, 12345.678, 2e-7] {
            assert_eq!(number(v).parse::<f64>().unwrap(), v);
        }
    }

    #[test]
    fn a_label_set_shown_twice_is_written_once() {
        // {a: "1,b=2"} and {a: "1", b: "2"} both show as params="a=1,b=2".
        let latest = [
            point("x", &[("a", "1,b=2")], "wall", "s", 1.0),
            point("x", &[("a", "1"), ("b", "2")], "wall", "s", 2.0),
        ];
        let text = render(&latest, &[]);
        assert_eq!(samples(&text, "perfwatch_latest_median_seconds").len(), 1, "{text}");
    }

    #[test]
    fn requests_are_counted_by_route_and_status() {
        let c = RequestCounts::default();
        c.record("/metrics", 200);
        c.record("/api/v1/runs", 201);
        c.record("/metrics", 200);
        c.record("/metrics", 401);
        assert_eq!(
            c.snapshot(),
            [("/api/v1/runs".into(), 201, 1), ("/metrics".into(), 200, 2), ("/metrics".into(), 401, 1)]
        );
    }
}

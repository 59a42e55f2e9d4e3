//! Bencher Metric Format (<https://bencher.dev/docs/reference/bencher-metric-format/>): a JSON
//! object of benchmark names, each an object of measure names, each `{value, lower_value,
//! upper_value}`. perfwatch's metrics map to Bencher's built-in measures where one exists —
//! `wall` → `latency` in nanoseconds, `throughput` → `throughput`, `file_size` → `file-size`,
//! `build_time` → `build-time` — so `perfwatch import --format bmf` reads the export back to
//! the same numbers. The value is the median; the bounds are its 95 % interval (absent for a
//! summary-only metric, which has none). Failed cases, which have no numbers, are left out.

use std::collections::BTreeMap;

use perfwatch_model::{ComparisonReport, RunReport};
use serde::Serialize;

use crate::json::pretty;
use crate::{RenderOptions, Renderer};

pub(crate) struct BmfRenderer;

#[derive(Serialize)]
struct Measure {
    value: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    lower_value: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    upper_value: Option<f64>,
}

/// Bencher's name for a perfwatch metric and the factor from perfwatch's unit to Bencher's.
fn measure_name(metric: &str) -> (String, f64) {
    match metric {
        perfwatch_model::metric::WALL => ("latency".into(), 1e9),
        "file_size" => ("file-size".into(), 1.0),
        "build_time" => ("build-time".into(), 1.0),
        other => (other.into(), 1.0),
    }
}

impl Renderer for BmfRenderer {
    fn run(&self, report: &RunReport, _: &RenderOptions) -> String {
        let mut doc: BTreeMap<String, BTreeMap<String, Measure>> = BTreeMap::new();
        for case in report.benchmarks.iter().filter(|c| !c.metrics.is_empty()) {
            let measures = case
                .metrics
                .iter()
                .map(|(metric, s)| {
                    let (name, factor) = measure_name(metric);
                    let bound = |v: f64| (!s.is_summary_only()).then_some(v * factor);
                    let m = Measure {
                        value: s.median * factor,
                        lower_value: bound(s.ci95[0]),
                        upper_value: bound(s.ci95[1]),
                    };
                    (name, m)
                })
                .collect();
            doc.insert(case.case.to_string(), measures);
        }
        pretty(&doc)
    }

    /// Not a shape BMF has ([`crate::Format::fits`]); the JSON document.
    fn comparison(&self, report: &ComparisonReport, _: &RenderOptions) -> String {
        pretty(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::run_report;

    #[test]
    fn wall_becomes_latency_in_nanoseconds_with_its_interval() {
        let out = BmfRenderer.run(&run_report(), &RenderOptions::default());
        let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
        let latency = &doc["sort[n=1000]"]["latency"];
        assert!((latency["value"].as_f64().unwrap() - 50.2e6).abs() < 1e-3, "{out}");
        assert!((latency["lower_value"].as_f64().unwrap() - 50.2e6).abs() < 1e-3, "{out}");
        assert!((latency["upper_value"].as_f64().unwrap() - 50.3e6).abs() < 1e-3, "{out}");
        assert_eq!(doc["sort[n=1000]"]["max_rss"]["value"], 104_857_600.0);
        // The failed case has no numbers and is not exported.
        assert_eq!(doc.as_object().unwrap().len(), 1, "{out}");
    }
}

//! Bencher Metric Format: `{"benchmark": {"measure": {"value", "lower_value"?, "upper_value"?}}}`.
//! Bencher's built-in measures map to perfwatch metrics: `latency` (ns) → `wall` (s),
//! `throughput` (operations/s) → `throughput`, `file-size` (bytes) → `file_size`,
//! `build-time` (s) → `build_time`; other measures keep their name (`-` becomes `_`), unit `1`.
//! One value per measure, so every metric is a summary; the bounds are kept as its min and max.

use std::collections::BTreeMap;

use perfwatch_model::{Better, CaseId, MetricInfo, metric};
use serde::Deserialize;

use crate::{Center, ImportError, Imported, ImportedCase, ImportedMetric, Reported, Values, json};

#[derive(Deserialize)]
struct Measure {
    value: f64,
    lower_value: Option<f64>,
    upper_value: Option<f64>,
}

pub(crate) fn parse(text: &str) -> Result<Imported, ImportError> {
    // A JSON object has no order: benchmarks come out sorted by name.
    let doc: BTreeMap<String, BTreeMap<String, Measure>> = json::from_str(text)?;
    let cases = doc
        .into_iter()
        .map(|(name, measures)| {
            let mut case = ImportedCase::new(CaseId::new(name, Vec::<(String, String)>::new()));
            for (measure, m) in measures {
                let (name, info, factor) = measure_metric(&measure);
                let reported = Reported {
                    center: Center::Value,
                    min: m.lower_value.map(|v| v * factor),
                    max: m.upper_value.map(|v| v * factor),
                    ..Reported::median(m.value * factor)
                };
                case = case.with(&name, ImportedMetric { info, values: Values::Reported(reported) });
            }
            case
        })
        .collect();
    Ok(Imported { cases, meta: Default::default() })
}

/// perfwatch's name, unit and the factor to it, for a BMF measure.
pub(crate) fn measure_metric(measure: &str) -> (String, MetricInfo, f64) {
    match measure {
        "latency" => (metric::WALL.into(), MetricInfo::new("s", Better::Lower), 1e-9),
        "throughput" => (metric::THROUGHPUT.into(), MetricInfo::new("1/s", Better::Higher), 1.0),
        "file-size" => ("file_size".into(), MetricInfo::new("bytes", Better::Lower), 1.0),
        "build-time" => ("build_time".into(), MetricInfo::new("s", Better::Lower), 1.0),
        other => (other.replace('-', "_"), MetricInfo::new("1", Better::Lower), 1.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_becomes_wall_seconds_with_bounds() {
        let text = r#"{"bench_a": {"latency": {"value": 88.0, "lower_value": 87.5, "upper_value": 88.5},
                        "throughput": {"value": 5.0}}}"#;
        let got = parse(text).unwrap();
        let Values::Reported(r) = &got.cases[0].metrics["wall"].values else { panic!() };
        assert!((r.value - 88e-9).abs() < 1e-18);
        assert!((r.min.unwrap() - 87.5e-9).abs() < 1e-18);
        assert!(got.cases[0].metrics.contains_key("throughput"));
        assert!(parse(r#"{"a": {"latency": {"lower_value": 1}}}"#).unwrap_err().message.contains("value"));
    }
}

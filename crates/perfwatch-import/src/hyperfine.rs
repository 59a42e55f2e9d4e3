//! `hyperfine --export-json`: both shapes. 1.x writes `command, mean, stddev, median, user,
//! system, min, max, times` (early 1.x without `median`, `exit_codes` and `parameters`); 2.x
//! adds `memory_usage_byte` and may write `stddev: null` for a single run. `times` and
//! `memory_usage_byte` are per-run samples; `user` and `system` are only means.

use std::collections::BTreeMap;

use perfwatch_model::{Better, CaseId, MetricInfo, metric};
use serde::Deserialize;

use crate::{Center, Imported, ImportedCase, ImportedMetric, ImportError, Reported, Values, json};

#[derive(Deserialize)]
struct Export {
    results: Vec<Result>,
}

#[derive(Deserialize)]
struct Result {
    command: String,
    mean: f64,
    stddev: Option<f64>,
    median: Option<f64>,
    user: f64,
    system: f64,
    min: f64,
    max: f64,
    times: Option<Vec<f64>>,
    memory_usage_byte: Option<Vec<u64>>,
    exit_codes: Option<Vec<Option<i32>>>,
    parameters: Option<BTreeMap<String, String>>,
}

pub(crate) fn parse(text: &str) -> std::result::Result<Imported, ImportError> {
    let export: Export = json::from_str(text)?;
    let cases = export.results.into_iter().map(case).collect();
    Ok(Imported { cases, meta: Default::default() })
}

fn case(r: Result) -> ImportedCase {
    let seconds = MetricInfo::new("s", Better::Lower);
    let n = r.times.as_ref().map(|t| t.len() as u32);
    let wall = match r.times {
        Some(times) if !times.is_empty() => Values::Samples(times),
        _ => Values::Reported(Reported {
            value: r.median.unwrap_or(r.mean),
            center: if r.median.is_some() { Center::Median } else { Center::Mean },
            min: Some(r.min),
            max: Some(r.max),
            ..Reported::mean(r.mean, r.stddev)
        }),
    };
    let cpu_mean = |mean: f64| Values::Reported(Reported { n, ..Reported::mean(mean, None) });
    let mut out = ImportedCase::new(CaseId { name: r.command, params: r.parameters.unwrap_or_default() })
        .with(metric::WALL, ImportedMetric { info: seconds.clone(), values: wall })
        .with(metric::USER, ImportedMetric { info: seconds.clone(), values: cpu_mean(r.user) })
        .with(metric::SYS, ImportedMetric { info: seconds, values: cpu_mean(r.system) });
    if let Some(mem) = r.memory_usage_byte.filter(|m| !m.is_empty()) {
        let values = Values::Samples(mem.into_iter().map(|b| b as f64).collect());
        out = out.with(metric::MAX_RSS, ImportedMetric { info: MetricInfo::new("bytes", Better::Lower), values });
    }
    let failed: Vec<String> = r
        .exit_codes
        .unwrap_or_default()
        .iter()
        .map(|c| c.map_or("a signal".to_string(), |c| format!("status {c}")))
        .filter(|c| c != "status 0")
        .collect();
    if !failed.is_empty() {
        out.failure = Some(format!("{} of the runs ended with {}", failed.len(), failed.join(", ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_x_with_memory_parameters_and_a_failure() {
        let text = r#"{"results": [{"command": "sleep 0.01", "mean": 0.011, "stddev": null,
            "median": 0.011, "user": 0.001, "system": 0.002, "min": 0.010, "max": 0.012,
            "times": [0.010, 0.011, 0.012], "memory_usage_byte": [1000, 2000, 3000],
            "exit_codes": [0, 1, null], "parameters": {"n": "1"}}]}"#;
        let got = parse(text).unwrap();
        let c = &got.cases[0];
        assert_eq!(c.case.to_string(), "sleep 0.01[n=1]");
        crate::assert_samples(&c.metrics["wall"].values, &vec![0.010, 0.011, 0.012]);
        crate::assert_samples(&c.metrics["max_rss"].values, &vec![1000.0, 2000.0, 3000.0]);
        match &c.metrics["user"].values {
            Values::Reported(r) => assert_eq!((r.value, r.n), (0.001, Some(3))),
            other => panic!("{other:?}"),
        }
        assert_eq!(c.failure.as_deref(), Some("2 of the runs ended with status 1, a signal"));
    }

    #[test]
    fn one_x_without_median_or_times_is_summary_only() {
        let text = r#"{"results": [{"command": "ls", "mean": 0.002, "stddev": 0.0001,
            "user": 0.001, "system": 0.0005, "min": 0.0019, "max": 0.0022}]}"#;
        let c = &parse(text).unwrap().cases[0];
        assert!(matches!(&c.metrics["wall"].values, Values::Reported(r) if r.value == 0.002 && r.stddev == Some(0.0001)));
        assert!(!c.metrics.contains_key("max_rss"));
        assert_eq!(c.failure, None);
    }

    #[test]
    fn a_missing_field_is_located() {
        let e = parse(r#"{"results": [{"command": "ls", "stddev": 0.1}]}"#).unwrap_err();
        assert!(e.message.contains("missing field `mean`"), "{e}");
        assert_eq!(e.path.as_deref(), Some("results[0]"));
    }
}

//! `hyperfine --export-json`, both schemas.
//!
//! 1.x writes per command `command, mean, stddev, median, user, system, min, max, times`
//! (early 1.x without `median`, `exit_codes` and `parameters`; 1.19+ adds
//! `memory_usage_byte`). `times` and `memory_usage_byte` are per-run samples; `user` and
//! `system` are only means, so they are summaries.
//!
//! 2.x (`"schema_version": 2`) writes `measurements`: per run, each metric as
//! `{"value", "unit"}` (`time_wall_clock`, `time_user`, `time_system`, `time_cpu`,
//! `memory_peak_resident`) and an `exit_code`; parameters are `{"n": {"value": "1"}}`. Every
//! metric is a sample per run.

use std::collections::BTreeMap;

use perfwatch_model::{Better, CaseId, MetricInfo, metric};
use serde::Deserialize;

use crate::{Center, ImportError, Imported, ImportedCase, ImportedMetric, Reported, Values, json};

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

#[derive(Deserialize)]
struct Probe {
    schema_version: Option<u32>,
}

pub(crate) fn parse(text: &str) -> std::result::Result<Imported, ImportError> {
    // A probe that skips everything else; a syntax error shows up here, located.
    let probe: Probe = json::from_str(text)?;
    if probe.schema_version.is_some_and(|v| v >= 2) {
        return v2::parse(text);
    }
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
        out = out
            .with(metric::MAX_RSS, ImportedMetric { info: MetricInfo::new("bytes", Better::Lower), values });
    }
    out.failure = failures(r.exit_codes.unwrap_or_default());
    out
}

/// "2 of the runs ended with status 1, a signal", or `None` when every run exited 0.
fn failures(codes: impl IntoIterator<Item = Option<i32>>) -> Option<String> {
    let failed: Vec<String> = codes
        .into_iter()
        .map(|c| c.map_or("a signal".to_string(), |c| format!("status {c}")))
        .filter(|c| c != "status 0")
        .collect();
    (!failed.is_empty()).then(|| format!("{} of the runs ended with {}", failed.len(), failed.join(", ")))
}

/// The 2.x schema.
mod v2 {
    use std::collections::BTreeMap;

    use perfwatch_model::{Better, CaseId, MetricInfo, metric};
    use serde::Deserialize;

    use crate::{ImportError, Imported, ImportedCase, ImportedMetric, SourceMeta, Values, json};

    #[derive(Deserialize)]
    struct Export {
        metadata: Option<Metadata>,
        results: Vec<Result>,
    }

    #[derive(Deserialize)]
    struct Metadata {
        start_time: Option<String>,
    }

    #[derive(Deserialize)]
    struct Result {
        command: String,
        measurements: Vec<Measurement>,
        #[serde(default)]
        parameters: BTreeMap<String, Parameter>,
    }

    #[derive(Deserialize)]
    struct Parameter {
        value: String,
    }

    #[derive(Deserialize)]
    struct Measurement {
        exit_code: Option<i32>,
        #[serde(flatten)]
        metrics: BTreeMap<String, serde_json::Value>,
    }

    #[derive(Deserialize)]
    struct Quantity {
        value: f64,
        unit: String,
    }

    pub(super) fn parse(text: &str) -> std::result::Result<Imported, ImportError> {
        let export: Export = json::from_str(text)?;
        let mut cases = Vec::new();
        for (i, r) in export.results.into_iter().enumerate() {
            cases.push(
                case(r)
                    .map_err(|(j, m)| ImportError::at_path(format!("results[{i}].measurements[{j}]"), m))?,
            );
        }
        let time = export.metadata.and_then(|m| m.start_time).and_then(|t| crate::sniff::timestamp(&t));
        Ok(Imported { cases, meta: SourceMeta { time, ..SourceMeta::default() } })
    }

    fn case(r: Result) -> std::result::Result<ImportedCase, (usize, String)> {
        let params = r.parameters.into_iter().map(|(k, v)| (k, v.value)).collect();
        let mut out = ImportedCase::new(CaseId { name: r.command, params });
        let mut codes = Vec::new();
        for (j, m) in r.measurements.into_iter().enumerate() {
            codes.push(m.exit_code);
            for (key, value) in m.metrics {
                let q: Quantity = serde_json::from_value(value).map_err(|e| {
                    (j, format!("{key}: expected {{\"value\": number, \"unit\": text}}: {e}"))
                })?;
                let (name, info, factor) = metric_of(&key, &q.unit);
                let entry = out
                    .metrics
                    .entry(name)
                    .or_insert_with(|| ImportedMetric { info, values: Values::Samples(Vec::new()) });
                if let Values::Samples(v) = &mut entry.values {
                    v.push(q.value * factor);
                }
            }
        }
        out.failure = super::failures(codes);
        Ok(out)
    }

    /// perfwatch's name, unit and conversion factor of a 2.x metric.
    fn metric_of(key: &str, unit: &str) -> (String, MetricInfo, f64) {
        let name = match key {
            "time_wall_clock" => metric::WALL,
            "time_user" => metric::USER,
            "time_system" => metric::SYS,
            "time_cpu" => metric::CPU,
            "memory_peak_resident" => metric::MAX_RSS,
            other => other,
        };
        let (unit, factor) = match unit {
            "second" => ("s", 1.0),
            "byte" => ("bytes", 1.0),
            other => match crate::units::parse_unit(other) {
                Some(crate::units::Unit::Time(f)) => ("s", f),
                Some(crate::units::Unit::Size(f)) => ("bytes", f),
                _ => (other, 1.0),
            },
        };
        (name.to_string(), MetricInfo::new(unit, Better::Lower), factor)
    }
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
        crate::assert_samples(&c.metrics["wall"].values, &[0.010, 0.011, 0.012]);
        crate::assert_samples(&c.metrics["max_rss"].values, &[1000.0, 2000.0, 3000.0]);
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
        assert!(
            matches!(&c.metrics["wall"].values, Values::Reported(r) if r.value == 0.002 && r.stddev == Some(0.0001))
        );
        assert!(!c.metrics.contains_key("max_rss"));
        assert_eq!(c.failure, None);
    }

    #[test]
    fn two_x_measurements_are_samples_of_every_metric() {
        let text = r#"{"schema_version": 2, "metadata": {"start_time": "2026-12-03T04:38:08Z"},
          "primary_metric": "time_wall_clock", "results": [{"command": "sleep 0.01",
          "measurements": [
            {"time_wall_clock": {"value": 0.011, "unit": "second"}, "time_user": {"value": 0.001, "unit": "second"},
             "memory_peak_resident": {"value": 3000.0, "unit": "byte"}, "exit_code": 0},
            {"time_wall_clock": {"value": 0.012, "unit": "second"}, "time_user": {"value": 0.002, "unit": "second"},
             "memory_peak_resident": {"value": 4000.0, "unit": "byte"}, "exit_code": 2}],
          "parameters": {"n": {"value": "1"}}, "summary": {}}]}"#;
        let got = parse(text).unwrap();
        let c = &got.cases[0];
        assert_eq!(c.case.to_string(), "sleep 0.01[n=1]");
        crate::assert_samples(&c.metrics["wall"].values, &[0.011, 0.012]);
        crate::assert_samples(&c.metrics["user"].values, &[0.001, 0.002]);
        crate::assert_samples(&c.metrics["max_rss"].values, &[3000.0, 4000.0]);
        assert_eq!(c.failure.as_deref(), Some("1 of the runs ended with status 2"));
        assert!(got.meta.time.is_some());
        let bad = text.replace(r#"{"value": 0.012, "unit": "second"}"#, r#"{"value": "x"}"#);
        let e = parse(&bad).unwrap_err();
        assert_eq!(e.path.as_deref(), Some("results[0].measurements[1]"), "{e}");
    }

    #[test]
    fn a_missing_field_is_located() {
        let e = parse(r#"{"results": [{"command": "ls", "stddev": 0.1}]}"#).unwrap_err();
        assert!(e.message.contains("missing field `mean`"), "{e}");
        assert_eq!(e.path.as_deref(), Some("results[0]"));
    }
}

//! Google Benchmark `--benchmark_format=json`. Every `iteration` entry is one repetition (a
//! mean over `iterations` iterations) and becomes one sample of `wall` (`real_time`) and
//! `cpu` (`cpu_time`), plus `throughput` from `items_per_second` and `bytes_per_second`
//! where the benchmark sets them. When only aggregates were written
//! (`--benchmark_report_aggregates_only`), the median (else the mean) and the stddev become a
//! summary. Big-O fits (`BigO`, `RMS`) are skipped. `context` gives the host and the date.

use std::collections::HashMap;

use perfwatch_model::{Better, CaseId, MetricInfo, metric};
use serde::Deserialize;

use crate::units::time_factor;
use crate::{
    Center, ImportError, Imported, ImportedCase, ImportedMetric, Reported, SourceMeta, Values, json,
};

#[derive(Deserialize)]
struct Doc {
    #[serde(default)]
    context: Option<Context>,
    benchmarks: Vec<Entry>,
}

#[derive(Deserialize)]
struct Context {
    date: Option<String>,
    host_name: Option<String>,
    num_cpus: Option<u32>,
}

#[derive(Deserialize)]
struct Entry {
    name: String,
    run_name: Option<String>,
    #[serde(default)]
    run_type: Option<String>,
    aggregate_name: Option<String>,
    real_time: Option<f64>,
    cpu_time: Option<f64>,
    time_unit: Option<String>,
    items_per_second: Option<f64>,
    bytes_per_second: Option<f64>,
    #[serde(default)]
    error_occurred: bool,
    error_message: Option<String>,
}

/// What one benchmark collected while reading its entries.
#[derive(Default)]
struct Collected {
    name: String,
    wall: Vec<f64>,
    cpu: Vec<f64>,
    items: Vec<f64>,
    bytes: Vec<f64>,
    /// Aggregates by name (`mean`, `median`, `stddev`): (real, cpu) in seconds.
    aggregates: HashMap<String, (f64, f64)>,
    error: Option<String>,
}

pub(crate) fn parse(text: &str) -> Result<Imported, ImportError> {
    let doc: Doc = json::from_str(text)?;
    let mut order: Vec<Collected> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for (i, e) in doc.benchmarks.into_iter().enumerate() {
        let name = e.run_name.clone().unwrap_or_else(|| e.name.clone());
        let slot = *index.entry(name.clone()).or_insert_with(|| {
            order.push(Collected { name, ..Collected::default() });
            order.len() - 1
        });
        add(&mut order[slot], e).map_err(|m| ImportError::at_path(format!("benchmarks[{i}]"), m))?;
    }
    let cases = order.into_iter().filter_map(case).collect();
    Ok(Imported { cases, meta: meta(doc.context) })
}

fn add(c: &mut Collected, e: Entry) -> Result<(), String> {
    if e.error_occurred {
        c.error = Some(e.error_message.unwrap_or_else(|| "the benchmark reported an error".into()));
        return Ok(());
    }
    let aggregate = e.run_type.as_deref() == Some("aggregate");
    if aggregate && matches!(e.aggregate_name.as_deref(), Some("BigO" | "RMS")) {
        return Ok(());
    }
    let unit = e.time_unit.as_deref().unwrap_or("ns");
    let f = time_factor(unit).ok_or_else(|| format!("time_unit {unit:?} is not ns, us, ms or s"))?;
    let (Some(real), Some(cpu)) = (e.real_time, e.cpu_time) else {
        return Err("expected `real_time` and `cpu_time`".into());
    };
    if aggregate {
        let name = e.aggregate_name.unwrap_or_default();
        c.aggregates.insert(name, (real * f, cpu * f));
    } else {
        c.wall.push(real * f);
        c.cpu.push(cpu * f);
        c.items.extend(e.items_per_second);
        c.bytes.extend(e.bytes_per_second);
    }
    Ok(())
}

fn case(c: Collected) -> Option<ImportedCase> {
    let seconds = MetricInfo::new("s", Better::Lower);
    let mut case = ImportedCase::new(CaseId::new(c.name.clone(), Vec::<(String, String)>::new()));
    case.failure = c.error.clone();
    if !c.wall.is_empty() {
        let rates = [(metric::THROUGHPUT, "1/s", c.items), ("bytes_per_second", "bytes/s", c.bytes)];
        case = case
            .with(metric::WALL, ImportedMetric { info: seconds.clone(), values: Values::Samples(c.wall) })
            .with(metric::CPU, ImportedMetric { info: seconds, values: Values::Samples(c.cpu) });
        for (name, unit, values) in rates.into_iter().filter(|r| !r.2.is_empty()) {
            let info = MetricInfo::new(unit, Better::Higher);
            case = case.with(name, ImportedMetric { info, values: Values::Samples(values) });
        }
    } else if let Some((key, center)) = [("median", Center::Median), ("mean", Center::Mean)]
        .into_iter()
        .find(|(k, _)| c.aggregates.contains_key(*k))
    {
        // Side 0 is real time, side 1 CPU time.
        let get = |k: &str, side: usize| c.aggregates.get(k).map(|v| if side == 0 { v.0 } else { v.1 });
        let summary = |side: usize| {
            let value = get(key, side).unwrap_or(f64::NAN);
            let (mean, stddev) = (get("mean", side), get("stddev", side));
            Values::Reported(Reported { value, center, n: None, mean, stddev, min: None, max: None })
        };
        case = case
            .with(metric::WALL, ImportedMetric { info: seconds.clone(), values: summary(0) })
            .with(metric::CPU, ImportedMetric { info: seconds, values: summary(1) });
    } else if case.failure.is_none() {
        return None;
    }
    Some(case)
}

fn meta(context: Option<Context>) -> SourceMeta {
    let Some(c) = context else { return SourceMeta::default() };
    SourceMeta {
        time: c.date.as_deref().and_then(crate::sniff::timestamp),
        hostname: c.host_name,
        cores: c.num_cpus,
        ..SourceMeta::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPS: &str = r#"{"context": {"date": "2026-12-03T05:00:00+00:00", "host_name": "box", "num_cpus": 2},
      "benchmarks": [
        {"name": "BM_a/8", "run_name": "BM_a/8", "run_type": "iteration", "repetitions": 2, "repetition_index": 0,
         "iterations": 100, "real_time": 10.0, "cpu_time": 9.0, "time_unit": "ns", "items_per_second": 1e8},
        {"name": "BM_a/8", "run_name": "BM_a/8", "run_type": "iteration", "repetitions": 2, "repetition_index": 1,
         "iterations": 100, "real_time": 12.0, "cpu_time": 11.0, "time_unit": "ns", "items_per_second": 0.9e8},
        {"name": "BM_a/8_mean", "run_name": "BM_a/8", "run_type": "aggregate", "aggregate_name": "mean",
         "iterations": 2, "real_time": 11.0, "cpu_time": 10.0, "time_unit": "ns"},
        {"name": "BM_b", "run_name": "BM_b", "run_type": "aggregate", "aggregate_name": "median",
         "iterations": 2, "real_time": 3.0, "cpu_time": 2.0, "time_unit": "us"},
        {"name": "BM_c", "run_name": "BM_c", "run_type": "iteration", "error_occurred": true,
         "error_message": "boom", "iterations": 0, "real_time": 0, "cpu_time": 0, "time_unit": "ns"}]}"#;

    #[test]
    fn repetitions_are_samples_and_aggregates_alone_are_summaries() {
        let got = parse(REPS).unwrap();
        assert_eq!(got.cases.len(), 3);
        crate::assert_samples(&got.cases[0].metrics["wall"].values, &[10e-9, 12e-9]);
        crate::assert_samples(&got.cases[0].metrics["throughput"].values, &[1e8, 0.9e8]);
        let Values::Reported(r) = &got.cases[1].metrics["cpu"].values else { panic!() };
        assert_eq!((r.value, r.center), (2e-6, Center::Median));
        assert_eq!(got.cases[2].failure.as_deref(), Some("boom"));
        assert_eq!(got.meta.hostname.as_deref(), Some("box"));
    }

    #[test]
    fn a_bad_unit_names_the_entry() {
        let e = parse(r#"{"benchmarks": [{"name": "x", "real_time": 1, "cpu_time": 1, "time_unit": "ks"}]}"#)
            .unwrap_err();
        assert_eq!(e.path.as_deref(), Some("benchmarks[0]"));
        assert!(e.message.contains("\"ks\""));
    }
}

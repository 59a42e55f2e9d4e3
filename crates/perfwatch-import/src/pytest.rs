//! `pytest --benchmark-json` (pytest-benchmark). Each benchmark's `stats` summarise its
//! rounds (seconds per iteration); with `--benchmark-save-data` they also hold the rounds
//! themselves in `data`, which become samples. Without `data` the metric is a summary
//! (median, mean, stddev, min, max over `rounds`). `machine_info` and `commit_info` fill in
//! the host and the commit.

use std::collections::BTreeMap;

use perfwatch_model::{Better, CaseId, MetricInfo, metric};
use serde::Deserialize;

use crate::{
    Center, ImportError, Imported, ImportedCase, ImportedMetric, Reported, SourceMeta, Values, json,
};

#[derive(Deserialize)]
struct Doc {
    #[serde(default)]
    machine_info: Option<MachineInfo>,
    #[serde(default)]
    commit_info: Option<CommitInfo>,
    benchmarks: Vec<Bench>,
    #[serde(default)]
    datetime: Option<String>,
}

#[derive(Deserialize)]
struct MachineInfo {
    node: Option<String>,
    cpu: Option<Cpu>,
}

#[derive(Deserialize)]
struct Cpu {
    brand_raw: Option<String>,
    count: Option<u32>,
}

#[derive(Deserialize)]
struct CommitInfo {
    id: Option<String>,
    branch: Option<String>,
    dirty: Option<bool>,
}

#[derive(Deserialize)]
struct Bench {
    name: String,
    fullname: Option<String>,
    params: Option<BTreeMap<String, serde_json::Value>>,
    stats: Stats,
}

#[derive(Deserialize)]
struct Stats {
    min: f64,
    max: f64,
    mean: f64,
    stddev: f64,
    median: f64,
    rounds: u32,
    data: Option<Vec<f64>>,
}

pub(crate) fn parse(text: &str) -> Result<Imported, ImportError> {
    let doc: Doc = json::from_str(text)?;
    let meta = meta(&doc);
    let cases = doc.benchmarks.into_iter().map(case).collect();
    Ok(Imported { cases, meta })
}

fn case(b: Bench) -> ImportedCase {
    let params: BTreeMap<String, String> =
        b.params.unwrap_or_default().into_iter().map(|(k, v)| (k, param_text(v))).collect();
    // `test_sort[100]`: the parameters are in `params`, so the name is kept without them.
    let full = b.fullname.unwrap_or(b.name);
    let name = if params.is_empty() { full.as_str() } else { full.split('[').next().unwrap_or(&full) };
    let s = b.stats;
    let values = match s.data {
        Some(data) if !data.is_empty() => Values::Samples(data),
        _ => Values::Reported(Reported {
            value: s.median,
            center: Center::Median,
            n: Some(s.rounds),
            mean: Some(s.mean),
            stddev: Some(s.stddev),
            min: Some(s.min),
            max: Some(s.max),
        }),
    };
    let info = MetricInfo::new("s", Better::Lower);
    ImportedCase::new(CaseId { name: name.to_string(), params })
        .with(metric::WALL, ImportedMetric { info, values })
}

fn param_text(v: serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    }
}

fn meta(doc: &Doc) -> SourceMeta {
    let machine = doc.machine_info.as_ref();
    let cpu = machine.and_then(|m| m.cpu.as_ref());
    let commit = doc.commit_info.as_ref();
    SourceMeta {
        commit: commit.and_then(|c| c.id.clone()).filter(|c| !c.is_empty() && c != "unversioned"),
        branch: commit.and_then(|c| c.branch.clone()).filter(|b| b != "(unknown)" && !b.is_empty()),
        dirty: commit.and_then(|c| c.dirty),
        time: doc.datetime.as_deref().and_then(crate::sniff::timestamp),
        hostname: machine.and_then(|m| m.node.clone()),
        cpu: cpu.and_then(|c| c.brand_raw.clone()),
        cores: cpu.and_then(|c| c.count),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_becomes_samples_and_params_become_case_params() {
        let text = r#"{"machine_info": {"node": "box", "cpu": {"brand_raw": "Xeon", "count": 2}},
            "commit_info": {"id": "abc123", "branch": "main", "dirty": false},
            "datetime": "2026-12-03T05:00:00.123456+00:00",
            "benchmarks": [
              {"name": "test_sort[100]", "fullname": "t.py::test_sort[100]", "params": {"n": 100},
               "stats": {"min": 1, "max": 3, "mean": 2, "stddev": 1, "median": 2, "rounds": 3, "data": [1, 2, 3]}},
              {"name": "test_io", "fullname": "t.py::test_io", "params": null,
               "stats": {"min": 1, "max": 3, "mean": 2, "stddev": 1, "median": 2.5, "rounds": 7}}]}"#;
        let got = parse(text).unwrap();
        assert_eq!(got.cases[0].case.to_string(), "t.py::test_sort[n=100]");
        crate::assert_samples(&got.cases[0].metrics["wall"].values, &[1.0, 2.0, 3.0]);
        let Values::Reported(r) = &got.cases[1].metrics["wall"].values else { panic!() };
        assert_eq!((r.value, r.n), (2.5, Some(7)));
        assert_eq!(got.meta.commit.as_deref(), Some("abc123"));
        assert_eq!(got.meta.cores, Some(2));
        assert!(got.meta.time.is_some());
    }
}

//! hyperfine's `--export-json` document in the shape hyperfine 1.x writes and its `scripts/`
//! read: `{"results": [{command, mean, stddev, median, user, system, min, max, times,
//! memory_usage_byte, exit_codes, parameters?}]}`, seconds and bytes. `command` is the
//! case's bench name and `parameters` its parameter values, so `perfwatch import` reads the
//! export back to the same cases. `user` and `system` are means, as hyperfine's are. Cases
//! without wall-clock samples (failed ones) are left out: hyperfine has no such result.

use std::collections::BTreeMap;

use perfwatch_model::metric::{MAX_RSS, SYS, USER, WALL};
use perfwatch_model::{CaseReport, ComparisonReport, RunReport};
use serde::Serialize;

use crate::json::pretty;
use crate::{RenderOptions, Renderer};

pub(crate) struct HyperfineRenderer;

#[derive(Serialize)]
struct Export {
    results: Vec<Result>,
}

#[derive(Serialize)]
struct Result {
    command: String,
    mean: f64,
    /// `null` for a single run, as hyperfine writes it.
    stddev: Option<f64>,
    median: f64,
    user: f64,
    system: f64,
    min: f64,
    max: f64,
    times: Vec<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    memory_usage_byte: Option<Vec<u64>>,
    exit_codes: Vec<i32>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    parameters: BTreeMap<String, String>,
}

fn result(case: &CaseReport) -> Option<Result> {
    let wall = case.metrics.get(WALL)?;
    let mean_of = |metric: &str| case.metrics.get(metric).map(|s| s.mean).unwrap_or(0.0);
    let memory = case.metrics.get(MAX_RSS).filter(|s| s.samples.len() == wall.samples.len());
    Some(Result {
        command: case.case.name.clone(),
        mean: wall.mean,
        stddev: (wall.n > 1).then_some(wall.stddev),
        median: wall.median,
        user: mean_of(USER),
        system: mean_of(SYS),
        min: wall.min,
        max: wall.max,
        times: wall.samples.clone(),
        memory_usage_byte: memory.map(|s| s.samples.iter().map(|&b| b as u64).collect()),
        // The summaries hold successful runs only.
        exit_codes: vec![0; wall.samples.len()],
        parameters: case.case.params.clone(),
    })
}

impl Renderer for HyperfineRenderer {
    fn run(&self, report: &RunReport, _: &RenderOptions) -> String {
        pretty(&Export { results: report.benchmarks.iter().filter_map(result).collect() })
    }

    /// Not a shape hyperfine has ([`crate::Format::fits`]); the JSON document.
    fn comparison(&self, report: &ComparisonReport, _: &RenderOptions) -> String {
        pretty(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::run_report;

    #[test]
    fn one_result_per_measured_case_with_its_samples() {
        let out = HyperfineRenderer.run(&run_report(), &RenderOptions::default());
        let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
        let results = doc["results"].as_array().unwrap();
        assert_eq!(results.len(), 1, "the failed case is left out: {out}");
        let r = &results[0];
        assert_eq!(r["command"], "sort");
        assert_eq!(r["parameters"]["n"], "1000");
        assert_eq!(r["times"].as_array().unwrap().len(), 7);
        assert_eq!(r["exit_codes"].as_array().unwrap().len(), 7);
        assert_eq!(r["memory_usage_byte"][0], 104_857_600u64);
        assert_eq!(r["median"], 0.0502);
        assert_eq!(r["user"], 0.001);
    }
}

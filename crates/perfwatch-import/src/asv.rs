//! airspeed velocity (asv) results files, format version 2: `results` maps each benchmark to
//! a row of values named by `result_columns` (`result`, `params`, …, `samples`). `result`
//! holds one value per combination of the benchmark's parameters (the cartesian product of
//! `params`, first parameter slowest); asv's value is the median of its repeats. With
//! `asv run --record-samples`, `samples` holds the repeats themselves, which become samples;
//! otherwise the value is a summary. Parameter names are not in this file (they are in
//! `benchmarks.json`), so parameters are named `param1`, `param2`, …. `time_*` benchmarks are
//! seconds (`wall`), `mem_*`/`peakmem_*` bytes, `track_*` keep their value, lower is better.

use std::collections::BTreeMap;

use perfwatch_model::{Better, CaseId, MetricInfo, metric};
use serde::Deserialize;
use serde_json::Value;

use crate::{
    Center, ImportError, Imported, ImportedCase, ImportedMetric, Reported, SourceMeta, Values, json,
};

#[derive(Deserialize)]
struct Doc {
    commit_hash: Option<String>,
    date: Option<i64>,
    #[serde(default)]
    params: BTreeMap<String, Value>,
    result_columns: Vec<String>,
    results: BTreeMap<String, Vec<Value>>,
}

pub(crate) fn parse(text: &str) -> Result<Imported, ImportError> {
    let doc: Doc = json::from_str(text)?;
    let col = |name: &str| doc.result_columns.iter().position(|c| c == name);
    let result_col =
        col("result").ok_or_else(|| ImportError::at_path("result_columns", "no `result` column"))?;
    let (params_col, samples_col) = (col("params"), col("samples"));
    let mut cases = Vec::new();
    for (bench, row) in &doc.results {
        let at = |what: &str| ImportError::at_path(format!("results.{bench}"), what.to_string());
        let results = match row.get(result_col) {
            Some(Value::Array(a)) => a.clone(),
            Some(Value::Null) | None => continue,
            Some(v) => vec![v.clone()],
        };
        let combos = combinations(params_col.and_then(|c| row.get(c)));
        let samples = samples_col.and_then(|c| row.get(c)).and_then(Value::as_array);
        for (i, result) in results.iter().enumerate() {
            // asv writes null for a combination that failed or was skipped.
            let Some(value) = result.as_f64() else { continue };
            let params = combos.get(i).cloned().unwrap_or_default();
            let repeats: Vec<f64> = samples
                .and_then(|s| s.get(i))
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_f64).collect())
                .unwrap_or_default();
            if combos.len() > 1 && combos.len() != results.len() {
                return Err(at("the number of results does not match the parameter combinations"));
            }
            cases.push(case(bench, params, value, repeats));
        }
    }
    let meta = SourceMeta {
        commit: doc.commit_hash,
        time: doc.date.and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok()),
        hostname: doc.params.get("machine").and_then(Value::as_str).map(str::to_string),
        cpu: doc.params.get("cpu").and_then(Value::as_str).map(str::to_string),
        cores: doc
            .params
            .get("num_cpu")
            .and_then(|v| v.as_str().and_then(|s| s.parse().ok()).or(v.as_u64().map(|n| n as u32))),
        ..SourceMeta::default()
    };
    Ok(Imported { cases, meta })
}

fn case(bench: &str, params: BTreeMap<String, String>, value: f64, repeats: Vec<f64>) -> ImportedCase {
    let short = bench.rsplit('.').next().unwrap_or(bench);
    let (name, info) = if short.starts_with("time_") {
        (metric::WALL.to_string(), MetricInfo::new("s", Better::Lower))
    } else if short.starts_with("mem_") || short.starts_with("peakmem_") {
        ("memory".to_string(), MetricInfo::new("bytes", Better::Lower))
    } else {
        ("value".to_string(), MetricInfo::new("1", Better::Lower))
    };
    let values = if repeats.is_empty() {
        Values::Reported(Reported { center: Center::Median, ..Reported::median(value) })
    } else {
        Values::Samples(repeats)
    };
    ImportedCase::new(CaseId { name: bench.to_string(), params }).with(&name, ImportedMetric { info, values })
}

/// The cartesian product of asv's parameter lists, first parameter slowest, named
/// `param1`, `param2`…; values are the `repr` strings asv stores.
fn combinations(params: Option<&Value>) -> Vec<BTreeMap<String, String>> {
    let lists: Vec<Vec<String>> = params
        .and_then(Value::as_array)
        .map(|ls| {
            ls.iter()
                .map(|l| l.as_array().map(|vs| vs.iter().map(value_text).collect()).unwrap_or_default())
                .collect()
        })
        .unwrap_or_default();
    let mut out = vec![BTreeMap::new()];
    for (k, list) in lists.iter().enumerate() {
        out = out
            .into_iter()
            .flat_map(|m| {
                list.iter().map(move |v| {
                    let mut m = m.clone();
                    m.insert(format!("param{}", k + 1), v.clone());
                    m
                })
            })
            .collect();
    }
    out
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.trim_matches('\'').to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_multiply_out_and_samples_are_kept() {
        let text = r#"{"commit_hash": "abc", "date": 1764738000000, "params": {"machine": "box", "num_cpu": "2"},
            "result_columns": ["result", "params", "version", "started_at", "duration", "stats_ci_99_a",
                               "stats_ci_99_b", "stats_q_25", "stats_q_75", "stats_number", "stats_repeat", "samples"],
            "results": {
              "bench.TimeSuite.time_sort": [[0.1, 0.2, null, 0.4], [["10", "100"], ["'a'", "'b'"]], "v", 0, 1,
                  [], [], [], [], [], [], [[0.1, 0.11], [0.2], [], [0.4]]],
              "bench.MemSuite.mem_list": [[1000.0], [], "v"]}, "version": 2}"#;
        let got = parse(text).unwrap();
        assert_eq!(got.cases.len(), 4);
        assert_eq!(got.cases[0].case.to_string(), "bench.MemSuite.mem_list");
        assert!(matches!(got.cases[0].metrics["memory"].values, Values::Reported(_)));
        assert_eq!(got.cases[1].case.to_string(), "bench.TimeSuite.time_sort[param1=10,param2=a]");
        crate::assert_samples(&got.cases[1].metrics["wall"].values, &[0.1, 0.11]);
        assert_eq!(got.cases[3].case.to_string(), "bench.TimeSuite.time_sort[param1=100,param2=b]");
        assert!(matches!(got.cases[3].metrics["wall"].values, Values::Samples(_)));
        assert_eq!(got.meta.commit.as_deref(), Some("abc"));
        assert_eq!(got.meta.cores, Some(2));
    }
}

//! criterion.rs results. The `target/criterion` directory holds, per benchmark,
//! `new/benchmark.json` (its id: group, function, parameter, throughput) and `new/sample.json`
//! (per sample: iteration count and total time in ns), so every sample becomes one
//! per-iteration time. `cargo criterion --message-format=json` writes one JSON message per
//! line; its `benchmark-complete` messages carry the same raw `iteration_count` and
//! `measured_values`.

use std::collections::BTreeMap;

use perfwatch_model::{Better, CaseId, MetricInfo, metric};
use serde::Deserialize;

use crate::units::{Unit, parse_unit};
use crate::{ImportError, Imported, ImportedCase, ImportedMetric, Values, json};

/// The two files criterion writes for one benchmark (their text).
#[derive(Debug, Clone)]
pub struct CriterionFiles {
    /// `new/benchmark.json`.
    pub benchmark: String,
    /// `new/sample.json`.
    pub sample: String,
}

#[derive(Deserialize)]
struct Benchmark {
    group_id: String,
    function_id: Option<String>,
    value_str: Option<String>,
    throughput: Option<Throughput>,
}

#[derive(Deserialize, Clone, Copy)]
enum Throughput {
    Bytes(u64),
    BytesDecimal(u64),
    Elements(u64),
}

#[derive(Deserialize)]
struct Sample {
    iters: Vec<f64>,
    times: Vec<f64>,
}

/// Which of a benchmark's two files was wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CriterionFile {
    /// `benchmark.json`.
    Benchmark,
    /// `sample.json`.
    Sample,
}

/// Reads one criterion benchmark's files into a case.
pub fn parse_criterion(files: &CriterionFiles) -> Result<ImportedCase, (CriterionFile, ImportError)> {
    let b: Benchmark = json::from_str(&files.benchmark).map_err(|e| (CriterionFile::Benchmark, e))?;
    let s: Sample = json::from_str(&files.sample).map_err(|e| (CriterionFile::Sample, e))?;
    let per_iter = per_iteration(&s.iters, &s.times, 1e-9).map_err(|e| (CriterionFile::Sample, e))?;
    let mut name = b.group_id;
    if let Some(f) = b.function_id {
        name = format!("{name}/{f}");
    }
    let params: BTreeMap<String, String> =
        b.value_str.into_iter().map(|v| ("input".to_string(), v)).collect();
    Ok(with_throughput(time_case(CaseId { name, params }, per_iter), b.throughput))
}

fn time_case(case: CaseId, per_iter: Vec<f64>) -> ImportedCase {
    let info = MetricInfo::new("s", Better::Lower);
    ImportedCase::new(case).with(metric::WALL, ImportedMetric { info, values: Values::Samples(per_iter) })
}

/// Adds items (or bytes) per second, one per sample, when the benchmark declares a throughput.
fn with_throughput(case: ImportedCase, throughput: Option<Throughput>) -> ImportedCase {
    let Some(t) = throughput else { return case };
    let (name, unit, amount) = match t {
        Throughput::Elements(n) => (metric::THROUGHPUT, "1/s", n),
        Throughput::Bytes(n) | Throughput::BytesDecimal(n) => ("bytes_per_second", "bytes/s", n),
    };
    let Values::Samples(times) = &case.metrics[metric::WALL].values else { return case };
    let rates = times.iter().map(|t| amount as f64 / t).collect();
    let info = MetricInfo::new(unit, Better::Higher);
    case.with(name, ImportedMetric { info, values: Values::Samples(rates) })
}

/// `times[i] / iters[i]` scaled to seconds; the two lists must match and iterations be > 0.
fn per_iteration(iters: &[f64], times: &[f64], to_seconds: f64) -> Result<Vec<f64>, ImportError> {
    if iters.len() != times.len() || iters.is_empty() {
        return Err(ImportError::whole(format!(
            "expected as many iteration counts as times (and at least one), found {} and {}",
            iters.len(),
            times.len()
        )));
    }
    if iters.iter().any(|i| *i <= 0.0) {
        return Err(ImportError::whole("an iteration count is 0 or negative"));
    }
    Ok(iters.iter().zip(times).map(|(i, t)| t / i * to_seconds).collect())
}

#[derive(Deserialize)]
struct Message {
    reason: String,
    id: Option<String>,
    unit: Option<String>,
    iteration_count: Option<Vec<f64>>,
    measured_values: Option<Vec<f64>>,
    /// cargo-criterion 1.1 writes `[{"per_iteration": 1000, "unit": "elements"}]` (empty
    /// without a throughput).
    #[serde(default)]
    throughput: Vec<MessageThroughput>,
}

#[derive(Deserialize)]
struct MessageThroughput {
    per_iteration: u64,
    unit: String,
}

impl MessageThroughput {
    fn to_throughput(&self) -> Option<Throughput> {
        match self.unit.as_str() {
            "elements" => Some(Throughput::Elements(self.per_iteration)),
            "bytes" => Some(Throughput::Bytes(self.per_iteration)),
            "bytes_decimal" => Some(Throughput::BytesDecimal(self.per_iteration)),
            _ => None,
        }
    }
}

/// `cargo criterion --message-format=json`: one JSON object per line.
pub(crate) fn parse_messages(text: &str) -> Result<Imported, ImportError> {
    let mut cases = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let at_line = |mut e: ImportError| {
            e.line = Some(i + 1);
            e.column = None;
            e
        };
        let m: Message = json::from_str(line).map_err(at_line)?;
        if m.reason != "benchmark-complete" {
            continue;
        }
        let missing =
            |what: &str| ImportError::at_line(i + 1, format!("benchmark-complete without `{what}`"));
        let id = m.id.ok_or_else(|| missing("id"))?;
        let unit = m.unit.ok_or_else(|| missing("unit"))?;
        let Some(Unit::Time(to_seconds)) = parse_unit(&unit) else {
            return Err(ImportError::at_line(
                i + 1,
                format!("unit {unit:?} is not a time unit (ns, us, ms, s)"),
            ));
        };
        let iters = m.iteration_count.ok_or_else(|| missing("iteration_count"))?;
        let values = m.measured_values.ok_or_else(|| missing("measured_values"))?;
        let per_iter = per_iteration(&iters, &values, to_seconds).map_err(at_line)?;
        // The id is criterion's `group/function/value` joined, with nothing to tell where the
        // parts end: it is kept whole as the case name.
        let case = time_case(CaseId::new(id, Vec::<(String, String)>::new()), per_iter);
        cases.push(with_throughput(case, m.throughput.first().and_then(MessageThroughput::to_throughput)));
    }
    Ok(Imported { cases, meta: Default::default() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grouped_benchmark_with_elements_throughput() {
        let files = CriterionFiles {
            benchmark:
                r#"{"group_id":"sum","function_id":"iter","value_str":"1000","throughput":{"Elements":1000},
                "full_id":"sum/iter/1000","directory_name":"sum/iter/1000","title":"sum/iter/1000"}"#
                    .into(),
            sample: r#"{"sampling_mode":"Linear","iters":[10.0,20.0],"times":[1000.0,3000.0]}"#.into(),
        };
        let c = parse_criterion(&files).unwrap();
        assert_eq!(c.case.to_string(), "sum/iter[input=1000]");
        crate::assert_samples(&c.metrics["wall"].values, &[1e-7, 1.5e-7]);
        let Values::Samples(rates) = &c.metrics["throughput"].values else { panic!() };
        assert!((rates[0] - 1e10).abs() < 1.0);
    }

    #[test]
    fn mismatched_samples_are_refused() {
        let files = CriterionFiles {
            benchmark: r#"{"group_id":"a","function_id":null,"value_str":null,"throughput":null}"#.into(),
            sample: r#"{"iters":[1.0],"times":[1.0, 2.0]}"#.into(),
        };
        let (which, e) = parse_criterion(&files).unwrap_err();
        assert_eq!(which, CriterionFile::Sample);
        assert!(e.message.contains("found 1 and 2"), "{e}");
    }

    #[test]
    fn cargo_criterion_messages() {
        let text = "{\"reason\":\"group-complete\",\"group_name\":\"fib\"}\n\
            {\"reason\":\"benchmark-complete\",\"id\":\"fib/20\",\"unit\":\"ns\",\"iteration_count\":[2,4],\"measured_values\":[200,440],\
            \"throughput\":[{\"per_iteration\":10,\"unit\":\"elements\"}]}\n";
        let got = parse_messages(text).unwrap();
        assert_eq!(got.cases.len(), 1);
        crate::assert_samples(&got.cases[0].metrics["wall"].values, &[1e-7, 1.1e-7]);
        crate::assert_samples(&got.cases[0].metrics["throughput"].values, &[1e8, 10.0 / 1.1e-7]);
        let e = parse_messages("{\"reason\":\"benchmark-complete\",\"id\":\"x\",\"unit\":\"ns\"}\n{oops")
            .unwrap_err();
        assert_eq!(e.line, Some(1));
        assert!(e.message.contains("iteration_count"));
    }
}

//! JMH `-rf json`: a list of benchmark runs. `primaryMetric.rawData` holds every measurement
//! iteration's score, one list per fork; they become samples. A time per operation (`avgt`,
//! `ss`: `ns/op`, `us/op`…) becomes `wall` in seconds; a rate (`thrpt`: `ops/s`, `ops/ms`…)
//! becomes `throughput` per second (higher is better). Without `rawData` (`sample` mode writes a
//! histogram instead) the score is kept as a summary. `params` become case parameters.

use std::collections::BTreeMap;

use perfwatch_model::{Better, CaseId, MetricInfo, metric};
use serde::Deserialize;

use crate::units::{Unit, parse_unit};
use crate::{ImportError, Imported, ImportedCase, ImportedMetric, Reported, Values, json};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Run {
    benchmark: String,
    #[serde(default)]
    params: Option<BTreeMap<String, String>>,
    primary_metric: Primary,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Primary {
    score: f64,
    score_unit: String,
    #[serde(default)]
    raw_data: Option<Vec<Vec<f64>>>,
}

pub(crate) fn parse(text: &str) -> Result<Imported, ImportError> {
    let runs: Vec<Run> = json::from_str(text)?;
    let mut cases = Vec::new();
    for (i, run) in runs.into_iter().enumerate() {
        let p = run.primary_metric;
        let (name, info, factor) = match parse_unit(&p.score_unit) {
            Some(Unit::Time(f)) => (metric::WALL, MetricInfo::new("s", Better::Lower), f),
            Some(Unit::Rate(f)) => (metric::THROUGHPUT, MetricInfo::new("1/s", Better::Higher), f),
            _ => {
                return Err(ImportError::at_path(
                    format!("[{i}].primaryMetric.scoreUnit"),
                    format!("expected a time per operation or a rate, found {:?}", p.score_unit),
                ));
            }
        };
        let raw: Vec<f64> =
            p.raw_data.unwrap_or_default().into_iter().flatten().map(|v| v * factor).collect();
        let values = if raw.is_empty() {
            Values::Reported(Reported::mean(p.score * factor, None))
        } else {
            Values::Samples(raw)
        };
        let case = CaseId { name: run.benchmark, params: run.params.unwrap_or_default() };
        cases.push(ImportedCase::new(case).with(name, ImportedMetric { info, values }));
    }
    Ok(Imported { cases, meta: Default::default() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_data_of_every_fork_are_samples() {
        let text = r#"[{"jmhVersion": "1.37", "benchmark": "org.x.Bench.sum", "mode": "avgt",
            "params": {"size": "100"},
            "primaryMetric": {"score": 2.0, "scoreError": 0.1, "scoreUnit": "us/op", "rawData": [[1.0, 2.0], [3.0]]}},
            {"benchmark": "org.x.Bench.rate", "mode": "thrpt",
             "primaryMetric": {"score": 5.0, "scoreUnit": "ops/ms"}}]"#;
        let got = parse(text).unwrap();
        assert_eq!(got.cases[0].case.to_string(), "org.x.Bench.sum[size=100]");
        crate::assert_samples(&got.cases[0].metrics["wall"].values, &[1e-6, 2e-6, 3e-6]);
        let Values::Reported(r) = &got.cases[1].metrics["throughput"].values else { panic!() };
        assert_eq!(r.value, 5000.0);
        let e = parse(r#"[{"benchmark": "b", "primaryMetric": {"score": 1, "scoreUnit": "widgets"}}]"#)
            .unwrap_err();
        assert_eq!(e.path.as_deref(), Some("[0].primaryMetric.scoreUnit"));
    }
}

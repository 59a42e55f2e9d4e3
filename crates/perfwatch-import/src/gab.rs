//! github-action-benchmark's custom JSON (`customSmallerIsBetter` /
//! `customBiggerIsBetter`): `[{"name", "unit", "value", "range"?, "extra"?}]`. One value per
//! benchmark, so every metric is a summary. Time units become `wall` (seconds), rates
//! `throughput` (per second, higher is better), sizes `size` (bytes); anything else is kept as
//! `value` in its own unit, lower is better.

use perfwatch_model::{Better, CaseId, MetricInfo, metric};
use serde::Deserialize;

use crate::units::{Unit, parse_unit};
use crate::{Center, ImportError, Imported, ImportedCase, ImportedMetric, Reported, Values, json};

#[derive(Deserialize)]
struct Entry {
    name: String,
    unit: String,
    value: f64,
}

pub(crate) fn parse(text: &str) -> Result<Imported, ImportError> {
    let entries: Vec<Entry> = json::from_str(text)?;
    let cases = entries
        .into_iter()
        .map(|e| {
            let (name, info, factor) = metric_of(&e.unit);
            let values =
                Values::Reported(Reported { center: Center::Value, ..Reported::median(e.value * factor) });
            ImportedCase::new(CaseId::new(e.name, Vec::<(String, String)>::new()))
                .with(name, ImportedMetric { info, values })
        })
        .collect();
    Ok(Imported { cases, meta: Default::default() })
}

/// The perfwatch metric, its unit and the conversion factor for a free-text unit.
pub(crate) fn metric_of(unit: &str) -> (&'static str, MetricInfo, f64) {
    match parse_unit(unit) {
        Some(Unit::Time(f)) => (metric::WALL, MetricInfo::new("s", Better::Lower), f),
        Some(Unit::Rate(f)) => (metric::THROUGHPUT, MetricInfo::new("1/s", Better::Higher), f),
        Some(Unit::Size(f)) => ("size", MetricInfo::new("bytes", Better::Lower), f),
        None => ("value", MetricInfo::new(unit, Better::Lower), 1.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_pick_the_metric() {
        let text = r#"[{"name": "fib(20)", "unit": "ns/iter", "value": 1500, "range": "± 20"},
                       {"name": "serve", "unit": "ops/sec", "value": 120.5},
                       {"name": "score", "unit": "points", "value": 7}]"#;
        let got = parse(text).unwrap();
        let Values::Reported(r) = &got.cases[0].metrics["wall"].values else { panic!() };
        assert!((r.value - 1.5e-6).abs() < 1e-15);
        assert_eq!(got.cases[1].metrics["throughput"].info.better, Better::Higher);
        assert_eq!(got.cases[2].metrics["value"].info.unit, "points");
        assert!(parse(r#"[{"name": "x", "value": 1}]"#).unwrap_err().message.contains("unit"));
    }
}

//! JSON Schemas of the machine-readable documents, generated from the model types.
//!
//! The committed copies under `schemas/` are the contract; a test regenerates them and
//! fails when they drift, so a change to the output is always a deliberate one.

use perfwatch_model::{
    ApiError, BaselineList, BisectReport, ComparisonReport, DetectionReport, ExplainReport, HistoryReport,
    PushReceipt, RunList, RunReport, SeriesData, SeriesList,
};

/// The schema of `T` as a JSON value.
fn schema_of<T: schemars::JsonSchema>() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(T)).unwrap_or_default()
}

/// `(file name, schema)` for every document kind: the reports of the commands, then the
/// documents of `perfwatch serve`'s API and of the push protocol.
pub fn all() -> Vec<(&'static str, serde_json::Value)> {
    vec![
        ("run.schema.json", schema_of::<RunReport>()),
        ("comparison.schema.json", schema_of::<ComparisonReport>()),
        ("history.schema.json", schema_of::<HistoryReport>()),
        ("detection.schema.json", schema_of::<DetectionReport>()),
        ("bisect.schema.json", schema_of::<BisectReport>()),
        ("explain.schema.json", schema_of::<ExplainReport>()),
        ("api-series.schema.json", schema_of::<SeriesList>()),
        ("api-series-data.schema.json", schema_of::<SeriesData>()),
        ("api-runs.schema.json", schema_of::<RunList>()),
        ("api-baselines.schema.json", schema_of::<BaselineList>()),
        ("api-error.schema.json", schema_of::<ApiError>()),
        ("push-receipt.schema.json", schema_of::<PushReceipt>()),
    ]
}

//! JSON Schemas of the machine-readable documents, generated from the model types.
//!
//! The committed copies under `schemas/` are the contract; a test regenerates them and
//! fails when they drift, so a change to the output is always a deliberate one.

use perfwatch_model::{ComparisonReport, DetectionReport, HistoryReport, RunReport};

/// `(file name, schema)` for every document kind.
pub fn all() -> Vec<(&'static str, serde_json::Value)> {
    vec![
        ("run.schema.json", serde_json::to_value(schemars::schema_for!(RunReport)).unwrap_or_default()),
        (
            "comparison.schema.json",
            serde_json::to_value(schemars::schema_for!(ComparisonReport)).unwrap_or_default(),
        ),
        (
            "history.schema.json",
            serde_json::to_value(schemars::schema_for!(HistoryReport)).unwrap_or_default(),
        ),
        (
            "detection.schema.json",
            serde_json::to_value(schemars::schema_for!(DetectionReport)).unwrap_or_default(),
        ),
    ]
}

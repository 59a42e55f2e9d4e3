//! Change points found in histories: the document `perfwatch detect --format json` prints.

use std::collections::BTreeMap;

use jiff::Timestamp;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::metric::Better;

/// Whether a shift is for the worse or the better, given the metric's direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ShiftKind {
    /// The metric got worse.
    Regression,
    /// The metric got better.
    Improvement,
}

/// One change point of one series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChangePointReport {
    /// 0-based position of the first point after the shift (the CSV row for `--csv`).
    pub index: usize,
    /// Run where the shift starts (history from the store).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// Commit of that run, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Start time of that run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<Timestamp>,
    /// Label of that row (`--csv` with `--time-column`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Median of the segment before.
    pub before: f64,
    /// Median of the segment after.
    pub after: f64,
    /// Relative change, after / before − 1 (0 when both are 0).
    pub change: f64,
    /// Two-sided t-test p-value between the two segments.
    pub p_value: f64,
    /// Regression or improvement for this metric.
    pub kind: ShiftKind,
    /// False when an alert was already raised for this change point by an earlier `detect`.
    pub new: bool,
}

/// The change points of one case × metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DetectedSeries {
    /// Bench name (the column name for `--csv`).
    pub name: String,
    /// Parameter values.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// Metric name.
    pub metric: String,
    /// Unit of `before` / `after`.
    pub unit: String,
    /// Direction of improvement.
    pub better: Better,
    /// Number of points analysed.
    pub points: usize,
    /// Change points, oldest first.
    pub change_points: Vec<ChangePointReport>,
}

/// A detection report (design §7).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DetectionReport {
    /// Always [`crate::SCHEMA_VERSION`].
    pub schema_version: u32,
    /// One entry per series analysed.
    pub series: Vec<DetectedSeries>,
}

//! Change points found in histories: the document `perfwatch detect --format json` prints.

use jiff::Timestamp;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::case::CaseId;
use crate::metric::Better;

/// Whether a shift is for the worse or the better, given the metric's direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ShiftKind {
    /// The metric got worse.
    Regression,
    /// The metric got better.
    Improvement,
}

impl ShiftKind {
    /// The kind of a shift from `before` to `after` for a metric where `better` is good
    /// (no change counts as an improvement: it is not a regression).
    pub fn of(before: f64, after: f64, better: Better) -> ShiftKind {
        let worse = match better {
            Better::Lower => after > before,
            Better::Higher => after < before,
        };
        if worse { ShiftKind::Regression } else { ShiftKind::Improvement }
    }

    /// `regression` / `improvement`.
    pub fn as_str(self) -> &'static str {
        match self {
            ShiftKind::Regression => "regression",
            ShiftKind::Improvement => "improvement",
        }
    }
}

/// A change point (design §2): a shift found in the history of one case × metric, where it
/// starts, from what level to what level, how significant, and whether it was alerted.
///
/// The one shape every stage uses: the detector fills the statistics and the position, the
/// store keeps it with its run and alert state, `perfwatch detect` prints it, and the
/// dashboard marks it on the chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChangePoint {
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

impl ChangePoint {
    /// A change point at `index` of a series, not yet placed on a run, never alerted.
    /// `change` is `after / before − 1` as the detector computed it (± infinity when
    /// `before` is 0, which JSON cannot carry: stored as 0).
    pub fn at(index: usize, before: f64, after: f64, change: f64, p_value: f64, better: Better) -> Self {
        ChangePoint {
            index,
            run_id: None,
            commit: None,
            time: None,
            label: None,
            before,
            after,
            change: if change.is_finite() { change } else { 0.0 },
            p_value,
            kind: ShiftKind::of(before, after, better),
            new: true,
        }
    }

    /// Whether the shift is for the worse.
    pub fn is_regression(&self) -> bool {
        self.kind == ShiftKind::Regression
    }
}

/// The change points of one case × metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DetectedSeries {
    /// The case: bench name and parameter values (`name` and `params` in JSON) (for `--csv`, the column name and no parameters).
    #[serde(flatten)]
    pub case: CaseId,
    /// Metric name.
    pub metric: String,
    /// Unit of `before` / `after`.
    pub unit: String,
    /// Direction of improvement.
    pub better: Better,
    /// Number of points analysed.
    pub points: usize,
    /// Change points, oldest first.
    pub change_points: Vec<ChangePoint>,
    /// The newest values of the series, oldest first, for a sparkline in the terminal (not
    /// part of the JSON document: `perfwatch history` prints the series).
    #[serde(skip)]
    #[schemars(skip)]
    pub recent: Vec<f64>,
}

/// A detection report (design §7).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DetectionReport {
    /// Always [`crate::SCHEMA_VERSION`].
    pub schema_version: u32,
    /// One entry per series analysed.
    pub series: Vec<DetectedSeries>,
}

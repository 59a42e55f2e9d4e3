//! The documents of `perfwatch serve`'s JSON API and of the push protocol (team mode), as
//! types: their JSON Schemas are committed under `schemas/` like those of the reports.
//!
//! Run reports (`GET /api/v1/runs/{id}`, the body of `POST /api/v1/runs`) and comparison
//! reports (`GET /api/v1/compare`) are the documents of [`crate::report`] and
//! [`crate::compare`]; this module holds the rest.

use jiff::Timestamp;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::case::CaseId;
use crate::detection::ChangePoint;
use crate::metric::Better;
use crate::report::RunMeta;

/// A named baseline (`perfwatch baseline set NAME`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BaselineInfo {
    /// Its name (`main`, `v1.2`).
    pub name: String,
    /// The full id of the run it points at.
    pub run_id: String,
    /// When it was last set.
    pub set_at: Timestamp,
}

/// `GET /api/v1/baselines`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BaselineList {
    /// Always [`crate::SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Every baseline, by name.
    pub baselines: Vec<BaselineInfo>,
}

/// `GET /api/v1/runs`: run metadata, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RunList {
    /// Always [`crate::SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The runs, newest first.
    pub runs: Vec<RunMeta>,
}

/// One case × metric with a stored history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SeriesEntry {
    /// The case (`name` and `params` in JSON).
    #[serde(flatten)]
    pub case: CaseId,
    /// Metric name.
    pub metric: String,
    /// Unit of its values.
    pub unit: String,
    /// Direction of improvement.
    pub better: Better,
    /// Stored points.
    pub points: u64,
    /// The dashboard page of the case, relative to the site root.
    pub page: String,
}

/// `GET /api/v1/series`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SeriesList {
    /// Always [`crate::SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Every series.
    pub series: Vec<SeriesEntry>,
}

/// The history of one series in columns (index `i` of every column is point `i`, oldest
/// first): compact for long histories.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SeriesDataColumns {
    /// Run of each point.
    pub run_id: Vec<String>,
    /// Start of each run, Unix seconds.
    pub time: Vec<i64>,
    /// Commit of each run, when known.
    pub commit: Vec<Option<String>>,
    /// Median of each run.
    pub median: Vec<f64>,
    /// Lower end of each median's 95 % CI.
    pub ci_lo: Vec<f64>,
    /// Upper end of each median's 95 % CI.
    pub ci_hi: Vec<f64>,
}

/// `GET /api/v1/series/data?case=…&metric=…`: one history with its change points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SeriesData {
    /// Always [`crate::SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The case (`name` and `params` in JSON).
    #[serde(flatten)]
    pub case: CaseId,
    /// Metric name.
    pub metric: String,
    /// Unit of the values.
    pub unit: String,
    /// Direction of improvement.
    pub better: Better,
    /// Number of points (the length of every column).
    pub points: usize,
    /// The points.
    pub columns: SeriesDataColumns,
    /// Change points of the series, oldest first (those `perfwatch detect` stored, when it
    /// has analysed the series).
    pub change_points: Vec<ChangePoint>,
}

/// The answer to `POST /api/v1/runs` (201 when stored, 200 when the run was there already).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PushReceipt {
    /// The run's id.
    pub id: String,
    /// `true` when this push stored it, `false` when it was stored before.
    pub created: bool,
}

/// Every error answer of the API (4xx and 5xx).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ApiError {
    /// What went wrong, for a person (for a bad body: the JSON path and what was expected).
    pub error: String,
}

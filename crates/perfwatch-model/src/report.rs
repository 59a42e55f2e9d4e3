//! A run and its per-case results: the document `perfwatch run --format json` prints
//! and the store keeps.

use std::collections::BTreeMap;

use jiff::Timestamp;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::case::CaseId;
use crate::sample::{ExitKind, Sample};
use crate::summary::{Caveat, Summary};

/// A whole run report (design §7).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RunReport {
    /// Always [`crate::SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Where, when and on what code the run happened.
    pub run: RunMeta,
    /// One entry per case, in suite order.
    pub benchmarks: Vec<CaseReport>,
    /// Budgets of the suite checked against this run (absent when the suite has none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub budgets: Vec<crate::compare::BudgetResult>,
}

/// Metadata of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RunMeta {
    /// Unique, time-ordered id (UUID v7).
    pub id: String,
    /// When measuring started.
    pub started_at: Timestamp,
    /// When measuring ended (absent while the run is in progress).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<Timestamp>,
    /// Whether every selected case was measured.
    pub status: RunStatus,
    /// The code version, when the suite lives in a git work tree.
    #[serde(default)]
    pub git: Option<GitInfo>,
    /// The machine.
    pub host: HostInfo,
    /// User labels (`--label K=V`).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Version of perfwatch that measured.
    pub perfwatch_version: String,
    /// Hash of the suite file.
    pub suite_hash: String,
}

/// Completion state of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Every selected case was measured.
    Complete,
    /// Stopped by Ctrl-C; what finished is kept.
    Interrupted,
    /// perfwatch died mid-run (or the run is still going).
    Incomplete,
}

impl RunStatus {
    /// The lowercase name used in output and in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Complete => "complete",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Incomplete => "incomplete",
        }
    }
}

/// Git state of the work tree holding the suite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GitInfo {
    /// Full commit hash of `HEAD`.
    pub commit: String,
    /// Current branch, absent on a detached `HEAD`.
    #[serde(default)]
    pub branch: Option<String>,
    /// Whether tracked files had uncommitted changes.
    pub dirty: bool,
}

/// The machine a run happened on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HostInfo {
    /// Stable hash of the fields that decide comparability (cpu, cores, memory, os, kernel).
    pub fingerprint: String,
    /// Host name.
    pub hostname: String,
    /// CPU model name.
    pub cpu: String,
    /// Logical cores.
    pub cores: u32,
    /// Physical memory in bytes.
    pub memory_bytes: u64,
    /// Operating system (pretty name).
    pub os: String,
    /// Kernel release.
    pub kernel: String,
    /// Load averages (1, 5, 15 minutes) when the run started.
    pub load_avg: [f64; 3],
    /// CPU frequency scaling governor when the run started (`scaling_governor` of the first
    /// CPU that has one); absent where `/sys` has no cpufreq (many VMs) and in older
    /// documents. Not part of the fingerprint: it changes comparability of timings, not of
    /// machines, and is reported as a caveat instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub governor: Option<String>,
    /// The GPUs read during the run (`NVIDIA A100 (driver 550.54)`), or why none could be
    /// (`no GPU: …`); absent when no bench of the run asked for GPU sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu: Option<String>,
}

/// Results of one case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CaseReport {
    /// The case: bench name and parameter values (`name` and `params` in JSON).
    #[serde(flatten)]
    pub case: CaseId,
    /// Whether every run succeeded.
    pub status: CaseStatus,
    /// Successful measured runs.
    pub runs: u32,
    /// Quality warnings.
    #[serde(default)]
    pub caveats: Vec<Caveat>,
    /// Summaries by metric name (built-in and custom).
    #[serde(default)]
    pub metrics: BTreeMap<String, Summary>,
    /// Why the case failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<CaseFailure>,
    /// Raw samples, successful and failed, in order; kept for the store and for re-analysis.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub raw: Vec<Sample>,
}

/// Outcome of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    /// All runs succeeded.
    Ok,
    /// A run (or the setup hook) exited non-zero, crashed or could not start.
    Failed,
    /// A run passed the per-run timeout.
    Timeout,
}

impl CaseStatus {
    /// The lowercase name used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            CaseStatus::Ok => "ok",
            CaseStatus::Failed => "failed",
            CaseStatus::Timeout => "timeout",
        }
    }
}

/// Details of a failed case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CaseFailure {
    /// What failed, in words (`command exited with status 3`, `setup failed…`).
    pub message: String,
    /// How the failing process ended.
    pub exit: ExitKind,
    /// The last lines of its standard error.
    pub stderr_tail: String,
}

/// One point of a metric's history: the summary of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HistoryPoint {
    /// Run id.
    pub run_id: String,
    /// When the run started.
    pub time: Timestamp,
    /// Commit measured, when known.
    #[serde(default)]
    pub commit: Option<String>,
    /// Median of the metric in that run.
    pub median: f64,
    /// 95 % CI of that median.
    pub ci95: [f64; 2],
}

/// A metric's series across runs, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HistorySeries {
    /// The case: bench name and parameter values (`name` and `params` in JSON).
    #[serde(flatten)]
    pub case: CaseId,
    /// Metric name.
    pub metric: String,
    /// Unit of the medians.
    pub unit: String,
    /// Points, oldest first.
    pub points: Vec<HistoryPoint>,
}

/// The document `perfwatch history --format json` prints (design §7).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HistoryReport {
    /// Always [`crate::SCHEMA_VERSION`].
    pub schema_version: u32,
    /// One series per case × metric.
    pub series: Vec<HistorySeries>,
}

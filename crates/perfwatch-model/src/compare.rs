//! Verdicts of a candidate against a baseline: what `compare` and `ab` report.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::metric::Better;

/// The four-way verdict of design §8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Worse by more than the threshold, with 95 % confidence.
    Regressed,
    /// Better by more than the threshold, with 95 % confidence.
    Improved,
    /// The confidence interval excludes any change as large as the threshold.
    Unchanged,
    /// Not enough evidence either way.
    Inconclusive,
}

impl Verdict {
    /// The lowercase name used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Regressed => "regressed",
            Verdict::Improved => "improved",
            Verdict::Unchanged => "unchanged",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

/// One case × metric comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Comparison {
    /// Bench name.
    pub name: String,
    /// Parameter values.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// Metric name.
    pub metric: String,
    /// Unit of the medians.
    pub unit: String,
    /// Direction of improvement.
    pub better: Better,
    /// Baseline median.
    pub baseline_median: f64,
    /// Candidate median.
    pub candidate_median: f64,
    /// Estimated candidate / baseline ratio.
    pub ratio: f64,
    /// 95 % confidence interval of the ratio.
    pub ci95: [f64; 2],
    /// Two-sided p-value of "no change" (after Benjamini–Hochberg adjustment across the
    /// suite when the comparison is part of one).
    pub p_value: f64,
    /// Threshold τ as a fraction.
    pub threshold: f64,
    /// The verdict.
    pub verdict: Verdict,
    /// Baseline sample count.
    pub baseline_n: u32,
    /// Candidate sample count.
    pub candidate_n: u32,
}

/// Outcome of a budget check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BudgetStatus {
    /// The bound holds.
    Pass,
    /// The bound is breached.
    Fail,
    /// The metric was not measured (the case failed or never reported it).
    Missing,
}

/// One budget checked against one case's summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BudgetResult {
    /// Bench name.
    pub name: String,
    /// Parameter values.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// The budget as written.
    pub budget: String,
    /// The bound, in SI units.
    pub target: f64,
    /// The measured statistic, in SI units (absent when missing).
    pub measured: Option<f64>,
    /// How much of the budget is used: measured / target × 100 for upper bounds,
    /// target / measured × 100 for lower bounds (≤ 100 passes).
    pub achievement_pct: Option<f64>,
    /// Pass, fail or missing.
    pub status: BudgetStatus,
}

/// Counts of each verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct VerdictCounts {
    /// Regressions.
    pub regressed: u32,
    /// Improvements.
    pub improved: u32,
    /// Unchanged.
    pub unchanged: u32,
    /// Inconclusive.
    pub inconclusive: u32,
}

impl VerdictCounts {
    /// Counts the verdicts of `comparisons`.
    pub fn tally<'a>(comparisons: impl IntoIterator<Item = &'a Comparison>) -> Self {
        let mut counts = VerdictCounts::default();
        for c in comparisons {
            match c.verdict {
                Verdict::Regressed => counts.regressed += 1,
                Verdict::Improved => counts.improved += 1,
                Verdict::Unchanged => counts.unchanged += 1,
                Verdict::Inconclusive => counts.inconclusive += 1,
            }
        }
        counts
    }
}

/// Reference to one side of a comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RunRef {
    /// Run id.
    pub run_id: String,
    /// Baseline name or label, when the side was chosen by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Commit measured, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Host fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

/// A whole comparison report (design §7).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ComparisonReport {
    /// Always [`crate::SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The reference side.
    pub baseline: RunRef,
    /// The side being judged.
    pub candidate: RunRef,
    /// Every case × metric.
    pub comparisons: Vec<Comparison>,
    /// Every budget of every case in the candidate.
    #[serde(default)]
    pub budgets: Vec<BudgetResult>,
    /// Verdict counts.
    pub summary: VerdictCounts,
    /// Warnings about the comparison itself (different hosts, missing cases…).
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Interleaved rounds run (side-by-side comparisons only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rounds: Option<u32>,
    /// Seconds spent measuring (side-by-side comparisons only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elapsed_s: Option<f64>,
    /// Why measuring stopped: `verdict` or `budget` (side-by-side comparisons only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
}

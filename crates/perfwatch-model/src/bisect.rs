//! What `perfwatch bisect` found: the first commit where a case got worse, each step of the
//! search with the paired comparisons that decided it, and how sure the path is.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::case::CaseId;
use crate::compare::Verdict;

/// How a bisection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BisectOutcome {
    /// One commit is named: `first_bad`, whose parent `last_good` is fine.
    Found,
    /// Only skipped (unbuildable) commits lie between `last_good` and `first_bad`: the
    /// change is in one of them or in `first_bad`.
    Skipped,
    /// A step stayed inconclusive after its extension: the change lies in
    /// (`last_good`, `first_bad`], and bisect did not guess further.
    Inconclusive,
    /// The bad end is not worse than the good end beyond the threshold: nothing to find.
    NoRegression,
}

impl BisectOutcome {
    /// The lowercase name used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            BisectOutcome::Found => "found",
            BisectOutcome::Skipped => "skipped",
            BisectOutcome::Inconclusive => "inconclusive",
            BisectOutcome::NoRegression => "no_regression",
        }
    }
}

/// A commit of the searched range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CommitRef {
    /// Full hash.
    pub commit: String,
    /// First line of its message.
    pub subject: String,
    /// Its place in the range: 0 is the good end, the bad end is the last.
    pub position: u32,
}

/// One interleaved paired comparison of two commits (base → candidate).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PairComparison {
    /// Position of the base commit.
    pub base: u32,
    /// Position of the candidate commit.
    pub candidate: u32,
    /// Candidate / base ratio of the metric (paired Hodges–Lehmann estimate).
    pub ratio: f64,
    /// 95 % interval of the ratio.
    pub ci95: [f64; 2],
    /// Two-sided p-value of "no change".
    pub p_value: f64,
    /// The verdict against the threshold.
    pub verdict: Verdict,
    /// Paired rounds measured.
    pub rounds: u32,
    /// Seconds spent measuring.
    pub elapsed_s: f64,
    /// This is the second, longer attempt after an inconclusive first one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub extended: bool,
}

/// What a step decided about its commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StepDecision {
    /// Already worse than the good end: the change is at or before this commit.
    Bad,
    /// Still like the good end: the change is after this commit.
    Good,
    /// It could not be built (or its suite lacks the case): left out, like `git bisect skip`.
    Skipped,
    /// The comparisons did not agree on a side, even extended: the search stopped here.
    Undecided,
}

impl StepDecision {
    /// The lowercase name used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            StepDecision::Bad => "bad",
            StepDecision::Good => "good",
            StepDecision::Skipped => "skipped",
            StepDecision::Undecided => "undecided",
        }
    }
}

/// One step of the search: a commit between the current good and bad ends, compared with
/// both.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BisectStep {
    /// The commit tested.
    pub commit: CommitRef,
    /// The decision.
    pub decision: StepDecision,
    /// The commit against the current good end (base: good end), when it was built.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vs_good: Option<PairComparison>,
    /// The current bad end against the commit (base: this commit), when it was built.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vs_bad: Option<PairComparison>,
    /// Why it was skipped or undecided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The document `perfwatch bisect` writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BisectReport {
    /// Version of this document's shape.
    pub schema_version: u32,
    /// The case searched.
    #[serde(flatten)]
    pub case: CaseId,
    /// The metric that decides.
    pub metric: String,
    /// Smallest relative change that counts, as a fraction.
    pub threshold: f64,
    /// How the search ended.
    pub outcome: BisectOutcome,
    /// The good end given.
    pub good: CommitRef,
    /// The bad end given.
    pub bad: CommitRef,
    /// Commits in the range after the good end (the bad end included).
    pub commits: u32,
    /// The newest commit known good when the search ended.
    pub last_good: CommitRef,
    /// The oldest commit known bad when the search ended; the culprit when `outcome` is
    /// `found`.
    pub first_bad: CommitRef,
    /// `last_good` → `first_bad` measured side by side: the size of the step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<PairComparison>,
    /// The bad end against the good end, measured first.
    pub span: PairComparison,
    /// Every step, in order.
    pub steps: Vec<BisectStep>,
    /// Probability that every step went the right way, treating steps as independent: the
    /// product over steps of (1 − its error bound), where a step's error bound is the
    /// p-value of the comparison that found the regression, or 0.05 (the level of the
    /// equivalence test) when only "unchanged" decided it.
    pub confidence: f64,
    /// Seconds spent, builds included.
    pub elapsed_s: f64,
}

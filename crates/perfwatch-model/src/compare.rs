//! Verdicts of a candidate against a baseline: what `compare` and `ab` report.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::case::CaseId;
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
    /// The case: bench name and parameter values (`name` and `params` in JSON).
    #[serde(flatten)]
    pub case: CaseId,
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
    /// Why the verdict is not what the interval alone says, or how to read the interval.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<VerdictNote>,
}

/// A note on one comparison's verdict, typed like the caveats of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum VerdictNote {
    /// The interval clears the threshold, but the evidence did not survive the suite-wide
    /// Benjamini–Hochberg step (so many comparisons would otherwise cry wolf): the verdict is
    /// inconclusive.
    FalseDiscoveryControl {
        /// The verdict the interval alone gives.
        interval_verdict: Verdict,
        /// The one-sided p-value after the adjustment.
        adjusted_p: f64,
        /// The false-discovery rate it had to be within.
        q: f64,
    },
    /// Side-by-side measuring stopped when another metric was decided (its verdict, or the
    /// `--expect-speedup` goal on it): this metric's interval is its own confidence sequence
    /// at that round (valid, but wider than a fixed-sample interval; its verdict may be
    /// inconclusive for lack of rounds).
    DecidedByOtherMetric {
        /// The metric that decided when to stop.
        metric: String,
    },
}

impl fmt::Display for VerdictNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerdictNote::FalseDiscoveryControl { interval_verdict, adjusted_p, q } => write!(
                f,
                "the interval alone says {}, but across the suite it does not survive Benjamini–Hochberg \
                 (adjusted p {adjusted_p:.3} > q {q}): inconclusive",
                interval_verdict.as_str()
            ),
            VerdictNote::DecidedByOtherMetric { metric } => write!(
                f,
                "measuring stopped once {metric} was decided (its verdict, or a speedup goal); this \
                 interval is its own confidence sequence at that round, wider than a fixed-sample one"
            ),
        }
    }
}

/// How a comparison was measured and analysed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Design {
    /// Two separate runs (blocks): Hodges–Lehmann shift of log values with the
    /// Mann–Whitney-inverted interval; machine drift between the runs is not removed.
    #[default]
    Unpaired,
    /// Interleaved rounds (`ab`, `compare --rev`): paired log-ratios per round, signed-rank
    /// Hodges–Lehmann with an anytime-valid confidence sequence; drift cancels in each pair.
    Paired,
}

impl Design {
    /// The JSON name (`unpaired`, `paired`).
    pub fn as_str(self) -> &'static str {
        match self {
            Design::Unpaired => "unpaired",
            Design::Paired => "paired",
        }
    }

    /// A sentence for the reader.
    pub fn describe(self) -> &'static str {
        match self {
            Design::Unpaired => "unpaired: two separate runs (Hodges–Lehmann, Mann–Whitney interval)",
            Design::Paired => "paired: interleaved rounds (signed-rank Hodges–Lehmann, confidence sequence)",
        }
    }
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
    /// The case: bench name and parameter values (`name` and `params` in JSON).
    #[serde(flatten)]
    pub case: CaseId,
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
    /// How it was measured and analysed (absent in documents older than this field: unpaired).
    #[serde(default)]
    pub design: Design,
    /// Every case × metric.
    pub comparisons: Vec<Comparison>,
    /// Every budget of every case in the candidate.
    #[serde(default)]
    pub budgets: Vec<BudgetResult>,
    /// Verdict counts.
    pub summary: VerdictCounts,
    /// Warnings about the comparison itself (different hosts, missing cases…), typed like
    /// the caveats of a run so that scripts can branch on `kind`.
    #[serde(default)]
    pub warnings: Vec<ComparisonWarning>,
    /// Interleaved rounds run (side-by-side comparisons only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rounds: Option<u32>,
    /// Seconds spent measuring (side-by-side comparisons only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elapsed_s: Option<f64>,
    /// Why measuring stopped: `verdict` or `budget` (side-by-side comparisons only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    /// The speedup asked for with `ab --expect-speedup`, and whether B reached it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speedup_goal: Option<SpeedupGoal>,
    /// The measured values behind some comparisons, for pictures in the terminal (not part of
    /// the JSON document: the runs hold the samples).
    #[serde(skip)]
    #[schemars(skip)]
    pub distributions: Vec<Distribution>,
}

/// `ab --expect-speedup FACTOR`: B is expected to be at least FACTOR times faster than A on
/// the deciding metric (lower is better).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SpeedupGoal {
    /// The speedup asked for (> 1).
    pub factor: f64,
    /// Measured speedup A/B: 1 / the comparison's ratio B/A.
    pub speedup: f64,
    /// 95 % interval of the speedup: [1/ci_hi, 1/ci_lo] of the ratio's interval.
    pub ci95: [f64; 2],
    /// Whether the goal was reached.
    pub status: GoalStatus,
}

/// Whether a [`SpeedupGoal`] was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GoalStatus {
    /// The whole interval of the speedup is at or above the factor.
    Met,
    /// The whole interval is below the factor.
    Missed,
    /// The interval contains the factor.
    Inconclusive,
}

impl GoalStatus {
    /// `met` / `missed` / `inconclusive`.
    pub fn as_str(self) -> &'static str {
        match self {
            GoalStatus::Met => "met",
            GoalStatus::Missed => "missed",
            GoalStatus::Inconclusive => "inconclusive",
        }
    }
}

impl fmt::Display for SpeedupGoal {
    /// `speedup 3.98× [3.90×, 4.05×] vs goal 3×: met`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "speedup {:.2}× [{:.2}×, {:.2}×] vs goal {}×: {}",
            self.speedup,
            self.ci95[0],
            self.ci95[1],
            self.factor,
            self.status.as_str()
        )
    }
}

/// The values of one metric of one case on both sides of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Distribution {
    /// The case.
    pub case: CaseId,
    /// The metric.
    pub metric: String,
    /// Its unit.
    pub unit: String,
    /// Baseline (A) values.
    pub baseline: Vec<f64>,
    /// Candidate (B) values.
    pub candidate: Vec<f64>,
}

/// Which run of a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunSide {
    /// The reference run.
    Baseline,
    /// The run being judged.
    Candidate,
}

impl RunSide {
    /// `baseline` / `candidate`.
    pub fn as_str(self) -> &'static str {
        match self {
            RunSide::Baseline => "baseline",
            RunSide::Candidate => "candidate",
        }
    }
}

/// A warning about a comparison (not about one measurement: those are [`crate::Caveat`]s).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ComparisonWarning {
    /// The case has results in the candidate run only.
    NewCase {
        /// The case.
        case: CaseId,
    },
    /// The case has results in the baseline run only.
    MissingCase {
        /// The case.
        case: CaseId,
    },
    /// The case is not in the base revision's suite (`compare --rev`).
    NotInBase {
        /// The case.
        case: CaseId,
    },
    /// Metrics measured on one side only.
    MetricsOnOneSide {
        /// The case.
        case: CaseId,
        /// The metrics.
        metrics: Vec<String>,
        /// The side that has them.
        side: RunSide,
    },
    /// The unit of a metric differs between the runs.
    UnitChanged {
        /// The case.
        case: CaseId,
        /// The metric.
        metric: String,
        /// Unit in the baseline.
        from: String,
        /// Unit in the candidate.
        to: String,
    },
    /// One side has no samples of a metric.
    NoSamples {
        /// The case.
        case: CaseId,
        /// The metric.
        metric: String,
    },
    /// One side knows a metric only by a summary (imported from a harness that wrote no
    /// samples): there is no interval, so it is not judged.
    SummaryOnly {
        /// The case.
        case: CaseId,
        /// The metric.
        metric: String,
        /// Candidate over baseline of the reported values, when both are finite and the
        /// baseline's is not 0: a point estimate, not a verdict.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ratio: Option<f64>,
    },
    /// The baseline median is 0, so the ratio is on a difference scale.
    DifferenceScale {
        /// `case metric` of every such comparison.
        series: Vec<String>,
    },
    /// The runs come from different machines.
    DifferentHosts {
        /// Baseline CPU model.
        baseline_cpu: String,
        /// Baseline logical cores.
        baseline_cores: u32,
        /// Candidate CPU model.
        candidate_cpu: String,
        /// Candidate logical cores.
        candidate_cores: u32,
    },
    /// The metric the side-by-side comparison decides on was never measured.
    MetricNotMeasured {
        /// The metric.
        metric: String,
    },
    /// The time or round budget ended side-by-side measuring before a verdict.
    BudgetLimited {
        /// The case (absent for `ab`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        case: Option<CaseId>,
        /// The deciding metric.
        metric: String,
        /// Rounds measured.
        rounds: u32,
        /// Seed of the round order, to repeat it.
        seed: u64,
    },
    /// A run failed and ended side-by-side measuring.
    RunFailed {
        /// The case (absent for `ab`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        case: Option<CaseId>,
        /// Complete rounds before the failure.
        rounds: u32,
        /// What failed.
        message: String,
    },
    /// Ctrl-C ended side-by-side measuring.
    Interrupted {
        /// The case (absent for `ab`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        case: Option<CaseId>,
        /// Complete rounds.
        rounds: u32,
    },
    /// Both runs were measured interleaved by `compare --rev`, whose paired analysis is more
    /// precise than this unpaired comparison of the two runs.
    MeasuredInterleaved,
    /// Baseline and candidate are one run: every verdict is "no change" by construction.
    SameRun,
    /// A compared case was measured while the machine was unhealthy (the CPU or GPU
    /// throttled, or the hypervisor stole CPU time): its change may come from the machine,
    /// not the code.
    HostUnhealthy {
        /// The case.
        case: CaseId,
        /// The run whose measurement of the case carries the caveat.
        side: RunSide,
        /// The caveat ([`crate::Caveat::Throttled`], [`crate::Caveat::CpuSteal`] or
        /// [`crate::Caveat::GpuThrottled`]).
        caveat: crate::Caveat,
    },
    /// A setup or cleanup hook failed (`compare --rev`).
    HookFailed {
        /// The case.
        case: CaseId,
        /// `setup` or `cleanup`.
        hook: String,
        /// The hook's command.
        command: String,
    },
    /// A case's `instructions` and `wall` verdicts are both decisive and point opposite ways
    /// (one regressed, the other improved): the change in time does not come from the
    /// instructions counted under Valgrind but from what they leave out (cache and memory
    /// behaviour of the real machine, I/O, waiting, other processes) or from noise.
    CountsDisagreeWithWall {
        /// The case.
        case: CaseId,
        /// Candidate / baseline of the instruction counts.
        instructions_ratio: f64,
        /// Candidate / baseline of the wall time.
        wall_ratio: f64,
    },
}

/// Why instructions and wall time can disagree ([`ComparisonWarning::CountsDisagreeWithWall`]).
const NOT_IN_THE_COUNTS: &str = "the change is not in the instructions counted (cache, I/O, or noise)";

/// A ratio as a signed change in percent: `+3.0 %`, `−5.1 %` (a minus sign, not a hyphen).
struct SignedChange(f64);

impl fmt::Display for SignedChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pct = (self.0 - 1.0) * 100.0;
        if pct < 0.0 { write!(f, "\u{2212}{:.1} %", -pct) } else { write!(f, "+{pct:.1} %") }
    }
}

/// `CASE: ` before a message about one case, nothing otherwise.
struct CasePrefix<'a>(&'a Option<CaseId>);

impl fmt::Display for CasePrefix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(case) => write!(f, "{case}: "),
            None => Ok(()),
        }
    }
}

impl fmt::Display for ComparisonWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ComparisonWarning::NewCase { case } => {
                write!(f, "{case} is new: the baseline run has no results for it")
            }
            ComparisonWarning::HostUnhealthy { case, side, caveat } => write!(
                f,
                "{case}: in the {} run, {caveat}; a change may come from the machine, not the code",
                side.as_str()
            ),
            ComparisonWarning::MissingCase { case } => write!(f, "{case} is missing from the candidate run"),
            ComparisonWarning::NotInBase { case } => {
                write!(f, "{case}: not in the base revision's suite; not compared")
            }
            ComparisonWarning::MetricsOnOneSide { case, metrics, side } => {
                write!(f, "{case}: {} only in the {} run; not compared", metrics.join(", "), side.as_str())
            }
            ComparisonWarning::UnitChanged { case, metric, from, to } => {
                write!(f, "{case} {metric}: unit changed from {from:?} to {to:?}; not compared")
            }
            ComparisonWarning::NoSamples { case, metric } => {
                write!(f, "{case} {metric}: no samples on one side; not compared")
            }
            ComparisonWarning::SummaryOnly { case, metric, ratio } => {
                write!(f, "{case} {metric}: summary-only: no interval")?;
                if let Some(r) = ratio {
                    write!(f, " (reported values {r:.3}x the baseline's)")?;
                }
                f.write_str("; not judged")
            }
            ComparisonWarning::DifferenceScale { series } => write!(
                f,
                "baseline median is 0 for {}: the ratio shown is 1 + change / mean absolute value, not a quotient",
                series.join(", ")
            ),
            ComparisonWarning::DifferentHosts {
                baseline_cpu,
                baseline_cores,
                candidate_cpu,
                candidate_cores,
            } => {
                write!(
                    f,
                    "baseline and candidate ran on different machines ({baseline_cpu}, {baseline_cores} cores vs \
                     {candidate_cpu}, {candidate_cores} cores): differences may come from the hardware"
                )
            }
            ComparisonWarning::MetricNotMeasured { metric } => {
                write!(f, "metric `{metric}` was not measured in any round")
            }
            ComparisonWarning::BudgetLimited { case, metric, rounds, seed } => write!(
                f,
                "{}budget-limited: the early-stopping check reached no verdict on {metric} in {rounds} rounds, \
                 so the budget ended measuring; the intervals shown are fixed-sample signed-rank intervals at \
                 96% (≥ 95% overall with the early-stopping checks) and the verdicts are theirs (seed {seed})",
                CasePrefix(case)
            ),
            ComparisonWarning::RunFailed { case, rounds, message } => {
                write!(f, "{}measuring stopped after {rounds} complete rounds: {message}", CasePrefix(case))
            }
            ComparisonWarning::Interrupted { case, rounds } => {
                write!(f, "{}interrupted after {rounds} rounds", CasePrefix(case))
            }
            ComparisonWarning::MeasuredInterleaved => f.write_str(
                "both runs were measured interleaved by `compare --rev`: its paired analysis (printed when it \
                 ran) is more precise than this unpaired comparison of the two runs",
            ),
            ComparisonWarning::SameRun => f.write_str(
                "baseline and candidate are the same run: it is compared with itself, so no verdict below means \
                 anything",
            ),
            ComparisonWarning::HookFailed { case, hook, command } => {
                write!(f, "{case}: {hook} hook `{command}` failed")
            }
            ComparisonWarning::CountsDisagreeWithWall { case, instructions_ratio: i, wall_ratio: w } => {
                let (i, w) = (SignedChange(*i), SignedChange(*w));
                write!(f, "{case}: instructions {i} but wall {w}: {NOT_IN_THE_COUNTS}")
            }
        }
    }
}

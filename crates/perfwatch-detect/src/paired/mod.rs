//! Paired (interleaved A/B) analysis: what `perfwatch ab` and `compare --rev` decide from
//! randomized interleaved rounds (Abedi & Brecht, "Conducting repeatable experiments in
//! highly variable cloud computing environments", ICPE 2017).
//!
//! Each round runs A and B once, in random order, and yields one paired log-ratio
//! `dᵢ = ln(bᵢ/aᵢ)`. Slow drift of the machine affects both runs of a round alike and cancels
//! in dᵢ; the random order turns what is left into noise that is symmetric under "no change".
//!
//! * The reported estimate is the Hodges–Lehmann pseudo-median of d with the Wilcoxon
//!   signed-rank confidence interval (perfwatch-stats' [`signed_rank`]); ratios are `exp()`
//!   of them.
//! * While measuring, a [`SequentialRule`] checks an anytime-valid confidence sequence
//!   (perfwatch-stats' [`sequence`]) after every round and stops at the first clear verdict; when the budget
//!   runs out first, the fixed-n interval is reported and flagged budget-limited.
//! * Verdicts use the four regions of design §8 with threshold τ ([`verdict_from_log_ci`]).
//!
//! ```
//! use perfwatch_detect::paired::{fixed_estimate, log_ratios};
//! use perfwatch_model::{Better, GoalStatus, SpeedupGoal, Verdict};
//!
//! let a = [1.00, 1.02, 0.99, 1.01, 1.00, 1.03, 0.98, 1.00, 1.01, 0.99];
//! let b: Vec<f64> = a.iter().map(|x| x * 1.10).collect();
//! let est = fixed_estimate(&log_ratios(&a, &b), 0.95, 0.01, Better::Lower).unwrap();
//! assert_eq!(est.verdict, Verdict::Regressed);
//! assert!((est.ratio - 1.10).abs() < 1e-9);
//! ```

use perfwatch_model::{Better, GoalStatus, SpeedupGoal, Verdict};

pub use perfwatch_stats::sequence::{self, CsParams, mean_cs, median_cs};
pub use perfwatch_stats::signed_rank::{self, ShiftCi, hodges_lehmann, signed_rank_ci, signed_rank_p_value};

/// Paired log-ratios `ln(bᵢ/aᵢ)` of rounds where both values are positive and finite
/// (others, e.g. a zero peak memory, carry no ratio and are skipped).
pub fn log_ratios(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter()
        .zip(b)
        .filter(|(x, y)| x.is_finite() && y.is_finite() && **x > 0.0 && **y > 0.0)
        .map(|(x, y)| (y / x).ln())
        .collect()
}

/// The four-way verdict of design §8 on a log-scale interval `[lo, hi]` of ln(B/A) with
/// threshold τ (a fraction): regressed if the whole interval is above ln(1+τ) (one-sided test
/// of "ratio ≤ 1+τ" at α/2), improved if it is below −ln(1+τ), unchanged if it lies strictly
/// inside (−ln(1+τ), ln(1+τ)) (two one-sided tests of equivalence, Schuirmann 1987),
/// inconclusive otherwise. Directions flip for higher-is-better metrics. With τ = 0 nothing
/// is ever "unchanged".
pub fn verdict_from_log_ci(lo: f64, hi: f64, tau: f64, better: Better) -> Verdict {
    // The same regions as the unpaired rule, on the ratio scale: one rule everywhere.
    crate::verdict::verdict_from_ratio_ci([lo.exp(), hi.exp()], tau.max(0.0), better)
}

/// Which anytime-valid confidence sequence a [`SequentialRule`] checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sequence {
    /// Distribution-free sign/median sequence ([`median_cs`]): for wall time and anything
    /// prone to bursts.
    Median,
    /// Normal-mixture sequence for the mean with the running variance ([`mean_cs`]): for
    /// CPU time, whose differences are close to Gaussian.
    Mean,
}

impl Sequence {
    /// perfwatch's default for a metric: the mean sequence for CPU times (`cpu`, `user`,
    /// `sys`), the median one for everything else.
    pub fn default_for(metric: &str) -> Sequence {
        match metric {
            "cpu" | "user" | "sys" => Sequence::Mean,
            _ => Sequence::Median,
        }
    }

    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Sequence::Median => "median",
            Sequence::Mean => "mean",
        }
    }

    /// The sequence's interval for `d` (log-ratios), `None` when it cannot be computed yet.
    pub fn interval(self, d: &[f64], params: &CsParams) -> Option<(f64, f64)> {
        match self {
            Sequence::Median => median_cs(d, params),
            Sequence::Mean => mean_cs(d, params),
        }
    }
}

/// Where a reported interval comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntervalKind {
    /// The fixed-n signed-rank interval after the last round (budget-limited when measuring
    /// stopped because the time or round budget ran out).
    FixedSample,
    /// The anytime-valid confidence sequence at the round where measuring stopped.
    ConfidenceSequence(Sequence),
}

/// A paired estimate of the ratio B/A with its interval and verdict.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairedEstimate {
    /// Rounds used.
    pub n: usize,
    /// exp(Hodges–Lehmann estimate of ln(B/A)).
    pub ratio: f64,
    /// Confidence interval of the ratio, `[lo, hi]` (may be 0 or +∞ with few rounds).
    pub ci: [f64; 2],
    /// Two-sided signed-rank p-value of "no change" (1 when all differences are zero).
    pub p_value: f64,
    /// Verdict from the interval with the threshold.
    pub verdict: Verdict,
    /// What kind of interval `ci` is.
    pub kind: IntervalKind,
}

/// Hodges–Lehmann ratio with the fixed-n signed-rank interval at `confidence` and its
/// verdict with threshold `tau`. `None` without any finite log-ratio.
pub fn fixed_estimate(d: &[f64], confidence: f64, tau: f64, better: Better) -> Option<PairedEstimate> {
    let ci = signed_rank_ci(d, confidence)?;
    Some(PairedEstimate {
        n: d.iter().filter(|v| v.is_finite()).count(),
        ratio: ci.estimate.exp(),
        ci: [ci.lo.exp(), ci.hi.exp()],
        p_value: signed_rank_p_value(d, 0.0).unwrap_or(1.0),
        verdict: verdict_from_log_ci(ci.lo, ci.hi, tau, better),
        kind: IntervalKind::FixedSample,
    })
}

/// Hodges–Lehmann ratio with the anytime-valid interval of `sequence` (valid at a
/// data-dependent stopping round) and its verdict. `None` when the sequence cannot be
/// computed yet.
pub fn sequential_estimate(
    d: &[f64],
    sequence: Sequence,
    params: &CsParams,
    tau: f64,
    better: Better,
) -> Option<PairedEstimate> {
    let (lo, hi) = sequence.interval(d, params)?;
    Some(PairedEstimate {
        n: d.iter().filter(|v| v.is_finite()).count(),
        ratio: hodges_lehmann(d)?.exp(),
        ci: [lo.exp(), hi.exp()],
        p_value: signed_rank_p_value(d, 0.0).unwrap_or(1.0),
        verdict: verdict_from_log_ci(lo, hi, tau, better),
        kind: IntervalKind::ConfidenceSequence(sequence),
    })
}

/// The stopping rule of `perfwatch ab`: after a burn-in, check the confidence sequence after
/// every round and stop at the first verdict that is not inconclusive.
///
/// Because the sequence holds at all rounds at once, stopping at the first clear verdict
/// keeps the error rate at α (≤ 5 % by default); checking a fixed-n interval after every
/// round instead would raise it far above (see the simulation tests).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SequentialRule {
    /// Which sequence.
    pub sequence: Sequence,
    /// Its settings.
    pub params: CsParams,
    /// Rounds before stopping is considered at all.
    pub burn_in: usize,
    /// Threshold τ as a fraction.
    pub tau: f64,
    /// Direction of the decision metric.
    pub better: Better,
    /// Confidence of the fixed-n interval reported when the budget ends measuring.
    pub final_confidence: f64,
    /// `ab --expect-speedup`: stop when the goal is decided instead of on a verdict.
    pub goal: Option<f64>,
}

/// Error spent on stopping early ([`SequentialRule::new`]).
pub const EARLY_ALPHA: f64 = 0.01;
/// Confidence of the budget-limited final interval: `1 − (0.05 − EARLY_ALPHA)`.
pub const FINAL_CONFIDENCE: f64 = 0.96;

impl SequentialRule {
    /// perfwatch's defaults for `metric`: the sequence of [`Sequence::default_for`], tuned for
    /// n* = 200, burn-in 10 rounds, and the overall error of 5 % split between the two ways
    /// a verdict can arise (Bonferroni): α = [`EARLY_ALPHA`] for stopping early on the
    /// sequence, and a [`FINAL_CONFIDENCE`] fixed-n interval for the one look at the budget.
    /// Both intervals therefore cover with ≥ 95 % probability, and the chance that either
    /// produces a false verdict stays ≤ 5 % however many rounds were looked at. (With the
    /// sequence at α = 0.05 and a 95 % final look the union reaches ≈ 6 %; see the tests.)
    pub fn new(metric: &str, tau: f64, better: Better) -> Self {
        SequentialRule {
            sequence: Sequence::default_for(metric),
            params: CsParams { alpha: EARLY_ALPHA, ..CsParams::default() },
            burn_in: 10,
            tau,
            better,
            final_confidence: FINAL_CONFIDENCE,
            goal: None,
        }
    }

    /// The same rule deciding about a speedup goal (`ab --expect-speedup FACTOR`): it stops
    /// as soon as the confidence sequence for ln(B/A) excludes ln(1/FACTOR), i.e. the goal
    /// is met or missed, whatever the changed/unchanged verdict. This is the same anytime-valid
    /// sequence as without a goal (Howard, Ramdas, McAuliffe & Sekhon, "Time-uniform,
    /// nonparametric, nonasymptotic confidence sequences", Ann. Statist. 2021, via
    /// perfwatch-stats' [`sequence`]): because it covers at every round at once, stopping at the
    /// first round where it excludes one fixed value is a valid sequential test of that value
    /// at level α, just as stopping on the threshold regions is.
    pub fn with_goal(mut self, factor: f64) -> Self {
        self.goal = Some(factor);
        self
    }

    /// The same rule with its confidence sequence tuned to be tightest at `n_star` rounds
    /// (see [`planned_n_star`]).
    pub fn with_n_star(mut self, n_star: f64) -> Self {
        self.params.n_star = n_star;
        self
    }

    /// The verdict to stop with after these rounds' log-ratios, or `None` to go on.
    pub fn check(&self, d: &[f64]) -> Option<Verdict> {
        if d.len() < self.burn_in.max(2) {
            return None;
        }
        let (lo, hi) = self.sequence.interval(d, &self.params)?;
        if let Some(factor) = self.goal {
            let goal = -factor.ln();
            let decided = hi <= goal || lo > goal;
            return decided.then(|| verdict_from_log_ci(lo, hi, self.tau, self.better));
        }
        match verdict_from_log_ci(lo, hi, self.tau, self.better) {
            Verdict::Inconclusive => None,
            v => Some(v),
        }
    }

    /// The estimate to report when measuring ended: the sequence's interval when it stopped
    /// on a verdict (`by_verdict`), the fixed-n interval at [`Self::final_confidence`]
    /// otherwise (budget-limited).
    pub fn final_estimate(&self, d: &[f64], by_verdict: bool) -> Option<PairedEstimate> {
        if by_verdict {
            sequential_estimate(d, self.sequence, &self.params, self.tau, self.better)
        } else {
            fixed_estimate(d, self.final_confidence, self.tau, self.better)
        }
    }
}

/// Whether B reached the speedup `factor` over A (`ab --expect-speedup`), from the paired
/// ratio B/A and its 95 % interval `ci` (lower is better). The speedup is 1/ratio and its
/// interval [1/ci_hi, 1/ci_lo] (the map is monotone, so coverage is kept). The goal is met
/// when the whole interval is ≥ `factor`, missed when it is wholly below, inconclusive
/// otherwise: the interval-inclusion rule of design §8 ([`verdict_from_log_ci`]) with the
/// single boundary `factor` instead of the ±τ band, i.e. a one-sided test of "speedup <
/// factor" (and of "≥ factor") at α/2 each (Schuirmann 1987's duality of tests and intervals).
/// An interval that is not finite and positive gives `inconclusive`.
pub fn speedup_goal(factor: f64, ratio: f64, ci: [f64; 2]) -> SpeedupGoal {
    let [lo, hi] = ci;
    let usable = lo.is_finite() && hi.is_finite() && lo > 0.0 && hi > 0.0;
    let ci95 = if usable { [1.0 / hi, 1.0 / lo] } else { [f64::NAN, f64::NAN] };
    let status = if !usable {
        GoalStatus::Inconclusive
    } else if ci95[0] >= factor {
        GoalStatus::Met
    } else if ci95[1] < factor {
        GoalStatus::Missed
    } else {
        GoalStatus::Inconclusive
    };
    SpeedupGoal { factor, speedup: 1.0 / ratio, ci95, status }
}

/// Fewest rounds a sequence is tuned for ([`planned_n_star`]).
pub const MIN_N_STAR: f64 = 20.0;
/// Most rounds a sequence is tuned for ([`planned_n_star`]).
pub const MAX_N_STAR: f64 = 1000.0;

/// The round count n* to tune the confidence sequence for when about `expected_rounds`
/// rounds fit in the time budget: half of them, within [[`MIN_N_STAR`], [`MAX_N_STAR`]];
/// the default n* = 200 when the expectation is unknown (not finite or not positive).
///
/// The mixture width ρ only decides *when* the sequence is tightest, and the boundary is
/// flat around its optimum: at α = 0.01 a sequence tuned for n* is 1 % wider at n*/2 and
/// 5 % wider at n*/4 than one tuned for those round counts (test
/// `n_star_mistuning_costs_little_near_the_optimum`).
/// Early stopping is worth most in the first half of the budget, and the budget's own look
/// uses the fixed-n interval anyway, so half the expected rounds is where the sequence should
/// be tight. Replayed by `bench/sensitivity/rounds.py` on recorded rounds (about 100 rounds in 10 s
/// under seeded noise), n* = 50 stopped 2 % and 5 % slowdowns after 2.7 s where n* = 200 took
/// 3.4 s, with no A/A stop either way; n* between 25 and 70 gave the same times.
///
/// The expectation must come from data the sequence does not analyse (the warm-up runs), so
/// that ρ is fixed before the first analysed round, as the sequence's guarantee requires.
pub fn planned_n_star(expected_rounds: f64) -> f64 {
    if expected_rounds.is_finite() && expected_rounds > 0.0 {
        (expected_rounds / 2.0).clamp(MIN_N_STAR, MAX_N_STAR)
    } else {
        CsParams::default().n_star
    }
}

/// Rounds expected to fit in `budget_s` seconds when one round (A and B once each) took
/// `round_s` seconds in the warm-up; `None` when the warm-up time is unknown or zero.
pub fn expected_rounds(budget_s: f64, round_s: f64) -> Option<f64> {
    (round_s.is_finite() && round_s > 0.0 && budget_s.is_finite()).then(|| budget_s / round_s)
}

#[cfg(test)]
mod tests;

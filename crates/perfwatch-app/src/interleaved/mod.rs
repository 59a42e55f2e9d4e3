//! Side by side: two contenders measured in randomized interleaved rounds (perfwatch-runner's
//! RMIT engine), judged on paired log-ratios (perfwatch-detect's `paired` module), stopping
//! at the first clear verdict of an anytime-valid confidence sequence or when the budget ends.
//!
//! [`ab`] compares two commands; [`rev`] two git revisions of a suite, case by case. Both use
//! [`measure_paired`] for the loop and [`paired_comparisons`] for the report, so they share
//! one rule.

pub mod ab;
pub mod bisect;
pub mod rev;
pub(crate) mod worktree;

use std::cell::Cell;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use perfwatch_detect::paired::{IntervalKind, SequentialRule, expected_rounds, log_ratios, planned_n_star};
use perfwatch_model::{CaseId, Comparison, ComparisonWarning, Distribution, VerdictNote};
use perfwatch_runner::{
    Contender, Executor, InterleaveEvent, InterleaveOptions, InterleaveOutcome, Round, Side, StopReason,
    run_interleaved,
};

/// Measures A and B in interleaved rounds until `rule`, checked after every round on the
/// paired log-ratios of `metric` with its sequence tuned by the warm-up ([`WarmupClock`]),
/// reaches a verdict or a budget runs out. Returns the outcome and the n* the sequences were
/// tuned for (the final intervals must use the same).
pub fn measure_paired(
    (a, b): (&Contender, &Contender),
    opts: &InterleaveOptions,
    executor: &mut dyn Executor,
    (rule, metric): (SequentialRule, &str),
    on_event: &mut dyn FnMut(&InterleaveEvent<'_>),
    stop: &AtomicBool,
) -> (InterleaveOutcome, f64) {
    let clock = WarmupClock::default();
    let mut decide = |rounds: &[Round]| {
        let (xa, xb): (Vec<f64>, Vec<f64>) =
            rounds.iter().filter_map(|r| Some((r.a.metric(metric)?, r.b.metric(metric)?))).unzip();
        rule.with_n_star(clock.n_star(opts.max_time)).check(&log_ratios(&xa, &xb)).is_some()
    };
    let mut events = |e: &InterleaveEvent<'_>| {
        clock.record(e);
        on_event(e)
    };
    let outcome = run_interleaved(a, b, opts, executor, &mut decide, &mut events, stop);
    let n_star = clock.n_star(opts.max_time);
    (outcome, n_star)
}

/// Times the warm-up runs of an interleaved comparison, to tune its confidence sequences for
/// the number of rounds the budget will hold ([`perfwatch_detect::paired::planned_n_star`]).
/// The warm-ups are never analysed, so the tuning is fixed before the first analysed round.
#[derive(Debug, Default)]
pub struct WarmupClock {
    last_a: Cell<f64>,
    last_b: Cell<f64>,
}

impl WarmupClock {
    /// Notes the wall time of a warm-up run (the last warm-up of each side counts: the first
    /// run of a program is often slowed by a cold page cache).
    pub fn record(&self, e: &InterleaveEvent<'_>) {
        if let InterleaveEvent::WarmupDone { side, wall, .. } = e {
            match side {
                Side::A => self.last_a.set(*wall),
                Side::B => self.last_b.set(*wall),
            }
        }
    }

    /// n* for a budget of `max_time`: half the rounds the warm-up suggests fit in it, or the
    /// default n* without a warm-up.
    pub fn n_star(&self, max_time: Duration) -> f64 {
        let round = self.last_a.get() + self.last_b.get();
        planned_n_star(expected_rounds(max_time.as_secs_f64(), round).unwrap_or(f64::NAN))
    }
}

/// One comparison per metric measured in the rounds (wall, cpu, max_rss, custom): the paired
/// Hodges–Lehmann ratio with the confidence sequence's interval (tuned for `n_star` rounds, as
/// while measuring) when measuring stopped on a verdict — valid at any data-dependent stopping
/// round — else the fixed-n signed-rank interval (budget-limited).
///
/// When measuring stopped on the verdict of `deciding` (the metric the sequence watched), the
/// other metrics' comparisons say so ([`VerdictNote::DecidedByOtherMetric`]): their intervals
/// are their own sequences at a round chosen by another metric.
pub fn paired_comparisons(
    outcome: &InterleaveOutcome,
    (case, deciding): (&CaseId, &str),
    threshold_for: &dyn Fn(&str) -> f64,
    n_star: f64,
) -> Vec<Comparison> {
    let by_verdict = outcome.stopped == StopReason::Decided;
    let mut out = Vec::new();
    for metric in outcome.metric_names() {
        let (xa, xb) = outcome.paired(&metric);
        let d = log_ratios(&xa, &xb);
        if d.is_empty() {
            continue;
        }
        let info = outcome.metric_info(&metric);
        let threshold = threshold_for(&metric);
        let rule = SequentialRule::new(&metric, threshold, info.better).with_n_star(n_star);
        let Some(est) = rule.final_estimate(&d, by_verdict) else { continue };
        debug_assert!(by_verdict || est.kind == IntervalKind::FixedSample);
        out.push(Comparison {
            case: case.clone(),
            unit: info.unit.clone(),
            better: info.better,
            baseline_median: median(&xa),
            candidate_median: median(&xb),
            ratio: est.ratio,
            ci95: est.ci,
            p_value: est.p_value,
            threshold,
            verdict: est.verdict,
            baseline_n: xa.len() as u32,
            candidate_n: xb.len() as u32,
            notes: if by_verdict && metric != deciding {
                vec![VerdictNote::DecidedByOtherMetric { metric: deciding.to_string() }]
            } else {
                vec![]
            },
            metric,
        });
    }
    out
}

/// The values of `metric` on both sides (paired rounds only), for the distribution strips of
/// the terminal; `None` when it was not measured.
pub fn distribution(outcome: &InterleaveOutcome, case: &CaseId, metric: &str) -> Option<Distribution> {
    let (baseline, candidate) = outcome.paired(metric);
    if baseline.is_empty() {
        return None;
    }
    let unit = outcome.metric_info(metric).unit.clone();
    Some(Distribution { case: case.clone(), metric: metric.to_string(), unit, baseline, candidate })
}

/// The warning explaining how measuring ended, when it did not end on a verdict.
pub fn stop_warning(
    outcome: &InterleaveOutcome,
    case: Option<&CaseId>,
    metric: &str,
    seed: u64,
) -> Option<ComparisonWarning> {
    let rounds = outcome.rounds.len() as u32;
    let case = case.cloned();
    match &outcome.stopped {
        StopReason::Decided => None,
        StopReason::TimeBudget | StopReason::RoundBudget => {
            Some(ComparisonWarning::BudgetLimited { case, metric: metric.to_string(), rounds, seed })
        }
        StopReason::Failed { failure, .. } => {
            Some(ComparisonWarning::RunFailed { case, rounds, message: failure.message.clone() })
        }
        StopReason::Interrupted => Some(ComparisonWarning::Interrupted { case, rounds }),
        StopReason::Aborted { message } => {
            Some(ComparisonWarning::RunFailed { case, rounds, message: message.clone() })
        }
    }
}

/// A seed for the round order when the user gives none.
pub fn fresh_seed() -> u64 {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    (nanos as u64) ^ (u64::from(std::process::id()) << 32)
}

fn median(x: &[f64]) -> f64 {
    let mut v = x.to_vec();
    v.sort_by(f64::total_cmp);
    perfwatch_stats::quantile_sorted(&v, 0.5)
}

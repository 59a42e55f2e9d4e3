//! Verdicts of a candidate run against a baseline run (design §8, "Run vs baseline").
//!
//! Per case × metric, on log values: ratio = exp(Hodges–Lehmann shift), with the
//! Mann–Whitney-inverted 95 % CI (see [`perfwatch_stats::rank::hodges_lehmann`]). With
//! threshold τ: regressed if the whole CI lies beyond 1 + τ in the bad direction, improved if
//! it lies beyond 1/(1 + τ) in the good one, unchanged if it lies inside (1/(1 + τ), 1 + τ),
//! inconclusive otherwise ([`verdict_from_ratio_ci`]).
//!
//! Across a suite ([`compare_runs`]), false alarms are controlled with Benjamini–Hochberg
//! (Benjamini & Hochberg 1995) at q = [`FDR_Q`]. The exact rule: every comparison i of the
//! suite (m in all) gets two one-sided Mann–Whitney p-values, `p_worse` for H0 "the change in
//! the bad direction is at most τ" and `p_better` for H0 "the change in the good direction is
//! at most τ" ([`perfwatch_stats::rank::mann_whitney_shift_p`] with δ = ln(1 + τ)). Each of the
//! two lists is BH-adjusted over all m comparisons. A CI verdict of *regressed* stands only if
//! its adjusted `p_worse` ≤ q, *improved* only if its adjusted `p_better` ≤ q; otherwise it
//! becomes *inconclusive*. Unchanged and inconclusive verdicts are not touched. The
//! reported `p_value` is the two-sided Mann–Whitney p-value of "no change", BH-adjusted over
//! the same m comparisons.
//!
//! ## Counts that do not vary
//! The instruction metrics of `[bench.instr]` ([`INSTR_METRICS`]) come from a simulation:
//! for a deterministic program every repetition gives the same count, so there is no noise
//! to estimate and no interval to build. When both sides' values of such a metric are each
//! constant (one run under Valgrind, or identical repeats) and positive, the ratio is exact:
//! its "interval" is the ratio itself, the verdict follows from it and τ alone, and a
//! regressed or improved verdict carries p = 0 into the suite's Benjamini–Hochberg step (an
//! exact difference is no false discovery). Otherwise such a metric is compared like any other.
//!
//! ## Zeros and negative values
//! Ratios of timings are formed on the log scale, which needs every value > 0. When a metric
//! has a zero or negative value (sys time of a short program, a custom counter), the shift
//! is estimated on the raw values instead and expressed relative to a scale s:
//! ratio = 1 + shift / s, where s is |baseline median|, or, if that is 0, the baseline's mean
//! absolute value, or, if the baseline is all zeros, the mean absolute value of both samples
//! (then the "ratio" only measures the change against the threshold, it is not a quotient;
//! [`compare_runs`] warns about it). Thresholds become the differences τ·s upwards and
//! τ/(1 + τ)·s downwards, the same regions as on the log scale. Samples that are all zero on
//! both sides compare as ratio 1. Non-finite values are ignored. Nothing here panics or
//! returns NaN.

use std::collections::{BTreeMap, BTreeSet};

use perfwatch_model::metric::{BUILTIN_ORDER, INSTR_METRICS, INSTRUCTIONS, SYS, USER, WALL};
use perfwatch_model::{
    Better, BudgetStatus, CaseId, CaseReport, Comparison, ComparisonReport, ComparisonWarning, Design,
    RunRef, RunReport, RunSide, SCHEMA_VERSION, Verdict, VerdictCounts, VerdictNote,
};
use perfwatch_stats::rank::{Tail, benjamini_hochberg, hodges_lehmann, mann_whitney_shift_p};

/// False-discovery rate across a suite (design §8).
pub const FDR_Q: f64 = 0.05;

/// When a comparison fails a CI gate (design §5 `--fail-on`, §6 exit code 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailOn {
    /// A regression or a breached budget fails (the default).
    #[default]
    Regression,
    /// Also an inconclusive verdict fails (and, as with `Regression`, a regression or a
    /// breached budget).
    Inconclusive,
    /// Nothing fails.
    Never,
}

/// On which scale a ratio was formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RatioScale {
    /// All values positive: ratio = exp(shift of ln values), a true quotient.
    Log,
    /// Some value ≤ 0: ratio = 1 + (shift of raw values) / |baseline median|.
    BaselineMedian,
    /// Some value ≤ 0 and a baseline median of 0: ratio = 1 + shift / (a mean absolute value);
    /// only the side of the threshold is meaningful, not the number itself.
    MeanAbsolute,
}

/// The comparison of one metric's samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleComparison {
    /// Estimated candidate / baseline ratio.
    pub ratio: f64,
    /// 95 % CI of the ratio.
    pub ci95: [f64; 2],
    /// Two-sided Mann–Whitney p-value of "no change" (not adjusted).
    pub p_value: f64,
    /// One-sided p-value of "worse by at most τ" (small = evidence of a regression).
    pub p_worse: f64,
    /// One-sided p-value of "better by at most τ" (small = evidence of an improvement).
    pub p_better: f64,
    /// Verdict from the CI alone (before any suite-level adjustment). Inconclusive when the
    /// samples are too small for a 95 % interval (e.g. 3 against 3).
    pub verdict: Verdict,
    /// How the ratio was formed.
    pub scale: RatioScale,
}

/// The verdict regions of design §8 applied to a 95 % CI `[lo, hi]` of the candidate /
/// baseline ratio with threshold τ = `threshold` (a fraction, 0.02 for 2 %): for
/// lower-is-better metrics regressed if lo > 1 + τ, improved if hi < 1/(1 + τ), unchanged
/// if 1/(1 + τ) < lo and hi < 1 + τ, inconclusive otherwise; the two directions swap for
/// higher-is-better metrics. With τ = 0 nothing can be unchanged. A NaN bound or threshold
/// gives inconclusive.
pub fn verdict_from_ratio_ci(ci: [f64; 2], threshold: f64, better: Better) -> Verdict {
    if ci.iter().any(|v| v.is_nan()) || threshold.is_nan() {
        return Verdict::Inconclusive;
    }
    let up = 1.0 + threshold;
    let down = 1.0 / up;
    let (worse, improved) = match better {
        Better::Lower => (ci[0] > up, ci[1] < down),
        Better::Higher => (ci[1] < down, ci[0] > up),
    };
    if worse {
        Verdict::Regressed
    } else if improved {
        Verdict::Improved
    } else if ci[0] > down && ci[1] < up {
        Verdict::Unchanged
    } else {
        Verdict::Inconclusive
    }
}

/// Compares `candidate` with `baseline` samples of one metric with threshold τ =
/// `threshold` (a negative or non-finite threshold counts as 0). Non-finite values are
/// dropped; `None` when a side has no value left (or, on the difference scale, when the
/// ratio would overflow). See the module docs for zeros and negative values.
pub fn compare_samples(
    baseline: &[f64],
    candidate: &[f64],
    threshold: f64,
    better: Better,
) -> Option<SampleComparison> {
    let threshold = sanitize_threshold(threshold);
    let finite = |v: &[f64]| v.iter().copied().filter(|x| x.is_finite()).collect::<Vec<f64>>();
    let (baseline, candidate) = (finite(baseline), finite(candidate));
    if baseline.is_empty() || candidate.is_empty() {
        return None;
    }
    let positive = baseline.iter().chain(&candidate).all(|v| *v > 0.0);
    // (x, y, margin up, margin down, scale kind, s); ratio = exp(d) on logs, 1 + d / s raw.
    let (x, y, up, down, scale, s) = if positive {
        let ln = |v: &[f64]| v.iter().map(|x| x.ln()).collect::<Vec<_>>();
        let m = threshold.ln_1p();
        (ln(&baseline), ln(&candidate), m, m, RatioScale::Log, 1.0)
    } else {
        let (scale, s) = difference_scale(&baseline, &candidate);
        (baseline, candidate, threshold * s, threshold / (1.0 + threshold) * s, scale, s)
    };
    let to_ratio = |d: f64| if scale == RatioScale::Log { d.exp() } else { 1.0 + d / s };
    let est = hodges_lehmann(&x, &y)?;
    let ratio = to_ratio(est.shift);
    let ci95 = [to_ratio(est.ci[0]), to_ratio(est.ci[1])];
    // "Larger by more than the up margin" and "smaller by more than the down margin".
    let p_larger = mann_whitney_shift_p(&x, &y, up, Tail::Greater);
    let p_smaller = mann_whitney_shift_p(&x, &y, -down, Tail::Less);
    let (p_worse, p_better) = match better {
        Better::Lower => (p_larger, p_smaller),
        Better::Higher => (p_smaller, p_larger),
    };
    let verdict =
        if est.ci_valid { verdict_from_ratio_ci(ci95, threshold, better) } else { Verdict::Inconclusive };
    let all_finite = ratio.is_finite() && ci95.iter().all(|v| v.is_finite());
    all_finite.then_some(SampleComparison {
        ratio,
        ci95,
        p_value: est.p_two_sided,
        p_worse,
        p_better,
        verdict,
        scale,
    })
}

/// The exact comparison of two constant positive counts (see "Counts that do not vary" in the
/// module docs); `None` when either side varies, is empty or is not positive.
pub fn compare_counts(
    baseline: &[f64],
    candidate: &[f64],
    threshold: f64,
    better: Better,
) -> Option<SampleComparison> {
    let constant = |v: &[f64]| match v.first() {
        Some(&first) if first.is_finite() && first > 0.0 && v.iter().all(|x| *x == first) => Some(first),
        _ => None,
    };
    let ratio = constant(candidate)? / constant(baseline)?;
    if !ratio.is_finite() {
        return None;
    }
    let verdict = verdict_from_ratio_ci([ratio, ratio], sanitize_threshold(threshold), better);
    let (p_worse, p_better) = match verdict {
        Verdict::Regressed => (0.0, 1.0),
        Verdict::Improved => (1.0, 0.0),
        _ => (1.0, 1.0),
    };
    let p_value = if ratio == 1.0 { 1.0 } else { 0.0 };
    Some(SampleComparison {
        ratio,
        ci95: [ratio, ratio],
        p_value,
        p_worse,
        p_better,
        verdict,
        scale: RatioScale::Log,
    })
}

fn sanitize_threshold(t: f64) -> f64 {
    if t.is_finite() && t > 0.0 { t } else { 0.0 }
}

/// The scale s of a raw-value comparison (module docs), always finite and > 0.
fn difference_scale(baseline: &[f64], candidate: &[f64]) -> (RatioScale, f64) {
    let mut sorted = baseline.to_vec();
    sorted.sort_by(f64::total_cmp);
    let median = perfwatch_stats::quantile_sorted(&sorted, 0.5).abs();
    if median > 0.0 && median.is_finite() {
        return (RatioScale::BaselineMedian, median);
    }
    let mean_abs = |v: &mut dyn Iterator<Item = &f64>| {
        let (sum, n) = v.fold((0.0, 0usize), |(s, n), x| (s + x.abs(), n + 1));
        if n == 0 { 0.0 } else { sum / n as f64 }
    };
    let s = mean_abs(&mut baseline.iter());
    let s = if s > 0.0 { s } else { mean_abs(&mut baseline.iter().chain(candidate)) };
    (RatioScale::MeanAbsolute, if s > 0.0 && s.is_finite() { s } else { 1.0 })
}

/// Metrics both runs have, built-in ones in [`BUILTIN_ORDER`], then custom ones
/// alphabetically — except `user` and `sys`: their sum `cpu` is judged instead, because
/// judging all three would count one change three times (and triple the chances of a false
/// alarm from the tick-quantised sys time of short programs).
fn shared_metrics<'a>(a: &'a CaseReport, b: &'a CaseReport) -> Vec<&'a str> {
    let shared = |name: &str| a.metrics.contains_key(name) && b.metrics.contains_key(name);
    let mut out: Vec<&str> =
        BUILTIN_ORDER.iter().copied().filter(|m| *m != USER && *m != SYS && shared(m)).collect();
    out.extend(b.metrics.keys().map(String::as_str).filter(|m| !BUILTIN_ORDER.contains(m) && shared(m)));
    out
}

/// Where [`compare_case`] notes what it could not compare.
struct CaseNotes<'a> {
    warnings: &'a mut Vec<ComparisonWarning>,
    /// `case metric` of comparisons on the difference scale (zeros in the data).
    not_quotients: &'a mut Vec<String>,
}

/// One case of both runs × every shared metric: the comparison before the suite-wide
/// Benjamini–Hochberg step, with its one-sided p-values (worse, better).
fn compare_case(
    base: &CaseReport,
    cand: &CaseReport,
    threshold_for: &dyn Fn(&CaseId, &str) -> f64,
    notes: &mut CaseNotes<'_>,
) -> Vec<(Comparison, f64, f64)> {
    let id = &cand.case;
    for (side, a, b) in [(RunSide::Candidate, cand, base), (RunSide::Baseline, base, cand)] {
        let only: Vec<String> = a.metrics.keys().filter(|m| !b.metrics.contains_key(*m)).cloned().collect();
        if !only.is_empty() {
            notes.warnings.push(ComparisonWarning::MetricsOnOneSide {
                case: id.clone(),
                metrics: only,
                side,
            });
        }
    }
    let mut rows = Vec::new();
    for metric in shared_metrics(base, cand) {
        let (bs, cs) = (&base.metrics[metric], &cand.metrics[metric]);
        if bs.unit != cs.unit {
            notes.warnings.push(ComparisonWarning::UnitChanged {
                case: id.clone(),
                metric: metric.to_string(),
                from: bs.unit.clone(),
                to: cs.unit.clone(),
            });
            continue;
        }
        if bs.is_summary_only() || cs.is_summary_only() {
            let ratio = (bs.median != 0.0).then(|| cs.median / bs.median).filter(|r| r.is_finite());
            notes.warnings.push(ComparisonWarning::SummaryOnly {
                case: id.clone(),
                metric: metric.to_string(),
                ratio,
            });
            continue;
        }
        let threshold = sanitize_threshold(threshold_for(id, metric));
        let exact = INSTR_METRICS
            .contains(&metric)
            .then(|| compare_counts(&bs.samples, &cs.samples, threshold, cs.better));
        let Some(c) =
            exact.flatten().or_else(|| compare_samples(&bs.samples, &cs.samples, threshold, cs.better))
        else {
            notes
                .warnings
                .push(ComparisonWarning::NoSamples { case: id.clone(), metric: metric.to_string() });
            continue;
        };
        if c.scale == RatioScale::MeanAbsolute {
            notes.not_quotients.push(format!("{id} {metric}"));
        }
        let comparison = Comparison {
            case: id.clone(),
            metric: metric.to_string(),
            unit: cs.unit.clone(),
            better: cs.better,
            baseline_median: bs.median,
            candidate_median: cs.median,
            ratio: c.ratio,
            ci95: c.ci95,
            p_value: c.p_value,
            threshold,
            verdict: c.verdict,
            baseline_n: bs.n,
            candidate_n: cs.n,
            notes: vec![],
        };
        rows.push((comparison, c.p_worse, c.p_better));
    }
    rows
}

/// Compares every case present in both runs (matched by name and parameters) × every
/// metric present in both, on the raw samples kept in each `Summary`, with the threshold
/// `threshold_for(case, metric)` (a fraction). Regressed/improved verdicts must survive
/// Benjamini–Hochberg across the whole suite, and `p_value` holds the BH-adjusted two-sided
/// p-value (the exact rule is in the module docs).
///
/// Comparisons follow the candidate's case order; within a case, built-in metrics in
/// [`BUILTIN_ORDER`], then custom metrics alphabetically. Warnings note cases present on one
/// side only, metrics present on one side only, metrics whose unit changed (not compared) or that have no values, ratios on
/// the difference scale (zeros in the data), runs from different hosts, and cases whose
/// instruction counts and wall time changed decisively in opposite directions
/// ([`counts_disagree_with_wall`]). `budgets` is
/// left empty: budgets come from the suite (see [`crate::budget::check_budgets`]).
pub fn compare_runs(
    baseline: &RunReport,
    candidate: &RunReport,
    threshold_for: &dyn Fn(&CaseId, &str) -> f64,
) -> ComparisonReport {
    let mut warnings = Vec::new();
    let base_cases: BTreeMap<&CaseId, &CaseReport> =
        baseline.benchmarks.iter().map(|c| (&c.case, c)).collect();
    let mut rows: Vec<(Comparison, f64, f64)> = Vec::new();
    let mut not_quotients: Vec<String> = Vec::new();
    for cand in &candidate.benchmarks {
        let Some(&base) = base_cases.get(&cand.case) else {
            warnings.push(ComparisonWarning::NewCase { case: cand.case.clone() });
            continue;
        };
        warnings.extend(host_health_warnings(base, cand));
        let mut notes = CaseNotes { warnings: &mut warnings, not_quotients: &mut not_quotients };
        rows.extend(compare_case(base, cand, threshold_for, &mut notes));
    }
    let cand_ids: BTreeSet<&CaseId> = candidate.benchmarks.iter().map(|c| &c.case).collect();
    for id in base_cases.keys().filter(|id| !cand_ids.contains(*id)) {
        warnings.push(ComparisonWarning::MissingCase { case: (*id).clone() });
    }
    if !not_quotients.is_empty() {
        warnings.push(ComparisonWarning::DifferenceScale { series: not_quotients });
    }
    let comparisons = apply_fdr(rows);
    warnings.extend(counts_disagree_with_wall(&comparisons));
    let (b, c) = (&baseline.run.host, &candidate.run.host);
    if b.fingerprint != c.fingerprint {
        warnings.push(ComparisonWarning::DifferentHosts {
            baseline_cpu: b.cpu.clone(),
            baseline_cores: b.cores,
            candidate_cpu: c.cpu.clone(),
            candidate_cores: c.cores,
        });
    }
    ComparisonReport {
        schema_version: SCHEMA_VERSION,
        baseline: run_ref(baseline),
        candidate: run_ref(candidate),
        design: Design::Unpaired,
        summary: VerdictCounts::tally(&comparisons),
        comparisons,
        budgets: vec![],
        warnings,
        rounds: None,
        elapsed_s: None,
        stopped: None,
        speedup_goal: None,
        distributions: vec![],
    }
}

/// A [`ComparisonWarning::HostUnhealthy`] for every throttling or steal caveat of a
/// compared case, on either side.
fn host_health_warnings(base: &CaseReport, cand: &CaseReport) -> Vec<ComparisonWarning> {
    [(RunSide::Baseline, base), (RunSide::Candidate, cand)]
        .into_iter()
        .flat_map(|(side, c)| {
            c.caveats.iter().filter(|cv| cv.is_host_health()).map(move |caveat| {
                ComparisonWarning::HostUnhealthy { case: c.case.clone(), side, caveat: caveat.clone() }
            })
        })
        .collect()
}

/// A [`ComparisonWarning::CountsDisagreeWithWall`] for every case whose `instructions` and
/// `wall` verdicts (after the false-discovery step) are both decisive and opposite: one
/// regressed, the other improved. An unchanged or inconclusive verdict on either says nothing
/// about direction beyond noise, so it gives no warning. Both metrics are lower-is-better.
pub fn counts_disagree_with_wall(comparisons: &[Comparison]) -> Vec<ComparisonWarning> {
    use Verdict::{Improved, Regressed};
    let find =
        |case: &CaseId, metric: &str| comparisons.iter().find(|c| &c.case == case && c.metric == metric);
    comparisons
        .iter()
        .filter(|c| c.metric == INSTRUCTIONS)
        .filter_map(|instr| {
            let wall = find(&instr.case, WALL)?;
            matches!((instr.verdict, wall.verdict), (Regressed, Improved) | (Improved, Regressed)).then(
                || ComparisonWarning::CountsDisagreeWithWall {
                    case: instr.case.clone(),
                    instructions_ratio: instr.ratio,
                    wall_ratio: wall.ratio,
                },
            )
        })
        .collect()
}

/// Benjamini–Hochberg over the suite (module docs): a regression (improvement) whose
/// adjusted one-sided p-value exceeds [`FDR_Q`] becomes inconclusive; the reported
/// two-sided p is replaced by its adjusted value.
fn apply_fdr(rows: Vec<(Comparison, f64, f64)>) -> Vec<Comparison> {
    let worse = benjamini_hochberg(&rows.iter().map(|r| r.1).collect::<Vec<_>>());
    let better = benjamini_hochberg(&rows.iter().map(|r| r.2).collect::<Vec<_>>());
    let two_sided = benjamini_hochberg(&rows.iter().map(|r| r.0.p_value).collect::<Vec<_>>());
    rows.into_iter()
        .enumerate()
        .map(|(i, (mut c, _, _))| {
            let demote = match c.verdict {
                Verdict::Regressed => worse[i] > FDR_Q,
                Verdict::Improved => better[i] > FDR_Q,
                _ => false,
            };
            if demote {
                let adjusted_p = if c.verdict == Verdict::Regressed { worse[i] } else { better[i] };
                c.notes.push(VerdictNote::FalseDiscoveryControl {
                    interval_verdict: c.verdict,
                    adjusted_p,
                    q: FDR_Q,
                });
                c.verdict = Verdict::Inconclusive;
            }
            c.p_value = two_sided[i];
            c
        })
        .collect()
}

fn run_ref(r: &RunReport) -> RunRef {
    RunRef {
        run_id: r.run.id.clone(),
        name: None,
        commit: r.run.git.as_ref().map(|g| g.commit.clone()),
        host: Some(r.run.host.fingerprint.clone()),
    }
}

/// Whether the report fails the gate chosen with `--fail-on` (design §6: exit 1).
pub fn gate_failed(report: &ComparisonReport, fail_on: FailOn) -> bool {
    let regressed =
        report.summary.regressed > 0 || report.budgets.iter().any(|b| b.status == BudgetStatus::Fail);
    match fail_on {
        FailOn::Never => false,
        FailOn::Regression => regressed,
        FailOn::Inconclusive => regressed || report.summary.inconclusive > 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use perfwatch_model::Caveat;
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};

    /// Timing-like samples: a median of `median` with multiplicative lognormal noise of
    /// relative spread `sigma`, plus an occasional slow outlier (shared machines).
    fn timings(rng: &mut StdRng, n: usize, median: f64, sigma: f64) -> Vec<f64> {
        (0..n)
            .map(|_| {
                // Box–Muller from two uniforms.
                let (u1, u2): (f64, f64) = (rng.random::<f64>().max(1e-300), rng.random());
                let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
                let spike = if rng.random::<f64>() < 0.03 { 1.3 } else { 1.0 };
                median * (sigma * z).exp() * spike
            })
            .collect()
    }

    #[test]
    fn regions_follow_design_section_8() {
        use Verdict::*;
        let t = 0.02;
        assert_eq!(verdict_from_ratio_ci([1.03, 1.08], t, Better::Lower), Regressed);
        assert_eq!(verdict_from_ratio_ci([0.90, 0.97], t, Better::Lower), Improved);
        assert_eq!(verdict_from_ratio_ci([0.99, 1.01], t, Better::Lower), Unchanged);
        assert_eq!(verdict_from_ratio_ci([0.99, 1.03], t, Better::Lower), Inconclusive);
        assert_eq!(verdict_from_ratio_ci([1.03, 1.08], t, Better::Higher), Improved);
        assert_eq!(verdict_from_ratio_ci([0.90, 0.97], t, Better::Higher), Regressed);
        // With τ = 0 nothing can be shown unchanged.
        assert_eq!(verdict_from_ratio_ci([0.999, 1.001], 0.0, Better::Lower), Inconclusive);
    }

    #[test]
    fn a_known_five_percent_shift_is_a_regression() {
        let mut rng = StdRng::seed_from_u64(7);
        let (sims, mut ratios) = (20, Vec::new());
        for _ in 0..sims {
            let a = timings(&mut rng, 30, 0.100, 0.01);
            let b = timings(&mut rng, 30, 0.105, 0.01);
            let c = compare_samples(&a, &b, 0.02, Better::Lower).unwrap();
            assert_eq!(c.verdict, Verdict::Regressed, "{c:?}");
            assert!(c.ci95[0] <= 1.05 && 1.05 <= c.ci95[1], "{c:?}");
            // The same data as a higher-is-better metric is an improvement.
            assert_eq!(compare_samples(&a, &b, 0.02, Better::Higher).unwrap().verdict, Verdict::Improved);
            ratios.push(c.ratio);
        }
        let mean = ratios.iter().sum::<f64>() / sims as f64;
        println!("5 % shift, n=30/side, 1 % noise, τ=2%: {sims}/{sims} regressed, mean ratio {mean:.4}");
    }

    #[test]
    fn suite_level_false_discoveries_stay_below_q_and_real_regressions_survive() {
        // 200 suites of 20 A/A comparisons plus one true 5 % regression each, and 200 suites
        // of 20 A/A comparisons only, τ = 0 (the hardest case: every CI-only regression is a
        // false alarm except the planted one). BH bounds the false discovery rate E[V / R];
        // with no real change (complete null) that is the chance of any false alarm.
        let mut rng = StdRng::seed_from_u64(31);
        let (suites, per_suite) = (200, 20);
        let (mut fdp_sum, mut found, mut null_alarms) = (0.0, 0, 0);
        for s in 0..2 * suites {
            let planted = s < suites;
            let mut rows = Vec::new();
            for i in 0..=per_suite {
                let a = timings(&mut rng, 30, 0.1, 0.02);
                let b = timings(&mut rng, 30, if planted && i == per_suite { 0.105 } else { 0.1 }, 0.02);
                let c = compare_samples(&a, &b, 0.0, Better::Lower).unwrap();
                rows.push((comparison(i, c.verdict, c.p_value), c.p_worse, c.p_better));
            }
            let out = apply_fdr(rows);
            let false_alarms = out[..per_suite].iter().filter(|c| c.verdict == Verdict::Regressed).count();
            if planted {
                let real = (out[per_suite].verdict == Verdict::Regressed) as usize;
                found += real;
                let discoveries = false_alarms + real;
                fdp_sum += if discoveries > 0 { false_alarms as f64 / discoveries as f64 } else { 0.0 };
            } else {
                null_alarms += (false_alarms > 0 || out[per_suite].verdict == Verdict::Regressed) as u32;
            }
        }
        let fdr = fdp_sum / suites as f64;
        let null_rate = null_alarms as f64 / suites as f64;
        let power = found as f64 / suites as f64;
        println!(
            "suites of 20 A/A + 1 real 5 % regression (n=30, 2 % noise, τ=0, BH q=0.05): FDR {:.1}%, \
             real one found in {:.1}%; suites of 21 A/A: {:.1}% had any false regression",
            fdr * 100.0,
            power * 100.0,
            null_rate * 100.0
        );
        assert!(fdr <= 0.05, "false discovery rate {fdr}");
        assert!(null_rate <= 0.05, "suite false alarm rate under the complete null {null_rate}");
        assert!(power >= 0.9);
    }

    #[test]
    fn identical_distributions_are_never_regressions_and_ci_covers_the_truth() {
        // 1,000 seeded A/A simulations with 30 samples per side.
        let mut rng = StdRng::seed_from_u64(2026);
        let sims = 1000;
        let (mut fp_tau0, mut fp_tau2, mut covered, mut unchanged_tau2) = (0, 0, 0, 0);
        for _ in 0..sims {
            let a = timings(&mut rng, 30, 0.05, 0.03);
            let b = timings(&mut rng, 30, 0.05, 0.03);
            let c0 = compare_samples(&a, &b, 0.0, Better::Lower).unwrap();
            let c2 = compare_samples(&a, &b, 0.02, Better::Lower).unwrap();
            fp_tau0 += (c0.verdict == Verdict::Regressed) as u32;
            fp_tau2 += (c2.verdict == Verdict::Regressed) as u32;
            unchanged_tau2 += (c2.verdict == Verdict::Unchanged) as u32;
            covered += (c0.ci95[0] <= 1.0 && 1.0 <= c0.ci95[1]) as u32;
        }
        let rate = |k: u32| k as f64 / sims as f64;
        println!(
            "A/A x{sims}, n=30/side: false regressions τ=0 {:.2}%, τ=2% {:.2}%; CI coverage {:.1}%; unchanged at τ=2% {:.1}%",
            rate(fp_tau0) * 100.0,
            rate(fp_tau2) * 100.0,
            rate(covered) * 100.0,
            rate(unchanged_tau2) * 100.0
        );
        assert!(rate(fp_tau0) <= 0.025, "false-regression rate at τ=0: {}", rate(fp_tau0));
        assert!(rate(fp_tau2) <= 0.005, "false-regression rate at τ=2%: {}", rate(fp_tau2));
        assert!(rate(covered) >= 0.94, "coverage {}", rate(covered));
    }

    #[test]
    fn ci_covers_a_true_nonunit_ratio() {
        let mut rng = StdRng::seed_from_u64(99);
        let sims = 1000;
        let mut covered = 0;
        for _ in 0..sims {
            let a = timings(&mut rng, 30, 0.05, 0.02);
            let b: Vec<f64> = timings(&mut rng, 30, 0.05, 0.02).iter().map(|v| v * 1.07).collect();
            let c = compare_samples(&a, &b, 0.02, Better::Lower).unwrap();
            covered += (c.ci95[0] <= 1.07 && 1.07 <= c.ci95[1]) as u32;
        }
        println!("coverage of a true ratio 1.07: {:.1}%", covered as f64 / sims as f64 * 100.0);
        assert!(covered as f64 / sims as f64 >= 0.94);
    }

    #[test]
    fn zeros_negatives_and_tiny_samples_never_panic_or_decide() {
        // Baseline median 0: the mean absolute value is the scale.
        let c = compare_samples(&[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0], &[0.0; 8], 0.02, Better::Lower)
            .unwrap();
        assert_eq!(c.scale, RatioScale::MeanAbsolute);
        assert!(c.ratio.is_finite() && c.ci95.iter().all(|v| v.is_finite()), "{c:?}");
        // All zeros on both sides: nothing changed (sys time of a short program).
        let c = compare_samples(&[0.0; 10], &[0.0; 10], 0.02, Better::Lower).unwrap();
        assert_eq!((c.ratio, c.ci95, c.verdict), (1.0, [1.0, 1.0], Verdict::Unchanged));
        // A counter going from 0 to 5 in every run is a regression of a lower-is-better metric.
        let c = compare_samples(&[0.0; 10], &[5.0; 10], 0.02, Better::Lower).unwrap();
        assert_eq!(c.verdict, Verdict::Regressed, "{c:?}");
        // Negative values: raw differences relative to |baseline median| (here 2).
        let base = [-2.1, -2.0, -1.9, -2.05, -1.95, -2.0, -2.02, -1.98, -2.01, -1.99];
        let cand: Vec<f64> = base.iter().map(|v| v + 0.5).collect();
        let c = compare_samples(&base, &cand, 0.02, Better::Higher).unwrap();
        assert_eq!(c.scale, RatioScale::BaselineMedian);
        assert!((c.ratio - 1.25).abs() < 1e-9, "{c:?}");
        assert_eq!(c.verdict, Verdict::Improved);
        // Too few samples for a 95 % interval.
        let c = compare_samples(&[1.0, 1.0, 1.0], &[2.0, 2.0, 2.0], 0.02, Better::Lower).unwrap();
        assert_eq!(c.verdict, Verdict::Inconclusive, "3 vs 3 cannot reach 95 %");
        let one = compare_samples(&[1.0], &[2.0], 0.02, Better::Lower).unwrap();
        assert_eq!(one.verdict, Verdict::Inconclusive);
        // Empty, NaN-only, infinite and a bad threshold.
        assert_eq!(compare_samples(&[], &[1.0], 0.02, Better::Lower), None);
        assert_eq!(compare_samples(&[f64::NAN], &[1.0], 0.02, Better::Lower), None);
        let c =
            compare_samples(&[1.0, f64::INFINITY, 1.0, 1.0, 1.0, 1.0], &[1.0; 6], f64::NAN, Better::Lower);
        assert_eq!(c.unwrap().verdict, Verdict::Inconclusive, "τ = 0 cannot show unchanged");
        let same = vec![1024.0; 10];
        assert_eq!(compare_samples(&same, &same, 0.02, Better::Lower).unwrap().verdict, Verdict::Unchanged);
    }

    proptest::proptest! {
        #[test]
        fn any_finite_input_gives_finite_output(
            a in proptest::collection::vec(-1e6f64..1e6, 0..40),
            b in proptest::collection::vec(-1e6f64..1e6, 0..40),
            zeros in 0usize..5,
            t in -1.0f64..1.0,
        ) {
            let mut a = a;
            a.extend(std::iter::repeat_n(0.0, zeros));
            if let Some(c) = compare_samples(&a, &b, t, Better::Higher) {
                proptest::prop_assert!(c.ratio.is_finite() && c.ci95[0] <= c.ci95[1]);
                proptest::prop_assert!(c.ci95[0].is_finite() && c.ci95[1].is_finite());
                proptest::prop_assert!(c.p_value.is_finite() && c.p_worse.is_finite() && c.p_better.is_finite());
            } else {
                proptest::prop_assert!(a.is_empty() || b.is_empty());
            }
        }

        #[test]
        fn a_common_unit_change_does_not_move_the_ratio(
            a in proptest::collection::vec(0.01f64..10.0, 6..30),
            b in proptest::collection::vec(0.01f64..10.0, 6..30),
            k in 1e-3f64..1e3,
        ) {
            let c = compare_samples(&a, &b, 0.02, Better::Lower).unwrap();
            let scale = |v: &[f64]| v.iter().map(|x| x * k).collect::<Vec<_>>();
            let d = compare_samples(&scale(&a), &scale(&b), 0.02, Better::Lower).unwrap();
            proptest::prop_assert!((c.ratio / d.ratio - 1.0).abs() < 1e-9);
            proptest::prop_assert!((c.ci95[0] / d.ci95[0] - 1.0).abs() < 1e-9);
            proptest::prop_assert!((c.ci95[1] / d.ci95[1] - 1.0).abs() < 1e-9);
        }
    }

    #[test]
    fn constant_counts_compare_exactly() {
        use Verdict::*;
        let c = compare_counts(&[1000.0], &[1000.0], 0.005, Better::Lower).unwrap();
        assert_eq!((c.ratio, c.ci95, c.verdict, c.p_value), (1.0, [1.0, 1.0], Unchanged, 1.0));
        let c = compare_counts(&[1000.0], &[1010.0], 0.005, Better::Lower).unwrap();
        assert_eq!((c.verdict, c.p_worse), (Regressed, 0.0));
        assert!((c.ratio - 1.01).abs() < 1e-12);
        let c = compare_counts(&[1000.0, 1000.0], &[990.0], 0.005, Better::Lower).unwrap();
        assert_eq!((c.verdict, c.p_better), (Improved, 0.0));
        assert_eq!(compare_counts(&[1000.0], &[1004.0], 0.005, Better::Lower).unwrap().verdict, Unchanged);
        // Varying, empty, zero or non-finite: not constant counts.
        assert!(compare_counts(&[1000.0, 1001.0], &[1000.0], 0.005, Better::Lower).is_none());
        assert!(compare_counts(&[], &[1000.0], 0.005, Better::Lower).is_none());
        assert!(compare_counts(&[0.0], &[1000.0], 0.005, Better::Lower).is_none());
        assert!(compare_counts(&[f64::NAN], &[1000.0], 0.005, Better::Lower).is_none());
    }

    /// One run under Valgrind per side decides, and the exact regression survives the suite's
    /// false-discovery step among many unchanged metrics; a wall time of one run does not.
    #[test]
    fn one_instruction_count_per_side_decides_in_compare_runs() {
        use Verdict::*;
        let side = |instr: f64| {
            let cases: Vec<CaseReport> = (0..20)
                .map(|i| {
                    let v = if i == 0 { instr } else { 5000.0 };
                    case(
                        "k",
                        &i.to_string(),
                        &[("instructions", Better::Lower, vec![v]), ("wall", Better::Lower, vec![1.0])],
                    )
                })
                .collect();
            run(if instr == 1000.0 { "a" } else { "b" }, "h", cases)
        };
        let report = compare_runs(&side(1000.0), &side(1010.0), &|_: &CaseId, _: &str| 0.005);
        let instr: Vec<&Comparison> =
            report.comparisons.iter().filter(|c| c.metric == "instructions").collect();
        assert_eq!(instr[0].verdict, Regressed);
        assert!(instr[1..].iter().all(|c| c.verdict == Unchanged));
        let walls = report.comparisons.iter().filter(|c| c.metric == "wall");
        assert!(
            walls.into_iter().all(|c| c.verdict == Inconclusive),
            "one wall time per side is no evidence"
        );
    }

    /// Issue 17: instructions and wall decisively opposite warn, in both directions; a wall
    /// time that is unchanged (or moves the same way) does not.
    #[test]
    fn counts_that_disagree_with_wall_warn_only_when_both_are_decisive() {
        use Verdict::*;
        let mut rng = StdRng::seed_from_u64(17);
        let mut t = |m: f64| timings(&mut rng, 30, m, 0.01);
        // (case, instructions base → cand, wall base → cand)
        let plan = [
            ("fewer_walls", 1000.0, 1030.0, 0.100, 0.095),
            ("more_walls", 1000.0, 970.0, 0.100, 0.106),
            ("same_wall", 1000.0, 1030.0, 0.100, 0.100),
            ("agree", 1000.0, 1030.0, 0.100, 0.106),
        ];
        let (mut base, mut cand) = (vec![], vec![]);
        for (name, ib, ic, wb, wc) in plan {
            for (cases, i, w) in [(&mut base, ib, wb), (&mut cand, ic, wc)] {
                let metrics = [("instructions", Better::Lower, vec![i]), ("wall", Better::Lower, t(w))];
                cases.push(case(name, "1", &metrics));
            }
        }
        let threshold = |_: &CaseId, m: &str| if m == "instructions" { 0.005 } else { 0.02 };
        let report = compare_runs(&run("a", "h", base), &run("b", "h", cand), &threshold);
        let verdict = |name: &str, metric: &str| {
            report.comparisons.iter().find(|c| c.case.name == name && c.metric == metric).unwrap().verdict
        };
        let verdicts: Vec<(Verdict, Verdict)> =
            plan.iter().map(|p| (verdict(p.0, "instructions"), verdict(p.0, "wall"))).collect();
        assert_eq!(
            verdicts,
            [(Regressed, Improved), (Improved, Regressed), (Regressed, Unchanged), (Regressed, Regressed)]
        );
        let disagree: Vec<&ComparisonWarning> = report
            .warnings
            .iter()
            .filter(|w| matches!(w, ComparisonWarning::CountsDisagreeWithWall { .. }))
            .collect();
        let names: Vec<&str> = disagree
            .iter()
            .map(|w| match w {
                ComparisonWarning::CountsDisagreeWithWall { case, .. } => case.name.as_str(),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(names, ["fewer_walls", "more_walls"], "{:#?}", report.warnings);
        let ComparisonWarning::CountsDisagreeWithWall { instructions_ratio, wall_ratio, .. } = disagree[0]
        else {
            unreachable!()
        };
        assert!((instructions_ratio - 1.03).abs() < 1e-12 && (wall_ratio - 0.95).abs() < 0.01);
        let text = disagree[0].to_string();
        assert!(text.contains("instructions +3.0 % but wall \u{2212}"), "{text}");
        assert!(text.contains("the change is not in the instructions counted"), "{text}");
        assert!(disagree[1].to_string().contains("instructions \u{2212}3.0 % but wall +"), "{}", disagree[1]);
    }

    #[test]
    fn suite_fdr_demotes_weak_regressions_among_many() {
        // One borderline regression among 40 unchanged comparisons: the CI alone would flag
        // it, but with 40 tests BH demands more evidence.
        let mut rng = StdRng::seed_from_u64(5);
        let mut rows = Vec::new();
        for i in 0..40 {
            let a = timings(&mut rng, 30, 0.1, 0.01);
            let b = timings(&mut rng, 30, 0.1, 0.01);
            let c = compare_samples(&a, &b, 0.02, Better::Lower).unwrap();
            rows.push((comparison(i, c.verdict, c.p_value), c.p_worse, c.p_better));
        }
        rows.push((comparison(99, Verdict::Regressed, 0.02), 0.02, 1.0));
        let out = apply_fdr(rows);
        assert_eq!(out.last().unwrap().verdict, Verdict::Inconclusive);
        assert!(out.iter().all(|c| c.verdict != Verdict::Regressed));
        // The demotion says why, with the BH-adjusted one-sided p-value.
        match out.last().unwrap().notes.as_slice() {
            [VerdictNote::FalseDiscoveryControl { interval_verdict: Verdict::Regressed, adjusted_p, q }] => {
                assert!(*adjusted_p > *q && *q == FDR_Q, "{adjusted_p} {q}");
            }
            other => panic!("expected the demotion note, got {other:?}"),
        }
        assert!(out[..40].iter().all(|c| c.notes.is_empty()), "nothing else was demoted");
    }

    fn run(id: &str, host: &str, cases: Vec<CaseReport>) -> RunReport {
        RunReport {
            schema_version: SCHEMA_VERSION,
            run: perfwatch_model::RunMeta {
                id: id.into(),
                started_at: Default::default(),
                ended_at: None,
                status: perfwatch_model::RunStatus::Complete,
                git: None,
                host: perfwatch_model::HostInfo {
                    fingerprint: host.into(),
                    hostname: "h".into(),
                    cpu: format!("cpu-{host}"),
                    cores: 2,
                    memory_bytes: 0,
                    os: "linux".into(),
                    kernel: "6".into(),
                    load_avg: [0.0; 3],
                    governor: None,
                    gpu: None,
                },
                labels: Default::default(),
                perfwatch_version: "0".into(),
                suite_hash: "x".into(),
            },
            benchmarks: cases,
            budgets: vec![],
        }
    }

    fn case(name: &str, n: &str, metrics: &[(&str, Better, Vec<f64>)]) -> CaseReport {
        let metrics = metrics
            .iter()
            .map(|(m, better, v)| {
                (
                    m.to_string(),
                    perfwatch_stats::summarize(v, &perfwatch_model::MetricInfo::new("s", *better)),
                )
            })
            .collect();
        CaseReport {
            case: CaseId { name: name.into(), params: [("n".to_string(), n.to_string())].into() },
            status: perfwatch_model::CaseStatus::Ok,
            runs: 30,
            caveats: vec![],
            metrics,
            failure: None,
            raw: vec![],
        }
    }

    #[test]
    fn compare_runs_matches_cases_orders_metrics_and_warns() {
        let mut rng = StdRng::seed_from_u64(11);
        let mut t = |m: f64| timings(&mut rng, 30, m, 0.01);
        let base = run(
            "base",
            "host-a",
            vec![
                case(
                    "sort",
                    "1",
                    vec![("wall", Better::Lower, t(1.0)), ("cpu", Better::Lower, vec![0.0; 30])].as_slice(),
                ),
                case("sort", "2", &[("wall", Better::Lower, t(1.0))]),
                case("gone", "1", &[("wall", Better::Lower, t(1.0))]),
            ],
        );
        let cand = run(
            "cand",
            "host-b",
            vec![
                case("sort", "2", &[("wall", Better::Lower, t(1.0))]),
                case(
                    "sort",
                    "1",
                    &[
                        ("zeta", Better::Higher, t(2.0)),
                        ("alpha", Better::Higher, t(2.0)),
                        ("wall", Better::Lower, t(1.10)),
                        ("cpu", Better::Lower, vec![0.0; 30]),
                    ],
                ),
                case("new", "1", &[("wall", Better::Lower, t(1.0))]),
            ],
        );
        let r = compare_runs(&base, &cand, &|_, m| if m == "wall" { 0.02 } else { 0.05 });
        let rows: Vec<(String, &str, Verdict)> =
            r.comparisons.iter().map(|c| (c.case.to_string(), c.metric.as_str(), c.verdict)).collect();
        assert_eq!(
            rows,
            [
                ("sort[n=2]".to_string(), "wall", rows[0].2),
                ("sort[n=1]".to_string(), "wall", Verdict::Regressed),
                ("sort[n=1]".to_string(), "cpu", Verdict::Unchanged),
            ]
        );
        assert_eq!(r.comparisons[1].threshold, 0.02);
        assert!(r.comparisons[1].p_value < 0.05 && r.comparisons[1].ratio > 1.05);
        assert_eq!(r.summary, VerdictCounts::tally(&r.comparisons));
        let w = r.warnings.iter().map(|w| w.to_string()).collect::<Vec<_>>().join("\n");
        assert!(w.contains("sort[n=1]: alpha, zeta only in the candidate run"), "{w}");
        assert!(
            w.contains("new[n=1] is new")
                && w.contains("gone[n=1] is missing")
                && w.contains("different machines"),
            "{w}"
        );
        assert_eq!((r.baseline.run_id.as_str(), r.candidate.run_id.as_str()), ("base", "cand"));
    }

    #[test]
    fn custom_metrics_follow_builtins_alphabetically() {
        let v = || (1..=10).map(f64::from).collect::<Vec<_>>();
        fn m<'a>(names: &[&'a str], v: impl Fn() -> Vec<f64>) -> Vec<(&'a str, Better, Vec<f64>)> {
            names.iter().map(|n| (*n, Better::Higher, v())).collect()
        }
        let base = run("a", "h", vec![case("c", "1", &m(&["zeta", "max_rss", "alpha", "wall", "cpu"], v))]);
        let cand = run("b", "h", vec![case("c", "1", &m(&["alpha", "cpu", "wall", "zeta", "max_rss"], v))]);
        let r = compare_runs(&base, &cand, &|_, _| 0.02);
        let order: Vec<&str> = r.comparisons.iter().map(|c| c.metric.as_str()).collect();
        assert_eq!(order, ["wall", "cpu", "max_rss", "alpha", "zeta"]);
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    }

    #[test]
    fn throttled_or_stolen_cases_warn_on_their_side() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        let mut base = run("a", "h", vec![case("c", "1", &[("wall", Better::Lower, v.clone())])]);
        let mut cand = run("b", "h", vec![case("c", "1", &[("wall", Better::Lower, v)])]);
        base.benchmarks[0].caveats.push(Caveat::Throttled { events: 4 });
        // Not a host-health caveat: no warning for it.
        cand.benchmarks[0].caveats.push(Caveat::HighNoise { cv: 0.2 });
        cand.benchmarks[0].caveats.push(Caveat::CpuSteal { share: 0.05 });
        let r = compare_runs(&base, &cand, &|_, _| 0.02);
        let id = CaseId::new("c", [("n".to_string(), "1".to_string())]);
        assert_eq!(
            r.warnings,
            vec![
                ComparisonWarning::HostUnhealthy {
                    case: id.clone(),
                    side: RunSide::Baseline,
                    caveat: Caveat::Throttled { events: 4 }
                },
                ComparisonWarning::HostUnhealthy {
                    case: id,
                    side: RunSide::Candidate,
                    caveat: Caveat::CpuSteal { share: 0.05 }
                },
            ]
        );
        let text = r.warnings[0].to_string();
        assert!(text.starts_with("c[n=1]: in the baseline run, the CPU throttled 4 times"), "{text}");
    }

    #[test]
    fn gate_follows_fail_on() {
        let mut r = compare_runs(&run("a", "h", vec![]), &run("b", "h", vec![]), &|_, _| 0.02);
        let all = |r: &ComparisonReport| {
            [FailOn::Regression, FailOn::Inconclusive, FailOn::Never].map(|f| gate_failed(r, f))
        };
        assert_eq!(all(&r), [false, false, false]);
        r.summary.inconclusive = 1;
        assert_eq!(all(&r), [false, true, false]);
        r.summary = VerdictCounts { regressed: 1, ..Default::default() };
        assert_eq!(all(&r), [true, true, false]);
        r.summary = VerdictCounts::default();
        r.budgets.push(perfwatch_model::BudgetResult {
            case: CaseId::new("c", Vec::<(String, String)>::new()),
            budget: "wall.p95 < 1ms".into(),
            target: 0.001,
            measured: Some(0.002),
            achievement_pct: Some(200.0),
            status: BudgetStatus::Fail,
        });
        assert_eq!(all(&r), [true, true, false]);
    }

    fn comparison(i: usize, verdict: Verdict, p: f64) -> Comparison {
        Comparison {
            case: CaseId { name: format!("c{i}"), params: Default::default() },
            metric: "wall".into(),
            unit: "s".into(),
            better: Better::Lower,
            baseline_median: 0.1,
            candidate_median: 0.1,
            ratio: 1.0,
            ci95: [0.99, 1.01],
            p_value: p,
            threshold: 0.02,
            verdict,
            baseline_n: 30,
            candidate_n: 30,
            notes: vec![],
        }
    }
}

//! The comparison the dashboard shows when the caller supplies none
//! ([`crate::SiteOptions::comparer`]): design §8's unpaired rule, per case × metric measured on
//! both sides.
//!
//! ratio = exp(Hodges–Lehmann shift of the log samples), 95 % CI from the inverted
//! Mann–Whitney test (`perfwatch_stats::rank::hodges_lehmann`), p-values Benjamini–Hochberg
//! adjusted across the comparison; verdict with threshold τ: regressed if the CI is entirely
//! worse than 1+τ, improved if entirely better than 1/(1+τ), unchanged if inside both, else
//! inconclusive (directions flip for higher-is-better metrics). A case with fewer than two
//! positive samples on a side is compared by medians only and marked inconclusive.

use perfwatch_model::{
    Better, CaseReport, Comparison, ComparisonReport, RunRef, RunReport, SCHEMA_VERSION, Verdict,
    VerdictCounts,
};
use perfwatch_stats::rank::{benjamini_hochberg, hodges_lehmann};

/// Compares `candidate` against `baseline` with threshold `threshold` (a fraction, e.g. 0.02).
pub fn unpaired_comparison(baseline: &RunReport, candidate: &RunReport, threshold: f64) -> ComparisonReport {
    let mut comparisons = Vec::new();
    for cand in &candidate.benchmarks {
        let Some(base) = find_case(baseline, cand) else { continue };
        for (metric, cs) in &cand.metrics {
            let Some(bs) = base.metrics.get(metric) else { continue };
            let logs = |v: &[f64]| -> Vec<f64> { v.iter().filter(|x| **x > 0.0).map(|x| x.ln()).collect() };
            let (lb, lc) = (logs(&bs.samples), logs(&cs.samples));
            let est = if lb.len() >= 2 && lc.len() >= 2 { hodges_lehmann(&lb, &lc) } else { None };
            let (ratio, ci95, p_value, valid) = match est {
                Some(e) => (e.shift.exp(), [e.ci[0].exp(), e.ci[1].exp()], e.p_two_sided, e.ci_valid),
                None => {
                    let r = if bs.median != 0.0 { cs.median / bs.median } else { f64::NAN };
                    (r, [r, r], 1.0, false)
                }
            };
            let verdict = if valid { verdict(ci95, threshold, cs.better) } else { Verdict::Inconclusive };
            comparisons.push(Comparison {
                name: cand.name.clone(),
                params: cand.params.clone(),
                metric: metric.clone(),
                unit: cs.unit.clone(),
                better: cs.better,
                baseline_median: bs.median,
                candidate_median: cs.median,
                ratio,
                ci95,
                p_value,
                threshold,
                verdict,
                baseline_n: bs.n,
                candidate_n: cs.n,
            });
        }
    }
    let adjusted = benjamini_hochberg(&comparisons.iter().map(|c| c.p_value).collect::<Vec<_>>());
    for (c, p) in comparisons.iter_mut().zip(adjusted) {
        c.p_value = p;
    }
    let mut warnings = Vec::new();
    if baseline.run.host.fingerprint != candidate.run.host.fingerprint {
        warnings.push(format!(
            "the runs were measured on different machines ({} and {}): differences may come from the hardware",
            baseline.run.host.hostname, candidate.run.host.hostname
        ));
    }
    let missing = baseline.benchmarks.iter().filter(|b| find_case(candidate, b).is_none()).count();
    if missing > 0 {
        warnings.push(format!("{missing} case(s) of the baseline were not measured in the candidate"));
    }
    ComparisonReport {
        schema_version: SCHEMA_VERSION,
        baseline: run_ref(baseline),
        candidate: run_ref(candidate),
        summary: VerdictCounts::tally(&comparisons),
        comparisons,
        budgets: candidate.budgets.clone(),
        warnings,
        rounds: None,
        elapsed_s: None,
        stopped: None,
    }
}

fn find_case<'a>(run: &'a RunReport, like: &CaseReport) -> Option<&'a CaseReport> {
    run.benchmarks.iter().find(|b| b.name == like.name && b.params == like.params)
}

fn run_ref(r: &RunReport) -> RunRef {
    RunRef {
        run_id: r.run.id.clone(),
        name: None,
        commit: r.run.git.as_ref().map(|g| g.commit.clone()),
        host: Some(r.run.host.fingerprint.clone()),
    }
}

/// The four-way verdict of a ratio CI (design §8).
fn verdict(ci: [f64; 2], tau: f64, better: Better) -> Verdict {
    let (up, down) = (1.0 + tau, 1.0 / (1.0 + tau));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_follow_design_rule() {
        assert_eq!(verdict([1.05, 1.10], 0.02, Better::Lower), Verdict::Regressed);
        assert_eq!(verdict([1.05, 1.10], 0.02, Better::Higher), Verdict::Improved);
        assert_eq!(verdict([0.99, 1.01], 0.02, Better::Lower), Verdict::Unchanged);
        assert_eq!(verdict([0.97, 1.05], 0.02, Better::Lower), Verdict::Inconclusive);
    }
}

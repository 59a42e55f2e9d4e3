//! Compare two stored runs (unpaired, design §8): which runs, which thresholds and budgets,
//! and whether the gate fails. The statistics are perfwatch-detect's `compare_runs`; this is
//! the one place that applies it, for `perfwatch compare`, `baseline update --if-better` and
//! the dashboard alike.

use perfwatch_detect::verdict::{FailOn, compare_runs, gate_failed};
use perfwatch_model::{ComparisonReport, ComparisonWarning, Plan, RunReport, RunStatus};
use perfwatch_store::Store;

use crate::error::{AppError, Result, StoreContext};
use crate::project::{resolve_run, run_or_latest};
use crate::{Outcome, measure};

/// The threshold used when there is no suite to take one from (design §3 default).
pub const DEFAULT_THRESHOLD: f64 = 0.02;

/// Which runs to compare.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompareRequest {
    /// Baseline name or run id (prefix); default: baseline `main`, else the previous run on
    /// the candidate's machine.
    pub to: Option<String>,
    /// Run id (prefix) to judge; default: the newest finished run ([`crate::project::latest_finished_run`]).
    pub candidate: Option<String>,
}

/// Compares the chosen runs of `store`, with thresholds and budgets from `plan` when given.
pub fn compare_stored(
    store: &mut dyn Store,
    req: &CompareRequest,
    plan: Option<&Plan>,
    fail_on: FailOn,
) -> Result<(ComparisonReport, Outcome)> {
    let candidate = run_or_latest(store, req.candidate.as_deref())?;
    if !candidate.benchmarks.iter().any(|c| !c.metrics.is_empty()) {
        // A killed or failed run with nothing measured would compare as "0 regressed" and pass
        // a CI gate that should have gone red.
        return Err(AppError::usage(format!(
            "run {} ({}) has no measured case: there is nothing to judge, which is not a pass. \
             Measure again (`perfwatch run`) or choose another run with --candidate",
            candidate.run.id,
            candidate.run.status.as_str()
        )));
    }
    let (baseline, name) = pick_baseline(store, req.to.as_deref(), &candidate)?;
    if baseline.run.id == candidate.run.id {
        let by = name.map_or_else(|| "the baseline".to_string(), |n| format!("baseline `{n}`"));
        return Err(AppError::usage(format!(
            "{by} is run {}, the run being judged: a run compared with itself can only look unchanged. \
             Measure a new run (`perfwatch run`) or choose another side with --to / --candidate",
            candidate.run.id
        )));
    }
    let report = build_report(&baseline, name, &candidate, plan);
    let outcome = Outcome { gate_failed: gate_failed(&report, fail_on), ..Outcome::default() };
    Ok((report, outcome))
}

/// The comparison of two runs with thresholds and budgets from the suite when known (else the
/// default threshold and no budgets).
pub fn build_report(
    baseline: &RunReport,
    baseline_name: Option<String>,
    candidate: &RunReport,
    plan: Option<&Plan>,
) -> ComparisonReport {
    let threshold_for = |case: &perfwatch_model::CaseId, metric: &str| {
        plan.and_then(|p| p.cases.iter().find(|c| &c.id == case))
            .map_or(DEFAULT_THRESHOLD, |c| c.threshold_for(metric))
    };
    let mut report = compare_runs(baseline, candidate, &threshold_for);
    report.baseline.name = baseline_name;
    if let Some(plan) = plan {
        report.budgets = measure::check_budgets(plan, &candidate.benchmarks);
    }
    report.baseline.commit = baseline.run.git.as_ref().map(|g| g.commit.clone());
    report.candidate.commit = candidate.run.git.as_ref().map(|g| g.commit.clone());
    if baseline.run.id == candidate.run.id {
        report.warnings.insert(0, ComparisonWarning::SameRun);
    } else if baseline.run.labels.get(PAIR_LABEL) == Some(&candidate.run.id) {
        report.warnings.insert(0, ComparisonWarning::MeasuredInterleaved);
    }
    report
}

/// The label `compare --rev` puts on each of its two runs: the id of the other one.
pub const PAIR_LABEL: &str = "pair";

/// `to` as a baseline name or a run id; by default baseline `main`, else the previous run on
/// the candidate's machine. Returns the run and the baseline name it was chosen by.
pub fn pick_baseline(
    store: &mut dyn Store,
    to: Option<&str>,
    candidate: &RunReport,
) -> Result<(RunReport, Option<String>)> {
    let name = to.unwrap_or("main");
    if let Some(b) = store.baseline(name).store_context(|| format!("reading baseline {name}"))? {
        return Ok((resolve_run(store, &b.run_id)?, Some(name.to_string())));
    }
    if let Some(id) = to {
        return Ok((resolve_run(store, id)?, None));
    }
    // The previous *finished* run: an incomplete one is still measuring or was killed, and a
    // killed run's missing cases would compare as "nothing to say" rather than as a baseline.
    let mut before = candidate.run.id.clone();
    let previous = loop {
        let found = store
            .previous_run(&before, true)
            .store_context(|| "finding the previous run".into())?
            .ok_or_else(|| {
                AppError::usage(
                    "nothing to compare with: no baseline `main` and no earlier finished run on this host \
                     (set one with `perfwatch baseline set main`)",
                )
            })?;
        if found.status != RunStatus::Incomplete {
            break found;
        }
        before = found.id;
    };
    Ok((resolve_run(store, &previous.id)?, None))
}

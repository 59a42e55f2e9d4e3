//! Named baselines: point a name at a run, and `update --if-better`, which moves it only when
//! the new run is better by the rule `perfwatch compare` applies.

use perfwatch_model::{Plan, RunReport, VerdictCounts};
use perfwatch_store::Store;

use crate::compare::build_report;
use crate::error::{AppError, Result, StoreContext};
use crate::project::{resolve_run, run_or_latest};

/// What `update` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Update {
    /// The baseline now points at this run.
    Moved {
        /// The run's id.
        run_id: String,
    },
    /// `--if-better` kept the baseline where it was.
    Kept {
        /// The run it still points at.
        current: String,
        /// The run that was not better.
        candidate: String,
        /// The verdicts of the candidate against the current baseline.
        counts: VerdictCounts,
    },
}

/// Points `name` at `run` (default: the newest run); returns the run's id.
pub fn set(store: &mut dyn Store, name: &str, run: Option<&str>) -> Result<String> {
    let report = run_or_latest(store, run)?;
    store.set_baseline(name, &report.run.id).store_context(|| format!("setting baseline {name}"))?;
    Ok(report.run.id)
}

/// Moves `name` to `run` (default: the newest run). With `if_better`, only when the run has no
/// regression and at least one improvement against the current baseline (thresholds from
/// `plan`); a baseline that does not exist yet is simply set.
pub fn update(
    store: &mut dyn Store,
    name: &str,
    run: Option<&str>,
    if_better: bool,
    plan: Option<&Plan>,
) -> Result<Update> {
    let candidate = run_or_latest(store, run)?;
    let current = store.baseline(name).store_context(|| format!("reading baseline {name}"))?;
    if let (true, Some(current)) = (if_better, current) {
        let baseline = resolve_run(store, &current.run_id)?;
        let counts = build_report(&baseline, Some(name.to_string()), &candidate, plan).summary;
        if counts.regressed > 0 || counts.improved == 0 {
            return Ok(Update::Kept { current: current.run_id, candidate: candidate.run.id, counts });
        }
    }
    store.set_baseline(name, &candidate.run.id).store_context(|| format!("setting baseline {name}"))?;
    Ok(Update::Moved { run_id: candidate.run.id })
}

/// Every baseline, by name.
pub fn list(store: &mut dyn Store) -> Result<Vec<perfwatch_model::BaselineInfo>> {
    store.list_baselines().store_context(|| "listing baselines".into())
}

/// The run baseline `name` points at.
pub fn show(store: &mut dyn Store, name: &str) -> Result<RunReport> {
    let b = store
        .baseline(name)
        .store_context(|| format!("reading baseline {name}"))?
        .ok_or_else(|| AppError::usage(format!("no baseline named {name}")))?;
    resolve_run(store, &b.run_id)
}

/// Deletes baseline `name` (its run stays).
pub fn delete(store: &mut dyn Store, name: &str) -> Result<()> {
    if store.delete_baseline(name).store_context(|| format!("deleting baseline {name}"))? {
        Ok(())
    } else {
        Err(AppError::usage(format!("no baseline named {name}")))
    }
}

//! `perfwatch compare`: verdicts of a run against a baseline, and budgets.

use perfwatch_detect::verdict::{FailOn, compare_runs, gate_failed};
use perfwatch_model::{CaseId, ComparisonReport, Plan, RunReport, exit_codes};
use perfwatch_store::{RunFilter, Store};

use crate::cli::{CompareArgs, FailOnArg};
use crate::output;

/// The threshold used when there is no suite file to take one from (design §3 default).
const DEFAULT_THRESHOLD: f64 = 0.02;

/// Compares and exits 1 when the gate chosen with `--fail-on` fails.
pub fn run(args: CompareArgs) -> anyhow::Result<i32> {
    let plan = optional_plan(&args.store.config)?;
    let mut store = super::open_store(&args.store)?;
    let candidate = match &args.candidate {
        Some(id) => super::resolve_run(store.as_mut(), id)?,
        None => {
            let latest = store
                .latest_run(&RunFilter::default())?
                .ok_or_else(|| anyhow::anyhow!("the store has no runs yet: `perfwatch run` first"))?;
            super::resolve_run(store.as_mut(), &latest.id)?
        }
    };
    let (baseline, baseline_name) = pick_baseline(store.as_mut(), args.to.as_deref(), &candidate)?;
    let report = build_report(&baseline, baseline_name, &candidate, plan.as_ref());

    let text = perfwatch_report::renderer(output::format(&args.output))
        .comparison(&report, &output::render_options(&args.output));
    output::emit(&args.output, &text)?;
    let fail_on = match args.fail_on {
        FailOnArg::Regression => FailOn::Regression,
        FailOnArg::Inconclusive => FailOn::Inconclusive,
        FailOnArg::Never => FailOn::Never,
    };
    Ok(if gate_failed(&report, fail_on) { exit_codes::GATE_FAILED } else { exit_codes::SUCCESS })
}

/// The comparison of two stored runs, with thresholds and budgets from the suite when known.
pub fn build_report(
    baseline: &RunReport,
    baseline_name: Option<String>,
    candidate: &RunReport,
    plan: Option<&Plan>,
) -> ComparisonReport {
    let threshold_for = |case: &CaseId, metric: &str| {
        plan.and_then(|p| p.cases.iter().find(|c| &c.id == case))
            .map(|c| c.threshold_for(metric))
            .unwrap_or(DEFAULT_THRESHOLD)
    };
    let mut report = compare_runs(baseline, candidate, &threshold_for);
    report.baseline.name = baseline_name;
    if let Some(plan) = plan {
        for case in &candidate.benchmarks {
            if let Some(case_plan) = plan.cases.iter().find(|c| c.id == case.case_id()) {
                report.budgets.extend(perfwatch_detect::budget::check_budgets(case, &case_plan.budgets));
            }
        }
    }
    report.baseline.commit = baseline.run.git.as_ref().map(|g| g.commit.clone());
    report.candidate.commit = candidate.run.git.as_ref().map(|g| g.commit.clone());
    report
}

/// The suite, when the file exists (thresholds and budgets come from it).
pub fn optional_plan(path: &std::path::Path) -> anyhow::Result<Option<Plan>> {
    if path.exists() { super::load_plan(path).map(Some) } else { Ok(None) }
}

/// `--to` as a baseline name or a run id; by default baseline `main`, else the previous run
/// on the candidate's host.
fn pick_baseline(
    store: &mut dyn Store,
    to: Option<&str>,
    candidate: &RunReport,
) -> anyhow::Result<(RunReport, Option<String>)> {
    let name = to.unwrap_or("main");
    if let Some(b) = store.baseline(name)? {
        return Ok((super::resolve_run(store, &b.run_id)?, Some(name.to_string())));
    }
    if let Some(id) = to {
        return Ok((super::resolve_run(store, id)?, None));
    }
    let previous = store.previous_run(&candidate.run.id, true)?.ok_or_else(|| {
        anyhow::anyhow!(
            "nothing to compare with: no baseline `main` and no earlier run on this host \
             (set one with `perfwatch baseline set main`)"
        )
    })?;
    Ok((super::resolve_run(store, &previous.id)?, None))
}

//! `backfill` and `bisect`: walking the git history of the suite.

use perfwatch_app::backfill::{BackfillRequest, BackfillTools, backfill as run_backfill};
use perfwatch_app::git::SystemGit;
use perfwatch_app::interleaved::bisect::{
    BisectRequest, BisectTools, bisect as run_bisect, range_from_change_point,
};
use perfwatch_app::interleaved::fresh_seed;
use perfwatch_app::{Outcome, Result, Ui};
use perfwatch_report::DocKind;

use super::{project, spawner, stop_flag};
use crate::cli::{BackfillArgs, BisectArgs};
use crate::output::{self, Doc, emit};
use crate::ui::Term;

/// Past commits measured and saved, each dated with its commit.
pub fn backfill(args: BackfillArgs) -> Result<Outcome> {
    let mut executor = spawner()?;
    let project = project(&args.store);
    let mut store = project.open_store()?;
    let req = BackfillRequest {
        range: args.range,
        steps: args.steps,
        every: args.every,
        skip_existing: args.skip_existing,
        bench: args.bench,
    };
    let mut ui = Term::new(true, false);
    let tools =
        BackfillTools { git: &SystemGit, executor: &mut executor, store: store.as_mut(), ui: &mut ui };
    let (summary, outcome) = run_backfill(&project, &req, tools, &stop_flag())?;
    ui.info(&format!(
        "backfill: {} measured, {} already done, {} failed, in {:.0} s; runs saved to {}",
        summary.measured.len(),
        summary.existing,
        summary.failed.len(),
        summary.elapsed.as_secs_f64(),
        project.store_url()
    ));
    Ok(outcome)
}

/// The first bad commit between two revisions.
pub fn bisect(args: BisectArgs) -> Result<Outcome> {
    output::ensure_fits(&args.output, DocKind::Bisect)?;
    let project = project(&args.store);
    let (good, bad) = match (args.good, args.bad) {
        (Some(good), Some(bad)) => (good, bad),
        _ => {
            let mut store = project.open_existing_store()?;
            range_from_change_point(store.as_mut(), &args.case, &args.metric)?
        }
    };
    let mut executor = spawner()?;
    let req = BisectRequest {
        good,
        bad,
        case: args.case,
        metric: args.metric,
        threshold: args.threshold,
        max_time: args.max_time,
        seed: args.seed.unwrap_or_else(fresh_seed),
    };
    let mut ui = Term::new(output::shows_table(&args.output), false);
    let tools = BisectTools { git: &SystemGit, executor: &mut executor, ui: &mut ui };
    let (report, outcome) = run_bisect(&project, &req, tools, &stop_flag())?;
    drop(ui);
    emit(&args.output, Doc::Bisect(&report))?;
    Ok(outcome)
}

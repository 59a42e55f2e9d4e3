//! `compare` (stored runs, or `--rev` side by side), `ab` and `baseline`.

use perfwatch_app::baseline::{self, Update};
use perfwatch_app::compare::{CompareRequest, compare_stored};
use perfwatch_app::git::SystemGit;
use perfwatch_app::interleaved::ab::{AbRequest, ab as measure_ab};
use perfwatch_app::interleaved::fresh_seed;
use perfwatch_app::interleaved::rev::{RevRequest, RevTools, compare_revs};
use perfwatch_app::{AppError, Outcome, Result, Ui};
use perfwatch_report::DocKind;

use super::{project, spawner, stop_flag};
use crate::cli::{AbArgs, BaselineCommand, CompareArgs};
use crate::output::{self, Doc, emit};
use crate::ui::Term;

/// A stored run against a baseline.
pub fn stored(args: CompareArgs) -> Result<Outcome> {
    let project = project(&args.store);
    let plan = project.optional_plan()?;
    let mut store = project.open_existing_store()?;
    let req = CompareRequest { to: args.to, candidate: args.candidate };
    let (report, outcome) = compare_stored(store.as_mut(), &req, plan.as_ref(), args.fail_on.into())?;
    emit(&args.output, Doc::Comparison(&report))?;
    Ok(outcome)
}

/// Two git revisions (or one and the work tree) built and measured interleaved.
pub fn revs(args: CompareArgs) -> Result<Outcome> {
    output::ensure_fits(&args.output, DocKind::Comparison)?;
    let mut executor = spawner()?;
    let project = project(&args.store);
    let mut store = project.open_store()?;
    let req = RevRequest {
        revs: args.rev,
        bench: args.bench,
        max_time: args.max_time,
        seed: args.seed.unwrap_or_else(fresh_seed),
        fail_on: args.fail_on.into(),
    };
    let mut ui = Term::new(output::shows_table(&args.output), false);
    let tools = RevTools { git: &SystemGit, executor: &mut executor, store: store.as_mut(), ui: &mut ui };
    let (report, outcome) = compare_revs(&project, &req, tools, &stop_flag())?;
    ui.info(&format!("runs saved to {}", project.store_url()));
    drop(ui);
    emit(&args.output, Doc::Comparison(&report))?;
    Ok(outcome)
}

/// Two commands side by side.
pub fn ab(args: AbArgs) -> Result<Outcome> {
    output::ensure_fits(&args.output, DocKind::Comparison)?;
    let mut executor = spawner()?;
    let req = AbRequest {
        command_a: args.command_a,
        command_b: args.command_b,
        shell: args.shell,
        cwd: std::env::current_dir().map_err(|e| AppError::io("reading the current directory", e))?,
        threshold: args.threshold,
        max_time: args.max_time,
        timeout: args.timeout,
        min_rounds: args.min_rounds,
        warmup: args.warmup,
        metric: args.metric,
        seed: args.seed.unwrap_or_else(fresh_seed),
        fail_on: args.fail_on.into(),
        expect_speedup: args.expect_speedup,
    };
    let mut ui = Term::new(output::shows_table(&args.output), false);
    let (report, outcome) = measure_ab(&req, &mut executor, &mut ui, &stop_flag())?;
    drop(ui);
    emit(&args.output, Doc::Comparison(&report))?;
    Ok(outcome)
}

/// `baseline set|list|show|delete|update`.
pub fn baseline(cmd: BaselineCommand) -> Result<Outcome> {
    let mut ui = Term::new(false, false);
    match cmd {
        BaselineCommand::Set { name, run, store } => {
            let id = baseline::set(project(&store).open_existing_store()?.as_mut(), &name, run.as_deref())?;
            ui.info(&format!("baseline {name} → run {id}"));
        }
        BaselineCommand::List { store } => {
            let list = baseline::list(project(&store).open_existing_store()?.as_mut())?;
            if list.is_empty() {
                ui.info("no baselines yet (`perfwatch baseline set main`)");
            }
            for b in list {
                println!("{}\t{}\t{}", b.name, b.run_id, b.set_at);
            }
        }
        BaselineCommand::Show { name, store, output } => {
            let report = baseline::show(project(&store).open_existing_store()?.as_mut(), &name)?;
            emit(&output, Doc::Run(&report))?;
        }
        BaselineCommand::Delete { name, store } => {
            baseline::delete(project(&store).open_existing_store()?.as_mut(), &name)?;
            ui.info(&format!("deleted baseline {name} (its run stays in the store)"));
        }
        BaselineCommand::Update { name, run, if_better, store } => {
            let project = project(&store);
            let plan = project.optional_plan()?;
            match baseline::update(
                project.open_existing_store()?.as_mut(),
                &name,
                run.as_deref(),
                if_better,
                plan.as_ref(),
            )? {
                Update::Moved { run_id } => ui.info(&format!("baseline {name} → run {run_id}")),
                Update::Kept { current, candidate, counts } => ui.info(&format!(
                    "baseline {name} kept at run {current}: run {candidate} has {} regressions and {} \
                     improvements (--if-better needs none and at least one)",
                    counts.regressed, counts.improved
                )),
            }
        }
    }
    Ok(Outcome::default())
}

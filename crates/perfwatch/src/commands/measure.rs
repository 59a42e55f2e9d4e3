//! `init`, `check` and `run`.

use std::fmt::Write as _;

use perfwatch_app::git::{Git, SystemGit};
use perfwatch_app::measure::{MeasureRequest, measure};
use perfwatch_app::project::select;
use perfwatch_app::push::{Client, Retry, after_run};
use perfwatch_app::{AppError, Outcome, Result, Ui};

use super::{locate, project, spawner, stop_flag};
use crate::cli::{CheckArgs, InitArgs, RunArgs};
use crate::output::{self, Doc, emit};
use crate::ui::Term;

/// Writes the starter suite (refusing to overwrite without `--force`).
pub fn init(args: InitArgs) -> Result<Outcome> {
    if args.config.exists() && !args.force {
        return Err(AppError::usage(format!(
            "{} already exists (use --force to overwrite it)",
            args.config.display()
        )));
    }
    std::fs::write(&args.config, perfwatch_config::STARTER_SUITE)
        .map_err(|e| AppError::io(format!("writing {}", args.config.display()), e))?;
    Term::new(false, false).info(&format!(
        "wrote {}: edit it, then `perfwatch check` to see the cases and `perfwatch run` to measure",
        args.config.display()
    ));
    Ok(Outcome::default())
}

/// Prints every case with its command and settings.
pub fn check(args: CheckArgs) -> Result<Outcome> {
    let project = locate(args.config, None);
    let plan = select(project.load_plan()?, &args.bench)?;
    let mut out = format!("{}: {} cases\n", project.config.display(), plan.cases.len());
    for case in &plan.cases {
        let s = &case.settings;
        let _ =
            write!(out, "\n{}\n  command   {}\n  cwd       {}\n", case.id, case.command, case.cwd.display());
        for (hook, cmd) in [("setup", &case.setup), ("prepare", &case.prepare), ("cleanup", &case.cleanup)] {
            if let Some(cmd) = cmd {
                let _ = writeln!(out, "  {hook:<9} {cmd}");
            }
        }
        let _ = writeln!(
            out,
            "  runs      warmup {} · {}–{} runs · max {:?} · precision ±{}% · timeout {:?}",
            s.warmup,
            s.min_runs,
            s.max_runs,
            s.max_time,
            s.precision * 100.0,
            s.timeout
        );
        if let Some(t) = case.throughput {
            let _ = writeln!(out, "  items     {t} per run (throughput)");
        }
        for b in &case.budgets {
            let _ = writeln!(out, "  budget    {}", b.text);
        }
    }
    print!("{out}");
    Ok(Outcome::default())
}

/// Measures the suite, saves the run (and pushes it with `--push`), prints the results.
pub fn run(args: RunArgs) -> Result<Outcome> {
    let mut executor = spawner()?;
    let project = project(&args.store);
    let plan = select(project.load_plan()?, &args.bench)?;
    // A missing token or a bad URL is a usage error before anything is measured.
    let retry =
        Retry { retry_for: args.push_retry.retry_for, request_timeout: args.push_retry.request_timeout };
    let token = std::env::var("PERFWATCH_TOKEN").unwrap_or_default();
    let pusher = args.push.as_deref().map(|url| Client::new(url, &token, retry)).transpose()?;
    let mut store = if args.no_save { None } else { Some(project.open_store()?) };
    let req = MeasureRequest {
        plan,
        labels: args.labels.into_iter().collect(),
        git: SystemGit.info(&project.suite_dir()),
        show_output: args.show_output,
        dated: None,
    };
    let mut ui = Term::new(output::shows_table(&args.output), args.show_output);
    let stop = stop_flag();
    let measured = measure(&req, &mut executor, store.as_deref_mut(), &mut ui, &stop)?;
    let id = &measured.report.run.id;
    match (&mut store, &measured.store_error) {
        (None, _) => ui.info(&format!("run {id} (not saved)")),
        (Some(_), Some(e)) => ui.warn(&format!("run {id} was measured but not saved completely: {e}")),
        (Some(store), None) => {
            let status = measured.report.run.status.as_str();
            ui.info(&format!("saved run {id} ({status}) to {}", project.store_url()));
            if let Some(client) = &pusher {
                after_run(store.as_mut(), client, id, &mut ui);
            }
        }
    }
    if let Some(message) = &measured.aborted {
        ui.warn(&format!("measuring stopped early: {message}"));
    }
    drop(ui);
    emit(&args.output, Doc::Run(&measured.report))?;
    Ok(measured.outcome)
}

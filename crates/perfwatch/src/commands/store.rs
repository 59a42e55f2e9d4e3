//! `history`, `detect` and `prune`: reading and maintaining the stored history.

use perfwatch_app::history::{CsvRequest, DetectRequest, detect_csv, detect_stored, history as read_history};
use perfwatch_app::maintain::{Keep, prune as prune_runs};
use perfwatch_app::project::{list_runs, show_run};
use perfwatch_app::{AppError, Outcome, Result, Ui};
use perfwatch_detect::changepoint::{Method, Options};
use perfwatch_detect::verdict::FailOn;
use perfwatch_model::Better;

use super::project;
use crate::cli::{
    BetterArg, DetectArgs, HistoryArgs, ImportArgs, MethodArg, OutputArgs, PruneArgs, RunsArgs, ShowArgs,
};
use crate::output::{Doc, emit};
use crate::ui::Term;
use perfwatch_app::git::{Git, SystemGit};
use perfwatch_app::import::{ImportOutcome, ImportRequest, import as import_files};

/// Results of other harnesses, stored as one run.
pub fn import(args: ImportArgs) -> Result<Outcome> {
    let project = project(&args.store);
    let cwd = std::env::current_dir().unwrap_or_else(|_| ".".into());
    let req = ImportRequest {
        files: args.files,
        format: args.format,
        labels: args.labels.into_iter().collect(),
        commit: args.commit,
        branch: args.branch,
        local_git: SystemGit.info(&cwd),
        local_host: None,
    };
    let ImportOutcome { report, files } = import_files(&req, || project.open_store())?;
    let mut ui = Term::new(false, false);
    for f in &files {
        let how = if f.sniffed { "recognised as" } else { "read as" };
        let summaries = match f.summary_only {
            0 => String::new(),
            n => format!(", {n} summary-only metric{}", if n == 1 { "" } else { "s" }),
        };
        ui.info(&format!("{}: {how} {}: {} cases{summaries}", f.path.display(), f.format, f.cases));
    }
    ui.info(&format!("saved run {} to {}", report.run.id, project.store_url()));
    drop(ui);
    emit(&OutputArgs::default(), Doc::Run(&report))?;
    Ok(Outcome::default())
}

/// A metric's medians across runs.
pub fn history(args: HistoryArgs) -> Result<Outcome> {
    let mut store = project(&args.store).open_existing_store()?;
    let report = read_history(store.as_mut(), args.case.as_deref(), &args.metric, args.last)?;
    emit(&args.output, Doc::History(&report))?;
    Ok(Outcome::default())
}

/// Change points of the stored history (or of a CSV column).
pub fn detect(args: DetectArgs) -> Result<Outcome> {
    let options = Options {
        method: match args.method {
            MethodArg::Combined => Method::Combined,
            MethodArg::Edivisive => Method::EDivisive,
            MethodArg::Potts => Method::Potts,
        },
        window: args.window as usize,
        max_p_value: args.max_p_value,
        min_magnitude: args.min_magnitude,
        ..Options::default()
    };
    let alert = FailOn::from(args.fail_on) != FailOn::Never;
    let (report, outcome) = match &args.csv {
        Some(path) => {
            let req = CsvRequest {
                column: args.column.unwrap_or_default(),
                label_column: args.label_column,
                better: match args.better {
                    BetterArg::Lower => Better::Lower,
                    BetterArg::Higher => Better::Higher,
                },
                recent: args.recent,
                alert,
                options,
            };
            detect_csv(path, &req)?
        }
        None => {
            let req = DetectRequest {
                cases: args.cases,
                metrics: args.metrics,
                since: args.since,
                recent: args.recent,
                alert,
                options,
            };
            detect_stored(project(&args.store).open_existing_store()?.as_mut(), &req)?
        }
    };
    emit(&args.output, Doc::Detection(&report))?;
    Ok(outcome)
}

/// The stored runs, newest first.
pub fn runs(args: RunsArgs) -> Result<Outcome> {
    let list = list_runs(project(&args.store).open_existing_store()?.as_mut(), args.last)?;
    emit(&args.output, Doc::Runs(&list))?;
    Ok(Outcome::default())
}

/// One stored run, by id, prefix or baseline name.
pub fn show(args: ShowArgs) -> Result<Outcome> {
    let report = show_run(project(&args.store).open_existing_store()?.as_mut(), &args.run)?;
    emit(&args.output, Doc::Run(&report))?;
    Ok(Outcome::default())
}

/// Drops old runs and compacts the store.
pub fn prune(args: PruneArgs) -> Result<Outcome> {
    let keep = match (args.keep_last, args.older_than) {
        (Some(n), _) => Keep::Last(n),
        (None, Some(age)) => Keep::Younger(age),
        (None, None) => return Err(AppError::usage("give --keep-last N or --older-than DURATION")),
    };
    let deleted = prune_runs(project(&args.store).open_existing_store()?.as_mut(), keep)?;
    Term::new(false, false).info(&format!("deleted {deleted} runs; store compacted"));
    Ok(Outcome::default())
}

//! One short function per command: turn the parsed arguments into a request, call
//! `perfwatch-app`, print the document. No measuring, statistics, SQL, HTTP or git here.

mod about;
mod compare;
mod explain;
mod measure;
mod past;
mod store;
mod team;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use perfwatch_app::project::Project;
use perfwatch_app::{AppError, Outcome, Result};
use perfwatch_detect::verdict::FailOn;
use perfwatch_model::exit_codes::INTERRUPTED;
use perfwatch_runner::SpawnerExecutor;

use crate::cli::{Cli, Command, FailOnArg, StoreArgs};

/// Runs the chosen command.
pub fn dispatch(cli: Cli) -> Result<Outcome> {
    match cli.command {
        Command::Init(args) => measure::init(args),
        Command::Check(args) => measure::check(args),
        Command::Run(args) => measure::run(args),
        Command::Ab(args) => compare::ab(args),
        Command::Compare(args) if !args.rev.is_empty() => compare::revs(args),
        Command::Compare(args) => compare::stored(args),
        Command::Baseline(cmd) => compare::baseline(cmd),
        Command::Import(args) => store::import(args),
        Command::History(args) => store::history(args),
        Command::Detect(args) => store::detect(args),
        Command::Prune(args) => store::prune(args),
        Command::Backfill(args) => past::backfill(args),
        Command::Bisect(args) => past::bisect(args),
        Command::Explain(args) => explain::explain(args),
        Command::Report(args) => team::report(args),
        Command::Serve(args) => team::serve(args),
        Command::Token(cmd) => team::token(cmd),
        Command::Push(args) => team::push(args),
        Command::Runs(args) => store::runs(args),
        Command::Show(args) => store::show(args),
        Command::Schema(args) => about::schema(args),
        Command::Completions(args) => about::completions(args),
        Command::Man => about::man(),
    }
}

/// The suite and store named on the command line, or found from the current directory.
fn project(args: &StoreArgs) -> Project {
    locate(args.config.clone(), args.db.clone())
}

/// [`Project::locate`] from the current directory.
fn locate(config: Option<std::path::PathBuf>, db: Option<String>) -> Project {
    let cwd = std::env::current_dir().unwrap_or_else(|_| ".".into());
    let project = Project::locate(config, db, &cwd);
    if crate::ui::verbosity() == crate::ui::Verbosity::Verbose {
        let found = if project.config.exists() { "" } else { " (not found)" };
        eprintln!(
            "suite {}{found}; store {}",
            project.config.display(),
            perfwatch_store::redact_url(&project.store_url())
        );
    }
    project
}

/// The measuring helper process. Started before perfwatch allocates anything sizeable, so the
/// peak memory it reports for benchmarks never includes perfwatch's own.
fn spawner() -> Result<SpawnerExecutor> {
    SpawnerExecutor::start()
        .map_err(|e| AppError::Executor(format!("starting the measuring helper process: {e}")))
}

/// A flag that the first Ctrl-C sets (measuring stops after the current run); the second
/// Ctrl-C leaves at once (the spawner kills the running benchmark when perfwatch's end of its
/// pipe closes).
fn stop_flag() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let result = ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(INTERRUPTED);
        }
        eprintln!("\ninterrupted: stopping after the current run (Ctrl-C again to quit now)");
    });
    if let Err(e) = result {
        eprintln!("warning: cannot handle Ctrl-C: {e}");
    }
    stop
}

impl From<FailOnArg> for FailOn {
    fn from(f: FailOnArg) -> FailOn {
        match f {
            FailOnArg::Regression => FailOn::Regression,
            FailOnArg::Inconclusive => FailOn::Inconclusive,
            FailOnArg::Never => FailOn::Never,
        }
    }
}

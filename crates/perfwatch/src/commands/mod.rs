//! One module per subcommand, and the plumbing they share.

mod ab;
mod baseline;
mod check;
mod compare;
mod detect;
mod history;
mod init;
mod prune;
mod push;
mod report;
mod rev;
mod run;
mod token;

use std::path::{Path, PathBuf};

use anyhow::Context;
use perfwatch_model::Plan;
use perfwatch_store::Store;

use crate::cli::{Cli, Command, StoreArgs};

/// An error whose message was already printed (a rendered config diagnostic).
#[derive(Debug)]
pub struct AlreadyReported;

impl std::fmt::Display for AlreadyReported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("error already reported")
    }
}

impl std::error::Error for AlreadyReported {}

/// Runs the chosen subcommand and returns the process exit code.
pub fn dispatch(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Init(args) => init::run(args),
        Command::Check(args) => check::run(args),
        Command::Run(args) => run::run(args),
        Command::Ab(args) => ab::run(args),
        Command::Compare(args) if !args.rev.is_empty() => rev::run(args),
        Command::Compare(args) => compare::run(args),
        Command::Baseline(cmd) => baseline::run(cmd),
        Command::History(args) => history::run(args),
        Command::Detect(args) => detect::run(args),
        Command::Report(args) => report::html(args),
        Command::Serve(args) => report::serve(args),
        Command::Prune(args) => prune::run(args),
        Command::Token(cmd) => token::run(cmd),
        Command::Push(args) => push::run(args),
    }
}

/// Loads and validates the suite file; a located diagnostic is printed on failure.
pub fn load_plan(path: &Path) -> anyhow::Result<Plan> {
    if !path.exists() {
        anyhow::bail!(
            "no suite file at {} (create one with `perfwatch init`, or point -c at yours)",
            path.display()
        );
    }
    perfwatch_config::load(path).map_err(|err| {
        eprintln!("{:?}", miette::Report::new(err));
        anyhow::Error::new(AlreadyReported)
    })
}

/// The store URL: `--db`/`PERFWATCH_DB`, else `.perfwatch/history.db` beside the suite file.
pub fn store_url(args: &StoreArgs) -> String {
    match &args.db {
        Some(url) => url.clone(),
        None => {
            let dir = args.config.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            format!("sqlite://{}", dir.join(".perfwatch").join("history.db").display())
        }
    }
}

/// Opens the history store named by `args`.
pub fn open_store(args: &StoreArgs) -> anyhow::Result<Box<dyn Store>> {
    let url = store_url(args);
    perfwatch_store::open(&url).with_context(|| format!("opening the history store {url}"))
}

/// Directory of the suite file (base of relative paths).
pub fn suite_dir(config: &Path) -> PathBuf {
    let dir = config.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf())
}

/// Loads a run by id or unique id prefix.
pub fn resolve_run(store: &mut dyn Store, id: &str) -> anyhow::Result<perfwatch_model::RunReport> {
    store.run(id)?.ok_or_else(|| anyhow::anyhow!("no run with id {id} in the store"))
}

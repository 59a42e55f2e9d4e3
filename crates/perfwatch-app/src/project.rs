//! The suite file a command works on, its history store, and the small lookups every use case
//! shares (loading the plan, resolving a run by id prefix).

use std::path::{Path, PathBuf};

use perfwatch_model::{Plan, RunReport};
use perfwatch_store::{RunFilter, Store};

use crate::error::{AppError, Result, StoreContext};

/// A suite file and the store its runs go to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// The suite file (it need not exist for commands that only read the store).
    pub config: PathBuf,
    /// The store URL given by the user (`--db` / `PERFWATCH_DB`), if any.
    pub db: Option<String>,
}

impl Project {
    /// A project for the suite at `config`, with an explicit store URL or the default one.
    pub fn new(config: impl Into<PathBuf>, db: Option<String>) -> Project {
        Project { config: config.into(), db }
    }

    /// The store URL: the explicit one, else `sqlite://` of `.perfwatch/history.db` beside the
    /// suite file (design §5).
    pub fn store_url(&self) -> String {
        match &self.db {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.config_dir().join(".perfwatch").join("history.db").display()),
        }
    }

    /// Opens (creating and migrating as needed) the history store.
    pub fn open_store(&self) -> Result<Box<dyn Store>> {
        let url = self.store_url();
        perfwatch_store::open(&url).store_context(|| format!("opening the history store {url}"))
    }

    /// The directory of the suite file as written (`.` for a bare file name).
    fn config_dir(&self) -> &Path {
        self.config.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))
    }

    /// The suite file's directory, absolute when it exists: the base of relative paths.
    pub fn suite_dir(&self) -> PathBuf {
        let dir = self.config_dir();
        dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf())
    }

    /// Loads and validates the suite; [`AppError::Config`] carries located diagnostics.
    pub fn load_plan(&self) -> Result<Plan> {
        if !self.config.exists() {
            return Err(AppError::usage(format!(
                "no suite file at {} (create one with `perfwatch init`, or point -c at yours)",
                self.config.display()
            )));
        }
        Ok(perfwatch_config::load(&self.config)?)
    }

    /// The suite when its file exists (thresholds and budgets of comparisons come from it).
    pub fn optional_plan(&self) -> Result<Option<Plan>> {
        if self.config.exists() { self.load_plan().map(Some) } else { Ok(None) }
    }
}

/// The plan restricted to the benches matching `patterns` (all of it when there are none).
pub fn select(plan: Plan, patterns: &[String]) -> Result<Plan> {
    if patterns.is_empty() { Ok(plan) } else { Ok(perfwatch_config::select(&plan, patterns)?) }
}

/// The stored run with this id or unique id prefix.
pub fn resolve_run(store: &mut dyn Store, id: &str) -> Result<RunReport> {
    store
        .run(id)
        .store_context(|| format!("reading run {id}"))?
        .ok_or_else(|| AppError::usage(format!("no run with id {id} in the store")))
}

/// The run named by `id`, or the newest run of the store.
pub fn run_or_latest(store: &mut dyn Store, id: Option<&str>) -> Result<RunReport> {
    match id {
        Some(id) => resolve_run(store, id),
        None => {
            let latest = store
                .latest_run(&RunFilter::default())
                .store_context(|| "finding the latest run".into())?
                .ok_or_else(|| AppError::usage("the store has no runs yet: `perfwatch run` first"))?;
            resolve_run(store, &latest.id)
        }
    }
}

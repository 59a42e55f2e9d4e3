//! The suite file a command works on, its history store, and the small lookups every use case
//! shares (loading the plan, resolving a run by id prefix).

use std::path::{Path, PathBuf};

use perfwatch_model::{Plan, RunMeta, RunReport, RunStatus};
use perfwatch_store::{RunFilter, Store};

use crate::error::{AppError, Result, StoreContext};

/// The name of a suite file that [`Project::locate`] looks for.
pub const SUITE_FILE: &str = "perfwatch.toml";

/// A suite file and the store its runs go to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// The suite file (it need not exist for commands that only read the store).
    pub config: PathBuf,
    /// The store URL given by the user (`--db` / `PERFWATCH_DB`), if any.
    pub db: Option<String>,
    /// Where the search for a suite started, when none was named and none was found.
    searched_from: Option<PathBuf>,
}

impl Project {
    /// A project for the suite at `config`, with an explicit store URL or the default one.
    pub fn new(config: impl Into<PathBuf>, db: Option<String>) -> Project {
        Project { config: config.into(), db, searched_from: None }
    }

    /// The suite a command works on, found like cargo and git find theirs: `config` when the
    /// user named one (`-c`, or `PERFWATCH_CONFIG`), else `perfwatch.toml` in `cwd` or its
    /// nearest parent. Its store is beside it unless `db` says otherwise.
    pub fn locate(config: Option<PathBuf>, db: Option<String>, cwd: &Path) -> Project {
        if let Some(config) = config {
            return Project::new(config, db);
        }
        match cwd.ancestors().map(|d| d.join(SUITE_FILE)).find(|f| f.is_file()) {
            Some(found) => Project::new(found, db),
            None => Project { config: cwd.join(SUITE_FILE), db, searched_from: Some(cwd.to_path_buf()) },
        }
    }

    /// The store URL: the explicit one, else `sqlite://` of `.perfwatch/history.db` beside the
    /// suite file (design §5).
    pub fn store_url(&self) -> String {
        match &self.db {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.config_dir().join(".perfwatch").join("history.db").display()),
        }
    }

    /// Opens (creating and migrating as needed) the history store: for commands that write.
    pub fn open_store(&self) -> Result<Box<dyn Store>> {
        let url = self.store_url();
        perfwatch_store::open(&url).store_context(|| format!("opening the history store {url}"))
    }

    /// Opens the history store only if it exists: commands that read never create one.
    pub fn open_existing_store(&self) -> Result<Box<dyn Store>> {
        let url = self.store_url();
        perfwatch_store::open_existing(&url).map_err(|e| match e {
            perfwatch_store::StoreError::NoStore(_) => AppError::usage(self.no_store_message(&e)),
            e => AppError::Store { context: format!("opening the history store {url}"), source: e },
        })
    }

    fn no_store_message(&self, e: &perfwatch_store::StoreError) -> String {
        match &self.searched_from {
            Some(dir) => format!(
                "{e}\n(no {SUITE_FILE} in {} or any parent directory, so the store was looked for there)",
                dir.display()
            ),
            None => e.to_string(),
        }
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
        if let (Some(dir), false) = (&self.searched_from, self.config.exists()) {
            return Err(AppError::usage(format!(
                "no {SUITE_FILE} in {} or any parent directory (create one with `perfwatch init`, \
                 or point -c / PERFWATCH_CONFIG at yours)",
                dir.display()
            )));
        }
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

/// The newest `last` runs (all when `None`), newest first.
pub fn list_runs(store: &mut dyn Store, last: Option<usize>) -> Result<perfwatch_model::RunList> {
    let runs = store
        .list_runs(&RunFilter { limit: last, ..RunFilter::default() })
        .store_context(|| "listing runs".into())?;
    Ok(perfwatch_model::RunList { schema_version: perfwatch_model::SCHEMA_VERSION, runs })
}

/// The run `which` names: a baseline name first, else a run id or unique prefix.
pub fn show_run(store: &mut dyn Store, which: &str) -> Result<RunReport> {
    match store.baseline(which).store_context(|| format!("reading baseline {which}"))? {
        Some(b) => resolve_run(store, &b.run_id),
        None => resolve_run(store, which),
    }
}

/// The run named by `id`, or the newest finished run of the store ([`latest_finished_run`]).
pub fn run_or_latest(store: &mut dyn Store, id: Option<&str>) -> Result<RunReport> {
    match id {
        Some(id) => resolve_run(store, id),
        None => latest_finished_run(store),
    }
}

/// The newest run that finished: complete, or interrupted by Ctrl-C (which keeps what it
/// measured). An `incomplete` run is one still being measured or one whose perfwatch died; it
/// is judged only when named with `--candidate`.
pub fn latest_finished_run(store: &mut dyn Store) -> Result<RunReport> {
    let mut newest: Option<RunMeta> = None;
    for status in [RunStatus::Complete, RunStatus::Interrupted] {
        let filter = RunFilter { status: Some(status), ..RunFilter::default() };
        let found = store.latest_run(&filter).store_context(|| "finding the latest finished run".into())?;
        if let Some(run) = found.filter(|r| newest.as_ref().is_none_or(|n| r.started_at > n.started_at)) {
            newest = Some(run);
        }
    }
    match newest {
        Some(run) => resolve_run(store, &run.id),
        None => Err(AppError::usage(
            "the store has no finished run yet (runs still being measured, or killed, are `incomplete`): \
             `perfwatch run` first, or name one with --candidate",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_suite_is_found_in_the_nearest_parent() {
        let root = tempfile::tempdir().unwrap();
        let nested = root.path().join("a/b/c");
        std::fs::create_dir_all(&nested).unwrap();
        std::fs::write(root.path().join("a").join(SUITE_FILE), "").unwrap();
        let p = Project::locate(None, None, &nested);
        assert_eq!(p.config, root.path().join("a").join(SUITE_FILE));
        assert_eq!(
            p.store_url(),
            format!("sqlite://{}", root.path().join("a/.perfwatch/history.db").display())
        );
        // A named suite wins, found or not.
        let named = Project::locate(Some("elsewhere.toml".into()), None, &nested);
        assert_eq!(named.config, PathBuf::from("elsewhere.toml"));
        // Nothing found: the error says where the search started.
        let none = Project::locate(None, None, root.path());
        let err = none.load_plan().unwrap_err().to_string();
        assert!(err.contains("no perfwatch.toml in") && err.contains("any parent"), "{err}");
        assert!(none.open_existing_store().is_err() && !root.path().join(".perfwatch").exists());
    }
}

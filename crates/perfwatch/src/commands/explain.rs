//! `explain`: where a case's cost moved between two versions.

use perfwatch_app::explain::{ExplainRequest, ExplainTools, explain as run_explain};
use perfwatch_app::git::SystemGit;
use perfwatch_app::{ErrorKind, Outcome, Result, Ui};
use perfwatch_model::Profiler;
use perfwatch_report::DocKind;

use super::{project, spawner};
use crate::cli::ExplainArgs;
use crate::output::{self, Doc, emit};
use crate::ui::Term;

/// Profiles (or loads) both sides and prints the ranked functions.
pub fn explain(args: ExplainArgs) -> Result<Outcome> {
    output::ensure_fits(&args.output, DocKind::Explain)?;
    let project = project(&args.store);
    // Stored runs are looked up only in a store that exists; explain never creates one.
    let mut store = match project.open_existing_store() {
        Ok(s) => Some(s),
        Err(e) if e.kind() == ErrorKind::Usage => None,
        Err(e) => return Err(e),
    };
    let mut executor = spawner()?;
    let req = ExplainRequest {
        case: args.case,
        base: args.base,
        head: args.head,
        profiler: args.profiler.as_deref().and_then(Profiler::parse),
        top: args.top as usize,
        rounds: args.rounds,
        html: args.html,
    };
    let mut ui = Term::new(output::shows_table(&args.output), false);
    // (A cast per element: a boxed store's `dyn Store + 'static` does not shorten inside an Option.)
    let store = store.as_mut().map(|s| &mut **s as &mut dyn perfwatch_store::Store);
    let tools = ExplainTools { git: &SystemGit, executor: &mut executor, store, ui: &mut ui };
    let report = run_explain(&project, &req, tools)?;
    if let Some(files) = &report.files {
        ui.info(&format!("explain: flame graphs in {}", files.index));
    }
    drop(ui);
    emit(&args.output, Doc::Explain(&report))?;
    Ok(Outcome::default())
}

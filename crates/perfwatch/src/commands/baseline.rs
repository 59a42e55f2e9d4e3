//! `perfwatch baseline set|list|show|delete|update`.

use perfwatch_model::exit_codes;
use perfwatch_store::RunFilter;

use crate::cli::BaselineCommand;
use crate::output;

/// Manages named baselines.
pub fn run(cmd: BaselineCommand) -> anyhow::Result<i32> {
    match cmd {
        BaselineCommand::Set { name, run, store } => {
            let mut s = super::open_store(&store)?;
            let report = target_run(s.as_mut(), run.as_deref())?;
            s.set_baseline(&name, &report.run.id)?;
            eprintln!("baseline {name} → run {}", report.run.id);
        }
        BaselineCommand::List { store } => {
            let mut s = super::open_store(&store)?;
            let list = s.list_baselines()?;
            if list.is_empty() {
                eprintln!("no baselines yet (`perfwatch baseline set main`)");
            }
            for b in list {
                println!("{}\t{}\t{}", b.name, b.run_id, b.set_at);
            }
        }
        BaselineCommand::Show { name, store, output: out } => {
            let mut s = super::open_store(&store)?;
            let b = s.baseline(&name)?.ok_or_else(|| anyhow::anyhow!("no baseline named {name}"))?;
            let report = super::resolve_run(s.as_mut(), &b.run_id)?;
            let text =
                perfwatch_report::renderer(output::format(&out)).run(&report, &output::render_options(&out));
            output::emit(&out, &text)?;
        }
        BaselineCommand::Delete { name, store } => {
            let mut s = super::open_store(&store)?;
            if !s.delete_baseline(&name)? {
                anyhow::bail!("no baseline named {name}");
            }
            eprintln!("deleted baseline {name} (its run stays in the store)");
        }
        BaselineCommand::Update { name, run, if_better, store } => {
            let plan = super::compare::optional_plan(&store.config)?;
            let mut s = super::open_store(&store)?;
            let candidate = target_run(s.as_mut(), run.as_deref())?;
            if if_better {
                if let Some(current) = s.baseline(&name)? {
                    let baseline = super::resolve_run(s.as_mut(), &current.run_id)?;
                    let report = super::compare::build_report(
                        &baseline,
                        Some(name.clone()),
                        &candidate,
                        plan.as_ref(),
                    );
                    let counts = report.summary;
                    if counts.regressed > 0 || counts.improved == 0 {
                        eprintln!(
                            "baseline {name} kept at run {}: run {} has {} regressions and {} improvements \
                             (--if-better needs none and at least one)",
                            current.run_id, candidate.run.id, counts.regressed, counts.improved
                        );
                        return Ok(exit_codes::SUCCESS);
                    }
                }
            }
            s.set_baseline(&name, &candidate.run.id)?;
            eprintln!("baseline {name} → run {}", candidate.run.id);
        }
    }
    Ok(exit_codes::SUCCESS)
}

fn target_run(
    store: &mut dyn perfwatch_store::Store,
    run: Option<&str>,
) -> anyhow::Result<perfwatch_model::RunReport> {
    match run {
        Some(id) => super::resolve_run(store, id),
        None => {
            let latest = store
                .latest_run(&RunFilter::default())?
                .ok_or_else(|| anyhow::anyhow!("the store has no runs yet: `perfwatch run` first"))?;
            super::resolve_run(store, &latest.id)
        }
    }
}

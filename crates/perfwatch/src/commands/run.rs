//! `perfwatch run`: measure the suite, save the run, print results.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use perfwatch_model::{RunMeta, RunReport, RunStatus, exit_codes};
use perfwatch_runner::{Event, Executor, Sink, SpawnerExecutor};
use perfwatch_store::Store;

use crate::cli::RunArgs;
use crate::output;
use crate::progress::Progress;

/// Exit code after Ctrl-C (128 + SIGINT, the shell convention).
const INTERRUPTED: i32 = 130;

/// Measures the selected cases; exit 0, 1 (budget breached), 3 (a run failed) or 130
/// (interrupted; what finished is printed and saved).
pub fn run(args: RunArgs) -> anyhow::Result<i32> {
    // Start the measuring helper before perfwatch allocates anything sizeable, so the peak
    // memory it reports for benchmarks never includes perfwatch's own.
    let mut executor = SpawnerExecutor::start().context("starting the measuring helper process")?;

    let plan = super::load_plan(&args.store.config)?;
    let plan = if args.bench.is_empty() { plan } else { perfwatch_config::select(&plan, &args.bench)? };
    let labels = parse_labels(&args.labels)?;
    // A missing token or a bad URL is a usage error before anything is measured.
    let pusher = match &args.push {
        Some(url) => Some(super::push::Client::new(url, &args.push_retry)?),
        None => None,
    };

    let mut meta = RunMeta {
        id: uuid::Uuid::now_v7().to_string(),
        started_at: jiff::Timestamp::now(),
        ended_at: None,
        status: RunStatus::Incomplete,
        git: crate::git::info(&super::suite_dir(&args.store.config)),
        host: perfwatch_runner::host_info(),
        labels,
        perfwatch_version: env!("CARGO_PKG_VERSION").to_string(),
        suite_hash: plan.suite_hash.clone(),
    };

    let mut store = if args.no_save { None } else { Some(super::open_store(&args.store)?) };
    if let Some(store) = store.as_mut() {
        store.begin_run(&meta).context("recording the run in the history store")?;
    }

    let stop = Arc::new(AtomicBool::new(false));
    install_ctrl_c(stop.clone());

    // A busy machine at the start taints every case of the run; say so on each.
    let load_caveat = perfwatch_runner::high_load_caveat(&meta.host);
    let mut sink = RunSink {
        progress: Progress::new(args.show_output),
        store: store.as_deref_mut(),
        run_id: &meta.id,
        load_caveat: load_caveat.clone(),
        store_error: None,
    };
    let run_opts = perfwatch_runner::RunOptions { show_output: args.show_output };
    let result =
        perfwatch_runner::run_plan(&plan, &mut executor as &mut dyn Executor, &mut sink, &stop, &run_opts);
    let store_error = sink.store_error.take();
    drop(sink);

    let interrupted = stop.load(Ordering::SeqCst);
    meta.status = if interrupted { RunStatus::Interrupted } else { RunStatus::Complete };
    meta.ended_at = Some(jiff::Timestamp::now());
    let mut benchmarks = result.reports;
    if let Some(caveat) = &load_caveat {
        benchmarks.iter_mut().for_each(|c| c.caveats.push(caveat.clone()));
    }
    let mut report =
        RunReport { schema_version: perfwatch_model::SCHEMA_VERSION, run: meta, benchmarks, budgets: vec![] };
    for case_report in &report.benchmarks {
        if let Some(case_plan) = plan.cases.iter().find(|c| c.id == case_report.case_id()) {
            report.budgets.extend(perfwatch_detect::budget::check_budgets(case_report, &case_plan.budgets));
        }
    }

    if let Some(store) = store.as_mut() {
        if let Some(err) = store_error {
            eprintln!("warning: some results could not be saved: {err:#}");
        }
        if !report.budgets.is_empty() {
            store.set_budgets(&report.run.id, &report.budgets).context("saving budget results")?;
        }
        store
            .finish_run(
                &report.run.id,
                report.run.status,
                report.run.ended_at.unwrap_or(report.run.started_at),
            )
            .context("finishing the run in the history store")?;
        eprintln!(
            "saved run {} ({}) to {}",
            report.run.id,
            report.run.status.as_str(),
            super::store_url(&args.store)
        );
        if let Some(client) = &pusher {
            super::push::after_run(store.as_mut(), client, &report.run.id);
        }
    } else {
        eprintln!("run {} (not saved)", report.run.id);
    }
    if let perfwatch_runner::SuiteEnd::Aborted { message } = &result.end {
        eprintln!("error: measuring stopped early: {message}");
    }

    let text = perfwatch_report::renderer(output::format(&args.output))
        .run(&report, &output::render_options(&args.output));
    output::emit(&args.output, &text)?;

    let mut code = exit_codes::SUCCESS;
    if report.budgets.iter().any(|b| b.status == perfwatch_model::BudgetStatus::Fail) {
        code = exit_codes::combine(code, exit_codes::GATE_FAILED);
    }
    if report.benchmarks.iter().any(|c| c.status != perfwatch_model::CaseStatus::Ok) {
        code = exit_codes::combine(code, exit_codes::BENCH_FAILED);
    }
    Ok(if interrupted { INTERRUPTED } else { code })
}

/// `--label K=V` pairs.
fn parse_labels(labels: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    labels
        .iter()
        .map(|l| match l.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => anyhow::bail!("--label {l:?}: expected KEY=VALUE"),
        })
        .collect()
}

/// First Ctrl-C: finish the current run, then stop. Second: leave at once (the spawner
/// kills the running benchmark when perfwatch's end of its pipe closes).
fn install_ctrl_c(stop: Arc<AtomicBool>) {
    let result = ctrlc::set_handler(move || {
        if stop.swap(true, Ordering::SeqCst) {
            std::process::exit(INTERRUPTED);
        }
        eprintln!("\ninterrupted: stopping after the current run (Ctrl-C again to quit now)");
    });
    if let Err(e) = result {
        eprintln!("warning: cannot handle Ctrl-C: {e}");
    }
}

/// Progress for the user, and every finished case saved at once so a crash keeps it.
struct RunSink<'a> {
    progress: Progress,
    store: Option<&'a mut (dyn Store + 'static)>,
    run_id: &'a str,
    load_caveat: Option<perfwatch_model::Caveat>,
    store_error: Option<anyhow::Error>,
}

impl Sink for RunSink<'_> {
    fn event(&mut self, event: &Event<'_>) {
        self.progress.event(event);
        if let (Event::CaseFinished { report, .. }, Some(store)) = (event, self.store.as_mut()) {
            let mut report = (*report).clone();
            report.caveats.extend(self.load_caveat.clone());
            if let Err(e) = store.add_case(self.run_id, &report) {
                self.store_error
                    .get_or_insert(anyhow::Error::new(e).context(format!("saving {}", report.case_id())));
            }
        }
    }
}

//! Measure a suite and save the run as it goes: the life of a run (begin → every case saved
//! the moment it finishes → budgets → finish), so that a crash or kill keeps what finished.
//!
//! A store that fails after measuring has begun does not lose the measurements: the run
//! report is still returned (the front end prints it) and [`Outcome::store_failed`] says the
//! history is missing it. Such a run is never marked complete.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};

use perfwatch_model::{
    BudgetStatus, CaseId, CaseReport, CaseStatus, Caveat, GitInfo, Plan, RunMeta, RunReport, RunStatus,
    SCHEMA_VERSION,
};
use perfwatch_runner::gpu::{Gpu, GpuSampling};
use perfwatch_runner::{Event, Executor, HealthSnapshot, RunOptions, Sink, SuiteEnd, SysRoot};
use perfwatch_store::Store;

use crate::error::{AppError, Result, StoreContext};
use crate::lease::Lease;
use crate::{Outcome, Ui};

/// What to measure and how to label it.
#[derive(Debug, Clone)]
pub struct MeasureRequest {
    /// The (selected) suite.
    pub plan: Plan,
    /// User labels of the run.
    pub labels: BTreeMap<String, String>,
    /// Git state of the suite's work tree.
    pub git: Option<GitInfo>,
    /// Forward the benchmarks' output to the [`Ui`].
    pub show_output: bool,
    /// The time the run is filed under, when not now: `backfill` dates a past commit's run
    /// with the commit's time, so histories show the past in commit order.
    pub dated: Option<jiff::Timestamp>,
}

/// A measured run.
#[derive(Debug)]
pub struct Measured {
    /// The run report (also when saving failed: it holds every measurement).
    pub report: RunReport,
    /// Exit-code facts: failed runs, breached budgets, a failed store, Ctrl-C.
    pub outcome: Outcome,
    /// Why the store could not keep the run, when it could not.
    pub store_error: Option<AppError>,
    /// The executor broke and measuring stopped early (what finished is in the report).
    pub aborted: Option<String>,
}

/// A new run's metadata: a time-ordered id, this machine, this perfwatch. In a CI job that
/// builds a pull request, its number is added as the label `pull_request` unless the user set
/// that label.
pub fn new_run_meta(plan: &Plan, git: Option<GitInfo>, mut labels: BTreeMap<String, String>) -> RunMeta {
    if let Some(number) = crate::ci::detect(|name| std::env::var(name).ok()).and_then(|ci| ci.pull_request) {
        labels.entry(crate::ci::PULL_REQUEST_LABEL.to_string()).or_insert(number);
    }
    RunMeta {
        id: uuid::Uuid::now_v7().to_string(),
        started_at: jiff::Timestamp::now(),
        ended_at: None,
        status: RunStatus::Incomplete,
        git,
        host: perfwatch_runner::host_info(),
        labels,
        perfwatch_version: env!("CARGO_PKG_VERSION").to_string(),
        suite_hash: plan.suite_hash.clone(),
    }
}

/// Measures `req.plan` with `executor`, saving into `store` when given (each case as it
/// finishes). `stop` ends measuring after the current run (Ctrl-C). Fails only when nothing
/// could be measured (the store refused to record the run's start).
pub fn measure<'s>(
    req: &MeasureRequest,
    executor: &mut dyn Executor,
    mut store: Option<&mut (dyn Store + 's)>,
    ui: &mut dyn Ui,
    stop: &AtomicBool,
) -> Result<Measured> {
    let clock = std::time::Instant::now();
    let mut meta = new_run_meta(&req.plan, req.git.clone(), req.labels.clone());
    meta.started_at = req.dated.unwrap_or(meta.started_at);
    let gpu = open_gpu(&req.plan)?;
    meta.host.gpu = gpu.as_ref().map(|g| match g {
        Ok(gpu) => gpu.description().to_string(),
        Err(reason) => format!("no GPU: {reason}"),
    });
    let mut sampling;
    let executor: &mut dyn Executor = match &gpu {
        Some(Ok(gpu)) => {
            sampling = GpuSampling::new(executor, gpu);
            &mut sampling
        }
        _ => executor,
    };
    let lease = Lease::for_plans(&[&req.plan], None);
    if let Some(store) = store.as_deref_mut() {
        store.begin_run(&meta).store_context(|| "recording the run in the history store".into())?;
    }
    let mut sink = SavingSink {
        ui,
        store: store.as_deref_mut(),
        run_id: &meta.id,
        run_caveats: RunCaveats::new(&meta, &req.plan, gpu.as_ref()),
        health: HealthTracker::default(),
        lease,
        error: None,
    };
    sink.renew_lease();
    let opts = RunOptions { show_output: req.show_output };
    let result = perfwatch_runner::run_plan(&req.plan, executor, &mut sink, stop, &opts);
    let mut store_error = sink.error.take();
    let run_caveats = sink.run_caveats;
    let case_health = std::mem::take(&mut sink.health.caveats);

    meta.status = if stop.load(Ordering::SeqCst) { RunStatus::Interrupted } else { RunStatus::Complete };
    meta.ended_at = Some(ended_at(req.dated, clock));
    let mut report =
        RunReport { schema_version: SCHEMA_VERSION, run: meta, benchmarks: result.reports, budgets: vec![] };
    for case in &mut report.benchmarks {
        if let Some((_, health)) = case_health.iter().find(|(id, _)| *id == case.case) {
            case.caveats.extend(health.iter().cloned());
        }
        case.caveats.extend(run_caveats.of(&case.case));
    }
    report.budgets = check_budgets(&req.plan, &report.benchmarks);
    if let (Some(store), None) = (store, &store_error) {
        store_error = finish(store, &report).err();
    }
    let outcome = Outcome {
        gate_failed: report.budgets.iter().any(|b| b.status == BudgetStatus::Fail),
        runs_failed: report.benchmarks.iter().any(|c| c.status != CaseStatus::Ok),
        store_failed: store_error.is_some(),
        interrupted: report.run.status == RunStatus::Interrupted,
    };
    let aborted = match result.end {
        SuiteEnd::Aborted { message } => Some(message),
        _ => None,
    };
    Ok(Measured { report, outcome, store_error, aborted })
}

/// When a run that started at `clock` ends: now, or for a run dated in the past, its date
/// plus the time it took.
fn ended_at(dated: Option<jiff::Timestamp>, clock: std::time::Instant) -> jiff::Timestamp {
    match dated {
        Some(at) => at.checked_add(clock.elapsed()).unwrap_or(at),
        None => jiff::Timestamp::now(),
    }
}

/// NVML opened when a bench of the plan asks for GPU sampling: `None` when none does,
/// `Some(Err(reason))` when there is no GPU to read. A bench that requires one fails the
/// command before anything is measured.
fn open_gpu(plan: &Plan) -> Result<Option<std::result::Result<Gpu, String>>> {
    let mut asking = plan.cases.iter().filter(|c| c.gpu.is_some()).peekable();
    if asking.peek().is_none() {
        return Ok(None);
    }
    let required: Vec<String> =
        asking.filter(|c| c.gpu.is_some_and(|g| g.required)).map(|c| format!("`{}`", c.id)).collect();
    match Gpu::open() {
        Ok(gpu) => Ok(Some(Ok(gpu))),
        Err(reason) if !required.is_empty() => Err(AppError::Usage(format!(
            "{} require{} a GPU (`[bench.gpu] enabled = \"required\"`), but none can be read: {reason}\n\
             hint: set {} to the driver's libnvidia-ml.so.1, or use enabled = \"auto\" to measure without",
            required.join(", "),
            if required.len() == 1 { "s" } else { "" },
            perfwatch_runner::gpu::NVML_LIBRARY_ENV,
        ))),
        Err(reason) => Ok(Some(Err(reason))),
    }
}

/// Caveats about the whole run rather than one case's runs.
struct RunCaveats {
    /// Added to every case (a busy machine, a powersave governor).
    all: Vec<Caveat>,
    /// The cases that asked for GPU sampling.
    gpu_cases: Vec<CaseId>,
    /// Why there is no GPU, added to those cases.
    no_gpu: Option<Caveat>,
}

impl RunCaveats {
    /// The caveats of a run on the host of `meta`, measuring `plan` with `gpu` (or without).
    fn new(meta: &RunMeta, plan: &Plan, gpu: Option<&std::result::Result<Gpu, String>>) -> RunCaveats {
        RunCaveats {
            // A busy machine or a powersave governor at the start taints every case of the
            // run; say so on each.
            all: perfwatch_runner::high_load_caveat(&meta.host)
                .into_iter()
                .chain(perfwatch_runner::governor_caveat(meta.host.governor.as_deref()))
                .collect(),
            // A bench that asked for the GPU says once why it has no GPU metrics.
            gpu_cases: plan.cases.iter().filter(|c| c.gpu.is_some()).map(|c| c.id.clone()).collect(),
            no_gpu: match gpu {
                Some(Err(reason)) => Some(Caveat::NoGpu { reason: reason.clone() }),
                _ => None,
            },
        }
    }

    /// The run's caveats that apply to `case`.
    fn of(&self, case: &CaseId) -> Vec<Caveat> {
        let gpu = self.no_gpu.iter().filter(|_| self.gpu_cases.contains(case));
        self.all.iter().chain(gpu).cloned().collect()
    }
}

/// The suite's budgets checked against the measured cases.
pub fn check_budgets(plan: &Plan, cases: &[CaseReport]) -> Vec<perfwatch_model::BudgetResult> {
    cases
        .iter()
        .filter_map(|c| plan.cases.iter().find(|p| p.id == c.case).map(|p| (c, p)))
        .flat_map(|(c, p)| perfwatch_detect::budget::check_budgets(c, &p.budgets))
        .collect()
}

/// Saves the budgets and marks the run finished. Only called when every case was saved: a
/// run missing cases stays `incomplete` rather than pretend to be whole.
fn finish(store: &mut dyn Store, report: &RunReport) -> Result<()> {
    let id = &report.run.id;
    if !report.budgets.is_empty() {
        store.set_budgets(id, &report.budgets).store_context(|| "saving budget results".into())?;
    }
    let end = report.run.ended_at.unwrap_or(report.run.started_at);
    store
        .finish_run(id, report.run.status, end)
        .store_context(|| "finishing the run in the history store".into())
}

/// Passes progress to the [`Ui`] and saves every finished case at once, so a crash keeps it.
struct SavingSink<'a, 's> {
    ui: &'a mut dyn Ui,
    store: Option<&'a mut (dyn Store + 's)>,
    run_id: &'a str,
    /// Caveats about the whole run.
    run_caveats: RunCaveats,
    /// Throttling and steal of each case.
    health: HealthTracker,
    /// The run's lease in the store, renewed as measuring goes on.
    lease: Lease,
    /// The first failure to save; later cases are not attempted.
    error: Option<AppError>,
}

impl SavingSink<'_, '_> {
    /// Renews the run's lease when it is due (not after a failed save: the run is lost to the
    /// store then anyway).
    fn renew_lease(&mut self) {
        if let (Some(store), None) = (self.store.as_deref_mut(), &self.error) {
            self.lease.renew(store, [self.run_id]);
        }
    }
}

impl Sink for SavingSink<'_, '_> {
    fn event(&mut self, event: &Event<'_>) {
        self.ui.suite_event(event);
        self.renew_lease();
        let health = self.health.event(event);
        if let (Event::Profile { case, profile }, Some(store), None) =
            (event, self.store.as_deref_mut(), &self.error)
        {
            // A profile is a help for `explain`, not part of the results: losing it is a warning.
            if let Err(e) = store.add_profile(self.run_id, case, profile) {
                self.ui.warn(&format!("{case}: the profile was not saved: {e}"));
            }
            return;
        }
        let (Event::CaseFinished { report, .. }, Some(store), None) =
            (event, self.store.as_deref_mut(), &self.error)
        else {
            return;
        };
        let mut report = (*report).clone();
        report.caveats.extend(health);
        report.caveats.extend(self.run_caveats.of(&report.case));
        if let Err(e) = store.add_case(self.run_id, &report) {
            self.error = Some(AppError::Store { context: format!("saving {}", report.case), source: e });
        }
    }
}

/// Reads host health (throttle counters, CPU steal) when each case starts and finishes, and
/// keeps the caveats of each finished case.
#[derive(Default)]
struct HealthTracker {
    root: SysRoot,
    start: Option<HealthSnapshot>,
    /// The health caveats of every finished case, in order.
    caveats: Vec<(CaseId, Vec<Caveat>)>,
}

impl HealthTracker {
    /// Snapshots at a case's start; at its end, returns (and keeps) the case's caveats.
    fn event(&mut self, event: &Event<'_>) -> Vec<Caveat> {
        match event {
            Event::CaseStarted { .. } => {
                self.start = Some(self.root.snapshot());
                vec![]
            }
            Event::CaseFinished { report, .. } => {
                let Some(start) = self.start.take() else { return vec![] };
                let caveats = perfwatch_runner::health_caveats(&start, &self.root.snapshot());
                self.caveats.push((report.case.clone(), caveats.clone()));
                caveats
            }
            _ => vec![],
        }
    }
}

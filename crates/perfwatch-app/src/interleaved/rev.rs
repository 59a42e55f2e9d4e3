//! `perfwatch compare --rev A [--rev B]`: two git revisions of a suite built (cached) and
//! measured case by case in interleaved rounds; both sides are saved as runs (labels
//! `compare=rev`, `side=base|candidate`) and compared paired (see the [module docs](super)).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use perfwatch_detect::paired::SequentialRule;
use perfwatch_detect::verdict::{FailOn, gate_failed};
use perfwatch_model::{
    Better, CasePlan, CaseReport, CaseStatus, CommandSpec, ComparisonReport, ComparisonWarning, Design,
    RunMeta, RunRef, RunStatus, SCHEMA_VERSION, VerdictCounts,
};
use perfwatch_runner::{Contender, ExecRequest, Executor, InterleaveOptions, StopReason, side_report};
use perfwatch_store::Store;

use super::worktree::{Repo, Side};
use super::{measure_paired, paired_comparisons, stop_warning};
use crate::error::{AppError, Result, StoreContext};
use crate::git::Git;
use crate::lease::Lease;
use crate::measure::new_run_meta;
use crate::project::{Project, select};
use crate::{Outcome, Ui};

/// Two revisions to compare.
#[derive(Debug, Clone, PartialEq)]
pub struct RevRequest {
    /// The base revision, and the candidate revision if any (else the work tree, dirty or not).
    pub revs: Vec<String>,
    /// Only the benches matching these patterns.
    pub bench: Vec<String>,
    /// Measuring time per case (default: the case's `max_time`).
    pub max_time: Option<Duration>,
    /// Seed of the round orders (case k uses `seed + k`).
    pub seed: u64,
    /// When the gate fails.
    pub fail_on: FailOn,
}

/// The tools a revision comparison works with.
pub struct RevTools<'a> {
    /// Git, for commits and worktrees.
    pub git: &'a dyn Git,
    /// Runs builds, hooks and benchmarks.
    pub executor: &'a mut dyn Executor,
    /// Where both runs are saved.
    pub store: &'a mut dyn Store,
    /// What the user sees.
    pub ui: &'a mut dyn Ui,
}

/// Builds both revisions, measures every selected case of the candidate's suite that the
/// base's suite has too, saves both runs, and compares them. Fails only before measuring
/// (bad revision, failed build, store unavailable).
pub fn compare_revs(
    project: &Project,
    req: &RevRequest,
    tools: RevTools<'_>,
    stop: &AtomicBool,
) -> Result<(ComparisonReport, Outcome)> {
    if req.revs.is_empty() || req.revs.len() > 2 {
        return Err(AppError::usage("--rev takes a base and at most one candidate revision"));
    }
    let RevTools { git, executor, store, ui } = tools;
    let repo = Repo::of(project, git)?;
    let base = repo.checkout(git, &req.revs[0])?;
    let candidate = match req.revs.get(1) {
        Some(rev) => repo.checkout(git, rev)?,
        None => Side {
            label: "work tree".into(),
            suite: repo.suite_file.clone(),
            git: git.info(&project.suite_dir()),
            plan: project.load_plan()?,
        },
    };
    repo.build(&base, true, executor, ui)?;
    repo.build(&candidate, req.revs.len() == 2, executor, ui)?;
    let base_plan = select(base.plan.clone(), &req.bench)?;
    let cand_plan = select(candidate.plan.clone(), &req.bench)?;

    let mut session = Session::begin(store, &base, &candidate, req)?;
    for (k, case) in cand_plan.cases.iter().enumerate() {
        if stop.load(Ordering::SeqCst) {
            session.interrupted = true;
            break;
        }
        let Some(base_case) = base_plan.cases.iter().find(|c| c.id == case.id) else {
            session.report.warnings.push(ComparisonWarning::NotInBase { case: case.id.clone() });
            continue;
        };
        let seed = req.seed.wrapping_add(k as u64);
        if !session.measure_case((base_case, case), seed, executor, ui, stop)? {
            break;
        }
    }
    Ok(session.finish(req.fail_on, ui))
}

/// The two runs being measured and the comparison being built.
struct Session<'a> {
    store: &'a mut dyn Store,
    labels: (String, String),
    metas: [RunMeta; 2],
    report: ComparisonReport,
    stopped: Vec<&'static str>,
    max_time: Option<Duration>,
    runs_failed: bool,
    interrupted: bool,
    store_error: Option<AppError>,
    /// The lease of both runs in the store, renewed as each case is saved.
    lease: Lease,
}

impl<'a> Session<'a> {
    /// Records both runs as started (a store failure here is an error: nothing is measured).
    fn begin(store: &'a mut dyn Store, base: &Side, cand: &Side, req: &RevRequest) -> Result<Session<'a>> {
        let meta = |side: &Side, role: &str| {
            let labels = BTreeMap::from([("compare".into(), "rev".into()), ("side".into(), role.into())]);
            new_run_meta(&side.plan, side.git.clone(), labels)
        };
        let mut metas = [meta(base, "base"), meta(cand, "candidate")];
        // Each run names its partner, so a later unpaired `compare` of the two can say that
        // this paired one was more precise.
        let ids = [metas[0].id.clone(), metas[1].id.clone()];
        metas[0].labels.insert(crate::compare::PAIR_LABEL.into(), ids[1].clone());
        metas[1].labels.insert(crate::compare::PAIR_LABEL.into(), ids[0].clone());
        for m in &metas {
            store.begin_run(m).store_context(|| format!("recording run {}", m.id))?;
        }
        let mut lease = Lease::for_plans(&[&base.plan, &cand.plan], req.max_time);
        lease.renew(store, metas.iter().map(|m| m.id.as_str()));
        let run_ref = |m: &RunMeta, side: &Side| RunRef {
            run_id: m.id.clone(),
            name: Some(side.label.clone()),
            commit: side.git.as_ref().map(|g| g.commit.clone()),
            host: Some(m.host.fingerprint.clone()),
        };
        let report = ComparisonReport {
            schema_version: SCHEMA_VERSION,
            baseline: run_ref(&metas[0], base),
            candidate: run_ref(&metas[1], cand),
            design: Design::Paired,
            comparisons: vec![],
            budgets: vec![],
            summary: VerdictCounts::default(),
            warnings: vec![],
            rounds: Some(0),
            elapsed_s: Some(0.0),
            stopped: None,
            speedup_goal: None,
            distributions: vec![],
        };
        Ok(Session {
            store,
            labels: (base.label.clone(), cand.label.clone()),
            metas,
            report,
            stopped: vec![],
            max_time: req.max_time,
            runs_failed: false,
            interrupted: false,
            store_error: None,
            lease,
        })
    }

    /// Setup hooks, interleaved rounds, cleanup hooks, both sides saved, comparisons added.
    /// `false` when measuring must stop (Ctrl-C).
    fn measure_case(
        &mut self,
        (base_case, case): (&CasePlan, &CasePlan),
        seed: u64,
        executor: &mut dyn Executor,
        ui: &mut dyn Ui,
        stop: &AtomicBool,
    ) -> Result<bool> {
        if !self.hooks("setup", [base_case, case], executor)? {
            self.runs_failed = true;
            return Ok(true);
        }
        let a = contender(&self.labels.0, base_case);
        let b = contender(&self.labels.1, case);
        let opts = InterleaveOptions {
            warmup: case.settings.warmup,
            min_rounds: case.settings.min_runs.max(2),
            max_rounds: case.settings.max_runs.max(2),
            max_time: self.max_time.unwrap_or(case.settings.max_time),
            seed,
        };
        let rule = SequentialRule::new("wall", case.threshold_for("wall"), Better::Lower);
        let mut on_event = |e: &perfwatch_runner::InterleaveEvent<'_>| ui.round_event(Some(&case.id), e);
        let (outcome, n_star) =
            measure_paired((&a, &b), &opts, executor, (rule, "wall"), &mut on_event, stop);
        self.hooks("cleanup", [base_case, case], executor)?;

        let failure = |side| match &outcome.stopped {
            StopReason::Failed { side: s, failure } if *s == side => Some(failure.clone()),
            _ => None,
        };
        let samples = |pick: fn(&perfwatch_runner::Round) -> &perfwatch_model::Sample| {
            outcome.rounds.iter().map(|r| pick(r).clone()).collect::<Vec<_>>()
        };
        let sides = [
            side_report(
                &case.id,
                &samples(|r| &r.a),
                &outcome.metrics,
                base_case.throughput,
                failure(perfwatch_runner::Side::A),
            ),
            side_report(
                &case.id,
                &samples(|r| &r.b),
                &outcome.metrics,
                case.throughput,
                failure(perfwatch_runner::Side::B),
            ),
        ];
        self.save(&sides);
        self.report.budgets.extend(perfwatch_detect::budget::check_budgets(&sides[1], &case.budgets));
        let comparisons =
            paired_comparisons(&outcome, (&case.id, "wall"), &|m| case.threshold_for(m), n_star);
        self.report.comparisons.extend(comparisons);
        self.report.warnings.extend(stop_warning(&outcome, Some(&case.id), "wall", seed));
        *self.report.rounds.get_or_insert(0) += outcome.rounds.len() as u32;
        *self.report.elapsed_s.get_or_insert(0.0) += outcome.elapsed.as_secs_f64();
        self.stopped.push(outcome.stopped.as_str());
        self.runs_failed |= sides.iter().any(|r| r.status != CaseStatus::Ok);
        match outcome.stopped {
            StopReason::Interrupted => self.interrupted = true,
            StopReason::Aborted { message } => return Err(AppError::Executor(message)),
            _ => {}
        }
        Ok(!self.interrupted)
    }

    /// Runs the `setup` or `cleanup` hook of both sides' case; a failing one is a warning.
    /// `false` when one failed.
    fn hooks(&mut self, which: &str, cases: [&CasePlan; 2], executor: &mut dyn Executor) -> Result<bool> {
        let warnings = run_hooks(which, &cases, executor)?;
        let ok = warnings.is_empty();
        self.report.warnings.extend(warnings);
        Ok(ok)
    }

    /// Saves one case of each side; after a store failure nothing more is attempted (the
    /// comparison goes on and the failure is reported in the outcome).
    fn save(&mut self, sides: &[CaseReport; 2]) {
        if self.store_error.is_some() {
            return;
        }
        for (meta, report) in self.metas.iter().zip(sides) {
            if let Err(e) = self.store.add_case(&meta.id, report) {
                self.store_error =
                    Some(AppError::Store { context: format!("saving {}", report.case), source: e });
                return;
            }
        }
        self.lease.renew(self.store, self.metas.iter().map(|m| m.id.as_str()));
    }

    /// Marks both runs finished (unless saving failed: then they stay incomplete), and
    /// completes the report.
    fn finish(mut self, fail_on: FailOn, ui: &mut dyn Ui) -> (ComparisonReport, Outcome) {
        self.report.summary = VerdictCounts::tally(&self.report.comparisons);
        // One word for the whole suite: the "worst" way a case ended.
        self.report.stopped = ["interrupted", "failed", "budget", "verdict"]
            .into_iter()
            .find(|w| self.stopped.contains(w))
            .map(String::from);
        let status = if self.interrupted { RunStatus::Interrupted } else { RunStatus::Complete };
        if self.store_error.is_none() {
            if let Err(e) = self.finish_runs(status) {
                self.store_error = Some(e);
            }
        }
        match &self.store_error {
            Some(e) => ui.warn(&format!("the runs were measured but not saved completely: {e}")),
            None => ui.info(&format!(
                "saved runs {} ({}) and {} ({})",
                self.metas[0].id, self.labels.0, self.metas[1].id, self.labels.1
            )),
        }
        let outcome = Outcome {
            gate_failed: gate_failed(&self.report, fail_on),
            runs_failed: self.runs_failed,
            store_failed: self.store_error.is_some(),
            interrupted: self.interrupted,
        };
        (self.report, outcome)
    }

    fn finish_runs(&mut self, status: RunStatus) -> Result<()> {
        for m in &self.metas {
            self.store
                .finish_run(&m.id, status, jiff::Timestamp::now())
                .store_context(|| "finishing the runs".into())?;
        }
        if !self.report.budgets.is_empty() {
            let id = &self.metas[1].id;
            self.store
                .set_budgets(id, &self.report.budgets)
                .store_context(|| "saving budget results".into())?;
        }
        Ok(())
    }
}

/// Runs the `setup` or `cleanup` hook of both cases (unmeasured) through the executor; a
/// warning for each that failed.
pub(crate) fn run_hooks(
    which: &str,
    cases: &[&CasePlan],
    executor: &mut dyn Executor,
) -> Result<Vec<ComparisonWarning>> {
    let mut failed = Vec::new();
    for c in cases {
        let script = if which == "setup" { &c.setup } else { &c.cleanup };
        let Some(script) = script else { continue };
        let req = hook_request(c, CommandSpec::Shell(script.clone()).to_argv());
        let outcome =
            executor.execute(&req, &mut |_, _| {}).map_err(|e| AppError::Executor(e.to_string()))?;
        if !outcome.exit.is_success() {
            failed.push(ComparisonWarning::HookFailed {
                case: c.id.clone(),
                hook: which.to_string(),
                command: script.clone(),
            });
        }
    }
    Ok(failed)
}

/// A command of a case (benchmark or hook) as the executor runs it.
fn hook_request(case: &CasePlan, argv: Vec<String>) -> ExecRequest {
    ExecRequest {
        argv,
        cwd: case.cwd.clone(),
        env: case.env.clone(),
        timeout: Some(case.settings.timeout).filter(|t| !t.is_zero()),
        forward_output: false,
        kill_leftovers: false,
        metrics_file: false,
        gpu_interval: None,
    }
}

/// The measured command, prepare hook and declared metrics of a case.
pub(super) fn contender(label: &str, case: &CasePlan) -> Contender {
    Contender {
        label: label.to_string(),
        command: ExecRequest {
            kill_leftovers: true,
            metrics_file: true,
            ..hook_request(case, case.command.to_argv())
        },
        prepare: case.prepare.as_ref().map(|p| hook_request(case, CommandSpec::Shell(p.clone()).to_argv())),
        metrics: case.metrics.clone(),
    }
}

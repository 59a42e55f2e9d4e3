//! The run loop: a [`Plan`] in, one [`CaseReport`] per case out, events pushed on the way.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use perfwatch_model::metric::{CPU, MAX_RSS, SYS, THROUGHPUT, USER, WALL};
use perfwatch_model::{
    CaseFailure, CasePlan, CaseReport, CaseStatus, Caveat, CommandSpec, ExitKind, MetricInfo, Plan, Sample,
    Summary, builtin_metric,
};

use crate::events::{Event, MetricWarning, Phase, Sink, SuiteEnd};
use crate::executor::{
    ExecOutcome, ExecRequest, Executor, ExecutorError, MAX_METRIC_LINES, MAX_ODD_METRIC_LINES, Stream,
};
use crate::instr::INSTR_SLOWDOWN;
use crate::metric::parse_metric_line;

/// Fewer successful runs than this give [`Caveat::FewRuns`].
pub const FEW_RUNS: u32 = 10;
/// Robust CV of wall time above this gives [`Caveat::HighNoise`].
pub const HIGH_NOISE_CV: f64 = 0.05;
/// First measured run at least this many times the median gives [`Caveat::SlowFirstRun`]
/// (only judged with at least [`SLOW_FIRST_MIN_RUNS`] runs: with fewer, the median is
/// itself too uncertain to call one run slow).
pub const SLOW_FIRST_RATIO: f64 = 1.5;
/// See [`SLOW_FIRST_RATIO`].
pub const SLOW_FIRST_MIN_RUNS: u32 = 5;
/// Median wall time below this gives [`Caveat::VeryShort`].
pub const VERY_SHORT_S: f64 = 0.005;
/// Scale of the MAD to a normal standard deviation (1 / Φ⁻¹(3/4)).
const MAD_SCALE: f64 = 1.4826;

/// Options of a run that are not part of the plan.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Forward benchmark and hook output as [`Event::Output`] (`--show-output`).
    pub show_output: bool,
}

/// Everything a run produced.
#[derive(Debug, Clone, PartialEq)]
pub struct SuiteOutcome {
    /// One report per case that was started, in plan order (an interrupted case is
    /// included with what was measured so far; cases never started are not).
    pub reports: Vec<CaseReport>,
    /// How measuring ended.
    pub end: SuiteEnd,
}

/// Runs every case of `plan` in order.
///
/// Per case: `setup` once (unmeasured; on failure the case fails and its runs are skipped),
/// `warmup` runs, then measured runs (each preceded by `prepare`) until precision, `max_runs`
/// or `max_time` says stop (never fewer than `min_runs`), then `cleanup` once, always. A
/// failing run ends its case; the suite goes on. `stop` is checked between runs: once set,
/// the current case is reported with what it has and the rest are skipped.
pub fn run_plan(
    plan: &Plan,
    executor: &mut dyn Executor,
    sink: &mut dyn Sink,
    stop: &AtomicBool,
    opts: &RunOptions,
) -> SuiteOutcome {
    sink.event(&Event::SuiteStarted { cases: plan.cases.len() });
    let mut reports = Vec::with_capacity(plan.cases.len());
    let mut end = SuiteEnd::Complete;
    for (index, case) in plan.cases.iter().enumerate() {
        if stop.load(Ordering::SeqCst) {
            end = SuiteEnd::Interrupted;
            break;
        }
        sink.event(&Event::CaseStarted { index, case });
        let mut runner = CaseRunner::new(case, executor, sink, stop, opts);
        let result = runner.run();
        let interrupted = runner.interrupted;
        let report = runner.into_report(result.as_ref().err());
        sink.event(&Event::CaseFinished { index, report: &report });
        reports.push(report);
        if let Err(e) = result {
            end = SuiteEnd::Aborted { message: e.to_string() };
            break;
        }
        if interrupted {
            end = SuiteEnd::Interrupted;
            break;
        }
    }
    sink.event(&Event::SuiteFinished { end: &end });
    SuiteOutcome { reports, end }
}

/// State of one case while it runs.
struct CaseRunner<'a> {
    case: &'a CasePlan,
    executor: &'a mut dyn Executor,
    sink: &'a mut dyn Sink,
    stop: &'a AtomicBool,
    opts: &'a RunOptions,
    raw: Vec<Sample>,
    /// Unit and direction of every custom metric seen, in first-seen order of names.
    metric_info: BTreeMap<String, MetricInfo>,
    warned: HashSet<(Stream, u64, String)>,
    failure: Option<(CaseStatus, CaseFailure)>,
    interrupted: bool,
    /// Adaptive stopping ended on `max_runs`/`max_time` while a precision was asked for.
    precision_missed: bool,
    /// Processes the runs left outside their process group, killed after each run.
    leftovers_killed: u32,
    /// Failed GPU readings over the case's runs, and the first failure.
    gpu_errors: (u32, Option<String>),
    /// GPU throttle reasons seen during the case's runs.
    gpu_throttle: BTreeSet<String>,
    /// The instruction counts of `[bench.instr]`, or why there are none.
    instr: Option<Result<crate::instr::Counts, String>>,
}

impl<'a> CaseRunner<'a> {
    fn new(
        case: &'a CasePlan,
        executor: &'a mut dyn Executor,
        sink: &'a mut dyn Sink,
        stop: &'a AtomicBool,
        opts: &'a RunOptions,
    ) -> Self {
        CaseRunner {
            case,
            executor,
            sink,
            stop,
            opts,
            raw: Vec::new(),
            metric_info: BTreeMap::new(),
            warned: HashSet::new(),
            failure: None,
            interrupted: false,
            precision_missed: false,
            leftovers_killed: 0,
            gpu_errors: (0, None),
            gpu_throttle: BTreeSet::new(),
            instr: None,
        }
    }

    fn stopped(&mut self) -> bool {
        if self.stop.load(Ordering::SeqCst) {
            self.interrupted = true;
        }
        self.interrupted
    }

    fn run(&mut self) -> Result<(), ExecutorError> {
        let result = self.run_phases();
        // Cleanup always runs, but there is no point asking a broken executor.
        if result.is_ok() {
            if let Some(script) = &self.case.cleanup {
                let outcome = self.exec(Phase::Cleanup, &shell(script))?;
                if !outcome.exit.is_success() {
                    let message = format!(
                        "cleanup hook `{script}` {}{}",
                        outcome.exit,
                        tail_suffix(&outcome.stderr_tail)
                    );
                    self.sink.event(&Event::Warning { case: &self.case.id, message });
                }
            }
        }
        result
    }

    fn run_phases(&mut self) -> Result<(), ExecutorError> {
        let settings = self.case.settings;
        if let Some(script) = &self.case.setup {
            if !self.hook(Phase::Setup, script)? {
                return Ok(());
            }
        }
        let command = self.case.command.clone();
        for w in 1..=settings.warmup {
            if self.stopped() || !self.prepare()? {
                return Ok(());
            }
            let outcome = self.exec(Phase::Warmup, &command)?;
            self.metrics_of(Phase::Warmup, w, &outcome);
            if !outcome.exit.is_success() {
                self.fail_run(Phase::Warmup, w, &outcome);
                return Ok(());
            }
            let id = &self.case.id;
            self.sink.event(&Event::WarmupDone { case: id, run: w, of: settings.warmup, wall: outcome.wall });
        }

        let min_runs = settings.min_runs.min(settings.max_runs);
        let start = Instant::now();
        let mut walls: Vec<f64> = Vec::new();
        loop {
            let n = walls.len() as u32;
            let precision_ok = settings.precision > 0.0
                && n >= min_runs
                && perfwatch_stats::median_ci_relative_half_width(&walls)
                    .is_some_and(|hw| hw <= settings.precision);
            if precision_ok {
                break;
            }
            if n >= settings.max_runs || (n >= min_runs && start.elapsed() >= settings.max_time) {
                self.precision_missed = settings.precision > 0.0;
                break;
            }
            if self.stopped() || !self.prepare()? {
                break;
            }
            let run = n + 1;
            let outcome = self.exec(Phase::Measured, &command)?;
            let metrics = self.metrics_of(Phase::Measured, run, &outcome);
            let sample = Sample {
                wall: outcome.wall,
                user: outcome.user,
                sys: outcome.sys,
                max_rss: outcome.max_rss,
                exit: outcome.exit.clone(),
                metrics,
            };
            self.sink.event(&Event::RunDone {
                case: &self.case.id,
                run,
                max_runs: settings.max_runs,
                elapsed: start.elapsed(),
                max_time: settings.max_time,
                sample: &sample,
            });
            self.raw.push(sample);
            if !outcome.exit.is_success() {
                self.fail_run(Phase::Measured, run, &outcome);
                break;
            }
            walls.push(outcome.wall);
        }
        if let Some(plan) = self.case.instr
            && self.failure.is_none()
            && !self.stopped()
            && !walls.is_empty()
            && self.prepare()?
        {
            self.instr = Some(self.count_instructions(plan.tool, &command)?);
        }
        Ok(())
    }

    /// Runs `command` once more under Valgrind's `tool` and reads its counts. A failure here
    /// (no Valgrind, a crash under it) costs the case its counts, not its measurements.
    fn count_instructions(
        &mut self,
        tool: perfwatch_model::InstrTool,
        command: &CommandSpec,
    ) -> Result<Result<crate::instr::Counts, String>, ExecutorError> {
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => return Ok(Err(format!("cannot make a directory for Valgrind's output: {e}"))),
        };
        let argv = crate::instr::valgrind_argv(tool, dir.path(), &command.to_argv());
        let outcome = self.exec(Phase::Instructions, &CommandSpec::Argv(argv))?;
        if let ExitKind::SpawnFailed { message } = &outcome.exit {
            return Ok(Err(format!(
                "cannot start valgrind ({message}); install it (Debian: apt install valgrind)"
            )));
        }
        if !outcome.exit.is_success() {
            return Ok(Err(format!(
                "the run under valgrind {}{}",
                describe_exit(&outcome.exit, self.case),
                tail_suffix(&outcome.stderr_tail)
            )));
        }
        let counts = crate::instr::Counts::read_dir(dir.path());
        if tool == perfwatch_model::InstrTool::Callgrind && counts.is_ok() {
            self.keep_profile(dir.path());
        }
        Ok(counts)
    }

    /// Folds callgrind's output into the case's profile and hands it to the sink (the store
    /// keeps it with the run); a profile that cannot be read is a warning, not a failure.
    fn keep_profile(&mut self, dir: &std::path::Path) {
        let id = &self.case.id;
        match crate::profile::read_callgrind_dir(dir) {
            Ok(profile) => self.sink.event(&Event::Profile { case: id, profile: &profile }),
            Err(e) => self.sink.event(&Event::Warning { case: id, message: format!("no profile kept: {e}") }),
        }
    }

    /// Runs `prepare` if there is one; false if it failed (the case has failed then).
    fn prepare(&mut self) -> Result<bool, ExecutorError> {
        match &self.case.prepare {
            Some(script) => self.hook(Phase::Prepare, script),
            None => Ok(true),
        }
    }

    /// Runs a hook; false (and the case failed) if it did not succeed.
    fn hook(&mut self, phase: Phase, script: &str) -> Result<bool, ExecutorError> {
        let outcome = self.exec(phase, &shell(script))?;
        if outcome.exit.is_success() {
            return Ok(true);
        }
        let status = status_of(&outcome.exit);
        let message =
            format!("{} hook `{script}` {}", phase.as_str(), describe_exit(&outcome.exit, self.case));
        self.set_failure(status, message, &outcome);
        Ok(false)
    }

    fn exec(&mut self, phase: Phase, command: &CommandSpec) -> Result<ExecOutcome, ExecutorError> {
        let req = ExecRequest {
            argv: command.to_argv(),
            cwd: self.case.cwd.clone(),
            env: self.case.env.clone(),
            // Valgrind runs a program 20 to 100 times slower.
            timeout: Some(self.case.settings.timeout)
                .filter(|t| !t.is_zero())
                .map(|t| if phase == Phase::Instructions { t.saturating_mul(INSTR_SLOWDOWN) } else { t }),
            forward_output: self.opts.show_output,
            // The benchmark's runs must leave nothing behind; hooks may (`setup` can start a
            // server that the runs use and `cleanup` stops).
            kill_leftovers: matches!(phase, Phase::Warmup | Phase::Measured | Phase::Instructions),
            metrics_file: matches!(phase, Phase::Warmup | Phase::Measured),
            gpu_interval: self.case.gpu.filter(|_| phase == Phase::Measured).map(|g| g.interval),
        };
        let (sink, id) = (&mut *self.sink, &self.case.id);
        let mut forward = |stream: Stream, data: &[u8]| {
            sink.event(&Event::Output { case: id, phase, stream, data });
        };
        let outcome = self.executor.execute(&req, &mut forward)?;
        self.leftovers_killed = self.leftovers_killed.saturating_add(outcome.leftovers_killed);
        Ok(outcome)
    }

    fn fail_run(&mut self, phase: Phase, run: u32, outcome: &ExecOutcome) {
        let what = match phase {
            Phase::Warmup => format!("warm-up run {run}"),
            _ => format!("run {run}"),
        };
        let message = format!("`{}` {} ({what})", self.case.command, describe_exit(&outcome.exit, self.case));
        self.set_failure(status_of(&outcome.exit), message, outcome);
    }

    fn set_failure(&mut self, status: CaseStatus, message: String, outcome: &ExecOutcome) {
        self.failure = Some((
            status,
            CaseFailure { message, exit: outcome.exit.clone(), stderr_tail: outcome.stderr_tail.clone() },
        ));
    }

    /// Parses the run's metric lines: values (last one wins) and located warnings.
    fn metrics_of(&mut self, phase: Phase, run: u32, outcome: &ExecOutcome) -> BTreeMap<String, f64> {
        let mut values = BTreeMap::new();
        for raw in &outcome.metric_lines {
            let problem = if raw.truncated {
                Err(format!("line longer than {} bytes", crate::executor::MAX_METRIC_LINE))
            } else {
                parse_metric_line(&raw.text).map_err(|e| e.to_string())
            };
            match problem {
                Err(message) => self.warn(phase, run, raw.stream, raw.line_no, &raw.text, message),
                Ok(line) => {
                    self.learn_metric(&line, phase, run, raw);
                    values.insert(line.name, line.value);
                }
            }
        }
        if outcome.dropped_metric_lines > 0 {
            let message = format!(
                "{} more metric lines were ignored (kept per run and stream: the last line of each of at most \
                 {MAX_METRIC_LINES} metrics, and {MAX_ODD_METRIC_LINES} malformed or conflicting lines)",
                outcome.dropped_metric_lines
            );
            self.warn(phase, run, Stream::Stdout, 0, "", message);
        }
        // Warm-ups are not measurements; their lines are only checked.
        if phase != Phase::Measured {
            return BTreeMap::new();
        }
        if let Some(gpu) = &outcome.gpu {
            self.add_gpu(gpu, &mut values);
        }
        values
    }

    /// Records a metric's unit and direction the first time it is seen (from the line, else
    /// its declaration), and warns where a line disagrees with its declaration (which wins)
    /// or with the first line (which wins).
    fn learn_metric(&mut self, line: &crate::MetricLine, phase: Phase, run: u32, raw: &crate::RawMetricLine) {
        // Through a copy of the `&'a CasePlan`, so the borrow is not of `self`.
        let case = self.case;
        let declared = case.metrics.get(&line.name);
        let differs = |unit: &str, better: perfwatch_model::Better| {
            line.unit.as_ref().is_some_and(|u| u != unit) || line.better.is_some_and(|b| b != better)
        };
        let message = match (declared, self.metric_info.get(&line.name)) {
            (Some(d), _) if differs(&d.unit, d.better) => Some(format!(
                "metric `{}` disagrees with its declaration (unit={}, better={}); the declaration wins",
                line.name,
                d.unit,
                d.better.as_str()
            )),
            (None, Some(seen)) if differs(&seen.unit, seen.better) => Some(format!(
                "metric `{}` was first reported with unit={}, better={}; this line disagrees and the first one wins",
                line.name,
                seen.unit,
                seen.better.as_str()
            )),
            _ => None,
        };
        if let Some(message) = message {
            self.warn(phase, run, raw.stream, raw.line_no, &raw.text, message);
        }
        if self.metric_info.contains_key(&line.name) {
            return;
        }
        let info = line.info(declared).unwrap_or_else(|| {
            let message = format!(
                "metric `{}` has no `better=` and none is declared in [bench.metrics]; assuming lower is better",
                line.name
            );
            self.warn(phase, run, raw.stream, raw.line_no, &raw.text, message);
            MetricInfo::new(line.unit.clone().unwrap_or_default(), perfwatch_model::Better::Lower)
        });
        self.metric_info.insert(line.name.clone(), info);
    }

    /// The GPU metrics of one measured run, and its failed readings and throttling.
    fn add_gpu(&mut self, gpu: &crate::gpu::GpuUsage, values: &mut BTreeMap<String, f64>) {
        for (name, value) in gpu.metrics() {
            if let Some(info) = builtin_metric(name) {
                self.metric_info.entry(name.to_string()).or_insert(info);
                values.insert(name.to_string(), value);
            }
        }
        self.gpu_errors.0 = self.gpu_errors.0.saturating_add(gpu.errors);
        if self.gpu_errors.1.is_none() {
            self.gpu_errors.1.clone_from(&gpu.first_error);
        }
        self.gpu_throttle.extend(gpu.throttle_reasons.iter().cloned());
    }

    /// Emits a metric warning unless the same one (same stream, line and problem) was already
    /// emitted for this case: a benchmark printing the same bad line in all 200 runs should
    /// produce one warning, not 200.
    fn warn(&mut self, phase: Phase, run: u32, stream: Stream, line_no: u64, line: &str, message: String) {
        if !self.warned.insert((stream, line_no, message.clone())) {
            return;
        }
        let line: String = line.chars().take(200).collect();
        let warning =
            MetricWarning { case: self.case.id.clone(), phase, run, stream, line_no, line, message };
        self.sink.event(&Event::MetricWarning(&warning));
    }

    fn into_report(self, broken: Option<&ExecutorError>) -> CaseReport {
        let case = self.case;
        let mut failure = self.failure;
        if let Some(e) = broken {
            let message = format!("measuring stopped: {e}");
            failure.get_or_insert((
                CaseStatus::Failed,
                CaseFailure {
                    exit: ExitKind::SpawnFailed { message: message.clone() },
                    message,
                    stderr_tail: String::new(),
                },
            ));
        }
        let ok: Vec<&Sample> = self.raw.iter().filter(|s| s.exit.is_success()).collect();
        let runs = ok.len() as u32;
        let mut metrics = BTreeMap::new();
        if !ok.is_empty() {
            let mut add = |name: &str, values: Vec<f64>, info: MetricInfo| {
                if !values.is_empty() {
                    metrics.insert(name.to_string(), perfwatch_stats::summarize(&values, &info));
                }
            };
            for name in [WALL, USER, SYS, CPU, MAX_RSS] {
                let values = ok.iter().filter_map(|s| s.metric(name)).collect();
                if let Some(info) = builtin_metric(name) {
                    add(name, values, info);
                }
            }
            if let (Some(items), Some(info)) = (case.throughput, builtin_metric(THROUGHPUT)) {
                let values = ok.iter().filter(|s| s.wall > 0.0).map(|s| items / s.wall).collect();
                add(THROUGHPUT, values, info);
            }
            for (name, info) in &self.metric_info {
                let values = ok.iter().filter_map(|s| s.metrics.get(name).copied()).collect();
                add(name, values, info.clone());
            }
            // One run under Valgrind: a summary of one value (deterministic; compare judges
            // such counts without an interval).
            if let Some(Ok(counts)) = &self.instr {
                for (name, value) in counts.metrics() {
                    if let Some(info) = builtin_metric(name) {
                        add(name, vec![value], info);
                    }
                }
            }
        }
        let mut caveats = caveats(
            &ok.iter().map(|s| s.wall).collect::<Vec<_>>(),
            metrics.get(WALL),
            self.precision_missed.then_some(case.settings.precision),
        );
        if self.leftovers_killed > 0 {
            caveats.push(Caveat::LeftoverProcesses { killed: self.leftovers_killed });
        }
        if let (errors @ 1.., Some(message)) = self.gpu_errors {
            caveats.push(Caveat::GpuSamplingFailed { errors, message });
        }
        if !self.gpu_throttle.is_empty() {
            caveats.push(Caveat::GpuThrottled { reasons: self.gpu_throttle.into_iter().collect() });
        }
        if let Some(Err(reason)) = self.instr {
            caveats.push(Caveat::NoInstructionCounts { reason });
        }
        let (status, failure) = match failure {
            Some((status, f)) => (status, Some(f)),
            None => (CaseStatus::Ok, None),
        };
        CaseReport { case: case.id.clone(), status, runs, caveats, metrics, failure, raw: self.raw }
    }
}

/// Quality caveats from the successful walls (in measured order) and their summary.
///
/// Rules: few runs when fewer than [`FEW_RUNS`]; precision not reached when a limit ended
/// measuring before the asked precision (`precision_target`) and a CI could be computed;
/// high noise when 1.4826·MAD/median > [`HIGH_NOISE_CV`]; outliers as counted by the wall
/// summary; slow first run when, with at least [`SLOW_FIRST_MIN_RUNS`] runs, the first
/// measured run took at least [`SLOW_FIRST_RATIO`] × the median; very short when the median
/// is under [`VERY_SHORT_S`].
pub fn caveats(walls: &[f64], wall: Option<&Summary>, precision_target: Option<f64>) -> Vec<Caveat> {
    let mut out = Vec::new();
    let n = walls.len() as u32;
    let Some(wall) = wall else { return out };
    if n < FEW_RUNS {
        out.push(Caveat::FewRuns {
            runs: n,
            half_width: perfwatch_stats::median_ci_relative_half_width(walls),
        });
    }
    if let Some(target) = precision_target {
        if let Some(achieved) = perfwatch_stats::median_ci_relative_half_width(walls) {
            if achieved > target {
                out.push(Caveat::PrecisionNotReached { achieved, target });
            }
        }
    }
    if wall.median > 0.0 {
        // Relative figures saturate: a median of a few nanoseconds' worth of f64::MIN_POSITIVE
        // would make them infinite, and JSON has no infinity.
        let cv = (MAD_SCALE * wall.mad / wall.median).min(f64::MAX);
        if cv > HIGH_NOISE_CV {
            out.push(Caveat::HighNoise { cv });
        }
    }
    if wall.outliers > 0 {
        out.push(Caveat::Outliers { count: wall.outliers, of: n });
    }
    if n >= SLOW_FIRST_MIN_RUNS && wall.median > 0.0 {
        let ratio = (walls[0] / wall.median).min(f64::MAX);
        if ratio >= SLOW_FIRST_RATIO {
            out.push(Caveat::SlowFirstRun { ratio });
        }
    }
    if wall.median < VERY_SHORT_S {
        out.push(Caveat::VeryShort { median_s: wall.median });
    }
    out
}

fn shell(script: &str) -> CommandSpec {
    CommandSpec::Shell(script.to_string())
}

fn status_of(exit: &ExitKind) -> CaseStatus {
    match exit {
        ExitKind::TimedOut => CaseStatus::Timeout,
        _ => CaseStatus::Failed,
    }
}

fn describe_exit(exit: &ExitKind, case: &CasePlan) -> String {
    match exit {
        ExitKind::TimedOut => format!(
            "timed out after {}; its process group was killed",
            format_duration(case.settings.timeout)
        ),
        ExitKind::Signaled { signal } => match signal_name(*signal) {
            Some(name) => format!("was killed by signal {signal} ({name})"),
            None => format!("was killed by signal {signal}"),
        },
        other => other.to_string(),
    }
}

fn signal_name(signal: i32) -> Option<&'static str> {
    Some(match signal {
        libc::SIGABRT => "SIGABRT",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGKILL => "SIGKILL",
        libc::SIGTERM => "SIGTERM",
        libc::SIGINT => "SIGINT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGILL => "SIGILL",
        libc::SIGPIPE => "SIGPIPE",
        _ => return None,
    })
}

fn format_duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 1.0 && s.fract() == 0.0 { format!("{s:.0}s") } else { format!("{s}s") }
}

fn tail_suffix(tail: &str) -> String {
    if tail.is_empty() { String::new() } else { format!("; stderr:\n{tail}") }
}

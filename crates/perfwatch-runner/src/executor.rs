//! The `Executor` abstraction: run one command, return what was measured.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::time::Duration;

use perfwatch_model::ExitKind;
use serde::{Deserialize, Serialize};

/// One command to execute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecRequest {
    /// Program and arguments; `argv[0]` is looked up in `PATH` unless it contains a `/`.
    pub argv: Vec<String>,
    /// Absolute working directory.
    pub cwd: PathBuf,
    /// Variables added to the inherited environment.
    pub env: BTreeMap<String, String>,
    /// Per-run limit; the whole process group is killed when it passes.
    pub timeout: Option<Duration>,
    /// Forward the command's output to the caller (`--show-output`).
    pub forward_output: bool,
    /// After the command ends, kill the processes it left running outside its process group
    /// (benchmark runs: yes; hooks: no, as `setup` may start a server the runs need).
    #[serde(default)]
    pub kill_leftovers: bool,
    /// Give the command a private metrics file ([`METRICS_FILE_ENV`]) and read the metric
    /// lines it appended there (benchmark runs: yes; hooks: no).
    #[serde(default)]
    pub metrics_file: bool,
    /// Sample the GPU this often while the command runs (measured runs of a bench with
    /// `[bench.gpu]`); only an executor wrapped in [`crate::gpu::GpuSampling`] does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_interval: Option<Duration>,
}

/// Which output stream of a benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
    /// The private file named by [`METRICS_FILE_ENV`] for the run.
    MetricsFile,
}

/// Environment variable naming a private, empty file per benchmark run: metric lines
/// appended there count like those printed, without sharing stdout with the program.
pub const METRICS_FILE_ENV: &str = "PERFWATCH_METRICS_FILE";

/// Most bytes of a run's metrics file that are read (the rest is counted as dropped lines).
pub const MAX_METRICS_FILE_BYTES: u64 = 4 * 1024 * 1024;

impl Stream {
    /// `stdout` / `stderr`.
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
            Stream::MetricsFile => METRICS_FILE_ENV,
        }
    }
}

/// A line starting with `perfwatch-metric`, as seen on one stream (not yet parsed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawMetricLine {
    /// Where it was printed.
    pub stream: Stream,
    /// 1-based line number within that stream's output of this run.
    pub line_no: u64,
    /// The line without its newline (lossily decoded, cut at [`MAX_METRIC_LINE`] bytes).
    pub text: String,
    /// The line was longer than [`MAX_METRIC_LINE`] bytes and was cut.
    pub truncated: bool,
}

/// Longest metric line kept, in bytes.
pub const MAX_METRIC_LINE: usize = 4096;
/// Most distinct metrics kept per stream of a run. A metric reported again replaces its
/// earlier line (the last value of a run wins anyway), so the bound is on names, not on
/// lines: a valid line after any number of repeats or malformed lines is still read.
/// Lines beyond it are counted in [`ExecOutcome::dropped_metric_lines`].
pub const MAX_METRIC_LINES: usize = 1000;
/// Most malformed (or, for one metric, conflicting) lines kept per stream of a run, for
/// their warnings; further ones are counted in [`ExecOutcome::dropped_metric_lines`].
pub const MAX_ODD_METRIC_LINES: usize = 100;
/// Bytes of standard error kept for the tail.
pub const STDERR_TAIL_BYTES: usize = 4096;
/// Lines of standard error kept for the tail.
pub const STDERR_TAIL_LINES: usize = 20;

/// What one execution measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecOutcome {
    /// Wall-clock seconds from spawn to the observed exit (monotonic clock).
    pub wall: f64,
    /// User CPU seconds of the process and the descendants it reaped.
    pub user: f64,
    /// System CPU seconds of the process and the descendants it reaped.
    pub sys: f64,
    /// Peak RSS in bytes of the largest single process of the tree (`wait4`'s `ru_maxrss`).
    pub max_rss: u64,
    /// How it ended.
    pub exit: ExitKind,
    /// `perfwatch-metric` lines seen on stdout and stderr, in order per stream.
    pub metric_lines: Vec<RawMetricLine>,
    /// Metric lines beyond [`MAX_METRIC_LINES`] names or [`MAX_ODD_METRIC_LINES`] odd lines
    /// that were not kept.
    pub dropped_metric_lines: u64,
    /// The last [`STDERR_TAIL_LINES`] lines (at most [`STDERR_TAIL_BYTES`]) of stderr.
    pub stderr_tail: String,
    /// Processes the command left running outside its process group, killed after it ended
    /// (with [`ExecRequest::kill_leftovers`]).
    #[serde(default)]
    pub leftovers_killed: u32,
    /// What the GPU did while the command ran (with [`ExecRequest::gpu_interval`] and a GPU).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu: Option<crate::gpu::GpuUsage>,
}

impl ExecOutcome {
    /// An outcome for a command that could not be started.
    pub fn spawn_failed(message: impl Into<String>) -> Self {
        ExecOutcome {
            wall: 0.0,
            user: 0.0,
            sys: 0.0,
            max_rss: 0,
            exit: ExitKind::SpawnFailed { message: message.into() },
            metric_lines: Vec::new(),
            dropped_metric_lines: 0,
            stderr_tail: String::new(),
            leftovers_killed: 0,
            gpu: None,
        }
    }

    /// A successful outcome with the given times (for scripted tests).
    pub fn ok(wall: f64) -> Self {
        ExecOutcome { wall, exit: ExitKind::Exited { code: 0 }, ..ExecOutcome::spawn_failed("") }
    }
}

/// The executor itself broke (not the benchmark): the helper process died or the control
/// channel failed. Measuring cannot go on with this executor.
#[derive(Debug, thiserror::Error)]
pub enum ExecutorError {
    /// Talking to the spawner process failed.
    #[error("perfwatch's spawner process failed: {0}")]
    Spawner(String),
    /// A scripted executor ran out of outcomes.
    #[error("scripted executor has no outcome left for `{0}`")]
    ScriptExhausted(String),
}

/// Runs commands and measures them.
///
/// `output` receives chunks of the command's output when `req.forward_output` is set; it is
/// never called otherwise.
pub trait Executor {
    /// Runs `req` to completion (or timeout) and reports what was measured.
    fn execute(
        &mut self,
        req: &ExecRequest,
        output: &mut dyn FnMut(Stream, &[u8]),
    ) -> Result<ExecOutcome, ExecutorError>;

    /// The process every command runs under (the spawner helper), so that a sampler can tell
    /// the running command's processes (its descendants) from others; `None` when commands
    /// are not real processes.
    fn process_root(&self) -> Option<u32> {
        None
    }

    /// The clock that time budgets (`max_time`) are measured with: a monotonic clock for a
    /// real executor. A scripted executor answers with the sum of the wall times it has
    /// reported, so that budget decisions in tests are deterministic.
    fn now(&self) -> Duration {
        static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        START.get_or_init(std::time::Instant::now).elapsed()
    }
}

/// Answers a request of a [`ScriptedExecutor`] by looking at it (e.g. a different wall time
/// for each of two commands compared side by side, whatever order they run in).
pub type Responder = Box<dyn FnMut(&ExecRequest) -> ExecOutcome>;

/// Returns predetermined outcomes in order (or computed by a [`Responder`]), recording every
/// request: deterministic tests of everything above the process layer. Its clock
/// ([`Executor::now`]) is virtual: the sum of the wall times of the outcomes it returned.
#[derive(Default)]
pub struct ScriptedExecutor {
    outcomes: VecDeque<ExecOutcome>,
    responder: Option<Responder>,
    /// Virtual time: the wall times returned so far.
    clock: Duration,
    /// Outcome for requests once the script is used up; `None` makes that an error.
    pub fallback: Option<ExecOutcome>,
    /// Every request received, in order.
    pub requests: Vec<ExecRequest>,
    /// Output forwarded for each request when `forward_output` is set.
    pub output: Vec<(Stream, Vec<u8>)>,
}

impl ScriptedExecutor {
    /// An executor that returns `outcomes` in order.
    pub fn new(outcomes: impl IntoIterator<Item = ExecOutcome>) -> Self {
        ScriptedExecutor { outcomes: outcomes.into_iter().collect(), ..Default::default() }
    }

    /// An executor that asks `respond` for the outcome of every request.
    pub fn responding(respond: impl FnMut(&ExecRequest) -> ExecOutcome + 'static) -> Self {
        ScriptedExecutor { responder: Some(Box::new(respond)), ..Default::default() }
    }

    /// Also answer every request after the script with `outcome`.
    pub fn with_fallback(mut self, outcome: ExecOutcome) -> Self {
        self.fallback = Some(outcome);
        self
    }

    /// Queues one more outcome.
    pub fn push(&mut self, outcome: ExecOutcome) {
        self.outcomes.push_back(outcome);
    }

    /// Forwarded output is scripted too: every `(stream, bytes)` pair given here is sent to
    /// the output callback of the next request that asks for forwarding.
    pub fn queue_output(&mut self, stream: Stream, bytes: &[u8]) {
        self.output.push((stream, bytes.to_vec()));
    }
}

impl Executor for ScriptedExecutor {
    fn execute(
        &mut self,
        req: &ExecRequest,
        output: &mut dyn FnMut(Stream, &[u8]),
    ) -> Result<ExecOutcome, ExecutorError> {
        self.requests.push(req.clone());
        if req.forward_output {
            for (stream, bytes) in self.output.drain(..) {
                output(stream, &bytes);
            }
        }
        let outcome = match self.outcomes.pop_front() {
            Some(outcome) => Some(outcome),
            None => self.responder.as_mut().map(|r| r(req)).or_else(|| self.fallback.clone()),
        };
        match outcome {
            Some(outcome) => {
                self.clock += Duration::from_secs_f64(outcome.wall.max(0.0));
                Ok(outcome)
            }
            None => Err(ExecutorError::ScriptExhausted(req.argv.join(" "))),
        }
    }

    fn now(&self) -> Duration {
        self.clock
    }
}

impl std::fmt::Debug for ScriptedExecutor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptedExecutor")
            .field("outcomes", &self.outcomes.len())
            .field("responder", &self.responder.is_some())
            .field("clock", &self.clock)
            .field("requests", &self.requests.len())
            .finish()
    }
}

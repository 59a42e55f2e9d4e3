//! The validated, fully expanded suite: what the runner executes.
//!
//! A [`Plan`] is produced by `perfwatch-config` from `perfwatch.toml`; every placeholder is
//! already substituted and every path is absolute, so the runner never looks at the file.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Serialize, Serializer};

use crate::case::CaseId;
use crate::metric::MetricInfo;

/// All cases of a suite, in declaration order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// The suite file this plan came from.
    pub suite_path: PathBuf,
    /// Hash of the suite file's contents, recorded with every run.
    pub suite_hash: String,
    /// The `[build]` command (run once per checkout by `compare --rev`), if any.
    pub build: Option<CommandSpec>,
    /// The expanded cases.
    pub cases: Vec<CasePlan>,
}

/// How to start a process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandSpec {
    /// Executed directly (`execvp`), no shell involved.
    Argv(Vec<String>),
    /// Executed as `sh -c STRING`; the shell's own cost is part of the measurement.
    Shell(String),
}

impl CommandSpec {
    /// The argv that starts this command.
    pub fn to_argv(&self) -> Vec<String> {
        match self {
            CommandSpec::Argv(argv) => argv.clone(),
            CommandSpec::Shell(script) => vec!["sh".into(), "-c".into(), script.clone()],
        }
    }
}

impl fmt::Display for CommandSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandSpec::Argv(argv) => {
                for (i, arg) in argv.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    if arg.is_empty() || arg.contains(|c: char| c.is_whitespace() || "'\"\\$`".contains(c)) {
                        write!(f, "'{}'", arg.replace('\'', r"'\''"))?;
                    } else {
                        f.write_str(arg)?;
                    }
                }
                Ok(())
            }
            CommandSpec::Shell(script) => write!(f, "sh -c {script:?}"),
        }
    }
}

/// One case of the suite, ready to run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CasePlan {
    /// Bench name and parameter values.
    pub id: CaseId,
    /// The measured command.
    pub command: CommandSpec,
    /// Runs once before the case's runs, unmeasured (via `sh -c`).
    pub setup: Option<String>,
    /// Runs before every run (warm-ups included), unmeasured (via `sh -c`).
    pub prepare: Option<String>,
    /// Runs once after the case's runs, even when they failed (via `sh -c`).
    pub cleanup: Option<String>,
    /// Absolute working directory.
    pub cwd: PathBuf,
    /// Extra environment variables (added to perfwatch's own environment).
    pub env: BTreeMap<String, String>,
    /// Run counts, time limits, precision and default threshold.
    pub settings: RunSettings,
    /// Items processed per run; yields the `throughput` metric (items / wall second).
    pub throughput: Option<f64>,
    /// Per-metric regression thresholds as fractions (`0.05` = 5 %), overriding
    /// `settings.threshold`.
    pub thresholds: BTreeMap<String, f64>,
    /// Absolute bounds checked on every run.
    pub budgets: Vec<Budget>,
    /// Declared units and directions of custom metrics.
    pub metrics: BTreeMap<String, MetricInfo>,
    /// GPU sampling during measured runs (`[bench.gpu]`); `None` when off.
    pub gpu: Option<GpuPlan>,
    /// One more run under Valgrind that counts instructions (`[bench.instr]`); `None` when off.
    pub instr: Option<InstrPlan>,
}

impl CasePlan {
    /// The threshold (fraction) that applies to `metric`.
    pub fn threshold_for(&self, metric: &str) -> f64 {
        self.thresholds.get(metric).copied().unwrap_or(self.settings.threshold)
    }
}

/// Instruction counting (`[bench.instr]`): after its measured runs, the case's command runs
/// once more under a Valgrind tool with a fixed cache model, for metrics that do not move with
/// a noisy machine (see `perfwatch_runner::instr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct InstrPlan {
    /// The Valgrind tool.
    pub tool: InstrTool,
}

/// A Valgrind tool that counts instructions and simulates the caches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InstrTool {
    /// `valgrind --tool=cachegrind --cache-sim=yes`: the lighter of the two.
    Cachegrind,
    /// `valgrind --tool=callgrind --cache-sim=yes`: also records the call graph.
    Callgrind,
}

impl InstrTool {
    /// The tool's name, as Valgrind's `--tool=` and the suite file spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            InstrTool::Cachegrind => "cachegrind",
            InstrTool::Callgrind => "callgrind",
        }
    }
}

/// How a case's GPU use is sampled (`[bench.gpu]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct GpuPlan {
    /// `required`: the run fails (exit 2) before measuring when no GPU can be read;
    /// otherwise (`auto`) a missing GPU is one note and the case is measured without.
    pub required: bool,
    /// Time between two samples of the device during a run.
    #[serde(serialize_with = "seconds")]
    pub interval: Duration,
}

impl GpuPlan {
    /// Default time between samples: short enough to catch a peak of a 50 ms kernel, long
    /// enough that polling stays a small share of one core.
    pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(10);
}

/// Limits of the adaptive measuring loop.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RunSettings {
    /// Unmeasured runs before measuring.
    pub warmup: u32,
    /// Runs always measured, even when `max_time` has passed.
    pub min_runs: u32,
    /// Hard cap on measured runs.
    pub max_runs: u32,
    /// Measuring time per case; no new run starts after it (once `min_runs` are done).
    #[serde(serialize_with = "seconds")]
    pub max_time: Duration,
    /// Stop once the 95 % CI half-width of the wall-time median is within this fraction of
    /// the median. `0.0` disables precision-based stopping.
    pub precision: f64,
    /// Per-run limit; the whole process group is killed when it passes.
    #[serde(serialize_with = "seconds")]
    pub timeout: Duration,
    /// Smallest relative change that counts as a regression or improvement (fraction).
    pub threshold: f64,
}

impl Default for RunSettings {
    /// The defaults of design §3.
    fn default() -> Self {
        RunSettings {
            warmup: 1,
            min_runs: 5,
            max_runs: 200,
            max_time: Duration::from_secs(10),
            precision: 0.01,
            timeout: Duration::from_secs(60),
            threshold: 0.02,
        }
    }
}

fn seconds<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// An absolute bound on one statistic of one metric, such as `wall.p95 < 500ms`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Budget {
    /// The budget as written in the suite file.
    pub text: String,
    /// Metric name (`wall`, `max_rss`, a custom metric…).
    pub metric: String,
    /// Which statistic of the metric's summary is bounded.
    pub stat: BudgetStat,
    /// The comparison that must hold.
    pub op: BudgetOp,
    /// The bound, in the metric's SI unit (seconds, bytes…).
    pub value: f64,
}

/// The statistic a budget bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BudgetStat {
    /// Median.
    Median,
    /// Arithmetic mean.
    Mean,
    /// Smallest sample.
    Min,
    /// Largest sample.
    Max,
    /// 95th percentile.
    P95,
    /// 99th percentile.
    P99,
}

impl BudgetStat {
    /// Parses `median`, `mean`, `min`, `max`, `p95`, `p99`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "median" | "p50" => BudgetStat::Median,
            "mean" => BudgetStat::Mean,
            "min" => BudgetStat::Min,
            "max" => BudgetStat::Max,
            "p95" => BudgetStat::P95,
            "p99" => BudgetStat::P99,
            _ => return None,
        })
    }

    /// Every accepted spelling, for hints.
    pub const NAMES: [&'static str; 6] = ["median", "mean", "min", "max", "p95", "p99"];
}

/// Comparison operator of a budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum BudgetOp {
    /// `<`
    #[serde(rename = "<")]
    Lt,
    /// `<=`
    #[serde(rename = "<=")]
    Le,
    /// `>`
    #[serde(rename = ">")]
    Gt,
    /// `>=`
    #[serde(rename = ">=")]
    Ge,
}

impl BudgetOp {
    /// Whether `measured OP bound` holds.
    pub fn holds(self, measured: f64, bound: f64) -> bool {
        match self {
            BudgetOp::Lt => measured < bound,
            BudgetOp::Le => measured <= bound,
            BudgetOp::Gt => measured > bound,
            BudgetOp::Ge => measured >= bound,
        }
    }
}

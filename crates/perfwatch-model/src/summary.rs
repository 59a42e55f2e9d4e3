//! Statistics of one metric of one case, and typed caveats about measurement quality.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::metric::Better;

/// Summary statistics of one metric of one case in one run (design §7).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    /// Unit of every number below.
    pub unit: String,
    /// Direction of improvement.
    pub better: Better,
    /// Number of samples.
    pub n: u32,
    /// Median: the headline number.
    pub median: f64,
    /// 95 % confidence interval of the median.
    pub ci95: [f64; 2],
    /// Arithmetic mean.
    pub mean: f64,
    /// Sample standard deviation (n − 1).
    pub stddev: f64,
    /// Median absolute deviation from the median (unscaled).
    pub mad: f64,
    /// Smallest sample.
    pub min: f64,
    /// Largest sample.
    pub max: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Number of samples flagged as outliers (they are kept, never dropped).
    pub outliers: u32,
    /// Every sample, in the order measured. Empty for a summary-only metric — one imported
    /// from a harness that wrote only a mean or median (see [`Summary::is_summary_only`]).
    pub samples: Vec<f64>,
}

impl Summary {
    /// True for a metric known only by a harness's summary (`perfwatch import`): it has no
    /// samples, `n` is the count the harness reported (0 if it did not say), `median` is the
    /// reported value (a median, a mean or a single value, as the case's
    /// [`Caveat::SummaryOnly`] says), `ci95` is `[median, median]` (there is no interval, and
    /// comparisons do not judge it), and statistics the harness did not report repeat the
    /// median (mean, min, max, p95, p99) or are 0 (stddev, MAD).
    pub fn is_summary_only(&self) -> bool {
        self.samples.is_empty()
    }
}

/// A warning about the quality of a measurement, shown in every output format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Caveat {
    /// Few runs: the confidence interval of the median is unavailable, or rests on the runs
    /// next to the extremes (so one unusual run moves it).
    FewRuns {
        /// Runs measured.
        runs: u32,
        /// Relative half-width of the median's 95 % interval, when there is one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        half_width: Option<f64>,
    },
    /// Run-to-run spread of wall time is high: small changes cannot be seen.
    HighNoise {
        /// Robust coefficient of variation (1.4826·MAD / median).
        cv: f64,
    },
    /// Some samples lie far from the rest (modified z-score > 3.5).
    Outliers {
        /// Number of outlying wall-time samples.
        count: u32,
        /// Number of samples.
        of: u32,
    },
    /// The first measured run was much slower than the median: warm-up may be too short.
    SlowFirstRun {
        /// First run divided by the median.
        ratio: f64,
    },
    /// `max_runs` or `max_time` ended measuring before `precision` was reached.
    PrecisionNotReached {
        /// Relative half-width achieved.
        achieved: f64,
        /// Relative half-width asked for.
        target: f64,
    },
    /// The command runs for so short a time that process start-up dominates.
    VeryShort {
        /// Median wall time in seconds.
        median_s: f64,
    },
    /// The machine was busy when the run started.
    HighLoad {
        /// One-minute load average.
        load: f64,
        /// Logical cores.
        cores: u32,
    },
    /// The CPU throttled itself (thermal or power limit) while the case ran: the kernel's
    /// `thermal_throttle` counters under `/sys` grew between the case's start and end.
    Throttled {
        /// Throttle events counted during the case (core and package counters, all CPUs).
        events: u64,
    },
    /// The hypervisor ran other guests on this VM's CPUs while the case ran (`steal` in
    /// `/proc/stat`), so wall time includes time the benchmark could not run.
    CpuSteal {
        /// Stolen ticks over all ticks during the case (0–1).
        share: f64,
    },
    /// The CPU frequency governor favours saving power, so clock speed (and timing) varies
    /// with load.
    PowersaveGovernor {
        /// The governor named in `scaling_governor`.
        governor: String,
    },
    /// Imported from a harness that wrote only a summary of these metrics (a mean ± sd, a
    /// median): they have no samples and no interval, and comparisons do not judge them.
    SummaryOnly {
        /// The harness format (`libtest`, `hyperfine`, …).
        source: String,
        /// The metrics known only by their summary, each with the statistic kept (`wall
        /// (mean)`).
        metrics: Vec<String>,
    },
    /// Runs left processes behind outside their process group (a daemon that double-forked
    /// with `setsid`, a detached child), which perfwatch killed after each run. They may have
    /// competed with later runs for the machine.
    LeftoverProcesses {
        /// Processes killed, summed over the case's runs.
        killed: u32,
    },
    /// The bench asked for GPU sampling (`enabled = "auto"`) but no GPU could be read, so
    /// the case has no GPU metrics.
    NoGpu {
        /// Why (no NVML library, no device, driver not loaded, …).
        reason: String,
    },
    /// Reading the GPU failed during some runs; the GPU metrics rest on the samples before
    /// and after the failures (the runs themselves are kept).
    GpuSamplingFailed {
        /// Failed reads, summed over the case's runs.
        errors: u32,
        /// The first failure.
        message: String,
    },
    /// `[bench.instr]` asked for instruction counts, but the run under Valgrind gave none (no
    /// Valgrind, the command failed under it, or its output could not be read).
    NoInstructionCounts {
        /// Why.
        reason: String,
    },
    /// The GPU lowered its clocks (power cap, thermal or hardware slowdown) during the case.
    GpuThrottled {
        /// NVML's throttle reasons seen (`sw_power_cap`, `hw_thermal_slowdown`, …).
        reasons: Vec<String>,
    },
}

impl Caveat {
    /// True for caveats that say the machine itself was unhealthy during the case
    /// (throttling, CPU steal), which makes a comparison across it unreliable.
    pub fn is_host_health(&self) -> bool {
        matches!(self, Caveat::Throttled { .. } | Caveat::CpuSteal { .. } | Caveat::GpuThrottled { .. })
    }
}

impl fmt::Display for Caveat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Caveat::FewRuns { runs, half_width: None } => {
                write!(f, "only {runs} runs: too few for a 95% confidence interval of the median")
            }
            Caveat::FewRuns { runs, half_width: Some(h) } => write!(
                f,
                "only {runs} runs: the median's 95% interval (±{:.1}%) rests on the runs next to the extremes, \
                 so one unusual run moves it",
                h * 100.0
            ),
            Caveat::HighNoise { cv } => write!(
                f,
                "high noise: run-to-run spread is {:.1}% of the median; changes smaller than that are hard to see",
                cv * 100.0
            ),
            Caveat::Outliers { count, of } => {
                write!(
                    f,
                    "{count} of {of} runs are outliers (kept, not dropped); the machine may have been busy"
                )
            }
            Caveat::LeftoverProcesses { killed } => write!(
                f,
                "runs left {killed} process{} running outside their process group (a daemon or detached \
                 child); perfwatch killed {} after each run",
                if *killed == 1 { "" } else { "es" },
                if *killed == 1 { "it" } else { "them" }
            ),
            Caveat::SlowFirstRun { ratio } => {
                write!(f, "the first run took {ratio:.1}x the median: caches were cold; raise `warmup`")
            }
            Caveat::PrecisionNotReached { achieved, target } => write!(
                f,
                "stopped at the run/time limit with ±{:.1}% precision (asked for ±{:.1}%)",
                achieved * 100.0,
                target * 100.0
            ),
            Caveat::VeryShort { median_s } => write!(
                f,
                "runs take only {:.2} ms: process start-up is a large part of what is measured",
                median_s * 1e3
            ),
            Caveat::HighLoad { load, cores } => {
                write!(f, "machine busy at start: load {load:.2} on {cores} cores")
            }
            Caveat::Throttled { events } => {
                write!(
                    f,
                    "the CPU throttled {events} times during the case: clock speed dropped; times are inflated"
                )
            }
            Caveat::CpuSteal { share } => write!(
                f,
                "the hypervisor stole {:.1}% of CPU time during the case (VM steal): times are inflated",
                share * 100.0
            ),
            Caveat::SummaryOnly { source, metrics } => write!(
                f,
                "summary-only: {source} wrote only a summary of {}; no samples, no interval, not judged by compare",
                metrics.join(", ")
            ),
            Caveat::NoGpu { reason } => write!(f, "no GPU metrics: {reason}"),
            Caveat::GpuSamplingFailed { errors, message } => write!(
                f,
                "reading the GPU failed {errors} time{} ({message}); GPU metrics rest on the other samples",
                if *errors == 1 { "" } else { "s" }
            ),
            Caveat::NoInstructionCounts { reason } => write!(f, "no instruction counts: {reason}"),
            Caveat::GpuThrottled { reasons } => write!(
                f,
                "the GPU lowered its clocks during the case ({}): times and energy are affected",
                reasons.join(", ")
            ),
            Caveat::PowersaveGovernor { governor } => write!(
                f,
                "CPU frequency governor is `{governor}`: clock speed varies; use `performance` for stable timings"
            ),
        }
    }
}

//! Metrics: a name, a unit and a direction.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Which direction of change is good for a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Better {
    /// Smaller is better (times, memory).
    Lower,
    /// Larger is better (throughput, hit rates).
    Higher,
}

impl Better {
    /// The lowercase name used in files and output (`lower` / `higher`).
    pub fn as_str(self) -> &'static str {
        match self {
            Better::Lower => "lower",
            Better::Higher => "higher",
        }
    }
}

/// Unit and direction of one metric.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MetricInfo {
    /// Unit in SI base units where one applies (`s`, `bytes`, `1/s`), otherwise free text.
    pub unit: String,
    /// Which direction is an improvement.
    pub better: Better,
}

impl MetricInfo {
    /// Builds a metric description.
    pub fn new(unit: impl Into<String>, better: Better) -> Self {
        MetricInfo { unit: unit.into(), better }
    }
}

/// Wall-clock time of one run, seconds.
pub const WALL: &str = "wall";
/// User CPU time of the run's process tree, seconds.
pub const USER: &str = "user";
/// System CPU time of the run's process tree, seconds.
pub const SYS: &str = "sys";
/// User + system CPU time, seconds.
pub const CPU: &str = "cpu";
/// Peak resident memory of the run's process tree, bytes.
pub const MAX_RSS: &str = "max_rss";
/// Items per second, when the bench declares `throughput`.
pub const THROUGHPUT: &str = "throughput";

/// Peak GPU memory used by the run's own processes (summed over them and over devices),
/// bytes; with `[bench.gpu]`.
pub const GPU_MEM_PEAK: &str = "gpu_mem_peak";
/// Peak GPU memory used on the devices by anyone while the run ran, bytes.
pub const GPU_MEM_DEVICE_PEAK: &str = "gpu_mem_device_peak";
/// Time-weighted mean GPU utilisation during the run (0–1, averaged over devices).
pub const GPU_UTIL: &str = "gpu_util";
/// Energy the GPUs drew during the run, joules.
pub const GPU_ENERGY: &str = "gpu_energy";
/// Time-weighted mean SM clock during the run (the lowest device), MHz.
pub const GPU_SM_CLOCK: &str = "gpu_sm_clock";

/// Instructions executed by the run's processes, counted under Valgrind (`[bench.instr]`).
pub const INSTRUCTIONS: &str = "instructions";
/// Cycles estimated from the instructions and the simulated cache misses (`[bench.instr]`).
pub const EST_CYCLES: &str = "est_cycles";
/// First-level cache misses (instruction and data) in Valgrind's fixed cache model.
pub const L1_MISSES: &str = "l1_misses";
/// Last-level cache misses (instruction and data) in Valgrind's fixed cache model.
pub const LL_MISSES: &str = "ll_misses";

/// The metrics of `[bench.instr]`: deterministic for a deterministic program, so that a
/// repeated value is the same value and a comparison needs no confidence interval.
pub const INSTR_METRICS: [&str; 4] = [INSTRUCTIONS, EST_CYCLES, L1_MISSES, LL_MISSES];

/// The threshold of the [`INSTR_METRICS`] unless the suite sets one for the metric: a
/// count that does not move with the machine shows a 0.5 % change for what it is.
pub const INSTR_THRESHOLD: f64 = 0.005;

/// Names of the metrics perfwatch measures itself, in display order.
pub const BUILTIN_ORDER: [&str; 15] = [
    WALL,
    USER,
    SYS,
    CPU,
    MAX_RSS,
    THROUGHPUT,
    GPU_MEM_PEAK,
    GPU_MEM_DEVICE_PEAK,
    GPU_UTIL,
    GPU_ENERGY,
    GPU_SM_CLOCK,
    INSTRUCTIONS,
    EST_CYCLES,
    L1_MISSES,
    LL_MISSES,
];

/// Unit and direction of a built-in metric, or `None` for a custom one.
pub fn builtin_metric(name: &str) -> Option<MetricInfo> {
    match name {
        WALL | USER | SYS | CPU => Some(MetricInfo::new("s", Better::Lower)),
        MAX_RSS => Some(MetricInfo::new("bytes", Better::Lower)),
        THROUGHPUT => Some(MetricInfo::new("1/s", Better::Higher)),
        GPU_MEM_PEAK | GPU_MEM_DEVICE_PEAK => Some(MetricInfo::new("bytes", Better::Lower)),
        // Busier is not better in itself, but for the same work a higher share of the GPU
        // means less time lost around it (transfers, launches, the CPU side).
        GPU_UTIL => Some(MetricInfo::new("ratio", Better::Higher)),
        GPU_ENERGY => Some(MetricInfo::new("J", Better::Lower)),
        GPU_SM_CLOCK => Some(MetricInfo::new("MHz", Better::Higher)),
        INSTRUCTIONS | L1_MISSES | LL_MISSES => Some(MetricInfo::new("count", Better::Lower)),
        EST_CYCLES => Some(MetricInfo::new("cycles", Better::Lower)),
        _ => None,
    }
}

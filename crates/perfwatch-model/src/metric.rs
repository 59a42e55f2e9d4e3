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

/// Names of the metrics perfwatch measures itself, in display order.
pub const BUILTIN_ORDER: [&str; 6] = [WALL, USER, SYS, CPU, MAX_RSS, THROUGHPUT];

/// Unit and direction of a built-in metric, or `None` for a custom one.
pub fn builtin_metric(name: &str) -> Option<MetricInfo> {
    match name {
        WALL | USER | SYS | CPU => Some(MetricInfo::new("s", Better::Lower)),
        MAX_RSS => Some(MetricInfo::new("bytes", Better::Lower)),
        THROUGHPUT => Some(MetricInfo::new("1/s", Better::Higher)),
        _ => None,
    }
}

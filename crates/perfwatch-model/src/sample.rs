//! One measured execution of a case.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ExitKind {
    /// The process exited by itself with this status code.
    Exited {
        /// Exit status (0 = success).
        code: i32,
    },
    /// The process was killed by a signal it did not cause us to send.
    Signaled {
        /// Signal number.
        signal: i32,
    },
    /// The per-run timeout passed; perfwatch killed the process group.
    TimedOut,
    /// The command could not be started (not found, not executable, bad cwd…).
    SpawnFailed {
        /// The operating system's explanation.
        message: String,
    },
}

impl ExitKind {
    /// True for a clean exit with status 0.
    pub fn is_success(&self) -> bool {
        matches!(self, ExitKind::Exited { code: 0 })
    }
}

impl std::fmt::Display for ExitKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExitKind::Exited { code } => write!(f, "exited with status {code}"),
            ExitKind::Signaled { signal } => write!(f, "killed by signal {signal}"),
            ExitKind::TimedOut => f.write_str("timed out"),
            ExitKind::SpawnFailed { message } => write!(f, "could not be started: {message}"),
        }
    }
}

/// Measurements of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Sample {
    /// Wall-clock seconds from spawn to exit (monotonic clock).
    pub wall: f64,
    /// User CPU seconds of the process and the descendants it reaped.
    pub user: f64,
    /// System CPU seconds of the process and the descendants it reaped.
    pub sys: f64,
    /// Peak resident set size in bytes (largest single process of the tree).
    pub max_rss: u64,
    /// How the run ended.
    pub exit: ExitKind,
    /// Custom metrics reported through `perfwatch-metric` lines (last value wins).
    #[serde(default)]
    pub metrics: BTreeMap<String, f64>,
}

impl Sample {
    /// User + system CPU seconds.
    pub fn cpu(&self) -> f64 {
        self.user + self.sys
    }

    /// The value of a built-in or custom metric in SI units, if this sample has it.
    /// `throughput` needs the items per run, so it is derived by the caller.
    pub fn metric(&self, name: &str) -> Option<f64> {
        match name {
            crate::metric::WALL => Some(self.wall),
            crate::metric::USER => Some(self.user),
            crate::metric::SYS => Some(self.sys),
            crate::metric::CPU => Some(self.cpu()),
            crate::metric::MAX_RSS => Some(self.max_rss as f64),
            other => self.metrics.get(other).copied(),
        }
    }
}

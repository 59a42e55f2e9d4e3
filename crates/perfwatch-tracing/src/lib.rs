//! perfwatch-tracing: per-operation performance from inside a Rust program, through
//! [`tracing`] spans.
//!
//! ```no_run
//! use tracing_subscriber::prelude::*;
//!
//! #[global_allocator]
//! static ALLOC: perfwatch_tracing::CountingAlloc = perfwatch_tracing::CountingAlloc::system();
//!
//! let (layer, handle) = perfwatch_tracing::PerfLayer::builder().build();
//! tracing_subscriber::registry().with(layer).init();
//! let _flush = handle.flush_on_drop(); // table on stderr, metric lines under perfwatch
//! let _span = tracing::info_span!("parse").entered();
//! ```
//!
//! Per operation (a span name, or the value of a chosen field such as `route`): count,
//! wall/busy/idle time with p50/p95/p99/max from HDR histograms, allocations per call
//! (inclusive and self, with [`CountingAlloc`]), slow-operation events at WARN/ERROR, and
//! the slowest occurrences with their fields. Memory is fixed per operation name; nothing is
//! kept per call. Under `perfwatch run` the figures become custom metrics
//! (`op.<name>.p95`, …) through `PERFWATCH_METRICS_FILE`.

pub mod alloc;
mod layer;
mod report;
mod stats;

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use alloc::CountingAlloc;
pub use layer::{PerfLayer, Thresholds};
pub use report::{Allocations, Occurrence, Operation, SUMMARY_VERSION, Summary, Times, metric_name};

use layer::{Config, Shared};

/// The variable perfwatch sets for each benchmark run: metric lines are appended there.
pub const METRICS_FILE_ENV: &str = "PERFWATCH_METRICS_FILE";

/// Builds a [`PerfLayer`] and its [`PerfHandle`].
#[derive(Debug, Clone)]
pub struct PerfLayerBuilder {
    config: Config,
    table: bool,
    json: Option<PathBuf>,
    metric_spans: Vec<String>,
}

impl PerfLayer {
    /// Defaults: group by span name, slow at 1 s (WARN) and 5 s (ERROR), keep the 5 slowest
    /// occurrences, print the table on flush, metric lines for every operation.
    pub fn builder() -> PerfLayerBuilder {
        PerfLayerBuilder {
            config: Config {
                group_by: None,
                thresholds: Thresholds::default(),
                overrides: HashMap::new(),
                top_k: 5,
            },
            table: true,
            json: None,
            metric_spans: Vec::new(),
        }
    }
}

impl PerfLayerBuilder {
    /// Group spans by the value of this field where they have it (e.g. `route`), by name
    /// elsewhere.
    pub fn group_by(mut self, field: &'static str) -> Self {
        self.config.group_by = Some(field);
        self
    }

    /// Slow-operation thresholds for every operation.
    pub fn slow(mut self, warn: Option<Duration>, error: Option<Duration>) -> Self {
        self.config.thresholds = Thresholds { warn, error };
        self
    }

    /// Slow-operation thresholds for one operation name.
    pub fn slow_for(
        mut self,
        name: impl Into<String>,
        warn: Option<Duration>,
        error: Option<Duration>,
    ) -> Self {
        self.config.overrides.insert(name.into(), Thresholds { warn, error });
        self
    }

    /// How many of the slowest occurrences to keep per operation.
    pub fn top_k(mut self, k: usize) -> Self {
        self.config.top_k = k;
        self
    }

    /// Print the table on stderr when flushing (default: yes).
    pub fn table(mut self, print: bool) -> Self {
        self.table = print;
        self
    }

    /// Also write the [`Summary`] as JSON to `path` when flushing.
    pub fn json(mut self, path: impl Into<PathBuf>) -> Self {
        self.json = Some(path.into());
        self
    }

    /// Report only these operations as perfwatch metrics (default: all).
    pub fn metric_spans<I: IntoIterator<Item = S>, S: Into<String>>(mut self, names: I) -> Self {
        self.metric_spans = names.into_iter().map(Into::into).collect();
        self
    }

    /// The layer to add to a subscriber, and the handle that reads and flushes it.
    pub fn build(self) -> (PerfLayer, PerfHandle) {
        let shared = Arc::new(Shared::new(self.config));
        let handle = PerfHandle {
            shared: Arc::clone(&shared),
            table: self.table,
            json: self.json,
            metric_spans: self.metric_spans,
        };
        (PerfLayer { shared }, handle)
    }
}

/// Reads a layer's statistics and writes its reports.
#[derive(Debug, Clone)]
pub struct PerfHandle {
    shared: Arc<Shared>,
    table: bool,
    json: Option<PathBuf>,
    metric_spans: Vec<String>,
}

impl PerfHandle {
    /// Everything recorded so far (spans still open are not included).
    pub fn summary(&self) -> Summary {
        self.shared.with_stats(|ops| report::summarize(ops, alloc::is_counting()))
    }

    /// Writes the reports: the table on stderr (if enabled), the JSON file (if set) and,
    /// when `PERFWATCH_METRICS_FILE` is set (under `perfwatch run`), the metric lines.
    pub fn flush(&self) -> std::io::Result<Summary> {
        let summary = self.summary();
        if self.table {
            eprint!("{}", summary.table());
        }
        if let Some(path) = &self.json {
            let text = serde_json::to_string_pretty(&summary).map_err(std::io::Error::other)?;
            std::fs::write(path, text + "\n")?;
        }
        if let Some(path) = std::env::var_os(METRICS_FILE_ENV) {
            let mut text = summary.metric_lines(&self.metric_spans).join("\n");
            text.push('\n');
            // One write of the whole block on an append handle: nothing interleaves with
            // other writers' lines.
            std::fs::OpenOptions::new().append(true).create(true).open(path)?.write_all(text.as_bytes())?;
        }
        Ok(summary)
    }

    /// A guard that calls [`PerfHandle::flush`] when dropped (errors go to stderr).
    pub fn flush_on_drop(&self) -> FlushGuard {
        FlushGuard(self.clone())
    }
}

/// Flushes its handle when dropped; see [`PerfHandle::flush_on_drop`].
#[derive(Debug)]
pub struct FlushGuard(PerfHandle);

impl Drop for FlushGuard {
    fn drop(&mut self) {
        if let Err(e) = self.0.flush() {
            eprintln!("perfwatch-tracing: cannot write the report: {e}");
        }
    }
}

//! What the layer reports: a [`Summary`] document (JSON, schema in
//! `schemas/tracing-summary.schema.json`), a table for people and `perfwatch-metric` lines.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Version of the [`Summary`] document.
pub const SUMMARY_VERSION: u32 = 1;

/// Every operation seen, slowest total first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    /// Always [`SUMMARY_VERSION`].
    pub schema_version: u32,
    /// Whether allocations were counted (a [`crate::CountingAlloc`] is the global allocator).
    pub allocations_counted: bool,
    /// One entry per operation name, by total wall time, largest first.
    pub operations: Vec<Operation>,
}

/// One operation: the spans of one callsite name (or grouping field value).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Operation {
    /// The span name, or the value of the grouping field.
    pub name: String,
    /// Spans closed.
    pub count: u64,
    /// From creation to close, seconds.
    pub wall: Times,
    /// While entered (running), seconds.
    pub busy: Times,
    /// Wall minus busy over all spans (waiting between polls, or held open), seconds.
    pub idle_total_s: f64,
    /// Allocations per span, when counted.
    pub allocations: Option<Allocations>,
    /// Spans that passed the WARN threshold (but not ERROR).
    pub slow_warn: u64,
    /// Spans that passed the ERROR threshold.
    pub slow_error: u64,
    /// The slowest spans, slowest first, with their fields.
    pub slowest: Vec<Occurrence>,
}

/// Time statistics of an operation, seconds. Percentiles come from an HDR histogram with
/// two significant figures (≤ 1 % relative error); totals are exact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Times {
    /// Sum over all spans.
    pub total: f64,
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
}

/// Allocations of an operation's spans while entered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Allocations {
    /// All allocations, children's included.
    pub total: u64,
    /// Bytes requested, children's included.
    pub total_bytes: u64,
    /// Allocations made by the span itself, not by its child spans.
    pub self_total: u64,
    /// Bytes requested by the span itself.
    pub self_bytes: u64,
    /// `total / count`.
    pub per_call: f64,
    /// `total_bytes / count`.
    pub bytes_per_call: f64,
}

/// One slow span.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Occurrence {
    /// Its wall time, seconds.
    pub wall_s: f64,
    /// Its fields as `key=value` pairs.
    pub fields: Option<String>,
}

/// Builds the summary from the merged statistics.
pub(crate) fn summarize(ops: &crate::layer::OpMap, counted: bool) -> Summary {
    let mut operations: Vec<Operation> = ops
        .iter()
        .filter(|(_, s)| s.count > 0)
        .map(|(name, s)| {
            let times = |h: &hdrhistogram::Histogram<u32>, total: u128| Times {
                total: total as f64 / 1e9,
                mean: total as f64 / 1e9 / s.count as f64,
                p50: h.value_at_quantile(0.50) as f64 / 1e9,
                p95: h.value_at_quantile(0.95) as f64 / 1e9,
                p99: h.value_at_quantile(0.99) as f64 / 1e9,
                max: h.max() as f64 / 1e9,
            };
            Operation {
                name: name.to_string(),
                count: s.count,
                wall: times(&s.wall, s.wall_total_ns),
                busy: times(&s.busy, s.busy_total_ns),
                idle_total_s: s.wall_total_ns.saturating_sub(s.busy_total_ns) as f64 / 1e9,
                allocations: counted.then(|| Allocations {
                    total: s.allocs,
                    total_bytes: s.bytes,
                    self_total: s.self_allocs,
                    self_bytes: s.self_bytes,
                    per_call: s.allocs as f64 / s.count as f64,
                    bytes_per_call: s.bytes as f64 / s.count as f64,
                }),
                slow_warn: s.slow_warn,
                slow_error: s.slow_error,
                slowest: s
                    .slowest
                    .iter()
                    .map(|(w, f)| Occurrence {
                        wall_s: *w as f64 / 1e9,
                        fields: f.as_deref().map(str::to_string),
                    })
                    .collect(),
            }
        })
        .collect();
    operations.sort_by(|a, b| b.wall.total.total_cmp(&a.wall.total).then_with(|| a.name.cmp(&b.name)));
    Summary { schema_version: SUMMARY_VERSION, allocations_counted: counted, operations }
}

impl Summary {
    /// A plain-text table, slowest total first: the bottlenecks on top.
    pub fn table(&self) -> String {
        let mut out = format!(
            "{:<32} {:>9} {:>10} {:>10} {:>10} {:>10} {:>6} {:>11} {:>6}\n",
            "operation", "count", "total", "p50", "p95", "p99", "busy", "allocs/call", "slow"
        );
        for op in &self.operations {
            let busy = if op.wall.total > 0.0 { op.busy.total / op.wall.total * 100.0 } else { 0.0 };
            let allocs = op.allocations.as_ref().map_or("-".to_string(), |a| format!("{:.1}", a.per_call));
            out += &format!(
                "{:<32} {:>9} {:>10} {:>10} {:>10} {:>10} {:>5.0}% {:>11} {:>6}\n",
                truncate(&op.name, 32),
                op.count,
                secs(op.wall.total),
                secs(op.wall.p50),
                secs(op.wall.p95),
                secs(op.wall.p99),
                busy,
                allocs,
                op.slow_warn + op.slow_error
            );
        }
        out
    }

    /// `perfwatch-metric` lines for the operations named in `only` (all when empty):
    /// `op.<name>.{p50,p95,p99,mean}` (s), `op.<name>.count`, `op.<name>.slow_count`, and with
    /// allocations `op.<name>.allocs_per_call` and `op.<name>.bytes_per_call`, all lower is
    /// better. Names are reduced to the characters metric names allow.
    pub fn metric_lines(&self, only: &[String]) -> Vec<String> {
        let mut lines = Vec::new();
        for op in self.operations.iter().filter(|o| only.is_empty() || only.contains(&o.name)) {
            let name = metric_name(&op.name);
            let mut line = |stat: &str, value: f64, unit: &str| {
                lines.push(format!(
                    "perfwatch-metric name=op.{name}.{stat} value={value} unit={unit} better=lower"
                ));
            };
            line("p50", op.wall.p50, "s");
            line("p95", op.wall.p95, "s");
            line("p99", op.wall.p99, "s");
            line("mean", op.wall.mean, "s");
            line("count", op.count as f64, "count");
            line("slow_count", (op.slow_warn + op.slow_error) as f64, "count");
            if let Some(a) = &op.allocations {
                line("allocs_per_call", a.per_call, "count");
                line("bytes_per_call", a.bytes_per_call, "bytes");
            }
        }
        lines
    }
}

/// `name` with every character a metric name cannot hold replaced by `_`.
pub fn metric_name(name: &str) -> String {
    let cleaned: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || "_.-/".contains(c) { c } else { '_' }).collect();
    if cleaned.is_empty() { "_".to_string() } else { cleaned }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n { s.to_string() } else { s.chars().take(n - 1).chain(['…']).collect() }
}

fn secs(s: f64) -> String {
    match s {
        s if s >= 1.0 => format!("{s:.2} s"),
        s if s >= 1e-3 => format!("{:.2} ms", s * 1e3),
        s => format!("{:.1} µs", s * 1e6),
    }
}

//! One million spans over 100 operation names through the layer, then the process's peak
//! memory and the time per span: the layer keeps fixed memory per name, nothing per call.
//!
//! ```text
//! cargo run --release -p perfwatch-tracing --example million_spans [-- SPANS NAMES]
//! ```

use std::time::Instant;

use perfwatch_tracing::{CountingAlloc, PerfLayer};
use tracing::Dispatch;
use tracing_subscriber::prelude::*;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::system();

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap_or("VmHWM: 0 kB");
    line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).unwrap_or(0)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let spans: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let names: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100);
    let leaked: Vec<&'static str> =
        (0..names).map(|i| &*Box::leak(format!("op{i}").into_boxed_str())).collect();
    let before = peak_rss_kib();
    let (layer, handle) = PerfLayer::builder().group_by("op").table(false).build();
    let dispatch = Dispatch::new(tracing_subscriber::registry().with(layer));
    let start = Instant::now();
    tracing::dispatcher::with_default(&dispatch, || {
        for i in 0..spans {
            let op = leaked[(i % names as u64) as usize];
            tracing::info_span!("work", op).in_scope(|| std::hint::black_box(i));
        }
    });
    let elapsed = start.elapsed();
    let summary = handle.summary();
    let after = peak_rss_kib();
    let counted: u64 = summary.operations.iter().map(|o| o.count).sum();
    println!(
        "{spans} spans over {} names: {counted} counted, {:.0} ns per span, peak RSS {} KiB before the layer, {} KiB after ({:.2} MiB added)",
        summary.operations.len(),
        elapsed.as_nanos() as f64 / spans as f64,
        before,
        after,
        after.saturating_sub(before) as f64 / 1024.0
    );
}

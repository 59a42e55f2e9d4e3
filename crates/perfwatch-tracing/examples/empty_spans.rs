//! Empty spans in a loop under the layer (for profiling the hot path, e.g. with callgrind).
//!
//! ```text
//! cargo run --release -p perfwatch-tracing --example empty_spans [-- SPANS]
//! ```

use perfwatch_tracing::PerfLayer;
use tracing::Dispatch;
use tracing_subscriber::prelude::*;

fn main() {
    let spans: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let (layer, handle) = PerfLayer::builder().table(false).build();
    let dispatch = Dispatch::new(tracing_subscriber::registry().with(layer));
    tracing::dispatcher::with_default(&dispatch, || {
        for i in 0..spans {
            tracing::info_span!("op").in_scope(|| std::hint::black_box(i));
        }
    });
    println!("{} spans", handle.summary().operations[0].count);
}

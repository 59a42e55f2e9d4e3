//! Cost of one empty span (new + enter + exit + close) under perfwatch's layer, against the
//! bare registry, the fmt layer writing to a sink, and the floor of any layer that times spans
//! through the registry's extensions (an `Instant` stored when the span opens and read when it
//! closes: two lookups, one boxed insert, two clock reads), in one process; and what counting
//! adds to one allocation.
//!
//! ```text
//! cargo bench -p perfwatch-tracing --bench span_cost
//! ```

// criterion's macros define undocumented functions; a bench has no public API.
#![allow(missing_docs)]

use std::alloc::{GlobalAlloc, Layout, System};

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use perfwatch_tracing::{CountingAlloc, PerfLayer};
use tracing::Dispatch;
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::layer::Context;
use tracing_subscriber::prelude::*;

fn span_once() {
    tracing::info_span!("op").in_scope(|| black_box(()));
}

fn bench_spans(c: &mut Criterion) {
    let mut group = c.benchmark_group("empty span");
    let (perf, _handle) = PerfLayer::builder().table(false).build();
    let subscribers = [
        ("registry", Dispatch::new(tracing_subscriber::registry())),
        (
            "registry + fmt (sink)",
            Dispatch::new(tracing_subscriber::registry().with(fmt_layer(FmtSpan::NONE))),
        ),
        (
            "registry + fmt (sink, close events)",
            Dispatch::new(tracing_subscriber::registry().with(fmt_layer(FmtSpan::CLOSE))),
        ),
        ("registry + perfwatch", Dispatch::new(tracing_subscriber::registry().with(perf))),
        (
            "registry + Instant in extensions (floor)",
            Dispatch::new(tracing_subscriber::registry().with(Floor)),
        ),
    ];
    for (name, dispatch) in subscribers {
        tracing::dispatcher::with_default(&dispatch, || group.bench_function(name, |b| b.iter(span_once)));
    }
    group.finish();
}

fn fmt_layer<S>(spans: FmtSpan) -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    tracing_subscriber::fmt::layer().with_writer(std::io::sink).with_span_events(spans)
}

/// The least a span-timing layer on the registry does: store the opening time in the span's
/// extensions, take it out at close.
struct Floor;

impl<S> tracing_subscriber::Layer<S> for Floor
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_new_span(&self, _: &tracing::span::Attributes<'_>, id: &tracing::Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(std::time::Instant::now());
        }
    }

    fn on_close(&self, id: tracing::Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(&id) {
            black_box(span.extensions_mut().remove::<std::time::Instant>().map(|t| t.elapsed()));
        }
    }
}

fn bench_alloc(c: &mut Criterion) {
    let mut group = c.benchmark_group("malloc + free of 64 bytes");
    let layout = Layout::from_size_align(64, 8).unwrap();
    let counting = CountingAlloc::system();
    // SAFETY: every pointer is freed with the allocator and layout it came from.
    group.bench_function("System", |b| {
        b.iter(|| unsafe { System.dealloc(black_box(System.alloc(layout)), layout) })
    });
    group.bench_function("CountingAlloc", |b| {
        // SAFETY: as above.
        b.iter(|| unsafe { counting.dealloc(black_box(counting.alloc(layout)), layout) })
    });
    group.finish();
}

criterion_group!(benches, bench_spans, bench_alloc);
criterion_main!(benches);

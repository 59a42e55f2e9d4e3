//! The layer on real spans, with the counting allocator installed in this test binary.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use perfwatch_tracing::{CountingAlloc, PerfHandle, PerfLayer, Summary};
use tracing::{Dispatch, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::prelude::*;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::system();

/// Counts the slow-operation events by level.
#[derive(Clone, Default)]
struct SlowEvents(Arc<Mutex<Vec<(Level, String)>>>);

impl<S: Subscriber> Layer<S> for SlowEvents {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() == "perfwatch::slow" {
            let mut text = String::new();
            event.record(&mut |f: &tracing::field::Field, v: &dyn std::fmt::Debug| {
                text += &format!("{}={v:?} ", f.name());
            });
            self.0.lock().unwrap().push((*event.metadata().level(), text));
        }
    }
}

fn dispatch(builder: perfwatch_tracing::PerfLayerBuilder) -> (Dispatch, PerfHandle, SlowEvents) {
    let (layer, handle) = builder.table(false).build();
    let events = SlowEvents::default();
    let subscriber = tracing_subscriber::registry().with(layer).with(events.clone());
    (Dispatch::new(subscriber), handle, events)
}

fn op<'a>(summary: &'a Summary, name: &str) -> &'a perfwatch_tracing::Operation {
    summary.operations.iter().find(|o| o.name == name).unwrap_or_else(|| panic!("no {name} in {summary:#?}"))
}

#[test]
fn a_span_held_open_but_not_entered_is_idle_not_busy() {
    let (d, handle, _) = dispatch(PerfLayer::builder());
    tracing::dispatcher::with_default(&d, || {
        let span = tracing::info_span!("held");
        std::thread::sleep(Duration::from_millis(20));
        span.in_scope(|| {});
    });
    let s = handle.summary();
    let held = op(&s, "held");
    assert_eq!(held.count, 1);
    assert!(held.idle_total_s >= 0.020, "{held:#?}");
    assert!(held.busy.total < 0.002, "{held:#?}");
    assert!(held.wall.total >= 0.020 && held.wall.total < 0.5, "{held:#?}");
}

#[test]
fn a_span_entered_per_poll_counts_only_the_polls_as_busy() {
    let (d, handle, _) = dispatch(PerfLayer::builder());
    tracing::dispatcher::with_default(&d, || {
        // What an instrumented future does: entered while polled, left while it waits.
        let span = tracing::info_span!("request");
        span.in_scope(|| std::thread::sleep(Duration::from_millis(10)));
        std::thread::sleep(Duration::from_millis(30));
        span.in_scope(|| std::thread::sleep(Duration::from_millis(10)));
    });
    let s = handle.summary();
    let r = op(&s, "request");
    // Lower bounds are exact (sleeps never end early); the upper ones only say that the
    // 30 ms between polls is not counted as busy, with room for a loaded machine.
    assert!(r.busy.total >= 0.020 && r.busy.total < 0.045, "{r:#?}");
    assert!(r.idle_total_s >= 0.030, "{r:#?}");
    assert!((r.busy.total + r.idle_total_s - r.wall.total).abs() < 1e-6, "{r:#?}");
}

/// A future that is pending `polls - 1` times, sleeping `work` while polled (busy), then
/// ready: what an async request does between its awaits.
struct Polls {
    left: u32,
    work: Duration,
}

impl std::future::Future for Polls {
    type Output = ();
    fn poll(mut self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        std::thread::sleep(self.work);
        self.left -= 1;
        if self.left == 0 { std::task::Poll::Ready(()) } else { std::task::Poll::Pending }
    }
}

#[test]
fn an_instrumented_future_is_busy_while_polled_and_idle_between_polls() {
    use tracing::Instrument;
    let (d, handle, _) = dispatch(PerfLayer::builder());
    tracing::dispatcher::with_default(&d, || {
        let mut fut = Box::pin(
            Polls { left: 3, work: Duration::from_millis(5) }.instrument(tracing::info_span!("fetch")),
        );
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        // Three polls, 10 ms apart: the executor is elsewhere while the future waits.
        while fut.as_mut().poll(&mut cx).is_pending() {
            std::thread::sleep(Duration::from_millis(10));
        }
    });
    let s = handle.summary();
    let f = op(&s, "fetch");
    assert_eq!(f.count, 1);
    // As above: exact lower bounds, and busy well short of busy + the 20 ms of waiting.
    assert!(f.busy.total >= 0.015 && f.busy.total < 0.033, "{f:#?}");
    assert!(f.idle_total_s >= 0.020, "{f:#?}");
}

fn allocate(n: usize) {
    for i in 0..n {
        std::hint::black_box(Box::new(i as u64));
    }
}

fn parent_with_two_children() {
    let parent = tracing::info_span!("parent");
    let _p = parent.enter();
    for _ in 0..2 {
        tracing::info_span!("child").in_scope(|| allocate(300));
    }
}

#[test]
fn allocations_are_charged_inclusive_and_self_exactly() {
    // Callsite registration and the registry's first slab pages allocate once per process:
    // a first pass under a throwaway layer takes them.
    let (warm, _, _) = dispatch(PerfLayer::builder());
    tracing::dispatcher::with_default(&warm, parent_with_two_children);
    let (d, handle, _) = dispatch(PerfLayer::builder());
    tracing::dispatcher::with_default(&d, parent_with_two_children);
    let s = handle.summary();
    assert!(s.allocations_counted);
    let parent = op(&s, "parent").allocations.clone().unwrap();
    let child = op(&s, "child").allocations.clone().unwrap();
    assert_eq!((parent.total, parent.self_total), (600, 0), "{s:#?}");
    assert_eq!((child.total, child.self_total, child.per_call), (600, 600, 300.0), "{s:#?}");
    assert_eq!(parent.total_bytes, 600 * 8);
}

#[test]
fn a_slow_operation_fires_exactly_one_warn_and_no_error() {
    let (d, handle, events) = dispatch(PerfLayer::builder());
    tracing::dispatcher::with_default(&d, || {
        tracing::info_span!("slow", user = "ada")
            .in_scope(|| std::thread::sleep(Duration::from_millis(1200)));
        tracing::info_span!("fast").in_scope(|| {});
    });
    let seen = events.0.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].0, Level::WARN);
    assert!(
        seen[0].1.contains("operation=\"slow\"") && seen[0].1.contains("fields=\"user=ada\""),
        "{seen:?}"
    );
    let s = handle.summary();
    let slow = op(&s, "slow");
    assert_eq!((slow.slow_warn, slow.slow_error), (1, 0));
    assert_eq!(slow.slowest[0].fields.as_deref(), Some("user=ada"));
}

#[test]
fn per_name_thresholds_turn_a_warn_into_an_error() {
    let ms = Duration::from_millis;
    let builder = PerfLayer::builder().slow_for("db", Some(ms(5)), Some(ms(20)));
    let (d, handle, events) = dispatch(builder);
    tracing::dispatcher::with_default(&d, || {
        tracing::info_span!("db").in_scope(|| std::thread::sleep(ms(25)));
        tracing::info_span!("db").in_scope(|| std::thread::sleep(ms(8)));
        tracing::info_span!("other").in_scope(|| std::thread::sleep(ms(25)));
    });
    let levels: Vec<Level> = events.0.lock().unwrap().iter().map(|e| e.0).collect();
    assert_eq!(levels, [Level::ERROR, Level::WARN]);
    let s = handle.summary();
    assert_eq!((op(&s, "db").slow_warn, op(&s, "db").slow_error), (1, 1));
    assert_eq!(op(&s, "other").slow_warn + op(&s, "other").slow_error, 0);
}

#[test]
fn ten_threads_closing_ten_thousand_spans_each_lose_no_count() {
    let (d, handle, _) = dispatch(PerfLayer::builder());
    let started = Arc::new(AtomicU64::new(0));
    std::thread::scope(|scope| {
        for t in 0..10 {
            let (d, started) = (d.clone(), Arc::clone(&started));
            scope.spawn(move || {
                tracing::dispatcher::with_default(&d, || {
                    for i in 0..10_000 {
                        let name_span = if (t + i) % 2 == 0 {
                            tracing::info_span!("even")
                        } else {
                            tracing::info_span!("odd")
                        };
                        name_span.in_scope(|| started.fetch_add(1, Ordering::Relaxed));
                    }
                });
            });
        }
    });
    let s = handle.summary();
    assert_eq!(started.load(Ordering::Relaxed), 100_000);
    assert_eq!(op(&s, "even").count + op(&s, "odd").count, 100_000, "{s:#?}");
    assert_eq!(op(&s, "even").count, 50_000);
}

#[test]
fn spans_group_by_a_field_when_asked_and_report_metric_lines() {
    let (d, handle, _) = dispatch(PerfLayer::builder().group_by("route"));
    tracing::dispatcher::with_default(&d, || {
        for route in ["/users/:id", "/users/:id", "/health"] {
            tracing::info_span!("request", route).in_scope(|| {});
        }
        tracing::info_span!("startup").in_scope(|| {});
    });
    let s = handle.summary();
    assert_eq!(op(&s, "/users/:id").count, 2);
    assert_eq!(op(&s, "/health").count, 1);
    assert_eq!(op(&s, "startup").count, 1);
    let lines = s.metric_lines(&["/users/:id".to_string()]);
    assert!(
        lines.iter().any(|l| l.starts_with("perfwatch-metric name=op./users/_id.p95 value=")),
        "{lines:#?}"
    );
    assert!(lines.iter().all(|l| l.contains("/users/_id")), "only the chosen operation: {lines:#?}");
    assert!(lines.iter().any(|l| l.starts_with("perfwatch-metric name=op./users/_id.allocs_per_call ")));
    // The summary round-trips through its JSON form.
    let json = serde_json::to_string(&s).unwrap();
    assert_eq!(serde_json::from_str::<Summary>(&json).unwrap(), s);
}

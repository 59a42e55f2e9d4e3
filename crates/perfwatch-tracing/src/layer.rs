//! The [`PerfLayer`]: times every span from creation to close (wall), while entered (busy)
//! and between entries (idle), charges it the allocations made while entered, and files the
//! result under the span's operation name.
//!
//! Hot path: a span's state lives in its registry extensions; a closed span is appended to
//! a buffer owned by the closing thread (its own, uncontended mutex) and the buffers are
//! merged into the shared statistics every [`FLUSH_EVERY`] spans and when a summary is
//! asked for. No global lock is taken per span.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tracing::span::{Attributes, Id, Record};
use tracing::{Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use crate::alloc::{Paused, is_counting, thread_counts};
use crate::stats::{Closed, OpStats, Slow};

/// Closed spans a thread buffers before merging them into the shared statistics.
const FLUSH_EVERY: usize = 256;

/// FNV-1a (Fowler, Noll, Vo; the 64-bit parameters of the IETF draft
/// draft-eastlake-fnv): operation names are short, trusted strings, for which it is several
/// times faster than std's DoS-resistant SipHash. Every merged span hashes its name once.
#[derive(Default)]
pub(crate) struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 { 0xcbf2_9ce4_8422_2325 } else { self.0 };
        for b in bytes {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

/// Statistics by operation name.
pub(crate) type OpMap = HashMap<Cow<'static, str>, OpStats, std::hash::BuildHasherDefault<Fnv>>;

/// Slow-operation thresholds: a span whose wall time reaches `warn` emits a WARN event,
/// `error` an ERROR event instead (`None`: never).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// WARN at or above this wall time.
    pub warn: Option<Duration>,
    /// ERROR at or above this wall time.
    pub error: Option<Duration>,
}

impl Default for Thresholds {
    /// 1 s → WARN, 5 s → ERROR, the thresholds the seed projects used.
    fn default() -> Self {
        Thresholds { warn: Some(Duration::from_secs(1)), error: Some(Duration::from_secs(5)) }
    }
}

/// Settings of a [`PerfLayer`]; see [`crate::PerfLayer::builder`].
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub group_by: Option<&'static str>,
    pub thresholds: Thresholds,
    pub overrides: HashMap<String, Thresholds>,
    pub top_k: usize,
}

/// State shared by a layer and its [`crate::PerfHandle`]s.
#[derive(Debug)]
pub(crate) struct Shared {
    id: u64,
    pub config: Config,
    ops: Mutex<OpMap>,
    buffers: Mutex<Vec<Buffer>>,
}

type Buffer = Arc<Mutex<Vec<(Cow<'static, str>, Closed)>>>;

thread_local! {
    /// This thread's buffer for each layer (by layer id); usually one.
    static BUFFERS: RefCell<Vec<(u64, Buffer)>> = const { RefCell::new(Vec::new()) };
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these leaves consistent counters: keep going.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    pub(crate) fn new(config: Config) -> Shared {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        Shared {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            config,
            ops: Mutex::new(OpMap::default()),
            buffers: Mutex::new(Vec::new()),
        }
    }

    /// Appends a closed span to this thread's buffer, merging it when full.
    fn push(&self, group: Cow<'static, str>, closed: Closed) {
        BUFFERS.with(|b| {
            let mut mine = b.borrow_mut();
            let at = match mine.iter().position(|(id, _)| *id == self.id) {
                Some(at) => at,
                None => {
                    let buf: Buffer = Arc::new(Mutex::new(Vec::with_capacity(FLUSH_EVERY)));
                    lock(&self.buffers).push(Arc::clone(&buf));
                    mine.push((self.id, buf));
                    mine.len() - 1
                }
            };
            // Only a summary on another thread ever contends for this lock.
            let mut pending = lock(&mine[at].1);
            pending.push((group, closed));
            if pending.len() >= FLUSH_EVERY {
                self.merge(&mut pending);
            }
        });
    }

    fn merge(&self, pending: &mut Vec<(Cow<'static, str>, Closed)>) {
        let mut ops = lock(&self.ops);
        let mut spans = pending.drain(..).peekable();
        while let Some((group, closed)) = spans.next() {
            let stats = match ops.get_mut(group.as_ref()) {
                Some(stats) => stats,
                None => ops.entry(group.clone()).or_insert_with(OpStats::new),
            };
            stats.add(closed, self.config.top_k);
            // Spans of one operation usually close in runs: one lookup per run.
            while let Some((_, next)) = spans.next_if(|(g, _)| *g == group) {
                stats.add(next, self.config.top_k);
            }
        }
    }

    /// Merges every thread's buffer, then lets `f` read the statistics.
    pub(crate) fn with_stats<R>(&self, f: impl FnOnce(&OpMap) -> R) -> R {
        let _paused = Paused::new();
        let buffers: Vec<Buffer> = lock(&self.buffers).clone();
        for buffer in buffers {
            self.merge(&mut lock(&buffer));
        }
        f(&lock(&self.ops))
    }

    fn thresholds_for(&self, group: &str) -> Thresholds {
        self.config.overrides.get(group).copied().unwrap_or(self.config.thresholds)
    }
}

/// What the layer keeps in a span's extensions while it lives.
struct Timing {
    group: Cow<'static, str>,
    created: Instant,
    busy: Duration,
    entered_at: Option<Instant>,
    depth: u32,
    counts_at_enter: (u64, u64),
    /// Allocations and bytes while entered (children included).
    inclusive: (u64, u64),
    /// The closed children's inclusive allocations and bytes.
    children: (u64, u64),
    fields: String,
}

/// The `tracing-subscriber` layer; build it with [`crate::PerfLayer::builder`].
#[derive(Debug, Clone)]
pub struct PerfLayer {
    pub(crate) shared: Arc<Shared>,
}

/// Formats span fields as `key=value` pairs and picks out the grouping field.
struct FieldWriter<'a> {
    out: &'a mut String,
    group_by: Option<&'static str>,
    group: Option<String>,
}

impl tracing::field::Visit for FieldWriter<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if !self.out.is_empty() {
            self.out.push(' ');
        }
        let _ = write!(self.out, "{}={value:?}", field.name());
        if self.group_by == Some(field.name()) {
            self.group = Some(format!("{value:?}"));
        }
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if !self.out.is_empty() {
            self.out.push(' ');
        }
        let _ = write!(self.out, "{}={value}", field.name());
        if self.group_by == Some(field.name()) {
            self.group = Some(value.to_string());
        }
    }
}

impl<S> Layer<S> for PerfLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let _paused = Paused::new();
        let Some(span) = ctx.span(id) else { return };
        let mut fields = String::new();
        let mut writer = FieldWriter { out: &mut fields, group_by: self.shared.config.group_by, group: None };
        if !attrs.metadata().fields().is_empty() {
            attrs.record(&mut writer);
        }
        let group = match writer.group {
            Some(value) => Cow::Owned(value),
            None => Cow::Borrowed(attrs.metadata().name()),
        };
        span.extensions_mut().insert(Timing {
            group,
            created: Instant::now(),
            busy: Duration::ZERO,
            entered_at: None,
            depth: 0,
            counts_at_enter: (0, 0),
            inclusive: (0, 0),
            children: (0, 0),
            fields,
        });
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let _paused = Paused::new();
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        if let Some(t) = ext.get_mut::<Timing>() {
            let mut writer = FieldWriter { out: &mut t.fields, group_by: None, group: None };
            values.record(&mut writer);
        }
    }

    // Entering and leaving allocate nothing, so they need no pause; the allocation counters
    // are only read when a counting allocator is installed.
    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        if let Some(t) = ext.get_mut::<Timing>() {
            if t.depth == 0 {
                if is_counting() {
                    t.counts_at_enter = thread_counts();
                }
                t.entered_at = Some(Instant::now());
            }
            t.depth += 1;
        }
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        let now = Instant::now();
        let counts = if is_counting() { thread_counts() } else { (0, 0) };
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        if let Some(t) = ext.get_mut::<Timing>() {
            t.depth = t.depth.saturating_sub(1);
            if t.depth == 0 {
                if let Some(at) = t.entered_at.take() {
                    t.busy += now.saturating_duration_since(at);
                }
                t.inclusive.0 += counts.0.saturating_sub(t.counts_at_enter.0);
                t.inclusive.1 += counts.1.saturating_sub(t.counts_at_enter.1);
            }
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let now = Instant::now();
        let _paused = Paused::new();
        let Some(span) = ctx.span(&id) else { return };
        let Some(t) = span.extensions_mut().remove::<Timing>() else { return };
        // The parent's self allocations exclude its children's (only counted ones matter).
        if t.inclusive != (0, 0) {
            if let Some(parent) = span.parent() {
                if let Some(p) = parent.extensions_mut().get_mut::<Timing>() {
                    p.children.0 += t.inclusive.0;
                    p.children.1 += t.inclusive.1;
                }
            }
        }
        let wall = now.saturating_duration_since(t.created);
        let wall_ns = u64::try_from(wall.as_nanos()).unwrap_or(u64::MAX);
        let limits = self.shared.thresholds_for(&t.group);
        let slow = match (limits.warn, limits.error) {
            (_, Some(error)) if wall >= error => Slow::Error,
            (Some(warn), _) if wall >= warn => Slow::Warn,
            _ => Slow::No,
        };
        if slow != Slow::No {
            alert(slow, &t.group, wall, &t.fields);
        }
        let closed = Closed {
            wall_ns,
            busy_ns: u64::try_from(t.busy.as_nanos()).unwrap_or(u64::MAX).min(wall_ns),
            allocs: t.inclusive.0,
            bytes: t.inclusive.1,
            children_allocs: t.children.0,
            children_bytes: t.children.1,
            slow,
            fields: (!t.fields.is_empty()).then(|| t.fields.into_boxed_str()),
        };
        self.shared.push(t.group, closed);
    }
}

/// The slow-operation event, with the span's fields, at WARN or ERROR.
fn alert(slow: Slow, group: &str, wall: Duration, fields: &str) {
    let wall_ms = wall.as_secs_f64() * 1e3;
    match slow {
        Slow::Error => tracing::event!(
            target: "perfwatch::slow",
            Level::ERROR,
            operation = group,
            wall_ms,
            fields,
            "slow operation"
        ),
        Slow::Warn => tracing::event!(
            target: "perfwatch::slow",
            Level::WARN,
            operation = group,
            wall_ms,
            fields,
            "slow operation"
        ),
        Slow::No => {}
    }
}

//! Per-operation statistics: fixed-size HDR histograms of wall and busy time, exact totals,
//! allocation sums and the slowest occurrences. Nothing grows with the number of calls.

use hdrhistogram::Histogram;

/// Highest time a histogram resolves (1 hour, in nanoseconds); longer spans are clamped.
const MAX_NS: u64 = 3_600_000_000_000;
/// Significant figures kept: 2 gives ≤ 1 % relative error per value at about 23 KiB per
/// histogram over 1 ns – 1 h (Tene, *HdrHistogram*; the bucket layout in hdrhistogram's
/// docs), so 100 operation names stay under 5 MiB.
const SIGFIGS: u8 = 2;

/// One finished span, as the layer hands it over.
#[derive(Debug, Clone)]
pub(crate) struct Closed {
    pub wall_ns: u64,
    pub busy_ns: u64,
    /// Allocations and bytes while entered, children included.
    pub allocs: u64,
    pub bytes: u64,
    /// The closed children's share of those.
    pub children_allocs: u64,
    pub children_bytes: u64,
    pub slow: Slow,
    /// The span's fields, formatted, when it had any.
    pub fields: Option<Box<str>>,
}

/// Which slow-operation threshold a span passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slow {
    No,
    Warn,
    Error,
}

/// Everything kept for one operation name.
#[derive(Debug)]
pub(crate) struct OpStats {
    pub count: u64,
    pub wall_total_ns: u128,
    pub busy_total_ns: u128,
    pub wall: Histogram<u32>,
    pub busy: Histogram<u32>,
    pub allocs: u64,
    pub bytes: u64,
    pub self_allocs: u64,
    pub self_bytes: u64,
    pub slow_warn: u64,
    pub slow_error: u64,
    /// The slowest occurrences (wall ns, fields), slowest first, at most `top_k`.
    pub slowest: Vec<(u64, Option<Box<str>>)>,
}

impl OpStats {
    pub(crate) fn new() -> OpStats {
        let histogram = || {
            let mut h = Histogram::new_with_bounds(1, MAX_NS, SIGFIGS).expect("valid histogram bounds");
            h.auto(false);
            h
        };
        OpStats {
            count: 0,
            wall_total_ns: 0,
            busy_total_ns: 0,
            wall: histogram(),
            busy: histogram(),
            allocs: 0,
            bytes: 0,
            self_allocs: 0,
            self_bytes: 0,
            slow_warn: 0,
            slow_error: 0,
            slowest: Vec::new(),
        }
    }

    pub(crate) fn add(&mut self, c: Closed, top_k: usize) {
        self.count += 1;
        self.wall_total_ns += u128::from(c.wall_ns);
        self.busy_total_ns += u128::from(c.busy_ns);
        // Saturating: counts are u32 per bucket; 4 billion identical values is far beyond a run.
        self.wall.saturating_record(c.wall_ns.clamp(1, MAX_NS));
        self.busy.saturating_record(c.busy_ns.clamp(1, MAX_NS));
        self.allocs += c.allocs;
        self.bytes += c.bytes;
        // A child that allocated outside its parent's entered time (another thread) would
        // make the difference negative: saturate.
        self.self_allocs += c.allocs.saturating_sub(c.children_allocs);
        self.self_bytes += c.bytes.saturating_sub(c.children_bytes);
        match c.slow {
            Slow::No => {}
            Slow::Warn => self.slow_warn += 1,
            Slow::Error => self.slow_error += 1,
        }
        let slower_than_kept =
            self.slowest.len() < top_k || self.slowest.last().is_some_and(|l| c.wall_ns > l.0);
        if top_k > 0 && slower_than_kept {
            let at = self.slowest.partition_point(|(w, _)| *w >= c.wall_ns);
            self.slowest.insert(at, (c.wall_ns, c.fields));
            self.slowest.truncate(top_k);
        }
    }
}

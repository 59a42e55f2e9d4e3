//! A small program instrumented with perfwatch-tracing: a cached coordinate conversion, a
//! batch that streams a large input, and a deliberately slow path, each a `tracing` span.
//!
//! Alone it prints the layer's table on stderr; under `perfwatch run` its figures become
//! metrics (`op.transform.p95`, `op.convert.allocs_per_call`, …, and the cache's hit rate).
//! `APP_SLOW` multiplies the work of `transform` (1.3 = 30 % slower); `APP_KEYS` is the number
//! of distinct coordinates among 500 conversions (hit rate = 1 − APP_KEYS / 500).

use std::collections::HashMap;
use std::io::Write;

use perfwatch_tracing::{CountingAlloc, PerfLayer};
use tracing::info_span;
use tracing_subscriber::prelude::*;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::system();

const LOOKUPS: u64 = 500;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Unit-sphere coordinates, memoised: the cache whose hit rate the suite gates on.
struct Coordinates {
    cache: HashMap<(u64, u64), [f64; 3]>,
    hits: u64,
    misses: u64,
}

impl Coordinates {
    fn cartesian(&mut self, lat: u64, lon: u64) -> [f64; 3] {
        if let Some(v) = self.cache.get(&(lat, lon)) {
            self.hits += 1;
            return *v;
        }
        self.misses += 1;
        let (la, lo) = ((lat as f64).to_radians(), (lon as f64).to_radians());
        let v = [la.cos() * lo.cos(), la.cos() * lo.sin(), la.sin()];
        self.cache.insert((lat, lon), v);
        v
    }
}

fn convert(coords: &mut Coordinates, keys: u64) -> f64 {
    let _span = info_span!("convert", lookups = LOOKUPS).entered();
    (0..LOOKUPS).map(|i| coords.cartesian(i % keys, (i * 7) % keys)[2]).sum()
}

fn stream(n: u64) -> u64 {
    let _span = info_span!("stream", items = n).entered();
    (0..n).map(|x| x * x % 7).sum()
}

fn transform(rows: u64, slow: f64) -> f64 {
    let _span = info_span!("transform", rows).entered();
    let mut out: Vec<f64> = Vec::new();
    for i in 0..((rows as f64 * slow) as u64) {
        out.push((i as f64).sqrt());
    }
    out.iter().sum()
}

fn main() {
    let (layer, handle) = PerfLayer::builder().build();
    tracing_subscriber::registry().with(layer).init();
    let flush = handle.flush_on_drop();
    let (slow, keys) = (env_or("APP_SLOW", 1.0), env_or("APP_KEYS", 50u64).max(1));
    let mut coords = Coordinates { cache: HashMap::new(), hits: 0, misses: 0 };
    let mut checksum = convert(&mut coords, keys);
    checksum += stream(2_000_000) as f64;
    for _ in 0..3 {
        checksum += transform(400_000, slow);
    }
    std::hint::black_box(checksum);
    drop(flush);
    // The cache is the program's own figure: one more metric line, beside the layer's.
    if let Some(path) = std::env::var_os(perfwatch_tracing::METRICS_FILE_ENV) {
        let rate = coords.hits as f64 / (coords.hits + coords.misses) as f64;
        let line =
            format!("perfwatch-metric name=cache.coords.hit_rate value={rate} unit=ratio better=higher\n");
        let file = std::fs::OpenOptions::new().append(true).open(path);
        if let Err(e) = file.and_then(|mut f| f.write_all(line.as_bytes())) {
            eprintln!("cannot report the cache hit rate: {e}");
        }
    }
}

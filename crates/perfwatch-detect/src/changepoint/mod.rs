//! Change-point detection over a metric's history (pure, deterministic, incremental).
//!
//! # Methods
//!
//! * [`Method::EDivisive`] — E-Divisive means (Matteson & James, JASA 2014, arXiv 1306.4933)
//!   with the two changes Hunter made to it (Fleming et al., "Hunter: Using Change Point
//!   Detection to Hunt for Performance Regressions", ICPE 2023, arXiv 2301.03034; the method
//!   descends from Daly et al., "The Use of Change Point Detection to Identify Software
//!   Performance Regressions in a Continuous Integration System", ICPE 2020):
//!   1. *split*: E-Divisive runs inside sliding windows of `window` points (step `window/2`);
//!      each candidate is accepted when a two-sample Student t-test between the two sides has
//!      `p ≤ 10 × max_p_value` (a relaxed first pass; these are the *weak* change points);
//!   2. *merge*: repeatedly the weakest change point (largest p-value of the t-test between the
//!      two segments bounded by its neighbours) is removed, and its neighbours re-tested, until
//!      every remaining one has `p ≤ max_p_value`; then change points whose relative magnitude
//!      is `≤ min_magnitude` are removed the same way.
//! * [`Method::Potts`] — the robust penalized piecewise-constant (L1 Potts) fit of Friedrich et
//!   al. (J. Comput. Graph. Statist. 2008) that airspeed velocity uses (asv docs, "Step
//!   detection"): minimize `γ·k + Σ |y_i − median(segment)|`. Solved exactly inside the same
//!   windows and merged with the same greedy step, where a change point survives when it lowers
//!   the L1 cost of its two neighbouring segments by more than `γ = penalty · σ̂ · ln(L)` (σ̂: a
//!   robust noise scale from first differences, L: the number of points compared).
//! * [`Method::Combined`] — weak change points of both, kept only when both criteria agree:
//!   the L1 gain exceeds the penalty *and* a t-test on winsorized segments (each side clipped
//!   at its median ± 3σ̂) has `p ≤ max_p_value`. This is the default: it was the best on the
//!   accuracy benchmark in `bench/changepoint/` (see its README), matching E-Divisive on level
//!   shifts and Potts on spikes, heavy tails and bimodal noise.
//!
//! Whatever the method, the split and merge steps only look at segments of at least
//! `min_size` points, which pins a shift nearer than that to either end of the series
//! exactly `min_size` points in; such a change point is finally re-placed at the
//! least-absolute-deviations split between it and that end (the L1 cost of the Potts fit;
//! Bai, "Least absolute deviation estimation of a shift", Econometric Theory 1995, for the
//! estimator's consistency).
//!
//! # Incremental analysis and stability
//!
//! [`Detector`] keeps the state of the split step (the weak change points of every complete
//! window) and *settles* the past every `max(1, window/5)` points: after analysing the series
//! up to such a grid point `g`, every change point earlier than `g + step − window − 2` is
//! frozen for good and every weak one there that did not survive is dropped. Later analyses
//! only touch the unsettled tail (at most about two windows of weak change points), so
//! appending a point costs about as much as the last window plus one pass over the data to
//! compute the reported medians, independent of how the data were fed. [`detect`] is exactly a
//! [`Detector`] fed the whole series, so a [`Detector`] fed point by point reports the same
//! change points as [`detect`] on the same prefix; and a change point more than one window
//! behind the newest point never moves or disappears.
//!
//! For Potts and Combined the L1 segment costs of the windows still to analyse are kept in a
//! band updated point by point (`potts::CostBand`), so the repeated analyses of the tail only
//! rerun the O(L²) dynamic programme of each window, not the cost computation; the costs, and
//! hence the results, are bit for bit those of a fresh computation per window.

mod edivisive;
mod potts;
mod ttest;

pub use edivisive::{best_split, q_hat};
pub use potts::{l1_cost, solve_exact as potts_exact};
pub use ttest::{Moments, t_test_p};

use perfwatch_model::{Better, ChangePoint};

/// Which detector to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// E-Divisive means with Hunter's windowed t-test and merge steps.
    EDivisive,
    /// Robust L1 Potts (penalized piecewise-constant median) fit.
    Potts,
    /// Both: candidates from either, kept only when both agree. The default.
    Combined,
}

/// Detector settings. `Options::default()` holds the defaults chosen on the benchmark.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// Detector. Default [`Method::Combined`].
    pub method: Method,
    /// Window length of the split step (Otava's `window_len`). Default 50.
    pub window: usize,
    /// Largest t-test p-value of a reported change point (Otava's `-P`). Default 0.001.
    pub max_p_value: f64,
    /// Change points whose relative change of segment medians, `max(|a/b − 1|, |b/a − 1|)`, is
    /// at most this are dropped (Otava's `-M`). Default 0.0 (off).
    pub min_magnitude: f64,
    /// Shortest segment between two change points (and after the last one). Default 8: shorter
    /// "levels" are mostly bursts of outliers or runs of a second mode on the benchmark (the
    /// otava-test-data regression/fix blip is 10 points).
    pub min_size: usize,
    /// Multiplier of the Potts penalty `γ = penalty · σ̂ · ln(L)`. Default 2.0.
    pub penalty: f64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            method: Method::Combined,
            window: 50,
            max_p_value: 0.001,
            min_magnitude: 0.0,
            min_size: 8,
            penalty: 2.0,
        }
    }
}

/// Detects change points in a whole series (see the [module docs](self)); `better` decides
/// which shifts are regressions. The points are not placed on runs (`run_id` etc. are empty):
/// the caller knows which run each index is.
pub fn detect(series: &[f64], better: Better, opts: &Options) -> Vec<ChangePoint> {
    let mut d = Detector::new(opts.clone());
    d.extend(series.iter().copied());
    d.change_points(better)
}

/// Median of a non-empty slice (mean of the two middle values for even lengths).
pub(crate) fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    let (_, m, _) = v.select_nth_unstable_by(n / 2, f64::total_cmp);
    let hi = *m;
    if n % 2 == 1 {
        hi
    } else {
        let lo = v[..n / 2].iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (lo + hi) / 2.0
    }
}

/// Robust noise scale: from first differences, `1.4826 · median|Δ| / √2`; if that is 0 (e.g.
/// a series that only takes two values), `mean|Δ| · √π / 2`. Floored at a tiny fraction of
/// the level so that exactly constant data never divides by zero.
fn noise_scale(xs: &[f64]) -> f64 {
    let level = xs.iter().map(|x| x.abs()).fold(0.0, f64::max);
    let floor = (level * 1e-12).max(1e-300);
    if xs.len() < 2 {
        return floor;
    }
    let d: Vec<f64> = xs.windows(2).map(|w| (w[1] - w[0]).abs()).collect();
    let s = 1.4826 * median(&d) / std::f64::consts::SQRT_2;
    let s =
        if s > 0.0 { s } else { d.iter().sum::<f64>() / d.len() as f64 * std::f64::consts::PI.sqrt() / 2.0 };
    s.max(floor)
}

/// Incremental detector: feed points with [`push`](Self::push) / [`extend`](Self::extend) and
/// read the change points with [`change_points`](Self::change_points).
#[derive(Clone, Debug)]
pub struct Detector {
    opts: Options,
    data: Vec<f64>,
    shift: f64,
    ps: Vec<f64>,
    pq: Vec<f64>,
    /// Start of the next complete window of the split step.
    split_next: usize,
    /// Weak change points of complete windows (may include settled ones; filtered on use).
    weak: Vec<usize>,
    frozen: Vec<usize>,
    /// Everything before `horizon` is settled.
    horizon: usize,
    /// L1 segment costs of the windows still to analyse (Potts and Combined only).
    costs: Option<potts::CostBand>,
}

impl Detector {
    /// An empty detector.
    pub fn new(mut opts: Options) -> Self {
        opts.window = opts.window.max(4);
        opts.min_size = opts.min_size.max(2);
        // Windows of the split step start at multiples of `window / 2` (see `analyze`).
        let costs = (opts.method != Method::EDivisive)
            .then(|| potts::CostBand::new(opts.window, (opts.window / 2).max(1)));
        Self {
            opts,
            data: Vec::new(),
            shift: 0.0,
            ps: vec![0.0],
            pq: vec![0.0],
            split_next: 0,
            weak: Vec::new(),
            frozen: Vec::new(),
            horizon: 0,
            costs,
        }
    }

    /// The options in use (after clamping `window ≥ 4`, `min_size ≥ 2`).
    pub fn options(&self) -> &Options {
        &self.opts
    }

    /// Number of points fed so far.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// True when no point has been fed.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The points fed so far.
    pub fn series(&self) -> &[f64] {
        &self.data
    }

    /// Change points that are settled for good (never move or disappear).
    pub fn settled(&self) -> &[usize] {
        &self.frozen
    }

    fn step(&self) -> usize {
        (self.opts.window / 5).max(1)
    }

    /// Appends one point. Non-finite values are replaced by the previous point (or 0).
    pub fn push(&mut self, x: f64) {
        let x = if x.is_finite() { x } else { self.data.last().copied().unwrap_or(0.0) };
        if self.data.is_empty() {
            self.shift = x;
        }
        let y = x - self.shift;
        let n = self.data.len();
        self.ps.push(self.ps[n] + y);
        self.pq.push(self.pq[n] + y * y);
        self.data.push(x);
        if let Some(c) = &mut self.costs {
            c.push(x);
        }
        let n = n + 1;
        if n % self.step() == 0 {
            self.settle(n);
        }
    }

    /// Appends many points.
    pub fn extend(&mut self, xs: impl IntoIterator<Item = f64>) {
        for x in xs {
            self.push(x);
        }
    }

    /// Current change points (settled ones plus the analysis of the unsettled tail), classified
    /// as regressions or improvements by `better`.
    pub fn change_points(&mut self, better: Better) -> Vec<ChangePoint> {
        let idx = self.change_point_indices();
        self.describe(&idx, better)
    }

    /// Indices only (cheaper than [`change_points`](Self::change_points): no medians).
    pub fn change_point_indices(&mut self) -> Vec<usize> {
        let n = self.data.len();
        let mut idx = self.frozen.clone();
        idx.extend(self.analyze(n));
        self.refine(&idx)
    }

    /// Re-places a change point that the segment-length limit pinned to an end of the series.
    /// The split and merge steps only consider segments of at least `min_size` points, so a
    /// shift fewer than `min_size` points from the start or the end of the series is found
    /// exactly `min_size` points in (a 16-point history with a step at 6 or 10 reported it at
    /// 8: a commit or two late for a backfilled history, and the wrong good/bad pair for
    /// `bisect --from-change-point`). Such a point is moved to the least-absolute-deviations
    /// split (the L1 cost of the Potts fit: Σ |y − median| of both sides) between that end,
    /// keeping two points there, and the point itself, over the end and `min_size` points
    /// past the point; ties keep the point. Points in the middle are left where the steps
    /// put them: on the benchmark (`bench/changepoint/`) re-placing those too over ±`min_size`
    /// windows lost accuracy on noisy series. A point pinned to the start depends only on the
    /// first points, so it never moves as points are appended.
    fn refine(&self, idx: &[usize]) -> Vec<usize> {
        let (n, m) = (self.data.len(), self.opts.min_size);
        let last = idx.len().saturating_sub(1);
        let place = |k: usize, c: usize| {
            let (to_start, to_end) = (k == 0 && c == m, k == last && n - c == m);
            if !to_start && !to_end {
                return c;
            }
            let (lo, a) = if to_start { (2, 0) } else { (c, c - m) };
            let (hi, b) = if to_end { (n - 2, n) } else { (c, c + m) };
            let cost = |t: usize| l1_cost(&self.data[a..t]) + l1_cost(&self.data[t..b]);
            (lo..=hi)
                .map(|t| (cost(t), t.abs_diff(c), t))
                .min_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)))
                .map_or(c, |(_, _, t)| t)
        };
        idx.iter().enumerate().map(|(k, &c)| place(k, c)).collect()
    }

    fn describe(&self, idx: &[usize], better: Better) -> Vec<ChangePoint> {
        let n = self.data.len();
        let mut meds = Vec::with_capacity(idx.len() + 1);
        let mut l = 0;
        for &c in idx.iter().chain(std::iter::once(&n)) {
            meds.push(median(&self.data[l..c]));
            l = c;
        }
        idx.iter()
            .enumerate()
            .map(|(k, &c)| {
                let l = if k == 0 { 0 } else { idx[k - 1] };
                let r = idx.get(k + 1).copied().unwrap_or(n);
                let (before, after) = (meds[k], meds[k + 1]);
                // Relative to |before| so that the sign stays meaningful for negative values.
                let change = (after - before) / before.abs();
                let p_value = t_test_p(self.moments(l, c), self.moments(c, r));
                ChangePoint::at(c, before, after, change, p_value, better)
            })
            .collect()
    }

    fn moments(&self, a: usize, b: usize) -> Moments {
        let n = (b - a) as f64;
        if b <= a {
            return Moments { n: 0.0, mean: 0.0, var: 0.0 };
        }
        let s = self.ps[b] - self.ps[a];
        let q = self.pq[b] - self.pq[a];
        let mean = s / n;
        let var = if b - a < 2 { 0.0 } else { ((q - s * mean) / (n - 1.0)).max(0.0) };
        // Small relative rounding noise on exactly constant segments: treat as zero variance.
        let var = if var <= 1e-13 * (q / n).abs() { 0.0 } else { var };
        // Kept in shifted coordinates (the t-test only needs differences of means), which keeps
        // the statistic exactly shift invariant.
        Moments { n, mean, var }
    }

    fn settle(&mut self, g: usize) {
        let survivors = self.analyze(g);
        let h = (g + self.step()).saturating_sub(self.opts.window + 2);
        if h <= self.horizon {
            return;
        }
        self.frozen.extend(survivors.iter().copied().filter(|&c| c < h));
        self.horizon = h;
        self.weak.retain(|&c| c >= h);
    }

    /// Runs the split step up to `n` (persisting complete windows) and the merge step over the
    /// unsettled candidates; returns the surviving unsettled change points.
    fn analyze(&mut self, n: usize) -> Vec<usize> {
        let w = self.opts.window;
        let half = (w / 2).max(1);
        while self.split_next + w <= n {
            let (a, b) = (self.split_next, self.split_next + w);
            let mut found = Vec::new();
            self.split_window(a, b, &mut found);
            self.weak.extend(found);
            self.split_next += half;
        }
        if let Some(c) = &mut self.costs {
            c.drop_before(self.split_next);
        }
        let mut cands: Vec<usize> =
            self.weak.iter().copied().filter(|&c| c >= self.horizon && c < n).collect();
        if n > self.split_next {
            let mut tail = Vec::new();
            self.split_window(self.split_next, n, &mut tail);
            cands.extend(tail.into_iter().filter(|&c| c >= self.horizon));
        }
        cands.sort_unstable();
        cands.dedup();
        let left = self.frozen.last().copied().unwrap_or(0);
        cands.retain(|&c| c > left);
        self.merge(left, n, &mut cands);
        cands
    }

    fn split_window(&self, a: usize, b: usize, out: &mut Vec<usize>) {
        let m = self.opts.min_size;
        if b - a < 2 * m {
            return;
        }
        let relaxed =
            if self.opts.max_p_value < 0.05 { self.opts.max_p_value * 10.0 } else { self.opts.max_p_value };
        if matches!(self.opts.method, Method::EDivisive | Method::Combined) {
            let mut stack = vec![(a, b)];
            while let Some((a, b)) = stack.pop() {
                if b - a < 2 * m {
                    continue;
                }
                let z = &self.data[a..b];
                let Some((t, _)) = best_split(z, m, z.len() - m) else { continue };
                let tau = a + t;
                let p = t_test_p(self.moments(a, tau), self.moments(tau, b));
                if p <= relaxed {
                    out.push(tau);
                    stack.push((a, tau));
                    stack.push((tau, b));
                }
            }
        }
        if let Some(costs) = &self.costs {
            let y = &self.data[a..b];
            let gamma = 0.5 * self.opts.penalty * noise_scale(y) * (y.len() as f64).ln();
            out.extend(costs.solve(a, b, gamma, m).into_iter().map(|t| a + t));
        }
    }

    /// Strength ≥ 1 means "keep" for the configured method.
    fn strength(&self, l: usize, c: usize, r: usize) -> f64 {
        let ed = || {
            let p = t_test_p(self.moments(l, c), self.moments(c, r)).max(1e-300);
            p.ln() / self.opts.max_p_value.ln()
        };
        let po = || {
            let k = 4 * self.opts.window;
            let (l2, r2) = (l.max(c.saturating_sub(k)), r.min(c + k));
            let y = &self.data[l2..r2];
            let gain = l1_cost(y) - l1_cost(&self.data[l2..c]) - l1_cost(&self.data[c..r2]);
            let gamma = self.opts.penalty * noise_scale(y) * (y.len() as f64).ln();
            gain / gamma
        };
        // Robust variant of the t-test for the combined method: each side is winsorized at its
        // own median ± 3σ̂ (σ̂ from first differences of both sides), so that spikes neither
        // inflate the variance nor fake a shift of the mean (Huber-type winsorization).
        let ed_robust = || {
            let k = 4 * self.opts.window;
            let (l2, r2) = (l.max(c.saturating_sub(k)), r.min(c + k));
            let sigma = noise_scale(&self.data[l2..r2]);
            let wins = |xs: &[f64]| {
                let m = median(xs);
                let v: Vec<f64> = xs.iter().map(|x| x.clamp(m - 3.0 * sigma, m + 3.0 * sigma)).collect();
                Moments::of(&v)
            };
            let p = t_test_p(wins(&self.data[l2..c]), wins(&self.data[c..r2])).max(1e-300);
            p.ln() / self.opts.max_p_value.ln()
        };
        match self.opts.method {
            Method::EDivisive => ed(),
            Method::Potts => po(),
            Method::Combined => ed_robust().min(po()),
        }
    }

    fn magnitude(&self, l: usize, c: usize, r: usize) -> f64 {
        let k = 4 * self.opts.window;
        let a = median(&self.data[l.max(c.saturating_sub(k))..c]);
        let b = median(&self.data[c..r.min(c + k)]);
        ((b / a - 1.0).abs()).max((a / b - 1.0).abs())
    }

    fn merge(&self, left: usize, n: usize, cands: &mut Vec<usize>) {
        let m = self.opts.min_size;
        // (short, strength) per candidate; only the neighbours of a removed one are recomputed.
        let eval = |cands: &[usize], k: usize| {
            let l = if k == 0 { left } else { cands[k - 1] };
            let c = cands[k];
            let r = cands.get(k + 1).copied().unwrap_or(n);
            let short = c - l < m || r - c < m;
            let s = if c - l < 2 || r - c < 2 { 0.0 } else { self.strength(l, c, r) };
            (short, s)
        };
        let mut st: Vec<(bool, f64)> = (0..cands.len()).map(|k| eval(cands, k)).collect();
        while !cands.is_empty() {
            let mut worst = 0;
            for k in 1..cands.len() {
                let (ws, wv) = st[worst];
                let (ks, kv) = st[k];
                if (ks && !ws) || (ks == ws && kv < wv) {
                    worst = k;
                }
            }
            let (short, s) = st[worst];
            let mut remove = (short || s < 1.0).then_some(worst);
            if remove.is_none() && self.opts.min_magnitude > 0.0 {
                let mut small: Option<(f64, usize)> = None;
                for k in 0..cands.len() {
                    let l = if k == 0 { left } else { cands[k - 1] };
                    let r = cands.get(k + 1).copied().unwrap_or(n);
                    let mg = self.magnitude(l, cands[k], r);
                    if small.is_none_or(|(v, _)| mg < v) {
                        small = Some((mg, k));
                    }
                }
                remove = small.filter(|&(mg, _)| mg <= self.opts.min_magnitude).map(|(_, k)| k);
            }
            let Some(k) = remove else { break };
            cands.remove(k);
            st.remove(k);
            if k > 0 {
                st[k - 1] = eval(cands, k - 1);
            }
            if k < cands.len() {
                st[k] = eval(cands, k);
            }
        }
    }
}

#[cfg(test)]
mod tests;

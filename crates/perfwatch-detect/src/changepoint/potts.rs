//! Robust piecewise-constant fit: the L1 Potts functional
//!
//! ```text
//! min over k, breakpoints j_1 < … < j_k and levels μ_0..μ_k of   γ·k + Σ_r Σ_{i ∈ segment r} |y_i − μ_r|
//! ```
//!
//! whose segment levels are the segment medians (Friedrich, Kempe, Liebscher & Winkler,
//! "Complexity penalized M-estimation: fast computation", J. Comput. Graph. Statist. 17(1), 2008;
//! the same functional is used by airspeed velocity, see its documentation "Step detection").
//! Because the loss is absolute, an isolated spike costs at most its distance to the median and
//! never pays for two breakpoints, which is what makes the fit shrug off outliers.
//!
//! Here the exact dynamic programme is solved inside bounded windows (O(L²) per window of
//! length L once the segment costs are known), and the breakpoints found are then merged
//! globally by the caller (asv's docs describe the same "solve small pieces exactly, then
//! merge" approximation; this is an independent implementation of that idea). The segment
//! costs come from a running median with running sums (the two halves of the classic two-heap
//! running median, [`RunningL1`]); the incremental detector keeps them in a [`CostBand`], so
//! that every segment cost `cost(i, j)` with `j − i ≤ L` is computed once, however many
//! (overlapping or growing) windows use it.

use std::cmp::Ordering;
use std::collections::VecDeque;

/// Running L1 cost `Σ |x − median|` of a growing multiset.
///
/// Two halves as in the classic two-heap running median: `lo` (the smaller half, whose largest
/// value is the median) and `hi`, with running sums. The halves are kept as small sorted
/// vectors (`lo` ascending, `hi` descending, both in [`f64::total_cmp`] order, so both
/// "tops" are at the end): for the window lengths used here (tens of points) a short insertion
/// beats heap operations, and the values (hence the floating-point sums, updated in the same
/// order as with two heaps) are exactly those of the two-heap version.
#[derive(Clone, Debug, Default)]
pub struct RunningL1 {
    lo: Vec<f64>,
    hi: Vec<f64>,
    sum_lo: f64,
    sum_hi: f64,
}

/// Inserts `x` into `v`, which is sorted in the sense that no element compares `after` its
/// successor ([`f64::total_cmp`]); scans from the end (the halves are short, and the values
/// that move between the halves land at or near the end).
#[inline]
fn insert_sorted(v: &mut Vec<f64>, x: f64, after: Ordering) {
    v.push(x);
    let mut k = v.len() - 1;
    while k > 0 && v[k - 1].total_cmp(&x) == after {
        v[k] = v[k - 1];
        k -= 1;
    }
    v[k] = x;
}

#[inline]
fn insert_asc(v: &mut Vec<f64>, x: f64) {
    insert_sorted(v, x, Ordering::Greater);
}

#[inline]
fn insert_desc(v: &mut Vec<f64>, x: f64) {
    insert_sorted(v, x, Ordering::Less);
}

impl RunningL1 {
    /// Empties the multiset, keeping the allocations.
    fn clear(&mut self) {
        self.lo.clear();
        self.hi.clear();
        self.sum_lo = 0.0;
        self.sum_hi = 0.0;
    }

    /// Adds one value.
    pub fn push(&mut self, x: f64) {
        if self.lo.last().is_none_or(|&m| x <= m) {
            insert_asc(&mut self.lo, x);
            self.sum_lo += x;
        } else {
            insert_desc(&mut self.hi, x);
            self.sum_hi += x;
        }
        if self.lo.len() > self.hi.len() + 1 {
            let v = self.lo.pop().expect("non-empty");
            self.sum_lo -= v;
            insert_desc(&mut self.hi, v);
            self.sum_hi += v;
        } else if self.hi.len() > self.lo.len() {
            let v = self.hi.pop().expect("non-empty");
            self.sum_hi -= v;
            insert_asc(&mut self.lo, v);
            self.sum_lo += v;
        }
    }

    /// `Σ |x − median|` over the values pushed so far.
    pub fn cost(&self) -> f64 {
        let Some(&m) = self.lo.last() else { return 0.0 };
        let c = (m * self.lo.len() as f64 - self.sum_lo) + (self.sum_hi - m * self.hi.len() as f64);
        c.max(0.0)
    }
}

/// L1 cost of a slice about its median (O(n), allocates).
pub fn l1_cost(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    let m = super::median(xs);
    xs.iter().map(|x| (x - m).abs()).sum()
}

/// `Σ |x − m|` of two halves with median `m` (the larger half `lo` holds `m` as its maximum).
#[inline]
fn split_cost(m: f64, n_lo: usize, sum_lo: f64, n_hi: usize, sum_hi: f64) -> f64 {
    let c = (m * n_lo as f64 - sum_lo) + (sum_hi - m * n_hi as f64);
    c.max(0.0)
}

/// Largest window length for which a block tracks its halves as bit sets of ranks.
const MAX_BITS: usize = u128::BITS as usize;

/// Running median state of one start index `i`: the same two halves and running sums as
/// [`RunningL1`], either as bit sets of ranks into the block's sorted values (bit `k` set:
/// the `k`-th smallest value is in that half) or, for long windows, as a [`RunningL1`].
#[derive(Clone, Debug, Default)]
struct Row {
    lo: u128,
    hi: u128,
    n_lo: usize,
    n_hi: usize,
    sum_lo: f64,
    sum_hi: f64,
    run: RunningL1,
    /// `cost[d − 1]` is the L1 cost of `y[i..i + d]`.
    cost: Vec<f64>,
}

/// Opens a zero bit at position `r` (every bit at or above `r` moves up by one).
#[inline]
fn open_bit(mask: u128, r: u32) -> u128 {
    let low = (1u128 << r) - 1;
    (mask & low) | ((mask & !low) << 1)
}

impl Row {
    fn clear(&mut self) {
        (self.lo, self.hi, self.n_lo, self.n_hi, self.sum_lo, self.sum_hi) = (0, 0, 0, 0, 0.0, 0.0);
        self.run.clear();
        self.cost.clear();
    }

    /// [`RunningL1::push`] of `x`, the value of rank `r` in `sorted` (which already holds it),
    /// on the bit-set representation; returns the new cost.
    #[inline]
    fn push_bits(&mut self, sorted: &[f64], x: f64, r: u32) -> f64 {
        self.lo = open_bit(self.lo, r);
        self.hi = open_bit(self.hi, r);
        let top = |lo: u128| sorted[(127 - lo.leading_zeros()) as usize];
        if self.n_lo == 0 || x <= top(self.lo) {
            self.lo |= 1 << r;
            self.n_lo += 1;
            self.sum_lo += x;
        } else {
            self.hi |= 1 << r;
            self.n_hi += 1;
            self.sum_hi += x;
        }
        if self.n_lo > self.n_hi + 1 {
            let k = 127 - self.lo.leading_zeros();
            let v = sorted[k as usize];
            self.lo &= !(1 << k);
            self.n_lo -= 1;
            self.sum_lo -= v;
            self.hi |= 1 << k;
            self.n_hi += 1;
            self.sum_hi += v;
        } else if self.n_hi > self.n_lo {
            let k = self.hi.trailing_zeros();
            let v = sorted[k as usize];
            self.hi &= !(1 << k);
            self.n_hi -= 1;
            self.sum_hi -= v;
            self.lo |= 1 << k;
            self.n_lo += 1;
            self.sum_lo += v;
        }
        split_cost(top(self.lo), self.n_lo, self.sum_lo, self.n_hi, self.sum_hi)
    }
}

/// The rows of the start indices `start..start + stride`, over the values
/// `y[start..start + width]` (all that these rows ever need).
#[derive(Clone, Debug, Default)]
struct Block {
    start: usize,
    /// The values seen so far, in [`f64::total_cmp`] order.
    sorted: Vec<f64>,
    rows: Vec<Row>,
}

/// L1 segment costs `cost(i, j)` of a growing series for every segment `i..j` inside a window
/// `a..a + width` whose start `a` is a multiple of `stride`, maintained point by point.
///
/// Each cost is, bit for bit, what [`RunningL1`] gives when fed `y[i], y[i+1], …` in order
/// (the halves, their maxima/minima and the order of the floating-point updates of the sums
/// are the same), i.e. what a fresh per-window computation gives, but every cost is computed
/// once however many (overlapping or growing) windows use it. The start indices are grouped
/// in blocks of `stride`; a block sorts its `width` values once, so that for `width ≤ 128` the
/// rows keep their halves as bit sets of ranks (O(1) per point and row).
#[derive(Clone, Debug)]
pub(crate) struct CostBand {
    width: usize,
    stride: usize,
    /// Number of points pushed.
    len: usize,
    blocks: VecDeque<Block>,
    /// Dropped blocks and rows, kept for their allocations.
    spare: Vec<Block>,
    spare_rows: Vec<Row>,
}

impl CostBand {
    /// An empty band for windows of at most `width` points starting at multiples of `stride`
    /// (`1 ≤ stride ≤ width`).
    pub(crate) fn new(width: usize, stride: usize) -> Self {
        let width = width.max(1);
        Self {
            width,
            stride: stride.clamp(1, width),
            len: 0,
            blocks: VecDeque::new(),
            spare: Vec::new(),
            spare_rows: Vec::new(),
        }
    }

    /// Appends the next point of the series.
    pub(crate) fn push(&mut self, x: f64) {
        let p = self.len;
        self.len += 1;
        if p % self.stride == 0 {
            let mut b = self.spare.pop().unwrap_or_else(|| Block {
                sorted: Vec::with_capacity(self.width),
                rows: Vec::with_capacity(self.stride),
                ..Block::default()
            });
            b.start = p;
            self.blocks.push_back(b);
        }
        let bits = self.width <= MAX_BITS;
        for b in self.blocks.iter_mut().rev() {
            if p >= b.start + self.width {
                break;
            }
            let r = b.sorted.partition_point(|e| e.total_cmp(&x) == Ordering::Less);
            b.sorted.insert(r, x);
            if p < b.start + self.stride {
                let row = self
                    .spare_rows
                    .pop()
                    .unwrap_or_else(|| Row { cost: Vec::with_capacity(self.width), ..Row::default() });
                b.rows.push(row);
            }
            let sorted = &b.sorted;
            for row in &mut b.rows {
                let c = if bits {
                    row.push_bits(sorted, x, r as u32)
                } else {
                    row.run.push(x);
                    row.run.cost()
                };
                row.cost.push(c);
            }
        }
    }

    /// Forgets the blocks before `start` (no later window starts there).
    pub(crate) fn drop_before(&mut self, start: usize) {
        while self.blocks.front().is_some_and(|b| b.start < start) {
            let mut b = self.blocks.pop_front().expect("non-empty");
            b.sorted.clear();
            for mut r in b.rows.drain(..) {
                r.clear();
                self.spare_rows.push(r);
            }
            self.spare.push(b);
        }
    }

    /// [`solve_exact`] on the series points `a..b`: needs `a` a multiple of `stride` not
    /// dropped, `b − a ≤ width` and `b` at most the number of points pushed.
    pub(crate) fn solve(&self, a: usize, b: usize, gamma: f64, min_size: usize) -> Vec<usize> {
        assert!(a % self.stride == 0 && b - a <= self.width && b <= self.len, "window {a}..{b}");
        let first = self.blocks.front().map_or(self.len, |b| b.start);
        assert!(a >= first, "window {a}..{b} dropped");
        let rows: Vec<&[f64]> = (a..b)
            .map(|i| {
                let blk = &self.blocks[(i - first) / self.stride];
                blk.rows[i - blk.start].cost.as_slice()
            })
            .collect();
        solve_rows(&rows, gamma, min_size)
    }
}

/// The exact dynamic programme over `n = rows.len()` points, where `rows[i][d − 1]` is the L1
/// cost of `y[i..i + d]` (at least `n − i` entries).
///
/// `best[j] = min_i best[i] + cost(i, j) + γ` is evaluated "forwards" (row `i` updates every
/// `best[j]`, `j ≥ i + min_size`, once `best[i]` is final), which reads each row contiguously;
/// for every `j` the candidates `i` are still tried in increasing order with a strict `<`, so
/// the values and the tie-breaking (smallest `i`) are those of the textbook order.
fn solve_rows(rows: &[&[f64]], gamma: f64, min_size: usize) -> Vec<usize> {
    let n = rows.len();
    let min_size = min_size.max(1);
    if n < 2 * min_size {
        return Vec::new();
    }
    let mut best = vec![f64::INFINITY; n + 1];
    let mut prev = vec![0usize; n + 1];
    best[0] = -gamma;
    for i in std::iter::once(0).chain(min_size..=n - min_size) {
        let b = best[i];
        if !b.is_finite() {
            continue;
        }
        // j = i + d for d in min_size..=n − i
        let cost = &rows[i][min_size - 1..n - i];
        let (best_j, prev_j) = (&mut best[i + min_size..], &mut prev[i + min_size..]);
        for ((&c, bj), pj) in cost.iter().zip(best_j).zip(prev_j) {
            let v = b + c + gamma;
            if v < *bj {
                *bj = v;
                *pj = i;
            }
        }
    }
    let mut out = Vec::new();
    let mut j = n;
    while j > 0 {
        let i = prev[j];
        if i > 0 {
            out.push(i);
        }
        j = i;
    }
    out.reverse();
    out
}

/// Exact minimizer of `γ·k + Σ L1 cost` on `y`, with every segment at least `min_size` long.
/// Returns the breakpoints (offsets into `y`, first index of each new segment).
pub fn solve_exact(y: &[f64], gamma: f64, min_size: usize) -> Vec<usize> {
    let n = y.len();
    if n < 2 * min_size.max(1) {
        return Vec::new();
    }
    let mut band = CostBand::new(n, n);
    for &v in y {
        band.push(v);
    }
    band.solve(0, n, gamma, min_size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_cost_matches_direct() {
        let xs = [5.0, 1.0, 4.0, 4.0, 9.0, -2.0, 7.0, 3.0];
        let mut r = RunningL1::default();
        for k in 0..xs.len() {
            r.push(xs[k]);
            assert!((r.cost() - l1_cost(&xs[..=k])).abs() < 1e-12, "k {k}");
        }
    }

    /// The pre-band implementation (two binary heaps per start index, textbook DP order): the
    /// band and the forward DP must reproduce it bit for bit.
    fn reference_solve(y: &[f64], gamma: f64, min_size: usize) -> (Vec<Vec<f64>>, Vec<usize>) {
        use std::cmp::Reverse;
        use std::collections::BinaryHeap;
        #[derive(Clone, Copy, PartialEq)]
        struct F(f64);
        impl Eq for F {}
        impl PartialOrd for F {
            fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
                Some(self.cmp(o))
            }
        }
        impl Ord for F {
            fn cmp(&self, o: &Self) -> Ordering {
                self.0.total_cmp(&o.0)
            }
        }
        let n = y.len();
        let mut cost: Vec<Vec<f64>> = Vec::new();
        for i in 0..n {
            let (mut lo, mut hi) = (BinaryHeap::new(), BinaryHeap::new());
            let (mut sum_lo, mut sum_hi) = (0.0, 0.0);
            let mut row = Vec::new();
            for &x in &y[i..] {
                if lo.peek().is_none_or(|m: &F| x <= m.0) {
                    lo.push(F(x));
                    sum_lo += x;
                } else {
                    hi.push(Reverse(F(x)));
                    sum_hi += x;
                }
                if lo.len() > hi.len() + 1 {
                    let v = lo.pop().unwrap().0;
                    sum_lo -= v;
                    hi.push(Reverse(F(v)));
                    sum_hi += v;
                } else if hi.len() > lo.len() {
                    let v = hi.pop().unwrap().0.0;
                    sum_hi -= v;
                    lo.push(F(v));
                    sum_lo += v;
                }
                let m = lo.peek().unwrap().0;
                row.push(split_cost(m, lo.len(), sum_lo, hi.len(), sum_hi));
            }
            cost.push(row);
        }
        let min_size = min_size.max(1);
        if n < 2 * min_size {
            return (cost, Vec::new());
        }
        let mut best = vec![f64::INFINITY; n + 1];
        let mut prev = vec![0usize; n + 1];
        best[0] = -gamma;
        for j in min_size..=n {
            for i in 0..=j - min_size {
                if (i != 0 && i < min_size) || !best[i].is_finite() {
                    continue;
                }
                let v = best[i] + cost[i][j - i - 1] + gamma;
                if v < best[j] {
                    best[j] = v;
                    prev[j] = i;
                }
            }
        }
        let (mut out, mut j) = (Vec::new(), n);
        while j > 0 {
            if prev[j] > 0 {
                out.push(prev[j]);
            }
            j = prev[j];
        }
        out.reverse();
        (cost, out)
    }

    #[test]
    fn band_matches_reference_bit_for_bit() {
        let mut s = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        // (width, stride): bit sets (≤ 128) and the sorted-vector fallback, even and odd.
        for (width, stride) in [(50, 25), (7, 3), (20, 10), (130, 65), (4, 2)] {
            for case in 0..3 {
                let n = 40 + (next() % 160) as usize;
                let y: Vec<f64> = (0..n)
                    .map(|i| {
                        let r = next();
                        let level = if i > n / 2 { 3.0 } else { 0.0 };
                        match case % 3 {
                            0 => level + (r % 7) as f64 - 3.0,                       // many ties
                            1 => [-0.0, 0.0, level, level, level][(r % 5) as usize], // signed zeros
                            _ => level + (r >> 11) as f64 / (1u64 << 53) as f64 * 1e3 - 500.0,
                        }
                    })
                    .collect();
                let mut band = CostBand::new(width, stride);
                for (p, &x) in y.iter().enumerate() {
                    band.push(x);
                    let a = (p + 1).saturating_sub(width).div_ceil(stride) * stride;
                    let check = (p + 1) % 7 == 0 || p + 1 == n;
                    for a in (a..=p).step_by(stride).filter(|_| check) {
                        let b = (p + 1).min(a + width);
                        let (cost, want) = reference_solve(&y[a..b], 2.5, 3);
                        assert_eq!(band.solve(a, b, 2.5, 3), want, "{width} {case} {a}..{b}");
                        if b == p + 1 {
                            for (i, row) in cost.iter().enumerate() {
                                let blk = &band.blocks[(a + i - band.blocks[0].start) / stride];
                                let got = &blk.rows[a + i - blk.start].cost[..row.len()];
                                let same = got.iter().zip(row).all(|(g, w)| g.to_bits() == w.to_bits());
                                assert!(same, "{width} {case} row {}", a + i);
                            }
                        }
                    }
                    band.drop_before(a);
                }
                assert_eq!(solve_exact(&y, 2.5, 3), reference_solve(&y, 2.5, 3).1);
            }
        }
    }

    #[test]
    fn finds_step_and_ignores_spike() {
        let mut y = vec![10.0; 20];
        y.extend([12.0; 20]);
        y[5] = 100.0; // a spike
        assert_eq!(solve_exact(&y, 3.0, 3), vec![20]);
    }
}

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
//! Here the exact dynamic programme is solved inside bounded windows (O(L² log L) per window of
//! length L, using a two-heap running median with running sums), and the breakpoints found are
//! then merged globally by the caller (asv's docs describe the same "solve small pieces exactly,
//! then merge" approximation; this is an independent implementation of that idea).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

#[derive(Clone, Copy)]
struct F(f64);
impl PartialEq for F {
    fn eq(&self, o: &Self) -> bool {
        self.0.total_cmp(&o.0).is_eq()
    }
}
impl Eq for F {}
impl PartialOrd for F {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for F {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&o.0)
    }
}

/// Running L1 cost `Σ |x − median|` of a growing multiset.
#[derive(Default)]
pub struct RunningL1 {
    lo: BinaryHeap<F>,
    hi: BinaryHeap<Reverse<F>>,
    sum_lo: f64,
    sum_hi: f64,
}

impl RunningL1 {
    /// Adds one value.
    pub fn push(&mut self, x: f64) {
        if self.lo.peek().is_none_or(|m| x <= m.0) {
            self.lo.push(F(x));
            self.sum_lo += x;
        } else {
            self.hi.push(Reverse(F(x)));
            self.sum_hi += x;
        }
        if self.lo.len() > self.hi.len() + 1 {
            let v = self.lo.pop().expect("non-empty").0;
            self.sum_lo -= v;
            self.hi.push(Reverse(F(v)));
            self.sum_hi += v;
        } else if self.hi.len() > self.lo.len() {
            let v = self.hi.pop().expect("non-empty").0.0;
            self.sum_hi -= v;
            self.lo.push(F(v));
            self.sum_lo += v;
        }
    }

    /// `Σ |x − median|` over the values pushed so far.
    pub fn cost(&self) -> f64 {
        let Some(m) = self.lo.peek() else { return 0.0 };
        let m = m.0;
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

/// Exact minimizer of `γ·k + Σ L1 cost` on `y`, with every segment at least `min_size` long.
/// Returns the breakpoints (offsets into `y`, first index of each new segment).
pub fn solve_exact(y: &[f64], gamma: f64, min_size: usize) -> Vec<usize> {
    let n = y.len();
    let min_size = min_size.max(1);
    if n < 2 * min_size {
        return Vec::new();
    }
    // cost[i][j - i - 1] = cost of y[i..j]
    let mut cost: Vec<Vec<f64>> = Vec::with_capacity(n);
    for i in 0..n {
        let mut r = RunningL1::default();
        let mut row = Vec::with_capacity(n - i);
        for &v in &y[i..] {
            r.push(v);
            row.push(r.cost());
        }
        cost.push(row);
    }
    let mut best = vec![f64::INFINITY; n + 1];
    let mut prev = vec![0usize; n + 1];
    best[0] = -gamma;
    for j in min_size..=n {
        for i in 0..=j - min_size {
            if i != 0 && i < min_size {
                continue;
            }
            if !best[i].is_finite() {
                continue;
            }
            let v = best[i] + cost[i][j - i - 1] + gamma;
            if v < best[j] {
                best[j] = v;
                prev[j] = i;
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

    #[test]
    fn finds_step_and_ignores_spike() {
        let mut y = vec![10.0; 20];
        y.extend([12.0; 20]);
        y[5] = 100.0; // a spike
        assert_eq!(solve_exact(&y, 3.0, 3), vec![20]);
    }
}

//! Anytime-valid confidence sequences: intervals that hold at every round simultaneously,
//! so a rule that looks after every round and stops at the first clear verdict keeps its
//! error rate (a fixed-n interval checked after every round does not: Armitage, McPherson &
//! Rowe, JRSS A 132, 1969).
//!
//! Both sequences here use Robbins' normal-mixture boundary (Robbins, "Statistical methods
//! related to the law of the iterated logarithm", Ann. Math. Statist. 41, 1970; in this form
//! the mixture SPRT of Johari, Pekelis & Walsh, "Always valid inference", and the
//! "normal mixture" boundary of Howard, Ramdas, McAuliffe & Sekhon, "Time-uniform,
//! nonparametric, nonasymptotic confidence sequences", Ann. Statist. 49, 2021, §3):
//! for i.i.d. σ-sub-Gaussian increments with mean θ and a N(0, ρ²) mixture over θ, Ville's
//! inequality gives, simultaneously for all n with probability ≥ 1 − α,
//!
//! `|x̄ₙ − θ| ≤ sqrt( σ²(σ² + nρ²) / (n²ρ²) · ln((σ² + nρ²) / (σ²α²)) )`.
//!
//! * [`mean_cs`]: the mean of the differences, with σ² replaced by the running sample
//!   variance. That makes it an *asymptotic* confidence sequence (Waudby-Smith, Arbour, Sinha,
//!   Kennedy & Ramdas, "Time-uniform central limit theory and asymptotic confidence
//!   sequences", Ann. Statist. 2024). Good for CPU time, whose paired differences are nearly
//!   Gaussian; fooled by the heavy one-sided bursts of wall time on a shared machine.
//! * [`median_cs`]: a distribution-free sequence for the median, from the sign indicators
//!   `1(dᵢ > θ)`, which are bounded in [0, 1] and hence ½-sub-Gaussian (Hoeffding 1963): the
//!   same boundary with σ² = ¼ is valid non-asymptotically for P(d > θ), and inverting it over
//!   θ gives order statistics of d as bounds. Robust to bursts. Under an A/A comparison run in
//!   randomized interleaved rounds the signs are fair coins whatever the machine does, so
//!   its guarantee is exact there.
//!
//! The mixture width ρ is a tuning knob: it decides *when* the sequence is tightest. It is
//! chosen here to minimise the half-width at a planned round count `n*`; the problem is
//! scale-free (`r = n*ρ²/σ²` minimises `(1 + 1/r)·ln((1 + r)/α²)`), so
//! [`mixture_ratio`] depends on α alone.

/// Half-width of the normal-mixture boundary for the mean of `n` increments with variance
/// proxy `sigma2`, mixture variance `rho2` and error level `alpha`.
pub fn mixture_half_width(sigma2: f64, rho2: f64, n: usize, alpha: f64) -> f64 {
    if n == 0 {
        return f64::INFINITY;
    }
    if sigma2 <= 0.0 {
        return 0.0;
    }
    let nf = n as f64;
    let v = sigma2 + nf * rho2;
    (sigma2 * v / (nf * nf * rho2) * (v / (sigma2 * alpha * alpha)).ln()).sqrt()
}

/// `r* = n*ρ²/σ²` that makes the mixture boundary tightest at `n*` for error level `alpha`:
/// the minimiser of `(1 + 1/r)·ln((1 + r)/α²)` (golden-section search on ln r).
pub fn mixture_ratio(alpha: f64) -> f64 {
    let f = |ln_r: f64| {
        let r = ln_r.exp();
        (1.0 + 1.0 / r) * ((1.0 + r) / (alpha * alpha)).ln()
    };
    let (mut a, mut b) = (-10.0f64, 15.0f64);
    let g = (5f64.sqrt() - 1.0) / 2.0;
    let mut c = b - g * (b - a);
    let mut d = a + g * (b - a);
    for _ in 0..100 {
        if f(c) < f(d) {
            b = d;
        } else {
            a = c;
        }
        c = b - g * (b - a);
        d = a + g * (b - a);
    }
    ((a + b) / 2.0).exp()
}

/// Settings shared by both confidence sequences.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CsParams {
    /// Error level: the sequence covers the truth at all rounds at once with probability ≥ 1 − α.
    pub alpha: f64,
    /// Round count at which the sequence is tuned to be tightest.
    pub n_star: f64,
}

impl Default for CsParams {
    /// α = 0.05, tightest at n* = 200 rounds (perfwatch's defaults).
    fn default() -> Self {
        CsParams { alpha: 0.05, n_star: 200.0 }
    }
}

impl CsParams {
    /// Half-width for `n` increments of variance proxy `sigma2`, ρ tuned for `n*`.
    pub fn half_width(&self, sigma2: f64, n: usize) -> f64 {
        let rho2 = mixture_ratio(self.alpha) * sigma2 / self.n_star;
        mixture_half_width(sigma2, rho2, n, self.alpha)
    }
}

/// Asymptotic confidence sequence for the mean of `d` (running variance plugged in):
/// `(lo, hi)`, or `None` with fewer than two finite values.
pub fn mean_cs(d: &[f64], params: &CsParams) -> Option<(f64, f64)> {
    let x: Vec<f64> = d.iter().copied().filter(|v| v.is_finite()).collect();
    let n = x.len();
    if n < 2 {
        return None;
    }
    let mean = x.iter().sum::<f64>() / n as f64;
    let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let h = params.half_width(var, n);
    Some((mean - h, mean + h))
}

/// Distribution-free confidence sequence for the median of `d` from the sign indicators:
/// with `h = half_width(¼, n)` and `d` sorted ascending (1-based),
/// `[d_(n − ⌊n(½ + h)⌋), d_(n − ⌈n(½ − h)⌉ + 1)]`, ∓∞ where an index leaves `1..=n`.
/// `None` when `d` has no finite value.
pub fn median_cs(d: &[f64], params: &CsParams) -> Option<(f64, f64)> {
    let s = crate::signed_rank::sorted_finite(d);
    median_cs_sorted(&s, params)
}

/// [`median_cs`] on values already sorted ascending (all finite).
pub fn median_cs_sorted(s: &[f64], params: &CsParams) -> Option<(f64, f64)> {
    let n = s.len();
    if n == 0 {
        return None;
    }
    let nf = n as f64;
    let h = params.half_width(0.25, n);
    // θ is excluded from below when #{d > θ} > n(½ + h): the bound is d_(n − k), k = ⌊n(½+h)⌋.
    let k_lo = (nf * (0.5 + h)).floor();
    let lo_index = nf - k_lo;
    let lo = if lo_index < 1.0 { f64::NEG_INFINITY } else { s[lo_index as usize - 1] };
    // θ is excluded from above when #{d > θ} < n(½ − h).
    let hi_index = nf - (nf * (0.5 - h)).ceil() + 1.0;
    let hi = if hi_index > nf { f64::INFINITY } else { s[hi_index.max(1.0) as usize - 1] };
    Some((lo, hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixture_ratio_minimises_the_width() {
        let r = mixture_ratio(0.05);
        let f = |r: f64| (1.0 + 1.0 / r) * ((1.0 + r) / 0.0025f64).ln();
        assert!(f(r) <= f(r * 1.05) && f(r) <= f(r / 1.05));
        // The tuned sequence at n* is wider than the fixed-n 95 % interval (z = 1.96), by
        // the 1.3–1.6× usually quoted as the price of peeking.
        let p = CsParams::default();
        let ratio = p.half_width(1.0, 200) / (1.959964 / 200f64.sqrt());
        assert!((1.3..1.8).contains(&ratio), "ratio {ratio}");
    }

    #[test]
    fn half_width_shrinks_and_scales_with_sigma() {
        let p = CsParams::default();
        assert!(p.half_width(1.0, 400) < p.half_width(1.0, 100));
        let a = p.half_width(1.0, 150);
        let b = p.half_width(4.0, 150);
        assert!((b / a - 2.0).abs() < 1e-12);
    }

    #[test]
    fn median_cs_brackets_the_median_and_is_unbounded_early() {
        let p = CsParams::default();
        let d: Vec<f64> = (1..=3).map(f64::from).collect();
        assert_eq!(median_cs(&d, &p), Some((f64::NEG_INFINITY, f64::INFINITY)));
        let d: Vec<f64> = (1..=1001).map(f64::from).collect();
        let (lo, hi) = median_cs(&d, &p).unwrap();
        assert!(lo < 501.0 && 501.0 < hi, "{lo} {hi}");
        assert!((501.0 - lo - (hi - 501.0)).abs() <= 1.0);
    }
}

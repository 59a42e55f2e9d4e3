//! Wilcoxon signed-rank machinery on paired differences: Walsh averages, the Hodges–Lehmann
//! estimate, the distribution-free confidence interval and the signed-rank test.
//!
//! Sources: Wilcoxon (1945) for the test; Hodges & Lehmann (1963), "Estimates of location based
//! on rank tests", Ann. Math. Statist. 34, for the estimate (median of the Walsh averages
//! (dᵢ + dⱼ)/2, i ≤ j); the interval is the inversion of the signed-rank test, as given by
//! Hollander, Wolfe & Chicken, *Nonparametric Statistical Methods* (3rd ed., §3.3):
//! `[W_(C), W_(M+1−C)]` with `M = n(n+1)/2` Walsh averages sorted ascending and `C − 1` the
//! largest `c` with `P₀(T⁺ ≤ c) ≤ α/2`.
//!
//! The k-th Walsh average is found without materialising all `M` of them (which would need
//! gigabytes after 20 000 rounds): bisection on the value with an O(n) two-pointer count of
//! the averages at or below it, then a snap to the largest average not above the bound.

use statrs::distribution::{ContinuousCDF, Normal};

/// Largest round count for which the exact null distribution of T⁺ is used (as scipy's
/// `wilcoxon(method="auto")` does); the normal approximation beyond.
pub const EXACT_MAX_N: usize = 50;

/// A shift estimate with its confidence interval, on the scale of the differences.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShiftCi {
    /// Hodges–Lehmann estimate: the median of the Walsh averages.
    pub estimate: f64,
    /// Lower bound (−∞ when `n` is too small for the confidence asked).
    pub lo: f64,
    /// Upper bound (+∞ when `n` is too small for the confidence asked).
    pub hi: f64,
    /// Whether the bounds come from the exact null distribution (else the normal approximation).
    pub exact: bool,
}

/// Sorted copy of the finite values of `d`.
pub(crate) fn sorted_finite(d: &[f64]) -> Vec<f64> {
    let mut v: Vec<f64> = d.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    v
}

/// Number of Walsh averages `(s_i + s_j)/2`, `i ≤ j`, that are `≤ t` (`s` sorted ascending).
fn count_walsh_le(s: &[f64], t: f64) -> u64 {
    let n = s.len();
    if n == 0 {
        return 0;
    }
    let two_t = 2.0 * t;
    let mut count = 0u64;
    // j = largest index with s_i + s_j <= 2t; non-increasing as i grows.
    let mut j = n as isize - 1;
    for i in 0..n {
        while j >= 0 && s[i] + s[j as usize] > two_t {
            j -= 1;
        }
        if j < i as isize {
            break;
        }
        count += (j - i as isize + 1) as u64;
    }
    count
}

/// Largest Walsh average that is `≤ t` (`s` sorted ascending, at least one average ≤ t).
fn max_walsh_le(s: &[f64], t: f64) -> f64 {
    let n = s.len();
    let mut best = f64::NEG_INFINITY;
    let mut j = n as isize - 1;
    for i in 0..n {
        while j >= 0 && (s[i] + s[j as usize]) / 2.0 > t {
            j -= 1;
        }
        if j < i as isize {
            break;
        }
        best = best.max((s[i] + s[j as usize]) / 2.0);
    }
    best
}

/// The k-th smallest Walsh average (1-based `k` in `1..=n(n+1)/2`) of sorted `s`.
pub(crate) fn kth_walsh(s: &[f64], k: u64) -> f64 {
    debug_assert!(!s.is_empty());
    let (mut lo, mut hi) = (s[0], s[s.len() - 1]);
    // Invariant: count(lo) < k <= count(hi) once lo is strictly below the answer.
    if count_walsh_le(s, lo) >= k {
        return lo;
    }
    for _ in 0..200 {
        let mid = lo + (hi - lo) / 2.0;
        if mid <= lo || mid >= hi {
            break;
        }
        if count_walsh_le(s, mid) >= k {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    max_walsh_le(s, hi)
}

/// Hodges–Lehmann one-sample (pseudo-median) estimate: the median of the Walsh averages.
/// `None` when `d` has no finite value.
pub fn hodges_lehmann(d: &[f64]) -> Option<f64> {
    let s = sorted_finite(d);
    hl_sorted(&s)
}

pub(crate) fn hl_sorted(s: &[f64]) -> Option<f64> {
    let n = s.len() as u64;
    if n == 0 {
        return None;
    }
    let m = n * (n + 1) / 2;
    Some(if m % 2 == 1 {
        kth_walsh(s, m.div_ceil(2))
    } else {
        (kth_walsh(s, m / 2) + kth_walsh(s, m / 2 + 1)) / 2.0
    })
}

/// Counts of T⁺ = s for s in 0..=n(n+1)/2 under H0 (no ties): the number of subsets of
/// {1..n} summing to s. Exact in f64 while 2ⁿ < 2⁵³.
fn null_counts(n: usize) -> Vec<f64> {
    let m = n * (n + 1) / 2;
    let mut c = vec![0.0; m + 1];
    c[0] = 1.0;
    let mut top = 0;
    for r in 1..=n {
        top += r;
        for s in (r..=top).rev() {
            c[s] += c[s - r];
        }
    }
    c
}

/// `C` of the interval `[W_(C), W_(M+1−C)]`: 1 + the largest `c` with `P₀(T⁺ ≤ c) ≤ α/2`
/// (0 when no such `c` exists, meaning the interval is unbounded).
fn ci_rank(n: usize, alpha: f64) -> (u64, bool) {
    let m = (n * (n + 1) / 2) as u64;
    if n <= EXACT_MAX_N {
        let counts = null_counts(n);
        let total = 2f64.powi(n as i32);
        let mut cum = 0.0;
        let mut c_max: Option<u64> = None;
        for (s, &k) in counts.iter().enumerate() {
            cum += k;
            // Tiny slack so that exactly α/2 counts as "≤ α/2" despite rounding.
            if cum / total <= alpha / 2.0 * (1.0 + 1e-12) {
                c_max = Some(s as u64);
            } else {
                break;
            }
        }
        (c_max.map_or(0, |c| c + 1), true)
    } else {
        let nf = n as f64;
        let z = Normal::standard().inverse_cdf(1.0 - alpha / 2.0);
        let sd = (nf * (nf + 1.0) * (2.0 * nf + 1.0) / 24.0).sqrt();
        // P(T ≤ c) ≈ Φ((c + ½ − M/2)/sd) ≤ α/2  ⇔  c ≤ M/2 − ½ − z·sd.
        let c = (m as f64 / 2.0 - 0.5 - z * sd).floor();
        (if c < 0.0 { 0 } else { c as u64 + 1 }, false)
    }
}

/// Hodges–Lehmann estimate and signed-rank confidence interval of the centre of symmetry
/// of `d` at `confidence` (e.g. 0.95). Non-finite values are ignored; `None` when none is
/// left. Exact for `n ≤` [`EXACT_MAX_N`], normal approximation with continuity correction
/// beyond. The interval uses the untied null distribution (ties, e.g. from a coarse timer,
/// make it slightly conservative rather than anti-conservative).
pub fn signed_rank_ci(d: &[f64], confidence: f64) -> Option<ShiftCi> {
    let s = sorted_finite(d);
    let estimate = hl_sorted(&s)?;
    let n = s.len();
    let m = (n * (n + 1) / 2) as u64;
    let (c, exact) = ci_rank(n, 1.0 - confidence);
    let (lo, hi) = if c == 0 || c > m {
        (f64::NEG_INFINITY, f64::INFINITY)
    } else {
        (kth_walsh(&s, c), kth_walsh(&s, m + 1 - c))
    };
    Some(ShiftCi { estimate, lo, hi, exact })
}

/// Two-sided p-value of the Wilcoxon signed-rank test of "the differences are symmetric
/// about `theta`", computed like `scipy.stats.wilcoxon(d - theta)` with its defaults
/// (`zero_method="wilcox"`: zero differences dropped; average ranks for ties; exact null
/// distribution when `n ≤ 50` and there are no ties, otherwise the tie-corrected normal
/// approximation without continuity correction). `None` when no non-zero difference is left
/// (there is no evidence of any shift then; callers usually treat it as p = 1).
pub fn signed_rank_p_value(d: &[f64], theta: f64) -> Option<f64> {
    let mut x: Vec<f64> = d.iter().map(|v| v - theta).filter(|v| v.is_finite() && *v != 0.0).collect();
    let n = x.len();
    if n == 0 {
        return None;
    }
    x.sort_by(|a, b| a.abs().total_cmp(&b.abs()));
    // Average ranks of |x|, sum of ranks of the positive ones, tie-group sizes.
    let mut r_plus = 0.0;
    let mut tie_term = 0.0;
    let mut has_ties = false;
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && x[j + 1].abs() == x[i].abs() {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        let t = (j - i + 1) as f64;
        if t > 1.0 {
            has_ties = true;
            tie_term += t * t * t - t;
        }
        r_plus += x[i..=j].iter().filter(|v| **v > 0.0).count() as f64 * rank;
        i = j + 1;
    }
    let nf = n as f64;
    let mean = nf * (nf + 1.0) / 4.0;
    let p = if n <= EXACT_MAX_N && !has_ties {
        let counts = null_counts(n);
        let total = 2f64.powi(n as i32);
        let r = r_plus.round() as usize;
        let le: f64 = counts[..=r].iter().sum::<f64>() / total;
        let ge: f64 = counts[r..].iter().sum::<f64>() / total;
        2.0 * le.min(ge)
    } else {
        let var = nf * (nf + 1.0) * (2.0 * nf + 1.0) / 24.0 - tie_term / 48.0;
        if var <= 0.0 {
            return Some(1.0);
        }
        let z = (r_plus - mean) / var.sqrt();
        2.0 * Normal::standard().sf(z.abs())
    };
    Some(p.min(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXACT_SMALL: [f64; 15] = [
        0.012, -0.004, 0.031, 0.008, 0.015, -0.011, 0.022, 0.006, 0.019, 0.001, 0.027, -0.002, 0.014, 0.009,
        0.017,
    ];

    /// `np.round(np.random.default_rng(7).normal(0.01, 0.03, 60), 6)`.
    const APPROX_60: [f64; 60] = [
        0.010037, 0.018962, 0.001776, -0.016718, -0.00364, -0.019749, 0.011804, 0.050206, -0.004766,
        -0.008614, 0.024695, 0.020707, 0.013162, -0.017914, 0.009122, 0.030859, -0.030326, -0.003728,
        -0.047037, -0.028686, -0.045252, 0.002947, -0.028023, 0.018138, 0.014703, 0.004392, -0.065503,
        -0.006161, 0.008545, 0.013399, -0.035904, -0.004333, -0.019356, -0.014265, 0.041827, -0.014226,
        0.009024, 0.036532, -0.007508, 0.006649, 0.013314, 0.011913, -0.026752, 0.012284, 0.050765,
        -0.036414, 0.035781, 0.013581, -0.009244, 0.070012, 0.032868, -0.025979, 0.012235, 0.027301,
        0.004337, 0.030487, 0.008004, 0.030017, 0.053156, -0.01027,
    ];

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-300)
    }

    /// Values from `scipy.stats.wilcoxon(x).pvalue` (scipy 1.17.1, default arguments).
    #[test]
    fn p_values_match_scipy() {
        // Exact null distribution (n ≤ 50, no ties, no zeros).
        let p = signed_rank_p_value(&EXACT_SMALL, 0.0).unwrap();
        assert!(close(p, 0.0042724609375, 1e-12), "{p}");
        let p = signed_rank_p_value(&[-0.5, -1.5, 0.25, -2.0, -0.75, 0.1, -1.1, -0.3, -0.9], 0.0).unwrap();
        assert!(close(p, 0.01953125, 1e-12), "{p}");
        // wilcoxon(np.array(d) - 0.01)
        let p = signed_rank_p_value(&EXACT_SMALL, 0.01).unwrap();
        assert!(close(p, 0.7546088023649585, 1e-12), "{p}");
        // Normal approximation (n > 50).
        let p = signed_rank_p_value(&APPROX_60, 0.0).unwrap();
        assert!(close(p, 0.25079931925595766, 1e-9), "{p}");
        let p = signed_rank_p_value(&APPROX_60, 0.02).unwrap();
        assert!(close(p, 3.629853357340287e-05, 1e-9), "{p}");
        // Ties and a zero: tie-corrected normal approximation, = wilcoxon(x, method="approx").
        let ties = [1.0, 1.0, 2.0, -2.0, 3.0, 3.0, 3.0, -1.0, 4.0, 5.0, 0.0, 2.0];
        let p = signed_rank_p_value(&ties, 0.0).unwrap();
        assert!(close(p, 0.02004466862262744, 1e-9), "{p}");
        assert_eq!(signed_rank_p_value(&[0.0, 0.0], 0.0), None);
    }

    /// The interval is the set of shifts the test does not reject (checked with the scipy-exact
    /// p-values above), also in the normal-approximation regime.
    #[test]
    fn normal_interval_is_close_to_the_test_inversion() {
        let ci = signed_rank_ci(&APPROX_60, 0.95).unwrap();
        assert!(!ci.exact);
        assert!(ci.lo < ci.estimate && ci.estimate < ci.hi);
        // Continuity-corrected bounds vs the uncorrected test: at the bound p is near 0.05.
        let p_lo = signed_rank_p_value(&APPROX_60, ci.lo + 1e-9).unwrap();
        let p_hi = signed_rank_p_value(&APPROX_60, ci.hi - 1e-9).unwrap();
        assert!((0.04..0.07).contains(&p_lo), "{p_lo}");
        assert!((0.04..0.07).contains(&p_hi), "{p_hi}");
    }

    fn brute_walsh(d: &[f64]) -> Vec<f64> {
        let mut w = Vec::new();
        for i in 0..d.len() {
            for j in i..d.len() {
                w.push((d[i] + d[j]) / 2.0);
            }
        }
        w.sort_by(f64::total_cmp);
        w
    }

    #[test]
    fn kth_walsh_matches_brute_force() {
        let d = [0.3, -1.2, 2.5, 0.3, 0.0, 7.1, -0.4, 1.9, 1.9, -3.3, 0.05];
        let s = sorted_finite(&d);
        let w = brute_walsh(&d);
        for k in 1..=w.len() as u64 {
            assert_eq!(kth_walsh(&s, k), w[k as usize - 1], "k = {k}");
        }
    }

    #[test]
    fn hl_of_symmetric_data_is_its_centre() {
        assert_eq!(hodges_lehmann(&[1.0, 2.0, 3.0]), Some(2.0));
        assert_eq!(hodges_lehmann(&[5.0]), Some(5.0));
        assert_eq!(hodges_lehmann(&[]), None);
        assert_eq!(hodges_lehmann(&[f64::NAN]), None);
    }

    #[test]
    fn null_counts_sum_to_two_to_the_n() {
        for n in 1..=20 {
            let c = null_counts(n);
            assert_eq!(c.iter().sum::<f64>(), 2f64.powi(n as i32));
        }
        // n = 3: subsets of {1,2,3} by sum 0..6 = 1,1,1,2,1,1,1.
        assert_eq!(null_counts(3), vec![1.0, 1.0, 1.0, 2.0, 1.0, 1.0, 1.0]);
    }

    #[test]
    fn too_few_rounds_give_an_unbounded_interval() {
        // n = 5: P(T ≤ 0) = 1/32 > 0.025.
        let ci = signed_rank_ci(&[0.1, 0.2, 0.3, 0.4, 0.5], 0.95).unwrap();
        assert!(ci.lo.is_infinite() && ci.hi.is_infinite());
        // n = 6: P(T ≤ 0) = 1/64 ≤ 0.025, so C = 1: the interval is [min, max].
        let ci = signed_rank_ci(&[0.1, 0.2, 0.3, 0.4, 0.5, 0.6], 0.95).unwrap();
        assert_eq!((ci.lo, ci.hi), (0.1, 0.6));
    }

    #[test]
    fn interval_is_the_inversion_of_the_test() {
        // Just inside the exact interval the exact test does not reject at 5%; just
        // outside it does (no ties arise at generic shifts).
        let d = [
            0.012, -0.004, 0.031, 0.008, 0.015, -0.011, 0.022, 0.006, 0.019, 0.001, 0.027, -0.002, 0.014,
            0.009, 0.017,
        ];
        let ci = signed_rank_ci(&d, 0.95).unwrap();
        assert!(ci.exact);
        let eps = 1e-7;
        assert!(signed_rank_p_value(&d, ci.lo + eps).unwrap() >= 0.05);
        assert!(signed_rank_p_value(&d, ci.hi - eps).unwrap() >= 0.05);
        assert!(signed_rank_p_value(&d, ci.lo - eps).unwrap() < 0.05);
        assert!(signed_rank_p_value(&d, ci.hi + eps).unwrap() < 0.05);
    }
}

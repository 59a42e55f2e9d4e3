//! Two-sample rank statistics: Mann–Whitney U, the Hodges–Lehmann shift and its
//! distribution-free confidence interval, and Benjamini–Hochberg adjustment.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use statrs::distribution::{ContinuousCDF, Normal};

/// Result of comparing a candidate sample `y` with a baseline `x` by location shift.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShiftEstimate {
    /// Hodges–Lehmann estimate of the shift y − x: the median of all pairwise differences.
    pub shift: f64,
    /// Distribution-free 95 % CI of the shift.
    pub ci: [f64; 2],
    /// Whether `ci` truly reaches 95 % coverage; `false` when the samples are too small (then
    /// `ci` spans every pairwise difference and must not support a verdict).
    pub ci_valid: bool,
    /// Two-sided Mann–Whitney p-value of "no shift".
    pub p_two_sided: f64,
}

/// Mann–Whitney U of `y` against `x`: the number of pairs with y > x, ties counting ½
/// (Mann & Whitney 1947).
pub fn mann_whitney_u(x: &[f64], y: &[f64]) -> f64 {
    let mut u = 0.0;
    for &b in y {
        for &a in x {
            if b > a {
                u += 1.0;
            } else if b == a {
                u += 0.5;
            }
        }
    }
    u
}

/// Which tail a one-sided p-value covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tail {
    /// Alternative: y tends to be larger than x.
    Greater,
    /// Alternative: y tends to be smaller than x.
    Less,
}

/// One-sided Mann–Whitney p-value of H0 "no shift" against `tail`. Exact null distribution
/// when both samples have at most 50 values and there are no ties (R's `wilcox.test` makes
/// the same choice; scipy's `method="auto"` goes asymptotic above 8, and both agree with
/// `method="exact"` here); otherwise the normal approximation with tie-corrected variance
/// and continuity correction (Hollander, Wolfe & Chicken, *Nonparametric Statistical
/// Methods*, 3rd ed., §4.1), as `scipy.stats.mannwhitneyu(method="asymptotic")`.
/// Empty samples give 1 (no evidence).
pub fn mann_whitney_one_sided(x: &[f64], y: &[f64], tail: Tail) -> f64 {
    let (m, n) = (x.len(), y.len());
    if m == 0 || n == 0 {
        return 1.0;
    }
    let u = mann_whitney_u(x, y);
    let mn = (m * n) as f64;
    // P(U ≥ u) for Greater; P(U ≤ u) = P(U' ≥ mn − u) for Less, by symmetry.
    let u_tail = match tail {
        Tail::Greater => u,
        Tail::Less => mn - u,
    };
    let ties = tie_term(x, y);
    if m <= 50 && n <= 50 && ties == 0.0 {
        let counts = exact_u_counts(m, n);
        let total: f64 = counts.iter().sum();
        let from = u_tail.ceil() as usize;
        return (counts[from.min(counts.len())..].iter().sum::<f64>() / total).clamp(0.0, 1.0);
    }
    let n_all = (m + n) as f64;
    let var = mn / 12.0 * ((n_all + 1.0) - ties / (n_all * (n_all - 1.0)));
    if var <= 0.0 {
        return 1.0; // every value identical: no evidence of any shift
    }
    let z = (u_tail - mn / 2.0 - 0.5) / var.sqrt();
    standard_normal_sf(z)
}

/// One-sided p-value of H0 "y − x is shifted by at most `delta`" (for [`Tail::Greater`]) or
/// "by at least `delta`" (for [`Tail::Less`]): the Mann–Whitney test of `y − delta` against
/// `x` (Lehmann, *Nonparametrics*, 1975, §2.6: shift hypotheses are tested on the shifted
/// sample). With `delta = ln(1 + τ)` on log values this is the evidence that a regression
/// exceeds the threshold τ, the p-value that Benjamini–Hochberg adjusts across a suite.
pub fn mann_whitney_shift_p(x: &[f64], y: &[f64], delta: f64, tail: Tail) -> f64 {
    let moved: Vec<f64> = y.iter().map(|v| v - delta).collect();
    mann_whitney_one_sided(x, &moved, tail)
}

/// Two-sided Mann–Whitney p-value: twice the smaller one-sided value, capped at 1.
pub fn mann_whitney_two_sided(x: &[f64], y: &[f64]) -> f64 {
    let g = mann_whitney_one_sided(x, y, Tail::Greater);
    let l = mann_whitney_one_sided(x, y, Tail::Less);
    (2.0 * g.min(l)).min(1.0)
}

/// Hodges–Lehmann shift of `y` relative to `x` with the 95 % CI obtained by inverting the
/// Mann–Whitney test (Hodges & Lehmann 1963; Lehmann, *Nonparametrics*, 1975, §2.6):
/// with the N = mn differences sorted, CI = [D₍c₎, D₍N−c+1₎] where c is the lower α/2
/// quantile of U — exact for samples ≤ 50 (as R's `wilcox.test(conf.int = TRUE)` does),
/// else c = ⌊mn/2 − z₀.₉₇₅·√(mn(m+n+1)/12)⌋.
pub fn hodges_lehmann(x: &[f64], y: &[f64]) -> Option<ShiftEstimate> {
    let (m, n) = (x.len(), y.len());
    if m == 0 || n == 0 || x.iter().chain(y).any(|v| !v.is_finite()) {
        return None;
    }
    let mut diffs: Vec<f64> = Vec::with_capacity(m * n);
    for &b in y {
        for &a in x {
            diffs.push(b - a);
        }
    }
    diffs.sort_by(f64::total_cmp);
    let big_n = diffs.len();
    let shift = crate::quantile_sorted(&diffs, 0.5);
    let c = if m <= 50 && n <= 50 {
        let counts = exact_u_counts(m, n);
        let total: f64 = counts.iter().sum();
        // smallest q with P(U ≤ q) ≥ α/2 (R's qwilcox), as a 1-based rank.
        let mut cdf = 0.0;
        let mut q = 0;
        for (u, c) in counts.iter().enumerate() {
            cdf += c / total;
            if cdf >= 0.025 - 1e-12 {
                q = u;
                break;
            }
        }
        q
    } else {
        let mn = (m * n) as f64;
        let sd = (mn * (m + n + 1) as f64 / 12.0).sqrt();
        (mn / 2.0 - 1.959_963_984_540_054 * sd).floor().max(0.0) as usize
    };
    // c = 0 means even [min, max] of the differences covers less than 95 %.
    let ci_valid = c >= 1;
    let c = c.max(1);
    Some(ShiftEstimate {
        shift,
        ci: [diffs[c - 1], diffs[big_n - c]],
        ci_valid,
        p_two_sided: mann_whitney_two_sided(x, y),
    })
}

/// Benjamini–Hochberg adjusted p-values (Benjamini & Hochberg 1995, JRSS B 57(1)); equal to
/// R's `p.adjust(p, method = "BH")`: p̃₍ᵢ₎ = min_{j ≥ i} min(1, m·p₍ⱼ₎ / j).
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut adjusted = vec![1.0; m];
    let mut running = 1.0f64;
    for rank in (0..m).rev() {
        let i = order[rank];
        running = running.min(p[i] * m as f64 / (rank + 1) as f64).min(1.0);
        adjusted[i] = running;
    }
    adjusted
}

/// Σ (t³ − t) over groups of tied values in the pooled sample.
fn tie_term(x: &[f64], y: &[f64]) -> f64 {
    let mut all: Vec<f64> = x.iter().chain(y).copied().collect();
    all.sort_by(f64::total_cmp);
    let mut term = 0.0;
    let mut i = 0;
    while i < all.len() {
        let mut j = i + 1;
        while j < all.len() && all[j] == all[i] {
            j += 1;
        }
        let t = (j - i) as f64;
        term += t * t * t - t;
        i = j;
    }
    term
}

/// Number of arrangements giving each value of U for sample sizes (m, n) without ties, by
/// the recurrence f(m, n, u) = f(m − 1, n, u − n) + f(m, n − 1, u) (Mann & Whitney 1947).
/// Counts are kept as f64 (they exceed u64 for m = n = 50; only ratios matter). Memoised per
/// thread: suites compare many cases with the same sample sizes (the cache is emptied when it
/// holds more than [`CACHE_LIMIT`] size pairs, so memory stays bounded).
fn exact_u_counts(m: usize, n: usize) -> Rc<Vec<f64>> {
    thread_local! {
        static CACHE: RefCell<UCountCache> = Default::default();
    }
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.len() >= CACHE_LIMIT && !cache.contains_key(&(m, n)) {
            cache.clear();
        }
        cache.entry((m, n)).or_insert_with(|| Rc::new(compute_u_counts(m, n))).clone()
    })
}

/// Null distributions of U by sample sizes (m, n).
type UCountCache = HashMap<(usize, usize), Rc<Vec<f64>>>;

/// Most (m, n) null distributions kept per thread (each at most 2,501 values).
const CACHE_LIMIT: usize = 64;

fn compute_u_counts(m: usize, n: usize) -> Vec<f64> {
    // table[j][u] = f(i, j, u) for the current i, built up row by row.
    let mut table: Vec<Vec<f64>> = (0..=n).map(|_| vec![1.0]).collect(); // i = 0: only u = 0
    for i in 1..=m {
        let mut next: Vec<Vec<f64>> = Vec::with_capacity(n + 1);
        next.push(vec![1.0]); // j = 0: only u = 0
        for j in 1..=n {
            let mut row = vec![0.0; i * j + 1];
            for (u, slot) in row.iter_mut().enumerate() {
                let from_x = if u >= j { table[j].get(u - j).copied().unwrap_or(0.0) } else { 0.0 };
                let from_y = next[j - 1].get(u).copied().unwrap_or(0.0);
                *slot = from_x + from_y;
            }
            next.push(row);
        }
        table = next;
    }
    table.pop().unwrap_or_else(|| vec![1.0])
}

fn standard_normal_sf(z: f64) -> f64 {
    // Normal::new(0, 1) cannot fail.
    Normal::new(0.0, 1.0).map(|n| n.sf(z)).unwrap_or(0.5)
}

#[cfg(test)]
#[allow(clippy::approx_constant)] // 3.14 in the reference data is a measurement, not π
mod tests {
    use super::*;

    // Reference values from scipy 1.16 / R 4.x, reproducible with:
    //   from scipy.stats import mannwhitneyu
    //   x = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30]
    //   y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29]
    //   mannwhitneyu(y, x, alternative="greater", method="exact")  (no ties → exact)
    const X: [f64; 9] = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30];
    const Y: [f64; 9] = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29];
    const GREATER: f64 = 0.943253805018511;
    const LESS: f64 = 0.06795557383792677;
    const TWO_SIDED: f64 = 0.13591114767585355;
    const ASYM_A: [f64; 60] = [
        1.0352, 1.0856, 1.0336, 0.8778, 1.0948, 1.0456, 0.9477, 1.0598, 1.0371, 1.0299, 1.0028, 1.0562,
        0.929, 0.9838, 0.9529, 1.0617, 1.004, 0.9712, 0.9248, 0.9746, 1.0008, 0.9728, 1.1382, 1.1059, 0.7625,
        0.8279, 0.9827, 0.9587, 1.0216, 1.022, 1.2359, 0.8948, 0.9629, 1.2266, 1.0668, 1.0686, 0.9499,
        0.8481, 1.0169, 1.011, 0.8845, 0.934, 0.9928, 0.9099, 0.9902, 1.0096, 1.0036, 0.9506, 1.0612, 1.0932,
        1.0326, 0.9214, 1.0759, 0.9511, 1.0919, 0.8984, 1.0958, 0.998, 0.8826, 0.9691,
    ];
    const ASYM_B: [f64; 60] = [
        1.057, 1.0803, 0.9529, 0.9411, 1.0725, 1.0033, 1.0763, 1.1342, 0.8915, 1.0784, 1.1882, 1.0205,
        0.9694, 1.1334, 1.0783, 1.1498, 1.0156, 0.9065, 1.0398, 1.0054, 1.136, 1.0718, 0.8931, 0.9328,
        1.1484, 1.1252, 0.9861, 1.0512, 1.0992, 1.1017, 1.1475, 1.0786, 1.0413, 1.0244, 1.1683, 0.8394,
        1.0368, 1.0547, 0.9116, 1.0868, 0.985, 1.146, 1.0382, 1.124, 1.1875, 1.0923, 0.9631, 0.9035, 1.2527,
        1.0396, 0.9813, 1.0665, 1.0313, 1.1448, 1.0548, 1.0527, 0.9788, 1.1018, 0.948, 1.1237,
    ];

    #[test]
    fn exact_counts_are_the_known_distribution() {
        // m = n = 2: U ∈ {0,1,2,3,4} with counts 1,1,2,1,1 (6 arrangements).
        assert_eq!(*exact_u_counts(2, 2), vec![1.0, 1.0, 2.0, 1.0, 1.0]);
        let c = exact_u_counts(9, 9);
        assert_eq!(c.iter().sum::<f64>(), 48620.0); // C(18, 9)
    }

    #[test]
    fn exact_p_values_match_scipy() {
        // y with its ties broken so the exact distribution applies:
        // mannwhitneyu(y2, x, method="exact"): greater 0.943253805018511, less 0.06795557383792677,
        // two-sided 0.13591114767585355
        let y2 = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.07, 3.14, 1.28];
        let g = mann_whitney_one_sided(&X, &y2, Tail::Greater);
        let l = mann_whitney_one_sided(&X, &y2, Tail::Less);
        assert!((g - GREATER).abs() < 1e-12, "{g}");
        assert!((l - LESS).abs() < 1e-12, "{l}");
        assert!((mann_whitney_two_sided(&X, &y2) - TWO_SIDED).abs() < 1e-12);
    }

    #[test]
    fn asymptotic_p_values_with_ties_match_scipy() {
        // numpy default_rng(1): a = round(lognormal(0, .1, 60), 4), b = round(lognormal(.05, .1, 60), 4)
        // mannwhitneyu(b, a, method="asymptotic"): two-sided 0.001036581852836867,
        // greater 0.0005182909264184335; U = 2425.5
        let (a, b) = (&ASYM_A[..], &ASYM_B[..]);
        assert_eq!(mann_whitney_u(a, b), 2425.5);
        assert!((mann_whitney_two_sided(a, b) - 0.001_036_581_852_836_867).abs() < 1e-12);
        assert!((mann_whitney_one_sided(a, b, Tail::Greater) - 0.000_518_290_926_418_433_5).abs() < 1e-12);
    }

    #[test]
    fn shifted_one_sided_p_values_match_scipy() {
        // mannwhitneyu([v + 0.5 for v in y2], x, alternative="greater", method="exact")
        //   = 0.6347799259563965 ("less": 0.3980872069107363)
        // mannwhitneyu([v - 0.02 for v in ASYM_B], ASYM_A, alternative="greater",
        //   method="asymptotic") = 0.01932154989936155
        let y2 = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.07, 3.14, 1.28];
        let g = mann_whitney_shift_p(&X, &y2, -0.5, Tail::Greater);
        let l = mann_whitney_shift_p(&X, &y2, -0.5, Tail::Less);
        assert!((g - 0.634_779_925_956_396_5).abs() < 1e-12, "{g}");
        assert!((l - 0.398_087_206_910_736_3).abs() < 1e-12, "{l}");
        let a = mann_whitney_shift_p(&ASYM_A, &ASYM_B, 0.02, Tail::Greater);
        assert!((a - 0.019_321_549_899_361_55).abs() < 1e-12, "{a}");
        assert_eq!(mann_whitney_one_sided(&[], &[1.0], Tail::Greater), 1.0);
    }

    #[test]
    fn hodges_lehmann_ci_matches_brute_force_enumeration() {
        // Brute-force null distribution of U over all C(18, 9) rank assignments (Python,
        // itertools): qwilcox(0.025, 9, 9) = 18, so CI = [D(18), D(64)] = [-1.183, 0.37];
        // HL = median of the 81 differences = -0.56.
        let e = hodges_lehmann(&X, &Y).unwrap();
        assert!((e.shift - -0.56).abs() < 1e-12);
        assert!((e.ci[0] - -1.183).abs() < 1e-12 && (e.ci[1] - 0.37).abs() < 1e-12, "{:?}", e.ci);
        assert!(e.ci_valid);
        // Three against three cannot reach 95 %: 2 / C(6, 3) = 0.1.
        assert!(!hodges_lehmann(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]).unwrap().ci_valid);
        assert!(hodges_lehmann(&[1.0, 2.0, 3.0, 3.5], &[4.0, 5.0, 6.0, 7.0]).unwrap().ci_valid);
    }

    #[test]
    fn benjamini_hochberg_matches_r() {
        // p.adjust(c(0.01, 0.04, 0.03, 0.005, 0.5), "BH") = 0.025 0.05 0.05 0.025 0.5
        let adj = benjamini_hochberg(&[0.01, 0.04, 0.03, 0.005, 0.5]);
        let want = [0.025, 0.05, 0.05, 0.025, 0.5];
        for (a, w) in adj.iter().zip(want) {
            assert!((a - w).abs() < 1e-12, "{adj:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn shifting_y_shifts_the_estimate_and_ci(
            x in proptest::collection::vec(0.0f64..100.0, 4..30),
            y in proptest::collection::vec(0.0f64..100.0, 4..30),
            k in -50i32..50,
        ) {
            // Shifts by integers keep the arithmetic exact on these dyadic-free values only
            // approximately; compare with a tolerance.
            let d = k as f64;
            let base = hodges_lehmann(&x, &y).unwrap();
            let moved: Vec<f64> = y.iter().map(|v| v + d).collect();
            let shifted = hodges_lehmann(&x, &moved).unwrap();
            proptest::prop_assert!((shifted.shift - base.shift - d).abs() < 1e-9);
            proptest::prop_assert!((shifted.ci[0] - base.ci[0] - d).abs() < 1e-9);
            proptest::prop_assert!((shifted.ci[1] - base.ci[1] - d).abs() < 1e-9);
            proptest::prop_assert!(base.ci[0] <= base.shift && base.shift <= base.ci[1]);
        }

        #[test]
        fn bh_adjusted_values_are_at_least_raw_and_keep_the_order(
            p in proptest::collection::vec(0.0f64..1.0, 1..50),
        ) {
            let adj = benjamini_hochberg(&p);
            for (a, r) in adj.iter().zip(&p) {
                proptest::prop_assert!(*a >= *r - 1e-15 && *a <= 1.0);
            }
            for i in 0..p.len() {
                for j in 0..p.len() {
                    if p[i] <= p[j] {
                        proptest::prop_assert!(adj[i] <= adj[j]);
                    }
                }
            }
        }

        #[test]
        fn log_scale_estimate_ignores_the_unit_and_the_order(
            x in proptest::collection::vec(0.01f64..10.0, 6..25),
            y in proptest::collection::vec(0.01f64..10.0, 6..25),
            scale in 1e-3f64..1e3,
        ) {
            // On log values a common change of unit is a common shift: the estimate, CI and
            // p-value of y against x must not move (beyond rounding); reversing the samples
            // must not matter either.
            let ln = |v: &[f64], k: f64| v.iter().map(|a| (a * k).ln()).collect::<Vec<_>>();
            let base = hodges_lehmann(&ln(&x, 1.0), &ln(&y, 1.0)).unwrap();
            let scaled = hodges_lehmann(&ln(&x, scale), &ln(&y, scale)).unwrap();
            proptest::prop_assert!((base.shift - scaled.shift).abs() < 1e-9);
            proptest::prop_assert!((base.ci[0] - scaled.ci[0]).abs() < 1e-9);
            proptest::prop_assert!((base.ci[1] - scaled.ci[1]).abs() < 1e-9);
            let (mut xr, mut yr) = (x.clone(), y.clone());
            xr.reverse();
            yr.reverse();
            let rev = hodges_lehmann(&ln(&xr, 1.0), &ln(&yr, 1.0)).unwrap();
            proptest::prop_assert_eq!((rev.shift, rev.ci, rev.p_two_sided), (base.shift, base.ci, base.p_two_sided));
        }
    }
}

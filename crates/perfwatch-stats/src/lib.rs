//! Pure statistics for perfwatch (no I/O).
//!
//! Every estimator names its source. Samples are plain `f64` slices in SI units.
//!
//! ```
//! use perfwatch_model::{Better, MetricInfo};
//! let s = perfwatch_stats::summarize(&[3.0, 1.0, 2.0, 5.0, 4.0, 6.0, 7.0], &MetricInfo::new("s", Better::Lower));
//! assert_eq!(s.median, 4.0);
//! assert_eq!(s.ci95, [1.0, 7.0]);
//! ```

pub mod rank;
pub mod sequence;
pub mod signed_rank;

use perfwatch_model::{MetricInfo, Summary};
use statrs::distribution::{Binomial, DiscreteCDF};

/// Modified z-score above which a sample is flagged as an outlier (Iglewicz & Hoaglin 1993,
/// "How to Detect and Handle Outliers", §3.2: |M| > 3.5 with M = 0.6745 (x − median) / MAD).
pub const OUTLIER_Z: f64 = 3.5;

/// Summary statistics of `samples` (in measured order): median with a 95 % CI, mean,
/// stddev, MAD, min, max, p95, p99 and an outlier count. Non-finite samples are ignored;
/// an empty input gives a summary of zeros with `n = 0`.
pub fn summarize(samples: &[f64], info: &MetricInfo) -> Summary {
    let kept: Vec<f64> = samples.iter().copied().filter(|x| x.is_finite()).collect();
    let mut sorted = kept.clone();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    if n == 0 {
        return Summary {
            unit: info.unit.clone(),
            better: info.better,
            n: 0,
            median: 0.0,
            ci95: [0.0, 0.0],
            mean: 0.0,
            stddev: 0.0,
            mad: 0.0,
            min: 0.0,
            max: 0.0,
            p95: 0.0,
            p99: 0.0,
            outliers: 0,
            samples: kept,
        };
    }
    let median = quantile_sorted(&sorted, 0.5);
    let (mean, stddev) = mean_and_stddev(&sorted);
    let mad = mad_sorted(&sorted, median);
    let outliers = count_outliers(&sorted, median, mad);
    let ci95 = median_ci_sorted(&sorted).unwrap_or([sorted[0], sorted[n - 1]]);
    Summary {
        unit: info.unit.clone(),
        better: info.better,
        n: n as u32,
        median,
        ci95,
        mean,
        stddev,
        mad,
        min: sorted[0],
        max: sorted[n - 1],
        p95: quantile_sorted(&sorted, 0.95),
        p99: quantile_sorted(&sorted, 0.99),
        outliers,
        samples: kept,
    }
}

/// Arithmetic mean and sample standard deviation (n − 1; 0 for one sample), finite for any
/// finite input. The textbook two-pass formulas overflow near `f64::MAX` (two samples of
/// 1.7e308 sum to infinity), which would put `null` into a JSON report; then both are computed
/// on the samples divided by their largest magnitude and scaled back (the usual rescaling of
/// LAPACK's `dnrm2`), and a standard deviation still beyond `f64::MAX` saturates to it.
fn mean_and_stddev(samples: &[f64]) -> (f64, f64) {
    let n = samples.len() as f64;
    let two_pass = |xs: &mut dyn Iterator<Item = f64>, values: &[f64]| {
        let mean = xs.sum::<f64>() / n;
        let var = if values.len() > 1 {
            values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
        } else {
            0.0
        };
        (mean, var.sqrt())
    };
    let (mean, sd) = two_pass(&mut samples.iter().copied(), samples);
    if mean.is_finite() && sd.is_finite() {
        return (mean, sd);
    }
    let scale = samples.iter().fold(0.0_f64, |m, x| m.max(x.abs()));
    let scaled: Vec<f64> = samples.iter().map(|x| x / scale).collect();
    let (m, s) = two_pass(&mut scaled.iter().copied(), &scaled);
    // |m| ≤ 1, so the mean scales back finite; the deviation may not.
    (m * scale, (s * scale).min(f64::MAX))
}

/// Relative half-width of the 95 % CI of the median, `(hi − lo) / 2 / |median|`;
/// `None` when there are too few samples for a 95 % interval (n ≤ 5) or the median is 0.
/// Used for precision-based stopping.
pub fn median_ci_relative_half_width(samples: &[f64]) -> Option<f64> {
    let mut sorted: Vec<f64> = samples.iter().copied().filter(|x| x.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    let [lo, hi] = median_ci_sorted(&sorted)?;
    let median = quantile_sorted(&sorted, 0.5);
    // Saturates: a tiny median (or an interval spanning ±f64::MAX) would give infinity.
    (median != 0.0).then(|| ((hi / 2.0 - lo / 2.0) / median.abs()).min(f64::MAX))
}

/// Consistency constant 1/Φ⁻¹(¾) ≈ 1.4826 that makes the MAD estimate the standard deviation
/// of normal data (Rousseeuw & Croux 1993, JASA 88(424); scipy's `scale="normal"`).
pub const MAD_TO_SD: f64 = 1.482_602_218_505_602;

/// Robust coefficient of variation, 1.4826·MAD / |median|: the relative spread that the
/// noise caveat reports, insensitive to a few slow outliers (unlike stddev / mean). `None`
/// for no finite samples or a median of 0.
pub fn robust_cv(samples: &[f64]) -> Option<f64> {
    let mut sorted: Vec<f64> = samples.iter().copied().filter(|x| x.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    if sorted.is_empty() {
        return None;
    }
    let median = quantile_sorted(&sorted, 0.5);
    (median != 0.0).then(|| (MAD_TO_SD * mad_sorted(&sorted, median) / median.abs()).min(f64::MAX))
}

/// Quantile of sorted data by linear interpolation between order statistics: definition 7 of
/// Hyndman & Fan (1996), "Sample quantiles in statistical packages", The American
/// Statistician 50(4) — the default of R's `quantile` and numpy's `percentile`. `sorted` must
/// be ascending; `p` is clamped to [0, 1]; an empty slice gives NaN (the one sentinel here:
/// [`summarize`] never passes an empty slice).
pub fn quantile_sorted(sorted: &[f64], p: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        n => {
            let h = (n - 1) as f64 * p.clamp(0.0, 1.0);
            let lo = h.floor() as usize;
            let hi = (lo + 1).min(n - 1);
            let (a, b, f) = (sorted[lo], sorted[hi], h - lo as f64);
            let x = a + f * (b - a);
            // b − a overflows when the two straddle zero near ±f64::MAX; the weighted form
            // cannot (each term is at most one of them in magnitude).
            if x.is_finite() { x } else { a * (1.0 - f) + b * f }
        }
    }
}

/// Median absolute deviation from the median, unscaled (scipy.stats.median_abs_deviation
/// with its default `scale=1.0`; Hampel 1974).
fn mad_sorted(sorted: &[f64], median: f64) -> f64 {
    // A deviation beyond f64::MAX (samples near both ends of the range) saturates.
    let mut dev: Vec<f64> = sorted.iter().map(|x| (x - median).abs().min(f64::MAX)).collect();
    dev.sort_by(f64::total_cmp);
    quantile_sorted(&dev, 0.5)
}

/// Samples whose modified z-score exceeds [`OUTLIER_Z`]. With MAD = 0 (over half the samples
/// identical) any sample off the median would have an infinite score; then the mean absolute
/// deviation stands in, with the constant 0.7979 ≈ sqrt(2/π) that IBM SPSS and Iglewicz &
/// Hoaglin's follow-up literature use for this case.
fn count_outliers(sorted: &[f64], median: f64, mad: f64) -> u32 {
    let (scale, k) = if mad > 0.0 {
        (mad, 0.6745)
    } else {
        let meanad = sorted.iter().map(|x| (x - median).abs()).sum::<f64>() / sorted.len() as f64;
        if meanad == 0.0 {
            return 0;
        }
        (meanad, 0.7979)
    };
    sorted.iter().filter(|x| (k * (*x - median) / scale).abs() > OUTLIER_Z).count() as u32
}

/// Distribution-free 95 % CI of the median from order statistics: the interval
/// [x₍ₖ₎, x₍ₙ₋ₖ₊₁₎] covers the population median with probability 1 − 2·P(B ≤ k − 1),
/// B ~ Binomial(n, ½) (Conover, *Practical Nonparametric Statistics*, 3rd ed., §3.2).
/// Takes the largest k (narrowest interval) with coverage ≥ 95 %; `None` for n ≤ 5, where
/// even [min, max] covers only 1 − 2/2ⁿ < 95 %.
fn median_ci_sorted(sorted: &[f64]) -> Option<[f64; 2]> {
    let n = sorted.len();
    let binom = Binomial::new(0.5, n as u64).ok()?;
    // P(B ≤ k−1) ≤ 0.025 ⇔ coverage ≥ 0.95; search k from the middle outwards.
    let mut best = None;
    for k in 1..=n / 2 {
        if binom.cdf((k - 1) as u64) <= 0.025 {
            best = Some(k);
        } else {
            break;
        }
    }
    best.map(|k| [sorted[k - 1], sorted[n - k]])
}

#[cfg(test)]
mod tests {
    use super::*;
    use perfwatch_model::Better;

    fn info() -> MetricInfo {
        MetricInfo::new("s", Better::Lower)
    }

    #[test]
    fn matches_numpy_and_scipy() {
        // numpy 1.26 / scipy 1.16:
        // x = [0.051, 0.0502, 0.0499, 0.0505, 0.0601, 0.0503, 0.0500, 0.0504, 0.0498, 0.0507]
        // np.median(x) = 0.05035, np.percentile(x, 95) = 0.056005, np.percentile(x, 99) = 0.059281,
        // np.std(x, ddof=1) = 0.0031171390016416587, scipy.stats.median_abs_deviation(x) = 0.00035
        let x = [0.051, 0.0502, 0.0499, 0.0505, 0.0601, 0.0503, 0.0500, 0.0504, 0.0498, 0.0507];
        let s = summarize(&x, &info());
        assert!((s.median - 0.05035).abs() < 1e-12);
        assert!((s.p95 - 0.056005).abs() < 1e-12, "{}", s.p95);
        assert!((s.p99 - 0.059281).abs() < 1e-12, "{}", s.p99);
        assert!((s.mad - 0.00035).abs() < 1e-12, "{}", s.mad);
        let sd = 0.003_117_139_001_641_658_7;
        assert!((s.stddev - sd).abs() < 1e-15, "{}", s.stddev);
        assert_eq!(s.outliers, 1, "0.0601 is far out");
        // n = 10: k = 2 (P(B ≤ 1) = 11/1024 ≤ 0.025 < P(B ≤ 2) = 56/1024).
        assert_eq!(s.ci95, [0.0499, 0.051]);
        // scipy.stats.median_abs_deviation(x, scale="normal") / np.median(x) = 0.010306073018410331
        assert!((robust_cv(&x).unwrap() - 0.010_306_073_018_410_331).abs() < 1e-12);
        assert_eq!(robust_cv(&[]), None);
        assert_eq!(robust_cv(&[0.0, 0.0, 1.0]), None);
    }

    #[test]
    fn median_ci_ranks_match_the_binomial_rule() {
        // scipy.stats.binom.cdf(k - 1, n, 0.5) <= 0.025 for the largest k:
        //   [max(k for k in range(1, n // 2 + 1) if binom.cdf(k - 1, n, .5) <= .025) for n in ns]
        //   ns = [6, 9, 20, 30, 100] -> [1, 2, 6, 10, 40]
        for (n, k) in [(6usize, 1usize), (9, 2), (20, 6), (30, 10), (100, 40)] {
            let xs: Vec<f64> = (1..=n).map(|i| i as f64).collect();
            assert_eq!(median_ci_sorted(&xs), Some([k as f64, (n + 1 - k) as f64]), "n = {n}");
        }
    }

    #[test]
    fn bad_input_gives_sentinels_not_panics() {
        let s = summarize(&[f64::NAN, 1.0, f64::INFINITY, 3.0], &info());
        assert_eq!((s.n, s.median, s.samples.len()), (2, 2.0, 2));
        assert_eq!(median_ci_relative_half_width(&[]), None);
        assert_eq!(median_ci_relative_half_width(&[0.0; 10]), None);
        let zeros = summarize(&[0.0; 10], &info());
        assert_eq!((zeros.mad, zeros.outliers, zeros.ci95), (0.0, 0, [0.0, 0.0]));
        // MAD = 0 with one odd value: the mean absolute deviation takes over.
        assert_eq!(summarize(&[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 9.0], &info()).outliers, 1);
    }

    #[test]
    fn tiny_samples_have_no_95_percent_interval() {
        assert_eq!(median_ci_relative_half_width(&[1.0, 2.0, 3.0, 4.0, 5.0]), None);
        assert!(median_ci_relative_half_width(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).is_some());
        let s = summarize(&[2.0], &info());
        assert_eq!((s.median, s.ci95, s.n), (2.0, [2.0, 2.0], 1));
        assert_eq!(summarize(&[], &info()).n, 0);
    }

    #[test]
    fn samples_near_the_ends_of_the_range_give_finite_statistics() {
        // Two samples of 1.7e308 sum to infinity in the textbook mean.
        let s = summarize(&[f64::MAX, f64::MAX, f64::MAX], &info());
        assert_eq!((s.mean, s.stddev, s.median, s.mad), (f64::MAX, 0.0, f64::MAX, 0.0));
        // Straddling zero: the true standard deviation (MAX·√2) is beyond f64 and saturates;
        // the median interpolates between -MAX and MAX without forming their difference.
        let s = summarize(&[-f64::MAX, f64::MAX], &info());
        assert_eq!((s.mean, s.stddev, s.median), (0.0, f64::MAX, 0.0));
        // A spread that only the squares overflow: sd of ±MAX/2 is MAX/√2, as scipy's
        // np.std([-a, a], ddof=1) = a·√2 for a = MAX/2.
        let a = f64::MAX / 2.0;
        let s = summarize(&[-a, a], &info());
        assert!((s.stddev / (a * std::f64::consts::SQRT_2) - 1.0).abs() < 1e-12, "{}", s.stddev);
        // Ordinary samples keep the two-pass results exactly.
        let s = summarize(&[1.0, 2.0, 3.0, 4.0], &info());
        assert_eq!((s.mean, s.stddev), (2.5, (5.0f64 / 3.0).sqrt()));
    }

    /// Any finite f64: normal, subnormal or zero, either sign, the extremes included.
    fn any_finite() -> impl proptest::strategy::Strategy<Value = f64> {
        use proptest::prelude::*;
        prop_oneof![
            proptest::num::f64::NORMAL
                | proptest::num::f64::SUBNORMAL
                | proptest::num::f64::ZERO
                | proptest::num::f64::NEGATIVE
                | proptest::num::f64::POSITIVE,
            Just(f64::MAX),
            Just(-f64::MAX),
            Just(f64::MIN_POSITIVE),
        ]
    }

    proptest::proptest! {
        #[test]
        fn every_statistic_of_finite_samples_is_finite(xs in proptest::collection::vec(any_finite(), 1..60)) {
            let s = summarize(&xs, &info());
            for (name, v) in [("median", s.median), ("mean", s.mean), ("stddev", s.stddev), ("mad", s.mad),
                ("min", s.min), ("max", s.max), ("p95", s.p95), ("p99", s.p99), ("ci lo", s.ci95[0]), ("ci hi", s.ci95[1])] {
                proptest::prop_assert!(v.is_finite(), "{} = {} for {:?}", name, v, xs);
            }
            // Within the samples' range, up to rounding (a few ulps).
            let slack = |v: f64| v.abs() * 1e-12 + 1e-300;
            proptest::prop_assert!(s.min - slack(s.min) <= s.median && s.median <= s.max + slack(s.max));
            proptest::prop_assert!(s.min - slack(s.min) <= s.mean && s.mean <= s.max + slack(s.max),
                "mean {} outside [{}, {}]", s.mean, s.min, s.max);
        }

        #[test]
        fn median_lies_in_ci_within_range(xs in proptest::collection::vec(-1e6f64..1e6, 1..200)) {
            let s = summarize(&xs, &info());
            proptest::prop_assert!(s.min <= s.ci95[0] && s.ci95[0] <= s.median);
            proptest::prop_assert!(s.median <= s.ci95[1] && s.ci95[1] <= s.max);
            proptest::prop_assert!(s.median <= s.p95 + 1e-9 && s.p95 <= s.p99 + 1e-9);
        }

        #[test]
        fn summary_scales_with_the_unit(xs in proptest::collection::vec(0.001f64..10.0, 1..100), k in 1e-3f64..1e3) {
            let a = summarize(&xs, &info());
            let scaled: Vec<f64> = xs.iter().map(|x| x * k).collect();
            let b = summarize(&scaled, &info());
            let close = |u: f64, v: f64| (u * k - v).abs() <= 1e-9 * v.abs().max(1e-12);
            proptest::prop_assert!(close(a.median, b.median) && close(a.ci95[0], b.ci95[0]) && close(a.ci95[1], b.ci95[1]));
            proptest::prop_assert!(close(a.p95, b.p95) && close(a.p99, b.p99) && close(a.mad, b.mad));
            proptest::prop_assert_eq!(a.outliers, b.outliers);
        }

        #[test]
        fn order_does_not_matter(mut xs in proptest::collection::vec(0.0f64..10.0, 1..100)) {
            let a = summarize(&xs, &info());
            xs.reverse();
            let b = summarize(&xs, &info());
            proptest::prop_assert_eq!((a.median, a.ci95, a.p95, a.outliers), (b.median, b.ci95, b.p95, b.outliers));
        }
    }
}

//! Two-sample Student t-test from summary statistics (pooled variance), the significance check
//! that Hunter (Fleming et al., ICPE 2023, arXiv 2301.03034, §4.1) substitutes for the
//! permutation test of E-Divisive means.

use statrs::distribution::{ContinuousCDF, StudentsT};

/// Count, mean and unbiased (ddof = 1) variance of a sample.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Moments {
    /// Number of observations.
    pub n: f64,
    /// Arithmetic mean.
    pub mean: f64,
    /// Sample variance with `n − 1` in the denominator (0 when `n < 2`).
    pub var: f64,
}

impl Moments {
    /// Moments of a slice (two-pass, numerically stable).
    pub fn of(xs: &[f64]) -> Self {
        let n = xs.len() as f64;
        if xs.is_empty() {
            return Self { n: 0.0, mean: 0.0, var: 0.0 };
        }
        let mean = xs.iter().sum::<f64>() / n;
        let var = if xs.len() < 2 {
            0.0
        } else {
            xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0)
        };
        Self { n, mean, var }
    }
}

/// Two-sided p-value of Student's two-sample t-test with pooled variance (equal variances
/// assumed), i.e. `scipy.stats.ttest_ind(a, b)` / `ttest_ind_from_stats(…, equal_var=True)`.
///
/// Degenerate cases: fewer than 3 observations in total gives 1; zero pooled variance gives 1
/// when the means are equal and 0 otherwise.
pub fn t_test_p(a: Moments, b: Moments) -> f64 {
    let df = a.n + b.n - 2.0;
    if a.n < 1.0 || b.n < 1.0 || df < 1.0 {
        return 1.0;
    }
    let pooled = ((a.n - 1.0) * a.var + (b.n - 1.0) * b.var) / df;
    let diff = a.mean - b.mean;
    if pooled.is_nan() || pooled <= 0.0 {
        return if diff == 0.0 { 1.0 } else { 0.0 };
    }
    let t = diff / (pooled * (1.0 / a.n + 1.0 / b.n)).sqrt();
    let dist = StudentsT::new(0.0, 1.0, df).expect("df >= 1");
    (2.0 * dist.sf(t.abs())).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(a: &[f64], b: &[f64]) -> f64 {
        t_test_p(Moments::of(a), Moments::of(b))
    }

    /// Reference values from scipy 1.16.3: `scipy.stats.ttest_ind(a, b).pvalue`.
    #[test]
    fn matches_scipy() {
        let a = [1.0, 2.0, 3.0, 4.0, 5.0];
        let b = [2.0, 4.0, 6.0, 8.0, 10.0, 12.0];
        let cases: [(&[f64], &[f64], f64); 4] = [
            (&a, &b, SCIPY_AB),
            (&[10.0, 10.5, 9.8, 10.2], &[11.0, 11.3, 10.9, 11.1, 11.4], SCIPY_CD),
            (&[100.0, 101.0, 99.0, 100.5, 99.5, 100.2, 99.8], &[100.1, 100.9, 99.2], SCIPY_EF),
            (&[0.0, 1.0], &[50.0, 51.0, 52.0], SCIPY_GH),
        ];
        for (x, y, want) in cases {
            let got = p(x, y);
            assert!((got - want).abs() <= 1e-9 * want.max(1e-300) + 1e-15, "{got} vs {want}");
        }
    }

    const SCIPY_AB: f64 = 0.053_945_920_509_407_08;
    const SCIPY_CD: f64 = 0.000_521_877_605_470_316;
    const SCIPY_EF: f64 = 0.895_048_949_692_775_6;
    const SCIPY_GH: f64 = 9.899_820_044_201_29e-6;

    #[test]
    fn degenerate() {
        assert_eq!(p(&[1.0, 1.0], &[1.0, 1.0]), 1.0);
        assert_eq!(p(&[1.0, 1.0], &[2.0, 2.0]), 0.0);
        assert_eq!(p(&[1.0], &[2.0]), 1.0);
    }
}

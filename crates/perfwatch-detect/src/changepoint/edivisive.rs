//! The E-Divisive means statistic (Matteson & James, "A Nonparametric Approach for Multiple
//! Change Point Analysis of Multivariate Data", JASA 109(505), 2014, arXiv 1306.4933), with
//! α = 1 and the right end κ fixed to the end of the searched segment (as in the MongoDB
//! variant, Daly et al., ICPE 2020, doi:10.1145/3358960.3375791).
//!
//! For a segment `Z_a..Z_{b−1}` and a split `τ` with `X = Z_a..Z_{τ−1}` (n points) and
//! `Y = Z_τ..Z_{b−1}` (m points):
//!
//! ```text
//! Ê(X, Y) = 2/(nm) Σ_{i∈X, j∈Y} |Z_i − Z_j| − C(n,2)⁻¹ Σ_{i<k∈X} |Z_i − Z_k| − C(m,2)⁻¹ Σ_{j<k∈Y} |Z_j − Z_k|
//! Q̂(τ)   = nm/(n+m) · Ê(X, Y)
//! ```
//!
//! All within-sums for every τ come from two running sums (left-growing and right-growing),
//! so one segment of length L costs O(L²) time and O(L) memory.

/// `Q̂(τ)` for every τ in `lo..=hi` (offsets into `z`, `1 ≤ lo ≤ hi ≤ z.len() − 1`).
/// Returns the values in order; index `k` is `τ = lo + k`.
pub fn q_hat(z: &[f64], lo: usize, hi: usize) -> Vec<f64> {
    let len = z.len();
    debug_assert!(lo >= 1 && hi < len && lo <= hi);
    // left[t] = Σ_{i<k<t} |z_i − z_k| ; right[t] = Σ_{t≤j<k<len} |z_j − z_k|
    let mut left = vec![0.0; len + 1];
    for t in 1..len {
        let add: f64 = z[..t].iter().map(|&v| (v - z[t]).abs()).sum();
        left[t + 1] = left[t] + add;
    }
    let mut right = vec![0.0; len + 1];
    for t in (0..len.saturating_sub(1)).rev() {
        let add: f64 = z[t + 1..].iter().map(|&v| (v - z[t]).abs()).sum();
        right[t] = right[t + 1] + add;
    }
    let total = left[len];
    (lo..=hi)
        .map(|tau| {
            let n = tau as f64;
            let m = (len - tau) as f64;
            let within_x = left[tau];
            let within_y = right[tau];
            let cross = total - within_x - within_y;
            let mut e = 2.0 * cross / (n * m);
            if tau >= 2 {
                e -= within_x / (n * (n - 1.0) / 2.0);
            }
            if len - tau >= 2 {
                e -= within_y / (m * (m - 1.0) / 2.0);
            }
            n * m / (n + m) * e
        })
        .collect()
}

/// The split τ (offset into `z`) in `lo..=hi` that maximizes `Q̂`; ties go to the earliest.
pub fn best_split(z: &[f64], lo: usize, hi: usize) -> Option<(usize, f64)> {
    if lo < 1 || hi >= z.len() || lo > hi {
        return None;
    }
    let q = q_hat(z, lo, hi);
    let mut best = (lo, f64::NEG_INFINITY);
    for (k, &v) in q.iter().enumerate() {
        if v > best.1 {
            best = (lo + k, v);
        }
    }
    Some(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand computation for Z = [0, 0, 1, 1], τ = 2: X = {0, 0}, Y = {1, 1}.
    /// cross = 4 pairs × 1 = 4 → 2·4/(2·2) = 2; within X = 0; within Y = 0 → Ê = 2;
    /// Q̂ = (2·2/4)·2 = 2.
    /// τ = 1: X = {0}, Y = {0, 1, 1}: cross = 0 + 1 + 1 = 2 → 2·2/3 = 4/3; within X: none;
    /// within Y pairs (0,1),(0,1),(1,1) = 2 → 2/C(3,2) = 2/3 → Ê = 2/3; Q̂ = (3/4)·(2/3) = 1/2.
    /// τ = 3: symmetric to τ = 1 → 1/2.
    #[test]
    fn hand_computed_example() {
        let z = [0.0, 0.0, 1.0, 1.0];
        let q = q_hat(&z, 1, 3);
        let want = [0.5, 2.0, 0.5];
        for (g, w) in q.iter().zip(want) {
            assert!((g - w).abs() < 1e-12, "{q:?}");
        }
        assert_eq!(best_split(&z, 1, 3), Some((2, 2.0)));
    }

    /// Z = [1, 2, 4], τ = 1: X = {1}, Y = {2, 4}: cross = 1 + 3 = 4 → 2·4/2 = 4;
    /// within Y = 2 → 2/1 = 2 → Ê = 2; Q̂ = (2/3)·2 = 4/3.
    /// τ = 2: X = {1, 2}, Y = {4}: cross = 3 + 2 = 5 → 2·5/2 = 5; within X = 1 → Ê = 4;
    /// Q̂ = (2/3)·4 = 8/3.
    #[test]
    fn hand_computed_uneven() {
        let q = q_hat(&[1.0, 2.0, 4.0], 1, 2);
        assert!((q[0] - 4.0 / 3.0).abs() < 1e-12 && (q[1] - 8.0 / 3.0).abs() < 1e-12, "{q:?}");
    }

    /// The running sums agree with a direct O(L³) evaluation of the definition.
    #[test]
    fn agrees_with_definition() {
        let z = [3.0, 1.5, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.5];
        let q = q_hat(&z, 1, z.len() - 1);
        for tau in 1..z.len() {
            let (x, y) = z.split_at(tau);
            let (n, m) = (x.len() as f64, y.len() as f64);
            let mut cross = 0.0;
            for a in x {
                for b in y {
                    cross += (a - b).abs();
                }
            }
            let within = |s: &[f64]| {
                let mut w = 0.0;
                for i in 0..s.len() {
                    for j in i + 1..s.len() {
                        w += (s[i] - s[j]).abs();
                    }
                }
                let k = s.len() as f64;
                if s.len() >= 2 { w / (k * (k - 1.0) / 2.0) } else { 0.0 }
            };
            let e = 2.0 * cross / (n * m) - within(x) - within(y);
            let want = n * m / (n + m) * e;
            assert!((q[tau - 1] - want).abs() < 1e-9, "tau {tau}");
        }
    }
}

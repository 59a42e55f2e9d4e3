//! Property, stability and tail tests of the change-point detector (kept short for CI).

use super::*;
use proptest::prelude::*;

/// Small deterministic generator (SplitMix64 + Box–Muller) so tests need no RNG crate API.
struct Rng(u64);
impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

fn noisy_steps(seed: u64, levels: &[(usize, f64)], sigma: f64) -> Vec<f64> {
    let mut r = Rng(seed);
    let mut out = Vec::new();
    for &(len, level) in levels {
        for _ in 0..len {
            out.push(level * (1.0 + sigma * r.normal()));
        }
    }
    out
}

fn indices(series: &[f64], opts: &Options) -> Vec<usize> {
    detect(series, Better::Lower, opts).into_iter().map(|c| c.index).collect()
}

fn all_methods() -> [Options; 3] {
    [Method::EDivisive, Method::Potts, Method::Combined]
        .map(|method| Options { method, ..Options::default() })
}

#[test]
fn constant_series_has_no_change_point() {
    for o in all_methods() {
        assert!(indices(&[42.0; 300], &o).is_empty(), "{:?}", o.method);
        assert!(indices(&[], &o).is_empty());
        assert!(indices(&[1.0], &o).is_empty());
    }
}

#[test]
fn single_large_step_found_at_right_index() {
    let s = noisy_steps(1, &[(120, 100.0), (80, 110.0)], 0.01);
    for o in all_methods() {
        let cps = detect(&s, Better::Lower, &o);
        assert_eq!(cps.iter().map(|c| c.index).collect::<Vec<_>>(), vec![120], "{:?}", o.method);
        let c = &cps[0];
        assert!((c.change - 0.10).abs() < 0.01, "{c:?}");
        assert!(c.p_value < 1e-10 && (c.before - 100.0).abs() < 1.0 && (c.after - 110.0).abs() < 1.0);
    }
}

#[test]
fn step_in_last_12_points_is_found() {
    for seed in 0..5 {
        let s = noisy_steps(10 + seed, &[(188, 100.0), (12, 105.0)], 0.01);
        for o in all_methods() {
            assert_eq!(indices(&s, &o), vec![188], "seed {seed} {:?}", o.method);
        }
    }
}

#[test]
fn a_step_near_either_end_is_placed_where_it_is_not_min_size_points_in() {
    // 16 points: before the location refinement every one of these was reported at 8.
    for at in [6, 7, 9, 10] {
        let s: Vec<f64> = (0..16).map(|i| if i < at { 1.0 } else { 5.0 }).collect();
        for o in all_methods() {
            assert_eq!(indices(&s, &o), vec![at], "step at {at}, {:?}", o.method);
        }
    }
    // A longer history whose step is 5 points from the start, with 1 % noise.
    let s = noisy_steps(3, &[(5, 100.0), (35, 130.0)], 0.01);
    for o in all_methods() {
        assert_eq!(indices(&s, &o), vec![5], "{:?}", o.method);
    }
}

#[test]
fn isolated_spikes_are_not_change_points() {
    let mut s = noisy_steps(3, &[(200, 100.0)], 0.01);
    s[50] = 160.0;
    s[120] = 40.0;
    s[199] = 150.0;
    // Plain E-Divisive + t-test is not robust to spikes (a spike near a window edge can pass
    // the t-test); the robust methods must ignore them.
    for o in all_methods().into_iter().filter(|o| o.method != Method::EDivisive) {
        assert!(indices(&s, &o).is_empty(), "{:?}", o.method);
    }
}

#[test]
fn incremental_equals_batch_and_is_stable() {
    // Several steps, spikes and a tail step: feed point by point, compare with batch `detect`
    // on every prefix length that is a multiple of 7, and check the stability rule.
    let mut s = noisy_steps(7, &[(70, 100.0), (40, 104.0), (60, 97.0), (50, 103.0), (20, 110.0)], 0.01);
    s[30] = 130.0;
    s[150] = 80.0;
    for o in all_methods() {
        let w = o.window;
        let mut d = Detector::new(o.clone());
        let mut history: Vec<Vec<usize>> = Vec::new();
        for (i, &x) in s.iter().enumerate() {
            d.push(x);
            let now = d.change_point_indices();
            if (i + 1) % 7 == 0 {
                assert_eq!(now, indices(&s[..=i], &o), "prefix {} {:?}", i + 1, o.method);
            }
            history.push(now);
        }
        for (t, cps) in history.iter().enumerate() {
            let newest = t; // index of the newest point at that time
            for &c in cps.iter().filter(|&&c| newest - c > w) {
                for later in &history[t..] {
                    assert!(later.contains(&c), "{:?}: {c} reported at {t} vanished", o.method);
                }
            }
        }
        // And the final answer finds the four steps.
        let last = history.last().unwrap();
        for want in [70, 110, 170, 220] {
            assert!(last.iter().any(|&c| c.abs_diff(want) <= 2), "{:?}: {want} not in {last:?}", o.method);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    /// Wherever a clear step is reported, the change point nearest it is exactly at it
    /// (whatever else a method reports farther away).
    #[test]
    fn a_reported_clear_step_is_at_its_true_index(at in 2usize..38, seed in 0u64..1000, up in proptest::bool::ANY) {
        let high = if up { 130.0 } else { 70.0 };
        let s = noisy_steps(seed, &[(at, 100.0), (40 - at, high)], 0.005);
        for o in all_methods() {
            let found = indices(&s, &o);
            let nearest = found.iter().copied().min_by_key(|c| c.abs_diff(at));
            prop_assert!(nearest.is_none_or(|c| c == at), "step at {}: {:?} ({:?})", at, found, o.method);
        }
    }

    /// Values on a 1/64 grid, shifted by an integer and scaled by a power of two, are exact in
    /// binary floating point, so the detector must return identical indices.
    #[test]
    fn shift_and_scale_invariance(
        raw in proptest::collection::vec(-400i32..400, 40..120),
        step_at in 10usize..30,
        step in 0i32..2000,
        shift in -1000i32..1000,
        scale_exp in -4i32..6,
    ) {
        let base: Vec<f64> = raw.iter().enumerate()
            .map(|(i, &v)| 1000.0 + f64::from(v) / 64.0 + if i >= step_at { f64::from(step) / 64.0 } else { 0.0 })
            .collect();
        let scale = 2f64.powi(scale_exp);
        for o in all_methods() {
            let a = indices(&base, &o);
            let shifted: Vec<f64> = base.iter().map(|x| x + f64::from(shift)).collect();
            let scaled: Vec<f64> = base.iter().map(|x| x * scale).collect();
            prop_assert_eq!(&a, &indices(&shifted, &o));
            prop_assert_eq!(&a, &indices(&scaled, &o));
        }
    }

    #[test]
    fn constant_series_any_value(v in -1e9f64..1e9, n in 0usize..150) {
        for o in all_methods() {
            prop_assert!(indices(&vec![v; n], &o).is_empty());
        }
    }
}

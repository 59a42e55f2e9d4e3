//! Seeded simulations of the stopping rule and the verdict regions (the signed-rank reference
//! values from scipy are tested with that code, in perfwatch-stats).

use perfwatch_model::{Better, Verdict};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::*;

#[test]
fn verdict_regions_follow_design_section_8() {
    let t = 1.01f64.ln();
    let v = |lo: f64, hi: f64| verdict_from_log_ci(lo, hi, 0.01, Better::Lower);
    assert_eq!(v(t + 1e-6, 0.5), Verdict::Regressed);
    assert_eq!(v(t - 1e-6, 0.5), Verdict::Inconclusive);
    assert_eq!(v(-0.5, -t - 1e-6), Verdict::Improved);
    assert_eq!(v(-t + 1e-6, t - 1e-6), Verdict::Unchanged);
    assert_eq!(v(-t, t), Verdict::Inconclusive);
    assert_eq!(v(f64::NEG_INFINITY, f64::INFINITY), Verdict::Inconclusive);
    // Higher is better: a higher ratio is an improvement.
    assert_eq!(verdict_from_log_ci(0.1, 0.2, 0.01, Better::Higher), Verdict::Improved);
    assert_eq!(verdict_from_log_ci(-0.2, -0.1, 0.01, Better::Higher), Verdict::Regressed);
    // τ = 0: never unchanged.
    assert_eq!(verdict_from_log_ci(-1e-9, 1e-9, 0.0, Better::Lower), Verdict::Inconclusive);
}

fn normal(rng: &mut StdRng) -> f64 {
    // Box–Muller.
    let u1: f64 = rng.random::<f64>().max(1e-300);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A paired log-ratio of wall time on a noisy machine under A/A: Gaussian jitter plus
/// occasional large bursts hitting whichever run of the round was unlucky (random sign).
fn noisy_null(rng: &mut StdRng) -> f64 {
    let mut d = 0.01 * normal(rng);
    if rng.random_bool(0.15) {
        let burst = 0.05 + 0.3 * rng.random::<f64>();
        d += if rng.random_bool(0.5) { burst } else { -burst };
    }
    d
}

struct FprResult {
    anytime: usize,
    anytime_then_fixed: usize,
    naive: usize,
    reps: usize,
}

/// Simulates `reps` null comparisons of `rounds` rounds: how often the anytime rule stops with
/// a false verdict, how often the whole procedure (anytime, then the fixed-n interval at the
/// budget) flags a change, and how often checking a fixed-n 95 % signed-rank test after every
/// round (from the burn-in on) would have.
fn simulate_null(
    seed: u64,
    reps: usize,
    rounds: usize,
    rule: SequentialRule,
    draw: fn(&mut StdRng) -> f64,
) -> FprResult {
    let mut rng = StdRng::seed_from_u64(seed);
    let sequence = rule.sequence;
    let mut res = FprResult { anytime: 0, anytime_then_fixed: 0, naive: 0, reps };
    for _ in 0..reps {
        let d: Vec<f64> = (0..rounds).map(|_| draw(&mut rng)).collect();
        let stopped = (rule.burn_in..=rounds).find_map(|n| rule.check(&d[..n]));
        if stopped.is_some() {
            res.anytime += 1;
            res.anytime_then_fixed += 1;
        } else {
            let fixed = rule.final_estimate(&d, false).unwrap();
            if fixed.verdict != Verdict::Inconclusive {
                res.anytime_then_fixed += 1;
            }
        }
        let naive = (rule.burn_in..=rounds).any(|n| signed_rank_p_value(&d[..n], 0.0).unwrap_or(1.0) < 0.05);
        if naive {
            res.naive += 1;
        }
    }
    eprintln!(
        "{} sequence (alpha {}, final {}), {} reps x {} rounds: anytime {:.1}%, anytime+final fixed {:.1}%, naive repeated fixed-n {:.1}%",
        sequence.as_str(),
        rule.params.alpha,
        rule.final_confidence,
        reps,
        rounds,
        100.0 * res.anytime as f64 / reps as f64,
        100.0 * res.anytime_then_fixed as f64 / reps as f64,
        100.0 * res.naive as f64 / reps as f64
    );
    res
}

/// The point of the confidence sequence: peeking after every round keeps the false-alarm
/// rate of the anytime rule under α, while re-checking the fixed-n test after every round
/// (from the burn-in on) raises it several-fold. τ = 0 is the hardest case: any interval
/// excluding 1 is an alarm.
#[test]
fn anytime_stopping_keeps_false_alarms_below_alpha_where_naive_peeking_does_not() {
    let loose = SequentialRule {
        params: CsParams::default(),
        final_confidence: 0.95,
        ..SequentialRule::new("wall", 0.0, Better::Lower)
    };
    let r = simulate_null(20240611, 500, 150, loose, noisy_null);
    let rate = |k: usize| k as f64 / r.reps as f64;
    assert!(rate(r.anytime) <= 0.05, "anytime {}", rate(r.anytime));
    assert!(rate(r.naive) >= 0.15, "naive {}", rate(r.naive));
    assert!(rate(r.naive) > 3.0 * rate(r.anytime).max(0.01));
    // The default splits α between early stops and the final look: ≤ 5 % in all.
    let r = simulate_null(20240611, 500, 150, SequentialRule::new("wall", 0.0, Better::Lower), noisy_null);
    assert!(rate(r.anytime_then_fixed) <= 0.05, "whole procedure {}", rate(r.anytime_then_fixed));
}

#[test]
fn mean_sequence_keeps_false_alarms_below_alpha_on_gaussian_differences() {
    let loose = SequentialRule {
        params: CsParams::default(),
        final_confidence: 0.95,
        ..SequentialRule::new("cpu", 0.0, Better::Lower)
    };
    let r = simulate_null(7, 500, 150, loose, |rng| 0.003 * normal(rng));
    let rate = |k: usize| k as f64 / r.reps as f64;
    assert!(rate(r.anytime) <= 0.05, "anytime {}", rate(r.anytime));
    assert!(rate(r.naive) >= 0.15, "naive {}", rate(r.naive));
    let r =
        simulate_null(7, 500, 150, SequentialRule::new("cpu", 0.0, Better::Lower), |rng| 0.003 * normal(rng));
    assert!(rate(r.anytime_then_fixed) <= 0.05, "whole procedure {}", rate(r.anytime_then_fixed));
}

/// With the default τ = 1 %, A/A comparisons stop as "unchanged" or run out of budget, and
/// clear slowdowns stop early as "regressed"; no false regression in either direction.
#[test]
fn default_rule_stops_early_on_clear_cases() {
    let mut rng = StdRng::seed_from_u64(99);
    let rule = SequentialRule::new("wall", 0.01, Better::Lower);
    let (mut wrong, mut regressed, mut stop_rounds) = (0, 0, Vec::new());
    for _ in 0..100 {
        let aa: Vec<f64> = (0..300).map(|_| 0.005 * normal(&mut rng)).collect();
        if let Some(v) = (rule.burn_in..=aa.len()).find_map(|n| rule.check(&aa[..n])) {
            if v != Verdict::Unchanged {
                wrong += 1;
            }
        }
        let slow: Vec<f64> = (0..300).map(|_| 0.05f64.ln_1p() + noisy_null(&mut rng)).collect();
        if let Some((n, v)) = (rule.burn_in..=slow.len()).find_map(|n| rule.check(&slow[..n]).map(|v| (n, v)))
        {
            if v == Verdict::Regressed {
                regressed += 1;
                stop_rounds.push(n);
            }
        }
    }
    stop_rounds.sort_unstable();
    assert_eq!(wrong, 0);
    assert!(regressed >= 95, "{regressed}");
    assert!(
        stop_rounds[stop_rounds.len() / 2] < 100,
        "median stop {:?}",
        stop_rounds.get(stop_rounds.len() / 2)
    );
}

#[test]
fn estimates_report_ratios() {
    let a = [2.0, 2.1, 1.9, 2.05, 1.95, 2.0, 2.02, 1.98, 2.01, 1.99, 2.03];
    let b: Vec<f64> = a.iter().map(|x| x * 0.8).collect();
    let d = log_ratios(&a, &b);
    let est = fixed_estimate(&d, 0.95, 0.01, Better::Lower).unwrap();
    assert_eq!(est.verdict, Verdict::Improved);
    assert!((est.ratio - 0.8).abs() < 1e-12);
    assert!(est.ci[0] <= 0.8 + 1e-12 && est.ci[1] >= 0.8 - 1e-12);
    assert_eq!(est.kind, IntervalKind::FixedSample);
    // Identical rounds: unchanged, p = 1.
    let est = fixed_estimate(&[0.0; 12], 0.95, 0.01, Better::Lower).unwrap();
    assert_eq!(est.verdict, Verdict::Unchanged);
    assert_eq!(est.p_value, 1.0);
    // Non-positive values carry no ratio.
    assert_eq!(log_ratios(&[0.0, 1.0, -1.0], &[1.0, 2.0, 1.0]), vec![2f64.ln()]);
}

#[test]
fn n_star_is_half_the_expected_rounds_within_bounds() {
    assert_eq!(planned_n_star(100.0), 50.0);
    assert_eq!(planned_n_star(10.0), MIN_N_STAR);
    assert_eq!(planned_n_star(1e9), MAX_N_STAR);
    assert_eq!(planned_n_star(f64::NAN), CsParams::default().n_star);
    assert_eq!(planned_n_star(0.0), CsParams::default().n_star);
    assert_eq!(expected_rounds(10.0, 0.1).map(|r| r.round()), Some(100.0));
    assert_eq!(expected_rounds(10.0, 0.0), None);
    let rule = SequentialRule::new("wall", 0.0, Better::Lower).with_n_star(50.0);
    assert_eq!(rule.params.n_star, 50.0);
    assert_eq!(rule.params.alpha, EARLY_ALPHA);
}

/// Tuning for a shorter budget keeps the guarantee (the sequence is valid for every ρ) and
/// stops clear slowdowns sooner: the point of [`planned_n_star`].
#[test]
fn a_sequence_tuned_for_the_budget_stops_sooner_and_stays_valid() {
    let default = SequentialRule::new("wall", 0.0, Better::Lower);
    let tuned = default.with_n_star(planned_n_star(100.0));
    let r = simulate_null(31, 500, 100, tuned, noisy_null);
    assert!(r.anytime_then_fixed as f64 / r.reps as f64 <= 0.05, "whole procedure {}", r.anytime_then_fixed);
    let mut rng = StdRng::seed_from_u64(5);
    let (mut sooner, mut later) = (0usize, 0usize);
    let mut stops = (Vec::new(), Vec::new());
    for _ in 0..200 {
        let d: Vec<f64> = (0..100).map(|_| 0.03f64.ln_1p() + noisy_null(&mut rng)).collect();
        let stop = |rule: &SequentialRule| (rule.burn_in..=d.len()).find(|&n| rule.check(&d[..n]).is_some());
        let (t, u) = (stop(&tuned).unwrap_or(101), stop(&default).unwrap_or(101));
        sooner += usize::from(t < u);
        later += usize::from(t > u);
        stops.0.push(t);
        stops.1.push(u);
    }
    stops.0.sort_unstable();
    stops.1.sort_unstable();
    eprintln!(
        "median stop: tuned {} rounds, default {} rounds ({sooner} sooner, {later} later)",
        stops.0[100], stops.1[100]
    );
    assert!(stops.0[100] < stops.1[100], "tuned {} vs default {}", stops.0[100], stops.1[100]);
    assert!(sooner > 2 * later);
}

#[test]
fn n_star_mistuning_costs_little_near_the_optimum() {
    let at = |n_star: f64, n: usize| CsParams { alpha: EARLY_ALPHA, n_star }.half_width(1.0, n);
    let cost = |n: usize| at(200.0, n) / at(n as f64, n);
    assert!((1.0..1.02).contains(&cost(100)), "{}", cost(100));
    assert!((1.0..1.02).contains(&cost(400)), "{}", cost(400));
    assert!((1.03..1.07).contains(&cost(50)), "{}", cost(50));
}

#[test]
fn speedup_goal_is_decided_by_the_whole_interval() {
    // ratio 0.25 [0.24, 0.26] → speedup 4 [3.85, 4.17].
    let g = speedup_goal(3.0, 0.25, [0.24, 0.26]);
    assert_eq!(g.status, GoalStatus::Met);
    assert!((g.speedup - 4.0).abs() < 1e-12);
    assert!((g.ci95[0] - 1.0 / 0.26).abs() < 1e-12 && (g.ci95[1] - 1.0 / 0.24).abs() < 1e-12);
    assert_eq!(speedup_goal(5.0, 0.25, [0.24, 0.26]).status, GoalStatus::Missed);
    assert_eq!(speedup_goal(4.0, 0.25, [0.24, 0.26]).status, GoalStatus::Inconclusive);
    assert_eq!(speedup_goal(3.0, 0.25, [0.0, 0.26]).status, GoalStatus::Inconclusive);
    assert_eq!(speedup_goal(3.0, f64::NAN, [f64::NAN, f64::NAN]).status, GoalStatus::Inconclusive);
    assert_eq!(
        speedup_goal(3.0, 0.25, [0.24, 0.26]).to_string(),
        "speedup 4.00× [3.85×, 4.17×] vs goal 3×: met"
    );
}

#[test]
fn a_goal_rule_stops_once_the_goal_is_decided() {
    // B is 4× faster with 1 % noise: the plain rule and the goal rules all stop soon; a goal
    // of exactly 4× is never decided.
    let mut rng = StdRng::seed_from_u64(5);
    let d: Vec<f64> = (0..200).map(|_| (0.25f64).ln() + 0.01 * normal(&mut rng)).collect();
    let stop = |rule: SequentialRule| (2..=d.len()).find(|&n| rule.check(&d[..n]).is_some());
    let base = SequentialRule::new("wall", 0.01, Better::Lower);
    assert!(stop(base.with_goal(3.0)).is_some_and(|n| n <= 30));
    assert!(stop(base.with_goal(6.0)).is_some_and(|n| n <= 30));
    assert_eq!(stop(base.with_goal(4.0)), None);
}

//! Budget checks: absolute bounds on one statistic of one metric (`wall.p95 < 500ms`).

use perfwatch_model::{Budget, BudgetOp, BudgetResult, BudgetStat, BudgetStatus, CaseReport, Summary};

/// Checks every budget against the case's summaries, in the order given. A metric the case
/// did not produce (a failed case, a custom metric never reported, a summary of no samples)
/// gives [`BudgetStatus::Missing`]; a NaN statistic fails (no comparison holds for it).
pub fn check_budgets(case: &CaseReport, budgets: &[Budget]) -> Vec<BudgetResult> {
    budgets
        .iter()
        .map(|b| {
            let measured = case.metrics.get(&b.metric).filter(|s| s.n > 0).map(|s| statistic(s, b.stat));
            let status = match measured {
                None => BudgetStatus::Missing,
                Some(m) if b.op.holds(m, b.value) => BudgetStatus::Pass,
                Some(_) => BudgetStatus::Fail,
            };
            BudgetResult {
                case: case.case.clone(),
                budget: b.text.clone(),
                target: b.value,
                measured,
                achievement_pct: measured.and_then(|m| achievement_pct(b.op, m, b.value)),
                status,
            }
        })
        .collect()
}

/// The summary statistic a budget bounds.
pub fn statistic(s: &Summary, stat: BudgetStat) -> f64 {
    match stat {
        BudgetStat::Median => s.median,
        BudgetStat::Mean => s.mean,
        BudgetStat::Min => s.min,
        BudgetStat::Max => s.max,
        BudgetStat::P95 => s.p95,
        BudgetStat::P99 => s.p99,
    }
}

/// How much of the budget is used, in percent: measured / target for upper bounds,
/// target / measured for lower bounds, so ≤ 100 % means within budget either way.
/// `None` when the division is undefined (a zero denominator).
fn achievement_pct(op: BudgetOp, measured: f64, target: f64) -> Option<f64> {
    let (num, den) = match op {
        BudgetOp::Lt | BudgetOp::Le => (measured, target),
        BudgetOp::Gt | BudgetOp::Ge => (target, measured),
    };
    (den != 0.0).then(|| num / den * 100.0).filter(|p| p.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;
    use perfwatch_model::{Better, CaseStatus, MetricInfo};

    fn case(wall: &[f64]) -> CaseReport {
        let mut metrics = std::collections::BTreeMap::new();
        metrics.insert("wall".into(), perfwatch_stats::summarize(wall, &MetricInfo::new("s", Better::Lower)));
        CaseReport {
            case: perfwatch_model::CaseId { name: "sort".into(), params: Default::default() },
            status: CaseStatus::Ok,
            runs: wall.len() as u32,
            caveats: vec![],
            metrics,
            failure: None,
            raw: vec![],
        }
    }

    fn budget(metric: &str, stat: BudgetStat, op: BudgetOp, value: f64) -> Budget {
        Budget { text: format!("{metric} budget"), metric: metric.into(), stat, op, value }
    }

    #[test]
    fn pass_fail_and_missing() {
        let c = case(&[0.1, 0.2, 0.3, 0.4, 0.5]);
        let r = check_budgets(
            &c,
            &[
                budget("wall", BudgetStat::Max, BudgetOp::Lt, 0.6),
                budget("wall", BudgetStat::Median, BudgetOp::Lt, 0.2),
                budget("wall", BudgetStat::Min, BudgetOp::Ge, 0.05),
                budget("hits", BudgetStat::Median, BudgetOp::Ge, 0.9),
            ],
        );
        let status: Vec<_> = r.iter().map(|b| b.status).collect();
        assert_eq!(
            status,
            [BudgetStatus::Pass, BudgetStatus::Fail, BudgetStatus::Pass, BudgetStatus::Missing]
        );
        assert!((r[0].achievement_pct.unwrap() - 0.5 / 0.6 * 100.0).abs() < 1e-9);
        assert!((r[1].achievement_pct.unwrap() - 150.0).abs() < 1e-9);
        assert!((r[2].achievement_pct.unwrap() - 50.0).abs() < 1e-9, "lower bound: target / measured");
        assert_eq!(r[3].measured, None);
    }

    #[test]
    fn zero_measured_on_a_lower_bound_fails_without_a_percentage() {
        let c = case(&[0.0; 6]);
        let r = check_budgets(&c, &[budget("wall", BudgetStat::Median, BudgetOp::Ge, 0.8)]);
        assert_eq!((r[0].status, r[0].measured, r[0].achievement_pct), (BudgetStatus::Fail, Some(0.0), None));
        let empty = case(&[]);
        let r = check_budgets(&empty, &[budget("wall", BudgetStat::P95, BudgetOp::Lt, 0.8)]);
        assert_eq!((r[0].status, r[0].measured), (BudgetStatus::Missing, None));
    }

    #[test]
    fn boundary_is_exact() {
        let c = case(&[0.5]);
        let r = check_budgets(
            &c,
            &[
                budget("wall", BudgetStat::Max, BudgetOp::Lt, 0.5),
                budget("wall", BudgetStat::Max, BudgetOp::Le, 0.5),
            ],
        );
        assert_eq!(r[0].status, BudgetStatus::Fail);
        assert_eq!(r[1].status, BudgetStatus::Pass);
    }
}

//! Export formats: the documents other tools read (GitHub Actions annotations, JUnit XML,
//! Bencher's BMF, hyperfine's JSON). Each renders only the documents it has a shape for
//! ([`crate::Format::fits`]).

pub(crate) mod bmf;
pub(crate) mod github;
pub(crate) mod hyperfine;
pub(crate) mod junit;

use perfwatch_model::{BudgetResult, BudgetStatus, Comparison};

use crate::units::{human, pct_change, trim};

/// The one-line verdict of a comparison, as CI annotations and JUnit failures show it:
/// `sort[n=1000] wall regressed: +20.0% [+18.0%, +22.0%], 100.0 ms → 120.0 ms (threshold 2%)`.
pub(crate) fn verdict_line(c: &Comparison) -> String {
    format!(
        "{} {} {}: {} [{}, {}], {} → {} (threshold {}%)",
        c.case,
        c.metric,
        c.verdict.as_str(),
        pct_change(c.ratio),
        pct_change(c.ci95[0]),
        pct_change(c.ci95[1]),
        human(c.baseline_median, &c.unit),
        human(c.candidate_median, &c.unit),
        trim(c.threshold * 100.0)
    )
}

/// The one-line outcome of a budget: `sort[n=1000] budget max_rss.max < 100MB: breached
/// (measured 100.0 MiB, 105% of the budget)`.
pub(crate) fn budget_line(b: &BudgetResult) -> String {
    let state = match b.status {
        BudgetStatus::Pass => "within",
        BudgetStatus::Fail => "breached",
        BudgetStatus::Missing => "not measured",
    };
    let unit = crate::common::budget_unit(&b.budget);
    let detail = match (b.measured, b.achievement_pct) {
        (Some(m), Some(pct)) => format!(" (measured {}, {pct:.0}% of the budget)", human(m, unit)),
        (Some(m), None) => format!(" (measured {})", human(m, unit)),
        _ => String::new(),
    };
    format!("{} budget {}: {state}{detail}", b.case, b.budget)
}

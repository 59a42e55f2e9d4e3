//! GitHub Actions workflow commands: `::error`, `::warning` and `::notice` lines that the
//! runner turns into annotations on the pull request, then a plain summary line. The
//! Markdown for `$GITHUB_STEP_SUMMARY` is the Markdown renderer's; appending it is the
//! caller's job (this crate does no I/O).
//!
//! Escaping follows the runner's rules for workflow commands (actions/toolkit `command.ts`):
//! in the message `%`, CR and LF are percent-encoded; in property values `:` and `,` too.

use std::fmt::Write;

use perfwatch_model::{BudgetStatus, CaseStatus, ComparisonReport, RunReport, Verdict};

use super::{budget_line, verdict_line};
use crate::common::{by_attention, summary_line};
use crate::{RenderOptions, Renderer};

pub(crate) struct GithubRenderer;

/// Severity of an annotation.
#[derive(Clone, Copy)]
enum Level {
    Error,
    Warning,
    Notice,
}

fn annotate(out: &mut String, level: Level, title: &str, message: &str) {
    let command = match level {
        Level::Error => "error",
        Level::Warning => "warning",
        Level::Notice => "notice",
    };
    let _ = writeln!(out, "::{command} title={}::{}", escape_property(title), escape_data(message));
}

fn escape_data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

impl Renderer for GithubRenderer {
    fn run(&self, report: &RunReport, _: &RenderOptions) -> String {
        let mut out = String::new();
        for case in &report.benchmarks {
            if case.status == CaseStatus::Ok {
                continue;
            }
            let why = case.failure.as_ref().map(|f| f.message.as_str()).unwrap_or(case.status.as_str());
            annotate(
                &mut out,
                Level::Error,
                &format!("perfwatch: {} {}", case.case, case.status.as_str()),
                why,
            );
        }
        budgets(&mut out, &report.budgets);
        let failed = report.benchmarks.iter().filter(|c| c.status != CaseStatus::Ok).count();
        let breached = report.budgets.iter().filter(|b| b.status == BudgetStatus::Fail).count();
        let _ = writeln!(
            out,
            "perfwatch run {}: {} cases, {failed} failed; budgets: {breached} of {} breached",
            report.run.id,
            report.benchmarks.len(),
            report.budgets.len()
        );
        out
    }

    fn comparison(&self, report: &ComparisonReport, _: &RenderOptions) -> String {
        let mut out = String::new();
        // Most important first: the runner shows only the first few annotations of a step.
        for c in by_attention(report) {
            let level = match c.verdict {
                Verdict::Regressed => Level::Error,
                Verdict::Inconclusive => Level::Warning,
                Verdict::Improved => Level::Notice,
                Verdict::Unchanged => continue,
            };
            let title = format!("perfwatch: {} {} {}", c.case, c.metric, c.verdict.as_str());
            let mut message = verdict_line(c);
            for note in &c.notes {
                message.push_str(&format!("\n{note}"));
            }
            annotate(&mut out, level, &title, &message);
        }
        budgets(&mut out, &report.budgets);
        for w in &report.warnings {
            annotate(&mut out, Level::Warning, "perfwatch: comparison warning", &w.to_string());
        }
        let _ = writeln!(out, "perfwatch: {}", summary_line(report));
        out
    }
}

fn budgets(out: &mut String, budgets: &[perfwatch_model::BudgetResult]) {
    for b in budgets {
        let level = match b.status {
            BudgetStatus::Pass => continue,
            BudgetStatus::Fail => Level::Error,
            BudgetStatus::Missing => Level::Warning,
        };
        annotate(out, level, &format!("perfwatch: {} budget", b.case), &budget_line(b));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{comparison_report, run_report};

    #[test]
    fn a_regression_is_an_error_naming_the_case_and_its_interval() {
        let out = GithubRenderer.comparison(&comparison_report(), &RenderOptions::default());
        let errors: Vec<&str> = out.lines().filter(|l| l.starts_with("::error ")).collect();
        assert_eq!(errors.len(), 1, "{out}");
        assert!(errors[0].starts_with("::error title=perfwatch%3A slow|pipe wall regressed::"), "{out}");
        assert!(
            errors[0].contains("+20.0%25 [+18.0%25, +22.0%25], 100.00 ms → 120.00 ms (threshold 2%25)"),
            "{out}"
        );
        // Two inconclusive comparisons warn, one of them with its Benjamini–Hochberg note
        // percent-encoded onto the same line; the unchanged one says nothing.
        let warnings: Vec<&str> = out.lines().filter(|l| l.starts_with("::warning ")).collect();
        assert_eq!(warnings.len(), 3, "two inconclusive + the different-hosts warning: {out}");
        assert!(warnings.iter().any(|w| w.contains("%0Athe interval alone says regressed")), "{out}");
        assert!(!out.contains("fast wall unchanged"), "{out}");
        assert!(
            out.ends_with(
                "perfwatch: 1 regressed, 0 improved, 1 unchanged, 2 inconclusive; budgets: 0 of 1 breached\n"
            ),
            "{out}"
        );
    }

    #[test]
    fn failed_cases_and_breached_budgets_of_a_run_are_errors() {
        let out = GithubRenderer.run(&run_report(), &RenderOptions::default());
        let errors: Vec<&str> = out.lines().filter(|l| l.starts_with("::error ")).collect();
        assert_eq!(errors.len(), 2, "{out}");
        assert!(errors[0].contains("failed::`pw-fake fail 3` exited with status 3"), "{out}");
        assert!(
            errors[1]
                .contains("budget max_rss.max < 100MB: breached (measured 100.0 MiB, 105%25 of the budget)"),
            "{out}"
        );
    }

    #[test]
    fn messages_and_properties_cannot_smuggle_a_second_command() {
        assert_eq!(escape_data("50%\n::error::x"), "50%25%0A::error::x");
        assert_eq!(escape_property("a:b,c\r"), "a%3Ab%2Cc%0D");
    }
}

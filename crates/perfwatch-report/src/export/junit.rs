//! JUnit XML, valid against the Apache Ant JUnit schema (Windy Road's `JUnit.xsd`, the one
//! CI test-report views are built for): one `<testsuite>` per document; a comparison has one
//! test case per case × judged metric (a regression fails it, the verdict line as message)
//! and one per budget (a breach fails it, an unmeasured metric is an error); a run has one
//! per case (a failed case fails it, with its stderr) and one per budget.

use std::fmt::Write;

use perfwatch_model::{BudgetResult, BudgetStatus, CaseStatus, ComparisonReport, RunReport, Verdict};

use super::{budget_line, verdict_line};
use crate::common::summary_line;
use crate::{RenderOptions, Renderer};

pub(crate) struct JunitRenderer;

/// One `<testcase>` and what went wrong with it.
struct TestCase {
    name: String,
    classname: String,
    time: f64,
    outcome: Outcome,
}

enum Outcome {
    Passed,
    /// The check ran and said no (`<failure>`).
    Failed {
        kind: &'static str,
        message: String,
        detail: String,
    },
    /// The check could not run (`<error>`).
    Error {
        kind: &'static str,
        message: String,
    },
}

/// The `<testsuite>` element's attributes and contents.
struct Suite {
    name: &'static str,
    timestamp: jiff::Timestamp,
    hostname: String,
    time: f64,
    properties: Vec<(&'static str, String)>,
    cases: Vec<TestCase>,
    system_out: String,
}

impl Renderer for JunitRenderer {
    fn run(&self, report: &RunReport, _: &RenderOptions) -> String {
        let meta = &report.run;
        let mut cases: Vec<TestCase> = report.benchmarks.iter().map(run_case).collect();
        cases.extend(report.budgets.iter().map(budget_case));
        let elapsed = meta.ended_at.map(|end| end.duration_since(meta.started_at).as_secs_f64());
        let mut properties = vec![("run", meta.id.clone()), ("status", meta.status.as_str().to_string())];
        if let Some(git) = &meta.git {
            properties.push(("commit", git.commit.clone()));
        }
        render(&Suite {
            name: "perfwatch run",
            timestamp: meta.started_at,
            hostname: meta.host.hostname.clone(),
            time: elapsed.unwrap_or(0.0),
            properties,
            cases,
            system_out: String::new(),
        })
    }

    fn comparison(&self, report: &ComparisonReport, opts: &RenderOptions) -> String {
        let mut cases: Vec<TestCase> = report
            .comparisons
            .iter()
            .map(|c| TestCase {
                name: format!("{} {}", c.case, c.metric),
                classname: format!("perfwatch.{}", c.case.name),
                time: 0.0,
                outcome: if c.verdict == Verdict::Regressed {
                    let detail = c.notes.iter().map(|n| n.to_string()).collect::<Vec<_>>().join("\n");
                    Outcome::Failed { kind: "regressed", message: verdict_line(c), detail }
                } else {
                    Outcome::Passed
                },
            })
            .collect();
        cases.extend(report.budgets.iter().map(budget_case));
        let mut properties = vec![
            ("baseline", report.baseline.run_id.clone()),
            ("candidate", report.candidate.run_id.clone()),
            ("design", report.design.as_str().to_string()),
        ];
        properties.extend(report.baseline.commit.clone().map(|c| ("baseline_commit", c)));
        properties.extend(report.candidate.commit.clone().map(|c| ("candidate_commit", c)));
        let mut system_out = summary_line(report);
        for w in &report.warnings {
            system_out.push_str(&format!("\nwarning: {w}"));
        }
        render(&Suite {
            name: "perfwatch compare",
            timestamp: opts.now.unwrap_or(jiff::Timestamp::UNIX_EPOCH),
            hostname: report.candidate.host.clone().unwrap_or_default(),
            time: report.elapsed_s.unwrap_or(0.0),
            properties,
            cases,
            system_out,
        })
    }
}

fn run_case(case: &perfwatch_model::CaseReport) -> TestCase {
    // The time the case took to measure: the sum of its measured wall times.
    let time = case.metrics.get(perfwatch_model::metric::WALL).map(|s| s.samples.iter().sum()).unwrap_or(0.0);
    let outcome = match (case.status, &case.failure) {
        (CaseStatus::Ok, _) => Outcome::Passed,
        (status, failure) => Outcome::Failed {
            kind: status.as_str(),
            message: failure.as_ref().map(|f| f.message.clone()).unwrap_or_else(|| status.as_str().into()),
            detail: failure.as_ref().map(|f| f.stderr_tail.clone()).unwrap_or_default(),
        },
    };
    TestCase {
        name: case.case.to_string(),
        classname: format!("perfwatch.{}", case.case.name),
        time,
        outcome,
    }
}

fn budget_case(b: &BudgetResult) -> TestCase {
    let outcome = match b.status {
        BudgetStatus::Pass => Outcome::Passed,
        BudgetStatus::Fail => {
            Outcome::Failed { kind: "budget", message: budget_line(b), detail: String::new() }
        }
        BudgetStatus::Missing => Outcome::Error { kind: "missing", message: budget_line(b) },
    };
    TestCase {
        name: format!("{} budget {}", b.case, b.budget),
        classname: "perfwatch.budget".into(),
        time: 0.0,
        outcome,
    }
}

fn render(suite: &Suite) -> String {
    let failures = suite.cases.iter().filter(|c| matches!(c.outcome, Outcome::Failed { .. })).count();
    let errors = suite.cases.iter().filter(|c| matches!(c.outcome, Outcome::Error { .. })).count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n");
    // The schema wants a zone-less UTC date-time, whole seconds.
    let timestamp = suite.timestamp.strftime("%Y-%m-%dT%H:%M:%S");
    let hostname = if suite.hostname.trim().is_empty() { "unknown" } else { &suite.hostname };
    let _ = writeln!(
        out,
        "  <testsuite package=\"perfwatch\" id=\"0\" name=\"{}\" timestamp=\"{timestamp}\" hostname=\"{}\" \
         tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{:.3}\">",
        suite.name,
        attr(hostname),
        suite.cases.len(),
        suite.time
    );
    out.push_str("    <properties>\n");
    for (name, value) in &suite.properties {
        let _ = writeln!(out, "      <property name=\"{name}\" value=\"{}\"/>", attr(value));
    }
    out.push_str("    </properties>\n");
    for case in &suite.cases {
        testcase(&mut out, case);
    }
    let _ = writeln!(out, "    <system-out>{}</system-out>", text(&suite.system_out));
    out.push_str("    <system-err></system-err>\n  </testsuite>\n</testsuites>\n");
    out
}

fn testcase(out: &mut String, case: &TestCase) {
    let _ = write!(
        out,
        "    <testcase name=\"{}\" classname=\"{}\" time=\"{:.3}\"",
        attr(&case.name),
        attr(&case.classname),
        case.time
    );
    match &case.outcome {
        Outcome::Passed => out.push_str("/>\n"),
        Outcome::Failed { kind, message, detail } => {
            let _ = writeln!(
                out,
                ">\n      <failure type=\"{kind}\" message=\"{}\">{}</failure>\n    </testcase>",
                attr(message),
                text(detail)
            );
        }
        Outcome::Error { kind, message } => {
            let _ = writeln!(
                out,
                ">\n      <error type=\"{kind}\" message=\"{}\"></error>\n    </testcase>",
                attr(message)
            );
        }
    }
}

/// Escapes character data; characters XML 1.0 cannot hold (most C0 controls, such as the
/// ANSI escapes in a benchmark's stderr) are dropped.
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// Escapes an attribute value (line breaks kept as character references).
fn attr(s: &str) -> String {
    text(s).replace('"', "&quot;").replace('\n', "&#10;").replace('\r', "&#13;").replace('\t', "&#9;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{comparison_report, run_report};

    #[test]
    fn a_comparison_has_one_test_case_per_judged_metric_and_per_budget() {
        let out = JunitRenderer.comparison(&comparison_report(), &RenderOptions::default());
        assert_eq!(out.matches("<testcase ").count(), 4 + 1, "{out}");
        assert!(out.contains("tests=\"5\" failures=\"1\" errors=\"0\""), "{out}");
        assert!(out.contains("timestamp=\"1970-01-01T00:00:00\""), "{out}");
        assert!(
            out.contains(
                "<testcase name=\"slow|pipe wall\" classname=\"perfwatch.slow|pipe\" time=\"0.000\">\n      \
                 <failure type=\"regressed\" message=\"slow|pipe wall regressed: +20.0% [+18.0%, +22.0%]"
            ),
            "{out}"
        );
    }

    #[test]
    fn a_failed_case_carries_its_stderr_escaped() {
        let out = JunitRenderer.run(&run_report(), &RenderOptions::default());
        assert!(out.contains("name=\"broken, &quot;quoted&quot; &lt;b&gt;\""), "{out}");
        assert!(out.contains(">error: something broke\nat line 2</failure>"), "{out}");
        assert!(out.contains("tests=\"3\" failures=\"2\" errors=\"0\" time=\"60.000\""), "{out}");
        assert!(out.contains("timestamp=\"2026-11-22T06:00:00\" hostname=\"box\""), "{out}");
    }

    #[test]
    fn control_characters_are_dropped_not_written() {
        assert_eq!(text("\u{1b}[31mred\u{1b}[0m & <b>"), "[31mred[0m &amp; &lt;b&gt;");
        assert_eq!(attr("a\"b\nc"), "a&quot;b&#10;c");
    }
}

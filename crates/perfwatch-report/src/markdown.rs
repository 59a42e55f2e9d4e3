//! Markdown (GitHub-flavoured): fit for a pull-request comment or `$GITHUB_STEP_SUMMARY`.

use std::fmt::Write;

use perfwatch_model::{
    BisectReport, ComparisonReport, DetectionReport, ExplainReport, HistoryReport, RunList, RunReport,
    Verdict,
};

use crate::common::{
    budget_rows, by_attention, comparison_rows, custom_rows, detection_rows, detection_summary, notes,
    run_rows, summary_line, verdict_notes,
};
use crate::units::human;
use crate::{RenderOptions, Renderer};

pub(crate) struct MarkdownRenderer;

/// The hidden first line of a comparison in Markdown: a bot that posts the report as a
/// pull-request comment finds its earlier comment by this marker and edits it, so a pull
/// request has one perfwatch comment, not one per push.
pub const COMMENT_MARKER: &str = "<!-- perfwatch-comparison -->";

/// Escapes characters that would break a table cell or inject markup.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn table(out: &mut String, header: &[String], rows: &[Vec<String>]) {
    let _ = writeln!(out, "| {} |", header.iter().map(|h| esc(h)).collect::<Vec<_>>().join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(header.len()));
    for r in rows {
        let _ = writeln!(out, "| {} |", r.iter().map(|c| esc(c)).collect::<Vec<_>>().join(" | "));
    }
}

impl Renderer for MarkdownRenderer {
    fn runs(&self, runs: &RunList, _: &RenderOptions) -> String {
        let (header, rows) = crate::common::runs_rows(runs);
        let mut out = String::new();
        table(&mut out, &header, &rows);
        out
    }

    fn run(&self, report: &RunReport, _: &RenderOptions) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "### perfwatch run `{}`\n", report.run.id);
        if let Some(git) = &report.run.git {
            let _ = writeln!(
                out,
                "commit `{}`{}{} on {} ({} cores)\n",
                git.commit.get(..12).unwrap_or(&git.commit),
                git.branch.as_deref().map(|b| format!(" ({})", esc(b))).unwrap_or_default(),
                if git.dirty { ", dirty" } else { "" },
                esc(&report.run.host.cpu),
                report.run.host.cores
            );
        }
        let (header, rows) = run_rows(report);
        table(&mut out, &header, &rows);
        let custom = custom_rows(report);
        if !custom.is_empty() {
            out.push('\n');
            table(&mut out, &["case", "metric", "median ± 95% CI", "direction"].map(String::from), &custom);
        }
        if !report.budgets.is_empty() {
            out.push('\n');
            let (header, rows) = budget_rows(&report.budgets);
            table(&mut out, &header, &rows);
        }
        let notes = notes(report);
        if !notes.is_empty() {
            out.push_str("\n**Notes**\n\n");
            for n in notes {
                let _ = writeln!(out, "- {}", esc(n.trim_start()));
            }
        }
        out
    }

    fn comparison(&self, report: &ComparisonReport, _: &RenderOptions) -> String {
        let mut out = format!("{COMMENT_MARKER}\n");
        let s = report.summary;
        let headline = if s.regressed > 0 {
            format!("{} regression{}", s.regressed, if s.regressed == 1 { "" } else { "s" })
        } else {
            "no regressions".to_string()
        };
        let _ = writeln!(out, "### perfwatch: {headline}\n");
        let _ = writeln!(
            out,
            "Candidate `{}`{} vs baseline `{}`{}. {}.\n",
            report.candidate.run_id,
            report.candidate.name.as_deref().map(|n| format!(" ({})", esc(n))).unwrap_or_default(),
            report.baseline.run_id,
            report.baseline.name.as_deref().map(|n| format!(" ({})", esc(n))).unwrap_or_default(),
            summary_line(report)
        );
        let _ = writeln!(out, "Analysis: {}.\n", esc(report.design.describe()));
        if let Some(goal) = &report.speedup_goal {
            let _ = writeln!(out, "**{}**\n", esc(&goal.to_string()));
        }
        for w in &report.warnings {
            let _ = writeln!(out, "> **Warning:** {}\n", esc(&w.to_string()));
        }
        let ordered = by_attention(report);
        let (flagged, rest): (Vec<_>, Vec<_>) =
            ordered.into_iter().partition(|c| matches!(c.verdict, Verdict::Regressed | Verdict::Improved));
        if !flagged.is_empty() {
            let (header, rows) = comparison_rows(&flagged);
            table(&mut out, &header, &rows);
            out.push('\n');
        }
        if !report.budgets.is_empty() {
            let (header, rows) = budget_rows(&report.budgets);
            table(&mut out, &header, &rows);
            out.push('\n');
        }
        if !rest.is_empty() {
            let _ = writeln!(out, "<details><summary>{} other comparisons</summary>\n", rest.len());
            let (header, rows) = comparison_rows(&rest);
            table(&mut out, &header, &rows);
            out.push_str("\n</details>\n");
        }
        let notes = verdict_notes(&by_attention(report));
        if !notes.is_empty() {
            out.push_str("\n**Notes**\n\n");
            for n in notes {
                let _ = writeln!(out, "- {}", esc(n.trim_start_matches("* ")));
            }
        }
        out
    }

    fn history(&self, report: &HistoryReport, _: &RenderOptions) -> String {
        let mut out = String::new();
        for s in &report.series {
            let id = &s.case;
            let _ = writeln!(out, "### {} — {}\n", esc(&id.to_string()), esc(&s.metric));
            let rows: Vec<Vec<String>> = s
                .points
                .iter()
                .map(|p| {
                    vec![
                        p.run_id.clone(),
                        p.time.to_string(),
                        p.commit.clone().unwrap_or_default(),
                        human(p.median, &s.unit),
                    ]
                })
                .collect();
            table(&mut out, &["run", "time", "commit", "median"].map(String::from), &rows);
            out.push('\n');
        }
        out
    }

    fn detection(&self, report: &DetectionReport, _: &RenderOptions) -> String {
        let mut out = format!("### perfwatch: change points\n\n{}.\n\n", esc(&detection_summary(report)));
        let (header, rows) = detection_rows(report);
        if !rows.is_empty() {
            table(&mut out, &header, &rows);
        }
        out
    }

    fn bisect(&self, report: &BisectReport, _: &RenderOptions) -> String {
        let mut out = format!(
            "### perfwatch: bisect {}\n\n{}.\n\n",
            report.case,
            esc(&crate::common::bisect_summary(report))
        );
        let (header, rows) = crate::common::bisect_rows(report);
        if !rows.is_empty() {
            table(&mut out, &header, &rows);
        }
        out
    }

    fn explain(&self, report: &ExplainReport, _: &RenderOptions) -> String {
        let mut out = format!(
            "### perfwatch: explain {}\n\n{}.\n\n",
            report.case,
            esc(&crate::common::explain_summary(report))
        );
        let (header, rows) = crate::common::explain_rows(report);
        if !rows.is_empty() {
            table(&mut out, &header, &rows);
        }
        out
    }
}

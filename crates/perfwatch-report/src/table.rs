//! Terminal tables (comfy-table), fitted to the terminal width. Colour only when the caller
//! asks for it ([`RenderOptions::color`]), so piped output and snapshots stay plain; every
//! coloured word reads the same without colour.

use std::fmt::Write;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, Color, ContentArrangement, Table};
use perfwatch_model::{
    BisectReport, ComparisonReport, DetectionReport, ExplainReport, HistoryReport, RunList, RunReport,
};

use crate::common::{
    budget_rows, by_attention, comparison_rows, custom_rows, detection_rows, detection_summary, notes,
    run_rows, runs_rows, summary_line, verdict_notes,
};
use crate::pictures::{shared_range, sparkline, strip};
use crate::units::human;
use crate::{RenderOptions, Renderer};

pub(crate) struct TableRenderer;

fn table(header: Vec<String>, rows: Vec<Vec<String>>, opts: &RenderOptions) -> String {
    let mut t = Table::new();
    t.load_style(UTF8_FULL_CONDENSED);
    match opts.width {
        Some(w) => {
            t.set_width(w).set_content_arrangement(ContentArrangement::Dynamic);
        }
        None => {
            t.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    t.set_header(header);
    if opts.color {
        t.enforce_styling();
    }
    for mut r in rows {
        // The last column holds the verdict, status or kind of a row.
        let last = r.pop().map(|text| {
            let color = opts.color.then(|| paint(&text)).flatten();
            color.map_or_else(|| Cell::new(&text), |c| Cell::new(&text).fg(c))
        });
        t.add_row(r.into_iter().map(Cell::new).chain(last));
    }
    t.to_string()
}

/// The colour of a verdict, status or change-point kind: red for what needs attention,
/// green for good news, yellow for "could not tell".
fn paint(word: &str) -> Option<Color> {
    if ["REGRESSED", "REGRESSION", "FAIL"].iter().any(|w| word.starts_with(w)) {
        Some(Color::Red)
    } else if word.starts_with("IMPROVED") || word == "pass" || word.starts_with("improvement") {
        Some(Color::Green)
    } else if word.starts_with("inconclusive") || word == "missing" {
        Some(Color::Yellow)
    } else {
        None
    }
}

/// Columns of a distribution strip.
const STRIP_WIDTH: usize = 40;

/// Two strips, A above B over one range, for each measured distribution; the medians named
/// are the comparison's own (the numbers of the table above).
fn distributions(out: &mut String, report: &ComparisonReport) {
    for d in &report.distributions {
        let range = shared_range(&d.baseline, &d.candidate);
        let compared = report.comparisons.iter().find(|c| c.case == d.case && c.metric == d.metric);
        let _ = writeln!(out, "{} — {}", d.case, d.metric);
        for (side, values) in [("A", &d.baseline), ("B", &d.candidate)] {
            let median = compared.map(|c| if side == "A" { c.baseline_median } else { c.candidate_median });
            let legend = median.map(|m| format!(" median {}", human(m, &d.unit))).unwrap_or_default();
            let _ = writeln!(out, "  {side} │{}│{legend}", strip(values, range, STRIP_WIDTH));
        }
        let _ = writeln!(out, "     {} … {}", human(range.0, &d.unit), human(range.1, &d.unit));
    }
}

impl Renderer for TableRenderer {
    fn run(&self, report: &RunReport, opts: &RenderOptions) -> String {
        let mut out = String::new();
        let (header, rows) = run_rows(report);
        out.push_str(&table(header, rows, opts));
        out.push('\n');
        let custom = custom_rows(report);
        if !custom.is_empty() {
            let header = ["case", "metric", "median ± 95% CI", "direction"].map(String::from).into();
            out.push_str(&table(header, custom, opts));
            out.push('\n');
        }
        if !report.budgets.is_empty() {
            let (header, rows) = budget_rows(&report.budgets);
            out.push_str(&table(header, rows, opts));
            out.push('\n');
        }
        let notes = notes(report);
        if !notes.is_empty() {
            out.push_str("\nNotes:\n");
            for n in notes {
                let _ = writeln!(out, "  {n}");
            }
        }
        out
    }

    fn comparison(&self, report: &ComparisonReport, opts: &RenderOptions) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "baseline {}{}  →  candidate {}{}",
            report.baseline.run_id,
            report.baseline.name.as_deref().map(|n| format!(" ({n})")).unwrap_or_default(),
            report.candidate.run_id,
            report.candidate.name.as_deref().map(|n| format!(" ({n})")).unwrap_or_default()
        );
        let _ = writeln!(out, "analysis: {}", report.design.describe());
        if let Some(goal) = &report.speedup_goal {
            let _ = writeln!(out, "{goal}");
        }
        for w in &report.warnings {
            let _ = writeln!(out, "warning: {w}");
        }
        let ordered = by_attention(report);
        let (header, rows) = comparison_rows(&ordered);
        out.push_str(&table(header, rows, opts));
        out.push('\n');
        for note in verdict_notes(&ordered) {
            let _ = writeln!(out, "{note}");
        }
        distributions(&mut out, report);
        if !report.budgets.is_empty() {
            let (header, rows) = budget_rows(&report.budgets);
            out.push_str(&table(header, rows, opts));
            out.push('\n');
        }
        let _ = writeln!(out, "{}", summary_line(report));
        out
    }

    fn history(&self, report: &HistoryReport, opts: &RenderOptions) -> String {
        let mut out = String::new();
        for s in &report.series {
            let id = &s.case;
            let medians: Vec<f64> = s.points.iter().map(|p| p.median).collect();
            let recent = &medians[medians.len().saturating_sub(crate::pictures::SPARK_POINTS)..];
            let _ =
                writeln!(out, "{id} — {} ({} runs)  {}", s.metric, s.points.len(), spark(recent, &s.unit));
            let header = ["run", "time", "commit", "median", "95% CI"].map(String::from).into();
            let rows = s
                .points
                .iter()
                .map(|p| {
                    vec![
                        short(&p.run_id).to_string(),
                        p.time.strftime("%Y-%m-%d %H:%M:%S").to_string(),
                        p.commit.as_deref().map(short).unwrap_or("-").to_string(),
                        human(p.median, &s.unit),
                        format!("[{}, {}]", human(p.ci95[0], &s.unit), human(p.ci95[1], &s.unit)),
                    ]
                })
                .collect();
            out.push_str(&table(header, rows, opts));
            out.push('\n');
        }
        out
    }

    fn runs(&self, runs: &RunList, opts: &RenderOptions) -> String {
        let (header, rows) = runs_rows(runs);
        let mut out = table(header, rows, opts);
        let _ = writeln!(out, "\n{} runs", runs.runs.len());
        out
    }

    fn detection(&self, report: &DetectionReport, opts: &RenderOptions) -> String {
        let (header, rows) = detection_rows(report);
        let mut out = String::new();
        if !rows.is_empty() {
            out.push_str(&table(header, rows, opts));
            out.push('\n');
        }
        // A picture of each series that shifted, newest values last.
        for s in report.series.iter().filter(|s| !s.change_points.is_empty() && !s.recent.is_empty()) {
            let _ = writeln!(out, "{} — {}  {}", s.case, s.metric, spark(&s.recent, &s.unit));
        }
        let _ = writeln!(out, "{}", detection_summary(report));
        out
    }

    fn bisect(&self, report: &BisectReport, opts: &RenderOptions) -> String {
        let (header, rows) = crate::common::bisect_rows(report);
        let mut out = String::new();
        if !rows.is_empty() {
            out.push_str(&table(header, rows, opts));
            out.push('\n');
        }
        let _ = writeln!(out, "{}", crate::common::bisect_summary(report));
        out
    }

    fn explain(&self, report: &ExplainReport, opts: &RenderOptions) -> String {
        let (header, rows) = crate::common::explain_rows(report);
        let mut out = String::new();
        if !rows.is_empty() {
            out.push_str(&table(header, rows, opts));
            out.push('\n');
        }
        let _ = writeln!(out, "{}", crate::common::explain_summary(report));
        out
    }
}

/// A sparkline with the range it spans (its heights are relative to that range, so a flat
/// series and a jumpy one look alike without it).
fn spark(values: &[f64], unit: &str) -> String {
    let finite = values.iter().copied().filter(|v| v.is_finite());
    let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo > hi {
        return sparkline(values);
    }
    format!("{}  {} … {}", sparkline(values), human(lo, unit), human(hi, unit))
}

/// The first 12 characters of an id or hash.
fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

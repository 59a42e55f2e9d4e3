//! Terminal tables (comfy-table), fitted to the terminal width; colour-free so output
//! can be piped and snapshot-tested.

use std::fmt::Write;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};
use perfwatch_model::{ComparisonReport, DetectionReport, HistoryReport, RunList, RunReport};

use crate::common::{
    budget_rows, by_attention, comparison_rows, custom_rows, detection_rows, detection_summary, notes,
    run_rows, runs_rows, summary_line,
};
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
    for r in rows {
        t.add_row(r);
    }
    t.to_string()
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
            "baseline {}{}  →  candidate {}",
            report.baseline.run_id,
            report.baseline.name.as_deref().map(|n| format!(" ({n})")).unwrap_or_default(),
            report.candidate.run_id
        );
        for w in &report.warnings {
            let _ = writeln!(out, "warning: {w}");
        }
        let (header, rows) = comparison_rows(&by_attention(report));
        out.push_str(&table(header, rows, opts));
        out.push('\n');
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
            let _ = writeln!(out, "{id} — {} ({} runs)", s.metric, s.points.len());
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
        let _ = writeln!(out, "{}", detection_summary(report));
        out
    }
}

/// The first 12 characters of an id or hash.
fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

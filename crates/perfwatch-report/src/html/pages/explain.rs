//! The explanation page (`templates/explain.html`): where a case's cost moved between two
//! stored runs, as the ranked functions and the differential flame graph beside the page.

use askama::Template;
use perfwatch_model::{ExplainReport, ExplainSide, FunctionDelta};

use super::{APP_JS, Frame, LinkOr, render, short_commit};
use crate::html::case_href;

/// The differential flame graph a page shows (an SVG file or route beside the page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExplainGraph {
    /// Its address, relative to the page.
    pub href: String,
    /// Its height in pixels (the SVG's own; its width follows the page).
    pub height: u32,
}

#[derive(Template)]
#[template(path = "explain.html")]
struct ExplainPage<'a> {
    frame: Frame<'a>,
    case: String,
    case_href: String,
    unit: &'a str,
    profiler: &'static str,
    /// Base, then head.
    sides: [SideView<'a>; 2],
    total_delta: String,
    rows: Vec<FunctionRow>,
    graph: Option<&'a ExplainGraph>,
    /// Why there is no graph, when there is none.
    no_graph: &'a str,
}

struct SideView<'a> {
    label: &'static str,
    run: LinkOr,
    commit: Option<&'a str>,
    total: String,
}

/// One ranked function, every number formatted.
struct FunctionRow {
    name: String,
    self_base: String,
    self_head: String,
    self_delta: String,
    /// `v-regressed` when its own cost grew, `v-improved` when it shrank, else `v-unchanged`.
    class: &'static str,
    share: String,
    inclusive_base: String,
    inclusive_head: String,
    inclusive_delta: String,
}

/// `n` with thin spaces between groups of three digits (`12 345 678`), a sign when `signed`.
fn grouped(n: i128, signed: bool) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() * 2 + 1);
    if n < 0 {
        out.push('−');
    } else if signed {
        out.push('+');
    }
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push('\u{2009}');
        }
        out.push(d);
    }
    out
}

impl FunctionRow {
    fn new(f: &FunctionDelta) -> Self {
        FunctionRow {
            name: f.function.clone(),
            self_base: grouped(f.self_base.into(), false),
            self_head: grouped(f.self_head.into(), false),
            self_delta: grouped(f.self_delta.into(), true),
            class: match f.self_delta.signum() {
                1 => "v-regressed",
                -1 => "v-improved",
                _ => "v-unchanged",
            },
            share: format!("{:.1} %", f.self_share * 100.0).replacen('-', "−", 1),
            inclusive_base: grouped(f.inclusive_base.into(), false),
            inclusive_head: grouped(f.inclusive_head.into(), false),
            inclusive_delta: grouped(f.inclusive_delta.into(), true),
        }
    }
}

impl<'a> SideView<'a> {
    fn new(label: &'static str, side: &'a ExplainSide, has_page: &dyn Fn(&str) -> bool) -> Self {
        let run = match &side.run_id {
            Some(id) => LinkOr::run(id, has_page(id), side.label.clone()),
            None => LinkOr { href: None, label: side.label.clone() },
        };
        SideView {
            label,
            run,
            commit: side.commit.as_deref().map(short_commit),
            total: grouped(side.total.into(), false),
        }
    }
}

/// The page of an explanation between two stored runs: both sides (linked to their run pages
/// when `has_page` says they have one), the ranked functions, and the differential flame graph
/// `graph` embedded as an `<object>` (its script zooms and searches); without a graph,
/// `no_graph` says why.
pub fn explanation_page(
    report: &ExplainReport,
    graph: Option<&ExplainGraph>,
    no_graph: &str,
    has_page: &dyn Fn(&str) -> bool,
) -> String {
    let case = report.case.to_string();
    let title = format!("{case}: where the {} went", report.unit);
    let page = ExplainPage {
        frame: Frame::new(&title, "explain", APP_JS),
        case_href: case_href(&report.case),
        case,
        unit: &report.unit,
        profiler: report.profiler.as_str(),
        sides: [SideView::new("Base", &report.base, has_page), SideView::new("Head", &report.head, has_page)],
        total_delta: grouped(report.total_delta.into(), true),
        rows: report.functions.iter().map(FunctionRow::new).collect(),
        graph,
        no_graph,
    };
    render(&page, 4096 + report.functions.len() * 400)
}

#[cfg(test)]
mod tests {
    use super::grouped;

    #[test]
    fn numbers_are_grouped_in_threes() {
        assert_eq!(grouped(0, false), "0");
        assert_eq!(grouped(999, true), "+999");
        assert_eq!(grouped(1000, false), "1\u{2009}000");
        assert_eq!(grouped(-12_345_678, true), "−12\u{2009}345\u{2009}678");
        assert_eq!(
            grouped(i128::from(u64::MAX), false),
            "18\u{2009}446\u{2009}744\u{2009}073\u{2009}709\u{2009}551\u{2009}615"
        );
    }
}

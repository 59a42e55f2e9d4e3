//! The comparison page (`templates/comparison.html`): a candidate run against a baseline.

use askama::Template;
use perfwatch_model::{CaseId, Comparison, ComparisonReport, RunRef, RunReport, VerdictCounts};

use super::{APP_JS, Frame, LinkOr, TrustedSvg, VerdictView, fmt_time, render, short_commit};
use crate::html::svg::distribution;
use crate::html::{case_href, is_safe_run_id};
use crate::units::{human, pct_change};

#[derive(Template)]
#[template(path = "comparison.html")]
struct ComparisonPage<'a> {
    frame: Frame<'a>,
    /// Baseline, then candidate.
    sides: [SideView<'a>; 2],
    counts: &'a VerdictCounts,
    /// Paired or unpaired, as a sentence (the CLI prints the same).
    design: &'static str,
    /// The comparison's warnings, as the person reads them.
    warnings: Vec<String>,
    rows: Vec<RowView<'a>>,
}

/// One side of the comparison, as a line of the key–value table.
struct SideView<'a> {
    label: &'static str,
    /// The run id, linked when it can be a page's file name.
    run: LinkOr,
    /// The baseline name or label the side was chosen by.
    name: Option<&'a str>,
    /// Short commit hash.
    commit: Option<&'a str>,
    /// Start time and host name, when the run's report is at hand.
    seen: Option<(String, &'a str)>,
}

/// One case × metric.
struct RowView<'a> {
    name: String,
    /// The lowercase name `assets/app.js` searches (`data-name`).
    search_name: String,
    href: String,
    metric: &'a str,
    baseline: String,
    candidate: String,
    /// Relative change and its 95 % CI, `+5.3%`.
    change: String,
    ci_low: String,
    ci_high: String,
    verdict: Option<VerdictView>,
    p_value: String,
    /// Why the verdict is not what the interval alone says.
    notes: Vec<String>,
    /// Where the case's explanation between the two runs is (both have its profile).
    explain: Option<String>,
    plot_svg: TrustedSvg,
}

impl<'a> SideView<'a> {
    fn new(label: &'static str, side: &'a RunRef, report: Option<&'a RunReport>) -> Self {
        SideView {
            label,
            run: LinkOr::run(&side.run_id, is_safe_run_id(&side.run_id), side.run_id.clone()),
            name: side.name.as_deref(),
            commit: side.commit.as_deref().map(short_commit),
            seen: report.map(|r| (fmt_time(&r.run.started_at), r.run.host.hostname.as_str())),
        }
    }
}

/// The samples of `metric` of case `id` in `report`, if it has them.
fn samples<'r>(report: Option<&'r RunReport>, id: &CaseId, metric: &str) -> &'r [f64] {
    report
        .and_then(|r| r.benchmarks.iter().find(|b| &b.case == id))
        .and_then(|b| b.metrics.get(metric))
        .map_or(&[], |s| &s.samples)
}

impl<'a> RowView<'a> {
    fn new(
        c: &'a Comparison,
        (baseline, candidate): (Option<&RunReport>, Option<&RunReport>),
        explain: Option<String>,
    ) -> Self {
        let id = c.case.clone();
        let name = id.to_string();
        let plot = distribution(samples(baseline, &id, &c.metric), samples(candidate, &id, &c.metric), |v| {
            human(v, &c.unit)
        });
        RowView {
            search_name: name.to_lowercase(),
            href: case_href(&id),
            metric: &c.metric,
            baseline: human(c.baseline_median, &c.unit),
            candidate: human(c.candidate_median, &c.unit),
            change: pct_change(c.ratio),
            ci_low: pct_change(c.ci95[0]),
            ci_high: pct_change(c.ci95[1]),
            verdict: Some(VerdictView::new(c.verdict, None)),
            p_value: format!("{:.3}", c.p_value),
            notes: c.notes.iter().map(ToString::to_string).collect(),
            explain,
            plot_svg: TrustedSvg(plot),
            name,
        }
    }
}

/// A comparison page: verdict counts, warnings, and per case × metric the medians, the ratio with
/// its 95 % CI, the verdict and a strip plot of both sides' samples (taken from the two runs'
/// reports when given). `explain` gives, for a case whose profile both runs stored, the address
/// of its explanation (ranked functions and differential flame graph), linked from the case's
/// rows as "where? (flame graph)".
pub fn comparison_page(
    c: &ComparisonReport,
    baseline: Option<&RunReport>,
    candidate: Option<&RunReport>,
    title: &str,
    explain: &dyn Fn(&CaseId) -> Option<String>,
) -> String {
    let page = ComparisonPage {
        frame: Frame::new(title, "compare", APP_JS),
        sides: [
            SideView::new("Baseline", &c.baseline, baseline),
            SideView::new("Candidate", &c.candidate, candidate),
        ],
        counts: &c.summary,
        design: c.design.describe(),
        warnings: c.warnings.iter().map(ToString::to_string).collect(),
        rows: c
            .comparisons
            .iter()
            .map(|cmp| RowView::new(cmp, (baseline, candidate), explain(&cmp.case)))
            .collect(),
    };
    render(&page, 4096 + c.comparisons.len() * 4000)
}

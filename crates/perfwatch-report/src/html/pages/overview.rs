//! The overview page (`templates/overview.html`): every case × metric of the store.

use std::collections::BTreeSet;

use askama::Template;
use perfwatch_model::{CaseId, RunMeta, Verdict};

use super::{APP_JS, Frame, LinkOr, TrustedSvg, VerdictView, fmt_time, render, short_commit};
use crate::html::svg::sparkline;
use perfwatch_model::ChangePoint;

use crate::html::{Link, Overview, OverviewRow, case_href};
use crate::units::{human, pct_change};

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage<'a> {
    frame: Frame<'a>,
    case_count: usize,
    run_count: usize,
    /// The newest run, labelled with its start time.
    newest: Option<LinkOr>,
    /// When the page was made, with the words for a live or a static page.
    made: Option<String>,
    /// Every metric name once, sorted: the metric filter's options.
    metrics: Vec<&'a str>,
    rows: Rows<'a>,
    /// The newest runs, each with its status.
    recent: Vec<(LinkOr, &'static str)>,
    comparisons: &'a [Link],
    /// Series in the store (more than `rows` when this is one page of many).
    series_count: usize,
    /// Links between pages, when the series fill more than one.
    pages: Option<PageLinks>,
}

/// The links between pages of series.
struct PageLinks {
    /// "series 101–200 of 20000".
    showing: String,
    /// "page 2 of 200".
    at: String,
    previous: Option<String>,
    next: Option<String>,
}

impl PageLinks {
    fn new(p: &crate::html::Pager) -> Option<PageLinks> {
        let pages = p.pages();
        if pages <= 1 {
            return None;
        }
        let r = p.range();
        // Pages are numbered from 1 in addresses, as people count them.
        let href = |n: usize| format!("?page={}", n + 1);
        Some(PageLinks {
            showing: format!("series {}–{} of {}", r.start + 1, r.end, p.total),
            at: format!("page {} of {pages}", p.page + 1),
            previous: (p.page > 0).then(|| href(p.page - 1)),
            next: (p.page + 1 < pages).then(|| href(p.page + 1)),
        })
    }
}

/// The overview's rows, each made into a [`RowView`] only when the template reaches it.
///
/// With thousands of rows, making every view first and writing the page after kept all their
/// strings (mostly sparkline SVG) alive at once and then copied them; made one at a time, a
/// row's strings are written while still in the cache and freed before the next row.
struct Rows<'a>(&'a [OverviewRow]);

impl<'a> Rows<'a> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> IntoIterator for &Rows<'a> {
    type Item = RowView<'a>;
    type IntoIter = std::iter::Map<std::slice::Iter<'a, OverviewRow>, fn(&'a OverviewRow) -> RowView<'a>>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(RowView::new)
    }
}

/// One row of the overview table.
struct RowView<'a> {
    name: String,
    /// The lowercase name `assets/app.js` searches (`data-name`).
    search_name: String,
    href: String,
    metric: &'a str,
    /// The newest median, unformatted, for sorting (`data-latest`; empty when none).
    sort_latest: String,
    latest: Option<LatestView>,
    verdict: Option<VerdictView>,
    /// `data-verdict` and `data-vrank`: the filter's value and the sort order.
    verdict_name: &'static str,
    verdict_rank: u8,
    spark_svg: TrustedSvg,
    change: Option<ChangeView>,
    /// `data-kind` and `data-cptime` (empty and 0 without a change point).
    change_kind: &'static str,
    change_time: i64,
    points: u64,
}

/// The newest median and its 95 % CI, formatted with the unit.
struct LatestView {
    median: String,
    ci_low: String,
    ci_high: String,
}

/// The newest change point of a row, as shown.
struct ChangeView {
    kind: &'static str,
    /// Relative change, `+5.3%`.
    change: String,
    /// Where: a short commit hash, or the start of the run id.
    at: String,
    time: String,
    /// Unix seconds, the sort key.
    sort_time: i64,
}

impl ChangeView {
    /// The only code of the pages that reads a [`ChangePoint`]'s fields.
    fn new(c: &ChangePoint) -> Self {
        let run = c.run_id.as_deref().unwrap_or_default();
        let at = c.commit.as_deref().map(short_commit).unwrap_or_else(|| run.get(..8).unwrap_or(run));
        ChangeView {
            kind: c.kind.as_str(),
            change: pct_change(1.0 + c.change),
            at: at.to_string(),
            time: c.time.as_ref().map(fmt_time).unwrap_or_default(),
            sort_time: c.time.map_or(0, |t| t.as_second()),
        }
    }
}

/// Order of the verdict column when sorted: the rows that need attention first.
fn verdict_rank(v: Option<Verdict>) -> u8 {
    match v {
        Some(Verdict::Regressed) => 0,
        Some(Verdict::Inconclusive) => 1,
        Some(Verdict::Improved) => 2,
        Some(Verdict::Unchanged) => 3,
        None => 4,
    }
}

impl<'a> RowView<'a> {
    fn new(r: &'a OverviewRow) -> Self {
        let name = r.case.to_string();
        let latest = r.latest.as_ref();
        let change = r.change.as_ref().map(ChangeView::new);
        RowView {
            search_name: name.to_lowercase(),
            href: case_href(&r.case),
            metric: &r.metric,
            sort_latest: latest.map_or(String::new(), |p| p.median.to_string()),
            latest: latest.map(|p| LatestView {
                median: human(p.median, &r.unit),
                ci_low: human(p.ci95[0], &r.unit),
                ci_high: human(p.ci95[1], &r.unit),
            }),
            verdict: r.verdict.map(|v| VerdictView::new(v, r.ratio.map(pct_change))),
            verdict_name: r.verdict.map_or("", Verdict::as_str),
            verdict_rank: verdict_rank(r.verdict),
            spark_svg: TrustedSvg(sparkline(&r.spark, 120.0, 24.0, &format!("trend of {name} {}", r.metric))),
            change_kind: change.as_ref().map_or("", |c| c.kind),
            change_time: change.as_ref().map_or(0, |c| c.sort_time),
            change,
            points: r.points,
            name,
        }
    }
}

/// A run in the list of recent runs: start time, commit, branch and whether the tree was dirty.
fn recent_run(run: &RunMeta, has_page: bool) -> (LinkOr, &'static str) {
    let label = match &run.git {
        Some(g) => format!(
            "{} · {}{}{}",
            fmt_time(&run.started_at),
            short_commit(&g.commit),
            g.branch.as_deref().map(|b| format!(" ({b})")).unwrap_or_default(),
            if g.dirty { " dirty" } else { "" }
        ),
        None => fmt_time(&run.started_at),
    };
    (LinkOr::run(&run.id, has_page, label), run.status.as_str())
}

/// The overview: every case × metric with its latest value, a sparkline, the latest verdict and
/// the newest change point; search, filters and sortable columns (see `assets/app.js`).
pub fn overview_page(o: &Overview) -> String {
    let cases: BTreeSet<&CaseId> = o.rows.iter().map(|r| &r.case).collect();
    let metrics: BTreeSet<&str> = o.rows.iter().map(|r| r.metric.as_str()).collect();
    let page = OverviewPage {
        frame: Frame::new("Overview", "overview", APP_JS),
        case_count: cases.len(),
        run_count: o.run_count,
        newest: o
            .recent_runs
            .first()
            .map(|(run, page)| LinkOr::run(&run.id, *page, fmt_time(&run.started_at))),
        made: o
            .generated_at
            .map(|t| format!("{} {}", if o.live { "live, as of" } else { "report made" }, fmt_time(&t))),
        metrics: metrics.into_iter().collect(),
        rows: Rows(&o.rows),
        recent: o.recent_runs.iter().map(|(run, page)| recent_run(run, *page)).collect(),
        comparisons: &o.comparisons,
        series_count: o.pager.map_or(o.rows.len(), |p| p.total),
        pages: o.pager.as_ref().and_then(PageLinks::new),
    };
    render(&page, 4096 + o.rows.len() * 1400)
}

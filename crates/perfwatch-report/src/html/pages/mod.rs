//! The six page types, rendered from askama templates in `templates/` (the crate root).
//!
//! **Why askama.** It is the project's chosen template crate (style guide §5), and it fits what
//! the pages need: templates are compiled into the crate, so a typo in a field name, a wrong
//! type or an unclosed tag is a build error rather than a broken page at run time; every
//! `{{ value }}` is HTML-escaped unless a template says `|safe`, so escaping no longer depends
//! on remembering a helper at each of dozens of call sites; and the markup stays in `.html`
//! files that read like the pages they produce, with one base layout (`base.html`, blocks) and
//! macros for repeated pieces (`macros.html`). maud was the alternative: just as compile-time
//! checked and fast, but its markup is Rust macro syntax, further from the HTML a reviewer
//! compares with the browser. Askama 0.14 is used because 0.15 and later need Rust 1.88, above
//! the workspace's MSRV of 1.85.
//!
//! **Split of work.** The Rust side (this module and `overview`, `run`, `comparison`, `explain`) turns the
//! public data into view models: every number already formatted with its unit, every link
//! already chosen, rows already in display order. The templates only place those values in
//! markup.
//!
//! **Escaping.** Text is escaped by the engine with [`super::PageEscaper`] (the named entities
//! of [`super::escape_html`]). The one exception is the inline SVG of `svg.rs`, carried as
//! [`TrustedSvg`] and written with `|safe`; see there why that is sound. There are no inline
//! scripts (so a strict Content-Security-Policy holds): each page's behaviour is chosen by
//! `<body data-page>` in `assets/app.js`.

mod comparison;
mod explain;
mod overview;
mod run;

use std::fmt;

use askama::Template;
use jiff::Timestamp;
use perfwatch_model::Verdict;

use super::{CaseView, SITE_NAME, case_data_href, run_href};

pub use comparison::comparison_page;
pub use explain::{ExplainGraph, explanation_page};
pub use overview::overview_page;
pub use run::run_page;

fn fmt_time(t: &Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

/// The first 12 characters of a commit hash (or of a run id), as shown in text.
fn short_commit(c: &str) -> &str {
    c.get(..12).unwrap_or(c)
}

/// What the frame of every page (`base.html`) shows around the page's own markup.
struct Frame<'a> {
    /// The page's title, before the site name.
    title: &'a str,
    /// [`SITE_NAME`], for the title and the brand link.
    site: &'static str,
    /// `<body data-page>`: which setup `assets/app.js` runs.
    page: &'static str,
    /// Script files to load at the end of `body`, relative to the site root.
    scripts: &'a [&'a str],
}

impl<'a> Frame<'a> {
    fn new(title: &'a str, page: &'static str, scripts: &'a [&'a str]) -> Self {
        Frame { title, site: SITE_NAME, page, scripts }
    }
}

/// Only the dashboard's own script: the pages without a chart.
const APP_JS: &[&str] = &["assets/app.js"];

/// Inline SVG markup made by `svg.rs`, written into a page unescaped (`|safe` in a template).
///
/// Sound because `svg.rs` builds the markup itself from numbers it formats and from labels it
/// escapes with [`super::escape_html`]; no other text reaches it. Templates apply `|safe` to
/// nothing but fields of this type (whose names end in `_svg`; a test below checks).
struct TrustedSvg(String);

impl fmt::Display for TrustedSvg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A label, linked when its target exists (`link` in `macros.html`).
struct LinkOr {
    href: Option<String>,
    label: String,
}

impl LinkOr {
    /// A run's label, linked to the run's page when the site has one.
    fn run(id: &str, has_page: bool, label: String) -> Self {
        LinkOr { href: has_page.then(|| run_href(id)), label }
    }
}

/// A verdict badge (`verdict` in `macros.html`): the verdict and, when known, the change.
struct VerdictView {
    name: &'static str,
    change: Option<String>,
}

impl VerdictView {
    fn new(verdict: Verdict, change: Option<String>) -> Self {
        VerdictView { name: verdict.as_str(), change }
    }
}

/// Renders a page into a string of about `capacity` bytes.
fn render(page: &impl Template, capacity: usize) -> String {
    let mut out = String::with_capacity(capacity);
    page.render_into(&mut out).expect("the page templates only write to a String, which cannot fail");
    out
}

#[derive(Template)]
#[template(path = "case.html")]
struct CasePage<'a> {
    frame: Frame<'a>,
    name: &'a str,
    /// Metric, unit and number of points, as [`CaseView::metrics`].
    metrics: &'a [(String, String, u64)],
}

/// A case page: history chart of the medians with the 95 % CI band, change points, hover and
/// keyboard details, metric switcher, x by run or time, zoom. The data come from
/// `data/runs.js` and [`case_data_href`].
pub fn case_page(c: &CaseView) -> String {
    let name = c.case.to_string();
    let data = case_data_href(&c.case);
    let scripts = ["assets/app.js", "assets/uPlot.iife.min.js", "data/runs.js", &data];
    let page = CasePage { frame: Frame::new(&name, "case", &scripts), name: &name, metrics: &c.metrics };
    render(&page, 4096)
}

#[derive(Template)]
#[template(path = "notice.html")]
struct NoticePage<'a> {
    frame: Frame<'a>,
    message: &'a str,
}

/// A page with a title and one paragraph of text (empty states, "not found").
pub fn notice_page(title: &str, message: &str) -> String {
    render(&NoticePage { frame: Frame::new(title, "notice", APP_JS), message }, 2048)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::html::{Overview, OverviewRow};
    use perfwatch_model::{Better, CaseId, HistoryPoint};

    #[test]
    fn names_are_escaped_everywhere() {
        let evil = CaseId::new("<script>alert(1)</script>", [("k\"", "'&")]);
        let point = HistoryPoint {
            run_id: "r1".into(),
            time: "2025-01-02T03:04:05Z".parse().unwrap(),
            commit: Some("<img src=x>".into()),
            median: 1.0,
            ci95: [0.9, 1.1],
        };
        let o = Overview {
            rows: vec![OverviewRow {
                case: evil.clone(),
                metric: "<b>m</b>".into(),
                unit: "s".into(),
                better: Better::Lower,
                points: 1,
                latest: Some(point),
                spark: vec![1.0, 2.0],
                verdict: None,
                ratio: None,
                change: None,
            }],
            ..Overview::default()
        };
        let html = overview_page(&o);
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(!html.contains("<b>m</b>"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        // In attributes too, quotes included, and inside the sparkline's label.
        assert!(html.contains("data-name=\"&lt;script&gt;alert(1)&lt;/script&gt;[k&quot;=&#39;&amp;]\""));
        assert!(html.contains("aria-label=\"trend of &lt;script&gt;"));
        let page =
            case_page(&CaseView { case: evil, metrics: vec![("<i>".into(), "s".into(), 1)], live: false });
        assert!(!page.contains("<script>alert") && !page.contains("<i>"));
        assert!(page.contains("&lt;script&gt;"));
        let notice = notice_page("<script>t</script>", "<script>m</script>");
        assert!(!notice.contains("<script>t") && !notice.contains("<script>m"), "{notice}");
    }

    /// One page of many says which series it shows and links its neighbours; a single page
    /// (or the static report, without a pager) has no page links.
    #[test]
    fn a_paged_overview_links_its_neighbours() {
        use crate::html::Pager;
        let o = |page, total| Overview {
            pager: Some(Pager { page, per_page: 100, total }),
            ..crate::fixtures::overview(true)
        };
        let middle = overview_page(&o(1, 250));
        assert!(middle.contains("series 101–200 of 250"), "{middle}");
        assert!(middle.contains("page 2 of 3"));
        assert!(
            middle.contains("href=\"?page=1\" rel=\"prev\"")
                && middle.contains("href=\"?page=3\" rel=\"next\"")
        );
        let last = overview_page(&o(2, 250));
        assert!(last.contains("series 201–250 of 250") && !last.contains("rel=\"next\""));
        let first = overview_page(&o(0, 250));
        assert!(!first.contains("rel=\"prev\"") && first.contains("href=\"?page=2\""));
        let single = overview_page(&o(0, 40));
        assert!(!single.contains("class=\"pager\"") && single.contains("40 series"), "{single}");
        assert_eq!(Pager { page: 9, per_page: 100, total: 250 }.range(), 250..250);
        assert_eq!(Pager { page: 0, per_page: 100, total: 0 }.pages(), 1);
    }

    /// `|safe` turns escaping off, so it may only write [`TrustedSvg`] fields (named `*_svg`);
    /// an explicit escaper (`|escape("txt")`) could turn it off as well, so none is used.
    #[test]
    fn only_svg_is_written_unescaped() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let mut checked = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            for (i, _) in text.match_indices("|safe") {
                let before = text[..i].trim_end();
                assert!(before.ends_with("_svg"), "{}: `|safe` on something else than SVG", path.display());
                checked += 1;
            }
            for filter in ["|e(", "|escape("] {
                assert!(!text.contains(filter), "{}: explicit escaper `{filter}`", path.display());
            }
        }
        assert_eq!(checked, 2, "the sparkline and the distribution plot");
    }
}

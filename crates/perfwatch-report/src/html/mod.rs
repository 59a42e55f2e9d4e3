//! The HTML dashboard: pages of the static report (`perfwatch report --html DIR`) and of
//! `perfwatch serve`, rendered from plain data (no I/O here).
//!
//! Both front ends serve the same files at the same relative paths, so a page behaves the
//! same when opened from disk (`file://`, no network) and when served live:
//!
//! | path | content |
//! |---|---|
//! | `index.html` | overview: every case × metric ([`overview_page`]) |
//! | `case-SLUG.html` | one case: history chart of every metric ([`case_page`]) |
//! | `run-ID.html` | one run: host, git, every case, caveats ([`run_page`]) |
//! | `compare-NAME.html` | baseline vs candidate ([`comparison_page`]) |
//! | `explain-SLUG-HASH.html`, `.svg` | static report: where a profiled case's cost moved between two runs ([`explanation_page`], [`explain_files`]) |
//! | `explain?case=…&base=…&head=…` | the same, served live ([`explain_href`]) |
//! | `data/runs.js` | the run table every case page shares ([`runs_js`]) |
//! | `data/SLUG.js` | the columnar history of one case ([`case_data_js`]) |
//! | `assets/…` | uPlot (vendored, MIT) and the dashboard's own script and style ([`assets`]) |
//!
//! Data reach the pages as classic `<script src>` files, not `fetch`, because browsers refuse
//! `fetch` of `file://` URLs. The pages are askama templates (`templates/*.html`, filled by view
//! models in `pages/`; see there why askama). Every name is escaped: in markup by the templates'
//! escaper, which writes the same entities as [`escape_html`]; inside scripts by [`script_json`]
//! (`<`, `>`, `&`, U+2028 and U+2029 become `\uXXXX`).
//!
//! ```
//! use perfwatch_report::html::{escape_html, script_json};
//! assert_eq!(escape_html("<b>&\"'"), "&lt;b&gt;&amp;&quot;&#39;");
//! assert_eq!(escape_html("«é» <ü>"), "«é» &lt;ü&gt;");
//! assert_eq!(script_json(&"</script>"), r#""\u003c/script\u003e""#);
//! ```

pub mod assets;
mod data;
mod pages;
mod svg;
#[cfg(test)]
mod tests;

use std::fmt::Write as _;

use askama::filters::Escaper as _;
use jiff::Timestamp;
use perfwatch_model::{Better, CaseId, ChangePoint, HistoryPoint, RunMeta, Verdict};
use serde::Serialize;

pub use data::{SeriesColumns, case_data_js, change_runs, runs_js, series_api_json, write_compact_f64};
pub use pages::{
    ExplainGraph, case_page, comparison_page, explanation_page, notice_page, overview_page, run_page,
};

/// Title of every page, after the page's own title.
pub const SITE_NAME: &str = "perfwatch";

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    PageEscaper.write_escaped_str(&mut out, s).expect("writing to a String cannot fail");
    out
}

/// The escaper of every page template (configured in `askama.toml`) and of [`escape_html`]:
/// `&`, `<`, `>`, `"` and `'` become `&amp;`, `&lt;`, `&gt;`, `&quot;` and `&#39;`.
///
/// Askama's own HTML escaper is as safe but writes numeric entities (`&#60;`); this one keeps the
/// named entities the pages have always had, so the escaped form of a name is the same in every
/// page, in the SVG pictures and in what the server's tests look for.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PageEscaper;

impl askama::filters::Escaper for PageEscaper {
    fn write_escaped_str<W: std::fmt::Write>(&self, mut dest: W, s: &str) -> std::fmt::Result {
        let mut plain = 0;
        for (i, b) in s.bytes().enumerate() {
            let entity = match b {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                b'\'' => "&#39;",
                _ => continue,
            };
            // The five characters are ASCII, so `i` is a char boundary.
            dest.write_str(&s[plain..i])?;
            dest.write_str(entity)?;
            plain = i + 1;
        }
        dest.write_str(&s[plain..])
    }
}

/// Serializes `value` as JSON that is safe inside a `<script>` element or a `.js` file:
/// `<`, `>`, `&`, U+2028 and U+2029 are written as `\uXXXX` escapes.
pub fn script_json<T: Serialize + ?Sized>(value: &T) -> String {
    let json = serde_json::to_string(value).expect("serializing plain data cannot fail");
    escape_script_json(&json)
}

/// Applies the escapes of [`script_json`] to JSON text that is already serialized.
pub fn escape_script_json(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// File-name-safe, stable identifier of a case: its display form with every character outside
/// `[A-Za-z0-9_.=-]` replaced by `_` (at most 60 characters), then `-` and 8 hex digits of a hash
/// of the full display form, so distinct cases never share a slug in practice.
pub fn case_slug(case: &CaseId) -> String {
    let display = case.to_string();
    let mut slug: String = display
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '=' | '-') { c } else { '_' })
        .take(60)
        .collect();
    // A leading dot would make a hidden file; `..` must never appear as a path segment.
    if slug.starts_with('.') {
        slug.replace_range(0..1, "_");
    }
    let _ = write!(slug, "-{:08x}", fnv1a(display.as_bytes()) as u32);
    slug
}

/// Path of a case page, relative to the site root.
pub fn case_href(case: &CaseId) -> String {
    format!("case-{}.html", case_slug(case))
}

/// Path of a case's data script, relative to the site root.
pub fn case_data_href(case: &CaseId) -> String {
    format!("data/{}.js", case_slug(case))
}

/// Whether `id` may be used as a run id in a file name (`[A-Za-z0-9-]`, 1 to 64 characters).
pub fn is_safe_run_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Path of a run page, relative to the site root (run ids that are not file-name safe are
/// hashed).
pub fn run_href(run_id: &str) -> String {
    if is_safe_run_id(run_id) {
        format!("run-{run_id}.html")
    } else {
        format!("run-x{:016x}.html", fnv1a(run_id.as_bytes()))
    }
}

/// Address of the live explanation of `case` between runs `base` and `head` (`perfwatch
/// serve`'s `GET /explain`), relative to the site root: the case's display form and the run
/// ids as percent-encoded query values.
///
/// ```
/// use perfwatch_model::CaseId;
/// let case = CaseId::new("sort", [("n", "1000")]);
/// assert_eq!(
///     perfwatch_report::html::explain_href(&case, "r1", "r2"),
///     "explain?case=sort%5Bn%3D1000%5D&base=r1&head=r2"
/// );
/// ```
pub fn explain_href(case: &CaseId, base: &str, head: &str) -> String {
    format!("explain?{}", explain_query(case, base, head))
}

/// Address of the differential flame graph of the live explanation [`explain_href`] (`GET
/// /explain/diff.svg`), relative to the site root.
pub fn explain_svg_href(case: &CaseId, base: &str, head: &str) -> String {
    format!("explain/diff.svg?{}", explain_query(case, base, head))
}

fn explain_query(case: &CaseId, base: &str, head: &str) -> String {
    format!("case={}&base={}&head={}", query_value(&case.to_string()), query_value(base), query_value(head))
}

/// File names of the static report's explanation of `case` between runs `base` and `head`:
/// the page and its differential flame graph (`explain-SLUG-HASH.html` and `.svg`, the hash
/// taken over both run ids).
pub fn explain_files(case: &CaseId, base: &str, head: &str) -> (String, String) {
    let mut key = Vec::with_capacity(base.len() + head.len() + 1);
    key.extend_from_slice(base.as_bytes());
    key.push(0);
    key.extend_from_slice(head.as_bytes());
    let stem = format!("explain-{}-{:08x}", case_slug(case), fnv1a(&key) as u32);
    (format!("{stem}.html"), format!("{stem}.svg"))
}

/// `s` as a URL query value: every byte but ASCII letters, digits and `-._~` percent-encoded.
fn query_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// 64-bit FNV-1a: a stable hash for slugs (not for security).
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// One line of the overview: a case × metric.
#[derive(Debug, Clone, PartialEq)]
pub struct OverviewRow {
    /// The case.
    pub case: CaseId,
    /// Metric name.
    pub metric: String,
    /// Unit of the values.
    pub unit: String,
    /// Direction of improvement.
    pub better: Better,
    /// Number of stored points.
    pub points: u64,
    /// Newest point.
    pub latest: Option<HistoryPoint>,
    /// The newest medians (oldest first), for the sparkline.
    pub spark: Vec<f64>,
    /// Verdict of the newest run against the previous one, when both measured this series.
    pub verdict: Option<Verdict>,
    /// Candidate/baseline ratio behind [`OverviewRow::verdict`].
    pub ratio: Option<f64>,
    /// Newest change point of the whole history.
    pub change: Option<ChangePoint>,
}

/// A link with a label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Target, relative to the site root.
    pub href: String,
    /// Visible text.
    pub label: String,
}

/// Everything the overview page shows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Overview {
    /// Every case × metric, in display order.
    pub rows: Vec<OverviewRow>,
    /// The newest runs, newest first (each with `true` when its page exists).
    pub recent_runs: Vec<(RunMeta, bool)>,
    /// Total number of stored runs.
    pub run_count: usize,
    /// Comparison pages to offer.
    pub comparisons: Vec<Link>,
    /// When the page was made.
    pub generated_at: Option<Timestamp>,
    /// `true` for `perfwatch serve`, `false` for the static report.
    pub live: bool,
    /// Which page of the series this is, when the rows are one page of many (`perfwatch
    /// serve` of a store with more series than a page holds); `None`: every series.
    pub pager: Option<Pager>,
}

/// Where one page of the overview's series lies among all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pager {
    /// 0-based page number.
    pub page: usize,
    /// Series per page.
    pub per_page: usize,
    /// Series in the store.
    pub total: usize,
}

impl Pager {
    /// How many pages the series fill (at least one).
    pub fn pages(&self) -> usize {
        self.total.div_ceil(self.per_page.max(1)).max(1)
    }

    /// The positions of this page's series among all of them.
    pub fn range(&self) -> std::ops::Range<usize> {
        let start = (self.page * self.per_page).min(self.total);
        start..(start + self.per_page).min(self.total)
    }
}

/// Everything a case page shows besides its data script.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseView {
    /// The case.
    pub case: CaseId,
    /// Its metrics: name, unit and number of points, in display order.
    pub metrics: Vec<(String, String, u64)>,
    /// `true` for `perfwatch serve`.
    pub live: bool,
}

//! Every page type rendered from the fixed fixtures of `crate::fixtures`: one insta snapshot per
//! page (`snapshots/`), so any change of markup, escaping or formatting shows up in review.

use super::{
    ExplainGraph, case_page, comparison_page, explain_href, explanation_page, notice_page, overview_page,
    run_page,
};
use crate::fixtures::*;
use perfwatch_model::CaseId;

/// Which cases of the run fixtures have a page: all but the failed one, so both the linked and
/// the plain form of a case name are shown.
fn has_page(c: &CaseId) -> bool {
    !c.name.starts_with("broken")
}

/// The full comparison links the explanation of the case named like markup (both runs have
/// its profile), and of no other.
fn comparison_full() -> String {
    let (base, cand) = comparison_sides();
    let explain = |c: &CaseId| c.name.starts_with("<script>").then(|| explain_href(c, "run-a", "run-b"));
    comparison_page(
        &full_comparison_report(),
        Some(&base),
        Some(&cand),
        "Candidate <b> vs \"main\"",
        &explain,
    )
}

fn comparison_empty() -> String {
    comparison_page(&empty_comparison_report(), None, None, "Latest run vs the previous one", &|_| None)
}

fn explanation() -> String {
    let graph = ExplainGraph { href: "explain/diff.svg?case=x&base=run-a&head=<7>".into(), height: 310 };
    explanation_page(&explain_report(), Some(&graph), "", &|id| id == "run-a")
}

fn explanation_without_graph() -> String {
    explanation_page(
        &explain_report(),
        None,
        "The head's profile is empty: there is no graph to draw.",
        &|_| true,
    )
}

fn notice_not_found() -> String {
    notice_page("Not <found>", "There is no page at \"/x?<script>\" & that's that.")
}

/// Every page of the fixtures, by snapshot name.
fn all_pages() -> Vec<(&'static str, String)> {
    vec![
        ("overview_static", overview_page(&overview(false))),
        ("overview_live", overview_page(&overview(true))),
        ("overview_empty_static", overview_page(&empty_overview(false))),
        ("overview_empty_live", overview_page(&empty_overview(true))),
        ("case", case_page(&case_view())),
        ("case_empty", case_page(&empty_case_view())),
        ("run_ok", run_page(&ok_run_report(), has_page)),
        ("run_troubled", run_page(&troubled_run_report(), has_page)),
        ("run_bare", run_page(&bare_run_report(), has_page)),
        ("comparison_full", comparison_full()),
        ("comparison_empty", comparison_empty()),
        ("explanation", explanation()),
        ("explanation_without_graph", explanation_without_graph()),
        ("notice", notice_not_found()),
    ]
}

#[test]
fn overview_static() {
    insta::assert_snapshot!(overview_page(&overview(false)));
}

#[test]
fn overview_live() {
    insta::assert_snapshot!(overview_page(&overview(true)));
}

#[test]
fn overview_empty_static() {
    insta::assert_snapshot!(overview_page(&empty_overview(false)));
}

#[test]
fn overview_empty_live() {
    insta::assert_snapshot!(overview_page(&empty_overview(true)));
}

#[test]
fn case() {
    insta::assert_snapshot!(case_page(&case_view()));
}

#[test]
fn case_empty() {
    insta::assert_snapshot!(case_page(&empty_case_view()));
}

#[test]
fn run_ok() {
    insta::assert_snapshot!(run_page(&ok_run_report(), has_page));
}

#[test]
fn run_troubled() {
    insta::assert_snapshot!(run_page(&troubled_run_report(), has_page));
}

#[test]
fn run_bare() {
    insta::assert_snapshot!(run_page(&bare_run_report(), has_page));
}

#[test]
fn comparison_with_every_verdict() {
    insta::assert_snapshot!(comparison_full());
}

#[test]
fn comparison_without_rows() {
    insta::assert_snapshot!(comparison_empty());
}

#[test]
fn explanation_with_graph() {
    insta::assert_snapshot!(explanation());
}

#[test]
fn explanation_without_a_graph() {
    let page = explanation_without_graph();
    assert!(page.contains("<p>The head&#39;s profile is empty: there is no graph to draw.</p>"), "{page}");
    assert!(!page.contains("<object"));
}

/// The comparison links a case's explanation only where it was given one, with the case's
/// name percent-encoded in the address (and the address escaped in the attribute).
#[test]
fn comparison_links_explanations() {
    let page = comparison_full();
    assert_eq!(page.matches("where? (flame graph)").count(), 1, "one row of the case with profiles");
    assert!(
        page.contains("href=\"explain?case=%3Cscript%3Ex%3C%2Fscript%3E&amp;base=run-a&amp;head=run-b\""),
        "{page}"
    );
    assert!(!comparison_empty().contains("flame graph"));
}

#[test]
fn notice() {
    insta::assert_snapshot!(notice_not_found());
}

/// The fixtures' hostile names reach no page as markup: every page shows them escaped.
#[test]
fn no_fixture_name_escapes() {
    for (name, html) in all_pages() {
        for raw in ["<script>alert", "<b>wall", "<i>hits", "<b> vs", "<script>x", "<found>", "<k>", "<60>"] {
            assert!(!html.contains(raw), "{name}: {raw}");
        }
        assert_eq!(html.matches("<script").count(), html.matches("<script src=\"").count(), "{name}");
    }
}

/// Writes every fixture page to the directory in `PERFWATCH_PAGE_DUMP`, to compare two versions
/// of the page code byte by byte or in a browser:
/// `PERFWATCH_PAGE_DUMP=$PWD/target/pages-old cargo test -p perfwatch-report dump_pages -- --ignored`.
#[test]
#[ignore = "writes files; run by hand with PERFWATCH_PAGE_DUMP set"]
fn dump_pages() {
    let dir = std::env::var_os("PERFWATCH_PAGE_DUMP").expect("set PERFWATCH_PAGE_DUMP to a directory");
    let dir = std::path::Path::new(&dir);
    std::fs::create_dir_all(dir).unwrap();
    for (name, html) in all_pages() {
        std::fs::write(dir.join(format!("{name}.html")), html).unwrap();
    }
}

//! Every page type rendered from the fixed fixtures of `crate::fixtures`.

use super::{case_page, comparison_page, notice_page, overview_page, run_page};
use crate::fixtures::*;
use perfwatch_model::CaseId;

/// Which cases of the run fixtures have a page: all but the failed one, so both the linked and
/// the plain form of a case name are shown.
fn has_page(c: &CaseId) -> bool {
    !c.name.starts_with("broken")
}

/// Every page of the fixtures, by a file-name-safe name.
fn all_pages() -> Vec<(&'static str, String)> {
    let (base, cand) = comparison_sides();
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
        (
            "comparison_full",
            comparison_page(&full_comparison_report(), Some(&base), Some(&cand), "Candidate <b> vs \"main\""),
        ),
        (
            "comparison_empty",
            comparison_page(&empty_comparison_report(), None, None, "Latest run vs the previous one"),
        ),
        ("notice", notice_page("Not <found>", "There is no page at \"/x?<script>\" & that's that.")),
    ]
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

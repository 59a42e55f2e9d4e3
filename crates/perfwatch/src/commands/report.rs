//! `perfwatch report --html DIR` and `perfwatch serve`: the same pages, static or live.

use std::sync::Arc;

use perfwatch_model::exit_codes;
use perfwatch_server::{Comparer, ServeOptions, SiteOptions};

use crate::cli::{ReportArgs, ServeArgs, StoreArgs};

/// Pages compare runs with the same rule as `perfwatch compare` (thresholds from the suite
/// file when there is one).
fn site_options(store: &StoreArgs) -> anyhow::Result<SiteOptions> {
    let plan = super::compare::optional_plan(&store.config)?;
    let comparer: Comparer = Arc::new(move |baseline, candidate| {
        super::compare::build_report(baseline, None, candidate, plan.as_ref())
    });
    Ok(SiteOptions { comparer: Some(comparer), ..SiteOptions::default() })
}

/// Writes the static site.
pub fn html(args: ReportArgs) -> anyhow::Result<i32> {
    let opts = SiteOptions { max_run_pages: args.max_run_pages, ..site_options(&args.store)? };
    let url = super::store_url(&args.store);
    let summary = perfwatch_server::report_html(&url, &args.html, &opts)?;
    eprintln!(
        "wrote {}: {} cases, {} series, {} points — open {}",
        args.html.display(),
        summary.cases,
        summary.series,
        summary.points,
        args.html.join("index.html").display()
    );
    Ok(exit_codes::SUCCESS)
}

/// Serves until interrupted.
pub fn serve(args: ServeArgs) -> anyhow::Result<i32> {
    let opts = ServeOptions { site: site_options(&args.store)?, ..ServeOptions::default() };
    let url = super::store_url(&args.store);
    eprintln!("perfwatch dashboard on http://{} (store {url}); Ctrl-C stops it", args.addr);
    perfwatch_server::serve(&url, args.addr, opts)?;
    Ok(exit_codes::SUCCESS)
}

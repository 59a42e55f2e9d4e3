//! `perfwatch report --html DIR` and `perfwatch serve`: the same pages, static or live.

use std::sync::Arc;

use perfwatch_model::exit_codes;
use perfwatch_server::{Comparer, RateLimit, ServeOptions, SiteOptions};

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
    let max_body = perfwatch_config::parse_size(&args.max_body)
        .map_err(|e| anyhow::anyhow!("--max-body {:?}: {}", args.max_body, e.message))?;
    if !(1.0..=(usize::MAX as f64)).contains(&max_body) {
        anyhow::bail!("--max-body {:?}: must be at least 1 byte", args.max_body);
    }
    if !(args.rate_limit >= 0.0 && args.rate_limit.is_finite()) {
        anyhow::bail!(
            "--rate-limit {}: must be a number of requests per second, 0 for no limit",
            args.rate_limit
        );
    }
    let rate_limit = (args.rate_limit > 0.0)
        .then_some(RateLimit { per_second: args.rate_limit, burst: args.rate_burst.max(1) });
    let opts = ServeOptions {
        site: site_options(&args.store)?,
        private: args.private,
        max_body: max_body as usize,
        rate_limit,
        log_requests: !args.no_request_log,
        ..ServeOptions::default()
    };
    let url = super::store_url(&args.store);
    let server = perfwatch_server::start(&url, args.addr, opts)?;
    // The real address (with the port chosen when --addr asked for port 0), for scripts.
    eprintln!(
        "perfwatch dashboard on http://{} (store {}{}); Ctrl-C stops it",
        server.addr(),
        redact(&url),
        if args.private { ", private" } else { "" }
    );
    server.wait()?;
    Ok(exit_codes::SUCCESS)
}

/// The store URL without a password, for the start-up message.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => match url[scheme + 3..at].split_once(':') {
            Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
            None => url.to_string(),
        },
        _ => url.to_string(),
    }
}

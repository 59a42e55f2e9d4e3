//! `report`, `serve`, `token` and `push`: the dashboard and team mode.

use perfwatch_app::push::{Client, Retry, Selection, push_runs};
use perfwatch_app::site::{SiteOptions, write_site};
use perfwatch_app::{AppError, Outcome, Result, Ui, team};
#[cfg(feature = "server")]
use perfwatch_server::{RateLimit, ServeOptions};
use perfwatch_store::TokenScope;

use super::project;
use crate::cli::{PushArgs, ReportArgs, ServeArgs, StoreArgs, TokenCommand};
use crate::ui::Term;

/// What the pages show: comparisons use the suite's thresholds and budgets, like `compare`.
fn site_options(store: &StoreArgs) -> Result<SiteOptions> {
    Ok(SiteOptions { plan: project(store).optional_plan()?, ..SiteOptions::default() })
}

/// Writes the static site.
pub fn report(args: ReportArgs) -> Result<Outcome> {
    let opts = SiteOptions { max_run_pages: args.max_run_pages, ..site_options(&args.store)? };
    let s = write_site(project(&args.store).open_existing_store()?.as_mut(), &args.html, &opts)?;
    Term::new(false, false).info(&format!(
        "wrote {}: {} cases, {} series, {} points — open {}",
        args.html.display(),
        s.cases,
        s.series,
        s.points,
        args.html.join("index.html").display()
    ));
    Ok(Outcome::default())
}

/// Serves until interrupted.
#[cfg(not(feature = "server"))]
pub fn serve(_: ServeArgs) -> Result<Outcome> {
    Err(AppError::usage(
        "this perfwatch was built without the dashboard server (cargo feature `server`); \
         `perfwatch report --html DIR` writes the same pages as static files",
    ))
}

/// Serves until interrupted.
#[cfg(feature = "server")]
pub fn serve(args: ServeArgs) -> Result<Outcome> {
    let opts = ServeOptions {
        site: site_options(&args.store)?,
        private: args.private,
        max_body: args.max_body,
        rate_limit: (args.rate_limit > 0.0)
            .then_some(RateLimit { per_second: args.rate_limit, burst: args.rate_burst.max(1) }),
        log_requests: !args.no_request_log,
        ..ServeOptions::default()
    };
    let url = project(&args.store).store_url();
    let server =
        perfwatch_server::start(&url, args.addr, opts).map_err(|e| AppError::Network(e.to_string()))?;
    // The real address (with the port chosen when --addr asked for port 0), for scripts.
    let mut ui = Term::new(false, false);
    ui.info(&format!(
        "perfwatch dashboard on http://{} (store {}{}); Ctrl-C stops it",
        server.addr(),
        perfwatch_store::redact_url(&url),
        if args.private { ", private" } else { "" }
    ));
    if !server.addr().ip().is_loopback() {
        ui.warn(&beyond_loopback(server.addr(), args.private));
    }
    server.wait().map_err(|e| AppError::Network(e.to_string()))?;
    Ok(Outcome::default())
}

/// What serving on a non-loopback address exposes, and what to do about it.
#[cfg(feature = "server")]
fn beyond_loopback(addr: std::net::SocketAddr, private: bool) -> String {
    let advice = if private {
        "tokens and runs travel as plain HTTP; put a TLS reverse proxy in front"
    } else {
        "anyone who can reach it can read every run; add --private to require a read token, and put a \
         TLS reverse proxy in front (tokens travel as plain HTTP)"
    };
    format!("serving on {addr}, reachable from other machines: {advice}")
}

/// `token create|list|revoke`.
pub fn token(cmd: TokenCommand) -> Result<Outcome> {
    let mut ui = Term::new(false, false);
    match cmd {
        TokenCommand::Create { name, read_only, store } => {
            let scope = if read_only { TokenScope::Read } else { TokenScope::Write };
            let secret = team::create(project(&store).open_store()?.as_mut(), &name, scope)?;
            // The secret on stdout (for scripts), the advice on stderr.
            println!("{secret}");
            ui.info(&format!(
                "created {} token {name}: store it now, it is not shown again (the store keeps only its \
                 hash). Runners use it as PERFWATCH_TOKEN.",
                scope.as_str()
            ));
        }
        TokenCommand::List { store } => {
            let tokens = team::list(project(&store).open_existing_store()?.as_mut())?;
            if tokens.is_empty() {
                ui.info("no tokens yet (`perfwatch token create NAME`)");
            }
            for t in tokens {
                let state = t.revoked_at.map_or("active".to_string(), |at| format!("revoked {at}"));
                println!("{}\t{}\tcreated {}\t{state}", t.name, t.scope.as_str(), t.created_at);
            }
        }
        TokenCommand::Revoke { name, store } => {
            team::revoke(project(&store).open_existing_store()?.as_mut(), &name)?;
            ui.info(&format!("revoked token {name}"));
        }
    }
    Ok(Outcome::default())
}

/// Sends runs to a team server; an error (exit 2) unless every one arrived.
pub fn push(args: PushArgs) -> Result<Outcome> {
    let retry = Retry { retry_for: args.retry.retry_for, request_timeout: args.retry.request_timeout };
    let client = Client::new(&args.url, &std::env::var("PERFWATCH_TOKEN").unwrap_or_default(), retry)?;
    let mut store = project(&args.store).open_existing_store()?;
    let which = match (args.all, args.runs.is_empty()) {
        (true, _) => Selection::All,
        (false, true) => Selection::Unpushed,
        (false, false) => Selection::Runs(args.runs),
    };
    let mut ui = Term::new(false, false);
    let s = push_runs(store.as_mut(), &client, &which, &mut ui)?;
    if s.selected == 0 {
        ui.info("nothing to push: no run is marked unpushed (name runs to send, or use --all)");
        return Ok(Outcome::default());
    }
    let url = &client.url;
    ui.info(&format!(
        "pushed {} of {} runs to {url} ({} new, {} the server had already)",
        s.created + s.already,
        s.selected,
        s.created,
        s.already
    ));
    match (&s.stopped, s.refused) {
        (Some((f, left)), _) => Err(AppError::Network(format!(
            "{f}\n{left} runs not delivered; they stay marked unpushed: run `perfwatch push {url}` again later"
        ))),
        (None, n) if n > 0 => Err(AppError::Network(format!("the server refused {n} runs (see above)"))),
        _ => Ok(Outcome::default()),
    }
}

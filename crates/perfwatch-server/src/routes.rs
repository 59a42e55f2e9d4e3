//! The routes of `perfwatch serve`: the dashboard's pages and data scripts (the files of the
//! static report, rendered on request), the explanations of profiled cases (`/explain`, with
//! its differential flame graph `/explain/diff.svg`), the read-only JSON API and `/metrics` for
//! Prometheus.
//! Every answer is computed on the store thread ([`App::call`]).

use std::collections::HashMap;
use std::fmt::Write as _;

use axum::Router;
use axum::extract::{MatchedPath, Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use perfwatch_app::site::{StoredExplanation, Unexplained, baseline_compare_href, case_view};
use perfwatch_model::{
    ApiError, BaselineList, CaseId, ChangePoint, RunList, SCHEMA_VERSION, SeriesEntry, SeriesList,
};
use perfwatch_report::flame;
use perfwatch_report::html::{self, SeriesColumns, assets, case_href, explain_svg_href, is_safe_run_id};
use perfwatch_store::{ErrorKind, RunFilter, StoreError};
use tower_http::compression::CompressionLayer;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::state::{App, Explanation};

/// The Content-Security-Policy of every answer that sets none of its own: scripts only from
/// the dashboard's own files, no plugins or frames, and no framing by other sites.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
                   connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The explanation page's: [`CSP`], plus its flame graph (`/explain/diff.svg`) embedded as an
/// `<object>` from this server. Chromium checks both `object-src` (the element) and
/// `frame-src` (the document it loads); the graph's own script runs under the graph's own
/// policy ([`svg_csp`]), not this one.
const EXPLAIN_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                           img-src 'self' data:; connect-src 'self'; object-src 'self'; frame-src 'self'; \
                           base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Every route, with the security headers and the team-mode gate in front.
pub(crate) fn router(app: App) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/{page}", get(page))
        .route("/assets/{file}", get(asset))
        .route("/data/{file}", get(data))
        .route("/api/v1/series", get(api_series))
        .route("/api/v1/series/data", get(api_series_data))
        .route("/api/v1/runs", get(api_runs).post(crate::ingest::post_run))
        .route("/api/v1/runs/{id}", get(api_run))
        .route("/api/v1/compare", get(api_compare))
        .route("/api/v1/baselines", get(api_baselines))
        .route("/metrics", get(metrics))
        .route("/explain", get(explain))
        .route("/explain/diff.svg", get(explain_svg))
        .fallback(not_found)
        .with_state(app.clone())
        // Fastest: the default level costs ~0.3 s on a 2.4 MB case script, more than it saves on a LAN.
        .layer(CompressionLayer::new().quality(tower_http::CompressionLevel::Fastest))
        // Only if the handler set none: the explanation page and its flame graph set their own
        // (see `svg_csp`).
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        ))
        .layer(axum::middleware::from_fn_with_state(app.clone(), crate::ingest::gate))
        // Outermost, so that answers of the gate (401, 429) are counted too.
        .layer(axum::middleware::from_fn_with_state(app, count_request))
}

/// Counts every answer by its route template (never the path itself, so the counter cannot
/// grow without bound) and status code, for `/metrics`.
async fn count_request(State(app): State<App>, req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().cloned(); // an `Arc<str>`: no copy
    let response = next.run(req).await;
    let route = route.as_ref().map_or(crate::metrics::UNMATCHED, MatchedPath::as_str);
    app.requests.record(route, response.status().as_u16());
    response
}

/// `GET /metrics`: the newest median of every series and the request counts, as OpenMetrics
/// text (see [`crate::metrics`]).
async fn metrics(State(app): State<App>) -> Response {
    match app.call(|db| db.latest_points()).await {
        Ok(Ok(latest)) => {
            let text = crate::metrics::render(&latest, &app.requests.snapshot());
            body(StatusCode::OK, crate::metrics::CONTENT_TYPE, text)
        }
        Ok(Err(e)) => api_store_error(e),
        Err(r) => r,
    }
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const JSON: &str = "application/json";

fn body(status: StatusCode, content_type: &'static str, body: impl Into<String>) -> Response {
    (status, [(header::CONTENT_TYPE, content_type)], body.into()).into_response()
}

fn html_404() -> Response {
    body(StatusCode::NOT_FOUND, HTML, html::notice_page("Not found", "There is no page at this address."))
}

async fn not_found(uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/api/") {
        api_error(StatusCode::NOT_FOUND, "no such endpoint")
    } else {
        html_404()
    }
}

fn api_error(status: StatusCode, message: &str) -> Response {
    body(status, JSON, serde_json::to_string(&ApiError { error: message.to_string() }).unwrap_or_default())
}

fn page_error(e: StoreError) -> Response {
    if e.is_disconnected() {
        return body(
            StatusCode::SERVICE_UNAVAILABLE,
            HTML,
            html::notice_page("Database unavailable", &format!("Retry in a moment: {e}")),
        );
    }
    match e.kind() {
        ErrorKind::NotFound | ErrorKind::Ambiguous | ErrorKind::Invalid => html_404(),
        _ => body(StatusCode::INTERNAL_SERVER_ERROR, HTML, html::notice_page("Store error", &e.to_string())),
    }
}

fn api_store_error(e: StoreError) -> Response {
    if e.is_disconnected() {
        return crate::ingest::store_failure(&e);
    }
    match e.kind() {
        ErrorKind::NotFound => api_error(StatusCode::NOT_FOUND, &e.to_string()),
        ErrorKind::Ambiguous | ErrorKind::Invalid => api_error(StatusCode::BAD_REQUEST, &e.to_string()),
        _ => api_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

/// `/` and `/index.html`: the overview, one page of series (`?page=N`, from 1).
async fn index(State(app): State<App>, Query(q): Query<HashMap<String, String>>) -> Response {
    let page = match q.get("page").map(|p| p.parse::<usize>()) {
        None => 0,
        Some(Ok(n)) if n >= 1 => n - 1,
        Some(_) => {
            return body(
                StatusCode::BAD_REQUEST,
                HTML,
                html::notice_page("Bad page", "`page` counts from 1."),
            );
        }
    };
    match app.call(move |db| db.overview(page)).await {
        Ok(Ok(p)) => body(StatusCode::OK, HTML, p.as_str()),
        Ok(Err(e)) => page_error(e),
        Err(r) => r,
    }
}

async fn page(
    State(app): State<App>,
    Path(page): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if page == "index.html" {
        return index(State(app), Query(q)).await;
    }
    let result = if let Some(slug) = page.strip_prefix("case-").and_then(|s| s.strip_suffix(".html")) {
        let slug = slug.to_string();
        app.call(move |db| {
            Ok(db.case_by_slug(&slug)?.map(|(c, s)| html::case_page(&case_view(&c, &s, true))))
        })
        .await
    } else if let Some(id) = page.strip_prefix("run-").and_then(|s| s.strip_suffix(".html")) {
        if !html::is_safe_run_id(id) {
            return html_404();
        }
        let id = id.to_string();
        app.call(move |db| {
            let cases = db.cases()?;
            Ok(db.store.run(&id)?.map(|r| html::run_page(&r, |c| cases.contains_key(c))))
        })
        .await
    } else if page == "compare-latest.html" || page == "compare.html" {
        let (b, c) = if page == "compare.html" {
            (q.get("baseline").cloned(), q.get("candidate").cloned())
        } else {
            (None, None)
        };
        app.call(move |db| {
            let title = match (&b, &c) {
                (None, None) => "Latest run vs the previous one".to_string(),
                (b, c) => format!(
                    "{} vs {}",
                    c.as_deref().unwrap_or("latest run"),
                    b.as_deref().unwrap_or("previous run")
                ),
            };
            Ok(match db.comparison(b.as_deref(), c.as_deref())? {
                Some((cmp, base, cand)) => Some(db.comparison_page(&cmp, (&base, &cand), &title)?),
                None if page == "compare-latest.html" => Some(html::notice_page(
                    "No comparison",
                    "The store holds fewer than two runs on one machine.",
                )),
                None => None,
            })
        })
        .await
    } else if page.starts_with("compare-baseline-") && page.ends_with(".html") {
        app.call(move |db| {
            let Some(b) =
                db.store.list_baselines()?.into_iter().find(|b| baseline_compare_href(&b.name) == page)
            else {
                return Ok(None);
            };
            let title = format!("Latest run vs baseline {}", b.name);
            match db.comparison(Some(&b.name), None)? {
                Some((c, base, cand)) => db.comparison_page(&c, (&base, &cand), &title).map(Some),
                None => Ok(None),
            }
        })
        .await
    } else {
        return html_404();
    };
    match result {
        Ok(Ok(Some(p))) => body(StatusCode::OK, HTML, p),
        Ok(Ok(None)) => html_404(),
        Ok(Err(e)) => page_error(e),
        Err(r) => r,
    }
}

async fn asset(Path(file): Path<String>) -> Response {
    match assets::get(&format!("assets/{file}")) {
        Some((ct, content)) => {
            let mut r = (StatusCode::OK, [(header::CONTENT_TYPE, ct)], content).into_response();
            r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
            r
        }
        None => html_404(),
    }
}

async fn data(State(app): State<App>, Path(file): Path<String>) -> Response {
    let result = if file == "runs.js" {
        app.call(|db| db.runs_js().map(|r| Some(r.as_str().to_string()))).await
    } else if let Some(slug) = file.strip_suffix(".js") {
        let slug = slug.to_string();
        app.call(move |db| match db.case_by_slug(&slug)? {
            Some((case, infos)) => db.case_data(&case, &infos).map(Some),
            None => Ok(None),
        })
        .await
    } else {
        return html_404();
    };
    match result {
        Ok(Ok(Some(js))) => body(StatusCode::OK, JS, js),
        Ok(Ok(None)) => html_404(),
        Ok(Err(e)) => page_error(e),
        Err(r) => r,
    }
}

fn json_ok(value: &impl serde::Serialize) -> Response {
    match serde_json::to_string(value) {
        Ok(s) => body(StatusCode::OK, JSON, s),
        Err(e) => api_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

/// A count query parameter: absent, or a non-negative integer (else the message of the 400).
fn count_param(q: &HashMap<String, String>, name: &str) -> Result<Option<usize>, String> {
    match q.get(name).map(|v| v.parse::<usize>()) {
        None => Ok(None),
        Some(Ok(n)) => Ok(Some(n)),
        Some(Err(_)) => Err(format!("`{name}` must be a count")),
    }
}

async fn api_series(State(app): State<App>, Query(q): Query<HashMap<String, String>>) -> Response {
    let (offset, limit) = match (count_param(&q, "offset"), count_param(&q, "limit")) {
        (Ok(o), Ok(l)) => (o.unwrap_or(0), l.unwrap_or(usize::MAX)),
        (Err(why), _) | (_, Err(why)) => return api_error(StatusCode::BAD_REQUEST, &why),
    };
    match app.call(|db| db.cases()).await {
        Ok(Ok(cases)) => {
            let series = cases
                .iter()
                .flat_map(|(c, infos)| {
                    infos.iter().map(move |s| SeriesEntry {
                        case: c.clone(),
                        metric: s.metric.clone(),
                        unit: s.unit.clone(),
                        better: s.better,
                        points: s.points,
                        page: case_href(c),
                    })
                })
                .skip(offset)
                .take(limit)
                .collect();
            json_ok(&SeriesList { schema_version: SCHEMA_VERSION, series })
        }
        Ok(Err(e)) => api_store_error(e),
        Err(r) => r,
    }
}

async fn api_series_data(State(app): State<App>, Query(q): Query<HashMap<String, String>>) -> Response {
    let (Some(case), Some(metric)) = (q.get("case"), q.get("metric").cloned()) else {
        return api_error(StatusCode::BAD_REQUEST, "query parameters `case` and `metric` are required");
    };
    let Some(case) = CaseId::parse(case) else {
        return api_error(StatusCode::BAD_REQUEST, "`case` must look like name or name[k=v,…]");
    };
    let last = match q.get("last").map(|l| l.parse::<usize>()) {
        None => None,
        Some(Ok(n)) => Some(n),
        Some(Err(_)) => return api_error(StatusCode::BAD_REQUEST, "`last` must be a count"),
    };
    let res = app
        .call(move |db| -> Result<Option<String>, StoreError> {
            let cases = db.cases()?;
            let Some(info) = cases.get(&case).and_then(|v| v.iter().find(|s| s.metric == metric)).cloned()
            else {
                return Ok(None);
            };
            // The change points of the whole history (as stored by `detect`), those inside the
            // newest `last` points re-indexed to that window.
            let all = db.store.history(&case, &metric, None)?;
            let marks = db.marks(&info, &all)?;
            let from = last.map_or(0, |n| all.len().saturating_sub(n));
            let marks: Vec<ChangePoint> = marks
                .iter()
                .filter(|c| c.index >= from)
                .map(|c| ChangePoint { index: c.index - from, ..c.clone() })
                .collect();
            let cols = SeriesColumns {
                metric: &info.metric,
                unit: &info.unit,
                better: info.better,
                points: &all[from..],
                change_points: &marks,
            };
            Ok(Some(html::series_api_json(&case, &cols)))
        })
        .await;
    match res {
        Ok(Ok(Some(json))) => body(StatusCode::OK, JSON, json),
        Ok(Ok(None)) => api_error(StatusCode::NOT_FOUND, "no such series"),
        Ok(Err(e)) => api_store_error(e),
        Err(r) => r,
    }
}

async fn api_runs(State(app): State<App>, Query(q): Query<HashMap<String, String>>) -> Response {
    let limit = match q.get("limit").map(|l| l.parse::<usize>()) {
        None => None,
        Some(Ok(n)) => Some(n),
        Some(Err(_)) => return api_error(StatusCode::BAD_REQUEST, "`limit` must be a count"),
    };
    match app.call(move |db| db.store.list_runs(&RunFilter { limit, ..RunFilter::default() })).await {
        Ok(Ok(runs)) => json_ok(&RunList { schema_version: SCHEMA_VERSION, runs }),
        Ok(Err(e)) => api_store_error(e),
        Err(r) => r,
    }
}

async fn api_run(State(app): State<App>, Path(id): Path<String>) -> Response {
    match app.call(move |db| db.store.run(&id)).await {
        Ok(Ok(Some(r))) => json_ok(&r),
        Ok(Ok(None)) => api_error(StatusCode::NOT_FOUND, "no such run"),
        Ok(Err(e)) => api_store_error(e),
        Err(r) => r,
    }
}

async fn api_compare(State(app): State<App>, Query(q): Query<HashMap<String, String>>) -> Response {
    let (b, c) = (q.get("baseline").cloned(), q.get("candidate").cloned());
    match app.call(move |db| db.comparison(b.as_deref(), c.as_deref())).await {
        Ok(Ok(Some((cmp, _, _)))) => json_ok(&cmp),
        Ok(Ok(None)) => api_error(StatusCode::NOT_FOUND, "no runs to compare"),
        Ok(Err(e)) => api_store_error(e),
        Err(r) => r,
    }
}

async fn api_baselines(State(app): State<App>) -> Response {
    match app.call(|db| db.store.list_baselines()).await {
        Ok(Ok(baselines)) => json_ok(&BaselineList { schema_version: SCHEMA_VERSION, baselines }),
        Ok(Err(e)) => api_store_error(e),
        Err(r) => r,
    }
}

/// The longest case name `/explain` takes, in bytes.
const MAX_CASE: usize = 4096;

/// The query of `/explain` and `/explain/diff.svg`: the case as the dashboard shows it
/// (`sort[n=1000]`) and two run ids (or unique prefixes), else what is wrong with it.
fn explain_query(q: &HashMap<String, String>) -> Result<(String, String, String), &'static str> {
    let param = |k: &str| q.get(k).filter(|v| !v.is_empty()).cloned();
    let (Some(case), Some(base), Some(head)) = (param("case"), param("base"), param("head")) else {
        return Err("`case`, `base` and `head` are required: a case's name as the dashboard shows it \
                    (sort[n=1000]) and two run ids.");
    };
    if case.len() > MAX_CASE {
        return Err("`case` is too long.");
    }
    if !is_safe_run_id(&base) || !is_safe_run_id(&head) {
        return Err("`base` and `head` must be run ids (letters, digits and dashes).");
    }
    Ok((case, base, head))
}

/// Finds the explanation that `q` asks for on the store thread and answers with `answer`;
/// else with a notice page: 400 for a malformed query, 404 for a missing run or profile,
/// 400 for profiles of different profilers (no request for these two runs can succeed).
async fn with_explanation(
    app: &App,
    q: &HashMap<String, String>,
    answer: impl FnOnce(&StoredExplanation) -> Response,
) -> Response {
    let notice = |status, title, text: &str| body(status, HTML, html::notice_page(title, text));
    let (case, base, head) = match explain_query(q) {
        Ok(query) => query,
        Err(why) => return notice(StatusCode::BAD_REQUEST, "Bad request", why),
    };
    let found = match app.call(move |db| db.explanation(&case, &base, &head)).await {
        Ok(Ok(found)) => found,
        Ok(Err(e)) => return page_error(e),
        Err(r) => return r,
    };
    match found {
        Explanation::Found(e) => answer(&e),
        Explanation::NoRun(id) => {
            notice(StatusCode::NOT_FOUND, "No such run", &format!("No stored run has the id {id}."))
        }
        Explanation::Unexplained(why @ Unexplained::NoProfile { .. }) => {
            notice(StatusCode::NOT_FOUND, "No profile", &format!("Nothing to explain: {why}."))
        }
        Explanation::Unexplained(why) => {
            notice(StatusCode::BAD_REQUEST, "Profiles do not compare", &format!("{why}."))
        }
    }
}

/// `GET /explain?case=…&base=…&head=…`: where the case's cost moved between two stored runs
/// (ranked functions), with the differential flame graph from `/explain/diff.svg` embedded.
async fn explain(State(app): State<App>, Query(q): Query<HashMap<String, String>>) -> Response {
    with_explanation(&app, &q, |e| {
        let r = &e.report;
        let side = |s: &perfwatch_model::ExplainSide| s.run_id.clone().unwrap_or_default();
        let href = explain_svg_href(&r.case, &side(&r.base), &side(&r.head));
        // The graph is drawn here only to know its height; the SVG route draws it again.
        let (page, _) = e.page(&href, &is_safe_run_id);
        let mut resp = body(StatusCode::OK, HTML, page);
        resp.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(EXPLAIN_CSP));
        resp
    })
    .await
}

/// `GET /explain/diff.svg?case=…&base=…&head=…`: the differential flame graph (`image/svg+xml`).
async fn explain_svg(State(app): State<App>, Query(q): Query<HashMap<String, String>>) -> Response {
    with_explanation(&app, &q, |e| match e.diff_svg() {
        Ok(svg) => {
            let csp = svg_csp(&svg);
            let mut resp = body(StatusCode::OK, "image/svg+xml", svg);
            resp.headers_mut().insert(header::CONTENT_SECURITY_POLICY, csp);
            resp
        }
        Err(why) => {
            body(StatusCode::NOT_FOUND, HTML, html::notice_page("No flame graph", &format!("{why}.")))
        }
    })
    .await
}

/// The Content-Security-Policy of a flame graph. inferno's graph zooms and searches with an
/// inline `<script>` and an `onload="init(evt)"` handler, which the dashboard's policy
/// (`script-src 'self'`) would block, leaving a static picture. Rather than allowing any inline
/// script (`'unsafe-inline'`), the policy allows exactly that code by its SHA-256 (plus
/// `'unsafe-hashes'`, which lets a hash cover a handler attribute): a script or handler that
/// a frame name smuggled in would not run even if inferno failed to escape it. Styles are
/// inline in the graph; it may be framed by the dashboard's own pages only.
fn svg_csp(svg: &str) -> HeaderValue {
    use base64::Engine as _;
    use sha2::Digest as _;
    let hash =
        |code: &str| base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(code.as_bytes()));
    let mut scripts = String::new();
    if let Some(code) = flame::graph_code(svg) {
        let _ = write!(scripts, " 'sha256-{}'", hash(&code.script));
        if !code.handlers.is_empty() {
            scripts.push_str(" 'unsafe-hashes'");
            for h in &code.handlers {
                let _ = write!(scripts, " 'sha256-{}'", hash(h));
            }
        }
    } else {
        scripts.push_str(" 'none'");
    }
    let csp = format!(
        "default-src 'none'; script-src{scripts}; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; \
         form-action 'none'; frame-ancestors 'self'"
    );
    HeaderValue::from_str(&csp).unwrap_or_else(|_| HeaderValue::from_static(CSP))
}

//! `perfwatch serve`: the pages of the static report, rendered on request, plus the JSON API.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use perfwatch_model::{CaseId, ComparisonReport, HistoryPoint, RunReport, RunStatus, SCHEMA_VERSION};
use perfwatch_report::html::{self, ChangeMark, Link, Overview, SeriesColumns, assets, case_href, case_slug};
use perfwatch_store::{ErrorKind, RunFilter, SeriesInfo, Store, StoreError};
use tower_http::compression::CompressionLayer;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::ServerError;
use crate::auth::{Limiter, RateLimit};
use crate::ingest::{Gate, Pool};
use crate::site::{
    SiteOptions, baseline_compare_href, case_view, change_marks, group_by_case, latest_comparison,
    overview_row, run_index, verdict_map,
};

/// The address `perfwatch serve` listens on unless told otherwise (design §10: loopback only).
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";

/// Settings of the server.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// What the pages show.
    pub site: SiteOptions,
    /// Tokio worker threads. Default 2.
    pub worker_threads: usize,
    /// Analyse every series' change points while idle, so that the first overview is fast.
    /// Default `true`.
    pub warm_up: bool,
    /// Reads (pages and the JSON API) need a token too, not only writes. Default `false`.
    pub private: bool,
    /// Largest request body accepted (a pushed run report), in bytes; larger ones get 413.
    /// Default [`DEFAULT_MAX_BODY`].
    pub max_body: usize,
    /// Per-token rate limit (429 with `Retry-After` beyond it); `None` for none. Default
    /// [`DEFAULT_RATE_LIMIT`].
    pub rate_limit: Option<RateLimit>,
    /// Store connections (threads) for pushes and token checks. Default 4.
    pub ingest_threads: usize,
    /// One JSON line per request on stderr (method, path, status, latency, token name —
    /// never the token — and sizes). Default `false`; `perfwatch serve` turns it on.
    pub log_requests: bool,
}

/// Default [`ServeOptions::max_body`]: 32 MiB, room for a large suite's raw samples.
pub const DEFAULT_MAX_BODY: usize = 32 << 20;

/// Default [`ServeOptions::rate_limit`]: 50 requests per second per token, bursts of 200 —
/// far above what benchmark runners send, low enough to blunt a runaway script.
pub const DEFAULT_RATE_LIMIT: RateLimit = RateLimit { per_second: 50.0, burst: 200 };

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            site: SiteOptions::default(),
            worker_threads: 2,
            warm_up: true,
            private: false,
            max_body: DEFAULT_MAX_BODY,
            rate_limit: Some(DEFAULT_RATE_LIMIT),
            ingest_threads: 4,
            log_requests: false,
        }
    }
}

/// A server started by [`start`]: its address, and a way to stop it.
#[derive(Debug)]
pub struct RunningServer {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    http: Option<JoinHandle<Result<(), ServerError>>>,
    store: Option<JoinHandle<()>>,
    ingest: Vec<JoinHandle<()>>,
}

impl RunningServer {
    /// The address it listens on (with the real port when started on port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Blocks until the server stops (it only stops on an error or [`RunningServer::shutdown`]
    /// from another handle; in practice, until the process is killed).
    pub fn wait(mut self) -> Result<(), ServerError> {
        let res = self.http.take().map_or(Ok(()), |h| h.join().unwrap_or(Err(ServerError::StoreGone)));
        if let Some(s) = self.store.take() {
            let _ = s.join();
        }
        for h in self.ingest.drain(..) {
            let _ = h.join();
        }
        res
    }

    /// Stops accepting connections, lets open requests finish, and joins its threads.
    pub fn shutdown(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(h) = self.http.take() {
            let _ = h.join();
        }
        if let Some(s) = self.store.take() {
            let _ = s.join();
        }
        for h in self.ingest.drain(..) {
            let _ = h.join();
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.stop_now();
    }
}

/// Serves the dashboard for the store at `store_url` on `addr` and blocks until the server
/// fails. Use [`DEFAULT_ADDR`] unless the user chose another address.
pub fn serve(store_url: &str, addr: SocketAddr, opts: ServeOptions) -> Result<(), ServerError> {
    start(store_url, addr, opts)?.wait()
}

/// Opens the store, binds `addr` (port 0 picks a free one: see [`RunningServer::addr`]) and
/// serves in background threads.
pub fn start(store_url: &str, addr: SocketAddr, opts: ServeOptions) -> Result<RunningServer, ServerError> {
    let io = |context: &str| {
        let context = context.to_string();
        move |source| ServerError::Io { context, source }
    };
    let (tx, rx) = mpsc::channel::<Job>();
    let (ready_tx, ready_rx) = mpsc::channel::<Result<(), StoreError>>();
    let url = store_url.to_string();
    let site = opts.site.clone();
    let warm_up = opts.warm_up;
    let store = std::thread::Builder::new()
        .name("perfwatch-store".into())
        .spawn(move || match perfwatch_store::open_reconnecting(&url) {
            Ok(store) => {
                let _ = ready_tx.send(Ok(()));
                let mut db = Db::new(store, site);
                // Jobs first; when none is waiting, warm the change-point cache one series at a
                // time so that the first overview does not have to analyse every history.
                loop {
                    match rx.try_recv() {
                        Ok(job) => run_job(job, &mut db),
                        Err(mpsc::TryRecvError::Disconnected) => break,
                        Err(mpsc::TryRecvError::Empty) => {
                            if warm_up && guarded(|| db.warm_up_step()).unwrap_or(false) {
                                continue;
                            }
                            match rx.recv() {
                                Ok(job) => run_job(job, &mut db),
                                Err(_) => break,
                            }
                        }
                    }
                }
            }
            Err(e) => {
                let _ = ready_tx.send(Err(e));
            }
        })
        .map_err(io("cannot start the store thread"))?;
    ready_rx.recv().map_err(|_| ServerError::StoreGone)??;

    let listener = std::net::TcpListener::bind(addr).map_err(io(&format!("cannot listen on {addr}")))?;
    listener.set_nonblocking(true).map_err(io("cannot configure the socket"))?;
    let local = listener.local_addr().map_err(io("cannot read the socket address"))?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let (pool, ingest) = Pool::start(store_url, opts.ingest_threads)?;
    let workers = opts.worker_threads.max(1);
    let gate = Gate {
        private: opts.private,
        max_body: opts.max_body,
        limiter: opts.rate_limit.map(Limiter::new),
        log: opts.log_requests,
    };
    let app = App { tx, pool, gate: Arc::new(gate) };
    let http = std::thread::Builder::new()
        .name("perfwatch-http".into())
        .spawn(move || -> Result<(), ServerError> {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(workers)
                .thread_name("perfwatch-http-worker")
                .enable_all()
                .build()
                .map_err(io("cannot start the async runtime"))?;
            rt.block_on(async move {
                let listener =
                    tokio::net::TcpListener::from_std(listener).map_err(io("cannot register the socket"))?;
                axum::serve(listener, router(app))
                    .with_graceful_shutdown(async move {
                        let _ = stop_rx.await;
                    })
                    .await
                    .map_err(io("server failed"))
            })
        })
        .map_err(io("cannot start the server thread"))?;
    Ok(RunningServer { addr: local, stop: Some(stop_tx), http: Some(http), store: Some(store), ingest })
}

// ------------------------------------------------------------------ the store thread

/// Runs `f`, turning a panic (say, in change-point detection) into `None` so that the store
/// thread survives it; the request that caused it gets a 500 (its reply channel is dropped).
fn guarded<R>(f: impl FnOnce() -> R) -> Option<R> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).ok()
}

fn run_job(job: Job, db: &mut Db) {
    if guarded(|| job(db)).is_none() {
        // The cached pages may be half-updated: start over.
        db.key = None;
        db.cases = None;
        db.overview = None;
    }
}

type Job = Box<dyn FnOnce(&mut Db) + Send>;
type Cases = Arc<BTreeMap<CaseId, Vec<SeriesInfo>>>;
/// Change points of a series with the point count and newest run id they were computed for.
type CachedMarks = (usize, String, Arc<Vec<ChangeMark>>);

/// The store and what is cached from it; lives on the store thread only.
struct Db {
    store: Box<dyn Store>,
    opts: SiteOptions,
    /// Newest run and its status when the caches below were filled.
    key: Option<(String, RunStatus)>,
    cases: Option<Cases>,
    overview: Option<Arc<String>>,
    runs: Option<Arc<Vec<perfwatch_model::RunMeta>>>,
    runs_js: Option<Arc<String>>,
    /// Change points by series, valid for (points, newest run id).
    marks: HashMap<(CaseId, String), CachedMarks>,
    /// Series the idle warm-up has analysed since the series list was last read.
    warmed: std::collections::HashSet<(CaseId, String)>,
}

impl Db {
    fn new(store: Box<dyn Store>, opts: SiteOptions) -> Db {
        Db {
            store,
            opts,
            key: None,
            cases: None,
            overview: None,
            runs: None,
            runs_js: None,
            marks: HashMap::new(),
            warmed: Default::default(),
        }
    }

    /// Drops the page caches when a run was added or is still being written.
    fn refresh(&mut self) -> Result<(), StoreError> {
        let key = self.store.latest_run(&RunFilter::default())?.map(|r| (r.id, r.status));
        let settled = matches!(&key, Some((_, RunStatus::Complete | RunStatus::Interrupted)));
        if key != self.key || !settled {
            self.cases = None;
            self.overview = None;
            self.runs = None;
            self.runs_js = None;
            self.warmed.clear();
            self.key = key;
        }
        Ok(())
    }

    fn cases(&mut self) -> Result<Cases, StoreError> {
        self.refresh()?;
        if let Some(c) = &self.cases {
            return Ok(c.clone());
        }
        let c = Arc::new(group_by_case(self.store.list_series()?));
        self.cases = Some(c.clone());
        Ok(c)
    }

    fn case_by_slug(&mut self, slug: &str) -> Result<Option<(CaseId, Vec<SeriesInfo>)>, StoreError> {
        let cases = self.cases()?;
        Ok(cases.iter().find(|(c, _)| case_slug(c) == slug).map(|(c, s)| (c.clone(), s.clone())))
    }

    fn marks(&mut self, info: &SeriesInfo, points: &[HistoryPoint]) -> Arc<Vec<ChangeMark>> {
        let key = (info.case.clone(), info.metric.clone());
        let last = points.last().map(|p| p.run_id.clone()).unwrap_or_default();
        if let Some((n, l, m)) = self.marks.get(&key)
            && *n == points.len()
            && *l == last
        {
            return m.clone();
        }
        let m = Arc::new(change_marks(points, info.better, &self.opts.detect));
        self.marks.insert(key, (points.len(), last, m.clone()));
        m
    }

    /// The change points of a series whose newest points are `recent` (and whose length is
    /// `info.points`): from the cache when it is current, else from the whole history.
    fn cached_marks(
        &mut self,
        info: &SeriesInfo,
        recent: &[HistoryPoint],
    ) -> Result<Arc<Vec<ChangeMark>>, StoreError> {
        let last = recent.last().map(|p| p.run_id.as_str()).unwrap_or_default();
        if let Some((n, l, m)) = self.marks.get(&(info.case.clone(), info.metric.clone()))
            && *n as u64 == info.points
            && l == last
        {
            return Ok(m.clone());
        }
        let points = self.store.history(&info.case, &info.metric, None)?;
        Ok(self.marks(info, &points))
    }

    /// Analyses one series whose change points are not cached yet; `false` when there is none
    /// (or the store fails: then the pages report the error when asked).
    fn warm_up_step(&mut self) -> bool {
        let Ok(cases) = self.cases() else { return false };
        let cold = cases.values().flatten().find(|info| {
            let key = (info.case.clone(), info.metric.clone());
            !self.warmed.contains(&key)
                && self.marks.get(&key).is_none_or(|(n, _, _)| *n as u64 != info.points)
        });
        let Some(info) = cold.cloned() else { return false };
        self.warmed.insert((info.case.clone(), info.metric.clone()));
        match self.store.history(&info.case, &info.metric, None) {
            Ok(points) => {
                self.marks(&info, &points);
                true
            }
            Err(_) => false,
        }
    }

    /// Every run, newest first.
    fn runs(&mut self) -> Result<Arc<Vec<perfwatch_model::RunMeta>>, StoreError> {
        self.refresh()?;
        if let Some(r) = &self.runs {
            return Ok(r.clone());
        }
        let r = Arc::new(self.store.list_runs(&RunFilter::default())?);
        self.runs = Some(r.clone());
        Ok(r)
    }

    /// `data/runs.js`: every run, all with pages (the server renders any run).
    fn runs_js(&mut self) -> Result<Arc<String>, StoreError> {
        self.refresh()?;
        if let Some(r) = &self.runs_js {
            return Ok(r.clone());
        }
        let r = Arc::new(html::runs_js(&self.runs()?, |_| true));
        self.runs_js = Some(r.clone());
        Ok(r)
    }

    fn overview(&mut self) -> Result<Arc<String>, StoreError> {
        let cases = self.cases()?;
        if let Some(o) = &self.overview {
            return Ok(o.clone());
        }
        let latest = latest_comparison(self.store.as_mut(), &self.opts).map_err(store_err)?;
        let verdicts = verdict_map(latest.as_ref().map(|l| &l.0));
        let mut rows = Vec::new();
        for (case, infos) in cases.iter() {
            for info in infos {
                let recent = self.store.history(case, &info.metric, Some(self.opts.spark_points.max(1)))?;
                let marks = self.cached_marks(info, &recent)?;
                rows.push(overview_row(
                    info,
                    &recent,
                    info.points as usize,
                    &marks,
                    self.opts.spark_points,
                    &verdicts,
                ));
            }
        }
        let runs = self.store.list_runs(&RunFilter { limit: Some(20), ..RunFilter::default() })?;
        let run_count = self.runs()?.len();
        let mut comparisons =
            vec![Link { href: "compare-latest.html".into(), label: "Latest run vs the previous one".into() }];
        for b in self.store.list_baselines()? {
            comparisons.push(Link {
                href: baseline_compare_href(&b.name),
                label: format!("Latest run vs baseline {}", b.name),
            });
        }
        let o = Overview {
            rows,
            recent_runs: runs.into_iter().map(|r| (r, true)).collect(),
            run_count,
            comparisons,
            generated_at: Some(jiff::Timestamp::now()),
            live: true,
        };
        let page = Arc::new(html::overview_page(&o));
        self.overview = Some(page.clone());
        Ok(page)
    }

    fn case_data(&mut self, case: &CaseId, infos: &[SeriesInfo]) -> Result<String, StoreError> {
        let runs = self.runs()?;
        let index = run_index(&runs);
        let mut hist = Vec::with_capacity(infos.len());
        for info in infos {
            let points = self.store.history(case, &info.metric, None)?;
            let marks = self.marks(info, &points);
            hist.push((points, marks));
        }
        let cols: Vec<SeriesColumns<'_>> = infos
            .iter()
            .zip(&hist)
            .map(|(info, (points, marks))| SeriesColumns {
                metric: &info.metric,
                unit: &info.unit,
                better: info.better,
                points,
                change_points: marks,
            })
            .collect();
        Ok(html::case_data_js(case, &cols, &index))
    }

    /// A run by baseline name first, then by id or prefix.
    fn resolve(&mut self, which: &str) -> Result<Option<RunReport>, StoreError> {
        if let Some(b) = self.store.baseline(which)? {
            return self.store.run(&b.run_id);
        }
        self.store.run(which)
    }

    /// Baseline vs candidate (names or ids); defaults: newest run vs the previous one.
    fn comparison(
        &mut self,
        baseline: Option<&str>,
        candidate: Option<&str>,
    ) -> Result<Option<(ComparisonReport, RunReport, RunReport)>, StoreError> {
        if baseline.is_none() && candidate.is_none() {
            return latest_comparison(self.store.as_mut(), &self.opts).map_err(store_err);
        }
        let cand = match candidate {
            Some(c) => self.resolve(c)?,
            None => match self.store.latest_run(&RunFilter::default())? {
                Some(r) => self.store.run(&r.id)?,
                None => None,
            },
        };
        let Some(cand) = cand else { return Ok(None) };
        let base = match baseline {
            Some(b) => self.resolve(b)?,
            None => match self.store.previous_run(&cand.run.id, true)? {
                Some(r) => self.store.run(&r.id)?,
                None => None,
            },
        };
        let Some(base) = base else { return Ok(None) };
        let mut c = self.opts.compare(&base, &cand);
        c.baseline.name = baseline.map(str::to_string);
        c.candidate.name = candidate.map(str::to_string);
        Ok(Some((c, base, cand)))
    }
}

fn store_err(e: ServerError) -> StoreError {
    match e {
        ServerError::Store(s) => s,
        other => StoreError::Invalid(other.to_string()),
    }
}

// ------------------------------------------------------------------ HTTP

#[derive(Clone)]
pub(crate) struct App {
    tx: mpsc::Sender<Job>,
    pub(crate) pool: Pool,
    pub(crate) gate: Arc<Gate>,
}

impl App {
    /// Tells the page caches that a run was added (it may be older than the newest one, which
    /// alone would not show that anything changed).
    pub(crate) fn runs_changed(&self) {
        let _ = self.tx.send(Box::new(|db: &mut Db| {
            db.key = None;
            db.cases = None;
            db.overview = None;
            db.runs = None;
            db.runs_js = None;
        }));
    }

    /// Runs `f` on the store thread and waits for its answer without blocking a worker.
    async fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Db) -> R + Send + 'static,
    ) -> Result<R, Response> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.tx
            .send(Box::new(move |db: &mut Db| {
                let _ = tx.send(f(db));
            }))
            .map_err(|_| gone())?;
        rx.await.map_err(|_| {
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error while answering this request (see the server's log)",
            )
                .into_response()
        })
    }
}

fn gone() -> Response {
    (StatusCode::SERVICE_UNAVAILABLE, "the store thread has stopped").into_response()
}

fn router(app: App) -> Router {
    let csp = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
               connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
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
        .fallback(not_found)
        .with_state(app.clone())
        // Fastest: the default level costs ~0.3 s on a 2.4 MB case script, more than it saves on a LAN.
        .layer(CompressionLayer::new().quality(tower_http::CompressionLevel::Fastest))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(csp),
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
        .layer(axum::middleware::from_fn_with_state(app, crate::ingest::gate))
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
    body(status, JSON, serde_json::json!({ "error": message }).to_string())
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

async fn index(State(app): State<App>) -> Response {
    match app.call(|db| db.overview()).await {
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
        return index(State(app)).await;
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
                Some((cmp, base, cand)) => {
                    Some(html::comparison_page(&cmp, Some(&base), Some(&cand), &title))
                }
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
            Ok(db
                .comparison(Some(&b.name), None)?
                .map(|(c, base, cand)| html::comparison_page(&c, Some(&base), Some(&cand), &title)))
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

async fn api_series(State(app): State<App>) -> Response {
    match app.call(|db| db.cases()).await {
        Ok(Ok(cases)) => {
            let series: Vec<serde_json::Value> = cases
                .iter()
                .flat_map(|(c, infos)| {
                    infos.iter().map(move |s| {
                        serde_json::json!({
                            "name": c.name, "params": c.params, "metric": s.metric, "unit": s.unit,
                            "better": s.better, "points": s.points, "page": case_href(c),
                        })
                    })
                })
                .collect();
            json_ok(&serde_json::json!({ "schema_version": SCHEMA_VERSION, "series": series }))
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
            let points = db.store.history(&case, &metric, last)?;
            let marks = if last.is_some() {
                Arc::new(change_marks(&points, info.better, &db.opts.detect))
            } else {
                db.marks(&info, &points)
            };
            let cols = SeriesColumns {
                metric: &info.metric,
                unit: &info.unit,
                better: info.better,
                points: &points,
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
        Ok(Ok(runs)) => json_ok(&serde_json::json!({ "schema_version": SCHEMA_VERSION, "runs": runs })),
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
        Ok(Ok(b)) => json_ok(&serde_json::json!({ "schema_version": SCHEMA_VERSION, "baselines": b })),
        Ok(Err(e)) => api_store_error(e),
        Err(r) => r,
    }
}

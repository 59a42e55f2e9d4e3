//! Team mode of `perfwatch serve`: `POST /api/v1/runs`, the token gate in front of every
//! route, the per-token rate limit and the request log.
//!
//! Writes and token checks run on a small pool of store threads of their own (each with its
//! own connection, reopened after a database restart), so that concurrent pushes are written
//! in parallel and never wait behind a dashboard page.

use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use perfwatch_model::{ApiError, PushReceipt, RunReport, RunStatus, SCHEMA_VERSION};
use perfwatch_store::{Store, StoreError, TokenScope};

use perfwatch_app::team::find_token;

use crate::auth::{Limiter, Presented, presented};
use crate::listen::Peer;
use crate::state::App;

/// The committed schema of a run report (`perfwatch run --format json`), checked on ingest.
#[cfg(test)]
const RUN_SCHEMA: &str = include_str!("../../../schemas/run.schema.json");

type PoolJob = Box<dyn FnOnce(&mut dyn Store) + Send>;

/// Store threads for writes and token checks.
#[derive(Clone)]
pub(crate) struct Pool {
    tx: mpsc::Sender<PoolJob>,
}

impl Pool {
    /// Opens `threads` connections to the store at `url` (each reopens itself when the
    /// database restarts) and starts a thread for each.
    pub(crate) fn start(
        url: &str,
        threads: usize,
    ) -> Result<(Pool, Vec<JoinHandle<()>>), crate::ServerError> {
        let (tx, rx) = mpsc::channel::<PoolJob>();
        let rx = Arc::new(Mutex::new(rx));
        let mut handles = Vec::new();
        for i in 0..threads.max(1) {
            let mut store = perfwatch_store::open_reconnecting(url)?;
            let rx = rx.clone();
            let h = std::thread::Builder::new()
                .name(format!("perfwatch-ingest-{i}"))
                .spawn(move || {
                    loop {
                        let job = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                        let Ok(job) = job else { break };
                        // A panic loses only its request (answered 500), not the thread.
                        let _ =
                            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(store.as_mut())));
                    }
                })
                .map_err(|source| crate::ServerError::Io {
                    context: "cannot start an ingest thread".into(),
                    source,
                })?;
            handles.push(h);
        }
        Ok((Pool { tx }, handles))
    }

    /// Runs `f` on a pool thread and waits for its answer without blocking a worker.
    pub(crate) async fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Store) -> R + Send + 'static,
    ) -> Result<R, Response> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.tx
            .send(Box::new(move |s: &mut dyn Store| {
                let _ = tx.send(f(s));
            }))
            .map_err(|_| api_error(StatusCode::SERVICE_UNAVAILABLE, "the store threads have stopped"))?;
        rx.await.map_err(|_| {
            api_error(StatusCode::INTERNAL_SERVER_ERROR, "internal error while answering this request")
        })
    }
}

/// Team-mode settings shared by every request.
pub(crate) struct Gate {
    /// Reads need a token too.
    pub private: bool,
    /// Largest accepted request body.
    pub max_body: usize,
    /// Per-token rate limit, if any.
    pub limiter: Option<Limiter>,
    /// Failed authentications allowed per client address, if limited: beyond them the address
    /// gets 429 before its token is even checked, so that tokens cannot be guessed at speed.
    pub auth_failures: Option<Limiter>,
    /// Longest wait for the next piece of a request body; a client that stalls longer gets 408.
    pub body_idle: std::time::Duration,
    /// Write one line per request to stderr.
    pub log: bool,
}

pub(crate) fn api_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_string(&ApiError { error: message.to_string() }).unwrap_or_default(),
    )
        .into_response()
}

/// 503 for a database that is down, 500 for anything else.
pub(crate) fn store_failure(e: &StoreError) -> Response {
    if e.is_disconnected() {
        let mut r = api_error(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!("the database is unavailable, retry later: {e}"),
        );
        r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        r
    } else {
        api_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string())
    }
}

fn unauthorized(api: bool, message: &str) -> Response {
    let mut r = api_error(StatusCode::UNAUTHORIZED, message);
    // Browsers prompt for Basic credentials (the token as password) on dashboard pages.
    let challenge =
        if api { "Bearer realm=\"perfwatch\"" } else { "Basic realm=\"perfwatch\", charset=\"UTF-8\"" };
    r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
    r
}

/// Checks the request's token against the store; the token's name and scope, or the answer
/// to send instead.
async fn authorize(app: &App, headers: &HeaderMap, api: bool) -> Result<(String, TokenScope), Response> {
    let secret = match presented(headers) {
        Presented::Token(t) => t,
        Presented::Missing => {
            return Err(unauthorized(
                api,
                "this needs a token: send `Authorization: Bearer <token>` (an admin creates one with \
                 `perfwatch token create NAME`)",
            ));
        }
        Presented::Malformed => {
            return Err(unauthorized(api, "malformed Authorization header: expected `Bearer <token>`"));
        }
    };
    let active = match app.pool.call(|s| s.active_tokens()).await? {
        Ok(a) => a,
        Err(e) => return Err(store_failure(&e)),
    };
    match find_token(&secret, &active) {
        Some(t) => Ok((t.name.clone(), t.scope)),
        None => Err(unauthorized(api, "invalid or revoked token")),
    }
}

/// In front of every route: decides whether the request needs a token (writes always; reads
/// on a `--private` server), checks it and its rate limit, and logs the request.
pub(crate) async fn gate(State(app): State<App>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let bytes_in =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let api = path.starts_with("/api/");
    let write = method != Method::GET && method != Method::HEAD;
    let needs_token = write || app.gate.private;

    let mut token = None;
    let peer = req.extensions().get::<Peer>().map_or_else(|| "unknown".to_string(), |p| p.0.to_string());
    let response = if !needs_token {
        next.run(req).await
    } else if let Some(wait) = auth_blocked(&app.gate, &peer, req.headers()) {
        too_many(
            &format!("too many failed authentications from {peer}; retry in {} s", wait_secs(wait)),
            wait,
        )
    } else {
        match authorize(&app, req.headers(), api || write).await {
            Err(r) => {
                if r.status() == StatusCode::UNAUTHORIZED
                    && presented(req.headers()) != Presented::Missing
                    && let Some(limiter) = &app.gate.auth_failures
                {
                    let _ = limiter.check(&peer);
                }
                r
            }
            Ok((name, scope)) => {
                token = Some(name.clone());
                if write && scope != TokenScope::Write {
                    api_error(
                        StatusCode::FORBIDDEN,
                        &format!("token {name:?} is read-only; pushing runs needs a write token"),
                    )
                } else if let Some(Err(wait)) = app.gate.limiter.as_ref().map(|l| l.check(&name)) {
                    too_many(
                        &format!("rate limit of token {name:?} exceeded; retry in {} s", wait_secs(wait)),
                        wait,
                    )
                } else {
                    next.run(req).await
                }
            }
        }
    };

    if app.gate.log {
        // One JSON line per request; never the Authorization header or a query string.
        let line = serde_json::json!({
            "time": jiff::Timestamp::now().to_string(),
            "method": method.as_str(),
            "path": path,
            "status": response.status().as_u16(),
            "latency_ms": (start.elapsed().as_secs_f64() * 1e6).round() / 1e3,
            "token": token,
            "bytes_in": bytes_in,
            "bytes_out": axum::body::HttpBody::size_hint(response.body()).exact(),
        });
        eprintln!("{line}");
    }
    response
}

/// How long the client at `peer` must wait because its failed authentications used up its
/// allowance; `None` when it may try (or presents no credentials at all, which is no guess).
fn auth_blocked(gate: &Gate, peer: &str, headers: &HeaderMap) -> Option<std::time::Duration> {
    if presented(headers) == Presented::Missing {
        return None;
    }
    gate.auth_failures.as_ref()?.peek(peer).err()
}

/// Whole seconds to wait, at least one (the unit of `Retry-After`).
fn wait_secs(wait: std::time::Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

/// 429 with `Retry-After`.
fn too_many(message: &str, wait: std::time::Duration) -> Response {
    let mut r = api_error(StatusCode::TOO_MANY_REQUESTS, message);
    r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait_secs(wait)));
    r
}

/// Why a request body could not be read.
enum BodyError {
    /// Longer than the limit.
    TooLarge,
    /// No bytes arrived for the idle timeout.
    Stalled,
    /// The connection broke or the framing was wrong.
    Broken(String),
}

/// Reads a whole request body of at most `limit` bytes, giving up when the client sends
/// nothing for `idle`: without that, a client that declares a large body and trickles it
/// (or stops) holds its connection, busy and never evicted, for as long as it likes.
async fn read_body(body: Body, limit: usize, idle: std::time::Duration) -> Result<Vec<u8>, BodyError> {
    use http_body_util::BodyExt;
    let mut body = body;
    let mut bytes = Vec::new();
    loop {
        match tokio::time::timeout(idle, body.frame()).await {
            Err(_) => return Err(BodyError::Stalled),
            Ok(None) => return Ok(bytes),
            Ok(Some(Err(e))) => return Err(BodyError::Broken(e.to_string())),
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    if bytes.len() + data.len() > limit {
                        return Err(BodyError::TooLarge);
                    }
                    bytes.extend_from_slice(&data);
                }
            }
        }
    }
}

/// `POST /api/v1/runs`: validates the body against the run schema and stores the run;
/// idempotent by run id.
pub(crate) async fn post_run(State(app): State<App>, headers: HeaderMap, body: Body) -> Response {
    let limit = app.gate.max_body;
    let too_large = || {
        api_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("the request body is larger than this server accepts ({limit} bytes)"),
        )
    };
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return too_large();
    }
    let bytes = match read_body(body, limit, app.gate.body_idle).await {
        Ok(b) => b,
        Err(BodyError::TooLarge) => return too_large(),
        Err(BodyError::Stalled) => {
            let idle = app.gate.body_idle.as_secs_f64();
            let mut r = api_error(
                StatusCode::REQUEST_TIMEOUT,
                &format!("the request body stalled: nothing arrived for {idle} s"),
            );
            r.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
            return r;
        }
        Err(BodyError::Broken(why)) => {
            return api_error(StatusCode::BAD_REQUEST, &format!("cannot read the request body: {why}"));
        }
    };
    let report = match tokio::task::spawn_blocking(move || parse_run(&bytes)).await {
        Ok(Ok(r)) => r,
        Ok(Err(msg)) => return api_error(StatusCode::BAD_REQUEST, &msg),
        Err(_) => return api_error(StatusCode::INTERNAL_SERVER_ERROR, "internal error while validating"),
    };
    let id = report.run.id.clone();
    let stored = match app.pool.call(move |s| store_unless_conflicting(s, &report)).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    match stored {
        Ok(Err(conflict)) => api_error(StatusCode::CONFLICT, &conflict),
        Ok(Ok(created)) => {
            if created {
                app.runs_changed();
            }
            let status = if created { StatusCode::CREATED } else { StatusCode::OK };
            let mut r = (
                status,
                [(header::CONTENT_TYPE, "application/json")],
                serde_json::to_string(&PushReceipt { id: id.clone(), created }).unwrap_or_default(),
            )
                .into_response();
            if let Ok(loc) = HeaderValue::from_str(&format!("/api/v1/runs/{id}")) {
                r.headers_mut().insert(header::LOCATION, loc);
            }
            r
        }
        Err(e) => store_failure(&e),
    }
}

/// Stores `report` (`Ok(Ok(true))`), or finds it stored already: the same run sent again
/// (a retry, a second pusher) is `Ok(Ok(false))`, and a *different* run under the same id is
/// `Ok(Err(why))`, never silently dropped. "The same run" is judged on what identifies a
/// measurement, not byte equality, so that a re-encoded copy still counts as the same: start
/// time, suite hash, host fingerprint and the cases with their run counts.
fn store_unless_conflicting(
    s: &mut dyn perfwatch_store::Store,
    report: &RunReport,
) -> Result<Result<bool, String>, StoreError> {
    if s.insert_run(report)? {
        return Ok(Ok(true));
    }
    let Some(existing) = s.run(&report.run.id)? else { return Ok(Ok(false)) };
    let facts = |r: &RunReport| {
        let cases: Vec<(String, u32)> = r.benchmarks.iter().map(|c| (c.case.to_string(), c.runs)).collect();
        (r.run.started_at, r.run.suite_hash.clone(), r.run.host.fingerprint.clone(), cases)
    };
    if facts(&existing) == facts(report) {
        return Ok(Ok(false));
    }
    Ok(Err(format!(
        "run {} is stored already with different content (start time, suite, host or cases differ); \
         a run id names one measurement: give this one a new id",
        report.run.id
    )))
}

/// Parses and checks a pushed run report; the error says what is wrong and where (a JSON
/// pointer, as `schemas/run.schema.json` would name it).
///
/// The typed parse is the validation: every field of the schema is a field of [`RunReport`]
/// with the same type, so what serde accepts is what the schema accepts (a property test
/// holds the two to it). Validating with a JSON-Schema engine first cost the server 76 crates.
pub(crate) fn parse_run(body: &[u8]) -> Result<RunReport, String> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let report: RunReport = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let at = json_pointer(e.path());
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            format!("the body is not valid JSON: {inner}")
        } else {
            format!(
                "the body is not a run report (schemas/run.schema.json): at {at}: {}",
                plain_types(&inner)
            )
        }
    })?;
    de.end().map_err(|e| format!("the body is not valid JSON: {e}"))?;
    if report.schema_version != SCHEMA_VERSION {
        return Err(format!(
            "at /schema_version: {} is not supported (this server reads version {SCHEMA_VERSION})",
            report.schema_version
        ));
    }
    let id = &report.run.id;
    // Ids end up in URLs, file names of static sites and logs: keep them to a plain alphabet.
    let plain = id.chars().all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c));
    if id.is_empty() || id.len() > 128 || !plain || id.starts_with('.') || id.contains("..") {
        return Err(format!(
            "at /run/id: {id:?} is not a run id (1 to 128 of A-Z a-z 0-9 - _ . :, not starting with `.` \
             and without `..`)"
        ));
    }
    if report.run.status == RunStatus::Incomplete {
        return Err(
            "at /run/status: \"incomplete\" runs are not accepted (push a run once it has finished or \
             was interrupted)"
                .into(),
        );
    }
    Ok(report)
}

/// `run.host.cores` as the JSON pointer `/run/host/cores` (`/` for the document itself).
fn json_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        out.push('/');
        match segment {
            Segment::Seq { index } => out.push_str(&index.to_string()),
            Segment::Map { key } => out.push_str(&key.replace('~', "~0").replace('/', "~1")),
            Segment::Enum { variant } => out.push_str(variant),
            Segment::Unknown => out.push('?'),
        }
    }
    if out.is_empty() { "/".into() } else { out }
}

/// serde's message with Rust's type names said in JSON's words (`expected u32` → `expected an
/// integer ≥ 0`), and without the line and column of a body a client did not write by hand.
fn plain_types(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let text = text.rsplit_once(" at line ").map_or(text.as_str(), |(msg, _)| msg);
    [
        ("expected u32", "expected an integer ≥ 0"),
        ("expected u64", "expected an integer ≥ 0"),
        ("expected i32", "expected an integer"),
        ("expected f64", "expected a number"),
    ]
    .iter()
    .fold(text.to_string(), |t, (from, to)| t.replace(from, to))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn minimal() -> serde_json::Value {
        serde_json::json!({
            "schema_version": 1,
            "run": {
                "id": "0190b6a8-0000-7000-8000-000000000001",
                "started_at": "2025-01-02T03:04:05Z",
                "ended_at": "2025-01-02T03:05:05Z",
                "status": "complete",
                "git": null,
                "host": {"fingerprint": "f", "hostname": "h", "cpu": "c", "cores": 2,
                         "memory_bytes": 1, "os": "linux", "kernel": "6", "load_avg": [0.0, 0.0, 0.0]},
                "labels": {},
                "perfwatch_version": "0.1.0",
                "suite_hash": "x"
            },
            "benchmarks": []
        })
    }

    #[test]
    fn valid_reports_parse_and_errors_say_where() {
        let ok = parse_run(minimal().to_string().as_bytes()).unwrap();
        assert_eq!(ok.run.id, "0190b6a8-0000-7000-8000-000000000001");

        let e = parse_run(b"{\"schema_version\": 1,").unwrap_err();
        assert!(e.contains("not valid JSON") && e.contains("line 1"), "{e}");

        let mut v = minimal();
        v["run"]["host"]["cores"] = serde_json::json!("two");
        let e = parse_run(v.to_string().as_bytes()).unwrap_err();
        assert!(e.contains("/run/host/cores") && e.contains("integer"), "{e}");

        let mut v = minimal();
        v["run"].as_object_mut().unwrap().remove("id");
        let e = parse_run(v.to_string().as_bytes()).unwrap_err();
        assert!(e.contains("at /run:") && e.contains("`id`"), "{e}");

        let mut v = minimal();
        v["run"]["status"] = serde_json::json!("incomplete");
        assert!(parse_run(v.to_string().as_bytes()).unwrap_err().contains("/run/status"));

        let mut v = minimal();
        v["run"]["id"] = serde_json::json!("a b");
        assert!(parse_run(v.to_string().as_bytes()).unwrap_err().contains("/run/id"));

        let mut v = minimal();
        v["schema_version"] = serde_json::json!(2);
        assert!(parse_run(v.to_string().as_bytes()).unwrap_err().contains("/schema_version"));

        let e = parse_run(format!("{} x", minimal()).as_bytes()).unwrap_err();
        assert!(e.contains("not valid JSON") && e.contains("trailing"), "{e}");
        let mut v = rich();
        v["benchmarks"][0]["raw"][0]["exit"] = serde_json::json!({"kind": "vanished"});
        let e = parse_run(v.to_string().as_bytes()).unwrap_err();
        assert!(e.contains("at /benchmarks/0/raw/0/exit") && e.contains("vanished"), "{e}");
    }

    /// A report with one case holding every kind of field: a summary, a raw sample, a caveat,
    /// a failure, labels and git.
    fn rich() -> serde_json::Value {
        let mut v = minimal();
        v["run"]["git"] = serde_json::json!({"commit": "abc", "branch": "main", "dirty": false});
        v["run"]["labels"] = serde_json::json!({"runner": "ci-1"});
        v["benchmarks"] = serde_json::json!([{
            "name": "sort", "params": {"n": "10"}, "status": "failed", "runs": 3,
            "caveats": [{"kind": "few_runs", "runs": 3}, {"kind": "high_load", "load": 3.5, "cores": 2}],
            "metrics": {"wall": {"unit": "s", "better": "lower", "n": 3, "median": 0.1, "ci95": [0.09, 0.11],
                "mean": 0.1, "stddev": 0.01, "mad": 0.01, "min": 0.09, "max": 0.11, "p95": 0.11, "p99": 0.11,
                "outliers": 0, "samples": [0.09, 0.1, 0.11]}},
            "failure": {"message": "exited 3", "exit": {"kind": "exited", "code": 3}, "stderr_tail": "x"},
            "raw": [{"wall": 0.1, "user": 0.05, "sys": 0.01, "max_rss": 1000, "exit": {"kind": "exited", "code": 0},
                     "metrics": {"hits": 0.9}}]
        }]);
        v
    }

    /// Every JSON pointer in `v`, the document itself excluded.
    fn pointers(v: &serde_json::Value, at: String, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => m.iter().for_each(|(k, x)| {
                out.push(format!("{at}/{k}"));
                pointers(x, format!("{at}/{k}"), out);
            }),
            serde_json::Value::Array(a) => a.iter().enumerate().for_each(|(i, x)| {
                out.push(format!("{at}/{i}"));
                pointers(x, format!("{at}/{i}"), out);
            }),
            _ => {}
        }
    }

    /// Errors that are this server's policy on top of the schema (ids, versions, incomplete runs).
    fn policy(e: &str) -> bool {
        ["at /run/id:", "at /schema_version:", "at /run/status:"].iter().any(|p| e.starts_with(p))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]
        /// The typed parse accepts exactly what `schemas/run.schema.json` accepts (beyond the
        /// server's own policy checks), for a report with one field replaced or removed.
        #[test]
        fn the_typed_parse_agrees_with_the_schema(pick in any::<prop::sample::Index>(), with in 0usize..9) {
            let schema: serde_json::Value = serde_json::from_str(RUN_SCHEMA).unwrap();
            // `format` (date-time) is an annotation unless asked for: the typed parse checks it.
            let validator = jsonschema::options().should_validate_formats(true).build(&schema).unwrap();
            let mut v = rich();
            let mut all = Vec::new();
            pointers(&v, String::new(), &mut all);
            let target = pick.get(&all).clone();
            let replacement = [
                serde_json::json!(null), serde_json::json!("x"), serde_json::json!(-1), serde_json::json!(1.5),
                serde_json::json!(7), serde_json::json!([]), serde_json::json!({}), serde_json::json!(true),
            ];
            if with == 8 {
                let (parent, key) = target.rsplit_once('/').unwrap();
                match v.pointer_mut(parent).unwrap() {
                    serde_json::Value::Object(m) => { m.remove(key); }
                    serde_json::Value::Array(a) => { a.remove(key.parse::<usize>().unwrap()); }
                    _ => unreachable!(),
                }
            } else {
                *v.pointer_mut(&target).unwrap() = replacement[with].clone();
            }
            let by_schema = validator.is_valid(&v);
            match parse_run(v.to_string().as_bytes()) {
                Ok(_) => prop_assert!(by_schema, "parsed, but the schema rejects {target} := {with}: {v}"),
                Err(e) => prop_assert!(!by_schema || policy(e.trim_start_matches("the body is not a run report (schemas/run.schema.json): ")),
                    "rejected, but the schema accepts {target} := {with}: {e}"),
            }
        }
    }
}

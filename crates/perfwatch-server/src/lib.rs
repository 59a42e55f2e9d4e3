//! `perfwatch serve` ([`serve`], [`start`]): the dashboard's pages over a store, its read-only
//! JSON API, and team-mode ingest. The static report (`perfwatch report --html`) writes the
//! same pages to files; both take their data from `perfwatch_app::site` and
//! `perfwatch_app::history`, so they show the same change points (those `perfwatch detect`
//! stored) and the same comparisons. The API's documents are types in `perfwatch_model::api`
//! with schemas under `schemas/api-*.schema.json`:
//!
//! | route | answer |
//! |---|---|
//! | `GET /api/v1/series[?offset=N&limit=M]` | every case × metric (or `limit` of them after the first `offset`): `{"schema_version":1,"series":[{name, params, metric, unit, better, points, page}]}` |
//! | `GET /api/v1/series/data?case=sort[n=10]&metric=wall[&last=N]` | one history in columns (see `perfwatch_report::html::series_api_json`) |
//! | `GET /api/v1/runs[?limit=N]` | run metadata, newest first: `{"schema_version":1,"runs":[…]}` |
//! | `GET /api/v1/runs/{id}` | one run report (design §7), by id or unique prefix |
//! | `GET /api/v1/compare[?baseline=B&candidate=C]` | a comparison report (design §7); `B`/`C` are baseline names or run ids; default: the newest run vs the previous one on its machine |
//! | `GET /api/v1/baselines` | `{"schema_version":1,"baselines":[{name, run_id, set_at}]}` |
//! | `GET /metrics` | for Prometheus: the newest run's median of every series, and the server's request counts, as OpenMetrics 1.0 text (families `perfwatch_latest_median_seconds`, `_bytes`, `_per_second`, `perfwatch_latest_median{unit}`, `perfwatch_latest_run_timestamp_seconds`, `perfwatch_http_requests`) |
//!
//! and one write endpoint, for team mode:
//!
//! | route | answer |
//! |---|---|
//! | `POST /api/v1/runs` | body: a run report as `perfwatch run --format json` prints it (with raw samples), checked against `schemas/run.schema.json`; stores it unless a run with its id is stored already. `201 {"id", "created": true}`, or `200 {"id", "created": false}` for a repeated push |
//!
//! Writes need `Authorization: Bearer <token>` with a write token ([`auth`]); with
//! [`ServeOptions::private`] reads need a token too (a browser may give it as the password of
//! HTTP Basic). Errors of the API are `{"error": "…"}`: 400 for a body that is not JSON or not
//! a run report (the message names the JSON path and what was expected), 401 without a valid
//! token, 403 for a read-only token that writes, 413 for a body over
//! [`ServeOptions::max_body`], 429 (with `Retry-After`) over the per-token rate limit, 503 (with
//! `Retry-After`) while the database is unreachable. After a PostgreSQL restart the server
//! reconnects by itself.
//!
//! The server binds `127.0.0.1` unless told otherwise; the dashboard is read-only. The store lives on a
//! thread of its own (the PostgreSQL client is blocking and must not run on a tokio worker);
//! handlers send it closures through a channel. Pushes and token checks use a small pool of
//! further store threads, each with its own connection. Unknown paths, `..` segments and unknown names
//! are answered with 404; nothing is ever read from the file system.
//!
//! ```no_run
//! let server = perfwatch_server::start(
//!     "sqlite://.perfwatch/history.db",
//!     "127.0.0.1:0".parse().unwrap(),
//!     perfwatch_server::ServeOptions::default(),
//! )?;
//! println!("dashboard at http://{}/", server.addr());
//! server.shutdown();
//! # Ok::<(), perfwatch_server::ServerError>(())
//! ```

pub mod auth;
mod ingest;
mod listen;
mod metrics;
mod routes;
mod server;
mod state;

pub use auth::RateLimit;

/// Parses and checks a pushed run report as `POST /api/v1/runs` does, without a server:
/// `Err` says what is wrong and where (a JSON pointer). Public so that fuzzing (`fuzz/`)
/// can hold every report perfwatch produces to what the server accepts.
pub fn check_pushed_run(body: &[u8]) -> Result<perfwatch_model::RunReport, String> {
    ingest::parse_run(body)
}
pub use server::{
    DEFAULT_ADDR, DEFAULT_AUTH_FAILURE_LIMIT, DEFAULT_HEADER_TIMEOUT, DEFAULT_MAX_BODY, DEFAULT_RATE_LIMIT,
    FD_RESERVE, RunningServer, ServeOptions, serve, start,
};

/// Errors of the dashboard.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] perfwatch_store::StoreError),
    /// Writing the report or binding the socket failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The server's store thread has stopped.
    #[error("the store thread has stopped")]
    StoreGone,
}

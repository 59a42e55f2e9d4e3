//! The perfwatch history store: runs, their cases, summaries, raw samples and profiles, named
//! baselines, and per case × metric histories.
//!
//! One small, synchronous [`Store`] trait with two implementations, chosen by [`open`]:
//!
//! | URL | backend |
//! |---|---|
//! | `sqlite://PATH`, `sqlite:PATH` or a bare path | embedded SQLite file (WAL mode; parent directories are created) |
//! | `postgres://…` / `postgresql://…` | a PostgreSQL server (no TLS) |
//!
//! A PostgreSQL URL may carry `schema=NAME` in its query string (`postgres://u@h/db?schema=pw`):
//! the store then lives in that schema (created if missing, and set as the session's
//! `search_path`). The server's own `options=-csearch_path%3D…` parameter works too.
//!
//! The schema is migrated on open (see the `migrations` module docs for the tables); opening is
//! idempotent and safe when several processes open a fresh store at once.
//!
//! Runs are written incrementally so that a crash keeps what finished:
//! [`Store::begin_run`] records the run as `incomplete`, [`Store::add_case`] commits each
//! case in its own transaction, and [`Store::finish_run`] sets the final status.
//! [`Store::insert_run`] writes a whole report at once (push / ingest) and is idempotent by id.
//!
//! Team mode keeps two more things: API tokens of `perfwatch serve` (names, scopes and the
//! SHA-256 of their secrets: [`Store::create_token`]) and, per run, whether it still has to
//! be pushed to a team server ([`PushState`]). [`open_reconnecting`] gives a store that
//! survives a PostgreSQL restart.
//!
//! ```
//! use perfwatch_model::{CaseId, HostInfo, RunMeta, RunStatus};
//! # fn main() -> Result<(), perfwatch_store::StoreError> {
//! let dir = tempfile::tempdir().unwrap();
//! let mut store = perfwatch_store::open(dir.path().join("history.db").to_str().unwrap())?;
//! let meta = RunMeta {
//!     id: "0190b6a8-0000-7000-8000-000000000001".into(),
//!     started_at: "2025-01-02T03:04:05Z".parse().unwrap(),
//!     ended_at: None,
//!     status: RunStatus::Incomplete,
//!     git: None,
//!     host: HostInfo {
//!         fingerprint: "f".into(), hostname: "h".into(), cpu: "c".into(), cores: 2,
//!         memory_bytes: 1 << 30, os: "linux".into(), kernel: "6".into(), load_avg: [0.0; 3], governor: None,
//!         gpu: None,
//!     },
//!     labels: Default::default(),
//!     perfwatch_version: "0.1.0".into(),
//!     suite_hash: "abc".into(),
//! };
//! store.begin_run(&meta)?;
//! store.finish_run(&meta.id, RunStatus::Complete, "2025-01-02T03:05:00Z".parse().unwrap())?;
//! let report = store.run("0190b6a8")?.expect("found by prefix");
//! assert_eq!(report.run.status, RunStatus::Complete);
//! assert!(store.history(&CaseId::new("sort", [("n", "10")]), "wall", None)?.is_empty());
//! # Ok(()) }
//! ```
//!
//! The PostgreSQL client is blocking and must not be used on a tokio worker thread; an async
//! caller keeps the store on a thread of its own.

mod codec;
mod error;
mod migrations;
#[cfg(feature = "postgres")]
mod pg;
mod reconnect;
mod rows;
mod sql;
mod sqlite;

use jiff::Timestamp;
use perfwatch_model::{
    Better, BudgetResult, CaseId, CaseReport, ChangePoint, Profile, RunMeta, RunReport, RunStatus,
};

pub use perfwatch_model::HistoryPoint;
use serde::{Deserialize, Serialize};

pub use error::{ErrorKind, Result, StoreError};

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// Which runs [`Store::list_runs`] and [`Store::latest_run`] return. `Default` selects all.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunFilter {
    /// At most this many runs (the newest).
    pub limit: Option<usize>,
    /// Only runs on the machine with this fingerprint.
    pub host_fingerprint: Option<String>,
    /// Only runs with this status.
    pub status: Option<RunStatus>,
    /// Only runs that started strictly before this time.
    pub before: Option<Timestamp>,
    /// Only runs that started at or after this time.
    pub since: Option<Timestamp>,
}

pub use perfwatch_model::BaselineInfo;

/// A case × metric with at least one stored summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeriesInfo {
    /// The case.
    pub case: CaseId,
    /// The metric name.
    pub metric: String,
    /// The unit of its most recently written summary.
    pub unit: String,
    /// The direction of its most recently written summary.
    pub better: Better,
    /// Number of stored points.
    pub points: u64,
}

/// What an API token of `perfwatch serve` may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenScope {
    /// Read the dashboard and the JSON API (needed only on a `--private` server).
    Read,
    /// Read, and push runs (`POST /api/v1/runs`).
    Write,
}

impl TokenScope {
    /// `read` or `write`, as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::Read => "read",
            TokenScope::Write => "write",
        }
    }
}

/// An API token as the store knows it: its name and scope, never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    /// Its name (`ci-runner-1`), unique among tokens.
    pub name: String,
    /// What it may do.
    pub scope: TokenScope,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was revoked; a revoked token is refused.
    pub revoked_at: Option<Timestamp>,
}

/// An active (not revoked) token with the SHA-256 of its secret, for checking a presented one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenHash {
    /// Its name.
    pub name: String,
    /// What it may do.
    pub scope: TokenScope,
    /// Lowercase hex SHA-256 of the secret.
    pub hash: String,
}

/// Whether a run still has to be sent to a team server (`perfwatch run --push`, `perfwatch push`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PushState {
    /// Waiting: `perfwatch push URL` sends it. [`Store::prune`] never deletes such a run.
    Unpushed,
    /// Delivered.
    Pushed,
}

impl PushState {
    /// `unpushed` or `pushed`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            PushState::Unpushed => "unpushed",
            PushState::Pushed => "pushed",
        }
    }
}

/// How long an `incomplete` run *without a lease* (written by a perfwatch from before leases)
/// is taken to be still measuring, from its start. Runs measured now hold a lease instead
/// ([`Store::renew_lease`]): a start time says nothing about liveness for a run `backfill`
/// dates at its commit's time, or a soak test of a day.
pub const IN_PROGRESS_GRACE: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Which runs [`Store::prune`] deletes, besides abandoned `incomplete` runs (whose lease ran
/// out). Runs a baseline points to are never deleted, nor runs still waiting to be pushed,
/// nor `incomplete` runs still being measured (their lease holds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrunePolicy {
    /// Keep the N newest runs (by start time), delete older ones.
    KeepLast(usize),
    /// Delete runs that started strictly before this time.
    OlderThan(Timestamp),
}

/// The history store. Every method is synchronous; writes are transactional.
///
/// Run-id arguments of *readers* ([`Store::run`], [`Store::previous_run`],
/// [`Store::set_baseline`]) accept a unique prefix of the id; writers ([`Store::add_case`],
/// [`Store::finish_run`], [`Store::add_profile`]) and [`Store::profile`] take the full id.
///
/// The methods come in groups, in this order: writing runs ([`Store::begin_run`] …
/// [`Store::insert_run`]), reading them ([`Store::resolve_run_id`] … [`Store::previous_run`]),
/// profiles ([`Store::add_profile`], [`Store::profile`]), baselines, series histories and
/// their change points, team mode (tokens, push state), and upkeep ([`Store::prune`],
/// [`Store::compact`], [`Store::integrity_check`]). They stay one trait rather than one per
/// group: callers hold a `Box<dyn Store>` and most use several groups, a `dyn Store` cannot be
/// narrowed to one group at this crate's MSRV (no trait upcasting before Rust 1.86), and
/// splitting would break implementors outside this crate.
pub trait Store: Send {
    /// Which backend this is.
    fn backend(&self) -> Backend;

    /// Records a new run with status `incomplete` and no end time (whatever `meta` says).
    /// Fails with [`ErrorKind::AlreadyExists`] if the id is taken.
    fn begin_run(&mut self, meta: &RunMeta) -> Result<()>;

    /// Appends one case (its row, its summaries and raw samples) to a run, in one transaction.
    /// Cases keep the order in which they were added. [`ErrorKind::NotFound`] if the run is not
    /// stored.
    fn add_case(&mut self, run_id: &str, case: &CaseReport) -> Result<()>;

    /// Sets a run's final status and end time. [`ErrorKind::NotFound`] if it is not stored.
    fn finish_run(&mut self, run_id: &str, status: RunStatus, ended_at: Timestamp) -> Result<()>;

    /// Vouches that the process measuring the `incomplete` run `run_id` is alive until `until`:
    /// till then [`Store::prune`] leaves the run alone; after it, the run counts as abandoned
    /// (its perfwatch was killed) and `prune` deletes it. The measuring process renews the
    /// lease as it goes. [`ErrorKind::NotFound`] if the run is not stored.
    fn renew_lease(&mut self, run_id: &str, until: Timestamp) -> Result<()>;

    /// Records the budget results of a run (computed once its cases are measured).
    /// [`ErrorKind::NotFound`] if it is not stored.
    fn set_budgets(&mut self, run_id: &str, budgets: &[BudgetResult]) -> Result<()>;

    /// Writes a whole report in one transaction. Idempotent by run id: returns `false` and
    /// changes nothing when a run with that id is already stored.
    fn insert_run(&mut self, report: &RunReport) -> Result<bool>;

    /// The full id of the run whose id is `id_or_prefix` or starts with it; `None` if none
    /// does, [`ErrorKind::Ambiguous`] if several do, [`ErrorKind::Invalid`] if it is empty.
    fn resolve_run_id(&mut self, id_or_prefix: &str) -> Result<Option<String>>;

    /// The whole report of a run (equal to what was written), by id or unique prefix.
    fn run(&mut self, id_or_prefix: &str) -> Result<Option<RunReport>>;

    /// Metadata of the runs matching `filter`, newest first (by start time, then id).
    fn list_runs(&mut self, filter: &RunFilter) -> Result<Vec<RunMeta>>;

    /// The newest run matching `filter`.
    fn latest_run(&mut self, filter: &RunFilter) -> Result<Option<RunMeta>> {
        let filter = RunFilter { limit: Some(1), ..filter.clone() };
        Ok(self.list_runs(&filter)?.into_iter().next())
    }

    /// The newest run (of any status) that started before the given one, optionally only on
    /// the same host (same fingerprint). [`ErrorKind::NotFound`] if `run_id` matches no run.
    fn previous_run(&mut self, run_id: &str, same_host: bool) -> Result<Option<RunMeta>>;

    /// Stores the profile (folded stacks, gzip-compressed) of one case of a run (full id),
    /// replacing the one stored before for that case: what `perfwatch explain` diffs between
    /// two stored runs. The case needs no case row in the run. [`ErrorKind::NotFound`] if the
    /// run is not stored; [`ErrorKind::Invalid`] for a call path that folded-stack text cannot
    /// hold (a line break, or white space at either end). Deleted with its run.
    fn add_profile(&mut self, run_id: &str, case: &CaseId, profile: &Profile) -> Result<()>;

    /// The stored profile of one case of a run (full id), equal to what was written; `None`
    /// when there is none (also for a run that is not stored). [`ErrorKind::Corrupt`] for
    /// stored bytes that do not decode.
    fn profile(&mut self, run_id: &str, case: &CaseId) -> Result<Option<Profile>>;

    /// The cases of a run (full id) that have a stored profile, by name and then by the stored
    /// text of their parameters (the same order on every backend); empty when there are none
    /// (also for a run that is not stored). Reads no stacks: the dashboard asks it for every
    /// page that may link a flame graph.
    fn profiled_cases(&mut self, run_id: &str) -> Result<Vec<CaseId>>;

    /// Points baseline `name` at a run (id or unique prefix), creating or moving it.
    /// [`ErrorKind::NotFound`] if the run does not exist, [`ErrorKind::Invalid`] for an empty
    /// name.
    fn set_baseline(&mut self, name: &str, run_id: &str) -> Result<BaselineInfo>;

    /// The baseline called `name`.
    fn baseline(&mut self, name: &str) -> Result<Option<BaselineInfo>>;

    /// Every baseline, by name.
    fn list_baselines(&mut self) -> Result<Vec<BaselineInfo>>;

    /// Deletes a baseline (not its run); `false` if there was none.
    fn delete_baseline(&mut self, name: &str) -> Result<bool>;

    /// The medians of one case × metric across runs, oldest first; with `last`, only the newest
    /// `last` points (still oldest first). Served by an index; empty for an unknown series.
    ///
    /// Series reads ([`Store::history`], [`Store::history_medians`], [`Store::list_series`]'s
    /// point counts, the positions of [`Store::change_points`]) leave out `incomplete` runs:
    /// one still being measured, or one whose perfwatch died. Its cases join the history when
    /// it finishes (complete, or interrupted by Ctrl-C); [`Store::run`] reads it any time.
    fn history(&mut self, case: &CaseId, metric: &str, last: Option<usize>) -> Result<Vec<HistoryPoint>>;

    /// Every case × metric that has stored points, sorted by case then metric.
    fn list_series(&mut self) -> Result<Vec<SeriesInfo>>;

    /// The medians of one series, oldest first: exactly the `median`s of
    /// `history(case, metric, None)`, without the per-point run lookups — what a change-point
    /// detector needs over thousands of series.
    fn history_medians(&mut self, case: &CaseId, metric: &str) -> Result<Vec<f64>> {
        Ok(self.history(case, metric, None)?.into_iter().map(|p| p.median).collect())
    }

    /// Replaces the stored change points of one series with `points` — the detector's answer
    /// over the series' first `analysed` points, each placed on its run (`run_id`) — keeping
    /// the alerted state of points that were already stored for the same run (`new` of the
    /// given points is ignored). The series is marked analysed even when `points` is empty.
    /// Unknown series or runs are ignored.
    fn replace_change_points(
        &mut self,
        case: &CaseId,
        metric: &str,
        analysed: usize,
        points: &[ChangePoint],
    ) -> Result<()>;

    /// The stored change points of one series, oldest run first, each placed on the series'
    /// current history (`index`, `commit`, `time`; `new` is false once alerted); `None` when
    /// `perfwatch detect` has not analysed the series.
    fn change_points(&mut self, case: &CaseId, metric: &str) -> Result<Option<Vec<ChangePoint>>>;

    /// Marks the change point of `case` × `metric` at `run_id` as alerted; returns whether it
    /// was not alerted before (so the caller raises each alert once).
    fn mark_alerted(&mut self, case: &CaseId, metric: &str, run_id: &str) -> Result<bool>;

    /// Records a new API token under `name` with the SHA-256 (lowercase hex) of its secret.
    /// [`ErrorKind::AlreadyExists`] if an active token has that name (a revoked one is
    /// replaced); [`ErrorKind::Invalid`] for a name that is not 1–64 characters of
    /// `A–Z a–z 0–9 . _ -` or a hash that is not 64 hex digits.
    fn create_token(&mut self, name: &str, scope: TokenScope, hash: &str) -> Result<TokenInfo>;

    /// Every token (revoked ones too), by name.
    fn list_tokens(&mut self) -> Result<Vec<TokenInfo>>;

    /// The tokens that are not revoked, with their hashes.
    fn active_tokens(&mut self) -> Result<Vec<TokenHash>>;

    /// Revokes the token called `name`; `false` if there is no active token of that name.
    fn revoke_token(&mut self, name: &str) -> Result<bool>;

    /// Sets (or with `None` clears) the push state of a run (full id).
    /// [`ErrorKind::NotFound`] if it is not stored.
    fn set_push_state(&mut self, run_id: &str, state: Option<PushState>) -> Result<()>;

    /// The push state of a run (full id); `None` for a run never meant to be pushed.
    /// [`ErrorKind::NotFound`] if it is not stored.
    fn push_state(&mut self, run_id: &str) -> Result<Option<PushState>>;

    /// The ids of every run marked [`PushState::Unpushed`], oldest first.
    fn unpushed_runs(&mut self) -> Result<Vec<String>>;

    /// Deletes runs per `policy` — never a run that a baseline points to, nor one still
    /// waiting to be pushed — then, if anything was deleted, compacts the store ([`Store::compact`]). Returns the number of runs deleted.
    fn prune(&mut self, policy: &PrunePolicy) -> Result<usize>;

    /// Gives free space back: `VACUUM` (and a WAL checkpoint) on SQLite, `VACUUM ANALYZE` of
    /// the store's tables on PostgreSQL.
    fn compact(&mut self) -> Result<()>;

    /// Checks the store: `PRAGMA integrity_check` and `foreign_key_check` on SQLite; on
    /// PostgreSQL, that the schema is at this build's version. [`ErrorKind::Corrupt`] with the
    /// findings if not.
    fn integrity_check(&mut self) -> Result<()>;
}

/// `url` with its password (if any) replaced by `***`, for messages and logs.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else { return url.to_string() };
    let auth_start = scheme_end + 3;
    let auth_end = url[auth_start..].find(['/', '?']).map_or(url.len(), |i| auth_start + i);
    let authority = &url[auth_start..auth_end];
    match authority.rfind('@') {
        Some(at) => match authority[..at].split_once(':') {
            Some((user, _)) => {
                format!("{}{user}:***{}", &url[..auth_start], &url[auth_start + at..])
            }
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// Opens (creating and migrating as needed) the store at `url`; see the crate docs for the
/// accepted URLs.
pub fn open(url: &str) -> Result<Box<dyn Store>> {
    match sqlite_path(url)? {
        #[cfg(feature = "postgres")]
        None => pg::PgStore::open(url.trim()),
        #[cfg(not(feature = "postgres"))]
        None => Err(StoreError::Invalid(format!(
            "{} is a PostgreSQL store, and this perfwatch was built without PostgreSQL support \
             (cargo feature `postgres`; `cargo install perfwatch` has it by default)",
            redact_url(url.trim())
        ))),
        Some(path) => Ok(Box::new(sqlite::SqliteStore::open(path)?)),
    }
}

/// Like [`open`], but an SQLite store must exist already: commands that only read never
/// leave an empty store (and a stray `.perfwatch/` directory) behind. [`StoreError::NoStore`]
/// otherwise. A PostgreSQL store is opened as by [`open`].
pub fn open_existing(url: &str) -> Result<Box<dyn Store>> {
    match sqlite_path(url)? {
        Some(path) if !path.exists() => Err(StoreError::NoStore(path.display().to_string())),
        _ => open(url),
    }
}

/// The file of an SQLite URL (`sqlite://PATH`, `sqlite:PATH`, a bare path); `None` for
/// PostgreSQL.
fn sqlite_path(url: &str) -> Result<Option<&std::path::Path>> {
    let url = url.trim();
    if url.is_empty() {
        return Err(StoreError::Invalid("empty store URL".into()));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(None);
    }
    let path = if let Some(rest) = url.strip_prefix("sqlite://") {
        rest
    } else if let Some(rest) = url.strip_prefix("sqlite:") {
        rest
    } else if url.contains("://") {
        return Err(StoreError::Invalid(format!(
            "unsupported store URL {url:?}: use sqlite://PATH, a path, or postgres://…"
        )));
    } else {
        url
    };
    if path.is_empty() {
        return Err(StoreError::Invalid(format!("no file path in store URL {url:?}")));
    }
    Ok(Some(std::path::Path::new(path)))
}

/// Like [`open`], but the store reopens itself when its connection breaks (a PostgreSQL
/// server that restarted): a call that fails with a broken connection
/// ([`StoreError::is_disconnected`]) is retried once on a new connection, and while the
/// server stays down every call fails fast with the connect error until it is back. For
/// long-lived processes such as `perfwatch serve`. Reads and [`Store::insert_run`] are safe to
/// retry; a retried [`Store::begin_run`] whose first attempt did commit reports
/// [`ErrorKind::AlreadyExists`]. SQLite stores are returned as they are.
pub fn open_reconnecting(url: &str) -> Result<Box<dyn Store>> {
    let store = open(url)?;
    if store.backend() == Backend::Sqlite {
        return Ok(store);
    }
    Ok(Box::new(reconnect::Reconnecting::new(url, store)))
}

/// Rejects token names other than 1–64 characters of `A–Z a–z 0–9 . _ -` (they appear in
/// request logs and in `token list`, so they stay plain) and hashes that are not SHA-256 hex.
fn check_token(name: &str, hash: &str) -> Result<()> {
    let ok_name = !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if !ok_name {
        return Err(StoreError::Invalid(format!(
            "token name {name:?}: use 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' and '-'"
        )));
    }
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(StoreError::Invalid("a token hash must be 64 lowercase hex digits (SHA-256)".into()));
    }
    Ok(())
}

/// The token [`Store::create_token`] is about to write, once `name` and `hash` pass
/// [`check_token`]: created now, not revoked.
pub(crate) fn new_token(name: &str, scope: TokenScope, hash: &str) -> Result<TokenInfo> {
    check_token(name, hash)?;
    Ok(TokenInfo { name: name.to_string(), scope, created_at: Timestamp::now(), revoked_at: None })
}

/// Rejects empty baseline names.
pub(crate) fn check_baseline_name(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(StoreError::Invalid("a baseline name cannot be empty".into()));
    }
    Ok(())
}

/// Rejects empty run-id prefixes (they would match every run).
pub(crate) fn check_prefix(prefix: &str) -> Result<()> {
    if prefix.is_empty() {
        return Err(StoreError::Invalid("an empty run id matches every run".into()));
    }
    Ok(())
}

/// Turns the (at most ten) ids matching a prefix into the answer of
/// [`Store::resolve_run_id`].
pub(crate) fn pick_unique(prefix: &str, mut ids: Vec<String>) -> Result<Option<String>> {
    match ids.len() {
        0 => Ok(None),
        1 => Ok(ids.pop()),
        _ => Err(StoreError::Ambiguous { prefix: prefix.to_string(), candidates: ids }),
    }
}

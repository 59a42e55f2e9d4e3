//! The SQLite backend: one file, WAL mode, writers queued by `BEGIN IMMEDIATE` and a 30 s busy
//! timeout.
//!
//! Runs are written row by row (SQLite has no round trips to save); the text of every
//! statement shared with PostgreSQL is in [`crate::sql`], the row mapping in [`crate::rows`].

use std::path::Path;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use perfwatch_model::{
    BudgetResult, CaseId, CaseReport, ChangePoint, Profile, RunMeta, RunReport, RunStatus,
};
use rusqlite::types::Value as SqlValue;
use rusqlite::{
    Connection, OpenFlags, OptionalExtension, Params, Row, ToSql, Transaction, TransactionBehavior,
};

use crate::codec;
use crate::error::{Result, StoreError};
use crate::migrations::{self, CREATE_MIGRATIONS_TABLE};
use crate::rows::{
    self, CaseRow, Columns, RunRow, SummaryRow, Value, change_point_values, run_row_values, ts_split,
};
use crate::sql::{self, Dialect, Param, Queries};
use crate::{
    Backend, BaselineInfo, HistoryPoint, PrunePolicy, PushState, RunFilter, SeriesInfo, Store, TokenHash,
    TokenInfo, TokenScope,
};

/// How long a writer waits for another one before giving up with [`ErrorKind::Busy`].
///
/// [`ErrorKind::Busy`]: crate::ErrorKind::Busy
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// A store in an SQLite file.
pub(crate) struct SqliteStore {
    conn: Connection,
}

fn q() -> &'static Queries {
    sql::queries(Dialect::Sqlite)
}

impl Columns for Row<'_> {
    fn col<T: Value>(&self, i: usize) -> Result<T> {
        Ok(self.get(i)?)
    }
}

/// Every row of a (cached) statement, mapped by `f`.
fn all<T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    f: impl FnMut(&Row<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    conn.prepare_cached(sql)?.query_and_then(params, f)?.collect()
}

/// The first row of a (cached) statement, mapped by `f`; `None` if there is none.
fn first<T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    f: impl FnMut(&Row<'_>) -> Result<T>,
) -> Result<Option<T>> {
    conn.prepare_cached(sql)?.query_and_then(params, f)?.next().transpose()
}

/// Runs a (cached) write statement; the number of rows it changed.
fn exec(conn: &Connection, sql: &str, params: impl Params) -> Result<usize> {
    Ok(conn.prepare_cached(sql)?.execute(params)?)
}

/// The parameters of a dynamically built query.
fn dyn_params(params: Vec<Param>) -> impl Params {
    rusqlite::params_from_iter(params.into_iter().map(|p| match p {
        Param::I64(v) => SqlValue::Integer(v),
        Param::I32(v) => SqlValue::Integer(i64::from(v)),
        Param::Text(v) => SqlValue::Text(v),
    }))
}

impl SqliteStore {
    /// Opens or creates the database file at `path` and migrates it.
    pub(crate) fn open(path: &Path) -> Result<SqliteStore> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| StoreError::Io {
                context: format!("cannot create directory {}", parent.display()),
                source,
            })?;
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // SQLite falls back to read-only when the file or its file system is write-protected.
        if conn.is_readonly(rusqlite::MAIN_DB)? {
            return Self::read_only(conn, path);
        }
        refuse_foreign(&conn, path)?;
        // Switching to WAL needs a moment of exclusive access, and SQLite does not always
        // route that through the busy handler: retry for as long as the busy timeout.
        let start = Instant::now();
        loop {
            let res: rusqlite::Result<String> =
                conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0));
            match res {
                Ok(_) => break,
                Err(e) if is_busy(&e) && start.elapsed() < BUSY_TIMEOUT => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => return Err(e.into()),
            }
        }
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.set_prepared_statement_cache_capacity(64);
        let mut store = SqliteStore { conn };
        store.migrate()?;
        Ok(store)
    }

    /// A store that cannot be written (a read-only file system, a protected file): good for
    /// reading when its schema is current. A WAL-mode file whose `-shm` cannot be created is
    /// opened as immutable (no locking), as SQLite allows for read-only media.
    fn read_only(conn: Connection, path: &Path) -> Result<SqliteStore> {
        let version =
            |c: &Connection| -> rusqlite::Result<i64> { c.query_row(&q().schema_version, [], |r| r.get(0)) };
        let conn = match version(&conn) {
            Ok(_) => conn,
            Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::CannotOpen) => {
                let uri = format!("file:{}?immutable=1", path.display());
                let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
                    | OpenFlags::SQLITE_OPEN_URI
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX;
                Connection::open_with_flags(uri, flags)?
            }
            Err(_) => conn,
        };
        refuse_foreign(&conn, path)?;
        let current = version(&conn)?;
        if migrations::pending(current)?.next().is_some() {
            return Err(StoreError::Invalid(format!(
                "{} is read-only and its schema (version {current}) needs migrating to version {}; run \
                 perfwatch on it once with write access",
                path.display(),
                migrations::latest_version()
            )));
        }
        conn.set_prepared_statement_cache_capacity(64);
        Ok(SqliteStore { conn })
    }

    fn migrate(&mut self) -> Result<()> {
        let tx = self.write_tx()?;
        tx.execute_batch(CREATE_MIGRATIONS_TABLE)?;
        let current: i64 = tx.query_row(&q().schema_version, [], |r| r.get(0))?;
        for m in migrations::pending(current)? {
            tx.execute_batch(m.sqlite)?;
            tx.execute(&q().record_migration, (m.version, m.name, Timestamp::now().to_string()))?;
        }
        tx.commit()?;
        Ok(())
    }

    fn write_tx(&mut self) -> Result<Transaction<'_>> {
        Ok(self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?)
    }

    /// Runs one write statement in a transaction of its own; the number of rows it changed.
    fn write(&mut self, sql: &str, params: impl Params) -> Result<usize> {
        let tx = self.write_tx()?;
        let n = exec(&tx, sql, params)?;
        tx.commit()?;
        Ok(n)
    }

    /// Like [`SqliteStore::write`], for a statement on one run: [`StoreError::NotFound`] if
    /// it changed nothing.
    fn write_run(&mut self, run_id: &str, sql: &str, params: impl Params) -> Result<()> {
        match self.write(sql, params)? {
            0 => Err(StoreError::NotFound(run_id.to_string())),
            _ => Ok(()),
        }
    }

    fn run_row(&self, id: &str) -> Result<Option<RunRow>> {
        first(&self.conn, &q().run_by_id, [id], |r| rows::read_run(r))
    }

    /// The full id of a run given by id or unique prefix; [`StoreError::NotFound`] if none.
    fn existing_run_id(&mut self, id_or_prefix: &str) -> Result<String> {
        self.resolve_run_id(id_or_prefix)?.ok_or_else(|| StoreError::NotFound(id_or_prefix.to_string()))
    }
}

/// Refuses, before anything is written, a database that has tables but none of perfwatch's
/// bookkeeping: another application's file, given by mistake, must be left exactly as it was
/// (not switched to WAL, not given perfwatch's tables). An empty file is a new store.
fn refuse_foreign(conn: &Connection, path: &Path) -> Result<()> {
    let count = |sql: &str| -> Result<i64> { Ok(conn.query_row(sql, [], |r| r.get(0))?) };
    let tables = count("SELECT count(*) FROM sqlite_master WHERE type = 'table'")?;
    let ours =
        count("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'perfwatch_migrations'")?;
    if tables > 0 && ours == 0 {
        return Err(StoreError::Invalid(format!(
            "{} is an SQLite database of another application (it has {tables} tables and no \
             perfwatch_migrations); perfwatch left it untouched. Point --db at a perfwatch store or a new file",
            path.display()
        )));
    }
    Ok(())
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

fn insert_run_row(tx: &Transaction<'_>, row: &RunRow) -> Result<bool> {
    let values: &[&dyn ToSql] = &run_row_values!(row);
    Ok(exec(tx, &q().insert_run, values)? == 1)
}

/// Writes one case with its summaries; the run's start time is copied into the summaries.
fn insert_case(
    tx: &Transaction<'_>,
    run_id: &str,
    started: (i64, i32),
    ord: i64,
    case: &CaseReport,
) -> Result<()> {
    let row = CaseRow::from_report(ord, case);
    exec(
        tx,
        "INSERT INTO cases (run_id, ord, name, params, status, runs, caveats, failure, raw) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        rusqlite::params![
            run_id,
            row.ord,
            row.name,
            row.params,
            row.status,
            row.runs,
            row.caveats,
            row.failure,
            row.raw
        ],
    )?;
    for (metric, summary) in &case.metrics {
        let s = SummaryRow::from_summary(ord, metric, summary);
        let series_id = series_id(tx, &row.name, &row.params, &s)?;
        exec(
            tx,
            "INSERT INTO summaries (run_id, case_ord, metric, series_id, started_s, started_ns, \
             unit, better, n, median, ci_lo, ci_hi, mean, stddev, mad, min_v, max_v, p95, p99, \
             outliers, samples) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, \
             ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)",
            rusqlite::params![
                run_id, ord, s.metric, series_id, started.0, started.1, s.unit, s.better, s.n, s.stats[0],
                s.stats[1], s.stats[2], s.stats[3], s.stats[4], s.stats[5], s.stats[6], s.stats[7],
                s.stats[8], s.stats[9], s.outliers, s.samples,
            ],
        )?;
    }
    Ok(())
}

/// The id of a case × metric series, creating it (or updating its unit) as needed.
fn series_id(tx: &Transaction<'_>, name: &str, params: &str, s: &SummaryRow) -> Result<i64> {
    let found: Option<(i64, String, String)> = tx
        .prepare_cached(
            "SELECT id, unit, better FROM series \
             WHERE case_name = ?1 AND case_params = ?2 AND metric = ?3",
        )?
        .query_row((name, params, &s.metric), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    match found {
        Some((id, unit, better)) => {
            if unit != s.unit || better != s.better {
                exec(tx, "UPDATE series SET unit = ?2, better = ?3 WHERE id = ?1", (id, &s.unit, &s.better))?;
            }
            Ok(id)
        }
        None => Ok(tx
            .prepare_cached(
                "INSERT INTO series (case_name, case_params, metric, unit, better) \
                 VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
            )?
            .query_row((name, params, &s.metric, &s.unit, &s.better), |r| r.get(0))?),
    }
}

/// The id of the series `case` × `metric`, if it was ever written.
fn find_series(conn: &Connection, case: &CaseId, metric: &str) -> Result<Option<i64>> {
    let params = rows::params_json(&case.params);
    first(conn, &q().series_id, (&case.name, &params, metric), |r| r.col(0))
}

impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    fn begin_run(&mut self, meta: &RunMeta) -> Result<()> {
        let tx = self.write_tx()?;
        if !insert_run_row(&tx, &RunRow::incomplete(meta))? {
            return Err(StoreError::AlreadyExists(meta.id.clone()));
        }
        tx.commit()?;
        Ok(())
    }

    fn add_case(&mut self, run_id: &str, case: &CaseReport) -> Result<()> {
        let tx = self.write_tx()?;
        let started = first(&tx, "SELECT started_s, started_ns FROM runs WHERE id = ?1", [run_id], |r| {
            Ok((r.col(0)?, r.col(1)?))
        })?;
        let started = started.ok_or_else(|| StoreError::NotFound(run_id.to_string()))?;
        let ord: i64 = tx.prepare_cached(&q().next_case_ord)?.query_row([run_id], |r| r.get(0))?;
        insert_case(&tx, run_id, started, ord, case)?;
        tx.commit()?;
        Ok(())
    }

    fn finish_run(&mut self, run_id: &str, status: RunStatus, ended_at: Timestamp) -> Result<()> {
        let (s, ns) = ts_split(ended_at);
        self.write_run(run_id, &q().finish_run, (run_id, status.as_str(), s, ns))
    }

    fn renew_lease(&mut self, run_id: &str, until: Timestamp) -> Result<()> {
        self.write_run(run_id, &q().renew_lease, (run_id, until.as_second()))
    }

    fn set_budgets(&mut self, run_id: &str, budgets: &[BudgetResult]) -> Result<()> {
        self.write_run(run_id, &q().set_budgets, (run_id, rows::budgets_json(budgets)))
    }

    fn insert_run(&mut self, report: &RunReport) -> Result<bool> {
        let row = RunRow::from_report(report);
        let started = (row.started_s, row.started_ns);
        let tx = self.write_tx()?;
        if !insert_run_row(&tx, &row)? {
            return Ok(false);
        }
        for (ord, case) in report.benchmarks.iter().enumerate() {
            insert_case(&tx, &row.id, started, ord as i64, case)?;
        }
        tx.commit()?;
        Ok(true)
    }

    fn resolve_run_id(&mut self, id_or_prefix: &str) -> Result<Option<String>> {
        crate::check_prefix(id_or_prefix)?;
        let exact = first(&self.conn, &q().run_id, [id_or_prefix], |r| r.col(0))?;
        if exact.is_some() {
            return Ok(exact);
        }
        // `substr` compares bytes exactly (unlike LIKE, which folds ASCII case and has
        // wildcards); run tables are small, so a scan is fine.
        let ids = all(
            &self.conn,
            "SELECT id FROM runs WHERE substr(id, 1, length(?1)) = ?1 ORDER BY id LIMIT 10",
            [id_or_prefix],
            |r| r.col(0),
        )?;
        crate::pick_unique(id_or_prefix, ids)
    }

    fn run(&mut self, id_or_prefix: &str) -> Result<Option<RunReport>> {
        let Some(id) = self.resolve_run_id(id_or_prefix)? else { return Ok(None) };
        // One read transaction, so the run and its cases are a consistent snapshot.
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        let Some(run) = first(&tx, &q().run_by_id, [&id], |r| rows::read_run(r))? else {
            return Ok(None);
        };
        let cases = all(&tx, &q().cases_of_run, [&id], |r| rows::read_case(r))?;
        let summaries = all(&tx, &q().summaries_of_run, [&id], |r| rows::read_summary(r))?;
        drop(tx);
        run.into_report(cases, summaries).map(Some)
    }

    fn list_runs(&mut self, filter: &RunFilter) -> Result<Vec<RunMeta>> {
        let (sql, params) = sql::list_runs(Dialect::Sqlite, filter);
        all(&self.conn, &sql, dyn_params(params), |r| rows::read_run(r)?.into_meta())
    }

    fn previous_run(&mut self, run_id: &str, same_host: bool) -> Result<Option<RunMeta>> {
        let id = self.existing_run_id(run_id)?;
        let Some(this) = self.run_row(&id)? else {
            return Err(StoreError::NotFound(run_id.to_string()));
        };
        let host = same_host.then_some(this.host_fingerprint.as_str());
        let (sql, params) = sql::previous_run(Dialect::Sqlite, (this.started_s, this.started_ns), &id, host);
        first(&self.conn, &sql, dyn_params(params), |r| rows::read_run(r)?.into_meta())
    }

    fn add_profile(&mut self, run_id: &str, case: &CaseId, profile: &Profile) -> Result<()> {
        // Compressed before the write lock is taken.
        let folded = codec::encode_profile(profile)?;
        let params = rows::params_json(&case.params);
        let values = (run_id, &case.name, &params, profile.profiler.as_str(), &folded);
        self.write_run(run_id, &q().upsert_profile, values)
    }

    fn profile(&mut self, run_id: &str, case: &CaseId) -> Result<Option<Profile>> {
        let params = rows::params_json(&case.params);
        first(&self.conn, &q().profile, (run_id, &case.name, &params), |r| rows::read_profile(r))
    }

    fn profiled_cases(&mut self, run_id: &str) -> Result<Vec<CaseId>> {
        all(&self.conn, &q().profiled_cases, [run_id], |r| rows::read_profiled_case(r))
    }

    fn set_baseline(&mut self, name: &str, run_id: &str) -> Result<BaselineInfo> {
        crate::check_baseline_name(name)?;
        let id = self.existing_run_id(run_id)?;
        let now = Timestamp::now();
        let (s, ns) = ts_split(now);
        self.write(&q().set_baseline, (name, &id, s, ns)).map_err(|e| match &e {
            // The run was pruned between resolving and writing.
            StoreError::Sqlite(se)
                if se.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) =>
            {
                StoreError::NotFound(id.clone())
            }
            _ => e,
        })?;
        Ok(BaselineInfo { name: name.to_string(), run_id: id, set_at: now })
    }

    fn baseline(&mut self, name: &str) -> Result<Option<BaselineInfo>> {
        first(&self.conn, &q().baseline, [name], |r| rows::read_baseline(r))
    }

    fn list_baselines(&mut self) -> Result<Vec<BaselineInfo>> {
        all(&self.conn, &q().baselines, [], |r| rows::read_baseline(r))
    }

    fn delete_baseline(&mut self, name: &str) -> Result<bool> {
        Ok(self.write(&q().delete_baseline, [name])? > 0)
    }

    fn history(&mut self, case: &CaseId, metric: &str, last: Option<usize>) -> Result<Vec<HistoryPoint>> {
        let Some(series) = find_series(&self.conn, case, metric)? else { return Ok(Vec::new()) };
        // Newest first with a limit (-1 = none), reversed below: one index range scan.
        let limit = last.map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX));
        let mut points = all(&self.conn, &q().history, (series, limit), |r| rows::read_history_point(r))?;
        points.reverse();
        Ok(points)
    }

    fn history_medians(&mut self, case: &CaseId, metric: &str) -> Result<Vec<f64>> {
        let Some(series) = find_series(&self.conn, case, metric)? else { return Ok(Vec::new()) };
        // Same order as `history`, answered from the covering index (the incomplete runs left
        // out are a handful, found once through a partial index).
        all(
            &self.conn,
            "SELECT median FROM summaries WHERE series_id = ?1 \
             AND run_id NOT IN (SELECT id FROM runs WHERE status = 'incomplete') \
             ORDER BY started_s, started_ns, run_id",
            [series],
            |r| r.real(0),
        )
    }

    fn list_series(&mut self) -> Result<Vec<SeriesInfo>> {
        all(
            &self.conn,
            "SELECT s.case_name, s.case_params, s.metric, s.unit, s.better, \
             (SELECT COUNT(*) FROM summaries x WHERE x.series_id = s.id \
             AND x.run_id NOT IN (SELECT id FROM runs WHERE status = 'incomplete')) AS points \
             FROM series s WHERE points > 0 ORDER BY s.case_name, s.case_params, s.metric",
            [],
            |r| rows::read_series(r),
        )
    }

    fn replace_change_points(
        &mut self,
        case: &CaseId,
        metric: &str,
        analysed: usize,
        points: &[ChangePoint],
    ) -> Result<()> {
        let tx = self.write_tx()?;
        let Some(series) = find_series(&tx, case, metric)? else { return Ok(()) };
        // Points that moved or vanished are dropped; the alerted flag of the rest survives.
        let existing: Vec<String> =
            all(&tx, "SELECT run_id FROM change_points WHERE series_id = ?1", [series], |r| r.col(0))?;
        for gone in existing.iter().filter(|id| !points.iter().any(|p| p.run_id.as_ref() == Some(*id))) {
            exec(&tx, "DELETE FROM change_points WHERE series_id = ?1 AND run_id = ?2", (series, gone))?;
        }
        for p in points {
            let (run_id, regression) = rows::change_point_key(p);
            let values: &[&dyn ToSql] = &change_point_values!(series, run_id, regression, p);
            exec(&tx, &q().upsert_change_point, values)?;
        }
        exec(&tx, &q().mark_analysed, (series, rows::count(analysed)))?;
        tx.commit()?;
        Ok(())
    }

    fn change_points(&mut self, case: &CaseId, metric: &str) -> Result<Option<Vec<ChangePoint>>> {
        let params = rows::params_json(&case.params);
        let analysis: Option<(i64, Option<i64>)> =
            first(&self.conn, &q().series_analysis, (&case.name, &params, metric), |r| {
                Ok((r.col(0)?, r.col(1)?))
            })?;
        let Some((series, Some(_))) = analysis else { return Ok(None) };
        all(&self.conn, &q().change_points, [series], |r| rows::read_change_point(r)).map(Some)
    }

    fn mark_alerted(&mut self, case: &CaseId, metric: &str, run_id: &str) -> Result<bool> {
        let params = rows::params_json(&case.params);
        Ok(self.write(&q().mark_alerted, (&case.name, &params, metric, run_id))? > 0)
    }

    fn prune(&mut self, policy: &PrunePolicy) -> Result<usize> {
        let tx = self.write_tx()?;
        let (sql, params) = sql::prune_victims(Dialect::Sqlite, policy, Timestamp::now().as_second());
        let victims: Vec<String> = all(&tx, &sql, dyn_params(params), |r| r.col(0))?;
        // Change points and profiles go with their run (ON DELETE CASCADE; foreign keys are
        // on for every connection that writes).
        for id in &victims {
            exec(&tx, "DELETE FROM summaries WHERE run_id = ?1", [id])?;
            exec(&tx, "DELETE FROM cases WHERE run_id = ?1", [id])?;
            exec(&tx, "DELETE FROM runs WHERE id = ?1", [id])?;
        }
        tx.commit()?;
        if !victims.is_empty() {
            self.compact()?;
        }
        Ok(victims.len())
    }

    fn create_token(&mut self, name: &str, scope: TokenScope, hash: &str) -> Result<TokenInfo> {
        let token = crate::new_token(name, scope, hash)?;
        let (s, ns) = ts_split(token.created_at);
        if self.write(&q().create_token, (name, hash, scope.as_str(), s, ns))? == 0 {
            return Err(StoreError::TokenExists(token.name));
        }
        Ok(token)
    }

    fn list_tokens(&mut self) -> Result<Vec<TokenInfo>> {
        all(&self.conn, &q().tokens, [], |r| rows::read_token_info(r))
    }

    fn active_tokens(&mut self) -> Result<Vec<TokenHash>> {
        all(&self.conn, &q().active_tokens, [], |r| rows::read_token_hash(r))
    }

    fn revoke_token(&mut self, name: &str) -> Result<bool> {
        let (s, ns) = ts_split(Timestamp::now());
        Ok(self.write(&q().revoke_token, (name, s, ns))? > 0)
    }

    fn set_push_state(&mut self, run_id: &str, state: Option<PushState>) -> Result<()> {
        self.write_run(run_id, &q().set_push_state, (run_id, state.map(PushState::as_str)))
    }

    fn push_state(&mut self, run_id: &str) -> Result<Option<PushState>> {
        first(&self.conn, &q().push_state, [run_id], |r| rows::read_push_state(r))?
            .ok_or_else(|| StoreError::NotFound(run_id.to_string()))
    }

    fn unpushed_runs(&mut self) -> Result<Vec<String>> {
        all(&self.conn, &q().unpushed_runs, [], |r| r.col(0))
    }

    fn compact(&mut self) -> Result<()> {
        self.conn.execute_batch("VACUUM")?;
        let _: (i64, i64, i64) = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(())
    }

    fn integrity_check(&mut self) -> Result<()> {
        let mut findings: Vec<String> = self
            .conn
            .prepare("PRAGMA integrity_check")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        if findings == ["ok"] {
            findings.clear();
        }
        let fk: Vec<String> = self
            .conn
            .prepare("PRAGMA foreign_key_check")?
            .query_map([], |r| {
                Ok(format!(
                    "row {} of {} references a missing row of {}",
                    r.get::<_, Option<i64>>(1)?.unwrap_or(-1),
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(2)?
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        findings.extend(fk);
        if findings.is_empty() { Ok(()) } else { Err(StoreError::Corrupt(findings.join("; "))) }
    }
}

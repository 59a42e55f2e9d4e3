//! The SQLite backend: one file, WAL mode, writers queued by `BEGIN IMMEDIATE` and a 30 s busy
//! timeout.
//!
//! Runs are written row by row (SQLite has no round trips to save); the row mapping is in
//! [`crate::rows`].

use std::path::Path;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use perfwatch_model::{BudgetResult, CaseId, CaseReport, RunMeta, RunReport, RunStatus};
use rusqlite::types::Value as SqlValue;
use rusqlite::{
    Connection, OpenFlags, OptionalExtension, Params, Row, ToSql, Transaction, TransactionBehavior,
};

use crate::error::{Result, StoreError};
use crate::migrations::{CREATE_MIGRATIONS_TABLE, MIGRATIONS, latest_version};
use crate::rows::{
    self, CASE_COLUMNS, CaseRow, Columns, RUN_COLUMNS, RunRow, SUMMARY_COLUMNS, SummaryRow, Value,
    change_point_values, run_row_values, ts_split,
};
use crate::{
    Backend, BaselineInfo, HistoryPoint, Param, PrunePolicy, PushState, RunFilter, SeriesInfo, Store,
    StoredChangePoint, TokenHash, TokenInfo, TokenScope,
};

/// How long a writer waits for another one before giving up with [`ErrorKind::Busy`].
///
/// [`ErrorKind::Busy`]: crate::ErrorKind::Busy
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// A store in an SQLite file.
pub(crate) struct SqliteStore {
    conn: Connection,
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

    fn migrate(&mut self) -> Result<()> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(CREATE_MIGRATIONS_TABLE)?;
        let current: i64 =
            tx.query_row("SELECT COALESCE(MAX(version), 0) FROM perfwatch_migrations", [], |r| r.get(0))?;
        if current > latest_version() {
            return Err(StoreError::TooNew { found: current, known: latest_version() });
        }
        for m in MIGRATIONS.iter().filter(|m| m.version > current) {
            tx.execute_batch(m.sqlite)?;
            tx.execute(
                "INSERT INTO perfwatch_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
                (m.version, m.name, Timestamp::now().to_string()),
            )?;
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
        first(&self.conn, &format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = ?1"), [id], |r| {
            rows::read_run(r)
        })
    }

    /// The full id of a run given by id or unique prefix; [`StoreError::NotFound`] if none.
    fn existing_run_id(&mut self, id_or_prefix: &str) -> Result<String> {
        self.resolve_run_id(id_or_prefix)?.ok_or_else(|| StoreError::NotFound(id_or_prefix.to_string()))
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

fn insert_run_row(tx: &Transaction<'_>, row: &RunRow) -> Result<bool> {
    let values: &[&dyn ToSql] = &run_row_values!(row);
    Ok(exec(
        tx,
        "INSERT INTO runs (id, started_s, started_ns, ended_s, ended_ns, status, git_commit, \
         git_branch, git_dirty, host_fingerprint, hostname, cpu, cores, memory_bytes, os, kernel, \
         load1, load5, load15, labels, perfwatch_version, suite_hash, budgets) VALUES (?1, ?2, \
         ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, \
         ?22, ?23) \
         ON CONFLICT (id) DO NOTHING",
        values,
    )? == 1)
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
    first(
        conn,
        "SELECT id FROM series WHERE case_name = ?1 AND case_params = ?2 AND metric = ?3",
        (&case.name, &params, metric),
        |r| r.col(0),
    )
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
        let ord: i64 = tx
            .prepare_cached("SELECT COALESCE(MAX(ord) + 1, 0) FROM cases WHERE run_id = ?1")?
            .query_row([run_id], |r| r.get(0))?;
        insert_case(&tx, run_id, started, ord, case)?;
        tx.commit()?;
        Ok(())
    }

    fn finish_run(&mut self, run_id: &str, status: RunStatus, ended_at: Timestamp) -> Result<()> {
        let (s, ns) = ts_split(ended_at);
        self.write_run(
            run_id,
            "UPDATE runs SET status = ?2, ended_s = ?3, ended_ns = ?4 WHERE id = ?1",
            (run_id, status.as_str(), s, ns),
        )
    }

    fn set_budgets(&mut self, run_id: &str, budgets: &[BudgetResult]) -> Result<()> {
        self.write_run(
            run_id,
            "UPDATE runs SET budgets = ?2 WHERE id = ?1",
            (run_id, rows::budgets_json(budgets)),
        )
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
        let exact = first(&self.conn, "SELECT id FROM runs WHERE id = ?1", [id_or_prefix], |r| r.col(0))?;
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
        let Some(run) = first(&tx, &format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = ?1"), [&id], |r| {
            rows::read_run(r)
        })?
        else {
            return Ok(None);
        };
        let cases = all(
            &tx,
            &format!("SELECT {CASE_COLUMNS} FROM cases WHERE run_id = ?1 ORDER BY ord"),
            [&id],
            |r| rows::read_case(r),
        )?;
        let summaries = all(
            &tx,
            &format!("SELECT {SUMMARY_COLUMNS} FROM summaries WHERE run_id = ?1 ORDER BY case_ord, metric"),
            [&id],
            |r| rows::read_summary(r),
        )?;
        drop(tx);
        run.into_report(cases, summaries).map(Some)
    }

    fn list_runs(&mut self, filter: &RunFilter) -> Result<Vec<RunMeta>> {
        let (tail, params) = crate::run_filter_sql(filter, |i| format!("?{i}"));
        let sql = format!("SELECT {RUN_COLUMNS} FROM runs{tail}");
        all(&self.conn, &sql, dyn_params(params), |r| rows::read_run(r)?.into_meta())
    }

    fn previous_run(&mut self, run_id: &str, same_host: bool) -> Result<Option<RunMeta>> {
        let id = self.existing_run_id(run_id)?;
        let Some(this) = self.run_row(&id)? else {
            return Err(StoreError::NotFound(run_id.to_string()));
        };
        let host = if same_host { "AND host_fingerprint = ?4" } else { "AND ?4 IS NOT NULL" };
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE (started_s, started_ns, id) < (?1, ?2, ?3) \
             {host} ORDER BY started_s DESC, started_ns DESC, id DESC LIMIT 1"
        );
        let params = (this.started_s, this.started_ns, &this.id, &this.host_fingerprint);
        first(&self.conn, &sql, params, |r| rows::read_run(r)?.into_meta())
    }

    fn set_baseline(&mut self, name: &str, run_id: &str) -> Result<BaselineInfo> {
        crate::check_baseline_name(name)?;
        let id = self.existing_run_id(run_id)?;
        let now = Timestamp::now();
        let (s, ns) = ts_split(now);
        self.write(
            "INSERT INTO baselines (name, run_id, set_s, set_ns) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (name) DO UPDATE SET run_id = excluded.run_id, set_s = excluded.set_s, \
             set_ns = excluded.set_ns",
            (name, &id, s, ns),
        )
        .map_err(|e| match &e {
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
        first(&self.conn, "SELECT name, run_id, set_s, set_ns FROM baselines WHERE name = ?1", [name], |r| {
            rows::read_baseline(r)
        })
    }

    fn list_baselines(&mut self) -> Result<Vec<BaselineInfo>> {
        all(&self.conn, "SELECT name, run_id, set_s, set_ns FROM baselines ORDER BY name", [], |r| {
            rows::read_baseline(r)
        })
    }

    fn delete_baseline(&mut self, name: &str) -> Result<bool> {
        Ok(self.write("DELETE FROM baselines WHERE name = ?1", [name])? > 0)
    }

    fn history(&mut self, case: &CaseId, metric: &str, last: Option<usize>) -> Result<Vec<HistoryPoint>> {
        let Some(series) = find_series(&self.conn, case, metric)? else { return Ok(Vec::new()) };
        // Newest first with a limit (-1 = none), reversed below: one index range scan.
        let limit = last.map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX));
        let mut points = all(
            &self.conn,
            "SELECT s.run_id, s.started_s, s.started_ns, r.git_commit, s.median, s.ci_lo, \
                 s.ci_hi FROM summaries s JOIN runs r ON r.id = s.run_id \
                 WHERE s.series_id = ?1 \
                 ORDER BY s.started_s DESC, s.started_ns DESC, s.run_id DESC LIMIT ?2",
            (series, limit),
            |r| rows::read_history_point(r),
        )?;
        points.reverse();
        Ok(points)
    }

    fn history_medians(&mut self, case: &CaseId, metric: &str) -> Result<Vec<f64>> {
        let Some(series) = find_series(&self.conn, case, metric)? else { return Ok(Vec::new()) };
        // Same order as `history`, answered from the covering index alone (no join to runs).
        all(
            &self.conn,
            "SELECT median FROM summaries WHERE series_id = ?1 ORDER BY started_s, started_ns, run_id",
            [series],
            |r| r.real(0),
        )
    }

    fn list_series(&mut self) -> Result<Vec<SeriesInfo>> {
        all(
            &self.conn,
            "SELECT s.case_name, s.case_params, s.metric, s.unit, s.better, \
             (SELECT COUNT(*) FROM summaries x WHERE x.series_id = s.id) AS points \
             FROM series s WHERE points > 0 ORDER BY s.case_name, s.case_params, s.metric",
            [],
            |r| rows::read_series(r),
        )
    }

    fn replace_change_points(
        &mut self,
        case: &CaseId,
        metric: &str,
        points: &[StoredChangePoint],
    ) -> Result<()> {
        let tx = self.write_tx()?;
        let Some(series) = find_series(&tx, case, metric)? else { return Ok(()) };
        // Points that moved or vanished are dropped; the alerted flag of the rest survives.
        let existing: Vec<String> =
            all(&tx, "SELECT run_id FROM change_points WHERE series_id = ?1", [series], |r| r.col(0))?;
        for gone in existing.iter().filter(|id| !points.iter().any(|p| &p.run_id == *id)) {
            exec(&tx, "DELETE FROM change_points WHERE series_id = ?1 AND run_id = ?2", (series, gone))?;
        }
        for p in points {
            let values: &[&dyn ToSql] = &change_point_values!(series, p);
            exec(
                &tx,
                "INSERT INTO change_points (series_id, run_id, before_v, after_v, change, p_value, regression) \
                 SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 WHERE EXISTS (SELECT 1 FROM runs WHERE id = ?2) \
                 ON CONFLICT (series_id, run_id) DO UPDATE SET before_v = excluded.before_v, \
                 after_v = excluded.after_v, change = excluded.change, p_value = excluded.p_value, \
                 regression = excluded.regression",
                values,
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn change_points(&mut self, case: &CaseId, metric: &str) -> Result<Vec<StoredChangePoint>> {
        let params = rows::params_json(&case.params);
        all(
            &self.conn,
            "SELECT c.run_id, c.before_v, c.after_v, c.change, c.p_value, c.regression, c.alerted \
                 FROM change_points c JOIN series s ON s.id = c.series_id JOIN runs r ON r.id = c.run_id \
                 WHERE s.case_name = ?1 AND s.case_params = ?2 AND s.metric = ?3 \
                 ORDER BY r.started_s, r.started_ns, r.id",
            (&case.name, &params, metric),
            |r| rows::read_change_point(r),
        )
    }

    fn mark_alerted(&mut self, case: &CaseId, metric: &str, run_id: &str) -> Result<bool> {
        let params = rows::params_json(&case.params);
        Ok(self.write(
            "UPDATE change_points SET alerted = 1 WHERE alerted = 0 AND run_id = ?4 AND series_id = \
             (SELECT id FROM series WHERE case_name = ?1 AND case_params = ?2 AND metric = ?3)",
            (&case.name, &params, metric, run_id),
        )? > 0)
    }

    fn prune(&mut self, policy: &PrunePolicy) -> Result<usize> {
        let tx = self.write_tx()?;
        let victims: Vec<String> = match policy {
            PrunePolicy::KeepLast(n) => {
                let keep = i64::try_from(*n).unwrap_or(i64::MAX);
                all(
                    &tx,
                    "SELECT id FROM (SELECT id, push_state FROM runs \
                     ORDER BY started_s DESC, started_ns DESC, id DESC LIMIT -1 OFFSET ?1) \
                     WHERE id NOT IN (SELECT run_id FROM baselines) \
                     AND push_state IS NOT 'unpushed'",
                    [keep],
                    |r| r.col(0),
                )?
            }
            PrunePolicy::OlderThan(t) => {
                let (s, ns) = ts_split(*t);
                all(
                    &tx,
                    "SELECT id FROM runs WHERE (started_s < ?1 OR (started_s = ?1 AND \
                     started_ns < ?2)) AND id NOT IN (SELECT run_id FROM baselines) \
                     AND push_state IS NOT 'unpushed'",
                    (s, ns),
                    |r| r.col(0),
                )?
            }
        };
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
        if self.write(
            "INSERT INTO tokens (name, hash, scope, created_s, created_ns) VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (name) DO UPDATE SET hash = excluded.hash, scope = excluded.scope, \
             created_s = excluded.created_s, created_ns = excluded.created_ns, revoked_s = NULL, \
             revoked_ns = NULL WHERE tokens.revoked_s IS NOT NULL",
            (name, hash, scope.as_str(), s, ns),
        )? == 0
        {
            return Err(StoreError::TokenExists(token.name));
        }
        Ok(token)
    }

    fn list_tokens(&mut self) -> Result<Vec<TokenInfo>> {
        all(
            &self.conn,
            "SELECT name, scope, created_s, created_ns, revoked_s, revoked_ns FROM tokens ORDER BY name",
            [],
            |r| rows::read_token_info(r),
        )
    }

    fn active_tokens(&mut self) -> Result<Vec<TokenHash>> {
        all(
            &self.conn,
            "SELECT name, scope, hash FROM tokens WHERE revoked_s IS NULL ORDER BY name",
            [],
            |r| rows::read_token_hash(r),
        )
    }

    fn revoke_token(&mut self, name: &str) -> Result<bool> {
        let (s, ns) = ts_split(Timestamp::now());
        Ok(self.write(
            "UPDATE tokens SET revoked_s = ?2, revoked_ns = ?3 WHERE name = ?1 AND revoked_s IS NULL",
            (name, s, ns),
        )? > 0)
    }

    fn set_push_state(&mut self, run_id: &str, state: Option<PushState>) -> Result<()> {
        self.write_run(
            run_id,
            "UPDATE runs SET push_state = ?2 WHERE id = ?1",
            (run_id, state.map(PushState::as_str)),
        )
    }

    fn push_state(&mut self, run_id: &str) -> Result<Option<PushState>> {
        first(&self.conn, "SELECT push_state FROM runs WHERE id = ?1", [run_id], |r| {
            rows::read_push_state(r)
        })?
        .ok_or_else(|| StoreError::NotFound(run_id.to_string()))
    }

    fn unpushed_runs(&mut self) -> Result<Vec<String>> {
        all(
            &self.conn,
            "SELECT id FROM runs WHERE push_state = 'unpushed' ORDER BY started_s, started_ns, id",
            [],
            |r| r.col(0),
        )
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

//! The SQLite backend: one file, WAL mode, writers queued by `BEGIN IMMEDIATE` and a 30 s busy
//! timeout.

use std::path::Path;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use perfwatch_model::{BudgetResult, CaseId, CaseReport, RunMeta, RunReport, RunStatus};
use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, Transaction, TransactionBehavior};

use crate::error::{Result, StoreError};
use crate::migrations::{CREATE_MIGRATIONS_TABLE, MIGRATIONS, latest_version};
use crate::rows::{
    self, CASE_COLUMNS, CaseRow, RUN_COLUMNS, RunRow, SUMMARY_COLUMNS, SummaryRow, ts_join, ts_split,
};
use crate::{
    Backend, BaselineInfo, HistoryPoint, Param, PrunePolicy, PushState, RunFilter, SeriesInfo, Store,
    StoredChangePoint, TokenHash, TokenInfo, TokenScope,
};

/// How long a writer waits for another one before giving up with [`ErrorKind::Busy`].
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// A store in an SQLite file.
pub(crate) struct SqliteStore {
    conn: Connection,
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

    fn run_row(&self, id: &str) -> Result<Option<RunRow>> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = ?1");
        Ok(self.conn.prepare_cached(&sql)?.query_row([id], read_run).optional()?)
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// SQLite stores NaN as NULL; read NULL back as NaN.
fn f64_at(row: &Row<'_>, i: usize) -> rusqlite::Result<f64> {
    Ok(row.get::<_, Option<f64>>(i)?.unwrap_or(f64::NAN))
}

fn read_run(r: &Row<'_>) -> rusqlite::Result<RunRow> {
    Ok(RunRow {
        id: r.get(0)?,
        started_s: r.get(1)?,
        started_ns: r.get(2)?,
        ended_s: r.get(3)?,
        ended_ns: r.get(4)?,
        status: r.get(5)?,
        git_commit: r.get(6)?,
        git_branch: r.get(7)?,
        git_dirty: r.get(8)?,
        host_fingerprint: r.get(9)?,
        hostname: r.get(10)?,
        cpu: r.get(11)?,
        cores: r.get(12)?,
        memory_bytes: r.get(13)?,
        os: r.get(14)?,
        kernel: r.get(15)?,
        load: [f64_at(r, 16)?, f64_at(r, 17)?, f64_at(r, 18)?],
        labels: r.get(19)?,
        perfwatch_version: r.get(20)?,
        suite_hash: r.get(21)?,
        budgets: r.get(22)?,
    })
}

fn read_case(r: &Row<'_>) -> rusqlite::Result<CaseRow> {
    Ok(CaseRow {
        ord: r.get(0)?,
        name: r.get(1)?,
        params: r.get(2)?,
        status: r.get(3)?,
        runs: r.get(4)?,
        caveats: r.get(5)?,
        failure: r.get(6)?,
        raw: r.get(7)?,
    })
}

fn read_summary(r: &Row<'_>) -> rusqlite::Result<SummaryRow> {
    let mut stats = [0.0; 10];
    for (i, s) in stats.iter_mut().enumerate() {
        *s = f64_at(r, 5 + i)?;
    }
    Ok(SummaryRow {
        case_ord: r.get(0)?,
        metric: r.get(1)?,
        unit: r.get(2)?,
        better: r.get(3)?,
        n: r.get(4)?,
        stats,
        outliers: r.get(15)?,
        samples: r.get(16)?,
    })
}

fn insert_run_row(tx: &Transaction<'_>, row: &RunRow) -> Result<bool> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO runs (id, started_s, started_ns, ended_s, ended_ns, status, git_commit, \
         git_branch, git_dirty, host_fingerprint, hostname, cpu, cores, memory_bytes, os, kernel, \
         load1, load5, load15, labels, perfwatch_version, suite_hash, budgets) VALUES (?1, ?2, \
         ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, \
         ?22, ?23) \
         ON CONFLICT (id) DO NOTHING",
    )?;
    let n = stmt.execute(rusqlite::params![
        row.id,
        row.started_s,
        row.started_ns,
        row.ended_s,
        row.ended_ns,
        row.status,
        row.git_commit,
        row.git_branch,
        row.git_dirty,
        row.host_fingerprint,
        row.hostname,
        row.cpu,
        row.cores,
        row.memory_bytes,
        row.os,
        row.kernel,
        row.load[0],
        row.load[1],
        row.load[2],
        row.labels,
        row.perfwatch_version,
        row.suite_hash,
        row.budgets,
    ])?;
    Ok(n == 1)
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
    tx.prepare_cached(
        "INSERT INTO cases (run_id, ord, name, params, status, runs, caveats, failure, raw) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(rusqlite::params![
        run_id,
        row.ord,
        row.name,
        row.params,
        row.status,
        row.runs,
        row.caveats,
        row.failure,
        row.raw
    ])?;
    for (metric, summary) in &case.metrics {
        let s = SummaryRow::from_summary(ord, metric, summary);
        let series_id = series_id(tx, &row.name, &row.params, &s)?;
        tx.prepare_cached(
            "INSERT INTO summaries (run_id, case_ord, metric, series_id, started_s, started_ns, \
             unit, better, n, median, ci_lo, ci_hi, mean, stddev, mad, min_v, max_v, p95, p99, \
             outliers, samples) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, \
             ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)",
        )?
        .execute(rusqlite::params![
            run_id, ord, s.metric, series_id, started.0, started.1, s.unit, s.better, s.n, s.stats[0],
            s.stats[1], s.stats[2], s.stats[3], s.stats[4], s.stats[5], s.stats[6], s.stats[7], s.stats[8],
            s.stats[9], s.outliers, s.samples,
        ])?;
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
                tx.prepare_cached("UPDATE series SET unit = ?2, better = ?3 WHERE id = ?1")?
                    .execute((id, &s.unit, &s.better))?;
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

fn to_value(p: Param) -> Value {
    match p {
        Param::I64(v) => Value::Integer(v),
        Param::I32(v) => Value::Integer(i64::from(v)),
        Param::Text(v) => Value::Text(v),
    }
}

fn read_baseline(r: &Row<'_>) -> rusqlite::Result<(String, String, i64, i32)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
}

fn baseline_info(raw: (String, String, i64, i32)) -> Result<BaselineInfo> {
    Ok(BaselineInfo { name: raw.0, run_id: raw.1, set_at: ts_join(raw.2, raw.3)? })
}

/// The id of the series `case` × `metric`, if it was ever written.
fn find_series(conn: &Connection, case: &CaseId, metric: &str) -> Result<Option<i64>> {
    let params = rows::params_json(&case.params);
    Ok(conn
        .prepare_cached("SELECT id FROM series WHERE case_name = ?1 AND case_params = ?2 AND metric = ?3")?
        .query_row((&case.name, &params, metric), |r| r.get(0))
        .optional()?)
}

impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    fn begin_run(&mut self, meta: &RunMeta) -> Result<()> {
        let mut row = RunRow::from_meta(meta);
        row.status = RunStatus::Incomplete.as_str().into();
        row.ended_s = None;
        row.ended_ns = None;
        let tx = self.write_tx()?;
        if !insert_run_row(&tx, &row)? {
            return Err(StoreError::AlreadyExists(meta.id.clone()));
        }
        tx.commit()?;
        Ok(())
    }

    fn add_case(&mut self, run_id: &str, case: &CaseReport) -> Result<()> {
        let tx = self.write_tx()?;
        let started: Option<(i64, i32)> = tx
            .prepare_cached("SELECT started_s, started_ns FROM runs WHERE id = ?1")?
            .query_row([run_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
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
        let tx = self.write_tx()?;
        let n = tx.execute(
            "UPDATE runs SET status = ?2, ended_s = ?3, ended_ns = ?4 WHERE id = ?1",
            (run_id, status.as_str(), s, ns),
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(run_id.to_string()));
        }
        tx.commit()?;
        Ok(())
    }

    fn set_budgets(&mut self, run_id: &str, budgets: &[BudgetResult]) -> Result<()> {
        let tx = self.write_tx()?;
        let n =
            tx.execute("UPDATE runs SET budgets = ?2 WHERE id = ?1", (run_id, rows::budgets_json(budgets)))?;
        if n == 0 {
            return Err(StoreError::NotFound(run_id.to_string()));
        }
        tx.commit()?;
        Ok(())
    }

    fn insert_run(&mut self, report: &RunReport) -> Result<bool> {
        let mut row = RunRow::from_meta(&report.run);
        row.budgets = rows::budgets_json(&report.budgets);
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
        let exact: Option<String> = self
            .conn
            .prepare_cached("SELECT id FROM runs WHERE id = ?1")?
            .query_row([id_or_prefix], |r| r.get(0))
            .optional()?;
        if exact.is_some() {
            return Ok(exact);
        }
        // `substr` compares bytes exactly (unlike LIKE, which folds ASCII case and has
        // wildcards); run tables are small, so a scan is fine.
        let ids = self
            .conn
            .prepare_cached("SELECT id FROM runs WHERE substr(id, 1, length(?1)) = ?1 ORDER BY id LIMIT 10")?
            .query_map([id_or_prefix], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        crate::pick_unique(id_or_prefix, ids)
    }

    fn run(&mut self, id_or_prefix: &str) -> Result<Option<RunReport>> {
        let Some(id) = self.resolve_run_id(id_or_prefix)? else { return Ok(None) };
        // One read transaction, so the run and its cases are a consistent snapshot.
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        let sql = format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = ?1");
        let Some(run) = tx.prepare_cached(&sql)?.query_row([&id], read_run).optional()? else {
            return Ok(None);
        };
        let sql = format!("SELECT {CASE_COLUMNS} FROM cases WHERE run_id = ?1 ORDER BY ord");
        let cases =
            tx.prepare_cached(&sql)?.query_map([&id], read_case)?.collect::<rusqlite::Result<Vec<_>>>()?;
        let sql =
            format!("SELECT {SUMMARY_COLUMNS} FROM summaries WHERE run_id = ?1 ORDER BY case_ord, metric");
        let summaries =
            tx.prepare_cached(&sql)?.query_map([&id], read_summary)?.collect::<rusqlite::Result<Vec<_>>>()?;
        drop(tx);
        Ok(Some(RunReport {
            schema_version: perfwatch_model::SCHEMA_VERSION,
            budgets: rows::budgets_from(&run.budgets)?,
            run: run.into_meta()?,
            benchmarks: rows::assemble_cases(cases, summaries)?,
        }))
    }

    fn list_runs(&mut self, filter: &RunFilter) -> Result<Vec<RunMeta>> {
        let (tail, params) = crate::run_filter_sql(filter, |i| format!("?{i}"));
        let sql = format!("SELECT {RUN_COLUMNS} FROM runs{tail}");
        let rows = self
            .conn
            .prepare_cached(&sql)?
            .query_map(rusqlite::params_from_iter(params.into_iter().map(to_value)), read_run)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(RunRow::into_meta).collect()
    }

    fn previous_run(&mut self, run_id: &str, same_host: bool) -> Result<Option<RunMeta>> {
        let id = self.resolve_run_id(run_id)?.ok_or_else(|| StoreError::NotFound(run_id.to_string()))?;
        let Some(this) = self.run_row(&id)? else {
            return Err(StoreError::NotFound(run_id.to_string()));
        };
        let host = if same_host { "AND host_fingerprint = ?4" } else { "AND ?4 IS NOT NULL" };
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE (started_s, started_ns, id) < (?1, ?2, ?3) \
             {host} ORDER BY started_s DESC, started_ns DESC, id DESC LIMIT 1"
        );
        let row = self
            .conn
            .prepare_cached(&sql)?
            .query_row((this.started_s, this.started_ns, &this.id, &this.host_fingerprint), read_run)
            .optional()?;
        row.map(RunRow::into_meta).transpose()
    }

    fn set_baseline(&mut self, name: &str, run_id: &str) -> Result<BaselineInfo> {
        crate::check_baseline_name(name)?;
        let id = self.resolve_run_id(run_id)?.ok_or_else(|| StoreError::NotFound(run_id.to_string()))?;
        let now = Timestamp::now();
        let (s, ns) = ts_split(now);
        let tx = self.write_tx()?;
        tx.execute(
            "INSERT INTO baselines (name, run_id, set_s, set_ns) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (name) DO UPDATE SET run_id = excluded.run_id, set_s = excluded.set_s, \
             set_ns = excluded.set_ns",
            (name, &id, s, ns),
        )
        .map_err(|e| match e.sqlite_error_code() {
            // The run was pruned between resolving and writing.
            Some(rusqlite::ErrorCode::ConstraintViolation) => StoreError::NotFound(id.clone()),
            _ => e.into(),
        })?;
        tx.commit()?;
        Ok(BaselineInfo { name: name.to_string(), run_id: id, set_at: now })
    }

    fn baseline(&mut self, name: &str) -> Result<Option<BaselineInfo>> {
        let raw = self
            .conn
            .prepare_cached("SELECT name, run_id, set_s, set_ns FROM baselines WHERE name = ?1")?
            .query_row([name], read_baseline)
            .optional()?;
        raw.map(baseline_info).transpose()
    }

    fn list_baselines(&mut self) -> Result<Vec<BaselineInfo>> {
        let raw = self
            .conn
            .prepare_cached("SELECT name, run_id, set_s, set_ns FROM baselines ORDER BY name")?
            .query_map([], read_baseline)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        raw.into_iter().map(baseline_info).collect()
    }

    fn delete_baseline(&mut self, name: &str) -> Result<bool> {
        let tx = self.write_tx()?;
        let n = tx.execute("DELETE FROM baselines WHERE name = ?1", [name])?;
        tx.commit()?;
        Ok(n > 0)
    }

    fn history(&mut self, case: &CaseId, metric: &str, last: Option<usize>) -> Result<Vec<HistoryPoint>> {
        let Some(series) = find_series(&self.conn, case, metric)? else { return Ok(Vec::new()) };
        // Newest first with a limit (-1 = none), reversed below: one index range scan.
        let limit = last.map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX));
        let raw = self
            .conn
            .prepare_cached(
                "SELECT s.run_id, s.started_s, s.started_ns, r.git_commit, s.median, s.ci_lo, \
                 s.ci_hi FROM summaries s JOIN runs r ON r.id = s.run_id \
                 WHERE s.series_id = ?1 \
                 ORDER BY s.started_s DESC, s.started_ns DESC, s.run_id DESC LIMIT ?2",
            )?
            .query_map((series, limit), |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i32>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    [f64_at(r, 4)?, f64_at(r, 5)?, f64_at(r, 6)?],
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        raw.into_iter()
            .rev()
            .map(|(run_id, s, ns, commit, [median, lo, hi])| {
                Ok(HistoryPoint { run_id, time: ts_join(s, ns)?, commit, median, ci95: [lo, hi] })
            })
            .collect()
    }

    fn history_medians(&mut self, case: &CaseId, metric: &str) -> Result<Vec<f64>> {
        let Some(series) = find_series(&self.conn, case, metric)? else { return Ok(Vec::new()) };
        // Same order as `history`, answered from the covering index alone (no join to runs).
        let medians = self
            .conn
            .prepare_cached(
                "SELECT median FROM summaries WHERE series_id = ?1 \
                 ORDER BY started_s, started_ns, run_id",
            )?
            .query_map([series], |r| f64_at(r, 0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(medians)
    }

    fn list_series(&mut self) -> Result<Vec<SeriesInfo>> {
        let raw = self
            .conn
            .prepare_cached(
                "SELECT s.case_name, s.case_params, s.metric, s.unit, s.better, \
                 (SELECT COUNT(*) FROM summaries x WHERE x.series_id = s.id) AS points \
                 FROM series s WHERE points > 0 ORDER BY s.case_name, s.case_params, s.metric",
            )?
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, i64>(5)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        series_infos(raw)
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
        let keep: Vec<&str> = points.iter().map(|p| p.run_id.as_str()).collect();
        let existing: Vec<String> = tx
            .prepare_cached("SELECT run_id FROM change_points WHERE series_id = ?1")?
            .query_map([series], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for gone in existing.iter().filter(|id| !keep.contains(&id.as_str())) {
            tx.execute("DELETE FROM change_points WHERE series_id = ?1 AND run_id = ?2", (series, gone))?;
        }
        for p in points {
            tx.execute(
                "INSERT INTO change_points (series_id, run_id, before_v, after_v, change, p_value, regression) \
                 SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 WHERE EXISTS (SELECT 1 FROM runs WHERE id = ?2) \
                 ON CONFLICT (series_id, run_id) DO UPDATE SET before_v = excluded.before_v, \
                 after_v = excluded.after_v, change = excluded.change, p_value = excluded.p_value, \
                 regression = excluded.regression",
                (series, &p.run_id, p.before, p.after, p.change, p.p_value, p.regression),
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn change_points(&mut self, case: &CaseId, metric: &str) -> Result<Vec<StoredChangePoint>> {
        let params = rows::params_json(&case.params);
        let out = self
            .conn
            .prepare_cached(
                "SELECT c.run_id, c.before_v, c.after_v, c.change, c.p_value, c.regression, c.alerted \
                 FROM change_points c JOIN series s ON s.id = c.series_id JOIN runs r ON r.id = c.run_id \
                 WHERE s.case_name = ?1 AND s.case_params = ?2 AND s.metric = ?3 \
                 ORDER BY r.started_s, r.started_ns, r.id",
            )?
            .query_map((&case.name, &params, metric), |r| {
                Ok(StoredChangePoint {
                    run_id: r.get(0)?,
                    before: r.get(1)?,
                    after: r.get(2)?,
                    change: r.get(3)?,
                    p_value: r.get(4)?,
                    regression: r.get(5)?,
                    alerted: r.get(6)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(out)
    }

    fn mark_alerted(&mut self, case: &CaseId, metric: &str, run_id: &str) -> Result<bool> {
        let params = rows::params_json(&case.params);
        let tx = self.write_tx()?;
        let n = tx.execute(
            "UPDATE change_points SET alerted = 1 WHERE alerted = 0 AND run_id = ?4 AND series_id = \
             (SELECT id FROM series WHERE case_name = ?1 AND case_params = ?2 AND metric = ?3)",
            (&case.name, &params, metric, run_id),
        )?;
        tx.commit()?;
        Ok(n > 0)
    }

    fn prune(&mut self, policy: &PrunePolicy) -> Result<usize> {
        let tx = self.write_tx()?;
        let victims: Vec<String> = match policy {
            PrunePolicy::KeepLast(n) => {
                let keep = i64::try_from(*n).unwrap_or(i64::MAX);
                tx.prepare(
                    "SELECT id FROM (SELECT id, push_state FROM runs \
                     ORDER BY started_s DESC, started_ns DESC, id DESC LIMIT -1 OFFSET ?1) \
                     WHERE id NOT IN (SELECT run_id FROM baselines) \
                     AND push_state IS NOT 'unpushed'",
                )?
                .query_map([keep], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?
            }
            PrunePolicy::OlderThan(t) => {
                let (s, ns) = ts_split(*t);
                tx.prepare(
                    "SELECT id FROM runs WHERE (started_s < ?1 OR (started_s = ?1 AND \
                     started_ns < ?2)) AND id NOT IN (SELECT run_id FROM baselines) \
                     AND push_state IS NOT 'unpushed'",
                )?
                .query_map((s, ns), |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?
            }
        };
        for id in &victims {
            tx.prepare_cached("DELETE FROM summaries WHERE run_id = ?1")?.execute([id])?;
            tx.prepare_cached("DELETE FROM cases WHERE run_id = ?1")?.execute([id])?;
            tx.prepare_cached("DELETE FROM runs WHERE id = ?1")?.execute([id])?;
        }
        tx.commit()?;
        if !victims.is_empty() {
            self.compact()?;
        }
        Ok(victims.len())
    }

    fn create_token(&mut self, name: &str, scope: TokenScope, hash: &str) -> Result<TokenInfo> {
        crate::check_token(name, hash)?;
        let now = Timestamp::now();
        let (s, ns) = ts_split(now);
        let tx = self.write_tx()?;
        // A revoked token of the same name is replaced; an active one is kept.
        let n = tx.execute(
            "INSERT INTO tokens (name, hash, scope, created_s, created_ns) VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (name) DO UPDATE SET hash = excluded.hash, scope = excluded.scope, \
             created_s = excluded.created_s, created_ns = excluded.created_ns, revoked_s = NULL, \
             revoked_ns = NULL WHERE tokens.revoked_s IS NOT NULL",
            (name, hash, scope.as_str(), s, ns),
        )?;
        if n == 0 {
            return Err(StoreError::TokenExists(name.to_string()));
        }
        tx.commit()?;
        Ok(TokenInfo { name: name.to_string(), scope, created_at: now, revoked_at: None })
    }

    fn list_tokens(&mut self) -> Result<Vec<TokenInfo>> {
        let raw = self
            .conn
            .prepare_cached(
                "SELECT name, scope, created_s, created_ns, revoked_s, revoked_ns FROM tokens ORDER BY name",
            )?
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    (r.get(2)?, r.get(3)?),
                    (r.get(4)?, r.get(5)?),
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        raw.into_iter().map(|(n, s, c, r)| crate::token_info(n, &s, c, r)).collect()
    }

    fn active_tokens(&mut self) -> Result<Vec<TokenHash>> {
        let raw = self
            .conn
            .prepare_cached("SELECT name, scope, hash FROM tokens WHERE revoked_s IS NULL ORDER BY name")?
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        raw.into_iter().map(|(n, s, h)| crate::token_hash(n, &s, h)).collect()
    }

    fn revoke_token(&mut self, name: &str) -> Result<bool> {
        let (s, ns) = ts_split(Timestamp::now());
        let tx = self.write_tx()?;
        let n = tx.execute(
            "UPDATE tokens SET revoked_s = ?2, revoked_ns = ?3 WHERE name = ?1 AND revoked_s IS NULL",
            (name, s, ns),
        )?;
        tx.commit()?;
        Ok(n > 0)
    }

    fn set_push_state(&mut self, run_id: &str, state: Option<PushState>) -> Result<()> {
        let tx = self.write_tx()?;
        let n = tx.execute(
            "UPDATE runs SET push_state = ?2 WHERE id = ?1",
            (run_id, state.map(PushState::as_str)),
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(run_id.to_string()));
        }
        tx.commit()?;
        Ok(())
    }

    fn push_state(&mut self, run_id: &str) -> Result<Option<PushState>> {
        let raw: Option<Option<String>> = self
            .conn
            .prepare_cached("SELECT push_state FROM runs WHERE id = ?1")?
            .query_row([run_id], |r| r.get(0))
            .optional()?;
        let Some(raw) = raw else { return Err(StoreError::NotFound(run_id.to_string())) };
        crate::push_state_from(raw.as_deref())
    }

    fn unpushed_runs(&mut self) -> Result<Vec<String>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT id FROM runs WHERE push_state = 'unpushed' ORDER BY started_s, started_ns, id",
            )?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?)
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

/// Builds [`SeriesInfo`]s from `(name, params, metric, unit, better, points)` rows.
pub(crate) fn series_infos(
    raw: Vec<(String, String, String, String, String, i64)>,
) -> Result<Vec<SeriesInfo>> {
    raw.into_iter()
        .map(|(name, params, metric, unit, better, points)| {
            let better = match better.as_str() {
                "lower" => perfwatch_model::Better::Lower,
                "higher" => perfwatch_model::Better::Higher,
                other => return Err(StoreError::Corrupt(format!("unknown direction {other:?}"))),
            };
            Ok(SeriesInfo {
                case: CaseId { name, params: rows::params_from(&params)? },
                metric,
                unit,
                better,
                points: u64::try_from(points).unwrap_or(0),
            })
        })
        .collect()
}

//! The PostgreSQL backend: the blocking `postgres` client, no TLS, one connection per store.
//!
//! Writes batch rows with `UNNEST` over arrays, so a whole run costs four round trips
//! (run, series, cases, summaries) whatever its size. Migrations run under a
//! transaction-scoped advisory lock. Identifiers that are compared or ordered (`runs.id`,
//! case names, metrics, baseline names) use the `"C"` collation, so ordering and prefix
//! matching are bytewise — the same as on SQLite — whatever the database's locale.
//!
//! The text of every statement shared with SQLite is in [`crate::sql`], the row mapping in
//! [`crate::rows`].

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

use jiff::Timestamp;
use perfwatch_model::{
    BudgetResult, CaseId, CaseReport, ChangePoint, Profile, RunMeta, RunReport, RunStatus,
};
use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{Client, GenericClient, IsolationLevel, NoTls, Row, Statement, Transaction};

use crate::codec;
use crate::error::{Result, StoreError};
use crate::migrations::{self, CREATE_MIGRATIONS_TABLE, latest_version};
use crate::rows::{
    self, CaseRow, Columns, RunRow, SummaryRow, Value, change_point_values, run_row_values, ts_split,
};
use crate::sql::{self, Dialect, Param, Queries};
use crate::{
    Backend, BaselineInfo, HistoryPoint, PrunePolicy, PushState, RunFilter, SeriesInfo, Store, TokenHash,
    TokenInfo, TokenScope,
};

/// A store in a PostgreSQL database (optionally in one schema of it).
pub(crate) struct PgStore {
    client: Client,
    stmts: Statements,
}

/// The write statements, prepared once per connection.
struct Statements {
    insert_run: Statement,
    upsert_series: Statement,
    insert_cases: Statement,
    insert_summaries: Statement,
}

/// Double-quotes an identifier for SQL (doubling any `"` inside).
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Decodes `%XX` escapes and `+` of a URL query value.
fn percent_decode(s: &str) -> Result<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok());
                let Some(b) = hex else {
                    return Err(StoreError::Invalid(format!("bad %-escape in {s:?}")));
                };
                out.push(b);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| StoreError::Invalid(format!("{s:?} is not UTF-8")))
}

/// Splits our own `schema=NAME` parameter off a PostgreSQL URL (the driver rejects unknown
/// parameters), returning the URL to give the driver and the schema.
fn split_schema(url: &str) -> Result<(String, Option<String>)> {
    let Some((base, query)) = url.split_once('?') else { return Ok((url.to_string(), None)) };
    let mut schema = None;
    let mut rest = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("schema", value)) => {
                let value = percent_decode(value)?;
                if value.is_empty() {
                    return Err(StoreError::Invalid("empty schema= in the PostgreSQL URL".into()));
                }
                schema = Some(value);
            }
            _ => rest.push(pair),
        }
    }
    let url = if rest.is_empty() { base.to_string() } else { format!("{base}?{}", rest.join("&")) };
    Ok((url, schema))
}

/// A stable 64-bit key for the migration advisory lock of one schema (FNV-1a).
fn lock_key(schema: Option<&str>) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in b"perfwatch-migrations/".iter().chain(schema.unwrap_or("").as_bytes()) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h as i64
}

fn q() -> &'static Queries {
    sql::queries(Dialect::Postgres)
}

impl Columns for Row {
    fn col<T: Value>(&self, i: usize) -> Result<T> {
        Ok(self.try_get(i)?)
    }
}

/// Every row of a query, mapped by `f`.
fn all<T>(
    c: &mut impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
    f: impl FnMut(&Row) -> Result<T>,
) -> Result<Vec<T>> {
    c.query(sql, params)?.iter().map(f).collect()
}

/// The row of a query that returns at most one, mapped by `f`; `None` if there is none.
fn first<T>(
    c: &mut impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
    f: impl FnOnce(&Row) -> Result<T>,
) -> Result<Option<T>> {
    c.query_opt(sql, params)?.as_ref().map(f).transpose()
}

/// The parameters of a dynamically built query, as the driver takes them.
fn dyn_params(params: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    params
        .iter()
        .map(|p| -> &(dyn ToSql + Sync) {
            match p {
                Param::I64(v) => v,
                Param::I32(v) => v,
                Param::Text(v) => v,
            }
        })
        .collect()
}

impl PgStore {
    /// Connects, selects the schema if the URL names one, and migrates.
    pub(crate) fn open(url: &str) -> Result<Box<dyn Store>> {
        let (driver_url, schema) = split_schema(url)?;
        let mut config = postgres::Config::from_str(&driver_url).map_err(|e| {
            StoreError::Invalid(format!("bad PostgreSQL URL {}: {e}", crate::redact_url(url)))
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        if config.get_application_name().is_none() {
            config.application_name("perfwatch");
        }
        let mut client = config
            .connect(NoTls)
            .map_err(|source| StoreError::Connect { url: crate::redact_url(url), source })?;
        if let Some(schema) = &schema {
            client.batch_execute(&format!("SET search_path TO {}", quote_ident(schema)))?;
        }
        migrate(&mut client, schema.as_deref())?;
        let stmts = prepare(&mut client)?;
        Ok(Box::new(PgStore { client, stmts }))
    }

    /// Runs a write statement on one run: [`StoreError::NotFound`] if it changed nothing.
    fn write_run(&mut self, run_id: &str, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<()> {
        match self.client.execute(sql, params)? {
            0 => Err(StoreError::NotFound(run_id.to_string())),
            _ => Ok(()),
        }
    }

    fn run_row(&mut self, id: &str) -> Result<Option<RunRow>> {
        first(&mut self.client, &q().run_by_id, &[&id], rows::read_run)
    }

    /// The full id of a run given by id or unique prefix; [`StoreError::NotFound`] if none.
    fn existing_run_id(&mut self, id_or_prefix: &str) -> Result<String> {
        self.resolve_run_id(id_or_prefix)?.ok_or_else(|| StoreError::NotFound(id_or_prefix.to_string()))
    }
}

fn migrate(client: &mut Client, schema: Option<&str>) -> Result<()> {
    let mut tx = client.transaction()?;
    // Serializes concurrent first opens of the same schema; released at commit.
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&lock_key(schema)])?;
    if let Some(schema) = schema {
        tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {}", quote_ident(schema)))?;
    }
    tx.batch_execute(CREATE_MIGRATIONS_TABLE)?;
    let current: i64 = tx.query_one(&q().schema_version, &[])?.try_get(0)?;
    for m in migrations::pending(current)? {
        tx.batch_execute(m.postgres)?;
        tx.execute(&q().record_migration, &[&m.version, &m.name, &Timestamp::now().to_string()])?;
    }
    tx.commit()?;
    Ok(())
}

fn prepare(client: &mut Client) -> Result<Statements> {
    Ok(Statements {
        insert_run: client.prepare(&q().insert_run)?,
        // Rows go in sorted key order (the caller sorts), so two writers adding the same new
        // series lock them in the same order and cannot deadlock.
        upsert_series: client.prepare(
            "INSERT INTO series (case_name, case_params, metric, unit, better) \
             SELECT t.name, t.params, t.metric, t.unit, t.better \
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) \
                  WITH ORDINALITY AS t(name, params, metric, unit, better, i) \
             ORDER BY t.i \
             ON CONFLICT (case_name, case_params, metric) DO UPDATE \
             SET unit = EXCLUDED.unit, better = EXCLUDED.better \
             WHERE series.unit <> EXCLUDED.unit OR series.better <> EXCLUDED.better",
        )?,
        insert_cases: client.prepare(
            "INSERT INTO cases (run_id, ord, name, params, status, runs, caveats, failure, raw) \
             SELECT $1, t.* FROM UNNEST($2::int8[], $3::text[], $4::text[], $5::text[], \
             $6::int8[], $7::text[], $8::text[], $9::bytea[]) \
             AS t(ord, name, params, status, runs, caveats, failure, raw)",
        )?,
        insert_summaries: client.prepare(
            "INSERT INTO summaries (run_id, case_ord, metric, series_id, started_s, started_ns, \
             unit, better, n, median, ci_lo, ci_hi, mean, stddev, mad, min_v, max_v, p95, p99, \
             outliers, samples) \
             SELECT $1, t.case_ord, t.metric, s.id, $2, $3, t.unit, t.better, t.n, t.median, \
             t.ci_lo, t.ci_hi, t.mean, t.stddev, t.mad, t.min_v, t.max_v, t.p95, t.p99, \
             t.outliers, t.samples \
             FROM UNNEST($4::int8[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], \
             $10::int8[], $11::float8[], $12::float8[], $13::float8[], $14::float8[], \
             $15::float8[], $16::float8[], $17::float8[], $18::float8[], $19::float8[], \
             $20::float8[], $21::int8[], $22::bytea[]) \
             AS t(case_ord, name, params, metric, unit, better, n, median, ci_lo, ci_hi, mean, \
             stddev, mad, min_v, max_v, p95, p99, outliers, samples) \
             JOIN series s ON s.case_name = t.name AND s.case_params = t.params \
             AND s.metric = t.metric",
        )?,
    })
}

fn insert_run_row(tx: &mut Transaction<'_>, st: &Statements, row: &RunRow) -> Result<bool> {
    Ok(tx.execute(&st.insert_run, &run_row_values!(row))? == 1)
}

/// Writes cases (numbered from `first_ord`) with their summaries in three statements.
fn insert_cases(
    tx: &mut Transaction<'_>,
    st: &Statements,
    run_id: &str,
    started: (i64, i32),
    first_ord: i64,
    cases: &[CaseReport],
) -> Result<()> {
    if cases.is_empty() {
        return Ok(());
    }
    let case_rows: Vec<CaseRow> =
        cases.iter().enumerate().map(|(i, c)| CaseRow::from_report(first_ord + i as i64, c)).collect();
    upsert_series(tx, st, &case_rows, cases)?;
    insert_case_rows(tx, st, run_id, &case_rows)?;
    let mut sums: Vec<(&CaseRow, SummaryRow)> = Vec::new();
    for (row, case) in case_rows.iter().zip(cases) {
        for (metric, s) in &case.metrics {
            sums.push((row, SummaryRow::from_summary(row.ord, metric, s)));
        }
    }
    insert_summary_rows(tx, st, run_id, started, &sums)
}

/// Creates the series of the cases' metrics (or updates their units), deduplicated and
/// sorted (see `upsert_series`).
fn upsert_series(
    tx: &mut Transaction<'_>,
    st: &Statements,
    case_rows: &[CaseRow],
    cases: &[CaseReport],
) -> Result<()> {
    let mut series: BTreeMap<(&str, &str, &str), (&str, &'static str)> = BTreeMap::new();
    for (row, case) in case_rows.iter().zip(cases) {
        for (metric, s) in &case.metrics {
            series.insert(
                (row.name.as_str(), row.params.as_str(), metric.as_str()),
                (s.unit.as_str(), s.better.as_str()),
            );
        }
    }
    if series.is_empty() {
        return Ok(());
    }
    let (mut names, mut params, mut metrics, mut units, mut betters) =
        (vec![], vec![], vec![], vec![], vec![]);
    for ((n, p, m), (u, b)) in &series {
        names.push(*n);
        params.push(*p);
        metrics.push(*m);
        units.push(*u);
        betters.push(*b);
    }
    tx.execute(&st.upsert_series, &[&names, &params, &metrics, &units, &betters])?;
    Ok(())
}

fn insert_case_rows(
    tx: &mut Transaction<'_>,
    st: &Statements,
    run_id: &str,
    case_rows: &[CaseRow],
) -> Result<()> {
    let ords: Vec<i64> = case_rows.iter().map(|c| c.ord).collect();
    let names: Vec<&str> = case_rows.iter().map(|c| c.name.as_str()).collect();
    let params: Vec<&str> = case_rows.iter().map(|c| c.params.as_str()).collect();
    let statuses: Vec<&str> = case_rows.iter().map(|c| c.status.as_str()).collect();
    let runs: Vec<i64> = case_rows.iter().map(|c| c.runs).collect();
    let caveats: Vec<&str> = case_rows.iter().map(|c| c.caveats.as_str()).collect();
    let failures: Vec<Option<&str>> = case_rows.iter().map(|c| c.failure.as_deref()).collect();
    let raws: Vec<&[u8]> = case_rows.iter().map(|c| c.raw.as_slice()).collect();
    tx.execute(
        &st.insert_cases,
        &[&run_id, &ords, &names, &params, &statuses, &runs, &caveats, &failures, &raws],
    )?;
    Ok(())
}

/// Writes the summaries (with the case each belongs to), joined to their series.
fn insert_summary_rows(
    tx: &mut Transaction<'_>,
    st: &Statements,
    run_id: &str,
    started: (i64, i32),
    sums: &[(&CaseRow, SummaryRow)],
) -> Result<()> {
    if sums.is_empty() {
        return Ok(());
    }
    let col = |i: usize| -> Vec<f64> { sums.iter().map(|(_, s)| s.stats[i]).collect() };
    let stats: Vec<Vec<f64>> = (0..10).map(col).collect();
    let s_ord: Vec<i64> = sums.iter().map(|(_, s)| s.case_ord).collect();
    let s_name: Vec<&str> = sums.iter().map(|(c, _)| c.name.as_str()).collect();
    let s_params: Vec<&str> = sums.iter().map(|(c, _)| c.params.as_str()).collect();
    let s_metric: Vec<&str> = sums.iter().map(|(_, s)| s.metric.as_str()).collect();
    let s_unit: Vec<&str> = sums.iter().map(|(_, s)| s.unit.as_str()).collect();
    let s_better: Vec<&str> = sums.iter().map(|(_, s)| s.better.as_str()).collect();
    let s_n: Vec<i64> = sums.iter().map(|(_, s)| s.n).collect();
    let s_out: Vec<i64> = sums.iter().map(|(_, s)| s.outliers).collect();
    let s_samples: Vec<&[u8]> = sums.iter().map(|(_, s)| s.samples.as_slice()).collect();
    let n = tx.execute(
        &st.insert_summaries,
        &[
            &run_id, &started.0, &started.1, &s_ord, &s_name, &s_params, &s_metric, &s_unit, &s_better, &s_n,
            &stats[0], &stats[1], &stats[2], &stats[3], &stats[4], &stats[5], &stats[6], &stats[7],
            &stats[8], &stats[9], &s_out, &s_samples,
        ],
    )?;
    if n != sums.len() as u64 {
        return Err(StoreError::Corrupt(format!(
            "wrote {n} of {} summaries: a series row is missing",
            sums.len()
        )));
    }
    Ok(())
}

/// The id of the series `case` × `metric`, if it was ever written.
fn find_series(c: &mut impl GenericClient, case: &CaseId, metric: &str) -> Result<Option<i64>> {
    let params = rows::params_json(&case.params);
    first(c, &q().series_id, &[&case.name, &params, &metric], |r| r.col(0))
}

impl Store for PgStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    fn begin_run(&mut self, meta: &RunMeta) -> Result<()> {
        let mut tx = self.client.transaction()?;
        if !insert_run_row(&mut tx, &self.stmts, &RunRow::incomplete(meta))? {
            return Err(StoreError::AlreadyExists(meta.id.clone()));
        }
        tx.commit()?;
        Ok(())
    }

    fn add_case(&mut self, run_id: &str, case: &CaseReport) -> Result<()> {
        let mut tx = self.client.transaction()?;
        // Locks the run row: concurrent add_case calls on one run number their cases in turn.
        let started = first(
            &mut tx,
            "SELECT started_s, started_ns FROM runs WHERE id = $1 FOR NO KEY UPDATE",
            &[&run_id],
            |r| Ok((r.col(0)?, r.col(1)?)),
        )?;
        let Some(started) = started else { return Err(StoreError::NotFound(run_id.to_string())) };
        let ord: i64 = tx.query_one(&q().next_case_ord, &[&run_id])?.try_get(0)?;
        insert_cases(&mut tx, &self.stmts, run_id, started, ord, std::slice::from_ref(case))?;
        tx.commit()?;
        Ok(())
    }

    fn finish_run(&mut self, run_id: &str, status: RunStatus, ended_at: Timestamp) -> Result<()> {
        let (s, ns) = ts_split(ended_at);
        self.write_run(run_id, &q().finish_run, &[&run_id, &status.as_str(), &s, &ns])
    }

    fn renew_lease(&mut self, run_id: &str, until: Timestamp) -> Result<()> {
        self.write_run(run_id, &q().renew_lease, &[&run_id, &until.as_second()])
    }

    fn set_budgets(&mut self, run_id: &str, budgets: &[BudgetResult]) -> Result<()> {
        self.write_run(run_id, &q().set_budgets, &[&run_id, &rows::budgets_json(budgets)])
    }

    fn insert_run(&mut self, report: &RunReport) -> Result<bool> {
        let row = RunRow::from_report(report);
        let started = (row.started_s, row.started_ns);
        let mut tx = self.client.transaction()?;
        // Two ingesters racing on one id: the second waits for the first and then sees the
        // conflict, so exactly one of them writes.
        if !insert_run_row(&mut tx, &self.stmts, &row)? {
            return Ok(false);
        }
        insert_cases(&mut tx, &self.stmts, &row.id, started, 0, &report.benchmarks)?;
        tx.commit()?;
        Ok(true)
    }

    fn resolve_run_id(&mut self, id_or_prefix: &str) -> Result<Option<String>> {
        crate::check_prefix(id_or_prefix)?;
        if let Some(id) = first(&mut self.client, &q().run_id, &[&id_or_prefix], |r| r.col(0))? {
            return Ok(Some(id));
        }
        let ids = all(
            &mut self.client,
            "SELECT id FROM runs WHERE left(id, char_length($1::text)) = $1 ORDER BY id LIMIT 10",
            &[&id_or_prefix],
            |r| r.col(0),
        )?;
        crate::pick_unique(id_or_prefix, ids)
    }

    fn run(&mut self, id_or_prefix: &str) -> Result<Option<RunReport>> {
        let Some(id) = self.resolve_run_id(id_or_prefix)? else { return Ok(None) };
        // One snapshot for the run and its cases.
        let mut tx = self
            .client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()?;
        let Some(run) = first(&mut tx, &q().run_by_id, &[&id], rows::read_run)? else { return Ok(None) };
        let cases = all(&mut tx, &q().cases_of_run, &[&id], rows::read_case)?;
        let summaries = all(&mut tx, &q().summaries_of_run, &[&id], rows::read_summary)?;
        tx.commit()?;
        run.into_report(cases, summaries).map(Some)
    }

    fn list_runs(&mut self, filter: &RunFilter) -> Result<Vec<RunMeta>> {
        let (sql, params) = sql::list_runs(Dialect::Postgres, filter);
        all(&mut self.client, &sql, &dyn_params(&params), |r| rows::read_run(r)?.into_meta())
    }

    fn previous_run(&mut self, run_id: &str, same_host: bool) -> Result<Option<RunMeta>> {
        let id = self.existing_run_id(run_id)?;
        let Some(this) = self.run_row(&id)? else {
            return Err(StoreError::NotFound(run_id.to_string()));
        };
        let host = same_host.then_some(this.host_fingerprint.as_str());
        let (sql, params) =
            sql::previous_run(Dialect::Postgres, (this.started_s, this.started_ns), &id, host);
        first(&mut self.client, &sql, &dyn_params(&params), |r| rows::read_run(r)?.into_meta())
    }

    fn add_profile(&mut self, run_id: &str, case: &CaseId, profile: &Profile) -> Result<()> {
        let folded = codec::encode_profile(profile)?;
        let params = rows::params_json(&case.params);
        let values: [&(dyn ToSql + Sync); 5] =
            [&run_id, &case.name, &params, &profile.profiler.as_str(), &folded];
        self.write_run(run_id, &q().upsert_profile, &values).map_err(|e| match e {
            // The run was pruned between the statement's check and its write.
            StoreError::Postgres(pe) if pe.code() == Some(&SqlState::FOREIGN_KEY_VIOLATION) => {
                StoreError::NotFound(run_id.to_string())
            }
            e => e,
        })
    }

    fn profile(&mut self, run_id: &str, case: &CaseId) -> Result<Option<Profile>> {
        let params = rows::params_json(&case.params);
        first(&mut self.client, &q().profile, &[&run_id, &case.name, &params], rows::read_profile)
    }

    fn profiled_cases(&mut self, run_id: &str) -> Result<Vec<CaseId>> {
        all(&mut self.client, &q().profiled_cases, &[&run_id], rows::read_profiled_case)
    }

    fn set_baseline(&mut self, name: &str, run_id: &str) -> Result<BaselineInfo> {
        crate::check_baseline_name(name)?;
        let id = self.existing_run_id(run_id)?;
        let now = Timestamp::now();
        let (s, ns) = ts_split(now);
        self.client.execute(&q().set_baseline, &[&name, &id, &s, &ns]).map_err(|e| {
            if e.code() == Some(&SqlState::FOREIGN_KEY_VIOLATION) {
                // The run was pruned between resolving and writing.
                StoreError::NotFound(id.clone())
            } else {
                e.into()
            }
        })?;
        Ok(BaselineInfo { name: name.to_string(), run_id: id, set_at: now })
    }

    fn baseline(&mut self, name: &str) -> Result<Option<BaselineInfo>> {
        first(&mut self.client, &q().baseline, &[&name], rows::read_baseline)
    }

    fn list_baselines(&mut self) -> Result<Vec<BaselineInfo>> {
        all(&mut self.client, &q().baselines, &[], rows::read_baseline)
    }

    fn delete_baseline(&mut self, name: &str) -> Result<bool> {
        Ok(self.client.execute(&q().delete_baseline, &[&name])? > 0)
    }

    fn history(&mut self, case: &CaseId, metric: &str, last: Option<usize>) -> Result<Vec<HistoryPoint>> {
        let Some(series) = find_series(&mut self.client, case, metric)? else { return Ok(Vec::new()) };
        // Newest first with a limit (NULL = none), reversed below.
        let limit: Option<i64> = last.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
        let mut points = all(&mut self.client, &q().history, &[&series, &limit], rows::read_history_point)?;
        points.reverse();
        Ok(points)
    }

    fn list_series(&mut self) -> Result<Vec<SeriesInfo>> {
        all(
            &mut self.client,
            "SELECT s.case_name, s.case_params, s.metric, s.unit, s.better, COUNT(*)::BIGINT \
             FROM series s JOIN summaries x ON x.series_id = s.id \
             JOIN runs r ON r.id = x.run_id AND r.status <> 'incomplete' GROUP BY s.id \
             ORDER BY s.case_name, s.case_params, s.metric",
            &[],
            rows::read_series,
        )
    }

    fn replace_change_points(
        &mut self,
        case: &CaseId,
        metric: &str,
        analysed: usize,
        points: &[ChangePoint],
    ) -> Result<()> {
        let mut tx = self.client.transaction()?;
        let Some(series) = find_series(&mut tx, case, metric)? else { return Ok(()) };
        // Points that moved or vanished are dropped; the alerted flag of the rest survives.
        let keep: Vec<&str> = points.iter().map(|p| rows::change_point_key(p).0).collect();
        tx.execute(
            "DELETE FROM change_points WHERE series_id = $1 AND NOT (run_id = ANY($2))",
            &[&series, &keep],
        )?;
        for p in points {
            let (run_id, regression) = rows::change_point_key(p);
            tx.execute(&q().upsert_change_point, &change_point_values!(series, run_id, regression, p))?;
        }
        tx.execute(&q().mark_analysed, &[&series, &rows::count(analysed)])?;
        tx.commit()?;
        Ok(())
    }

    fn change_points(&mut self, case: &CaseId, metric: &str) -> Result<Option<Vec<ChangePoint>>> {
        let params = rows::params_json(&case.params);
        let analysis: Option<(i64, Option<i64>)> =
            first(&mut self.client, &q().series_analysis, &[&case.name, &params, &metric], |r| {
                Ok((r.col(0)?, r.col(1)?))
            })?;
        let Some((series, Some(_))) = analysis else { return Ok(None) };
        all(&mut self.client, &q().change_points, &[&series], rows::read_change_point).map(Some)
    }

    fn mark_alerted(&mut self, case: &CaseId, metric: &str, run_id: &str) -> Result<bool> {
        let params = rows::params_json(&case.params);
        Ok(self.client.execute(&q().mark_alerted, &[&case.name, &params, &metric, &run_id])? > 0)
    }

    fn prune(&mut self, policy: &PrunePolicy) -> Result<usize> {
        let mut tx = self.client.transaction()?;
        // FOR UPDATE locks the victims: a concurrent set_baseline on one of them waits and
        // then fails its foreign-key check instead of pointing at a deleted run.
        let (sql, params) = sql::prune_victims(Dialect::Postgres, policy, Timestamp::now().as_second());
        let victims: Vec<String> =
            all(&mut tx, &format!("{sql} FOR UPDATE"), &dyn_params(&params), |r| r.col(0))?;
        if !victims.is_empty() {
            tx.execute("DELETE FROM summaries WHERE run_id = ANY($1)", &[&victims])?;
            tx.execute("DELETE FROM cases WHERE run_id = ANY($1)", &[&victims])?;
            tx.execute("DELETE FROM profiles WHERE run_id = ANY($1)", &[&victims])?;
            tx.execute("DELETE FROM runs WHERE id = ANY($1)", &[&victims])?;
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
        if self.client.execute(&q().create_token, &[&name, &hash, &scope.as_str(), &s, &ns])? == 0 {
            return Err(StoreError::TokenExists(token.name));
        }
        Ok(token)
    }

    fn list_tokens(&mut self) -> Result<Vec<TokenInfo>> {
        all(&mut self.client, &q().tokens, &[], rows::read_token_info)
    }

    fn active_tokens(&mut self) -> Result<Vec<TokenHash>> {
        all(&mut self.client, &q().active_tokens, &[], rows::read_token_hash)
    }

    fn revoke_token(&mut self, name: &str) -> Result<bool> {
        let (s, ns) = ts_split(Timestamp::now());
        Ok(self.client.execute(&q().revoke_token, &[&name, &s, &ns])? > 0)
    }

    fn set_push_state(&mut self, run_id: &str, state: Option<PushState>) -> Result<()> {
        self.write_run(run_id, &q().set_push_state, &[&run_id, &state.map(PushState::as_str)])
    }

    fn push_state(&mut self, run_id: &str) -> Result<Option<PushState>> {
        first(&mut self.client, &q().push_state, &[&run_id], rows::read_push_state)?
            .ok_or_else(|| StoreError::NotFound(run_id.to_string()))
    }

    fn unpushed_runs(&mut self) -> Result<Vec<String>> {
        all(&mut self.client, &q().unpushed_runs, &[], |r| r.col(0))
    }

    fn compact(&mut self) -> Result<()> {
        self.client.batch_execute("VACUUM (ANALYZE) runs, cases, series, summaries, baselines, profiles")?;
        Ok(())
    }

    fn integrity_check(&mut self) -> Result<()> {
        let version: i64 = self.client.query_one(&q().schema_version, &[])?.try_get(0)?;
        if version != latest_version() {
            return Err(StoreError::Corrupt(format!(
                "schema version {version}, expected {}",
                latest_version()
            )));
        }
        let orphans: i64 = self
            .client
            .query_one(
                "SELECT COUNT(*)::BIGINT FROM baselines b \
                 WHERE NOT EXISTS (SELECT 1 FROM runs r WHERE r.id = b.run_id)",
                &[],
            )?
            .try_get(0)?;
        if orphans > 0 {
            return Err(StoreError::Corrupt(format!("{orphans} baselines point at missing runs")));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_parameter_is_split_off() {
        let (u, s) = split_schema("postgres://u@h/db?schema=pw%22x&connect_timeout=3").unwrap();
        assert_eq!(u, "postgres://u@h/db?connect_timeout=3");
        assert_eq!(s.as_deref(), Some("pw\"x"));
        let (u, s) = split_schema("postgres://u@h/db").unwrap();
        assert_eq!((u.as_str(), s), ("postgres://u@h/db", None));
        let (u, s) = split_schema("postgres://u@h/db?schema=a").unwrap();
        assert_eq!((u.as_str(), s.as_deref()), ("postgres://u@h/db", Some("a")));
        assert!(split_schema("postgres://u@h/db?schema=").is_err());
        assert!(split_schema("postgres://u@h/db?schema=%zz").is_err());
    }

    #[test]
    fn passwords_are_redacted() {
        use crate::redact_url as redact;
        assert_eq!(redact("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("postgres://h/db?x=a:b@c"), "postgres://h/db?x=a:b@c");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }
}

//! Backend-neutral rows: model types flattened into SQL-friendly primitives and back.
//!
//! Both backends store exactly these columns, so the conversions (and their checks) live once,
//! here; the backends only move the primitives in and out of their drivers. Reading goes
//! through [`Columns`], which each backend implements for its driver's row type; writing
//! goes through the row structs' fields (or `run_row_values!` / `change_point_values!`,
//! which list them in column order).

use std::collections::BTreeMap;

use jiff::Timestamp;
use perfwatch_model::{
    Better, BudgetResult, CaseId, CaseReport, CaseStatus, ChangePoint, GitInfo, HistoryPoint, HostInfo,
    Profile, Profiler, RunMeta, RunReport, RunStatus, ShiftKind, Summary,
};

use crate::codec;
use crate::error::{Result, StoreError};
use crate::{BaselineInfo, PushState, SeriesInfo, TokenHash, TokenInfo, TokenScope};

/// A primitive that both drivers can read out of a column (`i64`, `f64`, `String`, `bool`,
/// `Vec<u8>` and their `Option`s).
#[cfg(feature = "postgres")]
pub(crate) trait Value: rusqlite::types::FromSql + for<'a> postgres::types::FromSql<'a> {}

#[cfg(feature = "postgres")]
impl<T> Value for T where T: rusqlite::types::FromSql + for<'a> postgres::types::FromSql<'a> {}
/// Without the PostgreSQL backend, a column value is what SQLite can read.
#[cfg(not(feature = "postgres"))]
pub(crate) trait Value: rusqlite::types::FromSql {}
#[cfg(not(feature = "postgres"))]
impl<T> Value for T where T: rusqlite::types::FromSql {}

/// A result row of either driver, read by column index: what lets every `read_*` below
/// exist once.
pub(crate) trait Columns {
    /// Column `i`; the driver's own error for a type mismatch or a NULL read as non-`Option`.
    fn col<T: Value>(&self, i: usize) -> Result<T>;

    /// A floating-point column where NULL means NaN: SQLite stores NaN as NULL, and reading
    /// it the same way on PostgreSQL keeps the backends alike.
    fn real(&self, i: usize) -> Result<f64> {
        Ok(self.col::<Option<f64>>(i)?.unwrap_or(f64::NAN))
    }
}

/// A timestamp as `(seconds since the epoch, nanoseconds)`: exact, and ordered the same way
/// as the timestamp when compared as a pair.
pub(crate) fn ts_split(t: Timestamp) -> (i64, i32) {
    (t.as_second(), t.subsec_nanosecond())
}

/// The inverse of [`ts_split`].
fn ts_join(s: i64, ns: i32) -> Result<Timestamp> {
    Timestamp::new(s, ns).map_err(|e| StoreError::Corrupt(format!("timestamp ({s}, {ns}): {e}")))
}

/// The one of `values` stored as `s`. Being the inverse of their `as_str`, which is what the
/// backends write, a value reads back as exactly what was written; other text is
/// [`StoreError::Corrupt`].
fn from_text<T: Copy>(what: &str, s: &str, values: &[T], as_str: fn(T) -> &'static str) -> Result<T> {
    values
        .iter()
        .copied()
        .find(|v| as_str(*v) == s)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown {what} {s:?}")))
}

fn status_from(s: &str) -> Result<RunStatus> {
    let all = [RunStatus::Complete, RunStatus::Interrupted, RunStatus::Incomplete];
    from_text("run status", s, &all, RunStatus::as_str)
}

fn case_status_from(s: &str) -> Result<CaseStatus> {
    let all = [CaseStatus::Ok, CaseStatus::Failed, CaseStatus::Timeout];
    from_text("case status", s, &all, CaseStatus::as_str)
}

fn better_from(s: &str) -> Result<Better> {
    from_text("direction", s, &[Better::Lower, Better::Higher], Better::as_str)
}

fn scope_from(s: &str) -> Result<TokenScope> {
    from_text("token scope", s, &[TokenScope::Read, TokenScope::Write], TokenScope::as_str)
}

/// A run's push state from its column (NULL: never meant to be pushed).
fn push_state_from(s: Option<&str>) -> Result<Option<PushState>> {
    let states = [PushState::Unpushed, PushState::Pushed];
    s.map(|s| from_text("push state", s, &states, PushState::as_str)).transpose()
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    // Serializing model types (string maps, enums, floats) to a string cannot fail.
    serde_json::to_string(v).unwrap_or_default()
}

fn from_json<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

/// Canonical text of a parameter map (a `BTreeMap`, so keys are sorted): used as part of the
/// series key, so equal maps always give equal text.
pub(crate) fn params_json(params: &BTreeMap<String, String>) -> String {
    to_json(params)
}

/// JSON text of a report's budget results.
pub(crate) fn budgets_json(b: &[BudgetResult]) -> String {
    to_json(&b)
}

/// Reads budget results back.
fn budgets_from(s: &str) -> Result<Vec<BudgetResult>> {
    from_json("budgets", s)
}

/// Reads a case's parameters back.
fn params_from(s: &str) -> Result<BTreeMap<String, String>> {
    from_json("case parameters", s)
}

/// Converts a count to a BIGINT column.
fn i64_of(n: u32) -> i64 {
    i64::from(n)
}

/// Reads a count back, refusing values a `u32` cannot hold.
/// A count (of points) as a BIGINT column.
pub(crate) fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn usize_of(what: &str, n: i64) -> Result<usize> {
    usize::try_from(n).map_err(|_| StoreError::Corrupt(format!("{what} {n} is out of range")))
}

fn u32_of(what: &str, n: i64) -> Result<u32> {
    u32::try_from(n).map_err(|_| StoreError::Corrupt(format!("{what} = {n} is out of range")))
}

/// One row of `runs`.
#[derive(Debug, Clone)]
pub(crate) struct RunRow {
    pub id: String,
    pub started_s: i64,
    pub started_ns: i32,
    pub ended_s: Option<i64>,
    pub ended_ns: Option<i32>,
    pub status: String,
    pub git_commit: Option<String>,
    pub git_branch: Option<String>,
    pub git_dirty: Option<bool>,
    pub host_fingerprint: String,
    pub hostname: String,
    pub cpu: String,
    pub cores: i64,
    /// The `u64` bit pattern reinterpreted as `i64` (SQL has no unsigned 64-bit type).
    pub memory_bytes: i64,
    pub os: String,
    pub kernel: String,
    pub load: [f64; 3],
    pub labels: String,
    pub perfwatch_version: String,
    pub governor: Option<String>,
    pub gpu: Option<String>,
    pub suite_hash: String,
    /// JSON of the report's budget results (`[]` until known).
    pub budgets: String,
}

impl RunRow {
    pub(crate) fn from_meta(m: &RunMeta) -> RunRow {
        let (started_s, started_ns) = ts_split(m.started_at);
        let ended = m.ended_at.map(ts_split);
        RunRow {
            id: m.id.clone(),
            started_s,
            started_ns,
            ended_s: ended.map(|e| e.0),
            ended_ns: ended.map(|e| e.1),
            status: m.status.as_str().to_string(),
            git_commit: m.git.as_ref().map(|g| g.commit.clone()),
            git_branch: m.git.as_ref().and_then(|g| g.branch.clone()),
            git_dirty: m.git.as_ref().map(|g| g.dirty),
            host_fingerprint: m.host.fingerprint.clone(),
            hostname: m.host.hostname.clone(),
            cpu: m.host.cpu.clone(),
            cores: i64::from(m.host.cores),
            memory_bytes: m.host.memory_bytes as i64,
            os: m.host.os.clone(),
            kernel: m.host.kernel.clone(),
            load: m.host.load_avg,
            labels: to_json(&m.labels),
            perfwatch_version: m.perfwatch_version.clone(),
            governor: m.host.governor.clone(),
            gpu: m.host.gpu.clone(),
            suite_hash: m.suite_hash.clone(),
            budgets: "[]".to_string(),
        }
    }

    /// The row [`crate::Store::begin_run`] writes: `incomplete` and without an end time,
    /// whatever `m` says.
    pub(crate) fn incomplete(m: &RunMeta) -> RunRow {
        RunRow {
            status: RunStatus::Incomplete.as_str().into(),
            ended_s: None,
            ended_ns: None,
            ..RunRow::from_meta(m)
        }
    }

    /// The row of a whole report, its budget results included.
    pub(crate) fn from_report(r: &RunReport) -> RunRow {
        RunRow { budgets: budgets_json(&r.budgets), ..RunRow::from_meta(&r.run) }
    }

    /// The report made of this run row and its case and summary rows.
    pub(crate) fn into_report(self, cases: Vec<CaseRow>, summaries: Vec<SummaryRow>) -> Result<RunReport> {
        Ok(RunReport {
            schema_version: perfwatch_model::SCHEMA_VERSION,
            budgets: budgets_from(&self.budgets)?,
            benchmarks: assemble_cases(cases, summaries)?,
            run: self.into_meta()?,
        })
    }

    pub(crate) fn into_meta(self) -> Result<RunMeta> {
        let ended_at = match (self.ended_s, self.ended_ns) {
            (Some(s), Some(ns)) => Some(ts_join(s, ns)?),
            _ => None,
        };
        let git = self.git_commit.map(|commit| GitInfo {
            commit,
            branch: self.git_branch,
            dirty: self.git_dirty.unwrap_or(false),
        });
        Ok(RunMeta {
            started_at: ts_join(self.started_s, self.started_ns)?,
            ended_at,
            status: status_from(&self.status)?,
            git,
            host: HostInfo {
                fingerprint: self.host_fingerprint,
                hostname: self.hostname,
                cpu: self.cpu,
                cores: u32_of("cores", self.cores)?,
                memory_bytes: self.memory_bytes as u64,
                os: self.os,
                kernel: self.kernel,
                load_avg: self.load,
                governor: self.governor,
                gpu: self.gpu,
            },
            labels: from_json("labels", &self.labels)?,
            perfwatch_version: self.perfwatch_version,
            suite_hash: self.suite_hash,
            id: self.id,
        })
    }
}

/// One row of `cases` (without its summaries).
#[derive(Debug, Clone)]
pub(crate) struct CaseRow {
    pub ord: i64,
    pub name: String,
    pub params: String,
    pub status: String,
    pub runs: i64,
    pub caveats: String,
    pub failure: Option<String>,
    pub raw: Vec<u8>,
}

impl CaseRow {
    pub(crate) fn from_report(ord: i64, c: &CaseReport) -> CaseRow {
        CaseRow {
            ord,
            name: c.case.name.clone(),
            params: params_json(&c.case.params),
            status: c.status.as_str().to_string(),
            runs: i64_of(c.runs),
            caveats: to_json(&c.caveats),
            failure: c.failure.as_ref().map(to_json),
            raw: codec::encode_samples(&c.raw),
        }
    }

    pub(crate) fn into_report(self, metrics: BTreeMap<String, Summary>) -> Result<CaseReport> {
        Ok(CaseReport {
            case: CaseId { params: params_from(&self.params)?, name: self.name },
            status: case_status_from(&self.status)?,
            runs: u32_of("runs", self.runs)?,
            caveats: from_json("caveats", &self.caveats)?,
            metrics,
            failure: self.failure.as_deref().map(|f| from_json("failure", f)).transpose()?,
            raw: codec::decode_samples(&self.raw)?,
        })
    }
}

/// One row of `summaries`.
#[derive(Debug, Clone)]
pub(crate) struct SummaryRow {
    pub case_ord: i64,
    pub metric: String,
    pub unit: String,
    pub better: String,
    pub n: i64,
    /// `median, ci_lo, ci_hi, mean, stddev, mad, min, max, p95, p99`.
    pub stats: [f64; 10],
    pub outliers: i64,
    pub samples: Vec<u8>,
}

impl SummaryRow {
    pub(crate) fn from_summary(case_ord: i64, metric: &str, s: &Summary) -> SummaryRow {
        SummaryRow {
            case_ord,
            metric: metric.to_string(),
            unit: s.unit.clone(),
            better: s.better.as_str().to_string(),
            n: i64_of(s.n),
            stats: [s.median, s.ci95[0], s.ci95[1], s.mean, s.stddev, s.mad, s.min, s.max, s.p95, s.p99],
            outliers: i64_of(s.outliers),
            samples: codec::encode_f64s(&s.samples),
        }
    }

    pub(crate) fn into_summary(self) -> Result<(i64, String, Summary)> {
        let [median, lo, hi, mean, stddev, mad, min, max, p95, p99] = self.stats;
        let summary = Summary {
            unit: self.unit,
            better: better_from(&self.better)?,
            n: u32_of("n", self.n)?,
            median,
            ci95: [lo, hi],
            mean,
            stddev,
            mad,
            min,
            max,
            p95,
            p99,
            outliers: u32_of("outliers", self.outliers)?,
            samples: codec::decode_f64s(&self.samples)?,
        };
        Ok((self.case_ord, self.metric, summary))
    }
}

/// Groups summary rows (ordered by case) under their case rows, rebuilding the reports.
fn assemble_cases(cases: Vec<CaseRow>, summaries: Vec<SummaryRow>) -> Result<Vec<CaseReport>> {
    let mut by_case: BTreeMap<i64, BTreeMap<String, Summary>> = BTreeMap::new();
    for row in summaries {
        let (ord, metric, summary) = row.into_summary()?;
        by_case.entry(ord).or_default().insert(metric, summary);
    }
    cases
        .into_iter()
        .map(|c| {
            let metrics = by_case.remove(&c.ord).unwrap_or_default();
            c.into_report(metrics)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Column lists and the readers of their rows: each reader takes the columns in the order of
// the list or statement named in its docs.

/// The columns of `runs`, in the order [`read_run`] reads and `run_row_values!` binds them.
pub(crate) const RUN_COLUMNS: &str = "id, started_s, started_ns, ended_s, ended_ns, status, \
     git_commit, git_branch, git_dirty, host_fingerprint, hostname, cpu, cores, memory_bytes, \
     os, kernel, load1, load5, load15, labels, perfwatch_version, suite_hash, budgets, governor, gpu";

/// The fields of a [`RunRow`] in [`RUN_COLUMNS`] order, as an array of references that each
/// backend coerces to its driver's parameter type.
macro_rules! run_row_values {
    ($row:ident) => {
        [
            &$row.id,
            &$row.started_s,
            &$row.started_ns,
            &$row.ended_s,
            &$row.ended_ns,
            &$row.status,
            &$row.git_commit,
            &$row.git_branch,
            &$row.git_dirty,
            &$row.host_fingerprint,
            &$row.hostname,
            &$row.cpu,
            &$row.cores,
            &$row.memory_bytes,
            &$row.os,
            &$row.kernel,
            &$row.load[0],
            &$row.load[1],
            &$row.load[2],
            &$row.labels,
            &$row.perfwatch_version,
            &$row.suite_hash,
            &$row.budgets,
            &$row.governor,
            &$row.gpu,
        ]
    };
}
pub(crate) use run_row_values;

/// A row of [`RUN_COLUMNS`].
pub(crate) fn read_run(r: &impl Columns) -> Result<RunRow> {
    Ok(RunRow {
        id: r.col(0)?,
        started_s: r.col(1)?,
        started_ns: r.col(2)?,
        ended_s: r.col(3)?,
        ended_ns: r.col(4)?,
        status: r.col(5)?,
        git_commit: r.col(6)?,
        git_branch: r.col(7)?,
        git_dirty: r.col(8)?,
        host_fingerprint: r.col(9)?,
        hostname: r.col(10)?,
        cpu: r.col(11)?,
        cores: r.col(12)?,
        memory_bytes: r.col(13)?,
        os: r.col(14)?,
        kernel: r.col(15)?,
        load: [r.real(16)?, r.real(17)?, r.real(18)?],
        labels: r.col(19)?,
        perfwatch_version: r.col(20)?,
        suite_hash: r.col(21)?,
        budgets: r.col(22)?,
        governor: r.col(23)?,
        gpu: r.col(24)?,
    })
}

/// The columns of `cases` (but `run_id`), in the order [`read_case`] reads them.
pub(crate) const CASE_COLUMNS: &str = "ord, name, params, status, runs, caveats, failure, raw";

/// A row of [`CASE_COLUMNS`].
pub(crate) fn read_case(r: &impl Columns) -> Result<CaseRow> {
    Ok(CaseRow {
        ord: r.col(0)?,
        name: r.col(1)?,
        params: r.col(2)?,
        status: r.col(3)?,
        runs: r.col(4)?,
        caveats: r.col(5)?,
        failure: r.col(6)?,
        raw: r.col(7)?,
    })
}

/// The columns of `summaries` that make a [`Summary`], in the order [`read_summary`] reads
/// them.
pub(crate) const SUMMARY_COLUMNS: &str = "case_ord, metric, unit, better, n, median, ci_lo, \
     ci_hi, mean, stddev, mad, min_v, max_v, p95, p99, outliers, samples";

/// A row of [`SUMMARY_COLUMNS`].
pub(crate) fn read_summary(r: &impl Columns) -> Result<SummaryRow> {
    let mut stats = [0.0; 10];
    for (i, s) in stats.iter_mut().enumerate() {
        *s = r.real(5 + i)?;
    }
    Ok(SummaryRow {
        case_ord: r.col(0)?,
        metric: r.col(1)?,
        unit: r.col(2)?,
        better: r.col(3)?,
        n: r.col(4)?,
        stats,
        outliers: r.col(15)?,
        samples: r.col(16)?,
    })
}

/// A row of `name, run_id, set_s, set_ns` of `baselines`.
pub(crate) fn read_baseline(r: &impl Columns) -> Result<BaselineInfo> {
    Ok(BaselineInfo { name: r.col(0)?, run_id: r.col(1)?, set_at: ts_join(r.col(2)?, r.col(3)?)? })
}

/// A row of `run_id, started_s, started_ns, git_commit, median, ci_lo, ci_hi` (the `history`
/// statement).
pub(crate) fn read_history_point(r: &impl Columns) -> Result<HistoryPoint> {
    Ok(HistoryPoint {
        run_id: r.col(0)?,
        time: ts_join(r.col(1)?, r.col(2)?)?,
        commit: r.col(3)?,
        median: r.real(4)?,
        ci95: [r.real(5)?, r.real(6)?],
    })
}

/// A row of `case_name, case_params, metric, unit, better, points` (each backend's
/// `list_series` query).
pub(crate) fn read_series(r: &impl Columns) -> Result<SeriesInfo> {
    let params: String = r.col(1)?;
    let better: String = r.col(4)?;
    let points: i64 = r.col(5)?;
    Ok(SeriesInfo {
        case: CaseId { name: r.col(0)?, params: params_from(&params)? },
        metric: r.col(2)?,
        unit: r.col(3)?,
        better: better_from(&better)?,
        points: u64::try_from(points).unwrap_or(0),
    })
}

/// A row of `name, params` of `profiles`: the case a profile belongs to.
pub(crate) fn read_profiled_case(r: &impl Columns) -> Result<CaseId> {
    let params: String = r.col(1)?;
    Ok(CaseId { name: r.col(0)?, params: params_from(&params)? })
}

/// The fields of a [`ChangePoint`] as the `upsert_change_point` statement binds them after the
/// series id (`?1`), given its run id and whether it is a regression (the store keeps the
/// kind as a flag): the one place, with [`read_change_point`], that knows how a change point
/// is stored.
macro_rules! change_point_values {
    ($series:ident, $run_id:ident, $regression:ident, $p:ident) => {
        [&$series, &$run_id, &$p.before, &$p.after, &$p.change, &$p.p_value, &$regression]
    };
}
pub(crate) use change_point_values;

/// The run id and regression flag that [`change_point_values`] binds.
pub(crate) fn change_point_key(p: &ChangePoint) -> (&str, bool) {
    (p.run_id.as_deref().unwrap_or_default(), p.is_regression())
}

/// A row of `run_id, before_v, after_v, change, p_value, regression, alerted, index, commit,
/// started_s, started_ns` (the `change_points` query): a change point placed on the series'
/// current history.
pub(crate) fn read_change_point(r: &impl Columns) -> Result<ChangePoint> {
    let regression: bool = r.col(5)?;
    let alerted: bool = r.col(6)?;
    Ok(ChangePoint {
        index: usize_of("change point index", r.col(7)?)?,
        run_id: Some(r.col(0)?),
        commit: r.col(8)?,
        time: Some(ts_join(r.col(9)?, r.col(10)?)?),
        label: None,
        before: r.col(1)?,
        after: r.col(2)?,
        change: r.col(3)?,
        p_value: r.col(4)?,
        kind: if regression { ShiftKind::Regression } else { ShiftKind::Improvement },
        new: !alerted,
    })
}

/// A row of `name, scope, created_s, created_ns, revoked_s, revoked_ns` of `tokens`.
pub(crate) fn read_token_info(r: &impl Columns) -> Result<TokenInfo> {
    let scope: String = r.col(1)?;
    let revoked_at = match (r.col(4)?, r.col(5)?) {
        (Some(s), Some(ns)) => Some(ts_join(s, ns)?),
        _ => None,
    };
    Ok(TokenInfo {
        name: r.col(0)?,
        scope: scope_from(&scope)?,
        created_at: ts_join(r.col(2)?, r.col(3)?)?,
        revoked_at,
    })
}

/// A row of `name, scope, hash` of `tokens`.
pub(crate) fn read_token_hash(r: &impl Columns) -> Result<TokenHash> {
    let scope: String = r.col(1)?;
    Ok(TokenHash { name: r.col(0)?, scope: scope_from(&scope)?, hash: r.col(2)? })
}

/// A row of `push_state` of `runs`.
pub(crate) fn read_push_state(r: &impl Columns) -> Result<Option<PushState>> {
    push_state_from(r.col::<Option<String>>(0)?.as_deref())
}

/// A row of `profiler, folded` of `profiles`.
pub(crate) fn read_profile(r: &impl Columns) -> Result<Profile> {
    let name: String = r.col(0)?;
    let profiler =
        Profiler::parse(&name).ok_or_else(|| StoreError::Corrupt(format!("unknown profiler {name:?}")))?;
    codec::decode_profile(profiler, &r.col::<Vec<u8>>(1)?)
}

#[cfg(test)]
mod tests {
    use perfwatch_model::{BudgetStatus, CaseFailure, Caveat, ExitKind, Sample};
    use rusqlite::ToSql;
    use rusqlite::types::{ToSqlOutput, Value as Cell, ValueRef};

    use super::*;
    use crate::ErrorKind;

    /// A row as a driver would hand it over, built from SQLite values.
    struct Fake(Vec<Cell>);

    impl Columns for Fake {
        fn col<T: Value>(&self, i: usize) -> Result<T> {
            T::column_result(ValueRef::from(&self.0[i])).map_err(|e| StoreError::Corrupt(e.to_string()))
        }
    }

    /// The row the backends would write for `values` (bound in statement order).
    fn written(values: &[&dyn ToSql]) -> Fake {
        Fake(
            values
                .iter()
                .map(|v| match v.to_sql().expect("bindable") {
                    ToSqlOutput::Borrowed(r) => Cell::try_from(r).expect("valid UTF-8"),
                    ToSqlOutput::Owned(v) => v,
                    other => panic!("unexpected {other:?}"),
                })
                .collect(),
        )
    }

    fn text(s: &str) -> Cell {
        Cell::Text(s.into())
    }

    fn summary(median: f64) -> Summary {
        Summary {
            unit: "s".into(),
            better: Better::Higher,
            n: 3,
            median,
            ci95: [median - 0.5, median + 0.25],
            mean: median,
            stddev: 0.1 / 3.0,
            mad: 1e-300,
            min: -0.0,
            max: f64::INFINITY,
            p95: median * 1.1,
            p99: f64::MAX,
            outliers: u32::MAX,
            samples: vec![median, 0.1 + 0.2, f64::MIN_POSITIVE],
        }
    }

    fn report() -> RunReport {
        let case = CaseReport {
            case: CaseId {
                name: "sort \"quick\"".into(),
                params: [("n".to_string(), "1 000".to_string())].into(),
            },
            status: CaseStatus::Timeout,
            runs: 3,
            caveats: vec![Caveat::HighNoise { cv: 0.123456789 }],
            metrics: [("wall".to_string(), summary(1.5)), ("rss".to_string(), summary(9e9))].into(),
            failure: Some(CaseFailure {
                message: "timed out".into(),
                exit: ExitKind::TimedOut,
                stderr_tail: "…".into(),
            }),
            raw: vec![Sample {
                wall: 1.5,
                user: 1.0,
                sys: 0.5,
                max_rss: u64::MAX,
                exit: ExitKind::Signaled { signal: 9 },
                metrics: [("hits".to_string(), 0.5)].into(),
            }],
        };
        RunReport {
            schema_version: perfwatch_model::SCHEMA_VERSION,
            run: RunMeta {
                id: "0190b6a8-0000-7000-8000-000000000001".into(),
                started_at: "2025-01-02T03:04:05.123456789Z".parse().unwrap(),
                ended_at: Some("2025-01-02T03:05:00Z".parse().unwrap()),
                status: RunStatus::Interrupted,
                git: Some(GitInfo { commit: "c0ffee".into(), branch: None, dirty: true }),
                host: HostInfo {
                    fingerprint: "fp".into(),
                    hostname: "h".into(),
                    cpu: "c".into(),
                    cores: u32::MAX,
                    memory_bytes: u64::MAX,
                    os: "linux".into(),
                    kernel: "6".into(),
                    load_avg: [0.25, 0.1 + 0.2, 1e-300],
                    governor: None,
                    gpu: None,
                },
                labels: [("k=v".to_string(), "a,b".to_string())].into(),
                perfwatch_version: "0.1.0".into(),
                suite_hash: "sha256:ab".into(),
            },
            benchmarks: vec![case.clone(), CaseReport { metrics: BTreeMap::new(), ..case }],
            budgets: vec![BudgetResult {
                case: CaseId { name: "sort".into(), params: BTreeMap::new() },
                budget: "wall.p95 < 2s".into(),
                target: 2.0,
                measured: Some(1.65),
                achievement_pct: Some(82.5),
                status: BudgetStatus::Pass,
            }],
        }
    }

    fn case_cells(c: &CaseRow) -> Fake {
        written(&[&c.ord, &c.name, &c.params, &c.status, &c.runs, &c.caveats, &c.failure, &c.raw])
    }

    fn summary_cells(s: &SummaryRow) -> Fake {
        let mut values: Vec<&dyn ToSql> = vec![&s.case_ord, &s.metric, &s.unit, &s.better, &s.n];
        values.extend(s.stats.iter().map(|v| v as &dyn ToSql));
        values.extend([&s.outliers as &dyn ToSql, &s.samples]);
        written(&values)
    }

    #[test]
    fn a_report_round_trips_through_the_rows_and_their_readers() {
        let report = report();
        let run = RunRow::from_report(&report);
        let run_cells = written(&run_row_values!(run));
        assert_eq!(run_cells.0.len(), RUN_COLUMNS.split(',').count());
        let (mut cases, mut summaries) = (Vec::new(), Vec::new());
        for (ord, c) in report.benchmarks.iter().enumerate() {
            let row = CaseRow::from_report(ord as i64, c);
            cases.push(read_case(&case_cells(&row)).unwrap());
            for (metric, s) in &c.metrics {
                let row = SummaryRow::from_summary(ord as i64, metric, s);
                summaries.push(read_summary(&summary_cells(&row)).unwrap());
            }
        }
        assert_eq!(SUMMARY_COLUMNS.split(',').count(), summary_cells(&summaries[0]).0.len());
        let back = read_run(&run_cells).unwrap().into_report(cases, summaries).unwrap();
        assert_eq!(back, report);
    }

    #[test]
    fn begin_run_rows_are_incomplete_and_open() {
        let meta = report().run;
        let back = RunRow::incomplete(&meta).into_meta().unwrap();
        assert_eq!(back, RunMeta { status: RunStatus::Incomplete, ended_at: None, ..meta });
    }

    #[test]
    fn null_floats_read_as_nan() {
        let mut row = SummaryRow::from_summary(0, "wall", &summary(1.0));
        row.stats[0] = f64::NAN;
        let mut cells = summary_cells(&row);
        cells.0[5] = Cell::Null;
        let (_, _, s) = read_summary(&cells).unwrap().into_summary().unwrap();
        assert!(s.median.is_nan());
        let point = Fake(vec![
            text("r"),
            Cell::Integer(1),
            Cell::Integer(0),
            Cell::Null,
            Cell::Null,
            Cell::Real(2.0),
            Cell::Null,
        ]);
        let point = read_history_point(&point).unwrap();
        assert!(
            point.median.is_nan() && point.ci95[0] == 2.0 && point.ci95[1].is_nan() && point.commit.is_none()
        );
    }

    #[test]
    fn stored_text_reads_back_as_the_value_written() {
        for v in [RunStatus::Complete, RunStatus::Interrupted, RunStatus::Incomplete] {
            assert_eq!(status_from(v.as_str()).unwrap(), v);
        }
        for v in [CaseStatus::Ok, CaseStatus::Failed, CaseStatus::Timeout] {
            assert_eq!(case_status_from(v.as_str()).unwrap(), v);
        }
        for v in [Better::Lower, Better::Higher] {
            assert_eq!(better_from(v.as_str()).unwrap(), v);
        }
        for v in [TokenScope::Read, TokenScope::Write] {
            assert_eq!(scope_from(v.as_str()).unwrap(), v);
        }
        for v in [PushState::Unpushed, PushState::Pushed] {
            assert_eq!(push_state_from(Some(v.as_str())).unwrap(), Some(v));
        }
        assert_eq!(push_state_from(None).unwrap(), None);
    }

    #[test]
    fn the_other_readers_map_their_columns() {
        let t: Timestamp = "2025-01-02T03:04:05.5Z".parse().unwrap();
        let (s, ns) = ts_split(t);
        let (s, ns) = (Cell::Integer(s), Cell::Integer(ns.into()));
        let b = read_baseline(&Fake(vec![text("main"), text("r1"), s.clone(), ns.clone()])).unwrap();
        assert_eq!(b, BaselineInfo { name: "main".into(), run_id: "r1".into(), set_at: t });
        let cells = [text("ci"), text("write"), s.clone(), ns.clone(), Cell::Null, Cell::Null];
        let info = read_token_info(&Fake(cells.to_vec())).unwrap();
        assert_eq!((info.scope, info.created_at, info.revoked_at), (TokenScope::Write, t, None));
        let cells = [text("ci"), text("read"), s.clone(), ns.clone(), s, ns];
        assert_eq!(read_token_info(&Fake(cells.to_vec())).unwrap().revoked_at, Some(t));
        let hash = read_token_hash(&Fake(vec![text("ci"), text("read"), text("ab")])).unwrap();
        assert_eq!(hash, TokenHash { name: "ci".into(), scope: TokenScope::Read, hash: "ab".into() });
        let cells =
            [text("sort"), text(r#"{"n":"1"}"#), text("wall"), text("s"), text("lower"), Cell::Integer(7)];
        let series = read_series(&Fake(cells.to_vec())).unwrap();
        assert_eq!(series.case, CaseId::new("sort", [("n", "1")]));
        assert_eq!((series.better, series.points), (Better::Lower, 7));
        assert_eq!(read_push_state(&Fake(vec![Cell::Null])).unwrap(), None);
        let p = Profile { profiler: Profiler::PySpy, stacks: [("main;f".to_string(), 3)].into() };
        let folded = Cell::Blob(codec::encode_profile(&p).unwrap());
        assert_eq!(read_profile(&Fake(vec![text("py-spy"), folded])).unwrap(), p);
    }

    #[test]
    fn change_points_round_trip() {
        let t = Timestamp::from_second(1_790_000_000).unwrap();
        let p = ChangePoint {
            run_id: Some("r1".into()),
            commit: Some("abc".into()),
            time: Some(t),
            ..ChangePoint::at(4, 1.0, 1.25, 0.25, 1e-9, Better::Lower)
        };
        let series = 3_i64;
        let (run_id, regression) = change_point_key(&p);
        let mut cells = written(&change_point_values!(series, run_id, regression, p));
        assert_eq!(cells.0.remove(0), Cell::Integer(3));
        // What the query adds: alerted, the index on the history, the run's commit and time.
        let (s, ns) = ts_split(t);
        cells.0.extend([
            Cell::Integer(0),
            Cell::Integer(4),
            text("abc"),
            Cell::Integer(s),
            Cell::Integer(ns.into()),
        ]);
        assert_eq!(read_change_point(&cells).unwrap(), p);
        cells.0[6] = Cell::Integer(1);
        assert!(!read_change_point(&cells).unwrap().new, "an alerted point is not new");
    }

    fn corrupt<T: std::fmt::Debug>(what: &str, r: Result<T>) {
        match r {
            Err(e) => assert_eq!(e.kind(), ErrorKind::Corrupt, "{what}: {e}"),
            Ok(v) => panic!("{what}: read {v:?}"),
        }
    }

    #[test]
    fn corrupt_values_are_corrupt_errors() {
        let run = RunRow::from_report(&report());
        corrupt("status", RunRow { status: "done".into(), ..run.clone() }.into_meta());
        corrupt("cores", RunRow { cores: -1, ..run.clone() }.into_meta());
        corrupt("labels", RunRow { labels: "{".into(), ..run.clone() }.into_meta());
        corrupt("nanoseconds", RunRow { started_ns: 1_000_000_000, ..run.clone() }.into_meta());
        corrupt("budgets", RunRow { budgets: "[{}]".into(), ..run }.into_report(vec![], vec![]));
        let case = CaseRow::from_report(0, &report().benchmarks[0]);
        corrupt("case status", CaseRow { status: "meh".into(), ..case.clone() }.into_report(BTreeMap::new()));
        corrupt("raw", CaseRow { raw: vec![1, 9], ..case.clone() }.into_report(BTreeMap::new()));
        corrupt("runs", CaseRow { runs: i64::MAX, ..case }.into_report(BTreeMap::new()));
        let s = SummaryRow::from_summary(0, "wall", &summary(1.0));
        corrupt("better", SummaryRow { better: "sideways".into(), ..s.clone() }.into_summary());
        corrupt("samples", SummaryRow { samples: vec![0; 7], ..s.clone() }.into_summary());
        corrupt("outliers", SummaryRow { outliers: -3, ..s }.into_summary());
        corrupt("scope", read_token_hash(&Fake(vec![text("ci"), text("admin"), text("ab")])));
        corrupt("push state", read_push_state(&Fake(vec![text("maybe")])));
        let cells = [text("sort"), text("[1]"), text("wall"), text("s"), text("lower"), Cell::Integer(7)];
        corrupt("series params", read_series(&Fake(cells.to_vec())));
        let p = Profile { profiler: Profiler::Perf, stacks: [("main".to_string(), 1)].into() };
        let folded = Cell::Blob(codec::encode_profile(&p).unwrap());
        corrupt("profiler", read_profile(&Fake(vec![text("gprof"), folded])));
        corrupt("folded", read_profile(&Fake(vec![text("perf"), Cell::Blob(vec![1, 2, 3])])));
    }
}

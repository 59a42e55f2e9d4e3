//! Backend-neutral rows: model types flattened into SQL-friendly primitives and back.
//!
//! Both backends store exactly these columns, so the conversions (and their checks) live once,
//! here; the backends only move the primitives in and out of their drivers.

use std::collections::BTreeMap;

use jiff::Timestamp;
use perfwatch_model::{
    Better, BudgetResult, CaseId, CaseReport, CaseStatus, GitInfo, HostInfo, RunMeta, RunStatus, Summary,
};

use crate::codec;
use crate::error::{Result, StoreError};

/// A timestamp as `(seconds since the epoch, nanoseconds)`: exact, and ordered the same way
/// as the timestamp when compared as a pair.
pub(crate) fn ts_split(t: Timestamp) -> (i64, i32) {
    (t.as_second(), t.subsec_nanosecond())
}

/// The inverse of [`ts_split`].
pub(crate) fn ts_join(s: i64, ns: i32) -> Result<Timestamp> {
    Timestamp::new(s, ns).map_err(|e| StoreError::Corrupt(format!("timestamp ({s}, {ns}): {e}")))
}

pub(crate) fn status_from(s: &str) -> Result<RunStatus> {
    match s {
        "complete" => Ok(RunStatus::Complete),
        "interrupted" => Ok(RunStatus::Interrupted),
        "incomplete" => Ok(RunStatus::Incomplete),
        other => Err(StoreError::Corrupt(format!("unknown run status {other:?}"))),
    }
}

fn case_status_from(s: &str) -> Result<CaseStatus> {
    match s {
        "ok" => Ok(CaseStatus::Ok),
        "failed" => Ok(CaseStatus::Failed),
        "timeout" => Ok(CaseStatus::Timeout),
        other => Err(StoreError::Corrupt(format!("unknown case status {other:?}"))),
    }
}

fn better_from(s: &str) -> Result<Better> {
    match s {
        "lower" => Ok(Better::Lower),
        "higher" => Ok(Better::Higher),
        other => Err(StoreError::Corrupt(format!("unknown direction {other:?}"))),
    }
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
pub(crate) fn budgets_from(s: &str) -> Result<Vec<BudgetResult>> {
    from_json("budgets", s)
}

pub(crate) fn params_from(s: &str) -> Result<BTreeMap<String, String>> {
    from_json("case parameters", s)
}

/// Converts a count to a BIGINT column.
pub(crate) fn i64_of(n: u32) -> i64 {
    i64::from(n)
}

/// Reads a count back, refusing values a `u32` cannot hold.
pub(crate) fn u32_of(what: &str, n: i64) -> Result<u32> {
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
            suite_hash: m.suite_hash.clone(),
            budgets: "[]".to_string(),
        }
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
pub(crate) fn assemble_cases(cases: Vec<CaseRow>, summaries: Vec<SummaryRow>) -> Result<Vec<CaseReport>> {
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

/// The run columns in the order every `SELECT` of a run uses (both backends).
pub(crate) const RUN_COLUMNS: &str = "id, started_s, started_ns, ended_s, ended_ns, status, \
     git_commit, git_branch, git_dirty, host_fingerprint, hostname, cpu, cores, memory_bytes, \
     os, kernel, load1, load5, load15, labels, perfwatch_version, suite_hash, budgets";

/// The summary columns in the order every `SELECT` of summaries uses (both backends).
pub(crate) const SUMMARY_COLUMNS: &str = "case_ord, metric, unit, better, n, median, ci_lo, \
     ci_hi, mean, stddev, mad, min_v, max_v, p95, p99, outliers, samples";

/// The case columns in the order every `SELECT` of cases uses (both backends).
pub(crate) const CASE_COLUMNS: &str = "ord, name, params, status, runs, caveats, failure, raw";

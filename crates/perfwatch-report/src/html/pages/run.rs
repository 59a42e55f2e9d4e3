//! The run page (`templates/run.html`): one run's metadata, cases and budgets.

use std::collections::BTreeMap;

use askama::Template;
use perfwatch_model::metric::BUILTIN_ORDER;
use perfwatch_model::{BudgetResult, CaseFailure, CaseId, CaseReport, HostInfo, RunReport, Summary};

use super::{APP_JS, Frame, LinkOr, fmt_time, render, short_commit};
use crate::html::case_href;
use crate::units::{human, trim};

#[derive(Template)]
#[template(path = "run.html")]
struct RunPage<'a> {
    frame: Frame<'a>,
    id: &'a str,
    started: String,
    /// End time, or a dash while the run is unfinished.
    ended: String,
    status: &'static str,
    git: Option<GitView<'a>>,
    host: &'a HostInfo,
    memory: String,
    /// The three load averages.
    load: String,
    labels: &'a BTreeMap<String, String>,
    version: &'a str,
    suite_hash: &'a str,
    cases: Vec<CaseRows<'a>>,
    /// Per-operation figures (`op.<name>.<stat>` metrics) of every case, grouped.
    operations: Vec<OperationRow>,
    budgets: Vec<BudgetRow<'a>>,
}

/// The statistics an in-program client reports per operation, as `op.<name>.<stat>`
/// (perfwatch-tracing and the Python client), in column order.
const OPERATION_STATS: [&str; 8] =
    ["count", "p50", "p95", "p99", "mean", "slow_count", "allocs_per_call", "bytes_per_call"];

/// One operation of one case: the median over the runs of each reported statistic (a dash
/// where the client does not report it).
struct OperationRow {
    case: String,
    name: String,
    cells: Vec<String>,
}

/// The operation and statistic of an `op.<name>.<stat>` metric.
fn operation_of(metric: &str) -> Option<(&str, &str)> {
    let (name, stat) = metric.strip_prefix("op.")?.rsplit_once('.')?;
    (!name.is_empty() && OPERATION_STATS.contains(&stat)).then_some((name, stat))
}

/// The operations of `c`, by name.
fn operation_rows(c: &CaseReport) -> Vec<OperationRow> {
    let mut by_name: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (metric, s) in &c.metrics {
        if let Some((name, stat)) = operation_of(metric) {
            let cells = by_name.entry(name).or_insert_with(|| vec!["—".to_string(); OPERATION_STATS.len()]);
            if let Some(i) = OPERATION_STATS.iter().position(|x| *x == stat) {
                // A count reads better bare ("3", not "3 count").
                cells[i] = if s.unit == "count" { trim(s.median) } else { human(s.median, &s.unit) };
            }
        }
    }
    by_name
        .into_iter()
        .map(|(name, cells)| OperationRow { case: c.case.to_string(), name: name.to_string(), cells })
        .collect()
}

struct GitView<'a> {
    commit: &'a str,
    dirty: bool,
    /// The branch, or a note that `HEAD` was detached.
    branch: &'a str,
}

/// A case's group of rows: one per metric, the case's own cells spanning them.
struct CaseRows<'a> {
    title: LinkOr,
    status: &'static str,
    runs: u32,
    /// Rows the case's cells span (at least 1, for a case without metrics).
    span: usize,
    /// Built-in metrics in their usual order (wall first), then custom ones by name.
    metrics: Vec<MetricRow<'a>>,
    /// Whether the notes cell has anything: caveats or a failure.
    has_notes: bool,
    caveats: Vec<String>,
    failure: Option<&'a CaseFailure>,
    /// The failure's stderr tail, when not empty.
    stderr_tail: Option<&'a str>,
}

struct MetricRow<'a> {
    metric: &'a str,
    median: String,
    ci_low: String,
    ci_high: String,
    p95: String,
}

struct BudgetRow<'a> {
    case: String,
    budget: &'a str,
    /// The measured value, or a dash when missing.
    measured: String,
    status: String,
}

impl<'a> CaseRows<'a> {
    fn new(c: &'a CaseReport, case_has_page: impl Fn(&CaseId) -> bool) -> Self {
        let id = c.case.clone();
        let has_page = case_has_page(&id);
        // Per-operation metrics have a table of their own.
        let mut metrics: Vec<(&String, &Summary)> =
            c.metrics.iter().filter(|(m, _)| operation_of(m).is_none()).collect();
        metrics.sort_by_key(|(m, _)| {
            (BUILTIN_ORDER.iter().position(|b| b == m).unwrap_or(BUILTIN_ORDER.len()), m.as_str())
        });
        let failure = c.failure.as_ref();
        CaseRows {
            title: LinkOr { href: has_page.then(|| case_href(&id)), label: id.to_string() },
            status: c.status.as_str(),
            runs: c.runs,
            span: metrics.len().max(1),
            metrics: metrics
                .into_iter()
                .map(|(metric, s)| MetricRow {
                    metric,
                    median: human(s.median, &s.unit),
                    ci_low: human(s.ci95[0], &s.unit),
                    ci_high: human(s.ci95[1], &s.unit),
                    p95: human(s.p95, &s.unit),
                })
                .collect(),
            has_notes: !c.caveats.is_empty() || failure.is_some(),
            caveats: c.caveats.iter().map(ToString::to_string).collect(),
            failure,
            stderr_tail: failure.map(|f| f.stderr_tail.as_str()).filter(|t| !t.is_empty()),
        }
    }
}

impl<'a> BudgetRow<'a> {
    fn new(b: &'a BudgetResult) -> Self {
        BudgetRow {
            case: b.case.to_string(),
            budget: &b.budget,
            measured: b.measured.map_or("—".into(), trim),
            status: format!("{:?}", b.status).to_lowercase(),
        }
    }
}

/// A run page: metadata (host, git, labels), every case with every metric's median and CI,
/// caveats, failures and budgets. `case_has_page` says which cases get a link.
pub fn run_page(r: &RunReport, case_has_page: impl Fn(&CaseId) -> bool) -> String {
    let m = &r.run;
    let h = &m.host;
    let title = format!("Run {}", short_commit(&m.id));
    let page = RunPage {
        frame: Frame::new(&title, "run", APP_JS),
        id: &m.id,
        started: fmt_time(&m.started_at),
        ended: m.ended_at.as_ref().map_or("—".into(), fmt_time),
        status: m.status.as_str(),
        git: m.git.as_ref().map(|g| GitView {
            commit: &g.commit,
            dirty: g.dirty,
            branch: g.branch.as_deref().unwrap_or("(detached)"),
        }),
        host: h,
        memory: human(h.memory_bytes as f64, "bytes"),
        load: format!("{:.2} {:.2} {:.2}", h.load_avg[0], h.load_avg[1], h.load_avg[2]),
        labels: &m.labels,
        version: &m.perfwatch_version,
        suite_hash: &m.suite_hash,
        cases: r.benchmarks.iter().map(|c| CaseRows::new(c, &case_has_page)).collect(),
        operations: r.benchmarks.iter().flat_map(operation_rows).collect(),
        budgets: r.budgets.iter().map(BudgetRow::new).collect(),
    };
    render(&page, 4096 + r.benchmarks.len() * 600)
}

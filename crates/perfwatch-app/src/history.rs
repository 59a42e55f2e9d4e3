//! Histories and their change points: `perfwatch history`, `perfwatch detect` (find, store,
//! alert once), `detect --csv`, and the change points the dashboard marks — the same stored
//! answer everywhere.

use std::collections::HashMap;
use std::path::Path;

use perfwatch_detect::changepoint::{self, Options};
use perfwatch_model::metric::{SYS, USER};
use perfwatch_model::{
    Better, CaseId, ChangePoint, DetectedSeries, DetectionReport, HistoryPoint, HistoryReport, HistorySeries,
    SCHEMA_VERSION,
};
use perfwatch_store::{SeriesInfo, Store};

use crate::error::{AppError, Result, StoreContext};
use crate::{Outcome, project::resolve_run};

use perfwatch_report::pictures::SPARK_POINTS;

/// A case matches its full name (`sort[n=10]`) or its bench name (`sort`, all parameters).
pub fn case_matches(case: &CaseId, pattern: &str) -> bool {
    case.name == pattern || case.to_string() == pattern
}

/// The medians of `metric` for the cases matching `case` (every case when `None`), oldest
/// first, the newest `last` points when given.
pub fn history(
    store: &mut dyn Store,
    case: Option<&str>,
    metric: &str,
    last: Option<usize>,
) -> Result<HistoryReport> {
    let known = store.list_series().store_context(|| "listing the stored series".into())?;
    let wanted: Vec<&SeriesInfo> = known
        .iter()
        .filter(|s| s.metric == metric && case.is_none_or(|p| case_matches(&s.case, p)))
        .collect();
    if wanted.is_empty() {
        let names: std::collections::BTreeSet<String> = known.iter().map(|s| s.case.to_string()).collect();
        let names = if names.is_empty() {
            "none yet".to_string()
        } else {
            names.into_iter().collect::<Vec<_>>().join(", ")
        };
        return Err(AppError::usage(format!(
            "no history for {} metric {metric} (known cases: {names})",
            case.unwrap_or("any case")
        )));
    }
    let mut series = Vec::with_capacity(wanted.len());
    for info in wanted {
        let points =
            store.history(&info.case, metric, last).store_context(|| format!("reading {}", info.case))?;
        series.push(HistorySeries {
            case: info.case.clone(),
            metric: metric.to_string(),
            unit: info.unit.clone(),
            points,
        });
    }
    Ok(HistoryReport { schema_version: SCHEMA_VERSION, series })
}

/// What `perfwatch detect` analyses, and when it alerts.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectRequest {
    /// Case patterns (full or bench names); empty: every case.
    pub cases: Vec<String>,
    /// Metrics; empty: every metric but `user` and `sys` (their sum `cpu` is analysed).
    pub metrics: Vec<String>,
    /// Only report change points at or after this run (id prefix) or date.
    pub since: Option<String>,
    /// A regression within the newest `recent` points that was never alerted raises an alert
    /// (and is then marked alerted).
    pub recent: usize,
    /// Raise alerts at all (`--fail-on never` does not).
    pub alert: bool,
    /// Detector settings.
    pub options: Options,
}

/// Analyses every selected stored series, stores the change points where they changed, and
/// alerts once per new recent regression ([`Outcome::gate_failed`]).
pub fn detect_stored(store: &mut dyn Store, req: &DetectRequest) -> Result<(DetectionReport, Outcome)> {
    let since = req.since.as_deref().map(|s| since_time(store, s)).transpose()?;
    let all = store.list_series().store_context(|| "listing the stored series".into())?;
    let wanted_metric = |m: &str| {
        if req.metrics.is_empty() { m != USER && m != SYS } else { req.metrics.iter().any(|w| w == m) }
    };
    let selected: Vec<&SeriesInfo> = all
        .iter()
        .filter(|s| {
            wanted_metric(&s.metric)
                && (req.cases.is_empty() || req.cases.iter().any(|p| case_matches(&s.case, p)))
        })
        .collect();
    if selected.is_empty() {
        return Err(AppError::usage(
            "no history matches (run `perfwatch run` first, or check the case and metric names)",
        ));
    }
    let mut series = Vec::with_capacity(selected.len());
    let mut alerted = false;
    // Histories are read in batches (the store is one connection) and analysed on every core;
    // memory stays bounded by the batch, not the whole store.
    let batch = 8 * std::thread::available_parallelism().map_or(1, |n| n.get());
    for chunk in selected.chunks(batch) {
        let medians = chunk
            .iter()
            .map(|info| store.history_medians(&info.case, &info.metric))
            .collect::<std::result::Result<Vec<_>, _>>()
            .store_context(|| "reading histories".into())?;
        let found = detect_all(&medians, chunk, &req.options);
        for ((info, analysed), found) in chunk.iter().zip(&medians).zip(found) {
            let (s, alert) = settle_series(store, info, analysed, found, req, since)?;
            alerted |= alert;
            series.push(s);
        }
    }
    let outcome = Outcome { gate_failed: alerted, ..Outcome::default() };
    Ok((DetectionReport { schema_version: SCHEMA_VERSION, series }, outcome))
}

/// Places one series' fresh change points on their runs, stores them when they changed, and
/// raises the alerts that are due; `true` when one was raised.
fn settle_series(
    store: &mut dyn Store,
    info: &SeriesInfo,
    medians: &[f64],
    mut found: Vec<ChangePoint>,
    req: &DetectRequest,
    since: Option<jiff::Timestamp>,
) -> Result<(DetectedSeries, bool)> {
    let context = || format!("storing the change points of {} {}", info.case, info.metric);
    // Run ids, commits and times are needed only where something was found (and to clear
    // points stored earlier); the lean median read served the detector.
    let points = if found.is_empty() {
        Vec::new()
    } else {
        store.history(&info.case, &info.metric, None).store_context(context)?
    };
    let analysed = medians.len();
    if !found.is_empty() && points.len() != analysed {
        // A run landed or was pruned in between: analyse what is there now.
        let values: Vec<f64> = points.iter().map(|p| p.median).collect();
        found = changepoint::detect(&values, info.better, &req.options);
    }
    let n_points = if points.is_empty() { analysed } else { points.len() };
    place(&mut found, &points);
    // Rewrite the stored points only when the answer changed (or the series was never
    // analysed): on a scheduled job most series did not move, and this keeps a re-run of
    // `detect` read-only.
    let mut stored = store.change_points(&info.case, &info.metric).store_context(context)?;
    if stored.as_deref().is_none_or(|s| !same_points(s, &found)) {
        store.replace_change_points(&info.case, &info.metric, n_points, &found).store_context(context)?;
        stored = store.change_points(&info.case, &info.metric).store_context(context)?;
    }
    let was_alerted: HashMap<String, bool> =
        stored.unwrap_or_default().into_iter().filter_map(|c| Some((c.run_id?, !c.new))).collect();
    let mut alert = false;
    found.retain(|cp| since.is_none_or(|t| cp.time.is_some_and(|time| time >= t)));
    for cp in &mut found {
        let run_id = cp.run_id.clone().unwrap_or_default();
        cp.new = !was_alerted.get(&run_id).copied().unwrap_or(false);
        if req.alert && cp.is_regression() && cp.new && cp.index + req.recent >= n_points {
            alert = true;
            store.mark_alerted(&info.case, &info.metric, &run_id).store_context(context)?;
        }
    }
    let series = DetectedSeries {
        case: info.case.clone(),
        metric: info.metric.clone(),
        unit: info.unit.clone(),
        better: info.better,
        points: n_points,
        change_points: found,
        recent: medians[analysed.saturating_sub(SPARK_POINTS)..].to_vec(),
    };
    Ok((series, alert))
}

/// Puts each change point on the run of its index.
fn place(found: &mut [ChangePoint], points: &[HistoryPoint]) {
    for cp in found {
        if let Some(p) = points.get(cp.index) {
            cp.run_id = Some(p.run_id.clone());
            cp.commit = p.commit.clone();
            cp.time = Some(p.time);
        }
    }
}

/// Change points of every history, computed on all cores (the detector is pure).
fn detect_all(histories: &[Vec<f64>], infos: &[&SeriesInfo], opts: &Options) -> Vec<Vec<ChangePoint>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(histories.len().max(1));
    let per_thread = histories.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = histories
            .chunks(per_thread)
            .zip(infos.chunks(per_thread))
            .map(|(part, infos)| {
                scope.spawn(move || {
                    part.iter()
                        .zip(infos)
                        .map(|(v, i)| changepoint::detect(v, i.better, opts))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    })
}

/// Whether the stored points are the fresh ones: same runs, same statistics (alert state
/// aside).
fn same_points(stored: &[ChangePoint], fresh: &[ChangePoint]) -> bool {
    let key = |c: &ChangePoint| (c.run_id.clone(), c.before, c.after, c.change, c.p_value, c.kind);
    stored.len() == fresh.len() && stored.iter().zip(fresh).all(|(a, b)| key(a) == key(b))
}

/// `--since`: a date, an RFC 3339 time, or a run id (prefix).
fn since_time(store: &mut dyn Store, text: &str) -> Result<jiff::Timestamp> {
    if let Ok(t) = text.parse::<jiff::Timestamp>() {
        return Ok(t);
    }
    if let Ok(d) = text.parse::<jiff::civil::Date>() {
        return d
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp())
            .map_err(|e| AppError::usage(format!("--since {text:?}: {e}")));
    }
    resolve_run(store, text).map(|r| r.run.started_at).map_err(|_| {
        AppError::usage(format!("--since {text:?}: neither a run id in the store nor a date (YYYY-MM-DD)"))
    })
}

/// `perfwatch detect --csv`: a column of the user's own CSV file.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvRequest {
    /// The column holding the values.
    pub column: String,
    /// A column labelling rows (a time, a commit).
    pub label_column: Option<String>,
    /// Direction of the values.
    pub better: Better,
    /// A regression within the last `recent` rows fails the gate.
    pub recent: usize,
    /// Whether regressions fail the gate at all.
    pub alert: bool,
    /// Detector settings.
    pub options: Options,
}

/// Detects change points in one column of a CSV file (`index` is the 0-based data row).
pub fn detect_csv(path: &Path, req: &CsvRequest) -> Result<(DetectionReport, Outcome)> {
    let (values, labels) = read_column(path, &req.column, req.label_column.as_deref())?;
    let mut change_points = changepoint::detect(&values, req.better, &req.options);
    for cp in &mut change_points {
        cp.label = labels[cp.index].clone();
    }
    let n = values.len();
    let alert = req.alert && change_points.iter().any(|c| c.is_regression() && c.index + req.recent >= n);
    let series = DetectedSeries {
        case: CaseId::new(req.column.clone(), Vec::<(String, String)>::new()),
        metric: req.column.clone(),
        unit: String::new(),
        better: req.better,
        points: n,
        change_points,
        recent: values[n.saturating_sub(SPARK_POINTS)..].to_vec(),
    };
    let report = DetectionReport { schema_version: SCHEMA_VERSION, series: vec![series] };
    Ok((report, Outcome { gate_failed: alert, ..Outcome::default() }))
}

/// The numbers of column `column` and, when asked, the labels of `label_column`.
fn read_column(
    path: &Path,
    column: &str,
    label_column: Option<&str>,
) -> Result<(Vec<f64>, Vec<Option<String>>)> {
    let bad = |what: String| AppError::usage(format!("{}: {what}", path.display()));
    let mut reader =
        csv::ReaderBuilder::new().flexible(true).from_path(path).map_err(|e| bad(e.to_string()))?;
    let headers = reader.headers().map_err(|e| bad(format!("reading the header: {e}")))?.clone();
    let find = |name: &str| {
        headers.iter().position(|h| h.trim() == name).ok_or_else(|| {
            bad(format!("no column {name:?} (columns: {})", headers.iter().collect::<Vec<_>>().join(", ")))
        })
    };
    let value_col = find(column)?;
    let label_col = label_column.map(find).transpose()?;
    let (mut values, mut labels) = (Vec::new(), Vec::new());
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| bad(format!("row {}: {e}", i + 2)))?;
        let cell = record.get(value_col).unwrap_or("").trim();
        let value = cell.parse::<f64>().map_err(|_| {
            AppError::usage(format!(
                "{}:{}: column {column:?} holds {cell:?}, expected a number",
                path.display(),
                i + 2
            ))
        })?;
        values.push(value);
        labels.push(label_col.and_then(|c| record.get(c)).map(str::to_string));
    }
    Ok((values, labels))
}

/// What `perfwatch detect` stored for a series, for [`marks`]: `None` when it has not analysed
/// the series.
pub fn stored_marks(store: &mut dyn Store, info: &SeriesInfo) -> Result<Option<Vec<ChangePoint>>> {
    store
        .change_points(&info.case, &info.metric)
        .store_context(|| format!("reading the change points of {} {}", info.case, info.metric))
}

/// The change points the dashboard marks on a series whose whole history is `points` (oldest
/// first): the ones `perfwatch detect` stored ([`stored_marks`], already placed on their runs
/// by the store), so the pages show exactly what `detect` reported; a series `detect` never
/// analysed is analysed here with `opts`, and nothing is written.
pub fn marks(
    stored: Option<Vec<ChangePoint>>,
    better: Better,
    points: &[HistoryPoint],
    opts: &Options,
) -> Vec<ChangePoint> {
    stored.unwrap_or_else(|| computed_marks(better, points, opts))
}

/// Change points of a history computed now (not stored), placed on its runs.
pub fn computed_marks(better: Better, points: &[HistoryPoint], opts: &Options) -> Vec<ChangePoint> {
    if points.len() < 4 {
        return Vec::new();
    }
    let medians: Vec<f64> = points.iter().map(|p| p.median).collect();
    let mut found = changepoint::detect(&medians, better, opts);
    place(&mut found, points);
    found
}

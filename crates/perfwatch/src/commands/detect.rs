//! `perfwatch detect`: change points over the history (or over a user's CSV column).

use std::collections::HashMap;

use anyhow::Context;
use perfwatch_detect::changepoint::{self, ChangePoint, Method, Options};
use perfwatch_model::metric::{SYS, USER};
use perfwatch_model::{
    Better, ChangePointReport, DetectedSeries, DetectionReport, SCHEMA_VERSION, ShiftKind, exit_codes,
};
use perfwatch_store::{Store, StoredChangePoint};

use crate::cli::{BetterArg, DetectArgs, FailOnArg, MethodArg};
use crate::output;

/// Runs the detector over every selected series; exit 1 with `--fail-on regression` when a
/// new regression lies within the last `--recent` runs.
pub fn run(args: DetectArgs) -> anyhow::Result<i32> {
    let opts = options(&args)?;
    let (report, failed) = match &args.csv {
        Some(path) => (from_csv(&args, path, &opts)?, false),
        None => from_store(&args, &opts)?,
    };
    let failed = failed
        || (args.csv.is_some()
            && args.fail_on != FailOnArg::Never
            && report.series.iter().any(|s| {
                s.change_points
                    .iter()
                    .any(|c| c.kind == ShiftKind::Regression && c.index + args.recent >= s.points)
            }));
    let text = perfwatch_report::renderer(output::format(&args.output))
        .detection(&report, &output::render_options(&args.output));
    output::emit(&args.output, &text)?;
    Ok(if failed { exit_codes::GATE_FAILED } else { exit_codes::SUCCESS })
}

fn options(args: &DetectArgs) -> anyhow::Result<Options> {
    let min_magnitude = perfwatch_config::parse_percent_str(&args.min_magnitude)
        .map_err(|e| anyhow::anyhow!("--min-magnitude {:?}: {}", args.min_magnitude, e.message))?;
    if args.window < 4 {
        anyhow::bail!("--window must be at least 4");
    }
    if !(args.max_p_value > 0.0 && args.max_p_value < 1.0) {
        anyhow::bail!("--max-p-value must lie between 0 and 1");
    }
    Ok(Options {
        method: match args.method {
            MethodArg::Combined => Method::Combined,
            MethodArg::Edivisive => Method::EDivisive,
            MethodArg::Potts => Method::Potts,
        },
        window: args.window,
        max_p_value: args.max_p_value,
        min_magnitude,
        ..Options::default()
    })
}

fn kind(cp: &ChangePoint, better: Better) -> ShiftKind {
    let worse = match better {
        Better::Lower => cp.after > cp.before,
        Better::Higher => cp.after < cp.before,
    };
    if worse { ShiftKind::Regression } else { ShiftKind::Improvement }
}

/// A relative change that JSON can carry (the detector reports ±∞ when `before` is 0).
fn finite_change(cp: &ChangePoint) -> f64 {
    if cp.change.is_finite() { cp.change } else { 0.0 }
}

fn from_store(args: &DetectArgs, opts: &Options) -> anyhow::Result<(DetectionReport, bool)> {
    let mut store = super::open_store(&args.store)?;
    let since = match &args.since {
        Some(s) => Some(since_time(store.as_mut(), s)?),
        None => None,
    };
    let wanted_metric = |m: &str| {
        if args.metrics.is_empty() { m != USER && m != SYS } else { args.metrics.iter().any(|w| w == m) }
    };
    let wanted_case = |c: &perfwatch_model::CaseId| {
        args.cases.is_empty() || args.cases.iter().any(|p| *p == c.name || *p == c.to_string())
    };
    let all = store.list_series()?;
    let selected: Vec<_> = all.iter().filter(|s| wanted_metric(&s.metric) && wanted_case(&s.case)).collect();
    if selected.is_empty() {
        anyhow::bail!("no history matches (run `perfwatch run` first, or check the case and metric names)");
    }
    let mut series = Vec::with_capacity(selected.len());
    let mut failed = false;
    // Histories are read in batches (the store is one connection) and analysed on every
    // core; memory stays bounded by the batch, not the whole store.
    let batch = 8 * std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut analysed = Vec::with_capacity(selected.len());
    for chunk in selected.chunks(batch) {
        let medians = chunk
            .iter()
            .map(|info| store.history_medians(&info.case, &info.metric))
            .collect::<Result<Vec<_>, _>>()?;
        let found = detect_all(&medians, opts);
        analysed.extend(chunk.iter().copied().zip(medians.iter().map(Vec::len)).zip(found));
    }
    for ((info, analysed_points), mut found) in analysed {
        // Run ids, commits and times are needed only where something was found (and to clear
        // points stored earlier); the lean median read above served the detector.
        let points =
            if found.is_empty() { Vec::new() } else { store.history(&info.case, &info.metric, None)? };
        if !found.is_empty() && points.len() != analysed_points {
            // A run landed or was pruned in between: analyse what is there now.
            let values: Vec<f64> = points.iter().map(|p| p.median).collect();
            found = changepoint::detect(&values, opts);
        }
        let n_points = if points.is_empty() { analysed_points } else { points.len() };
        let stored: Vec<StoredChangePoint> = found
            .iter()
            .map(|cp| StoredChangePoint {
                run_id: points[cp.index].run_id.clone(),
                before: cp.before,
                after: cp.after,
                change: finite_change(cp),
                p_value: cp.p_value,
                regression: kind(cp, info.better) == ShiftKind::Regression,
                alerted: false,
            })
            .collect();
        // Rewrite the stored points only when the answer changed: on a scheduled job most
        // series did not move, and this keeps a re-run of `detect` read-only.
        let mut previous = store.change_points(&info.case, &info.metric)?;
        if !same_points(&previous, &stored) {
            store.replace_change_points(&info.case, &info.metric, &stored)?;
            previous = store.change_points(&info.case, &info.metric)?;
        }
        let alerted: HashMap<String, bool> = previous.into_iter().map(|c| (c.run_id, c.alerted)).collect();
        let mut reports = Vec::new();
        for cp in &found {
            let point = &points[cp.index];
            if since.is_some_and(|t| point.time < t) {
                continue;
            }
            let k = kind(cp, info.better);
            let new = !alerted.get(&point.run_id).copied().unwrap_or(false);
            let recent = cp.index + args.recent >= n_points;
            if args.fail_on != FailOnArg::Never && k == ShiftKind::Regression && recent && new {
                failed = true;
                store.mark_alerted(&info.case, &info.metric, &point.run_id)?;
            }
            reports.push(ChangePointReport {
                index: cp.index,
                run_id: Some(point.run_id.clone()),
                commit: point.commit.clone(),
                time: Some(point.time),
                label: None,
                before: cp.before,
                after: cp.after,
                change: finite_change(cp),
                p_value: cp.p_value,
                kind: k,
                new,
            });
        }
        series.push(DetectedSeries {
            name: info.case.name.clone(),
            params: info.case.params.clone(),
            metric: info.metric.clone(),
            unit: info.unit.clone(),
            better: info.better,
            points: n_points,
            change_points: reports,
        });
    }
    Ok((DetectionReport { schema_version: SCHEMA_VERSION, series }, failed))
}

/// Change points of every history, computed on all cores (the detector is pure).
fn detect_all(histories: &[Vec<f64>], opts: &Options) -> Vec<Vec<ChangePoint>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(histories.len().max(1));
    let per_thread = histories.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = histories
            .chunks(per_thread)
            .map(|part| {
                scope.spawn(move || {
                    part.iter().map(|values| changepoint::detect(values, opts)).collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    })
}

/// Whether the stored points equal the fresh ones (ignoring the alerted flags).
fn same_points(stored: &[StoredChangePoint], fresh: &[StoredChangePoint]) -> bool {
    stored.len() == fresh.len()
        && stored.iter().zip(fresh).all(|(a, b)| StoredChangePoint { alerted: b.alerted, ..a.clone() } == *b)
}

/// `--since`: a run id (prefix) or a date.
fn since_time(store: &mut dyn Store, text: &str) -> anyhow::Result<jiff::Timestamp> {
    if let Ok(t) = text.parse::<jiff::Timestamp>() {
        return Ok(t);
    }
    if let Ok(d) = text.parse::<jiff::civil::Date>() {
        return Ok(d.to_zoned(jiff::tz::TimeZone::UTC)?.timestamp());
    }
    match store.run(text)? {
        Some(run) => Ok(run.run.started_at),
        None => anyhow::bail!("--since {text:?}: neither a run id in the store nor a date (YYYY-MM-DD)"),
    }
}

fn from_csv(args: &DetectArgs, path: &std::path::Path, opts: &Options) -> anyhow::Result<DetectionReport> {
    let column = args.column.as_deref().unwrap_or_default();
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .with_context(|| format!("reading {}", path.display()))?;
    let headers =
        reader.headers().with_context(|| format!("reading the header of {}", path.display()))?.clone();
    let find = |name: &str| {
        headers.iter().position(|h| h.trim() == name).ok_or_else(|| {
            anyhow::anyhow!(
                "{}: no column {name:?} (columns: {})",
                path.display(),
                headers.iter().collect::<Vec<_>>().join(", ")
            )
        })
    };
    let value_col = find(column)?;
    let label_col = args.label_column.as_deref().map(find).transpose()?;
    let (mut values, mut labels) = (Vec::new(), Vec::new());
    for (i, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("{}: row {}", path.display(), i + 2))?;
        let cell = record.get(value_col).unwrap_or("").trim();
        let value: f64 = cell.parse().map_err(|_| {
            anyhow::anyhow!(
                "{}:{}: column {column:?} holds {cell:?}, expected a number",
                path.display(),
                i + 2
            )
        })?;
        values.push(value);
        labels.push(label_col.and_then(|c| record.get(c)).map(str::to_string));
    }
    let better = match args.better {
        BetterArg::Lower => Better::Lower,
        BetterArg::Higher => Better::Higher,
    };
    let change_points = changepoint::detect(&values, opts)
        .iter()
        .map(|cp| ChangePointReport {
            index: cp.index,
            run_id: None,
            commit: None,
            time: None,
            label: labels[cp.index].clone(),
            before: cp.before,
            after: cp.after,
            change: finite_change(cp),
            p_value: cp.p_value,
            kind: kind(cp, better),
            new: true,
        })
        .collect();
    Ok(DetectionReport {
        schema_version: SCHEMA_VERSION,
        series: vec![DetectedSeries {
            name: column.to_string(),
            params: Default::default(),
            metric: column.to_string(),
            unit: String::new(),
            better,
            points: values.len(),
            change_points,
        }],
    })
}

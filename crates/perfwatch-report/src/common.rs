//! Rows shared by the table and Markdown renderers.

use perfwatch_model::metric::{CPU, MAX_RSS, SYS, THROUGHPUT, USER, WALL};
use perfwatch_model::{CaseReport, Caveat, Comparison, RunReport, Summary, Verdict};

use crate::units::{human, pct_change};

/// `median ± half-CI` for a summary, readable.
pub(crate) fn median_ci(s: &Summary) -> String {
    let half = (s.ci95[1] - s.ci95[0]) / 2.0;
    if s.median != 0.0 && half.is_finite() && s.n > 5 {
        format!("{} ± {:.1}%", human(s.median, &s.unit), half / s.median.abs() * 100.0)
    } else {
        human(s.median, &s.unit)
    }
}

fn cell(case: &CaseReport, metric: &str) -> String {
    case.metrics.get(metric).map(median_ci).unwrap_or_else(|| "-".into())
}

/// Header and rows of the main run table: one row per case.
pub(crate) fn run_rows(report: &RunReport) -> (Vec<String>, Vec<Vec<String>>) {
    let has_throughput = report.benchmarks.iter().any(|c| c.metrics.contains_key(THROUGHPUT));
    let mut header: Vec<String> =
        ["case", "status", "runs", "wall (median ± 95% CI)", "user", "sys", "peak memory"]
            .map(String::from)
            .into();
    if has_throughput {
        header.push("throughput".into());
    }
    let rows = report
        .benchmarks
        .iter()
        .map(|c| {
            let mut row = vec![
                c.case.to_string(),
                c.status.as_str().to_string(),
                c.runs.to_string(),
                cell(c, WALL),
                c.metrics.get(USER).map(|s| human(s.median, &s.unit)).unwrap_or_else(|| "-".into()),
                c.metrics.get(SYS).map(|s| human(s.median, &s.unit)).unwrap_or_else(|| "-".into()),
                c.metrics.get(MAX_RSS).map(|s| human(s.median, &s.unit)).unwrap_or_else(|| "-".into()),
            ];
            if has_throughput {
                row.push(cell(c, THROUGHPUT));
            }
            row
        })
        .collect();
    (header, rows)
}

/// Built-in metrics the main table shows (`cpu` is user + sys, shown as those two).
const MAIN_TABLE_METRICS: [&str; 6] = [WALL, USER, SYS, CPU, MAX_RSS, THROUGHPUT];

/// Rows of the metrics the main table has no column for (custom ones, GPU ones): case,
/// metric, median ± CI, better.
pub(crate) fn custom_rows(report: &RunReport) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for c in &report.benchmarks {
        for (name, s) in &c.metrics {
            if MAIN_TABLE_METRICS.contains(&name.as_str()) {
                continue;
            }
            rows.push(vec![
                c.case.to_string(),
                name.clone(),
                median_ci(s),
                format!("{} is better", s.better.as_str()),
            ]);
        }
    }
    rows
}

/// Caveat and failure lines, one per item, prefixed with the case name.
pub(crate) fn notes(report: &RunReport) -> Vec<String> {
    let mut out = Vec::new();
    // Machine-level caveats (load, governor, no GPU) are the same on every case: say each once.
    let mut machine_said: Vec<std::mem::Discriminant<Caveat>> = Vec::new();
    for c in &report.benchmarks {
        let id = &c.case;
        if let Some(f) = &c.failure {
            out.push(format!("{id}: {}", f.message));
            for line in f.stderr_tail.lines() {
                out.push(format!("    | {line}"));
            }
        }
        for caveat in &c.caveats {
            if matches!(
                caveat,
                Caveat::HighLoad { .. } | Caveat::PowersaveGovernor { .. } | Caveat::NoGpu { .. }
            ) {
                let kind = std::mem::discriminant(caveat);
                if !machine_said.contains(&kind) {
                    let whom =
                        if matches!(caveat, Caveat::NoGpu { .. }) { "GPU benches" } else { "all cases" };
                    out.push(format!("{whom}: {caveat}"));
                    machine_said.push(kind);
                }
                continue;
            }
            out.push(format!("{id}: {caveat}"));
        }
    }
    out
}

/// Header and rows of a comparison table.
pub(crate) fn comparison_rows(comparisons: &[&Comparison]) -> (Vec<String>, Vec<Vec<String>>) {
    let header = ["case", "metric", "baseline", "candidate", "change [95% CI]", "p", "verdict"]
        .map(String::from)
        .into();
    let rows = comparisons
        .iter()
        .map(|c| {
            let id = &c.case;
            vec![
                id.to_string(),
                c.metric.clone(),
                human(c.baseline_median, &c.unit),
                human(c.candidate_median, &c.unit),
                format!("{} [{}, {}]", pct_change(c.ratio), pct_change(c.ci95[0]), pct_change(c.ci95[1])),
                if c.p_value < 0.001 { "<0.001".to_string() } else { format!("{:.3}", c.p_value) },
                // A star sends the reader to the notes under the table.
                format!("{}{}", verdict_label(c.verdict), if c.notes.is_empty() { "" } else { " *" }),
            ]
        })
        .collect();
    (header, rows)
}

/// `* case metric: note` lines for the comparisons whose verdict carries a note.
pub(crate) fn verdict_notes(comparisons: &[&Comparison]) -> Vec<String> {
    comparisons
        .iter()
        .flat_map(|c| c.notes.iter().map(move |n| format!("* {} {}: {n}", c.case, c.metric)))
        .collect()
}

/// The verdict word shown to people (upper case for the two that need attention).
pub(crate) fn verdict_label(v: Verdict) -> &'static str {
    match v {
        Verdict::Regressed => "REGRESSED",
        Verdict::Improved => "IMPROVED",
        Verdict::Unchanged => "unchanged",
        Verdict::Inconclusive => "inconclusive",
    }
}

/// Header and rows of the budget table.
pub(crate) fn budget_rows(budgets: &[perfwatch_model::BudgetResult]) -> (Vec<String>, Vec<Vec<String>>) {
    let header = ["case", "budget", "target", "measured", "achievement", "status"].map(String::from).into();
    let rows = budgets
        .iter()
        .map(|b| {
            let id = &b.case;
            let unit = budget_unit(&b.budget);
            vec![
                id.to_string(),
                b.budget.clone(),
                human(b.target, unit),
                b.measured.map(|m| human(m, unit)).unwrap_or_else(|| "-".into()),
                b.achievement_pct.map(|p| format!("{p:.0}%")).unwrap_or_else(|| "-".into()),
                match b.status {
                    perfwatch_model::BudgetStatus::Pass => "pass",
                    perfwatch_model::BudgetStatus::Fail => "FAIL",
                    perfwatch_model::BudgetStatus::Missing => "missing",
                }
                .to_string(),
            ]
        })
        .collect();
    (header, rows)
}

/// Unit of the metric a budget text names (`wall.p95 < 1s` → `s`).
pub(crate) fn budget_unit(text: &str) -> &'static str {
    let metric = text.split(['.', ' ']).next().unwrap_or("");
    match perfwatch_model::builtin_metric(metric) {
        Some(info) if info.unit == "s" => "s",
        Some(info) if info.unit == "bytes" => "bytes",
        Some(_) => "1/s",
        None => "",
    }
}

/// Comparisons ordered with the ones needing attention first.
pub(crate) fn by_attention(report: &perfwatch_model::ComparisonReport) -> Vec<&Comparison> {
    let rank = |v: Verdict| match v {
        Verdict::Regressed => 0,
        Verdict::Improved => 1,
        Verdict::Inconclusive => 2,
        Verdict::Unchanged => 3,
    };
    let mut v: Vec<&Comparison> = report.comparisons.iter().collect();
    v.sort_by_key(|c| rank(c.verdict)); // stable: keeps suite order within a verdict
    v
}

/// One-line verdict summary.
pub(crate) fn summary_line(report: &perfwatch_model::ComparisonReport) -> String {
    let s = report.summary;
    let failed_budgets =
        report.budgets.iter().filter(|b| b.status == perfwatch_model::BudgetStatus::Fail).count();
    let mut line = format!(
        "{} regressed, {} improved, {} unchanged, {} inconclusive",
        s.regressed, s.improved, s.unchanged, s.inconclusive
    );
    if !report.budgets.is_empty() {
        line.push_str(&format!("; budgets: {} of {} breached", failed_budgets, report.budgets.len()));
    }
    if let (Some(rounds), Some(elapsed)) = (report.rounds, report.elapsed_s) {
        line.push_str(&format!(
            "; {rounds} rounds in {elapsed:.1} s (stopped: {})",
            report.stopped.as_deref().unwrap_or("-")
        ));
    }
    line
}

/// Header and rows of a change-point table: one row per change point.
pub(crate) fn detection_rows(report: &perfwatch_model::DetectionReport) -> (Vec<String>, Vec<Vec<String>>) {
    let header =
        ["case", "metric", "at", "commit", "before", "after", "change", "p", "kind"].map(String::from).into();
    let mut rows = Vec::new();
    for s in &report.series {
        let id = &s.case;
        for c in &s.change_points {
            let at = c
                .run_id
                .as_deref()
                .map(|r| r.get(..13).unwrap_or(r).to_string())
                .or_else(|| c.label.clone())
                .unwrap_or_else(|| format!("#{}", c.index));
            rows.push(vec![
                id.to_string(),
                s.metric.clone(),
                at,
                c.commit.as_deref().map(|h| h.get(..12).unwrap_or(h)).unwrap_or("-").to_string(),
                human(c.before, &s.unit),
                human(c.after, &s.unit),
                format!("{:+.1}%", c.change * 100.0),
                if c.p_value < 0.001 { "<0.001".to_string() } else { format!("{:.3}", c.p_value) },
                match (c.kind, c.new) {
                    (perfwatch_model::ShiftKind::Regression, true) => "REGRESSION (new)",
                    (perfwatch_model::ShiftKind::Regression, false) => "regression",
                    (perfwatch_model::ShiftKind::Improvement, _) => "improvement",
                }
                .to_string(),
            ]);
        }
    }
    (header, rows)
}

/// One-line summary of a detection report.
pub(crate) fn detection_summary(report: &perfwatch_model::DetectionReport) -> String {
    let cps: usize = report.series.iter().map(|s| s.change_points.len()).sum();
    let regressions = report
        .series
        .iter()
        .flat_map(|s| &s.change_points)
        .filter(|c| c.kind == perfwatch_model::ShiftKind::Regression)
        .count();
    format!("{} series analysed; {cps} change points, {regressions} of them regressions", report.series.len())
}

/// One row per stored run: id, start, status, commit (branch), host, labels.
pub(crate) fn runs_rows(runs: &perfwatch_model::RunList) -> (Vec<String>, Vec<Vec<String>>) {
    let header = ["run", "started", "status", "commit", "host", "labels"].map(String::from).to_vec();
    let rows = runs
        .runs
        .iter()
        .map(|r| {
            let commit = r.git.as_ref().map_or("-".to_string(), |g| {
                let short = g.commit.get(..12).unwrap_or(&g.commit);
                let dirty = if g.dirty { "+" } else { "" };
                match &g.branch {
                    Some(b) => format!("{short}{dirty} ({b})"),
                    None => format!("{short}{dirty}"),
                }
            });
            let labels: Vec<String> = r.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            vec![
                r.id.clone(),
                r.started_at.strftime("%Y-%m-%d %H:%M:%S").to_string(),
                r.status.as_str().to_string(),
                commit,
                r.host.hostname.clone(),
                labels.join(" "),
            ]
        })
        .collect();
    (header, rows)
}

/// A ratio as a signed percentage with its interval: `+5.1% [+4.8, +5.4]`.
fn ratio_change(c: &perfwatch_model::PairComparison) -> String {
    let pct = |r: f64| (r - 1.0) * 100.0;
    format!("{:+.1}% [{:+.1}, {:+.1}]", pct(c.ratio), pct(c.ci95[0]), pct(c.ci95[1]))
}

/// One row per bisection step: the commit, what was decided, and the two comparisons.
pub(crate) fn bisect_rows(report: &perfwatch_model::BisectReport) -> (Vec<String>, Vec<Vec<String>>) {
    let header = ["#", "commit", "subject", "decision", "vs good", "vs bad"].map(String::from).to_vec();
    let cell = |c: &Option<perfwatch_model::PairComparison>| {
        c.as_ref()
            .map(|c| format!("{} {}", ratio_change(c), c.verdict.as_str()))
            .unwrap_or_else(|| "-".into())
    };
    let rows = report
        .steps
        .iter()
        .map(|s| {
            vec![
                s.commit.position.to_string(),
                s.commit.commit.get(..10).unwrap_or(&s.commit.commit).to_string(),
                s.commit.subject.clone(),
                s.decision.as_str().to_string(),
                cell(&s.vs_good),
                cell(&s.vs_bad),
            ]
        })
        .collect();
    (header, rows)
}

/// The answer of a bisection in one paragraph.
pub(crate) fn bisect_summary(report: &perfwatch_model::BisectReport) -> String {
    use perfwatch_model::BisectOutcome;
    let short = |h: &str| h.get(..10).unwrap_or(h).to_string();
    let tested = report.steps.iter().filter(|s| s.decision != perfwatch_model::StepDecision::Skipped).count();
    let cost = format!("{tested} steps, {:.0} s", report.elapsed_s);
    let (good, bad) = (&report.last_good, &report.first_bad);
    match report.outcome {
        BisectOutcome::Found => format!(
            "first bad commit: {} \"{}\" (#{} of {}): {} {}; {cost}; path confidence {:.1}%",
            short(&bad.commit),
            bad.subject,
            bad.position,
            report.commits,
            report.metric,
            report.step.as_ref().map(ratio_change).unwrap_or_else(|| "(step not measured)".into()),
            report.confidence * 100.0
        ),
        BisectOutcome::Skipped => format!(
            "the change is in {} (#{}) or in the unbuildable commits after {} (#{}); {cost}",
            short(&bad.commit),
            bad.position,
            short(&good.commit),
            good.position
        ),
        BisectOutcome::Inconclusive => format!(
            "the change lies after {} (#{}) and at or before {} (#{}); a step stayed inconclusive, so bisect \
             stopped there rather than guess; {cost}",
            short(&good.commit),
            good.position,
            short(&bad.commit),
            bad.position
        ),
        BisectOutcome::NoRegression => format!(
            "{} is not worse than {} beyond {:.1}%: {} {} ({})",
            short(&report.bad.commit),
            short(&report.good.commit),
            report.threshold * 100.0,
            report.metric,
            ratio_change(&report.span),
            report.span.verdict.as_str()
        ),
    }
}

/// One row per ranked function of an explanation.
pub(crate) fn explain_rows(report: &perfwatch_model::ExplainReport) -> (Vec<String>, Vec<Vec<String>>) {
    let header =
        ["function", "self base", "self head", "Δ self", "share", "Δ inclusive"].map(String::from).to_vec();
    let rows = report
        .functions
        .iter()
        .map(|f| {
            vec![
                f.function.clone(),
                f.self_base.to_string(),
                f.self_head.to_string(),
                format!("{:+}", f.self_delta),
                format!("{:.1}%", f.self_share * 100.0),
                format!("{:+}", f.inclusive_delta),
            ]
        })
        .collect();
    (header, rows)
}

/// The totals of an explanation and where its flame graphs are, in one paragraph.
pub(crate) fn explain_summary(report: &perfwatch_model::ExplainReport) -> String {
    let pct = if report.base.total == 0 {
        String::new()
    } else {
        format!(" ({:+.1}%)", report.total_delta as f64 / report.base.total as f64 * 100.0)
    };
    let mut s = format!(
        "{} {}: {} {} → {} {} {}{}",
        report.case,
        report.profiler.as_str(),
        report.base.label,
        report.base.total,
        report.head.label,
        report.head.total,
        report.unit,
        pct
    );
    if let Some(files) = &report.files {
        s.push_str(&format!("; flame graphs: {}", files.index));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_level_caveats_are_said_once_and_case_health_per_case() {
        let mut r = crate::fixtures::troubled_run_report();
        for c in &mut r.benchmarks {
            c.caveats.push(Caveat::HighLoad { load: 3.5, cores: 2 });
            c.caveats.push(Caveat::PowersaveGovernor { governor: "powersave".into() });
        }
        assert!(r.benchmarks.len() >= 2);
        let notes = notes(&r);
        let count = |needle: &str| notes.iter().filter(|n| n.contains(needle)).count();
        assert_eq!(count("all cases: CPU frequency governor is `powersave`"), 1, "{notes:#?}");
        assert_eq!(count("governor"), 1, "{notes:#?}");
        assert_eq!(count("all cases: machine busy at start"), 1, "{notes:#?}");
        assert_eq!(count("machine busy"), 1, "{notes:#?}");
        let id = r.benchmarks[0].case.to_string();
        assert_eq!(count(&format!("{id}: the CPU throttled 12 times")), 1, "{notes:#?}");
    }
}

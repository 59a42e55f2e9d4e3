//! `perfwatch ab`: two commands side by side (see the [module docs](super)).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use perfwatch_detect::paired::{SequentialRule, speedup_goal};
use perfwatch_detect::verdict::{FailOn, compare_counts, compare_samples};
use perfwatch_model::metric::{INSTR_METRICS, INSTR_THRESHOLD};
use perfwatch_model::{
    Better, CaseId, Comparison, ComparisonReport, ComparisonWarning, Design, GoalStatus, InstrTool, RunRef,
    SCHEMA_VERSION, SpeedupGoal, Verdict, VerdictCounts, builtin_metric,
};
use perfwatch_runner::instr::{Counts, count_once};
use perfwatch_runner::{Contender, ExecRequest, Executor, InterleaveOptions, StopReason};

use super::{distribution, measure_paired, paired_comparisons, stop_warning};
use crate::error::{AppError, Result};
use crate::{Outcome, Ui};

/// An A/B comparison to make.
#[derive(Debug, Clone, PartialEq)]
pub struct AbRequest {
    /// Command A (the reference) as the user wrote it.
    pub command_a: String,
    /// Command B (the candidate).
    pub command_b: String,
    /// Run both through `sh -c` instead of splitting them into words.
    pub shell: bool,
    /// Working directory of both.
    pub cwd: PathBuf,
    /// Smallest relative change that counts; `None`: [`AB_THRESHOLD`], or
    /// [`INSTR_THRESHOLD`] when `metric` is an instruction count.
    pub threshold: Option<f64>,
    /// Time budget of all rounds.
    pub max_time: Duration,
    /// Per-run timeout (zero: none).
    pub timeout: Duration,
    /// Rounds always run.
    pub min_rounds: u32,
    /// Unmeasured runs of each side first.
    pub warmup: u32,
    /// The metric that decides when to stop and what the gate judges. An instruction-count
    /// metric ([`INSTR_METRICS`]) switches to counting: see [`ab`].
    pub metric: String,
    /// Seed of the round order.
    pub seed: u64,
    /// When the gate fails.
    pub fail_on: FailOn,
    /// `--expect-speedup`: B should be at least this many times faster than A on the
    /// deciding metric (> 1). With it, measuring stops when the goal is decided and the
    /// gate judges the goal instead of the verdict.
    pub expect_speedup: Option<f64>,
}

/// The name under which `ab` reports its one pseudo-case.
pub const AB_CASE: &str = "ab";

/// The threshold of timed `ab` unless the request sets one.
pub const AB_THRESHOLD: f64 = 0.01;

/// Measures A and B interleaved and compares them on every metric. The gate judges the
/// deciding metric only.
///
/// When the deciding metric is an instruction count ([`INSTR_METRICS`]) nothing is timed:
/// each side runs once under cachegrind with the fixed cache model of `[bench.instr]`, and
/// every count metric is compared exactly (ratio B/A, its interval the ratio itself); a side
/// that cannot be counted is reported like a failing run.
pub fn ab(
    req: &AbRequest,
    executor: &mut dyn Executor,
    ui: &mut dyn Ui,
    stop: &AtomicBool,
) -> Result<(ComparisonReport, Outcome)> {
    if INSTR_METRICS.contains(&req.metric.as_str()) {
        return ab_counted(req, executor, ui, stop);
    }
    let threshold = req.threshold.unwrap_or(AB_THRESHOLD);
    let a = Contender::new("A", exec_request(req, &req.command_a)?);
    let b = Contender::new("B", exec_request(req, &req.command_b)?);
    let opts = InterleaveOptions {
        warmup: req.warmup,
        min_rounds: req.min_rounds.max(2),
        max_rounds: u32::MAX,
        max_time: req.max_time,
        seed: req.seed,
    };
    // Which side is "better" does not matter for *whether* to stop (any verdict stops), so
    // the rule can run before a custom metric's direction is known.
    let mut rule = SequentialRule {
        burn_in: opts.min_rounds as usize,
        ..SequentialRule::new(&req.metric, threshold, Better::Lower)
    };
    if let Some(factor) = req.expect_speedup {
        rule = rule.with_goal(factor);
    }
    let mut on_event = |e: &perfwatch_runner::InterleaveEvent<'_>| ui.round_event(None, e);
    let (outcome, n_star) =
        measure_paired((&a, &b), &opts, executor, (rule, &req.metric), &mut on_event, stop);
    if let StopReason::Aborted { message } = &outcome.stopped {
        return Err(AppError::Executor(message.clone()));
    }
    if let StopReason::Failed { failure, .. } = &outcome.stopped {
        ui.warn(&format!("{}\n{}", failure.message, failure.stderr_tail.trim_end()));
    }
    let case = CaseId::new(AB_CASE, Vec::<(String, String)>::new());
    let comparisons = paired_comparisons(&outcome, (&case, &req.metric), &|_| threshold, n_star);
    let mut report = ComparisonReport {
        rounds: Some(outcome.rounds.len() as u32),
        elapsed_s: Some(outcome.elapsed.as_secs_f64()),
        stopped: Some(outcome.stopped.as_str().to_string()),
        distributions: distribution(&outcome, &case, &req.metric).into_iter().collect(),
        ..report_of(req, Design::Paired, comparisons)
    };
    report.warnings.extend(stop_warning(&outcome, None, &req.metric, req.seed));
    let gate_failed = judge(req, &mut report);
    let outcome = Outcome {
        gate_failed,
        runs_failed: matches!(outcome.stopped, StopReason::Failed { .. }),
        store_failed: false,
        interrupted: outcome.stopped == StopReason::Interrupted,
    };
    Ok((report, outcome))
}

/// The report of `ab` with `comparisons` and nothing about how they were measured.
fn report_of(req: &AbRequest, design: Design, comparisons: Vec<Comparison>) -> ComparisonReport {
    ComparisonReport {
        schema_version: SCHEMA_VERSION,
        baseline: RunRef { run_id: "A".into(), name: Some(req.command_a.clone()), commit: None, host: None },
        candidate: RunRef { run_id: "B".into(), name: Some(req.command_b.clone()), commit: None, host: None },
        design,
        summary: VerdictCounts::tally(&comparisons),
        comparisons,
        budgets: vec![],
        warnings: vec![],
        rounds: None,
        elapsed_s: None,
        stopped: None,
        speedup_goal: None,
        distributions: vec![],
    }
}

/// Notes a deciding metric that was never measured, judges the speedup goal if one was
/// asked for, and returns whether the gate fails.
fn judge(req: &AbRequest, report: &mut ComparisonReport) -> bool {
    if !report.comparisons.iter().any(|c| c.metric == req.metric) {
        report.warnings.push(ComparisonWarning::MetricNotMeasured { metric: req.metric.clone() });
    }
    let decisive = report.comparisons.iter().find(|c| c.metric == req.metric);
    report.speedup_goal = req.expect_speedup.map(|factor| goal_of(factor, decisive));
    match &report.speedup_goal {
        Some(goal) => goal_gate(req.fail_on, goal.status),
        None => gate(req.fail_on, decisive.map(|c| c.verdict)),
    }
}

/// `ab` on instruction counts: no rounds and no warm-up, A then B each run once under
/// cachegrind with the fixed cache model of `[bench.instr]` (through `executor`, see
/// [`count_once`]), and every count metric of [`Counts::metrics`] compared exactly with
/// [`compare_counts`]: ratio B/A, its "interval" the ratio itself, threshold
/// [`INSTR_THRESHOLD`] unless the request sets one. A count that is zero on a side cannot
/// form an exact ratio and is compared like `compare` does (inconclusive from one value).
///
/// A side that cannot be counted (no Valgrind, the command fails or times out under it,
/// no counts written) ends the comparison like a failing run of timed `ab`: a warning naming
/// the side, no comparisons, runs failed. The design is `unpaired`: two separate runs.
fn ab_counted(
    req: &AbRequest,
    executor: &mut dyn Executor,
    ui: &mut dyn Ui,
    stop: &AtomicBool,
) -> Result<(ComparisonReport, Outcome)> {
    let started = executor.now();
    let mut counts = Vec::with_capacity(2);
    let mut failure = None;
    for (side, command) in [("A", &req.command_a), ("B", &req.command_b)] {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let exec = exec_request(req, command)?;
        let counted = count_once(executor, InstrTool::Cachegrind, &exec)
            .map_err(|e| AppError::Executor(e.to_string()))?;
        match counted {
            Ok(c) => counts.push(c),
            // Ctrl-C kills the run under Valgrind too: that is an interruption, not a failure.
            Err(_) if stop.load(Ordering::Relaxed) => break,
            Err(message) => {
                failure = Some(format!("{side} (`{command}`): {message}"));
                break;
            }
        }
    }
    let comparisons = match counts.as_slice() {
        [a, b] => count_comparisons(a, b, req.threshold.unwrap_or(INSTR_THRESHOLD)),
        _ => vec![],
    };
    let mut report = ComparisonReport {
        elapsed_s: Some(executor.now().saturating_sub(started).as_secs_f64()),
        ..report_of(req, Design::Unpaired, comparisons)
    };
    if let Some(message) = &failure {
        ui.warn(message);
        report.warnings.push(ComparisonWarning::RunFailed {
            case: None,
            rounds: 0,
            message: message.clone(),
        });
    }
    let interrupted = failure.is_none() && counts.len() < 2;
    if interrupted {
        report.warnings.push(ComparisonWarning::Interrupted { case: None, rounds: 0 });
    }
    let gate_failed = judge(req, &mut report);
    let outcome = Outcome { gate_failed, runs_failed: failure.is_some(), store_failed: false, interrupted };
    Ok((report, outcome))
}

/// One exact comparison per count metric (B against A).
fn count_comparisons(a: &Counts, b: &Counts, threshold: f64) -> Vec<Comparison> {
    let case = CaseId::new(AB_CASE, Vec::<(String, String)>::new());
    a.metrics()
        .into_iter()
        .zip(b.metrics())
        .filter_map(|((metric, x), (_, y))| {
            let info = builtin_metric(metric)?;
            let c = compare_counts(&[x], &[y], threshold, info.better)
                .or_else(|| compare_samples(&[x], &[y], threshold, info.better))?;
            Some(Comparison {
                case: case.clone(),
                metric: metric.to_string(),
                unit: info.unit,
                better: info.better,
                baseline_median: x,
                candidate_median: y,
                ratio: c.ratio,
                ci95: c.ci95,
                p_value: c.p_value,
                threshold,
                verdict: c.verdict,
                baseline_n: 1,
                candidate_n: 1,
                notes: vec![],
            })
        })
        .collect()
}

/// Whether the deciding metric's verdict fails the gate (`None`: it was never measured).
fn gate(fail_on: FailOn, decisive: Option<Verdict>) -> bool {
    match (fail_on, decisive) {
        (FailOn::Never, _) => false,
        (_, Some(Verdict::Regressed)) => true,
        (FailOn::Inconclusive, Some(Verdict::Inconclusive) | None) => true,
        _ => false,
    }
}

/// The speedup goal judged on the deciding metric's comparison (`None`: never measured, so
/// inconclusive). For a higher-is-better metric, faster means a larger B/A, so the ratio is
/// inverted first.
fn goal_of(factor: f64, decisive: Option<&Comparison>) -> SpeedupGoal {
    let Some(c) = decisive else {
        return speedup_goal(factor, f64::NAN, [f64::NAN, f64::NAN]);
    };
    match c.better {
        Better::Lower => speedup_goal(factor, c.ratio, c.ci95),
        Better::Higher => speedup_goal(factor, 1.0 / c.ratio, [1.0 / c.ci95[1], 1.0 / c.ci95[0]]),
    }
}

/// Whether a speedup goal fails the gate: missed always (unless `--fail-on never`),
/// inconclusive with `--fail-on inconclusive`.
fn goal_gate(fail_on: FailOn, status: GoalStatus) -> bool {
    match (fail_on, status) {
        (FailOn::Never, _) | (_, GoalStatus::Met) => false,
        (_, GoalStatus::Missed) => true,
        (FailOn::Inconclusive, GoalStatus::Inconclusive) => true,
        (_, GoalStatus::Inconclusive) => false,
    }
}

fn exec_request(req: &AbRequest, command: &str) -> Result<ExecRequest> {
    let argv = if req.shell {
        vec!["sh".to_string(), "-c".to_string(), command.to_string()]
    } else {
        split_command(command)?
    };
    Ok(ExecRequest {
        argv,
        cwd: req.cwd.clone(),
        env: BTreeMap::new(),
        timeout: Some(req.timeout).filter(|t| !t.is_zero()),
        forward_output: false,
        kill_leftovers: true,
        metrics_file: true,
        gpu_interval: None,
    })
}

/// Splits a command line into words like a POSIX shell would for quoting (single quotes,
/// double quotes with `\` escapes, backslash outside quotes) without expanding anything.
pub fn split_command(cmd: &str) -> Result<Vec<String>> {
    let unterminated = |q: &str| AppError::usage(format!("unterminated {q} quote in {cmd:?}"));
    let mut words = Vec::new();
    let mut cur: Option<String> = None;
    let mut chars = cmd.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => words.extend(cur.take()),
            '\'' => {
                let word = cur.get_or_insert_with(String::new);
                loop {
                    match chars.next().ok_or_else(|| unterminated("single"))? {
                        '\'' => break,
                        c => word.push(c),
                    }
                }
            }
            '"' => {
                let word = cur.get_or_insert_with(String::new);
                loop {
                    match chars.next().ok_or_else(|| unterminated("double"))? {
                        '"' => break,
                        '\\' => match chars.next().ok_or_else(|| unterminated("double"))? {
                            c @ ('"' | '\\' | '$' | '`') => word.push(c),
                            c => word.extend(['\\', c]),
                        },
                        c => word.push(c),
                    }
                }
            }
            '\\' => cur.get_or_insert_with(String::new).extend(chars.next()),
            c => cur.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(cur);
    if words.is_empty() {
        return Err(AppError::usage("empty command"));
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_a_shell() {
        assert_eq!(
            split_command("a b  'c d' \"e \\\"f\\\"\" g\\ h").unwrap(),
            ["a", "b", "c d", "e \"f\"", "g h"]
        );
        assert_eq!(split_command("x ''").unwrap(), ["x", ""]);
        assert_eq!(split_command(r#"say "a\nb""#).unwrap(), ["say", "a\\nb"]);
        assert!(split_command("  ").is_err());
        assert!(split_command("'open").is_err());
        assert!(split_command("\"open\\").is_err());
    }

    /// A scripted Valgrind: `count N` executes N instructions (and writes cachegrind's
    /// summary where the argv says), `missing` cannot start, anything else exits 4.
    fn fake_valgrind() -> perfwatch_runner::ScriptedExecutor {
        use perfwatch_runner::ExecOutcome;
        perfwatch_runner::ScriptedExecutor::responding(|req: &ExecRequest| {
            let out = req.argv.iter().find_map(|a| a.strip_prefix("--cachegrind-out-file=")).unwrap();
            let command = &req.argv[req.argv.iter().position(|a| a == "--").unwrap() + 1..];
            match command {
                [c, n] if c == "count" => {
                    let summary = format!(
                        "events: Ir I1mr ILmr Dr D1mr DLmr Dw D1mw DLmw\nsummary: {n} 10 5 100 10 5 50 5 2\n"
                    );
                    std::fs::write(out.replace("%p", "1"), summary).unwrap();
                    ExecOutcome::ok(1.0)
                }
                [c] if c == "missing" => ExecOutcome::spawn_failed("No such file or directory"),
                _ => ExecOutcome {
                    exit: perfwatch_model::ExitKind::Exited { code: 4 },
                    ..ExecOutcome::ok(1.0)
                },
            }
        })
    }

    fn counted(a: &str, b: &str, threshold: Option<f64>) -> (ComparisonReport, Outcome, Vec<ExecRequest>) {
        let req = AbRequest {
            command_a: a.into(),
            command_b: b.into(),
            shell: false,
            cwd: std::env::temp_dir(),
            threshold,
            max_time: Duration::from_secs(30),
            timeout: Duration::from_secs(2),
            min_rounds: 10,
            warmup: 3,
            metric: "instructions".into(),
            seed: 1,
            fail_on: FailOn::Regression,
            expect_speedup: None,
        };
        let mut exec = fake_valgrind();
        let (report, outcome) = ab(&req, &mut exec, &mut crate::SilentUi, &AtomicBool::new(false)).unwrap();
        (report, outcome, exec.requests)
    }

    #[test]
    fn instruction_metrics_count_each_side_once_and_compare_exactly() {
        let (report, outcome, requests) = counted("count 1000000", "count 1010000", None);
        // No warm-up, no rounds: one run per side, under cachegrind, with a stretched timeout.
        assert_eq!(requests.len(), 2);
        assert!(requests.iter().all(|r| r.argv[..2] == ["valgrind", "--tool=cachegrind"]));
        assert!(requests.iter().all(|r| r.timeout == Some(Duration::from_secs(200)) && !r.metrics_file));
        let instr = report.comparisons.iter().find(|c| c.metric == "instructions").unwrap();
        assert_eq!(
            (instr.verdict, instr.threshold, instr.baseline_n),
            (Verdict::Regressed, INSTR_THRESHOLD, 1)
        );
        assert!((instr.ratio - 1.01).abs() < 1e-12 && instr.ci95 == [instr.ratio, instr.ratio]);
        assert_eq!(report.comparisons.len(), INSTR_METRICS.len());
        assert!(outcome.gate_failed && !outcome.runs_failed, "{outcome:?}");
        assert_eq!(report.design, Design::Unpaired);

        // A against itself: exactly 1, unchanged; an explicit threshold replaces 0.5 %.
        let (report, outcome, _) = counted("count 1000000", "count 1000000", None);
        let instr = &report.comparisons[0];
        assert_eq!(
            (instr.metric.as_str(), instr.ratio, instr.verdict),
            ("instructions", 1.0, Verdict::Unchanged)
        );
        assert!(!outcome.gate_failed);
        let (report, _, _) = counted("count 1000000", "count 1010000", Some(0.02));
        assert_eq!(report.comparisons[0].verdict, Verdict::Unchanged);
    }

    #[test]
    fn a_side_that_cannot_be_counted_is_named_and_fails_the_runs() {
        let (report, outcome, _) = counted("count 1000", "missing", None);
        assert!(report.comparisons.is_empty() && outcome.runs_failed && !outcome.gate_failed);
        let ComparisonWarning::RunFailed { message, .. } = &report.warnings[0] else { panic!("{report:#?}") };
        assert!(message.starts_with("B (`missing`): cannot start valgrind"), "{message}");
        let (report, outcome, requests) = counted("fail", "count 1000", None);
        assert_eq!(requests.len(), 1, "B is not run once A failed");
        let ComparisonWarning::RunFailed { message, .. } = &report.warnings[0] else { panic!("{report:#?}") };
        assert!(message.starts_with("A (`fail`): the run under valgrind exited with status 4"), "{message}");
        assert!(outcome.runs_failed);
    }

    #[test]
    fn the_gate_judges_the_deciding_metric() {
        assert!(gate(FailOn::Regression, Some(Verdict::Regressed)));
        assert!(!gate(FailOn::Regression, Some(Verdict::Inconclusive)));
        assert!(gate(FailOn::Inconclusive, None));
        assert!(!gate(FailOn::Never, Some(Verdict::Regressed)));
    }

    #[test]
    fn the_goal_gate_fails_on_a_missed_goal() {
        assert!(goal_gate(FailOn::Regression, GoalStatus::Missed));
        assert!(!goal_gate(FailOn::Regression, GoalStatus::Met));
        assert!(!goal_gate(FailOn::Regression, GoalStatus::Inconclusive));
        assert!(goal_gate(FailOn::Inconclusive, GoalStatus::Inconclusive));
        assert!(!goal_gate(FailOn::Inconclusive, GoalStatus::Met));
        assert!(!goal_gate(FailOn::Never, GoalStatus::Missed));
        assert_eq!(goal_of(3.0, None).status, GoalStatus::Inconclusive);
    }
}

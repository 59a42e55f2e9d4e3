//! `perfwatch ab`: two commands side by side (see the [module docs](super)).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use perfwatch_detect::paired::{SequentialRule, speedup_goal};
use perfwatch_detect::verdict::FailOn;
use perfwatch_model::{
    Better, CaseId, Comparison, ComparisonReport, ComparisonWarning, Design, GoalStatus, RunRef,
    SCHEMA_VERSION, SpeedupGoal, Verdict, VerdictCounts,
};
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
    /// Smallest relative change that counts.
    pub threshold: f64,
    /// Time budget of all rounds.
    pub max_time: Duration,
    /// Per-run timeout (zero: none).
    pub timeout: Duration,
    /// Rounds always run.
    pub min_rounds: u32,
    /// Unmeasured runs of each side first.
    pub warmup: u32,
    /// The metric that decides when to stop and what the gate judges.
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

/// Measures A and B interleaved and compares them on every metric. The gate judges the
/// deciding metric only.
pub fn ab(
    req: &AbRequest,
    executor: &mut dyn Executor,
    ui: &mut dyn Ui,
    stop: &AtomicBool,
) -> Result<(ComparisonReport, Outcome)> {
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
        ..SequentialRule::new(&req.metric, req.threshold, Better::Lower)
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
    let comparisons = paired_comparisons(&outcome, (&case, &req.metric), &|_| req.threshold, n_star);
    let mut report = ComparisonReport {
        schema_version: SCHEMA_VERSION,
        baseline: RunRef { run_id: "A".into(), name: Some(req.command_a.clone()), commit: None, host: None },
        candidate: RunRef { run_id: "B".into(), name: Some(req.command_b.clone()), commit: None, host: None },
        design: Design::Paired,
        summary: VerdictCounts::tally(&comparisons),
        comparisons,
        budgets: vec![],
        warnings: vec![],
        rounds: Some(outcome.rounds.len() as u32),
        elapsed_s: Some(outcome.elapsed.as_secs_f64()),
        stopped: Some(outcome.stopped.as_str().to_string()),
        speedup_goal: None,
        distributions: distribution(&outcome, &case, &req.metric).into_iter().collect(),
    };
    report.warnings.extend(stop_warning(&outcome, None, &req.metric, req.seed));
    if !report.comparisons.iter().any(|c| c.metric == req.metric) {
        report.warnings.push(ComparisonWarning::MetricNotMeasured { metric: req.metric.clone() });
    }
    let decisive = report.comparisons.iter().find(|c| c.metric == req.metric);
    report.speedup_goal = req.expect_speedup.map(|factor| goal_of(factor, decisive));
    let gate_failed = match &report.speedup_goal {
        Some(goal) => goal_gate(req.fail_on, goal.status),
        None => gate(req.fail_on, decisive.map(|c| c.verdict)),
    };
    let outcome = Outcome {
        gate_failed,
        runs_failed: matches!(outcome.stopped, StopReason::Failed { .. }),
        store_failed: false,
        interrupted: outcome.stopped == StopReason::Interrupted,
    };
    Ok((report, outcome))
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

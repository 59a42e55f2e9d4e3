//! `perfwatch ab`: interleaved side-by-side comparison of two commands.
//!
//! Rounds run A and B once each in a freshly randomized order (perfwatch-runner's RMIT
//! engine); after every round the paired log-ratios of the decision metric (`--metric`) are
//! checked against an anytime-valid confidence sequence, and measuring stops at the first
//! clear verdict or when `--max-time` is used up (then the fixed-n interval is reported and
//! flagged budget-limited). See perfwatch-detect's `paired` module for the statistics.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use perfwatch_detect::paired::{IntervalKind, SequentialRule, expected_rounds, log_ratios, planned_n_star};
use perfwatch_model::{
    Better, Comparison, ComparisonReport, RunRef, SCHEMA_VERSION, Verdict, VerdictCounts, exit_codes,
};
use perfwatch_runner::{
    Contender, ExecRequest, Executor, InterleaveEvent, InterleaveOptions, InterleaveOutcome, Round, Side,
    SpawnerExecutor, StopReason, run_interleaved,
};

use crate::cli::{AbArgs, FailOnArg, FormatArg};
use crate::output;

/// Exit code after Ctrl-C (128 + SIGINT).
const INTERRUPTED: i32 = 130;

/// Measures A and B interleaved and prints the comparison; exit 1 when the decision
/// metric regressed (or is inconclusive with `--fail-on inconclusive`), 3 when a run failed.
pub fn run(args: AbArgs) -> anyhow::Result<i32> {
    let mut executor = SpawnerExecutor::start().context("starting the measuring helper process")?;

    let threshold =
        perfwatch_config::parse_percent_str(&args.threshold).map_err(|e| unit_error("--threshold", e))?;
    let max_time =
        perfwatch_config::parse_duration(&args.max_time).map_err(|e| unit_error("--max-time", e))?;
    let timeout = perfwatch_config::parse_duration(&args.timeout).map_err(|e| unit_error("--timeout", e))?;
    let cwd = std::env::current_dir().context("reading the current directory")?;
    let request = |cmd: &str| -> anyhow::Result<ExecRequest> {
        let argv = if args.shell {
            vec!["sh".to_string(), "-c".to_string(), cmd.to_string()]
        } else {
            split_command(cmd)?
        };
        Ok(ExecRequest {
            argv,
            cwd: cwd.clone(),
            env: BTreeMap::new(),
            timeout: Some(timeout).filter(|t| !t.is_zero()),
            forward_output: false,
        })
    };
    let a = Contender::new("A", request(&args.command_a)?);
    let b = Contender::new("B", request(&args.command_b)?);
    let seed = args.seed.unwrap_or_else(fresh_seed);
    let opts = InterleaveOptions {
        warmup: args.warmup,
        min_rounds: args.min_rounds.max(2),
        max_rounds: u32::MAX,
        max_time,
        seed,
    };

    let stop = Arc::new(AtomicBool::new(false));
    install_ctrl_c(stop.clone());
    let metric = args.metric.clone();
    // Which side is "better" does not matter for *whether* to stop (any verdict stops), so
    // the rule can run before a custom metric's direction is known.
    let rule = SequentialRule {
        burn_in: opts.min_rounds as usize,
        ..SequentialRule::new(&metric, threshold, Better::Lower)
    };
    let mut progress = RoundProgress::new(args.output.format == FormatArg::Table);
    let (outcome, n_star) = measure_paired(&a, &b, &opts, &mut executor, rule, &metric, &mut progress, &stop);

    if let StopReason::Aborted { message } = &outcome.stopped {
        anyhow::bail!("measuring stopped: {message}");
    }
    if outcome.rounds.is_empty() {
        if let StopReason::Failed { failure, .. } = &outcome.stopped {
            eprintln!("error: {}", failure.message);
            if !failure.stderr_tail.is_empty() {
                eprintln!("{}", failure.stderr_tail.trim_end());
            }
            return Ok(exit_codes::BENCH_FAILED);
        }
    }

    let comparisons = paired_comparisons(&outcome, "ab", &BTreeMap::new(), &|_| threshold, n_star);
    let mut report = ComparisonReport {
        schema_version: SCHEMA_VERSION,
        baseline: RunRef { run_id: "A".into(), name: Some(args.command_a.clone()), commit: None, host: None },
        candidate: RunRef {
            run_id: "B".into(),
            name: Some(args.command_b.clone()),
            commit: None,
            host: None,
        },
        summary: VerdictCounts::tally(&comparisons),
        comparisons,
        budgets: vec![],
        warnings: vec![],
        rounds: Some(outcome.rounds.len() as u32),
        elapsed_s: Some(outcome.elapsed.as_secs_f64()),
        stopped: Some(outcome.stopped.as_str().to_string()),
    };
    report.warnings.extend(stop_warnings(&outcome, &metric, seed));
    if !report.comparisons.iter().any(|c| c.metric == metric) {
        report.warnings.push(format!("metric `{metric}` was not measured in any round"));
    }

    let text = perfwatch_report::renderer(output::format(&args.output))
        .comparison(&report, &output::render_options(&args.output));
    output::emit(&args.output, &text)?;

    let decisive = report.comparisons.iter().find(|c| c.metric == metric).map(|c| c.verdict);
    let mut code = match (args.fail_on, decisive) {
        (FailOnArg::Never, _) => exit_codes::SUCCESS,
        (_, Some(Verdict::Regressed)) => exit_codes::GATE_FAILED,
        (FailOnArg::Inconclusive, Some(Verdict::Inconclusive) | None) => exit_codes::GATE_FAILED,
        _ => exit_codes::SUCCESS,
    };
    if matches!(outcome.stopped, StopReason::Failed { .. }) {
        code = exit_codes::combine(code, exit_codes::BENCH_FAILED);
    }
    Ok(if outcome.stopped == StopReason::Interrupted { INTERRUPTED } else { code })
}

/// A bad option value, with the unit parser's hint.
pub(super) fn unit_error(option: &str, e: perfwatch_config::UnitError) -> anyhow::Error {
    match e.help {
        Some(help) => anyhow::anyhow!("{option}: {} ({help})", e.message),
        None => anyhow::anyhow!("{option}: {}", e.message),
    }
}

/// Paired values of `metric` for A and B, round by round.
fn pairs(rounds: &[Round], metric: &str) -> (Vec<f64>, Vec<f64>) {
    rounds.iter().filter_map(|r| Some((r.a.metric(metric)?, r.b.metric(metric)?))).unzip()
}

/// Measures A and B in interleaved rounds until `rule`, checked on the paired log-ratios of
/// `metric` after every round with its sequence tuned by the warm-up ([`WarmupClock`]),
/// reaches a verdict or a budget runs out. Returns the outcome and the n* the sequences were
/// tuned for (the final intervals must use the same).
#[allow(clippy::too_many_arguments)]
pub(super) fn measure_paired(
    a: &Contender,
    b: &Contender,
    opts: &InterleaveOptions,
    executor: &mut dyn Executor,
    rule: SequentialRule,
    metric: &str,
    progress: &mut RoundProgress,
    stop: &AtomicBool,
) -> (InterleaveOutcome, f64) {
    let clock = WarmupClock::default();
    let mut decide = |rounds: &[Round]| {
        let (xa, xb) = pairs(rounds, metric);
        rule.with_n_star(clock.n_star(opts.max_time)).check(&log_ratios(&xa, &xb)).is_some()
    };
    let mut events = |e: &InterleaveEvent<'_>| {
        clock.record(e);
        progress.event(e)
    };
    let outcome = run_interleaved(a, b, opts, executor, &mut decide, &mut events, stop);
    progress.finish();
    let n_star = clock.n_star(opts.max_time);
    (outcome, n_star)
}

/// Times the warm-up runs of an interleaved comparison, to tune its confidence sequences for
/// the number of rounds the budget will hold ([`perfwatch_detect::paired::planned_n_star`]).
/// The warm-ups are never analysed, so the tuning is fixed before the first analysed round.
#[derive(Debug, Default)]
pub(super) struct WarmupClock {
    last_a: Cell<f64>,
    last_b: Cell<f64>,
}

impl WarmupClock {
    /// Notes the wall time of a warm-up run (the last warm-up of each side counts: the first
    /// run of a program is often slowed by a cold page cache).
    pub(super) fn record(&self, e: &InterleaveEvent<'_>) {
        if let InterleaveEvent::WarmupDone { side, wall, .. } = e {
            match side {
                Side::A => self.last_a.set(*wall),
                Side::B => self.last_b.set(*wall),
            }
        }
    }

    /// n* for a budget of `max_time`: half the rounds the warm-up suggests fit in it, or the
    /// default n* without a warm-up.
    pub(super) fn n_star(&self, max_time: Duration) -> f64 {
        let round = self.last_a.get() + self.last_b.get();
        planned_n_star(expected_rounds(max_time.as_secs_f64(), round).unwrap_or(f64::NAN))
    }
}

/// One comparison per metric measured in the rounds (wall, cpu, max_rss, custom): paired
/// Hodges–Lehmann ratio with the confidence sequence's interval (tuned for `n_star` rounds,
/// as while measuring) when measuring stopped on a verdict, which is valid at any
/// data-dependent stopping round, else the fixed-n signed-rank interval (budget-limited).
pub(super) fn paired_comparisons(
    outcome: &InterleaveOutcome,
    name: &str,
    params: &BTreeMap<String, String>,
    threshold_for: &dyn Fn(&str) -> f64,
    n_star: f64,
) -> Vec<Comparison> {
    let by_verdict = outcome.stopped == StopReason::Decided;
    let mut out = Vec::new();
    for metric in outcome.metric_names() {
        let (xa, xb) = outcome.paired(&metric);
        let d = log_ratios(&xa, &xb);
        if d.is_empty() {
            continue;
        }
        let info = outcome.metric_info(&metric);
        let threshold = threshold_for(&metric);
        let rule = SequentialRule::new(&metric, threshold, info.better).with_n_star(n_star);
        let Some(est) = rule.final_estimate(&d, by_verdict) else { continue };
        out.push(Comparison {
            name: name.to_string(),
            params: params.clone(),
            metric: metric.clone(),
            unit: info.unit.clone(),
            better: info.better,
            baseline_median: median(&xa),
            candidate_median: median(&xb),
            ratio: est.ratio,
            ci95: est.ci,
            p_value: est.p_value,
            threshold,
            verdict: est.verdict,
            baseline_n: xa.len() as u32,
            candidate_n: xb.len() as u32,
        });
        debug_assert!(by_verdict || est.kind == IntervalKind::FixedSample);
    }
    out
}

/// Warnings explaining how measuring ended.
pub(super) fn stop_warnings(outcome: &InterleaveOutcome, metric: &str, seed: u64) -> Vec<String> {
    let n = outcome.rounds.len();
    let mut w = Vec::new();
    match &outcome.stopped {
        StopReason::Decided => {}
        StopReason::TimeBudget | StopReason::RoundBudget => w.push(format!(
            "budget-limited: the early-stopping check reached no verdict on {metric} in {n} rounds, so the \
             budget ended measuring; the intervals shown are fixed-sample signed-rank intervals at 96% (≥ 95% \
             overall with the early-stopping checks) and the verdicts are theirs (seed {seed})"
        )),
        StopReason::Failed { failure, .. } => {
            w.push(format!("measuring stopped after {n} complete rounds: {}", failure.message))
        }
        StopReason::Interrupted => w.push(format!("interrupted after {n} rounds")),
        StopReason::Aborted { message } => w.push(format!("measuring stopped: {message}")),
    }
    w
}

fn median(x: &[f64]) -> f64 {
    let mut v = x.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// A seed for the round order when `--seed` is not given.
pub(super) fn fresh_seed() -> u64 {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    (nanos as u64) ^ ((std::process::id() as u64) << 32)
}

/// Splits a command line into words like a POSIX shell would for quoting (single quotes,
/// double quotes with `\` escapes, backslash outside quotes) without expanding anything.
pub(super) fn split_command(cmd: &str) -> anyhow::Result<Vec<String>> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = cmd.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => cur.push(c),
                        None => anyhow::bail!("unterminated single quote in {cmd:?}"),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => cur.push(c),
                            Some(c) => {
                                cur.push('\\');
                                cur.push(c);
                            }
                            None => anyhow::bail!("unterminated double quote in {cmd:?}"),
                        },
                        Some(c) => cur.push(c),
                        None => anyhow::bail!("unterminated double quote in {cmd:?}"),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(c) = chars.next() {
                    cur.push(c);
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    if words.is_empty() {
        anyhow::bail!("empty command");
    }
    Ok(words)
}

/// First Ctrl-C: finish the current run, then stop. Second: leave at once.
pub(super) fn install_ctrl_c(stop: Arc<AtomicBool>) {
    let result = ctrlc::set_handler(move || {
        if stop.swap(true, Ordering::SeqCst) {
            std::process::exit(INTERRUPTED);
        }
        eprintln!("\ninterrupted: stopping after the current run (Ctrl-C again to quit now)");
    });
    if let Err(e) = result {
        eprintln!("warning: cannot handle Ctrl-C: {e}");
    }
}

/// A one-line progress indicator on stderr (only on a terminal), plus warnings.
pub(super) struct RoundProgress {
    live: bool,
    prefix: String,
}

impl RoundProgress {
    /// Live progress only when stderr is a terminal and the output is a table.
    pub(super) fn new(table: bool) -> Self {
        RoundProgress { live: table && std::io::stderr().is_terminal(), prefix: String::new() }
    }

    /// Text shown before the round counter (e.g. the case name).
    pub(super) fn set_prefix(&mut self, prefix: String) {
        self.prefix = prefix;
    }

    /// Reacts to one engine event.
    pub(super) fn event(&mut self, e: &InterleaveEvent<'_>) {
        match e {
            InterleaveEvent::RoundDone { round, elapsed, max_time } if self.live => {
                eprint!(
                    "\r\x1b[2K{}round {} · {:.1}/{:.0} s",
                    self.prefix,
                    round.index,
                    elapsed.as_secs_f64(),
                    max_time.as_secs_f64()
                );
            }
            InterleaveEvent::Warning { side, message } => {
                self.finish();
                eprintln!("warning: {}: {message}", side.as_str());
            }
            _ => {}
        }
    }

    /// Clears the progress line.
    pub(super) fn finish(&mut self) {
        if self.live {
            eprint!("\r\x1b[2K");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::split_command;

    #[test]
    fn splits_like_a_shell() {
        assert_eq!(
            split_command("a b  'c d' \"e \\\"f\\\"\" g\\ h").unwrap(),
            ["a", "b", "c d", "e \"f\"", "g h"]
        );
        assert_eq!(split_command("x ''").unwrap(), ["x", ""]);
        assert!(split_command("  ").is_err());
        assert!(split_command("'open").is_err());
    }
}

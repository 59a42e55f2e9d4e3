//! Randomized multiple interleaved trials (RMIT; Abedi & Brecht, "Conducting repeatable
//! experiments in highly variable cloud computing environments", ICPE 2017): the measuring
//! engine of `perfwatch ab` and `compare --rev`.
//!
//! Two contenders A and B are measured in *rounds*; each round runs both once, in an order
//! drawn afresh from a seeded RNG. Because both runs of a round see nearly the same machine,
//! slow drift cancels in the paired ratio, and the random order removes order effects.
//!
//! The engine knows nothing about statistics: after every round it asks a [`Decision`]
//! whether to stop (perfwatch-detect's `SequentialRule` in practice), and it stops by itself
//! only when the time or round budget is used up, a run fails, the stop flag is set, or the
//! executor breaks. Progress is pushed as [`InterleaveEvent`]s.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use perfwatch_model::{
    Better, CaseFailure, CaseReport, CaseStatus, ExitKind, MetricInfo, Sample, builtin_metric,
};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::executor::{ExecOutcome, ExecRequest, Executor, Stream};
use crate::metric::parse_metric_line;

/// One side of an A/B comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Contender {
    /// Short name for messages (`A`, `B`, a revision).
    pub label: String,
    /// The measured command.
    pub command: ExecRequest,
    /// Run before every run of `command`, unmeasured (a suite's `prepare` hook).
    pub prepare: Option<ExecRequest>,
    /// Declared unit and direction of custom metrics (`[bench.metrics]`).
    pub metrics: BTreeMap<String, MetricInfo>,
}

impl Contender {
    /// A contender with just a command.
    pub fn new(label: impl Into<String>, command: ExecRequest) -> Self {
        Contender { label: label.into(), command, prepare: None, metrics: BTreeMap::new() }
    }
}

/// Which contender.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The reference (baseline).
    A,
    /// The candidate.
    B,
}

impl Side {
    /// `A` / `B`.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::A => "A",
            Side::B => "B",
        }
    }
}

/// Budget and schedule of an interleaved comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct InterleaveOptions {
    /// Unmeasured runs of each contender before the first round (alternating A, B).
    pub warmup: u32,
    /// Rounds always run: neither the decision nor the time budget can stop earlier.
    pub min_rounds: u32,
    /// Hard cap on rounds.
    pub max_rounds: u32,
    /// Measuring time budget, counted from the first measured round. Checked between rounds,
    /// so the last round may end a little after it.
    pub max_time: Duration,
    /// Seed of the random round order.
    pub seed: u64,
}

impl Default for InterleaveOptions {
    fn default() -> Self {
        InterleaveOptions {
            warmup: 1,
            min_rounds: 10,
            max_rounds: 100_000,
            max_time: Duration::from_secs(60),
            seed: 0,
        }
    }
}

/// One measured round.
#[derive(Debug, Clone, PartialEq)]
pub struct Round {
    /// 1-based round number.
    pub index: u32,
    /// B ran first in this round.
    pub b_first: bool,
    /// A's measurement.
    pub a: Sample,
    /// B's measurement.
    pub b: Sample,
}

/// Decides after each round whether measuring can stop.
pub trait Decision {
    /// Called after every round once `min_rounds` rounds exist; `true` stops measuring.
    fn stop_after(&mut self, rounds: &[Round]) -> bool;
}

impl<F: FnMut(&[Round]) -> bool> Decision for F {
    fn stop_after(&mut self, rounds: &[Round]) -> bool {
        self(rounds)
    }
}

/// A decision that never stops early (fixed budget).
#[derive(Debug, Default, Clone, Copy)]
pub struct NeverStop;

impl Decision for NeverStop {
    fn stop_after(&mut self, _rounds: &[Round]) -> bool {
        false
    }
}

/// Why measuring ended.
#[derive(Debug, Clone, PartialEq)]
pub enum StopReason {
    /// The [`Decision`] said stop.
    Decided,
    /// `max_time` was used up.
    TimeBudget,
    /// `max_rounds` rounds were run.
    RoundBudget,
    /// A run (warm-up or measured) or a prepare hook failed; the rounds before it are kept.
    Failed {
        /// Whose run.
        side: Side,
        /// What happened.
        failure: CaseFailure,
    },
    /// The stop flag was set (Ctrl-C).
    Interrupted,
    /// The executor itself broke.
    Aborted {
        /// What broke.
        message: String,
    },
}

impl StopReason {
    /// The `stopped` field of a comparison report: `verdict`, `budget`, or another word
    /// (`failed`, `interrupted`, `aborted`).
    pub fn as_str(&self) -> &'static str {
        match self {
            StopReason::Decided => "verdict",
            StopReason::TimeBudget | StopReason::RoundBudget => "budget",
            StopReason::Failed { .. } => "failed",
            StopReason::Interrupted => "interrupted",
            StopReason::Aborted { .. } => "aborted",
        }
    }
}

/// Progress of an interleaved comparison.
#[derive(Debug)]
pub enum InterleaveEvent<'a> {
    /// A warm-up run finished.
    WarmupDone {
        /// Whose.
        side: Side,
        /// 1-based warm-up number.
        run: u32,
        /// Warm-ups per side.
        of: u32,
        /// Its wall time.
        wall: f64,
    },
    /// A round finished.
    RoundDone {
        /// The round.
        round: &'a Round,
        /// Measuring time so far.
        elapsed: Duration,
        /// The time budget.
        max_time: Duration,
    },
    /// Something to tell the user (a malformed metric line), once per distinct message.
    Warning {
        /// Whose output.
        side: Side,
        /// The text.
        message: String,
    },
}

/// What an interleaved comparison measured.
#[derive(Debug, Clone, PartialEq)]
pub struct InterleaveOutcome {
    /// Complete rounds, in order.
    pub rounds: Vec<Round>,
    /// Why it ended.
    pub stopped: StopReason,
    /// Measuring time from the first round to the end.
    pub elapsed: Duration,
    /// Unit and direction of every custom metric seen (declaration first, then the line).
    pub metrics: BTreeMap<String, MetricInfo>,
}

impl InterleaveOutcome {
    /// The values of `metric` for A and B, round by round (rounds where either lacks it are
    /// skipped). Built-in metrics and custom ones alike.
    pub fn paired(&self, metric: &str) -> (Vec<f64>, Vec<f64>) {
        self.rounds.iter().filter_map(|r| Some((r.a.metric(metric)?, r.b.metric(metric)?))).unzip()
    }

    /// Names of the metrics to compare: wall, cpu (user + sys) and max_rss, then the custom
    /// metrics present in the rounds.
    pub fn metric_names(&self) -> Vec<String> {
        let mut names: Vec<String> = ["wall", "cpu", "max_rss"].map(String::from).to_vec();
        names.extend(self.metrics.keys().cloned());
        names
    }

    /// Unit and direction of a metric (built-in or custom; lower-is-better when unknown).
    pub fn metric_info(&self, metric: &str) -> MetricInfo {
        builtin_metric(metric)
            .or_else(|| self.metrics.get(metric).cloned())
            .unwrap_or_else(|| MetricInfo::new("", Better::Lower))
    }
}

/// Runs A and B in randomized interleaved rounds until `decision` says stop or a budget runs
/// out (see the module docs). Warm-ups alternate A, B. `stop` is checked between runs.
pub fn run_interleaved(
    a: &Contender,
    b: &Contender,
    opts: &InterleaveOptions,
    executor: &mut dyn Executor,
    decision: &mut dyn Decision,
    events: &mut dyn FnMut(&InterleaveEvent<'_>),
    stop: &AtomicBool,
) -> InterleaveOutcome {
    let mut engine =
        Engine { executor, events, stop, metrics: BTreeMap::new(), warned: std::collections::HashSet::new() };
    let mut rounds = Vec::new();
    let mut rng = StdRng::seed_from_u64(opts.seed);
    let mut start = engine.executor.now();
    let stopped = (|| -> Result<std::convert::Infallible, StopReason> {
        for w in 1..=opts.warmup {
            for (side, c) in [(Side::A, a), (Side::B, b)] {
                let outcome = engine.measure(side, c)?;
                (engine.events)(&InterleaveEvent::WarmupDone {
                    side,
                    run: w,
                    of: opts.warmup,
                    wall: outcome.wall,
                });
            }
        }
        start = engine.executor.now();
        loop {
            let n = rounds.len() as u32;
            if n >= opts.max_rounds {
                return Err(StopReason::RoundBudget);
            }
            if n >= opts.min_rounds.max(1) && engine.executor.now().saturating_sub(start) >= opts.max_time {
                return Err(StopReason::TimeBudget);
            }
            let b_first = rng.random_bool(0.5);
            let order = if b_first { [(Side::B, b), (Side::A, a)] } else { [(Side::A, a), (Side::B, b)] };
            let mut pair: [Option<Sample>; 2] = [None, None];
            for (side, c) in order {
                let outcome = engine.measure(side, c)?;
                let metrics = engine.custom_metrics(side, c, &outcome);
                let sample = Sample {
                    wall: outcome.wall,
                    user: outcome.user,
                    sys: outcome.sys,
                    max_rss: outcome.max_rss,
                    exit: outcome.exit,
                    metrics,
                };
                pair[if side == Side::A { 0 } else { 1 }] = Some(sample);
            }
            let [Some(sa), Some(sb)] = pair else { unreachable!("both sides ran") };
            rounds.push(Round { index: n + 1, b_first, a: sa, b: sb });
            let round = rounds.last().expect("just pushed");
            (engine.events)(&InterleaveEvent::RoundDone {
                round,
                elapsed: engine.executor.now().saturating_sub(start),
                max_time: opts.max_time,
            });
            if rounds.len() as u32 >= opts.min_rounds && decision.stop_after(&rounds) {
                return Err(StopReason::Decided);
            }
        }
    })()
    .unwrap_err();
    let elapsed = engine.executor.now().saturating_sub(start);
    InterleaveOutcome { rounds, stopped, elapsed, metrics: engine.metrics }
}

struct Engine<'a> {
    executor: &'a mut dyn Executor,
    events: &'a mut dyn FnMut(&InterleaveEvent<'_>),
    stop: &'a AtomicBool,
    metrics: BTreeMap<String, MetricInfo>,
    warned: std::collections::HashSet<(Side, String)>,
}

impl Engine<'_> {
    /// Prepare hook (if any) and one run of `c`; a failure of either ends measuring.
    fn measure(&mut self, side: Side, c: &Contender) -> Result<ExecOutcome, StopReason> {
        if self.stop.load(Ordering::SeqCst) {
            return Err(StopReason::Interrupted);
        }
        if let Some(prepare) = &c.prepare {
            let outcome = self.exec(prepare)?;
            if !outcome.exit.is_success() {
                return Err(failed(side, format!("{}: prepare hook", c.label), &outcome));
            }
        }
        let outcome = self.exec(&c.command)?;
        if !outcome.exit.is_success() {
            return Err(failed(side, format!("{}: `{}`", c.label, c.command.argv.join(" ")), &outcome));
        }
        Ok(outcome)
    }

    fn exec(&mut self, req: &ExecRequest) -> Result<ExecOutcome, StopReason> {
        let mut sink = |_: Stream, _: &[u8]| {};
        self.executor.execute(req, &mut sink).map_err(|e| StopReason::Aborted { message: e.to_string() })
    }

    /// Values of the custom metric lines of a measured run (last one wins); malformed lines
    /// become warnings.
    fn custom_metrics(&mut self, side: Side, c: &Contender, outcome: &ExecOutcome) -> BTreeMap<String, f64> {
        let mut values = BTreeMap::new();
        for raw in &outcome.metric_lines {
            match parse_metric_line(&raw.text) {
                Ok(line) => {
                    if !self.metrics.contains_key(&line.name) {
                        let info = line.info(c.metrics.get(&line.name)).unwrap_or_else(|| {
                            self.warn(
                                side,
                                format!(
                                    "metric `{}` does not say better=; assuming lower is better",
                                    line.name
                                ),
                            );
                            MetricInfo::new(line.unit.clone().unwrap_or_default(), Better::Lower)
                        });
                        self.metrics.insert(line.name.clone(), info);
                    }
                    values.insert(line.name, line.value);
                }
                Err(e) => self.warn(
                    side,
                    format!("malformed metric line ({} line {}): {e}", raw.stream.as_str(), raw.line_no),
                ),
            }
        }
        values
    }

    fn warn(&mut self, side: Side, message: String) {
        if self.warned.insert((side, message.clone())) {
            (self.events)(&InterleaveEvent::Warning { side, message });
        }
    }
}

fn failed(side: Side, what: String, outcome: &ExecOutcome) -> StopReason {
    StopReason::Failed {
        side,
        failure: CaseFailure {
            message: format!("{what} {}", outcome.exit),
            exit: outcome.exit.clone(),
            stderr_tail: outcome.stderr_tail.clone(),
        },
    }
}

/// A [`CaseReport`] of one side's measured samples, for saving each side as a run: the same
/// summaries and caveats as `run_plan` gives (`throughput` = items per run when declared).
pub fn side_report(
    id: &perfwatch_model::CaseId,
    samples: &[Sample],
    metrics: &BTreeMap<String, MetricInfo>,
    throughput: Option<f64>,
    failure: Option<CaseFailure>,
) -> CaseReport {
    let mut summaries = BTreeMap::new();
    if !samples.is_empty() {
        let mut add = |name: &str, values: Vec<f64>, info: MetricInfo| {
            if !values.is_empty() {
                summaries.insert(name.to_string(), perfwatch_stats::summarize(&values, &info));
            }
        };
        for name in ["wall", "user", "sys", "cpu", "max_rss"] {
            if let Some(info) = builtin_metric(name) {
                add(name, samples.iter().filter_map(|s| s.metric(name)).collect(), info);
            }
        }
        if let (Some(items), Some(info)) = (throughput, builtin_metric("throughput")) {
            add(
                "throughput",
                samples.iter().filter(|s| s.wall > 0.0).map(|s| items / s.wall).collect(),
                info,
            );
        }
        for (name, info) in metrics {
            add(name, samples.iter().filter_map(|s| s.metrics.get(name).copied()).collect(), info.clone());
        }
    }
    let walls: Vec<f64> = samples.iter().map(|s| s.wall).collect();
    let caveats = crate::run::caveats(&walls, summaries.get("wall"), None);
    let status = match &failure {
        None => CaseStatus::Ok,
        Some(f) if f.exit == ExitKind::TimedOut => CaseStatus::Timeout,
        Some(_) => CaseStatus::Failed,
    };
    CaseReport {
        case: id.clone(),
        status,
        runs: samples.len() as u32,
        caveats,
        metrics: summaries,
        failure,
        raw: samples.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::executor::{RawMetricLine, ScriptedExecutor};

    fn req(name: &str) -> ExecRequest {
        ExecRequest {
            argv: vec![name.to_string()],
            cwd: PathBuf::from("/"),
            env: BTreeMap::new(),
            timeout: None,
            forward_output: false,
            kill_leftovers: false,
            metrics_file: false,
            gpu_interval: None,
        }
    }

    /// An executor that answers by command name: `a` takes 1.0 s, `b` 1.1 s.
    struct ByName(Vec<String>);

    impl Executor for ByName {
        fn execute(
            &mut self,
            req: &ExecRequest,
            _output: &mut dyn FnMut(Stream, &[u8]),
        ) -> Result<ExecOutcome, crate::ExecutorError> {
            self.0.push(req.argv[0].clone());
            let wall = if req.argv[0] == "b" { 1.1 } else { 1.0 };
            let mut out = ExecOutcome::ok(wall);
            out.user = wall / 2.0;
            out.metric_lines.push(RawMetricLine {
                stream: Stream::Stdout,
                line_no: 1,
                text: format!("perfwatch-metric name=ops value={} better=higher", 10.0 / wall),
                truncated: false,
            });
            Ok(out)
        }
    }

    fn opts(rounds: u32, seed: u64) -> InterleaveOptions {
        InterleaveOptions {
            warmup: 1,
            min_rounds: 2,
            max_rounds: rounds,
            max_time: Duration::from_secs(3600),
            seed,
        }
    }

    #[test]
    fn rounds_pair_a_and_b_in_a_seeded_random_order() {
        let (a, b) = (Contender::new("A", req("a")), Contender::new("B", req("b")));
        let run = |seed| {
            let mut ex = ByName(Vec::new());
            let out = run_interleaved(
                &a,
                &b,
                &opts(40, seed),
                &mut ex,
                &mut NeverStop,
                &mut |_| {},
                &AtomicBool::new(false),
            );
            (out, ex.0)
        };
        let (out, calls) = run(1);
        assert_eq!(out.stopped, StopReason::RoundBudget);
        assert_eq!(out.rounds.len(), 40);
        // Warm-up A then B, then every round has one of each.
        assert_eq!(&calls[..2], ["a", "b"]);
        for (r, pair) in out.rounds.iter().zip(calls[2..].chunks(2)) {
            let expect = if r.b_first { ["b", "a"] } else { ["a", "b"] };
            assert_eq!(pair, expect);
            assert_eq!((r.a.wall, r.b.wall), (1.0, 1.1));
            assert_eq!(r.b.metrics["ops"], 10.0 / 1.1);
        }
        let b_first = out.rounds.iter().filter(|r| r.b_first).count();
        assert!((8..=32).contains(&b_first), "{b_first}");
        // Same seed, same schedule; another seed, another one.
        assert_eq!(run(1).1, calls);
        assert_ne!(run(2).1, calls);
        assert_eq!(out.metrics["ops"].better, Better::Higher);
        let (xa, xb) = out.paired("cpu");
        assert_eq!((xa[0], xb[0]), (0.5, 0.55));
    }

    #[test]
    fn decision_is_asked_after_min_rounds_and_can_stop() {
        let (a, b) = (Contender::new("A", req("a")), Contender::new("B", req("b")));
        let mut asked = Vec::new();
        let mut decide = |rounds: &[Round]| {
            asked.push(rounds.len());
            rounds.len() == 5
        };
        let mut seen = 0;
        let out = run_interleaved(
            &a,
            &b,
            &InterleaveOptions { min_rounds: 3, ..opts(100, 0) },
            &mut ByName(Vec::new()),
            &mut decide,
            &mut |e| seen += matches!(e, InterleaveEvent::RoundDone { .. }) as u32,
            &AtomicBool::new(false),
        );
        assert_eq!(out.stopped, StopReason::Decided);
        assert_eq!(asked, vec![3, 4, 5]);
        assert_eq!(seen, 5);
        assert_eq!(out.stopped.as_str(), "verdict");
    }

    #[test]
    fn time_budget_ends_after_min_rounds() {
        let (a, b) = (Contender::new("A", req("a")), Contender::new("B", req("b")));
        let o = InterleaveOptions { min_rounds: 4, max_time: Duration::ZERO, ..opts(100, 0) };
        let out = run_interleaved(
            &a,
            &b,
            &o,
            &mut ByName(Vec::new()),
            &mut NeverStop,
            &mut |_| {},
            &AtomicBool::new(false),
        );
        assert_eq!(out.stopped, StopReason::TimeBudget);
        assert_eq!(out.rounds.len(), 4);
        assert_eq!(out.stopped.as_str(), "budget");
    }

    #[test]
    fn a_failing_run_stops_and_keeps_earlier_rounds() {
        let mut fail = ExecOutcome::ok(1.0);
        fail.exit = ExitKind::Exited { code: 2 };
        // Warm-ups (2) + 3 rounds (6), then a failure.
        let mut outcomes = vec![ExecOutcome::ok(1.0); 8];
        outcomes.push(fail);
        let mut ex = ScriptedExecutor::new(outcomes);
        let (a, b) = (Contender::new("A", req("a")), Contender::new("B", req("b")));
        let out = run_interleaved(
            &a,
            &b,
            &opts(100, 3),
            &mut ex,
            &mut NeverStop,
            &mut |_| {},
            &AtomicBool::new(false),
        );
        assert_eq!(out.rounds.len(), 3);
        match out.stopped {
            StopReason::Failed { failure, .. } => assert!(failure.message.contains("exited with status 2")),
            other => panic!("{other:?}"),
        }
        // An exhausted script is a broken executor.
        let out = run_interleaved(
            &a,
            &b,
            &opts(100, 3),
            &mut ScriptedExecutor::new([]),
            &mut NeverStop,
            &mut |_| {},
            &AtomicBool::new(false),
        );
        assert!(matches!(out.stopped, StopReason::Aborted { .. }));
    }

    #[test]
    fn stop_flag_interrupts() {
        let (a, b) = (Contender::new("A", req("a")), Contender::new("B", req("b")));
        let out = run_interleaved(
            &a,
            &b,
            &opts(100, 0),
            &mut ByName(Vec::new()),
            &mut NeverStop,
            &mut |_| {},
            &AtomicBool::new(true),
        );
        assert_eq!(out.stopped, StopReason::Interrupted);
        assert!(out.rounds.is_empty());
    }

    #[test]
    fn prepare_runs_before_every_run() {
        let mut a = Contender::new("A", req("a"));
        a.prepare = Some(req("prep"));
        let b = Contender::new("B", req("b"));
        let mut ex = ByName(Vec::new());
        run_interleaved(
            &a,
            &b,
            &InterleaveOptions { warmup: 0, ..opts(3, 0) },
            &mut ex,
            &mut NeverStop,
            &mut |_| {},
            &AtomicBool::new(false),
        );
        assert_eq!(ex.0.iter().filter(|c| *c == "prep").count(), 3);
        assert_eq!(ex.0.iter().filter(|c| *c == "a").count(), 3);
    }
}

//! Events pushed from the run loop to its consumers (progress bar, live store, output).
//!
//! The run loop owns the measuring; consumers only react. Push style keeps the loop free of
//! any knowledge of terminals or databases, and a consumer sees every run the moment it is
//! measured (so a store can save as it goes and a crash loses at most one run).

use std::time::Duration;

use perfwatch_model::{CaseId, CasePlan, CaseReport, Sample};

use crate::executor::Stream;

/// Which command of a case an event or warning is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The `setup` hook.
    Setup,
    /// The `prepare` hook before a run.
    Prepare,
    /// An unmeasured warm-up run.
    Warmup,
    /// A measured run.
    Measured,
    /// The `cleanup` hook.
    Cleanup,
    /// The run under Valgrind that counts instructions (`[bench.instr]`).
    Instructions,
}

impl Phase {
    /// Lowercase name (`setup`, `warmup`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Setup => "setup",
            Phase::Prepare => "prepare",
            Phase::Warmup => "warmup",
            Phase::Measured => "run",
            Phase::Cleanup => "cleanup",
            Phase::Instructions => "instructions",
        }
    }
}

/// A malformed `perfwatch-metric` line, located precisely enough to find it.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricWarning {
    /// The case whose command printed it.
    pub case: CaseId,
    /// Warm-up or measured run.
    pub phase: Phase,
    /// 1-based number of the run within its phase.
    pub run: u32,
    /// Which stream.
    pub stream: Stream,
    /// 1-based line number within that stream's output of that run (0 when not about one line).
    pub line_no: u64,
    /// The offending line (cut to a reasonable length).
    pub line: String,
    /// What is wrong with it.
    pub message: String,
}

impl std::fmt::Display for MetricWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} {} {}, line {}: {}",
            self.case,
            self.phase.as_str(),
            self.run,
            self.stream.as_str(),
            self.line_no,
            self.message
        )?;
        if !self.line.is_empty() {
            write!(f, ": {:?}", self.line)?;
        }
        Ok(())
    }
}

/// How a suite ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SuiteEnd {
    /// Every case was attempted (some may have failed).
    Complete,
    /// Stopped by the user (the stop flag); finished cases and the partial case are reported.
    Interrupted,
    /// The executor itself broke (e.g. the spawner died); measuring could not go on.
    Aborted {
        /// What broke.
        message: String,
    },
}

/// One event of a run, in the order they happen.
#[derive(Debug)]
pub enum Event<'a> {
    /// Measuring starts.
    SuiteStarted {
        /// Cases that will be run.
        cases: usize,
    },
    /// A case starts (its setup hook is about to run).
    CaseStarted {
        /// 0-based position in the plan.
        index: usize,
        /// The case.
        case: &'a CasePlan,
    },
    /// One warm-up run finished.
    WarmupDone {
        /// The case.
        case: &'a CaseId,
        /// 1-based warm-up number.
        run: u32,
        /// Warm-ups configured.
        of: u32,
        /// Wall seconds of the warm-up.
        wall: f64,
    },
    /// One measured run finished (successful or not); `sample` is kept in the case report.
    RunDone {
        /// The case.
        case: &'a CaseId,
        /// 1-based number of this measured run.
        run: u32,
        /// Upper bound of runs (`max_runs`); adaptive stopping usually ends earlier.
        max_runs: u32,
        /// Measuring time used so far for this case.
        elapsed: Duration,
        /// Measuring time allowed (`max_time`).
        max_time: Duration,
        /// The measurement.
        sample: &'a Sample,
    },
    /// Output of a command (only with `--show-output`).
    Output {
        /// The case.
        case: &'a CaseId,
        /// Which command.
        phase: Phase,
        /// Which stream.
        stream: Stream,
        /// A chunk of bytes, not necessarily whole lines.
        data: &'a [u8],
    },
    /// A malformed metric line.
    MetricWarning(&'a MetricWarning),
    /// Something worth telling the user that does not fail the case (a failing cleanup hook).
    Warning {
        /// The case.
        case: &'a CaseId,
        /// The text.
        message: String,
    },
    /// The profile of the case's run under callgrind (`[bench.instr] tool = "callgrind"`),
    /// for the store to keep beside the run (`perfwatch explain` diffs stored profiles).
    Profile {
        /// The case.
        case: &'a CaseId,
        /// Its folded stacks.
        profile: &'a perfwatch_model::Profile,
    },
    /// A case is done; its report is final.
    CaseFinished {
        /// 0-based position in the plan.
        index: usize,
        /// The report.
        report: &'a CaseReport,
    },
    /// Measuring ended.
    SuiteFinished {
        /// How.
        end: &'a SuiteEnd,
    },
}

/// Receives the events of a run.
pub trait Sink {
    /// Called for every event, in order, on the measuring thread; keep it quick (it runs
    /// between benchmark runs, never inside the timed window).
    fn event(&mut self, event: &Event<'_>);
}

/// A sink that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NullSink;

impl Sink for NullSink {
    fn event(&mut self, _event: &Event<'_>) {}
}

impl<F: FnMut(&Event<'_>)> Sink for F {
    fn event(&mut self, event: &Event<'_>) {
        self(event)
    }
}

//! perfwatch's use cases, one module each, composed from the stage crates
//! (config → runner → stats/detect → store → report):
//!
//! | module | use case |
//! |---|---|
//! | [`project`] | finding the suite and its store, loading the plan, resolving runs |
//! | [`measure`] | measure a suite and save the run as it goes (budgets, caveats) |
//! | [`compare`] | compare stored runs: baseline choice, thresholds and budgets from the suite |
//! | [`baseline`] | named baselines, `update --if-better` |
//! | [`interleaved`] | side by side: `ab`, `compare --rev` and `bisect` (paired rounds, worktrees, builds) |
//! | [`backfill`] | measure past commits, each run dated with its commit |
//! | [`import`] | results of other harnesses (hyperfine, criterion, gbench, …) stored as a run |
//! | [`history`] | histories and change points: detect, store, alert once; the dashboard's marks |
//! | [`push`] | send runs to a team server, with retries |
//! | [`team`] | API tokens of the team server |
//! | [`site`] | the static HTML report, and the overview data the live dashboard shares |
//! | [`maintain`] | pruning old runs |
//!
//! Everything is synchronous and clap-free. Commands are run through the runner's
//! [`Executor`](perfwatch_runner::Executor) — benchmarks, builds and hooks alike — so every use
//! case runs the same against real processes ([`perfwatch_runner::SpawnerExecutor`]) and
//! against a [`ScriptedExecutor`](perfwatch_runner::ScriptedExecutor) in deterministic tests.
//! What a person should see while a use case works goes to a [`Ui`]; what it found goes back
//! as a document plus an [`Outcome`], which front ends turn into exit codes or HTTP answers.
//!
//! ```
//! use perfwatch_app::Outcome;
//! let o = Outcome { runs_failed: true, ..Outcome::default() };
//! assert!(!o.gate_failed && o.runs_failed);
//! ```

pub mod backfill;
pub mod baseline;
pub mod ci;
pub mod compare;
mod error;
pub mod explain;
pub mod git;
pub mod history;
pub mod import;
pub mod interleaved;
mod lease;
pub mod maintain;
pub mod measure;
pub mod project;
pub mod push;
pub mod site;
pub mod team;

pub use error::{AppError, ErrorKind, Result, StoreContext};

use perfwatch_model::CaseId;
use perfwatch_runner::{Event, InterleaveEvent};

/// What a command found besides its document: the facts its exit code is made of
/// (design §6). Front ends map them; the use cases never pick exit codes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outcome {
    /// A gate failed: a regression, a budget breach, or (when asked) an inconclusive verdict.
    pub gate_failed: bool,
    /// A benchmark run failed (non-zero exit, signal, timeout, a failing hook).
    pub runs_failed: bool,
    /// Something was measured but the store could not save it (the document still holds it).
    pub store_failed: bool,
    /// Ctrl-C stopped measuring; what finished is kept.
    pub interrupted: bool,
}

impl Outcome {
    /// Both sets of facts.
    pub fn merge(self, other: Outcome) -> Outcome {
        Outcome {
            gate_failed: self.gate_failed || other.gate_failed,
            runs_failed: self.runs_failed || other.runs_failed,
            store_failed: self.store_failed || other.store_failed,
            interrupted: self.interrupted || other.interrupted,
        }
    }
}

/// Where a use case tells a person what it is doing (the CLI draws it on stderr; tests record
/// it). Only `info` and `warn` are required.
pub trait Ui {
    /// A plain message (`saved run … to …`).
    fn info(&mut self, message: &str);
    /// Something went wrong that does not stop the command.
    fn warn(&mut self, message: &str);
    /// Progress of measuring a suite.
    fn suite_event(&mut self, _event: &Event<'_>) {}
    /// Progress of a side-by-side comparison (`case` is `None` for `ab`).
    fn round_event(&mut self, _case: Option<&CaseId>, _event: &InterleaveEvent<'_>) {}
    /// Output of a build command or a hook, for the person to read.
    fn tool_output(&mut self, _bytes: &[u8]) {}
}

/// A [`Ui`] that drops everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct SilentUi;

impl Ui for SilentUi {
    fn info(&mut self, _message: &str) {}
    fn warn(&mut self, _message: &str) {}
}

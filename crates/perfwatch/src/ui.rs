//! What the user sees on stderr while a command works: progress bars (only on a terminal),
//! messages and warnings, build output, and the benchmarks' own output with
//! `--show-output`. Results go to stdout (see `output`).

use std::io::{IsTerminal, Write};

use indicatif::{ProgressBar, ProgressStyle};
use perfwatch_app::Ui;
use perfwatch_model::CaseId;
use perfwatch_runner::{Event, InterleaveEvent};

/// How much the user asked to see: set once from `-q` / `-v` before any command runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// Results, warnings and errors only.
    Quiet,
    /// Also progress and notes.
    Normal,
    /// Also where things were found and every measured run.
    Verbose,
}

static VERBOSITY: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(1);

/// Sets the verbosity of every [`Term`].
pub fn set_verbosity(v: Verbosity) {
    VERBOSITY.store(v as u8, std::sync::atomic::Ordering::Relaxed);
}

/// The verbosity set by [`set_verbosity`].
pub fn verbosity() -> Verbosity {
    match VERBOSITY.load(std::sync::atomic::Ordering::Relaxed) {
        0 => Verbosity::Quiet,
        1 => Verbosity::Normal,
        _ => Verbosity::Verbose,
    }
}

/// The terminal's [`Ui`].
pub struct Term {
    bar: Option<ProgressBar>,
    show_output: bool,
}

impl Term {
    /// Bars are drawn only when stderr is a terminal and `live` (no bar over a JSON stream).
    pub fn new(live: bool, show_output: bool) -> Term {
        let live = live && verbosity() == Verbosity::Normal;
        let bar = (live && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new(0);
            bar.set_style(
                // The bar is the share of cases done (`run`) or of the time budget used
                // (`ab`, `compare --rev`); the message says which.
                ProgressStyle::with_template("{prefix:.bold} [{bar:24}] {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.set_prefix("perfwatch");
            bar
        });
        Term { bar, show_output }
    }

    /// Writes to stderr without tearing the bar.
    fn write(&self, bytes: &[u8]) {
        let write = || {
            let _ = std::io::stderr().write_all(bytes);
        };
        match &self.bar {
            Some(bar) => bar.suspend(write),
            None => write(),
        }
    }

    /// `case 3/8 · ` while a suite runs.
    fn cases(&self) -> String {
        self.bar
            .as_ref()
            .map_or(String::new(), |b| format!("case {}/{} · ", b.position() + 1, b.length().unwrap_or(0)))
    }

    fn message(&self, text: String) {
        if let Some(bar) = &self.bar {
            bar.set_message(text);
        }
    }
}

impl Drop for Term {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Ui for Term {
    fn info(&mut self, message: &str) {
        if verbosity() > Verbosity::Quiet {
            self.write(format!("{message}\n").as_bytes());
        }
    }

    fn warn(&mut self, message: &str) {
        self.write(format!("warning: {message}\n").as_bytes());
    }

    fn suite_event(&mut self, event: &Event<'_>) {
        match event {
            Event::SuiteStarted { cases } => {
                self.bar.iter().for_each(|b| b.set_length(*cases as u64));
            }
            Event::CaseStarted { case, .. } => self.message(format!("{}{} (setup)", self.cases(), case.id)),
            Event::WarmupDone { case, run, of, .. } => {
                self.message(format!("{}{case} warm-up {run}/{of}", self.cases()))
            }
            Event::RunDone { case, run, elapsed, max_time, sample, .. } => {
                if verbosity() == Verbosity::Verbose {
                    self.write(
                        format!("{case} run {run}: wall {:.6} s, {} \n", sample.wall, sample.exit).as_bytes(),
                    );
                }
                self.message(format!(
                    "{}{case} run {run} · {:.1}/{:.0} s",
                    self.cases(),
                    elapsed.as_secs_f64(),
                    max_time.as_secs_f64()
                ))
            }
            Event::Output { data, .. } if self.show_output => self.write(data),
            Event::Output { .. } => {}
            Event::MetricWarning(w) => self.warn(&format!("malformed metric line in {w}")),
            Event::Warning { case, message } => self.warn(&format!("{case}: {message}")),
            Event::Profile { .. } => {}
            Event::CaseFinished { report, .. } => {
                self.bar.iter().for_each(|b| b.inc(1));
                if let Some(f) = &report.failure {
                    self.info(&format!("{}: {}", report.case, f.message));
                }
            }
            Event::SuiteFinished { .. } => self.bar.iter().for_each(ProgressBar::finish_and_clear),
        }
    }

    fn round_event(&mut self, case: Option<&CaseId>, event: &InterleaveEvent<'_>) {
        let prefix = case.map(|c| format!("{c} · ")).unwrap_or_default();
        match event {
            InterleaveEvent::WarmupDone { side, run, of, .. } => {
                self.message(format!("{prefix}warm-up {} {run}/{of}", side.as_str()))
            }
            InterleaveEvent::RoundDone { round, elapsed, max_time } => {
                if let Some(bar) = &self.bar {
                    bar.set_length(max_time.as_millis() as u64);
                    bar.set_position((elapsed.as_millis() as u64).min(max_time.as_millis() as u64));
                }
                self.message(format!(
                    "{prefix}round {} · {:.1}/{:.0} s",
                    round.index,
                    elapsed.as_secs_f64(),
                    max_time.as_secs_f64()
                ));
            }
            InterleaveEvent::Warning { side, message } => self.warn(&format!("{}: {message}", side.as_str())),
        }
    }

    fn tool_output(&mut self, bytes: &[u8]) {
        self.write(bytes);
    }
}

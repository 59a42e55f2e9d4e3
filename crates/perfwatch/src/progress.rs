//! What the user sees on stderr while a suite runs: a progress bar (only on a terminal),
//! warnings, and the benchmarks' own output with `--show-output`.

use std::io::{IsTerminal, Write};

use indicatif::{ProgressBar, ProgressStyle};
use perfwatch_runner::{Event, Sink};

/// A [`Sink`] drawing progress and relaying warnings to stderr.
pub struct Progress {
    bar: Option<ProgressBar>,
    show_output: bool,
}

impl Progress {
    /// A bar is drawn only when stderr is a terminal.
    pub fn new(show_output: bool) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template("{prefix:.bold} [{bar:24}] {pos}/{len} cases · {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.set_prefix("perfwatch");
            bar
        });
        Progress { bar, show_output }
    }

    fn say(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }
}

impl Sink for Progress {
    fn event(&mut self, event: &Event<'_>) {
        match event {
            Event::SuiteStarted { cases } => {
                if let Some(bar) = &self.bar {
                    bar.set_length(*cases as u64);
                }
            }
            Event::CaseStarted { case, .. } => {
                if let Some(bar) = &self.bar {
                    bar.set_message(format!("{} (setup)", case.id));
                }
            }
            Event::WarmupDone { case, run, of, .. } => {
                if let Some(bar) = &self.bar {
                    bar.set_message(format!("{case} warm-up {run}/{of}"));
                }
            }
            Event::RunDone { case, run, elapsed, max_time, .. } => {
                if let Some(bar) = &self.bar {
                    bar.set_message(format!(
                        "{case} run {run} · {:.1}/{:.0} s",
                        elapsed.as_secs_f64(),
                        max_time.as_secs_f64()
                    ));
                }
            }
            Event::Output { data, .. } if self.show_output => match &self.bar {
                Some(bar) => bar.suspend(|| {
                    let _ = std::io::stderr().write_all(data);
                }),
                None => {
                    let _ = std::io::stderr().write_all(data);
                }
            },
            Event::Output { .. } => {}
            Event::MetricWarning(w) => self.say(&format!("warning: malformed metric line in {w}")),
            Event::Warning { case, message } => self.say(&format!("warning: {case}: {message}")),
            Event::CaseFinished { report, .. } => {
                if let Some(bar) = &self.bar {
                    bar.inc(1);
                }
                if let Some(f) = &report.failure {
                    self.say(&format!("{}: {}", report.case_id(), f.message));
                }
            }
            Event::SuiteFinished { .. } => {
                if let Some(bar) = &self.bar {
                    bar.finish_and_clear();
                }
            }
        }
    }
}

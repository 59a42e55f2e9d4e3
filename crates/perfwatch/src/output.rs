//! Where results go: standard output or `-o FILE`, in the chosen format.

use std::io::{self, IsTerminal, Write};
use std::path::Path;

use perfwatch_app::AppError;
use perfwatch_model::{ComparisonReport, DetectionReport, HistoryReport, RunList, RunReport};
use perfwatch_report::{Format, RenderOptions, Renderer};

use crate::cli::{FormatArg, OutputArgs};

/// A document perfwatch prints.
pub enum Doc<'a> {
    /// `run`, `baseline show`.
    Run(&'a RunReport),
    /// `compare`, `ab`.
    Comparison(&'a ComparisonReport),
    /// `history`.
    History(&'a HistoryReport),
    /// `detect`.
    Detection(&'a DetectionReport),
    /// `runs`.
    Runs(&'a RunList),
}

/// Renders `doc` in the chosen format and writes it to `-o FILE` or stdout.
pub fn emit(args: &OutputArgs, doc: Doc<'_>) -> Result<(), AppError> {
    let renderer: Box<dyn Renderer> = perfwatch_report::renderer(format(args));
    // Tables are fitted to the terminal when printing to one.
    let width = (args.output.is_none() && io::stdout().is_terminal())
        .then(|| terminal_size::terminal_size().map(|(w, _)| w.0))
        .flatten();
    let opts = RenderOptions { width };
    let text = match doc {
        Doc::Run(r) => renderer.run(r, &opts),
        Doc::Comparison(c) => renderer.comparison(c, &opts),
        Doc::History(h) => renderer.history(h, &opts),
        Doc::Detection(d) => renderer.detection(d, &opts),
        Doc::Runs(r) => renderer.runs(r, &opts),
    };
    match &args.output {
        Some(path) => write_file(path, &text),
        None => print(text.as_bytes()),
    }
}

/// Writes `bytes` to standard output; a closed pipe (`perfwatch run | head`) is not an error.
pub fn print(bytes: &[u8]) -> Result<(), AppError> {
    let mut out = io::stdout().lock();
    match out.write_all(bytes).and_then(|_| out.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(AppError::io("writing to standard output", e)),
        _ => Ok(()),
    }
}

fn format(args: &OutputArgs) -> Format {
    match args.format {
        FormatArg::Table => Format::Table,
        FormatArg::Json => Format::Json,
        FormatArg::Markdown => Format::Markdown,
        FormatArg::Csv => Format::Csv,
    }
}

/// Writes atomically: a temporary file beside `path`, renamed into place.
fn write_file(path: &Path, text: &str) -> Result<(), AppError> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("perfwatch-output");
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, text).map_err(|e| AppError::io(format!("writing {}", tmp.display()), e))?;
    std::fs::rename(&tmp, path).map_err(|e| AppError::io(format!("writing {}", path.display()), e))
}

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
    let to_terminal = args.output.is_none() && io::stdout().is_terminal();
    // Tables are fitted to the terminal when printing to one, and coloured unless the user
    // opted out (https://no-color.org: set and not empty).
    let width = to_terminal.then(|| terminal_size::terminal_size().map(|(w, _)| w.0)).flatten();
    let color = to_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let opts = RenderOptions { width, color };
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

/// The format asked for with `--format`; else the one `-o FILE`'s extension names; else
/// a table on a terminal and JSON for a pipe or a file (design §5: tables are for people).
pub fn format(args: &OutputArgs) -> Format {
    let stdout_is_terminal = args.output.is_none() && io::stdout().is_terminal();
    resolve_format(args.format, args.output.as_deref(), stdout_is_terminal)
}

fn resolve_format(asked: Option<FormatArg>, output: Option<&Path>, stdout_is_terminal: bool) -> Format {
    if let Some(asked) = asked {
        return match asked {
            FormatArg::Table => Format::Table,
            FormatArg::Json => Format::Json,
            FormatArg::Markdown => Format::Markdown,
            FormatArg::Csv => Format::Csv,
        };
    }
    let by_extension = output.and_then(|p| p.extension()).and_then(|e| e.to_str()).and_then(|e| {
        match e.to_ascii_lowercase().as_str() {
            "txt" | "table" => Some(Format::Table),
            ext => Format::parse(ext),
        }
    });
    by_extension.unwrap_or(if stdout_is_terminal { Format::Table } else { Format::Json })
}

/// Writes atomically: a temporary file beside `path`, renamed into place.
fn write_file(path: &Path, text: &str) -> Result<(), AppError> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("perfwatch-output");
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, text).map_err(|e| AppError::io(format!("writing {}", tmp.display()), e))?;
    std::fs::rename(&tmp, path).map_err(|e| AppError::io(format!("writing {}", path.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_follows_the_flag_then_the_extension_then_the_terminal() {
        let p = |s: &'static str| Some(Path::new(s));
        assert_eq!(resolve_format(Some(FormatArg::Csv), p("out.json"), false), Format::Csv);
        assert_eq!(resolve_format(None, p("out.json"), false), Format::Json);
        assert_eq!(resolve_format(None, p("OUT.MD"), false), Format::Markdown);
        assert_eq!(resolve_format(None, p("report.markdown"), false), Format::Markdown);
        assert_eq!(resolve_format(None, p("out.csv"), false), Format::Csv);
        assert_eq!(resolve_format(None, p("out.txt"), false), Format::Table);
        assert_eq!(resolve_format(None, p("results"), false), Format::Json);
        assert_eq!(resolve_format(None, None, true), Format::Table);
        assert_eq!(resolve_format(None, None, false), Format::Json);
    }
}

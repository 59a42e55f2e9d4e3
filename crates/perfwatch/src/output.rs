//! Where results go: standard output or `-o FILE`, in the chosen format.

use std::io::{self, IsTerminal, Write};
use std::path::Path;

use anyhow::Context;
use perfwatch_report::{Format, RenderOptions};

use crate::cli::{FormatArg, OutputArgs};

/// The report format chosen on the command line.
pub fn format(args: &OutputArgs) -> Format {
    match args.format {
        FormatArg::Table => Format::Table,
        FormatArg::Json => Format::Json,
        FormatArg::Markdown => Format::Markdown,
        FormatArg::Csv => Format::Csv,
    }
}

/// Tables are fitted to the terminal when printing to one.
pub fn render_options(args: &OutputArgs) -> RenderOptions {
    let width = if args.output.is_none() && io::stdout().is_terminal() {
        terminal_size::terminal_size().map(|(w, _)| w.0)
    } else {
        None
    };
    RenderOptions { width }
}

/// Writes `text` to `-o FILE` (atomically: a temp file renamed into place) or stdout.
/// A closed stdout pipe (`perfwatch run | head`) is not an error.
pub fn emit(args: &OutputArgs, text: &str) -> anyhow::Result<()> {
    match &args.output {
        Some(path) => write_file(path, text),
        None => {
            let mut out = io::stdout().lock();
            match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
                other => other.context("writing to standard output"),
            }
        }
    }
}

fn write_file(path: &Path, text: &str) -> anyhow::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let tmp =
        dir.join(format!(".{}.tmp", path.file_name().and_then(|n| n.to_str()).unwrap_or("perfwatch-output")));
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
}

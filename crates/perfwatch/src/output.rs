//! Where results go: standard output or `-o FILE`, in the chosen format.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};

use perfwatch_app::AppError;
use perfwatch_model::{
    BisectReport, ComparisonReport, DetectionReport, ExplainReport, HistoryReport, RunList, RunReport,
};
use perfwatch_report::{DocKind, Format, RenderOptions, Renderer};

use crate::cli::{FormatArg, OutputArgs, OutputTarget};

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
    /// `bisect`.
    Bisect(&'a BisectReport),
    /// `explain`.
    Explain(&'a ExplainReport),
}

impl Doc<'_> {
    fn kind(&self) -> DocKind {
        match self {
            Doc::Run(_) => DocKind::Run,
            Doc::Comparison(_) => DocKind::Comparison,
            Doc::History(_) => DocKind::History,
            Doc::Detection(_) => DocKind::Detection,
            Doc::Runs(_) => DocKind::Runs,
            Doc::Bisect(_) => DocKind::Bisect,
            Doc::Explain(_) => DocKind::Explain,
        }
    }

    fn render(&self, renderer: &dyn Renderer, opts: &RenderOptions) -> String {
        match self {
            Doc::Run(r) => renderer.run(r, opts),
            Doc::Comparison(c) => renderer.comparison(c, opts),
            Doc::History(h) => renderer.history(h, opts),
            Doc::Detection(d) => renderer.detection(d, opts),
            Doc::Runs(r) => renderer.runs(r, opts),
            Doc::Bisect(b) => renderer.bisect(b, opts),
            Doc::Explain(e) => renderer.explain(e, opts),
        }
    }
}

/// Where one rendering of the document goes, in which format.
#[derive(Debug, Clone, PartialEq)]
pub struct Destination {
    /// The file; `None` = standard output.
    pub path: Option<PathBuf>,
    /// Its format.
    pub format: Format,
}

/// Every destination `--format` and the `-o` options name: standard output alone when there is
/// no `-o`.
pub fn destinations(args: &OutputArgs) -> Vec<Destination> {
    let stdout = || OutputTarget { format: None, path: None };
    let targets = if args.output.is_empty() { vec![stdout()] } else { args.output.clone() };
    let stdout_is_terminal = io::stdout().is_terminal();
    targets
        .into_iter()
        .map(|t| {
            let to_terminal = t.path.is_none() && stdout_is_terminal;
            let format = resolve_format(t.format.or(args.format), t.path.as_deref(), to_terminal);
            Destination { path: t.path, format }
        })
        .collect()
}

/// Whether a table goes to the terminal (progress is drawn only then, not into a document a
/// script reads).
pub fn shows_table(args: &OutputArgs) -> bool {
    destinations(args).iter().any(|d| d.path.is_none() && d.format == Format::Table)
}

/// A usage error when an output's format has no shape for a `kind` document. Commands that
/// measure before they print call it first, so a wrong `-o` costs no measuring.
pub fn ensure_fits(args: &OutputArgs, kind: DocKind) -> Result<(), AppError> {
    fitting_destinations(args, kind).map(|_| ())
}

/// [`destinations`], or the usage error of the first whose format cannot hold a `kind`.
fn fitting_destinations(args: &OutputArgs, kind: DocKind) -> Result<Vec<Destination>, AppError> {
    let destinations = destinations(args);
    let Some(bad) = destinations.iter().find(|d| !d.format.fits(kind)) else {
        return Ok(destinations);
    };
    let fitting: Vec<&str> = Format::ALL.into_iter().filter(|f| f.fits(kind)).map(Format::name).collect();
    Err(AppError::Usage(format!(
        "--format {} has no shape for {}; use one of {}",
        bad.format.name(),
        kind.name(),
        fitting.join(", ")
    )))
}

/// Renders `doc` in each destination's format and writes it there. Every destination is
/// checked first, so a format that cannot hold the document writes nothing at all.
pub fn emit(args: &OutputArgs, doc: Doc<'_>) -> Result<(), AppError> {
    let destinations = fitting_destinations(args, doc.kind())?;
    let to_terminal = io::stdout().is_terminal();
    for dest in &destinations {
        let terminal = dest.path.is_none() && to_terminal;
        // Tables are fitted to the terminal when printing to one, and coloured unless the
        // user opted out (https://no-color.org: set and not empty).
        let width = terminal.then(|| terminal_size::terminal_size().map(|(w, _)| w.0)).flatten();
        let color = terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        let opts = RenderOptions { width, color, now: Some(jiff::Timestamp::now()) };
        let text = doc.render(perfwatch_report::renderer(dest.format).as_ref(), &opts);
        match &dest.path {
            Some(path) => write_file(path, &text)?,
            None => print(text.as_bytes())?,
        }
    }
    if destinations.iter().any(|d| d.format == Format::Github) {
        append_step_summary(&doc)?;
    }
    Ok(())
}

/// GitHub Actions shows the Markdown appended to the file `$GITHUB_STEP_SUMMARY` names on the
/// run's summary page; elsewhere the variable is unset and nothing happens.
fn append_step_summary(doc: &Doc<'_>) -> Result<(), AppError> {
    let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) else {
        return Ok(());
    };
    let markdown =
        doc.render(perfwatch_report::renderer(Format::Markdown).as_ref(), &RenderOptions::default());
    let path = PathBuf::from(path);
    let write = || -> io::Result<()> {
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&path)?;
        file.write_all(markdown.as_bytes())?;
        file.write_all(b"\n")
    };
    write().map_err(|e| AppError::io(format!("appending to $GITHUB_STEP_SUMMARY ({})", path.display()), e))
}

/// Writes `bytes` to standard output; a closed pipe (`perfwatch run | head`) is not an error.
pub fn print(bytes: &[u8]) -> Result<(), AppError> {
    let mut out = io::stdout().lock();
    match out.write_all(bytes).and_then(|_| out.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(AppError::io("writing to standard output", e)),
        _ => Ok(()),
    }
}

/// The format asked for (a prefix or `--format`); else the one the file's extension names;
/// else a table on a terminal and JSON for a pipe or a file (design §5: tables are for people).
fn resolve_format(asked: Option<FormatArg>, output: Option<&Path>, to_terminal: bool) -> Format {
    if let Some(asked) = asked {
        return match asked {
            FormatArg::Table => Format::Table,
            FormatArg::Json => Format::Json,
            FormatArg::Markdown => Format::Markdown,
            FormatArg::Csv => Format::Csv,
            FormatArg::Github => Format::Github,
            FormatArg::Junit => Format::Junit,
            FormatArg::Bmf => Format::Bmf,
            FormatArg::Hyperfine => Format::Hyperfine,
        };
    }
    let by_extension = output.and_then(|p| p.extension()).and_then(|e| e.to_str()).and_then(|e| {
        match e.to_ascii_lowercase().as_str() {
            "txt" | "table" => Some(Format::Table),
            "xml" => Some(Format::Junit),
            // `.json` is perfwatch's own document; BMF and hyperfine's JSON need their prefix.
            ext => Format::parse(ext).filter(|f| matches!(f, Format::Json | Format::Markdown | Format::Csv)),
        }
    });
    by_extension.unwrap_or(if to_terminal { Format::Table } else { Format::Json })
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
        assert_eq!(resolve_format(None, p("perf.xml"), false), Format::Junit);
        assert_eq!(resolve_format(None, p("h.bmf"), false), Format::Json);
        assert_eq!(resolve_format(Some(FormatArg::Hyperfine), p("h.json"), false), Format::Hyperfine);
        assert_eq!(resolve_format(None, p("results"), false), Format::Json);
        assert_eq!(resolve_format(None, None, true), Format::Table);
        assert_eq!(resolve_format(None, None, false), Format::Json);
    }
}

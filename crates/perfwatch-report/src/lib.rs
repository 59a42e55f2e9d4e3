//! Rendering of perfwatch documents: one module per output format behind one trait.
//! The presentation formats (table, JSON, Markdown, CSV) render every document; the export
//! formats (`github`, `junit`, `bmf`, `hyperfine`) render the documents whose shape they
//! have — [`Format::fits`] says which.
//!
//! ```
//! use perfwatch_report::{Format, RenderOptions, renderer};
//! let r = renderer(Format::Json);
//! let doc = perfwatch_model::HistoryReport { schema_version: 1, series: vec![] };
//! assert!(r.history(&doc, &RenderOptions::default()).contains("\"schema_version\": 1"));
//! ```

mod common;
mod csv;
mod export;
pub mod flame;
pub mod html;
mod json;
mod markdown;
pub use markdown::COMMENT_MARKER;
pub mod pictures;
mod table;
pub mod units;

pub mod schema;

use perfwatch_model::{
    BisectReport, ComparisonReport, DetectionReport, ExplainReport, HistoryReport, RunList, RunReport,
};

/// Output formats of design §5.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Aligned table for a terminal.
    Table,
    /// The JSON documents of design §7.
    Json,
    /// GitHub-flavoured Markdown (pull-request comments).
    Markdown,
    /// One row per case × metric.
    Csv,
    /// GitHub Actions workflow commands (`::error`, `::warning`, `::notice` annotations).
    Github,
    /// JUnit XML (the Apache Ant schema): one test case per judged case × metric and per
    /// budget, for CI test-report views.
    Junit,
    /// Bencher Metric Format (JSON): one measure per case × metric.
    Bmf,
    /// hyperfine's `--export-json` document (the 1.x shape its scripts read).
    Hyperfine,
}

/// The kinds of documents perfwatch prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocKind {
    /// A run (`run`, `show`, `baseline show`, `import`).
    Run,
    /// A comparison (`compare`, `ab`).
    Comparison,
    /// A history (`history`).
    History,
    /// Change points (`detect`).
    Detection,
    /// The list of stored runs (`runs`).
    Runs,
    /// A bisection (`bisect`).
    Bisect,
    /// A profile diff (`explain`).
    Explain,
}

impl DocKind {
    /// The document's name in messages.
    pub fn name(self) -> &'static str {
        match self {
            DocKind::Run => "run reports",
            DocKind::Comparison => "comparisons",
            DocKind::History => "histories",
            DocKind::Detection => "change-point reports",
            DocKind::Runs => "run lists",
            DocKind::Bisect => "bisections",
            DocKind::Explain => "explanations",
        }
    }
}

impl Format {
    /// Every format, in the order `--help` lists them.
    pub const ALL: [Format; 8] = [
        Format::Table,
        Format::Json,
        Format::Markdown,
        Format::Csv,
        Format::Github,
        Format::Junit,
        Format::Bmf,
        Format::Hyperfine,
    ];

    /// Parses a format's name (`markdown` also as `md`).
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "md" => Some(Format::Markdown),
            s => Format::ALL.into_iter().find(|f| f.name() == s),
        }
    }

    /// The format's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Markdown => "markdown",
            Format::Csv => "csv",
            Format::Github => "github",
            Format::Junit => "junit",
            Format::Bmf => "bmf",
            Format::Hyperfine => "hyperfine",
        }
    }

    /// Whether this format has a shape for `kind`: hyperfine's and Bencher's documents hold
    /// measurements (runs only); annotations and JUnit hold verdicts (comparisons, and the
    /// failures and budgets of a run).
    pub fn fits(self, kind: DocKind) -> bool {
        match self {
            Format::Table | Format::Json | Format::Markdown | Format::Csv => true,
            Format::Github | Format::Junit => matches!(kind, DocKind::Run | DocKind::Comparison),
            Format::Bmf | Format::Hyperfine => kind == DocKind::Run,
        }
    }
}

/// Presentation settings.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// Width to fit tables into (terminal columns); `None` = no limit.
    pub width: Option<u16>,
    /// Colour verdicts and statuses (ANSI); the caller decides (a terminal, no `NO_COLOR`).
    pub color: bool,
    /// When the document is rendered (JUnit's `timestamp` of a comparison, which carries no
    /// time of its own); `None` leaves the epoch, so rendering stays a pure function.
    pub now: Option<jiff::Timestamp>,
}

/// A renderer of every document kind in one format.
pub trait Renderer {
    /// A run report (`perfwatch run`).
    fn run(&self, report: &RunReport, opts: &RenderOptions) -> String;
    /// A comparison report (`perfwatch compare`, `perfwatch ab`).
    fn comparison(&self, report: &ComparisonReport, opts: &RenderOptions) -> String;
    /// A history report (`perfwatch history`); formats that do not fit histories
    /// ([`Format::fits`]) print the JSON document.
    fn history(&self, report: &HistoryReport, _opts: &RenderOptions) -> String {
        json::pretty(report)
    }
    /// A change-point report (`perfwatch detect`); formats that do not fit it print the JSON
    /// document.
    fn detection(&self, report: &DetectionReport, _opts: &RenderOptions) -> String {
        json::pretty(report)
    }
    /// The stored runs (`perfwatch runs`); formats without a shape of their own print the
    /// JSON document (`schemas/api-runs.schema.json`).
    fn runs(&self, runs: &RunList, _opts: &RenderOptions) -> String {
        json::pretty(runs)
    }
    /// A bisection (`perfwatch bisect`); formats without a shape of their own print the JSON
    /// document (`schemas/bisect.schema.json`).
    fn bisect(&self, report: &BisectReport, _opts: &RenderOptions) -> String {
        json::pretty(report)
    }
    /// A profile diff (`perfwatch explain`); formats without a shape of their own print the
    /// JSON document (`schemas/explain.schema.json`).
    fn explain(&self, report: &ExplainReport, _opts: &RenderOptions) -> String {
        json::pretty(report)
    }
}

/// The renderer for `format`.
pub fn renderer(format: Format) -> Box<dyn Renderer> {
    match format {
        Format::Table => Box::new(table::TableRenderer),
        Format::Json => Box::new(json::JsonRenderer),
        Format::Markdown => Box::new(markdown::MarkdownRenderer),
        Format::Csv => Box::new(csv::CsvRenderer),
        Format::Github => Box::new(export::github::GithubRenderer),
        Format::Junit => Box::new(export::junit::JunitRenderer),
        Format::Bmf => Box::new(export::bmf::BmfRenderer),
        Format::Hyperfine => Box::new(export::hyperfine::HyperfineRenderer),
    }
}

#[cfg(test)]
mod fixtures;

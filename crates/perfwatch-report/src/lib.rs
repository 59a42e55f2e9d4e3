//! Rendering of perfwatch documents: one module per output format behind one trait.
//!
//! ```
//! use perfwatch_report::{Format, RenderOptions, renderer};
//! let r = renderer(Format::Json);
//! let doc = perfwatch_model::HistoryReport { schema_version: 1, series: vec![] };
//! assert!(r.history(&doc, &RenderOptions::default()).contains("\"schema_version\": 1"));
//! ```

mod common;
mod csv;
pub mod html;
mod json;
mod markdown;
pub mod pictures;
mod table;
pub mod units;

pub mod schema;

use perfwatch_model::{ComparisonReport, DetectionReport, HistoryReport, RunList, RunReport};

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
}

impl Format {
    /// Parses `table`, `json`, `markdown` (or `md`), `csv`.
    pub fn parse(s: &str) -> Option<Format> {
        Some(match s {
            "table" => Format::Table,
            "json" => Format::Json,
            "markdown" | "md" => Format::Markdown,
            "csv" => Format::Csv,
            _ => return None,
        })
    }
}

/// Presentation settings.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// Width to fit tables into (terminal columns); `None` = no limit.
    pub width: Option<u16>,
    /// Colour verdicts and statuses (ANSI); the caller decides (a terminal, no `NO_COLOR`).
    pub color: bool,
}

/// A renderer of every document kind in one format.
pub trait Renderer {
    /// A run report (`perfwatch run`).
    fn run(&self, report: &RunReport, opts: &RenderOptions) -> String;
    /// A comparison report (`perfwatch compare`, `perfwatch ab`).
    fn comparison(&self, report: &ComparisonReport, opts: &RenderOptions) -> String;
    /// A history report (`perfwatch history`).
    fn history(&self, report: &HistoryReport, opts: &RenderOptions) -> String;
    /// A change-point report (`perfwatch detect`).
    fn detection(&self, report: &DetectionReport, opts: &RenderOptions) -> String;
    /// The stored runs (`perfwatch runs`); formats without a shape of their own print the
    /// JSON document (`schemas/api-runs.schema.json`).
    fn runs(&self, runs: &RunList, _opts: &RenderOptions) -> String {
        json::pretty(runs)
    }
}

/// The renderer for `format`.
pub fn renderer(format: Format) -> Box<dyn Renderer> {
    match format {
        Format::Table => Box::new(table::TableRenderer),
        Format::Json => Box::new(json::JsonRenderer),
        Format::Markdown => Box::new(markdown::MarkdownRenderer),
        Format::Csv => Box::new(csv::CsvRenderer),
    }
}

#[cfg(test)]
mod fixtures;

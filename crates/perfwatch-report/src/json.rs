//! JSON output: the documents of design §7, pretty-printed. Schemas live in `schemas/`.

use perfwatch_model::{ComparisonReport, DetectionReport, HistoryReport, RunReport};
use serde::Serialize;

use crate::{RenderOptions, Renderer};

pub(crate) struct JsonRenderer;

pub(crate) fn pretty<T: Serialize>(doc: &T) -> String {
    // Serialising these plain data types cannot fail: no maps with non-string keys,
    // no custom serialisers that error.
    let mut out = serde_json::to_string_pretty(doc).expect("report types always serialise");
    out.push('\n');
    out
}

impl Renderer for JsonRenderer {
    fn run(&self, report: &RunReport, _: &RenderOptions) -> String {
        pretty(report)
    }
    fn comparison(&self, report: &ComparisonReport, _: &RenderOptions) -> String {
        pretty(report)
    }
    fn history(&self, report: &HistoryReport, _: &RenderOptions) -> String {
        pretty(report)
    }
    fn detection(&self, report: &DetectionReport, _: &RenderOptions) -> String {
        pretty(report)
    }
}

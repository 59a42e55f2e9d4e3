//! Collects located problems while the suite is read and validated, so one pass reports them all.

use std::ops::Range;

use crate::error::Problem;
use crate::util::line_col;

/// A problem before it is located (line/column are computed at the end).
#[derive(Debug)]
pub(crate) struct Pending {
    message: String,
    span: Range<usize>,
    label: String,
    secondary: Vec<(Range<usize>, String)>,
    help: Option<String>,
}

impl Pending {
    /// Adds a hint.
    pub fn help(&mut self, help: impl Into<String>) -> &mut Self {
        self.help = Some(help.into());
        self
    }

    /// Adds a hint if there is one.
    pub fn maybe_help(&mut self, help: Option<String>) -> &mut Self {
        if help.is_some() {
            self.help = help;
        }
        self
    }

    /// Adds a secondary label elsewhere in the file.
    pub fn also(&mut self, span: Range<usize>, label: impl Into<String>) -> &mut Self {
        self.secondary.push((span, label.into()));
        self
    }
}

/// The problems found so far.
#[derive(Debug, Default)]
pub(crate) struct Diags {
    items: Vec<Pending>,
}

impl Diags {
    /// Records an error at `span`, with a short `label` under the span.
    pub fn error(
        &mut self,
        span: Range<usize>,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> &mut Pending {
        self.items.push(Pending {
            message: message.into(),
            span,
            label: label.into(),
            secondary: Vec::new(),
            help: None,
        });
        let last = self.items.len() - 1;
        &mut self.items[last]
    }

    /// The problem recorded last, to add a hint to it.
    pub fn last_mut(&mut self) -> Option<&mut Pending> {
        self.items.last_mut()
    }

    /// Number of problems recorded so far.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Locates the first [`SHOWN_PROBLEMS`] problems in `source` (named `file`), in file order,
    /// and says how many more there were. Sorting first and locating only those shown keeps a
    /// file with tens of thousands of bad keys linear (locating is a scan of the file).
    pub fn into_problems(self, file: &str, source: &str) -> (Vec<Problem>, usize) {
        let mut items = self.items;
        items.sort_by_key(|p| p.span.start);
        let omitted = items.len().saturating_sub(SHOWN_PROBLEMS);
        items.truncate(SHOWN_PROBLEMS);
        let problems = items
            .into_iter()
            .map(|p| {
                let span = p.span.start.min(source.len())..p.span.end.min(source.len());
                let (line, column) = line_col(source, span.start);
                Problem {
                    file: file.to_string(),
                    line,
                    column,
                    message: p.message,
                    span,
                    label: p.label,
                    secondary: p.secondary,
                    help: p.help,
                }
            })
            .collect();
        (problems, omitted)
    }
}

/// How many problems of one suite file are reported; the rest are counted ("and 39980 more").
pub const SHOWN_PROBLEMS: usize = 20;

//! Errors of this crate: [`ConfigError`] (a suite file that cannot be used) and
//! [`SelectError`] (a `-b PATTERN` that matches nothing).

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;

use miette::{Diagnostic, LabeledSpan, NamedSource, SourceCode};

/// What kind of failure a [`ConfigError`] is, for callers that branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigErrorKind {
    /// The file could not be read.
    Io,
    /// The file is not valid TOML.
    Syntax,
    /// The file is valid TOML but not a valid suite (unknown keys, wrong types, bad values…).
    Invalid,
}

/// One located problem in a suite file.
///
/// Its `Display` form is `file:line:column: message`; line and column are 1-based, the column
/// counts characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub(crate) file: String,
    pub(crate) line: usize,
    pub(crate) column: usize,
    pub(crate) message: String,
    pub(crate) span: Range<usize>,
    pub(crate) label: String,
    pub(crate) secondary: Vec<(Range<usize>, String)>,
    pub(crate) help: Option<String>,
}

impl Problem {
    /// What is wrong, without the location.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// 1-based line of the offending value or key.
    pub fn line(&self) -> usize {
        self.line
    }

    /// 1-based column (in characters) of the offending value or key.
    pub fn column(&self) -> usize {
        self.column
    }

    /// Byte range of the offending value or key in the file.
    pub fn span(&self) -> Range<usize> {
        self.span.clone()
    }

    /// A hint on how to fix it, when there is one.
    pub fn help(&self) -> Option<&str> {
        self.help.as_deref()
    }

    fn labels_iter(&self) -> impl Iterator<Item = LabeledSpan> + '_ {
        std::iter::once(LabeledSpan::new_primary_with_span(Some(self.label.clone()), self.span.clone()))
            .chain(
                self.secondary
                    .iter()
                    .map(|(span, label)| LabeledSpan::new_with_span(Some(label.clone()), span.clone())),
            )
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file, self.line, self.column, self.message)
    }
}

impl std::error::Error for Problem {}

impl Diagnostic for Problem {
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.labels_iter()))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help.as_ref().map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
}

/// A suite file that cannot be turned into a [`Plan`](perfwatch_model::Plan).
///
/// It is a [`miette::Diagnostic`]: the source is attached under the file's name, the first
/// problem is labelled and carries a `help` hint, and every further problem of the same file is
/// a related diagnostic. Without miette's renderer, `Display` gives
/// `file:line:column: message` of the first problem (with a count of the others), and
/// [`ConfigError::plain_report`] lists them all.
#[derive(Debug)]
pub struct ConfigError(Box<Inner>);

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    kind: ConfigErrorKind,
    io: Option<std::io::Error>,
    src: Option<NamedSource<String>>,
    problems: Vec<Problem>,
    /// Problems found beyond those kept in `problems`.
    omitted: usize,
}

/// Longest source line shown in an error's snippets (bytes); a file with a longer line is
/// reported without snippets (the location is in every message anyway).
const MAX_SNIPPET_LINE: usize = 4096;

impl ConfigError {
    pub(crate) fn io(path: PathBuf, err: std::io::Error) -> Self {
        ConfigError(Box::new(Inner {
            path,
            kind: ConfigErrorKind::Io,
            io: Some(err),
            src: None,
            problems: Vec::new(),
            omitted: 0,
        }))
    }

    pub(crate) fn located(
        path: PathBuf,
        kind: ConfigErrorKind,
        name: String,
        source: &str,
        (problems, omitted): (Vec<Problem>, usize),
    ) -> Self {
        ConfigError(Box::new(Inner {
            path,
            kind,
            io: None,
            // miette pads snippet lines to their display width with a format width, which
            // must fit in a u16: a line of 16,000 tabs made rendering panic (found by the
            // `suite` fuzz target). Such a file gets its errors without source snippets.
            src: source
                .lines()
                .all(|l| l.len() <= MAX_SNIPPET_LINE)
                .then(|| NamedSource::new(name, source.to_string()).with_language("TOML")),
            problems,
            omitted,
        }))
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ConfigErrorKind {
        self.0.kind
    }

    /// The suite file's path, as given.
    pub fn path(&self) -> &std::path::Path {
        &self.0.path
    }

    /// The located problems, in file order: the first [`crate::SHOWN_PROBLEMS`] of them
    /// (empty for [`ConfigErrorKind::Io`]).
    pub fn problems(&self) -> &[Problem] {
        &self.0.problems
    }

    /// How many more problems the file has beyond [`ConfigError::problems`].
    pub fn omitted(&self) -> usize {
        self.0.omitted
    }

    /// All problems as plain text, one `file:line:column: error: message` line each, followed by
    /// an indented `help:` line where there is a hint. For output without miette's renderer.
    pub fn plain_report(&self) -> String {
        if self.0.problems.is_empty() {
            return format!("{self}\n");
        }
        let mut out = String::new();
        for p in &self.0.problems {
            out.push_str(&format!("{}:{}:{}: error: {}\n", p.file, p.line, p.column, p.message));
            if let Some(help) = &p.help {
                out.push_str(&format!("  help: {help}\n"));
            }
        }
        if self.0.omitted > 0 {
            out.push_str(&format!("… and {} more errors, not shown\n", self.0.omitted));
        }
        out
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(err) = &self.0.io {
            return write!(f, "{}: cannot read the suite file: {err}", self.0.path.display());
        }
        match self.0.problems.split_first() {
            None => write!(f, "{}: invalid suite file", self.0.path.display()),
            Some((first, rest)) => {
                write!(f, "{first}")?;
                match rest.len() + self.0.omitted {
                    0 => Ok(()),
                    1 => write!(f, " (and 1 more error)"),
                    n => write!(f, " (and {n} more errors)"),
                }
            }
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.io.as_ref().map(|e| e as _)
    }
}

impl Diagnostic for ConfigError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        let code = match self.0.kind {
            ConfigErrorKind::Io => "perfwatch::config::io",
            ConfigErrorKind::Syntax => "perfwatch::config::syntax",
            ConfigErrorKind::Invalid => "perfwatch::config::invalid",
        };
        Some(Box::new(code))
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.0.src.as_ref().map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.0.problems.first().map(|p| Box::new(p.labels_iter()) as _)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.0.problems.first().and_then(|p| p.help.as_ref()).map(|h| Box::new(h) as _)
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        if self.0.problems.len() < 2 {
            return None;
        }
        Some(Box::new(self.0.problems[1..].iter().map(|p| p as &dyn Diagnostic)))
    }
}

/// A `-b PATTERN` selection that cannot be satisfied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Diagnostic)]
pub enum SelectError {
    /// Some patterns matched no bench and no case.
    #[error("no benchmark matches {}", quoted(.patterns))]
    #[diagnostic(code(perfwatch::select::no_match), help("{hint}"))]
    NoMatch {
        /// The patterns that matched nothing.
        patterns: Vec<String>,
        /// Available names and near-miss suggestions.
        hint: String,
    },
}

fn quoted(patterns: &[String]) -> String {
    patterns.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ")
}

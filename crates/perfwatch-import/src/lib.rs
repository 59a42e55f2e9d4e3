//! Readers of the result files other benchmark harnesses write, so that teams can keep the
//! harness they have and still get perfwatch's history, comparisons and change points.
//!
//! Pure: each reader turns the text of one file into an [`Imported`] — cases with their
//! metrics in perfwatch's units (design §2: seconds, bytes, per second) — and never touches the
//! file system; `perfwatch-app`'s `import` use case reads the files, builds the run and stores
//! it.
//!
//! Samples are never invented. Where a harness writes every measurement (hyperfine `times`,
//! criterion `sample.json`, Google Benchmark repetitions, pytest-benchmark `data`, `go test
//! -count`, JMH `rawData`, asv `samples`), those become the metric's [`Values::Samples`];
//! where it writes only a summary (a mean ± sd, a median), the metric is
//! [`Values::Reported`] and perfwatch stores it as summary-only, without an interval.
//!
//! ```
//! use perfwatch_import::{Format, Values, parse};
//! let text = r#"{"results": [{"command": "sleep 0.1", "mean": 0.1, "stddev": 0.001,
//!     "median": 0.1, "user": 0.001, "system": 0.0, "min": 0.099, "max": 0.102,
//!     "times": [0.099, 0.1, 0.102]}]}"#;
//! let imported = parse(Format::Hyperfine, text).unwrap();
//! let wall = &imported.cases[0].metrics["wall"];
//! assert!(matches!(&wall.values, Values::Samples(v) if v.len() == 3));
//! ```

mod asv;
mod bmf;
mod criterion;
mod gab;
mod gbench;
mod go;
mod hyperfine;
mod jmh;
mod json;
mod libtest;
mod pytest;
mod sniff;
pub mod units;

use std::collections::BTreeMap;
use std::fmt;

use jiff::Timestamp;
use perfwatch_model::{CaseId, MetricInfo};

pub use criterion::{CriterionFile, CriterionFiles, parse_criterion};
pub use sniff::sniff;

/// A result format perfwatch can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    /// `hyperfine --export-json` (1.x and 2.x).
    Hyperfine,
    /// criterion.rs's `target/criterion` directory (`new/benchmark.json` + `new/sample.json`).
    Criterion,
    /// `cargo criterion --message-format=json` (one JSON message per line).
    CargoCriterion,
    /// `cargo bench` with the built-in (libtest) harness: `test x ... bench: N ns/iter (+/- d)`.
    Libtest,
    /// `pytest --benchmark-json` (pytest-benchmark).
    PytestBenchmark,
    /// Google Benchmark `--benchmark_format=json` / `--benchmark_out`.
    Gbench,
    /// `go test -bench` text output.
    Go,
    /// JMH `-rf json`.
    Jmh,
    /// An airspeed velocity (asv) results file (`results/<machine>/<commit>-<env>.json`).
    Asv,
    /// Bencher Metric Format JSON.
    Bmf,
    /// github-action-benchmark's custom JSON (`[{"name", "unit", "value", "range"}]`).
    Gab,
}

impl Format {
    /// Every format, in the order `--help` lists them.
    pub const ALL: [Format; 11] = [
        Format::Hyperfine,
        Format::Criterion,
        Format::CargoCriterion,
        Format::Libtest,
        Format::PytestBenchmark,
        Format::Gbench,
        Format::Go,
        Format::Jmh,
        Format::Asv,
        Format::Bmf,
        Format::Gab,
    ];

    /// The name used on the command line and in messages.
    pub fn name(self) -> &'static str {
        match self {
            Format::Hyperfine => "hyperfine",
            Format::Criterion => "criterion",
            Format::CargoCriterion => "cargo-criterion",
            Format::Libtest => "libtest",
            Format::PytestBenchmark => "pytest-benchmark",
            Format::Gbench => "gbench",
            Format::Go => "go",
            Format::Jmh => "jmh",
            Format::Asv => "asv",
            Format::Bmf => "bmf",
            Format::Gab => "gab",
        }
    }

    /// The format called `name` (as [`Format::name`] spells it).
    pub fn from_name(name: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.name() == name)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What one file held.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Imported {
    /// The benchmarks, in file order.
    pub cases: Vec<ImportedCase>,
    /// Where and on what code they ran, as far as the file says.
    pub meta: SourceMeta,
}

/// Facts about the run that some formats record (pytest-benchmark's `commit_info`, Google
/// Benchmark's `context`, asv's `commit_hash`…); `None` where the file is silent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceMeta {
    /// Commit measured.
    pub commit: Option<String>,
    /// Branch measured.
    pub branch: Option<String>,
    /// Whether the work tree had uncommitted changes.
    pub dirty: Option<bool>,
    /// When the benchmarks ran.
    pub time: Option<Timestamp>,
    /// Host name.
    pub hostname: Option<String>,
    /// CPU model.
    pub cpu: Option<String>,
    /// Logical cores.
    pub cores: Option<u32>,
}

/// One benchmark of the file.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedCase {
    /// Its name and parameters.
    pub case: CaseId,
    /// Its metrics by perfwatch name (`wall`, `cpu`, `max_rss`, `throughput`, …).
    pub metrics: BTreeMap<String, ImportedMetric>,
    /// Why the harness says it failed (non-zero exit codes in hyperfine, an error in Google
    /// Benchmark), when it does.
    pub failure: Option<String>,
}

impl ImportedCase {
    /// A case without metrics yet.
    pub fn new(case: CaseId) -> ImportedCase {
        ImportedCase { case, metrics: BTreeMap::new(), failure: None }
    }

    /// Adds a metric (replacing one of the same name).
    pub fn with(mut self, name: &str, metric: ImportedMetric) -> ImportedCase {
        self.metrics.insert(name.to_string(), metric);
        self
    }
}

/// One metric of one benchmark.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedMetric {
    /// Unit (perfwatch's, after conversion) and direction.
    pub info: MetricInfo,
    /// Its numbers, already converted to that unit.
    pub values: Values,
}

/// The numbers of a metric: every measurement, or only what the harness summarised.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// One value per measurement (a process run, a repetition, a criterion sample divided by
    /// its iteration count), in the order measured.
    Samples(Vec<f64>),
    /// Only a summary: stored without samples and compared without an interval.
    Reported(Reported),
}

/// A harness's own summary of a metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reported {
    /// The headline value perfwatch shows as the median: the harness's median where it gives
    /// one, else its mean (see [`Reported::center`]).
    pub value: f64,
    /// Which statistic [`Reported::value`] is.
    pub center: Center,
    /// How many measurements the summary is over, when the harness says.
    pub n: Option<u32>,
    /// The reported mean.
    pub mean: Option<f64>,
    /// The reported standard deviation.
    pub stddev: Option<f64>,
    /// The reported minimum.
    pub min: Option<f64>,
    /// The reported maximum.
    pub max: Option<f64>,
}

impl Reported {
    /// A summary that is only a mean (± a standard deviation, when given).
    pub fn mean(mean: f64, stddev: Option<f64>) -> Reported {
        Reported {
            value: mean,
            center: Center::Mean,
            n: None,
            mean: Some(mean),
            stddev,
            min: None,
            max: None,
        }
    }

    /// A summary whose headline is a median.
    pub fn median(median: f64) -> Reported {
        Reported {
            value: median,
            center: Center::Median,
            n: None,
            mean: None,
            stddev: None,
            min: None,
            max: None,
        }
    }
}

/// The statistic a [`Reported`] value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Center {
    /// A mean.
    Mean,
    /// A median.
    Median,
    /// A single value of unknown kind (BMF, github-action-benchmark).
    Value,
}

impl Center {
    /// Its name in messages (`mean`, `median`, `value`).
    pub fn name(self) -> &'static str {
        match self {
            Center::Mean => "mean",
            Center::Median => "median",
            Center::Value => "value",
        }
    }
}

/// Why a file could not be read, located as precisely as the format allows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", location(*line, *column, path.as_deref()))]
pub struct ImportError {
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// Path of the offending value inside a JSON document (`results[0].times[3]`).
    pub path: Option<String>,
    /// What was wrong, and what was expected.
    pub message: String,
}

impl ImportError {
    /// An error about the whole file.
    pub fn whole(message: impl Into<String>) -> ImportError {
        ImportError { line: None, column: None, path: None, message: message.into() }
    }

    /// An error on one line of a text format.
    pub fn at_line(line: usize, message: impl Into<String>) -> ImportError {
        ImportError { line: Some(line), column: None, path: None, message: message.into() }
    }

    /// An error at a JSON path (without a line).
    pub fn at_path(path: impl Into<String>, message: impl Into<String>) -> ImportError {
        ImportError { line: None, column: None, path: Some(path.into()), message: message.into() }
    }
}

fn location(line: Option<usize>, column: Option<usize>, path: Option<&str>) -> String {
    let mut out = String::new();
    match (line, column) {
        (Some(l), Some(c)) => out.push_str(&format!("line {l}, column {c}")),
        (Some(l), None) => out.push_str(&format!("line {l}")),
        _ => {}
    }
    if let Some(p) = path.filter(|p| !p.is_empty() && *p != ".") {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&format!("at {p}"));
    }
    if !out.is_empty() {
        out.push_str(": ");
    }
    out
}

/// Reads one file's text in `format`. [`Format::Criterion`] needs its directory's files:
/// use [`parse_criterion`].
pub fn parse(format: Format, text: &str) -> Result<Imported, ImportError> {
    let imported = match format {
        Format::Hyperfine => hyperfine::parse(text)?,
        Format::Criterion => {
            return Err(ImportError::whole(
                "criterion results are a directory (target/criterion): pass the directory, not one file",
            ));
        }
        Format::CargoCriterion => criterion::parse_messages(text)?,
        Format::Libtest => libtest::parse(text)?,
        Format::PytestBenchmark => pytest::parse(text)?,
        Format::Gbench => gbench::parse(text)?,
        Format::Go => go::parse(text)?,
        Format::Jmh => jmh::parse(text)?,
        Format::Asv => asv::parse(text)?,
        Format::Bmf => bmf::parse(text)?,
        Format::Gab => gab::parse(text)?,
    };
    check(imported)
}

/// Every file must hold at least one benchmark, and every number must be finite.
fn check(imported: Imported) -> Result<Imported, ImportError> {
    if imported.cases.is_empty() {
        return Err(ImportError::whole("no benchmark results in the file"));
    }
    for case in &imported.cases {
        for (name, metric) in &case.metrics {
            let finite = match &metric.values {
                Values::Samples(v) => !v.is_empty() && v.iter().all(|x| x.is_finite()),
                Values::Reported(r) => r.value.is_finite(),
            };
            if !finite {
                return Err(ImportError::whole(format!(
                    "{} {name}: a value is missing, infinite or not a number",
                    case.case
                )));
            }
        }
    }
    Ok(imported)
}

/// Test helper: `values` are samples equal to `want` within a relative 1e-12.
#[cfg(test)]
pub(crate) fn assert_samples(values: &Values, want: &[f64]) {
    let Values::Samples(got) = values else { panic!("expected samples, got {values:?}") };
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() <= 1e-12 * w.abs().max(1e-300), "{got:?} vs {want:?}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names_round_trip() {
        for f in Format::ALL {
            assert_eq!(Format::from_name(f.name()), Some(f));
        }
        assert_eq!(Format::from_name("nope"), None);
    }

    #[test]
    fn errors_say_where() {
        let e = ImportError {
            line: Some(3),
            column: Some(7),
            path: Some("results[0]".into()),
            message: "bad".into(),
        };
        assert_eq!(e.to_string(), "line 3, column 7 at results[0]: bad");
        assert_eq!(ImportError::whole("empty").to_string(), "empty");
        assert_eq!(ImportError::at_line(2, "x").to_string(), "line 2: x");
    }
}

//! perfwatch's suite file: `perfwatch.toml` → a validated, fully expanded
//! [`Plan`](perfwatch_model::Plan).
//!
//! Reading happens in two stages (raw settings, then a validated type):
//! 1. the TOML document is read into a raw suite that keeps the span of every key and value and
//!    checks keys, types and single values (durations, sizes, percentages, budgets);
//! 2. the raw suite is validated as a whole (command XOR shell, `min_runs ≤ max_runs`, unique
//!    names, known `{placeholders}`…) and each bench's parameter matrix is expanded into cases.
//!
//! Every problem found on the way is collected, so one [`ConfigError`] reports all of them,
//! each pointing at the file, line and column of the offending key or value.
//!
//! ```
//! use std::path::Path;
//! use perfwatch_model::CommandSpec;
//!
//! let suite = r#"
//! [defaults]
//! max_time = "5s"
//!
//! [[bench]]
//! name = "sort"
//! command = ["sort", "-n", "data-{n}.txt"]
//! params = { n = [1000, 100000] }
//! throughput = "{n}"
//! budgets = ["wall.p95 < 500ms"]
//! "#;
//! let plan = perfwatch_config::parse(suite, Path::new("/project/perfwatch.toml")).unwrap();
//! assert_eq!(plan.cases.len(), 2);
//! assert_eq!(plan.cases[0].id.to_string(), "sort[n=1000]");
//! assert_eq!(plan.cases[1].command, CommandSpec::Argv(vec!["sort".into(), "-n".into(), "data-100000.txt".into()]));
//! assert_eq!(plan.cases[1].throughput, Some(100000.0));
//! assert_eq!(plan.cases[0].cwd, Path::new("/project"));
//!
//! let err = perfwatch_config::parse("[[bench]]\nname = \"x\"\ncomand = [\"true\"]\n", Path::new("perfwatch.toml"))
//!     .unwrap_err();
//! assert!(err.to_string().starts_with("perfwatch.toml:3:1: unknown key `comand`"));
//! assert_eq!(err.problems()[0].help().unwrap().split('?').next(), Some("did you mean `command`"));
//! ```
//!
//! # The suite file
//! See the commented [`STARTER_SUITE`] for every key. Conventions:
//! - durations are strings with a unit: `ns`, `us`/`µs`, `ms`, `s`, `m`, `h`, `d` (`"1.5s"`);
//!   a bare number is an error;
//! - sizes are strings with a unit: `B`, `KB`, `MB`, `GB`, `TB` (powers of 1000) or `KiB`,
//!   `MiB`, `GiB`, `TiB` (powers of 1024);
//! - percentages are strings such as `"2%"`, or fractions such as `0.02`; a bare number ≥ 1
//!   is an error (it almost certainly meant percent);
//! - `{name}` in `command` arguments, `shell`, `setup`, `prepare`, `cleanup`, `cwd`, `env`
//!   values and `throughput` is replaced by the case's parameter value; `{{` and `}}` are
//!   literal braces. The `[build]` command is taken verbatim;
//! - the parameter matrix is the cartesian product of all `params` keys in the order they are
//!   written, the first key varying slowest; values may be strings, integers, floats or
//!   booleans and become strings;
//! - `threshold` is one percentage for every metric, or a table of per-metric percentages. A
//!   bench's single threshold replaces the per-metric table of `[defaults]`; a bench's table is
//!   merged over it;
//! - a relative `cwd` is relative to the suite file's directory, which is also the default.

#![warn(missing_docs)]

mod budget;
mod diag;
pub use diag::SHOWN_PROBLEMS;
mod error;
mod raw;
mod select;
mod template;
mod units;
mod util;
mod validate;

use std::path::Path;

use perfwatch_model::Plan;
use toml::de::DeTable;

pub use error::{ConfigError, ConfigErrorKind, Problem, SelectError};
pub use select::select;
pub use units::{UnitError, parse_duration, parse_percent_number, parse_percent_str, parse_size};

/// The commented `perfwatch.toml` that `perfwatch init` writes. It explains every key and uses
/// only commands found on every Linux and macOS machine (`sort`, `gzip`, `awk`, `sh`).
pub const STARTER_SUITE: &str = include_str!("starter.toml");

/// Reads and validates the suite file at `path`. See [`parse`].
pub fn load(path: &Path) -> Result<Plan, ConfigError> {
    let bytes = std::fs::read(path).map_err(|e| ConfigError::io(path.to_path_buf(), e))?;
    parse_bytes(bytes, path)
}

/// Validates the suite file `bytes` read from `path`: [`parse`] once they are known to be
/// UTF-8, else an error that locates the first byte that is not.
pub fn parse_bytes(bytes: Vec<u8>, path: &Path) -> Result<Plan, ConfigError> {
    let source = String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        // Valid up to here, so the prefix is text: count its lines and the last line's chars.
        let prefix = String::from_utf8_lossy(valid);
        let line = prefix.matches('\n').count() + 1;
        let column = prefix.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        let message = format!(
            "line {line}, column {column} (byte {}) is not UTF-8; TOML files are UTF-8 text: re-save the file as UTF-8",
            valid.len()
        );
        ConfigError::io(path.to_path_buf(), std::io::Error::new(std::io::ErrorKind::InvalidData, message))
    })?;
    parse(&source, path)
}

/// Validates the suite `source`, read from `path`.
///
/// `path` names the file in diagnostics (as given) and its directory is the base of relative
/// `cwd`s (made absolute against the current directory if needed). The plan's `suite_path` is
/// absolute and its `suite_hash` is the FNV-1a 64 hash of `source`, as 16 hex digits.
pub fn parse(source: &str, path: &Path) -> Result<Plan, ConfigError> {
    let name = path.display().to_string();
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let base_dir = abs.parent().map(Path::to_path_buf).unwrap_or_default();

    let (doc, syntax_errors) = DeTable::parse_recoverable(source);
    if !syntax_errors.is_empty() {
        let mut diags = diag::Diags::default();
        for e in &syntax_errors {
            let span = e.span().unwrap_or(source.len()..source.len());
            let message = e.message().trim_end().replace('\n', "; ");
            let p = diags.error(span, format!("TOML syntax error: {message}"), "here");
            if message.contains("duplicate key") {
                p.help("each key may appear only once in a table");
            } else if message.contains("string") && message.contains("expected") {
                p.help("strings are quoted: \"like this\"");
            }
        }
        return Err(ConfigError::located(
            path.to_path_buf(),
            ConfigErrorKind::Syntax,
            name.clone(),
            source,
            diags.into_problems(&name, source),
        ));
    }

    let mut diags = diag::Diags::default();
    let raw = raw::read(doc.get_ref(), source, &mut diags);
    let validated = validate::validate(&raw, source, &base_dir, &mut diags);
    if !diags.is_empty() {
        return Err(ConfigError::located(
            path.to_path_buf(),
            ConfigErrorKind::Invalid,
            name.clone(),
            source,
            diags.into_problems(&name, source),
        ));
    }
    Ok(Plan {
        suite_path: abs,
        suite_hash: util::fnv1a64_hex(source.as_bytes()),
        build: validated.build,
        cases: validated.cases,
    })
}

//! Fuzz entry points: each takes arbitrary bytes, drives one reader of untrusted input the way
//! perfwatch does, and panics only when an invariant breaks — never on bad input, which must
//! come back as an error. `fuzz/` runs them under cargo-afl (coverage-guided, stable Rust);
//! `tests/corpus.rs` replays the seeds and every crash found (`fuzz/regressions/`) on each test
//! run, so a crash once fixed stays fixed.
//!
//! The invariants, beyond "no panic":
//! - [`suite`]: an error renders (plainly and with miette's snippets) with its problems capped;
//! - [`metric_output`]: whatever a benchmark prints, the run report `perfwatch run` makes of it
//!   is one the team server accepts (no non-finite statistic reaches JSON);
//! - [`ingest`]: a report the server accepts survives a JSON round trip unchanged;
//! - [`import`]: every run an importer makes is one the team server accepts.

use std::path::Path;
use std::sync::OnceLock;
use std::sync::atomic::AtomicBool;

use perfwatch_import::Format;
use perfwatch_model::{Plan, RunReport};
use perfwatch_runner::{ExecOutcome, ScriptedExecutor, Stream};

/// A fuzz target: takes any bytes, panics only when an invariant breaks.
pub type Target = fn(&[u8]);

/// The targets by name, as `fuzz/` and the corpus test know them.
pub const TARGETS: [(&str, Target); 4] =
    [("suite", suite), ("metric_output", metric_output), ("ingest", ingest), ("import", import)];

/// Most problems one suite error may list (the parser reports the first ones and counts the
/// rest); more would make error output grow with the input.
const MAX_LISTED_PROBLEMS: usize = 64;

/// A suite file's bytes through the parser and validator, and any error through both renderers.
pub fn suite(data: &[u8]) {
    match perfwatch_config::parse_bytes(data.to_vec(), Path::new("perfwatch.toml")) {
        Ok(plan) => {
            assert_eq!(plan.suite_hash.len(), 16, "suite hash {:?}", plan.suite_hash);
        }
        Err(e) => {
            assert!(e.problems().len() <= MAX_LISTED_PROBLEMS, "{} problems listed", e.problems().len());
            let plain = e.plain_report();
            assert!(!plain.is_empty());
            let _ = e.to_string();
            // The terminal rendering slices the source by each problem's span.
            let fancy = format!("{:?}", miette::Report::new(e));
            assert!(!fancy.is_empty());
        }
    }
}

/// The suite [`metric_output`] measures: one bench, three runs, no warm-up.
fn metric_plan() -> &'static Plan {
    static PLAN: OnceLock<Plan> = OnceLock::new();
    PLAN.get_or_init(|| {
        let suite =
            "[[bench]]\nname = \"out\"\ncommand = [\"true\"]\nwarmup = 0\nmin_runs = 3\nmax_runs = 3\n";
        perfwatch_config::parse(suite, Path::new("perfwatch.toml")).expect("the fixed suite is valid")
    })
}

/// A benchmark's output: the first byte picks where the bytes are split into two reads (the
/// scanner sees lines cut across reads), the rest is what the program wrote to stdout on each
/// of its runs. The run report must pass the server's check of pushed runs.
pub fn metric_output(data: &[u8]) {
    let Some((&cut, output)) = data.split_first() else { return };
    let cut = usize::from(cut).min(output.len());
    let (lines, dropped) =
        perfwatch_runner::scan_metric_stream(Stream::Stdout, [&output[..cut], &output[cut..]]);
    let outcome = ExecOutcome { metric_lines: lines, dropped_metric_lines: dropped, ..ExecOutcome::ok(0.01) };
    let mut executor = ScriptedExecutor::default().with_fallback(outcome);
    let req = perfwatch_app::measure::MeasureRequest {
        plan: metric_plan().clone(),
        labels: Default::default(),
        git: None,
        show_output: false,
        dated: None,
    };
    let stop = AtomicBool::new(false);
    let measured =
        perfwatch_app::measure::measure(&req, &mut executor, None, &mut perfwatch_app::SilentUi, &stop)
            .expect("measuring without a store cannot fail");
    must_be_accepted(&measured.report, "perfwatch run");
}

/// A pushed body through the server's check; an accepted report must survive a JSON round
/// trip unchanged and be accepted again.
pub fn ingest(data: &[u8]) {
    let Ok(report) = perfwatch_server::check_pushed_run(data) else { return };
    let again = must_be_accepted(&report, "a re-serialised pushed report");
    assert_eq!(again, report, "a pushed report changed in a JSON round trip");
}

/// A result file of another tool: the first byte picks the format (or sniffing, as `perfwatch
/// import` does without `--format`), the rest is the file. criterion's two files are split at
/// the first NUL byte. Every run an importer makes must be one the server accepts.
pub fn import(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else { return };
    let format = Format::ALL.get(usize::from(pick) % (Format::ALL.len() + 1)).copied();
    if format == Some(Format::Criterion) {
        let at = rest.iter().position(|b| *b == 0).unwrap_or(rest.len());
        let files = perfwatch_import::CriterionFiles {
            benchmark: String::from_utf8_lossy(&rest[..at]).into_owned(),
            sample: String::from_utf8_lossy(rest.get(at + 1..).unwrap_or_default()).into_owned(),
        };
        let _ = perfwatch_import::parse_criterion(&files);
        return;
    }
    thread_local! {
        static DIR: tempfile::TempDir = tempfile::tempdir().expect("a temporary directory");
    }
    let path = DIR.with(|d| d.path().join("results.txt"));
    std::fs::write(&path, rest).expect("writing the input file");
    let req = perfwatch_app::import::ImportRequest {
        files: vec![path],
        format,
        labels: Default::default(),
        commit: None,
        branch: None,
        local_git: None,
        local_host: None,
    };
    if let Ok((report, _)) = perfwatch_app::import::read_run(&req) {
        must_be_accepted(&report, "perfwatch import");
    }
}

/// `report` as JSON, checked as the server checks a push; panics with the server's reason.
fn must_be_accepted(report: &RunReport, made_by: &str) -> RunReport {
    let json = serde_json::to_vec(report).expect("a run report serialises");
    match perfwatch_server::check_pushed_run(&json) {
        Ok(back) => back,
        Err(why) => panic!("the server refuses a report {made_by} made: {why}"),
    }
}

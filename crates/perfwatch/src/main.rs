//! The `perfwatch` command: clap types (`cli`), one short function per command calling
//! `perfwatch-app` (`commands`), output (`output`), the terminal UI (`ui`), and the one map
//! from what happened to the exit codes of design §6 (here).

mod cli;
mod commands;
mod output;
mod ui;

use clap::Parser;
use perfwatch_app::{AppError, ErrorKind, Outcome};
use perfwatch_model::exit_codes::{
    self, BENCH_FAILED, GATE_FAILED, INTERRUPTED, STORE_FAILED, SUCCESS, USAGE,
};

fn main() {
    // Must come first, before perfwatch allocates anything: when this process is the
    // measuring spawner it serves requests and never returns (see perfwatch-runner).
    perfwatch_runner::run_spawner_if_requested();

    let cli = cli::Cli::parse();
    ui::set_verbosity(match (cli.quiet, cli.verbose) {
        (true, _) => ui::Verbosity::Quiet,
        (_, true) => ui::Verbosity::Verbose,
        _ => ui::Verbosity::Normal,
    });
    let code = match commands::dispatch(cli) {
        Ok(outcome) => exit_code(outcome),
        Err(err) => {
            let code = error_code(&err);
            report(err);
            code
        }
    };
    std::process::exit(code);
}

/// The exit code of a command that did its job (design §6; the highest applicable code wins,
/// Ctrl-C overrides all).
fn exit_code(o: Outcome) -> i32 {
    if o.interrupted {
        return INTERRUPTED;
    }
    [(o.gate_failed, GATE_FAILED), (o.runs_failed, BENCH_FAILED), (o.store_failed, STORE_FAILED)]
        .into_iter()
        .filter(|(applies, _)| *applies)
        .fold(SUCCESS, |code, (_, c)| exit_codes::combine(code, c))
}

/// The exit code of a command that could not do its job: every such failure happens before
/// anything is measured (or concerns no measurement at all), so all are "usage or
/// configuration error; nothing was measured" — listed one by one so a new kind must be placed.
fn error_code(err: &AppError) -> i32 {
    match err.kind() {
        ErrorKind::Usage
        | ErrorKind::Config
        | ErrorKind::Store
        | ErrorKind::Git
        | ErrorKind::Build
        | ErrorKind::Executor
        | ErrorKind::Network
        | ErrorKind::Io => USAGE,
    }
}

/// Prints an error: config errors as located diagnostics, others with their causes.
fn report(err: AppError) {
    if let AppError::Config(diag) = err {
        eprintln!("{:?}", miette::Report::new(diag));
        return;
    }
    let mut text = format!("error: {err}");
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        if !text.contains(&cause.to_string()) {
            text.push_str(&format!(": {cause}"));
        }
        source = cause.source();
    }
    eprintln!("{text}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_design_section_6() {
        let o = Outcome::default();
        assert_eq!(exit_code(o), 0);
        assert_eq!(exit_code(Outcome { gate_failed: true, ..o }), 1);
        assert_eq!(exit_code(Outcome { gate_failed: true, runs_failed: true, ..o }), 3);
        assert_eq!(exit_code(Outcome { store_failed: true, runs_failed: true, ..o }), 4);
        assert_eq!(exit_code(Outcome { interrupted: true, store_failed: true, ..o }), 130);
        assert_eq!(error_code(&AppError::usage("x")), 2);
    }
}

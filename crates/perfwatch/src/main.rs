//! The `perfwatch` command: thin glue from the command line to the library crates.
//!
//! Each subcommand lives in `commands/` as one small function that converts its clap
//! arguments into plain values, calls the stage crates, renders and returns an exit code.

mod cli;
mod commands;
mod git;
mod output;
mod progress;

use clap::Parser;
use perfwatch_model::exit_codes;

fn main() {
    // Must come first, before perfwatch allocates anything: when this process is the
    // measuring spawner it serves requests and never returns (see perfwatch-runner).
    perfwatch_runner::run_spawner_if_requested();

    let cli = cli::Cli::parse();
    let code = match commands::dispatch(cli) {
        Ok(code) => code,
        Err(err) => {
            if !err.is::<commands::AlreadyReported>() {
                eprintln!("error: {err:#}");
            }
            exit_codes::USAGE
        }
    };
    std::process::exit(code);
}

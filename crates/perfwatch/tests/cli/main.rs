//! Integration tests of the real `perfwatch` binary on real child processes.

mod ab;
mod ci_example;
mod compare;
mod detect;
mod exit_codes;
mod explain;
mod export;
mod gpu;
mod import;
mod instr;
mod instrumented;
mod measure;
mod newcomer;
mod past;
// Team mode needs the server (and its tests a PostgreSQL store).
#[cfg(all(feature = "server", feature = "postgres"))]
mod team;
mod team_util;
mod util;

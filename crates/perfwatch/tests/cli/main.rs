//! Integration tests of the real `perfwatch` binary on real child processes.

mod ab;
mod compare;
mod detect;
mod exit_codes;
mod measure;
mod newcomer;
mod team;
mod team_util;
mod util;

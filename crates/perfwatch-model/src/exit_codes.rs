//! Process exit codes: the contract CI pipelines gate on (design §6, plus two codes the
//! design leaves open, documented in the README).
//!
//! When several apply, the highest wins ([`combine`]); an interrupted command exits with
//! [`INTERRUPTED`] whatever else happened.

/// Success: nothing failed and no gate tripped.
pub const SUCCESS: i32 = 0;
/// A gate failed: a regression, a budget breach, or an inconclusive result with
/// `--fail-on inconclusive`.
pub const GATE_FAILED: i32 = 1;
/// Usage or configuration error; nothing was measured.
pub const USAGE: i32 = 2;
/// One or more benchmark runs failed (non-zero exit, signal, timeout); the rest was measured.
pub const BENCH_FAILED: i32 = 3;
/// Measuring finished and its results were printed, but the history store failed to save
/// them. Not [`USAGE`]: something *was* measured, and the output holds it.
pub const STORE_FAILED: i32 = 4;
/// Stopped by Ctrl-C (128 + SIGINT, the shell's convention); what finished is kept.
pub const INTERRUPTED: i32 = 130;

/// Combines two exit codes by the "highest wins" rule.
pub fn combine(a: i32, b: i32) -> i32 {
    a.max(b)
}

//! Pure decision logic (no I/O): verdicts of a candidate against a baseline, budget checks,
//! and change points over a metric's history.

pub mod budget;
pub mod changepoint;
pub mod paired;
pub mod verdict;

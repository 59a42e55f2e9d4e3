//! Pure decision logic (no I/O): verdicts of a candidate against a baseline, budget checks,
//! change points over a metric's history, and where the cost moved between two profiles.

pub mod budget;
pub mod changepoint;
pub mod paired;
pub mod profile;
pub mod verdict;

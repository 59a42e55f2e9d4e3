//! Pure statistics for perfwatch (no I/O). SKELETON: signatures agreed between crates;
//! the bodies are being written.

use perfwatch_model::{MetricInfo, Summary};

/// Summary statistics of `samples` (in measured order): median with a 95 % CI,
/// mean, stddev, MAD, min, max, p95, p99 and an outlier count. `samples` must not be empty.
pub fn summarize(samples: &[f64], info: &MetricInfo) -> Summary {
    let _ = (samples, info);
    todo!("perfwatch-stats: summarize")
}

/// Relative half-width of the 95 % CI of the median, `(hi - lo) / 2 / median`;
/// `None` when there are too few samples for a 95 % interval or the median is 0.
/// Used for precision-based stopping.
pub fn median_ci_relative_half_width(samples: &[f64]) -> Option<f64> {
    let _ = samples;
    todo!("perfwatch-stats: median_ci_relative_half_width")
}

//! Units the harnesses write, converted to perfwatch's (design §2): seconds, bytes, per second.

/// What a unit measures, and the factor to perfwatch's unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Unit {
    /// A duration; multiply by the factor for seconds.
    Time(f64),
    /// A rate; multiply by the factor for "per second".
    Rate(f64),
    /// A size; multiply by the factor for bytes.
    Size(f64),
}

/// Reads a unit such as `ns`, `µs`, `ms/op`, `ns/iter`, `ops/s`, `ops/ms`, `MB`, `KiB`
/// (case-sensitive where SI needs it: `ms` is not `Ms`); `None` for anything else.
pub fn parse_unit(unit: &str) -> Option<Unit> {
    let u = unit.trim();
    if let Some(f) = time_factor(strip_per_op(u)) {
        return Some(Unit::Time(f));
    }
    if let Some((_, per)) = u.split_once('/') {
        let base = u.split('/').next().unwrap_or("").trim().to_ascii_lowercase();
        let counts = [
            "op",
            "ops",
            "iter",
            "iters",
            "iteration",
            "iterations",
            "call",
            "calls",
            "item",
            "items",
            "req",
            "requests",
        ];
        if counts.contains(&base.as_str()) {
            let per = if per == "sec" { "s" } else { per };
            return time_factor(per).map(|f| Unit::Rate(1.0 / f));
        }
    }
    size_factor(u).map(Unit::Size)
}

/// `ns/op`, `ns/iter`, `us/call` → the time part.
fn strip_per_op(u: &str) -> &str {
    match u.split_once('/') {
        Some((t, per)) if ["op", "iter", "call", "iteration", "it"].contains(&per) => t,
        _ => u,
    }
}

/// Seconds per `unit` for a time unit.
pub fn time_factor(unit: &str) -> Option<f64> {
    Some(match unit {
        "ns" | "nanoseconds" => 1e-9,
        "us" | "µs" | "μs" | "microseconds" => 1e-6,
        "ms" | "milliseconds" => 1e-3,
        "s" | "sec" | "seconds" => 1.0,
        "min" | "minutes" => 60.0,
        _ => return None,
    })
}

/// Bytes per `unit` for a size unit (KB = 1000 B, KiB = 1024 B).
pub fn size_factor(unit: &str) -> Option<f64> {
    Some(match unit {
        "B" | "bytes" | "byte" => 1.0,
        "KB" | "kB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_convert_to_seconds_bytes_and_per_second() {
        assert_eq!(parse_unit("ns"), Some(Unit::Time(1e-9)));
        assert_eq!(parse_unit("us/op"), Some(Unit::Time(1e-6)));
        assert_eq!(parse_unit("ns/iter"), Some(Unit::Time(1e-9)));
        assert_eq!(parse_unit("ms"), Some(Unit::Time(1e-3)));
        assert_eq!(parse_unit("ops/s"), Some(Unit::Rate(1.0)));
        assert_eq!(parse_unit("ops/sec"), Some(Unit::Rate(1.0)));
        assert_eq!(parse_unit("ops/ms"), Some(Unit::Rate(1e3)));
        assert_eq!(parse_unit("MiB"), Some(Unit::Size(1048576.0)));
        assert_eq!(parse_unit("furlongs"), None);
        assert_eq!(parse_unit("Ms"), None);
    }
}

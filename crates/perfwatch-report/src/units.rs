//! Human-readable numbers with units, for tables and Markdown.

/// Formats `value` (in the SI base `unit`) with a readable prefix: seconds as ns/µs/ms/s,
/// bytes as KiB/MiB/GiB, rates with k/M/G; other units as a plain number and the unit.
pub fn human(value: f64, unit: &str) -> String {
    if !value.is_finite() {
        return format!("{value}");
    }
    match unit {
        "s" => seconds(value),
        "bytes" => bytes(value),
        "1/s" => format!("{}/s", si(value)),
        "" => trim(value),
        other => format!("{} {other}", trim(value)),
    }
}

fn seconds(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0 s".into()
    } else if a < 1e-6 {
        format!("{:.1} ns", v * 1e9)
    } else if a < 1e-3 {
        format!("{:.1} µs", v * 1e6)
    } else if a < 1.0 {
        format!("{:.2} ms", v * 1e3)
    } else if a < 120.0 {
        format!("{v:.3} s")
    } else {
        format!("{:.1} min", v / 60.0)
    }
}

fn bytes(v: f64) -> String {
    const K: f64 = 1024.0;
    let a = v.abs();
    if a < K {
        format!("{v:.0} B")
    } else if a < K * K {
        format!("{:.1} KiB", v / K)
    } else if a < K * K * K {
        format!("{:.1} MiB", v / (K * K))
    } else {
        format!("{:.2} GiB", v / (K * K * K))
    }
}

fn si(v: f64) -> String {
    let a = v.abs();
    if a >= 1e9 {
        format!("{:.2} G", v / 1e9)
    } else if a >= 1e6 {
        format!("{:.2} M", v / 1e6)
    } else if a >= 1e3 {
        format!("{:.2} k", v / 1e3)
    } else {
        trim(v)
    }
}

/// A plain number with up to four significant decimals and no trailing zeros.
pub fn trim(v: f64) -> String {
    let s = if v.abs() >= 1000.0 || v == v.trunc() { format!("{v:.0}") } else { format!("{v:.4}") };
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
}

/// A ratio as a signed percentage change: `1.053` → `+5.3%`.
pub fn pct_change(ratio: f64) -> String {
    if !ratio.is_finite() {
        return "n/a".into();
    }
    format!("{:+.1}%", (ratio - 1.0) * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_readable_prefixes() {
        assert_eq!(human(0.0503, "s"), "50.30 ms");
        assert_eq!(human(0.000_75, "s"), "750.0 µs");
        assert_eq!(human(104_857_600.0, "bytes"), "100.0 MiB");
        assert_eq!(human(5_350_455.0, "1/s"), "5.35 M/s");
        assert_eq!(human(0.967, "ratio"), "0.967 ratio");
        assert_eq!(pct_change(1.053), "+5.3%");
        assert_eq!(pct_change(0.9), "-10.0%");
    }
}

//! Parsers for the quantities of the suite file: durations, sizes and percentages.

use std::time::Duration;

/// Why a quantity could not be parsed: a message and, where one helps, a hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitError {
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
}

impl UnitError {
    fn new(message: impl Into<String>, help: Option<String>) -> Self {
        UnitError { message: message.into(), help }
    }
}

/// Duration units and their length in nanoseconds.
const DURATION_UNITS: [(&str, f64); 9] = [
    ("ns", 1.0),
    ("us", 1e3),
    ("µs", 1e3),
    ("μs", 1e3), // Greek mu, which some keyboards produce instead of the micro sign
    ("ms", 1e6),
    ("s", 1e9),
    ("m", 60e9),
    ("h", 3600e9),
    ("d", 86400e9),
];

const DURATION_UNIT_LIST: &str = "ns, us (or µs), ms, s, m, h, d";

/// Size units and their size in bytes (`KB` = 1000 bytes, `KiB` = 1024 bytes).
const SIZE_UNITS: [(&str, f64); 9] = [
    ("B", 1.0),
    ("KB", 1e3),
    ("MB", 1e6),
    ("GB", 1e9),
    ("TB", 1e12),
    ("KiB", 1024.0),
    ("MiB", 1024.0 * 1024.0),
    ("GiB", 1024.0 * 1024.0 * 1024.0),
    ("TiB", 1024.0 * 1024.0 * 1024.0 * 1024.0),
];

const SIZE_UNIT_LIST: &str = "B, KB, MB, GB, TB (1000-based) or KiB, MiB, GiB, TiB (1024-based)";

/// Splits `"1.5 s"` into the number `1.5` and the unit `"s"`. The number is a plain decimal
/// (digits with at most one `.`); a sign or an exponent is not accepted.
fn split_number(text: &str) -> Option<(f64, &str)> {
    let text = text.trim();
    let end = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (num, unit) = text.split_at(end);
    if num.is_empty() || num == "." || num.matches('.').count() > 1 {
        return None;
    }
    let value: f64 = num.parse().ok()?;
    Some((value, unit.trim_start()))
}

/// Parses a duration such as `"10s"`, `"1.5s"`, `"500ms"`, `"2m"` or `"250 µs"`.
///
/// A number needs a unit: `ns`, `us`/`µs`, `ms`, `s`, `m` (minutes), `h`, `d`.
pub fn parse_duration(text: &str) -> Result<Duration, UnitError> {
    let trimmed = text.trim();
    if trimmed.starts_with('-') {
        return Err(UnitError::new(
            format!("invalid duration `{text}`: a duration cannot be negative"),
            None,
        ));
    }
    let Some((value, unit)) = split_number(trimmed) else {
        return Err(UnitError::new(
            format!("invalid duration `{text}`: expected a number followed by a unit"),
            Some(format!("write for example \"10s\" or \"500ms\"; units: {DURATION_UNIT_LIST}")),
        ));
    };
    if unit.is_empty() {
        return Err(UnitError::new(
            format!("the duration `{text}` has no unit"),
            Some(bare_duration_hint(value)),
        ));
    }
    let Some(&(_, nanos_per_unit)) = DURATION_UNITS.iter().find(|(u, _)| *u == unit) else {
        let lower = unit.to_lowercase();
        let hint = match lower.as_str() {
            "sec" | "secs" | "second" | "seconds" => format!("write \"{}s\"", fmt_num(value)),
            "min" | "mins" | "minute" | "minutes" => format!("write \"{}m\"", fmt_num(value)),
            "hour" | "hours" | "hr" | "hrs" => format!("write \"{}h\"", fmt_num(value)),
            "day" | "days" => format!("write \"{}d\"", fmt_num(value)),
            "msec" | "millis" | "milliseconds" => format!("write \"{}ms\"", fmt_num(value)),
            _ if DURATION_UNITS.iter().any(|(u, _)| *u == lower) => {
                format!("units are lowercase: write \"{}{lower}\"", fmt_num(value))
            }
            _ if unit.chars().any(|c| c.is_ascii_digit()) => {
                format!(
                    "combined durations are not supported; write one number and one unit (units: {DURATION_UNIT_LIST})"
                )
            }
            _ => format!("units: {DURATION_UNIT_LIST}"),
        };
        return Err(UnitError::new(format!("invalid duration `{text}`: unknown unit `{unit}`"), Some(hint)));
    };
    let nanos = (value * nanos_per_unit).round();
    if !nanos.is_finite() || nanos > u64::MAX as f64 {
        return Err(UnitError::new(format!("the duration `{text}` is too large"), None));
    }
    Ok(Duration::from_nanos(nanos as u64))
}

/// The hint for a duration written without unit.
pub(crate) fn bare_duration_hint(value: f64) -> String {
    format!("add a unit, e.g. \"{}s\" (units: {DURATION_UNIT_LIST})", fmt_num(value))
}

/// The hint for a size written without unit.
pub(crate) fn bare_size_hint(value: f64) -> String {
    format!("add a unit, e.g. \"{}MB\" (units: {SIZE_UNIT_LIST})", fmt_num(value))
}

/// Parses a size such as `"200MB"`, `"1.5 GiB"` or `"512KiB"` into bytes.
///
/// `B`, `KB`, `MB`, `GB`, `TB` are powers of 1000; `KiB`, `MiB`, `GiB`, `TiB` powers of 1024.
pub fn parse_size(text: &str) -> Result<f64, UnitError> {
    let trimmed = text.trim();
    if trimmed.starts_with('-') {
        return Err(UnitError::new(format!("invalid size `{text}`: a size cannot be negative"), None));
    }
    let Some((value, unit)) = split_number(trimmed) else {
        return Err(UnitError::new(
            format!("invalid size `{text}`: expected a number followed by a unit"),
            Some(format!("write for example \"200MB\"; units: {SIZE_UNIT_LIST}")),
        ));
    };
    if unit.is_empty() {
        return Err(UnitError::new(format!("the size `{text}` has no unit"), Some(bare_size_hint(value))));
    }
    match SIZE_UNITS.iter().find(|(u, _)| *u == unit) {
        Some(&(_, factor)) => Ok(value * factor),
        None => {
            let hint = match SIZE_UNITS.iter().find(|(u, _)| u.eq_ignore_ascii_case(unit)) {
                Some((u, _)) => format!("did you mean \"{}{u}\"? units: {SIZE_UNIT_LIST}", fmt_num(value)),
                None => format!("units: {SIZE_UNIT_LIST}"),
            };
            Err(UnitError::new(format!("invalid size `{text}`: unknown unit `{unit}`"), Some(hint)))
        }
    }
}

/// Parses a percentage written as a string: `"2%"` → `0.02`.
pub fn parse_percent_str(text: &str) -> Result<f64, UnitError> {
    let trimmed = text.trim();
    let Some(num) = trimmed.strip_suffix('%') else {
        let hint = match trimmed.parse::<f64>() {
            Ok(v) => format!(
                "write \"{}%\", or the fraction {} as a number without quotes",
                fmt_num(v),
                fmt_num(v / 100.0)
            ),
            Err(_) => "write a percentage such as \"2%\", or a fraction such as 0.02".to_string(),
        };
        return Err(UnitError::new(
            format!("invalid percentage `{text}`: expected a number followed by `%`"),
            Some(hint),
        ));
    };
    match num.trim_end().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v / 100.0),
        Ok(_) => {
            Err(UnitError::new(format!("invalid percentage `{text}`: it must be zero or positive"), None))
        }
        Err(_) => Err(UnitError::new(
            format!("invalid percentage `{text}`: `{}` is not a number", num.trim_end()),
            Some("write a percentage such as \"2%\", or a fraction such as 0.02".to_string()),
        )),
    }
}

/// Checks a percentage written as a bare number, which must be a fraction: `0.02` = 2 %.
///
/// A number ≥ 1 is an error: it almost certainly meant percent (`threshold = 5` for 5 %).
pub fn parse_percent_number(value: f64) -> Result<f64, UnitError> {
    if !value.is_finite() || value < 0.0 {
        return Err(UnitError::new(
            format!("invalid fraction {}: it must be zero or positive", fmt_num(value)),
            None,
        ));
    }
    if value >= 1.0 {
        return Err(UnitError::new(
            format!("the fraction {} is 100% or more", fmt_num(value)),
            Some(format!("a bare number is a fraction (0.02 = 2%); did you mean \"{}%\"?", fmt_num(value))),
        ));
    }
    Ok(value)
}

/// Formats a number without a trailing `.0`.
pub(crate) fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 { format!("{}", v as i64) } else { format!("{v}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("300ms").unwrap(), Duration::from_millis(300));
        assert_eq!(parse_duration(" 250 µs ").unwrap(), Duration::from_micros(250));
        assert_eq!(parse_duration("250us").unwrap(), Duration::from_micros(250));
        assert_eq!(parse_duration("7ns").unwrap(), Duration::from_nanos(7));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_duration("90d").unwrap(), Duration::from_secs(90 * 86400));
        assert_eq!(parse_duration("0s").unwrap(), Duration::ZERO);
    }

    #[test]
    fn bad_durations() {
        let e = parse_duration("10").unwrap_err();
        assert!(e.message.contains("no unit"), "{e:?}");
        assert!(e.help.unwrap().contains("\"10s\""));
        assert!(parse_duration("10 seconds").unwrap_err().help.unwrap().contains("\"10s\""));
        assert!(parse_duration("10MS").unwrap_err().help.unwrap().contains("lowercase"));
        assert!(parse_duration("1m30s").unwrap_err().help.unwrap().contains("combined"));
        assert!(parse_duration("-1s").unwrap_err().message.contains("negative"));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("1.2.3s").is_err());
        assert!(parse_duration("99999999999999d").unwrap_err().message.contains("too large"));
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("200MB").unwrap(), 200e6);
        assert_eq!(parse_size("1 KiB").unwrap(), 1024.0);
        assert_eq!(parse_size("1.5GiB").unwrap(), 1.5 * 1024.0 * 1024.0 * 1024.0);
        assert_eq!(parse_size("10B").unwrap(), 10.0);
        assert!(parse_size("200").unwrap_err().help.unwrap().contains("\"200MB\""));
        assert!(parse_size("200mb").unwrap_err().help.unwrap().contains("\"200MB\""));
        assert!(parse_size("200 parsecs").is_err());
        assert!(parse_size("-3MB").is_err());
    }

    #[test]
    fn percentages() {
        assert_eq!(parse_percent_str("2%").unwrap(), 0.02);
        assert_eq!(parse_percent_str("2.5 %").unwrap(), 0.025);
        assert_eq!(parse_percent_str("0%").unwrap(), 0.0);
        assert!(parse_percent_str("5").unwrap_err().help.unwrap().contains("\"5%\""));
        assert!(parse_percent_str("x%").is_err());
        assert!(parse_percent_str("-1%").is_err());
        assert_eq!(parse_percent_number(0.05).unwrap(), 0.05);
        assert_eq!(parse_percent_number(0.0).unwrap(), 0.0);
        let e = parse_percent_number(5.0).unwrap_err();
        assert!(e.help.unwrap().contains("\"5%\""));
        assert!(parse_percent_number(1.0).is_err());
        assert!(parse_percent_number(-0.1).is_err());
    }
}

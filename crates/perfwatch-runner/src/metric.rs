//! `perfwatch-metric` lines (design §4): how benchmarks report custom metrics.
//!
//! ```text
//! perfwatch-metric name=cache_hit_rate value=0.967 unit=ratio better=higher
//! ```
//! Fields are `key=value` pairs separated by whitespace, in any order; `name` and `value`
//! are required, `unit` and `better` may come from the suite's `[bench.metrics]` instead.

use perfwatch_model::{Better, MetricInfo};

/// Every metric line starts with this word.
pub const METRIC_PREFIX: &str = "perfwatch-metric";

/// A well-formed metric line.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricLine {
    /// Metric name.
    pub name: String,
    /// Reported value.
    pub value: f64,
    /// `unit=` if given.
    pub unit: Option<String>,
    /// `better=` if given.
    pub better: Option<Better>,
}

/// Why a metric line was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetricLineError {
    /// The line does not start with [`METRIC_PREFIX`] followed by whitespace.
    #[error("line does not start with `perfwatch-metric `")]
    NoPrefix,
    /// A field is not `key=value`.
    #[error("field `{0}` is not of the form key=value")]
    NotKeyValue(String),
    /// A key other than name, value, unit, better.
    #[error("unknown field `{0}` (expected name, value, unit, better)")]
    UnknownKey(String),
    /// A key given twice.
    #[error("field `{0}` is given twice")]
    Duplicate(String),
    /// `name=` is missing.
    #[error("missing `name=`")]
    MissingName,
    /// The name is not made of letters, digits, `_`, `.`, `-`, `/`.
    #[error("invalid metric name `{0}` (use letters, digits, `_`, `.`, `-`, `/`)")]
    BadName(String),
    /// `value=` is missing.
    #[error("missing `value=`")]
    MissingValue,
    /// The value is not a finite number.
    #[error("value `{0}` is not a finite number")]
    BadValue(String),
    /// `better=` is neither lower nor higher.
    #[error("better=`{0}` must be `lower` or `higher`")]
    BadBetter(String),
    /// Built-in metric names cannot be reported by a benchmark.
    #[error("`{0}` is a built-in metric measured by perfwatch itself and cannot be reported")]
    Builtin(String),
}

/// Parses one metric line (without its newline).
pub fn parse_metric_line(line: &str) -> Result<MetricLine, MetricLineError> {
    let rest = line.strip_prefix(METRIC_PREFIX).ok_or(MetricLineError::NoPrefix)?;
    if !rest.is_empty() && !rest.starts_with(char::is_whitespace) {
        return Err(MetricLineError::NoPrefix);
    }
    let (mut name, mut value, mut unit, mut better) = (None, None, None, None);
    for field in rest.split_whitespace() {
        let (key, val) =
            field.split_once('=').ok_or_else(|| MetricLineError::NotKeyValue(field.to_string()))?;
        let slot = match key {
            "name" => &mut name,
            "value" => &mut value,
            "unit" => &mut unit,
            "better" => &mut better,
            other => return Err(MetricLineError::UnknownKey(other.to_string())),
        };
        if slot.replace(val).is_some() {
            return Err(MetricLineError::Duplicate(key.to_string()));
        }
    }
    let name = name.ok_or(MetricLineError::MissingName)?;
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || "_.-/".contains(c)) {
        return Err(MetricLineError::BadName(name.to_string()));
    }
    if perfwatch_model::builtin_metric(name).is_some() {
        return Err(MetricLineError::Builtin(name.to_string()));
    }
    let raw_value = value.ok_or(MetricLineError::MissingValue)?;
    let value = raw_value
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| MetricLineError::BadValue(raw_value.to_string()))?;
    let better = match better {
        None => None,
        Some("lower") => Some(Better::Lower),
        Some("higher") => Some(Better::Higher),
        Some(other) => return Err(MetricLineError::BadBetter(other.to_string())),
    };
    Ok(MetricLine { name: name.to_string(), value, unit: unit.map(str::to_string), better })
}

impl MetricLine {
    /// Unit and direction, the suite's declaration taking precedence over the line.
    /// `None` when neither says which direction is better.
    pub fn info(&self, declared: Option<&MetricInfo>) -> Option<MetricInfo> {
        if let Some(d) = declared {
            return Some(d.clone());
        }
        Some(MetricInfo::new(self.unit.clone().unwrap_or_default(), self.better?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_full_line() {
        let m =
            parse_metric_line("perfwatch-metric name=cache_hit_rate value=0.967 unit=ratio better=higher")
                .unwrap();
        assert_eq!(m.name, "cache_hit_rate");
        assert_eq!(m.value, 0.967);
        assert_eq!(m.unit.as_deref(), Some("ratio"));
        assert_eq!(m.better, Some(Better::Higher));
    }

    #[test]
    fn fields_in_any_order_and_optional_unit() {
        let m = parse_metric_line("perfwatch-metric  value=5350455\tname=violations_per_s").unwrap();
        assert_eq!((m.name.as_str(), m.value, m.unit, m.better), ("violations_per_s", 5350455.0, None, None));
    }

    #[test]
    fn rejects_malformed_lines() {
        use MetricLineError::*;
        let cases: [(&str, MetricLineError); 10] = [
            ("perfwatch-metrics name=a value=1", NoPrefix),
            ("perfwatch-metric name=a value=abc", BadValue("abc".into())),
            ("perfwatch-metric name=a value=NaN", BadValue("NaN".into())),
            ("perfwatch-metric value=1", MissingName),
            ("perfwatch-metric name=a", MissingValue),
            ("perfwatch-metric name=a value=1 colour=red", UnknownKey("colour".into())),
            ("perfwatch-metric name=a value=1 better=up", BadBetter("up".into())),
            ("perfwatch-metric name=a name=b value=1", Duplicate("name".into())),
            ("perfwatch-metric name=a value=1 oops", NotKeyValue("oops".into())),
            ("perfwatch-metric name=wall value=1", Builtin("wall".into())),
        ];
        for (line, want) in cases {
            assert_eq!(parse_metric_line(line), Err(want), "{line}");
        }
    }

    #[test]
    fn declaration_wins() {
        let m = parse_metric_line("perfwatch-metric name=a value=1 unit=x better=lower").unwrap();
        let declared = MetricInfo::new("ratio", Better::Higher);
        assert_eq!(m.info(Some(&declared)), Some(declared));
        assert_eq!(m.info(None), Some(MetricInfo::new("x", Better::Lower)));
        let bare = parse_metric_line("perfwatch-metric name=a value=1").unwrap();
        assert_eq!(bare.info(None), None);
    }
}

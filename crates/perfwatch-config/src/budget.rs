//! Budgets: `"wall.p95 < 500ms"`, `"max_rss.max < 200MB"`, `"cache_hit_rate.median >= 0.8"`.

use std::ops::Range;

use perfwatch_model::metric::{CPU, MAX_RSS, SYS, USER, WALL};
use perfwatch_model::{Budget, BudgetOp, BudgetStat};

use crate::units::{self, fmt_num};
use crate::util::near_miss;

/// A malformed budget: a message, the byte range inside the budget text, and a hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BudgetError {
    pub message: String,
    pub range: Range<usize>,
    pub help: Option<String>,
}

const SYNTAX_HELP: &str = "write METRIC.STAT OP VALUE, e.g. \"wall.p95 < 500ms\", \"max_rss.max < 200MB\" or \"cache_hit_rate.median >= 0.8\"";

/// Whether `name` can name a metric: ASCII letters, digits, `_`, `-` and `.`, starting with a
/// letter or `_`.
pub(crate) fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
}

/// Parses one budget. The value is converted to the metric's SI unit: seconds for `wall`,
/// `user`, `sys`, `cpu` (which need a duration), bytes for `max_rss` (which needs a size), and a
/// plain number for `throughput` and custom metrics.
pub(crate) fn parse_budget(text: &str) -> Result<Budget, BudgetError> {
    let whole = 0..text.len();
    let Some(op_at) = text.find(['<', '>', '=', '!']) else {
        return Err(err(
            format!("invalid budget `{text}`: no comparison operator"),
            whole,
            Some(format!("{SYNTAX_HELP}; operators: <, <=, >, >=")),
        ));
    };
    let (op, op_len) = parse_op(text, op_at)?;
    let (metric, stat) = parse_left(text, op_at)?;
    // Right side: the bound.
    let right = &text[op_at + op_len..];
    let right_start = op_at + op_len + (right.len() - right.trim_start().len());
    let right_trim = right.trim();
    if right_trim.is_empty() {
        return Err(err(
            format!("invalid budget `{text}`: no value after the operator"),
            whole,
            Some(SYNTAX_HELP.into()),
        ));
    }
    let value = parse_value(metric, right_trim, right_start..right_start + right_trim.len())?;
    Ok(Budget { text: text.trim().to_string(), metric: metric.to_string(), stat, op, value })
}

fn err(message: String, range: Range<usize>, help: Option<String>) -> BudgetError {
    BudgetError { message, range, help }
}

/// The operator at `op_at` and its length.
fn parse_op(text: &str, op_at: usize) -> Result<(BudgetOp, usize), BudgetError> {
    let rest = &text[op_at..];
    for (token, op) in [("<=", BudgetOp::Le), (">=", BudgetOp::Ge), ("<", BudgetOp::Lt), (">", BudgetOp::Gt)]
    {
        if rest.starts_with(token) {
            return Ok((op, token.len()));
        }
    }
    let len = rest.find(|c: char| !"=!<>".contains(c)).unwrap_or(rest.len());
    Err(err(
        format!("invalid budget operator `{}`", &rest[..len]),
        op_at..op_at + len,
        Some("operators: <, <=, >, >= (a budget is a bound, not an equality)".into()),
    ))
}

/// The left side, `METRIC.STAT`, before the operator at `op_at`.
fn parse_left(text: &str, op_at: usize) -> Result<(&str, BudgetStat), BudgetError> {
    let left = &text[..op_at];
    let left_start = op_at - left.trim_start().len();
    let left_trim = left.trim();
    let left_range = left_start..left_start + left_trim.len();
    if left_trim.is_empty() {
        return Err(err(
            format!("invalid budget `{text}`: no metric before the operator"),
            0..text.len(),
            Some(SYNTAX_HELP.into()),
        ));
    }
    let Some(dot) = left_trim.rfind('.') else {
        return Err(err(
            format!("invalid budget `{text}`: `{left_trim}` names no statistic"),
            left_range,
            Some(format!(
                "write `{left_trim}.STAT` with STAT one of {}, e.g. \"{left_trim}.p95\"",
                BudgetStat::NAMES.join(", ")
            )),
        ));
    };
    let (metric, stat_text) = (&left_trim[..dot], &left_trim[dot + 1..]);
    if !is_metric_name(metric) {
        return Err(err(
            format!("invalid metric name `{metric}` in budget"),
            left_range.start..left_range.start + dot,
            Some(
                "metric names use letters, digits, `_`, `-` and `.`, e.g. `wall` or `cache_hit_rate`".into(),
            ),
        ));
    }
    let Some(stat) = BudgetStat::parse(stat_text) else {
        let mut help = format!("statistics: {}", BudgetStat::NAMES.join(", "));
        if let Some(near) = near_miss(stat_text, BudgetStat::NAMES.iter().copied()) {
            help = format!("did you mean `{near}`? {help}");
        }
        let stat_range = left_range.start + dot + 1..left_range.end;
        return Err(err(format!("unknown statistic `{stat_text}` in budget"), stat_range, Some(help)));
    };
    Ok((metric, stat))
}

/// The bound in the metric's SI unit: a duration for times, a size for memory, else a number.
fn parse_value(metric: &str, text: &str, range: Range<usize>) -> Result<f64, BudgetError> {
    let unit_err = |what: &str, e: units::UnitError, example: &str| {
        err(
            format!("`{metric}` is a {what}; {}", e.message),
            range.clone(),
            e.help.or_else(|| Some(example.into())),
        )
    };
    match metric {
        WALL | USER | SYS | CPU => units::parse_duration(text)
            .map(|d| d.as_secs_f64())
            .map_err(|e| unit_err("time", e, "write a duration such as \"500ms\"")),
        MAX_RSS => {
            units::parse_size(text).map_err(|e| unit_err("memory size", e, "write a size such as \"200MB\""))
        }
        _ => match text.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(v),
            _ => {
                let hint = if metric == perfwatch_model::metric::THROUGHPUT {
                    "throughput is in items per second; write a plain number, e.g. \"throughput.median > 1e6\""
                        .to_string()
                } else {
                    format!(
                        "`{metric}` is compared as a plain number in its own unit, e.g. \"{metric}.median >= {}\"",
                        fmt_num(0.8)
                    )
                };
                Err(err(format!("invalid budget value `{text}`: expected a number"), range, Some(hint)))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_budgets() {
        let b = parse_budget("wall.p95 < 500ms").unwrap();
        assert_eq!((b.metric.as_str(), b.stat, b.op, b.value), ("wall", BudgetStat::P95, BudgetOp::Lt, 0.5));
        assert_eq!(b.text, "wall.p95 < 500ms");
        let b = parse_budget("max_rss.max<=200MB").unwrap();
        assert_eq!(
            (b.metric.as_str(), b.stat, b.op, b.value),
            ("max_rss", BudgetStat::Max, BudgetOp::Le, 200e6)
        );
        let b = parse_budget("cache_hit_rate.median >= 0.8").unwrap();
        assert_eq!((b.stat, b.op, b.value), (BudgetStat::Median, BudgetOp::Ge, 0.8));
        let b = parse_budget("throughput.mean > 1e6").unwrap();
        assert_eq!(
            (b.metric.as_str(), b.stat, b.op, b.value),
            ("throughput", BudgetStat::Mean, BudgetOp::Gt, 1e6)
        );
        let b = parse_budget("cpu.p99 < 2s").unwrap();
        assert_eq!(b.value, 2.0);
        let b = parse_budget("app.latency.min > 0").unwrap();
        assert_eq!((b.metric.as_str(), b.stat), ("app.latency", BudgetStat::Min));
    }

    #[test]
    fn rejects_malformed_budgets() {
        let e = parse_budget("wall.p90 < 1s").unwrap_err();
        assert_eq!(e.range, 5..8);
        assert!(e.message.contains("unknown statistic `p90`"));
        let e = parse_budget("wall < 1s").unwrap_err();
        assert!(e.help.unwrap().contains("wall.p95"));
        let e = parse_budget("wall.p95 == 1s").unwrap_err();
        assert_eq!(e.range, 9..11);
        let e = parse_budget("wall.p95 < 500").unwrap_err();
        assert_eq!(e.range, 11..14);
        assert!(e.help.unwrap().contains("\"500s\""));
        let e = parse_budget("max_rss.max < 200").unwrap_err();
        assert!(e.help.unwrap().contains("\"200MB\""));
        assert!(parse_budget("hits.median > lots").is_err());
        assert!(parse_budget("wall.p95").is_err());
        assert!(parse_budget("wall.p95 <").is_err());
        assert!(parse_budget("< 3").is_err());
        assert!(parse_budget("9x.p95 < 3").is_err());
        assert!(parse_budget("").is_err());
    }
}

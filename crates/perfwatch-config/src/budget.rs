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
    let err =
        |message: String, range: Range<usize>, help: Option<String>| BudgetError { message, range, help };
    let whole = 0..text.len();
    let Some(op_at) = text.find(['<', '>', '=', '!']) else {
        return Err(err(
            format!("invalid budget `{text}`: no comparison operator"),
            whole,
            Some(format!("{SYNTAX_HELP}; operators: <, <=, >, >=")),
        ));
    };
    let rest = &text[op_at..];
    let (op, op_len) = if rest.starts_with("<=") {
        (BudgetOp::Le, 2)
    } else if rest.starts_with(">=") {
        (BudgetOp::Ge, 2)
    } else if rest.starts_with('<') {
        (BudgetOp::Lt, 1)
    } else if rest.starts_with('>') {
        (BudgetOp::Gt, 1)
    } else {
        let len = rest.find(|c: char| !"=!<>".contains(c)).unwrap_or(rest.len());
        return Err(err(
            format!("invalid budget operator `{}`", &rest[..len]),
            op_at..op_at + len,
            Some("operators: <, <=, >, >= (a budget is a bound, not an equality)".into()),
        ));
    };

    // Left side: METRIC.STAT
    let left = &text[..op_at];
    let left_start = op_at - left.trim_start().len();
    let left_trim = left.trim();
    let left_range = left_start..left_start + left_trim.len();
    if left_trim.is_empty() {
        return Err(err(
            format!("invalid budget `{text}`: no metric before the operator"),
            whole,
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
    let metric = &left_trim[..dot];
    let stat_text = &left_trim[dot + 1..];
    let metric_range = left_range.start..left_range.start + dot;
    let stat_range = left_range.start + dot + 1..left_range.end;
    if !is_metric_name(metric) {
        return Err(err(
            format!("invalid metric name `{metric}` in budget"),
            metric_range,
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
        return Err(err(format!("unknown statistic `{stat_text}` in budget"), stat_range, Some(help)));
    };

    // Right side: the bound
    let right = &text[op_at + op_len..];
    let right_start = op_at + op_len + (right.len() - right.trim_start().len());
    let right_trim = right.trim();
    let right_range =
        if right_trim.is_empty() { whole.clone() } else { right_start..right_start + right_trim.len() };
    if right_trim.is_empty() {
        return Err(err(
            format!("invalid budget `{text}`: no value after the operator"),
            whole,
            Some(SYNTAX_HELP.into()),
        ));
    }
    let value = match metric {
        WALL | USER | SYS | CPU => match units::parse_duration(right_trim) {
            Ok(d) => d.as_secs_f64(),
            Err(e) => {
                return Err(err(
                    format!("`{metric}` is a time; {}", e.message),
                    right_range,
                    e.help.or_else(|| Some("write a duration such as \"500ms\"".into())),
                ));
            }
        },
        MAX_RSS => match units::parse_size(right_trim) {
            Ok(bytes) => bytes,
            Err(e) => {
                return Err(err(
                    format!("`{metric}` is a memory size; {}", e.message),
                    right_range,
                    e.help.or_else(|| Some("write a size such as \"200MB\"".into())),
                ));
            }
        },
        _ => match right_trim.parse::<f64>() {
            Ok(v) if v.is_finite() => v,
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
                return Err(err(
                    format!("invalid budget value `{right_trim}`: expected a number"),
                    right_range,
                    Some(hint),
                ));
            }
        },
    };
    Ok(Budget { text: text.trim().to_string(), metric: metric.to_string(), stat, op, value })
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

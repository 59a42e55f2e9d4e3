//! `--format auto`: which format a file's text is in, from its shape (never from its name).

use serde_json::Value;

use crate::Format;

/// The format of `text`, judged from the first thing that tells them apart; `None` when
/// nothing matches. criterion's directory is recognised by the caller (it is not one text).
pub fn sniff(text: &str) -> Option<Format> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        if let Ok(doc) = serde_json::from_str::<Value>(trimmed) {
            return sniff_json(&doc);
        }
        // Not one document: cargo-criterion writes one JSON message per line.
        let first = trimmed.lines().next().and_then(|l| serde_json::from_str::<Value>(l).ok());
        return first.filter(|m| m.get("reason").is_some()).map(|_| Format::CargoCriterion);
    }
    sniff_text(text)
}

fn sniff_json(doc: &Value) -> Option<Format> {
    if let Some(items) = doc.as_array() {
        let first = items.first()?;
        return if first.get("primaryMetric").is_some() {
            Some(Format::Jmh)
        } else if ["name", "unit", "value"].iter().all(|k| first.get(k).is_some()) {
            Some(Format::Gab)
        } else {
            None
        };
    }
    let has = |k: &str| doc.get(k).is_some();
    if has("reason") {
        Some(Format::CargoCriterion)
    } else if doc.get("results").and_then(Value::as_array).is_some() {
        Some(Format::Hyperfine)
    } else if has("result_columns") {
        Some(Format::Asv)
    } else if has("benchmarks") && has("context") {
        Some(Format::Gbench)
    } else if has("benchmarks") && (has("machine_info") || has("commit_info") || has("datetime")) {
        Some(Format::PytestBenchmark)
    } else if is_bmf(doc) {
        Some(Format::Bmf)
    } else {
        None
    }
}

/// `{"bench": {"measure": {"value": …}}}`.
fn is_bmf(doc: &Value) -> bool {
    let Some(benches) = doc.as_object() else { return false };
    !benches.is_empty()
        && benches.values().all(|m| {
            m.as_object().is_some_and(|ms| !ms.is_empty() && ms.values().all(|v| v.get("value").is_some()))
        })
}

fn sniff_text(text: &str) -> Option<Format> {
    for line in text.lines() {
        let l = line.trim_start();
        if l.starts_with("test ") && l.contains(" ... bench:") {
            return Some(Format::Libtest);
        }
        let mut words = l.split_whitespace();
        let first = words.next().unwrap_or("");
        let second = words.next().unwrap_or("");
        if first.starts_with("Benchmark") && !second.is_empty() && second.bytes().all(|b| b.is_ascii_digit())
        {
            return Some(Format::Go);
        }
    }
    None
}

/// A date as harnesses write it: RFC 3339 with an offset, or without one (taken as UTC).
pub(crate) fn timestamp(text: &str) -> Option<jiff::Timestamp> {
    text.parse::<jiff::Timestamp>().ok().or_else(|| {
        let civil: jiff::civil::DateTime = text.parse().ok()?;
        civil.to_zoned(jiff::tz::TimeZone::UTC).ok().map(|z| z.timestamp())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_shape_is_recognised() {
        let cases = [
            (r#"{"results": [{"command": "x"}]}"#, Some(Format::Hyperfine)),
            (r#"{"context": {}, "benchmarks": []}"#, Some(Format::Gbench)),
            (r#"{"machine_info": {}, "benchmarks": []}"#, Some(Format::PytestBenchmark)),
            (r#"{"result_columns": [], "results": {}}"#, Some(Format::Asv)),
            (r#"{"a": {"latency": {"value": 1}}}"#, Some(Format::Bmf)),
            (r#"[{"benchmark": "a", "primaryMetric": {}}]"#, Some(Format::Jmh)),
            (r#"[{"name": "a", "unit": "ns", "value": 1}]"#, Some(Format::Gab)),
            ("{\"reason\": \"group-complete\"}\n{\"reason\": \"x\"}\n", Some(Format::CargoCriterion)),
            ("test a ... bench:   1 ns/iter (+/- 0)\n", Some(Format::Libtest)),
            ("goos: linux\nBenchmarkA-2   100   5 ns/op\n", Some(Format::Go)),
            ("hello", None),
            ("{\"x\": 1}", None),
        ];
        for (text, want) in cases {
            assert_eq!(sniff(text), want, "{text}");
        }
    }

    #[test]
    fn dates_with_and_without_offsets() {
        assert!(timestamp("2026-12-03T05:00:00+00:00").is_some());
        assert!(timestamp("2026-12-03T05:00:00.123456").is_some());
        assert!(timestamp("yesterday").is_none());
    }
}

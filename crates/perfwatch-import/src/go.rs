//! `go test -bench` text output:
//! `BenchmarkSort/n=100-8   1000000   1234 ns/op   128 B/op   2 allocs/op`.
//! Each line is one measurement (a mean over its iteration count); with `-count N` a
//! benchmark has N lines, which become N samples. The `-8` suffix (GOMAXPROCS) becomes the
//! parameter `procs`. Units: `ns/op` → `wall` (s), `B/op` → `alloc_bytes`, `allocs/op` →
//! `allocs`, `MB/s` → `bytes_per_second` (higher is better); other `b.ReportMetric` units keep
//! their unit, named after it, lower is better. The `cpu:` header names the CPU.

use std::collections::HashMap;

use perfwatch_model::{Better, CaseId, MetricInfo, metric};

use crate::{ImportError, Imported, ImportedCase, ImportedMetric, SourceMeta, Values};

pub(crate) fn parse(text: &str) -> Result<Imported, ImportError> {
    let mut cases: Vec<ImportedCase> = Vec::new();
    let mut index: HashMap<CaseId, usize> = HashMap::new();
    let mut meta = SourceMeta::default();
    for (i, line) in text.lines().enumerate() {
        if let Some(cpu) = line.strip_prefix("cpu: ") {
            meta.cpu = Some(cpu.trim().to_string());
        }
        let mut words = line.split_whitespace();
        let Some(first) = words.next().filter(|w| w.starts_with("Benchmark") && w.len() > "Benchmark".len())
        else {
            continue;
        };
        let fields: Vec<&str> = words.collect();
        // `BenchmarkX` alone on a line (verbose output before its result) carries no numbers.
        if fields.is_empty() {
            continue;
        }
        let at = |what: String| ImportError::at_line(i + 1, what);
        let _iterations: u64 = fields[0]
            .parse()
            .map_err(|_| at(format!("expected an iteration count after {first}, found {:?}", fields[0])))?;
        if fields.len() < 3 || fields.len() % 2 == 0 {
            return Err(at("expected pairs of `value unit` after the iteration count".into()));
        }
        let case = case_id(first);
        let slot = *index.entry(case.clone()).or_insert_with(|| {
            cases.push(ImportedCase::new(case));
            cases.len() - 1
        });
        for pair in fields[1..].chunks(2) {
            let value: f64 =
                pair[0].parse().map_err(|_| at(format!("expected a number, found {:?}", pair[0])))?;
            let (name, info, factor) = metric_of(pair[1]);
            let entry = cases[slot]
                .metrics
                .entry(name)
                .or_insert_with(|| ImportedMetric { info, values: Values::Samples(Vec::new()) });
            if let Values::Samples(v) = &mut entry.values {
                v.push(value * factor);
            }
        }
    }
    Ok(Imported { cases, meta })
}

/// `BenchmarkSort/n=100-8` → name `BenchmarkSort/n=100`, `procs=8`.
fn case_id(word: &str) -> CaseId {
    match word.rsplit_once('-') {
        Some((name, procs)) if !procs.is_empty() && procs.bytes().all(|b| b.is_ascii_digit()) => {
            CaseId::new(name, [("procs", procs)])
        }
        _ => CaseId::new(word, Vec::<(String, String)>::new()),
    }
}

fn metric_of(unit: &str) -> (String, MetricInfo, f64) {
    match unit {
        "ns/op" => (metric::WALL.into(), MetricInfo::new("s", Better::Lower), 1e-9),
        "B/op" => ("alloc_bytes".into(), MetricInfo::new("bytes", Better::Lower), 1.0),
        "allocs/op" => ("allocs".into(), MetricInfo::new("1", Better::Lower), 1.0),
        "MB/s" => ("bytes_per_second".into(), MetricInfo::new("bytes/s", Better::Higher), 1e6),
        other => {
            let name: String =
                other.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
            (name, MetricInfo::new(other, Better::Lower), 1.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_lines_become_samples() {
        let text = "goos: linux\ncpu: Test CPU @ 2GHz\n\
            BenchmarkSum-2   \t 1000\t      1200 ns/op\t      16 B/op\t       1 allocs/op\n\
            BenchmarkSum-2   \t 1000\t      1300 ns/op\t      16 B/op\t       1 allocs/op\n\
            BenchmarkSub/n=100-2  500  2.5 ns/op  40.00 MB/s\nPASS\nok  \tx\t1.0s\n";
        let got = parse(text).unwrap();
        assert_eq!(got.cases.len(), 2);
        assert_eq!(got.cases[0].case.to_string(), "BenchmarkSum[procs=2]");
        crate::assert_samples(&got.cases[0].metrics["wall"].values, &[1.2e-6, 1.3e-6]);
        crate::assert_samples(&got.cases[0].metrics["allocs"].values, &[1.0, 1.0]);
        crate::assert_samples(&got.cases[1].metrics["bytes_per_second"].values, &[40e6]);
        assert_eq!(got.meta.cpu.as_deref(), Some("Test CPU @ 2GHz"));
    }

    #[test]
    fn a_bad_value_names_its_line() {
        let e = parse("BenchmarkX-2 100 abc ns/op\n").unwrap_err();
        assert_eq!(e.line, Some(1));
        assert!(e.message.contains("\"abc\""));
        assert!(parse("BenchmarkX-2 many 1 ns/op\n").unwrap_err().message.contains("iteration count"));
    }
}

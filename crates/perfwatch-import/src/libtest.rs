//! `cargo bench` with libtest's built-in harness:
//! `test name ... bench:       1,234 ns/iter (+/- 56)` (newer toolchains print decimals and
//! no thousands separators). The number is the median of libtest's samples; the `+/-` is
//! their range (max − min), not a deviation, so only the median is kept, as a summary.

use perfwatch_model::{Better, CaseId, MetricInfo, metric};

use crate::units::{Unit, parse_unit};
use crate::{ImportError, Imported, ImportedCase, ImportedMetric, Reported, Values};

pub(crate) fn parse(text: &str) -> Result<Imported, ImportError> {
    let mut cases = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let Some(rest) = line.trim_start().strip_prefix("test ") else { continue };
        let Some((name, result)) = rest.split_once(" ... bench:") else { continue };
        let at = |what: String| ImportError::at_line(i + 1, what);
        let mut words = result.split_whitespace();
        let number = words.next().ok_or_else(|| at("expected a number after `bench:`".into()))?;
        let value: f64 = number
            .replace(',', "")
            .parse()
            .map_err(|_| at(format!("expected a number after `bench:`, found {number:?}")))?;
        let unit = words.next().unwrap_or("");
        let Some(Unit::Time(to_seconds)) = parse_unit(unit) else {
            return Err(at(format!("expected a time per iteration such as `ns/iter`, found {unit:?}")));
        };
        let values = Values::Reported(Reported::median(value * to_seconds));
        let info = MetricInfo::new("s", Better::Lower);
        let case = CaseId::new(name.trim(), Vec::<(String, String)>::new());
        cases.push(ImportedCase::new(case).with(metric::WALL, ImportedMetric { info, values }));
    }
    Ok(Imported { cases, meta: Default::default() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_and_new_number_styles() {
        let text = "running 2 tests\n\
            test tests::add ... bench:       1,234 ns/iter (+/- 56)\n\
            test tests::mul ... bench:           2.50 ns/iter (+/- 0.10)\n\
            test tests::skip ... ignored\n\n\
            test result: ok. 0 passed; 0 failed; 1 ignored; 2 measured";
        let got = parse(text).unwrap();
        assert_eq!(got.cases.len(), 2);
        assert_eq!(got.cases[0].case.name, "tests::add");
        let Values::Reported(r) = &got.cases[0].metrics["wall"].values else { panic!() };
        assert!((r.value - 1.234e-6).abs() < 1e-15);
        let Values::Reported(r) = &got.cases[1].metrics["wall"].values else { panic!() };
        assert!((r.value - 2.5e-9).abs() < 1e-18);
    }

    #[test]
    fn a_bad_number_names_its_line() {
        let e = parse("x\ntest a ... bench:  abc ns/iter (+/- 1)").unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(e.message.contains("\"abc\""), "{e}");
    }
}

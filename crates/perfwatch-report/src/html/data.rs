//! Columnar data for the charts: the shared run table, one script per case, and the JSON API's
//! series document.

use std::collections::HashMap;
use std::fmt::Write as _;

use perfwatch_model::{Better, CaseId, HistoryPoint, RunMeta};

use perfwatch_model::ChangePoint;

use super::{escape_script_json, script_json};

/// One metric's history, ready to be written as columns.
#[derive(Debug, Clone, Copy)]
pub struct SeriesColumns<'a> {
    /// Metric name.
    pub metric: &'a str,
    /// Unit of the values.
    pub unit: &'a str,
    /// Direction of improvement.
    pub better: Better,
    /// Points, oldest first.
    pub points: &'a [HistoryPoint],
    /// Change points found in `points`.
    pub change_points: &'a [ChangePoint],
}

/// Writes `v` with 6 significant digits and as few characters as possible (`1.5e-3`, `42`);
/// `null` when it is not finite. Enough for a chart and its tooltips, and about half the size of
/// a round-trip representation.
pub fn write_compact_f64(out: &mut String, v: f64) {
    if !v.is_finite() {
        out.push_str("null");
        return;
    }
    if v == 0.0 {
        out.push('0');
        return;
    }
    let s = format!("{v:.5e}");
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let mantissa =
        if mantissa.contains('.') { mantissa.trim_end_matches('0').trim_end_matches('.') } else { mantissa };
    out.push_str(mantissa);
    if exp != "0" {
        out.push('e');
        out.push_str(exp);
    }
}

/// Writes `v` exactly (shortest round-trip form); `null` when it is not finite.
fn write_exact_f64(out: &mut String, v: f64) {
    if v.is_finite() {
        let _ = write!(out, "{v:?}");
    } else {
        out.push_str("null");
    }
}

fn write_column<T>(out: &mut String, name: &str, items: &[T], mut each: impl FnMut(&mut String, &T)) {
    let _ = write!(out, "\"{name}\":[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        each(out, item);
    }
    out.push(']');
}

fn unix_seconds(p: &HistoryPoint) -> i64 {
    p.time.as_second()
}

/// The run table shared by every case page, as a script calling `PW.runs({...})`.
///
/// Columns (oldest run first): `id`, `t` (start, Unix seconds), `c` (commit or `null`), `b`
/// (branch or `null`), `p` (1 when the run has a page in this site). `runs` may be in any order.
pub fn runs_js(runs: &[RunMeta], has_page: impl Fn(&RunMeta) -> bool) -> String {
    let mut sorted: Vec<&RunMeta> = runs.iter().collect();
    sorted.sort_by(|a, b| a.started_at.cmp(&b.started_at).then_with(|| a.id.cmp(&b.id)));
    let mut out = String::with_capacity(64 + runs.len() * 100);
    out.push_str("PW.runs({");
    write_column(&mut out, "id", &sorted, |o, r| o.push_str(&script_json(&r.id)));
    out.push(',');
    write_column(&mut out, "t", &sorted, |o, r| {
        let _ = write!(o, "{}", r.started_at.as_second());
    });
    out.push(',');
    write_column(&mut out, "c", &sorted, |o, r| {
        o.push_str(&script_json(&r.git.as_ref().map(|g| g.commit.as_str())));
    });
    out.push(',');
    write_column(&mut out, "b", &sorted, |o, r| {
        o.push_str(&script_json(&r.git.as_ref().and_then(|g| g.branch.as_deref())));
    });
    out.push(',');
    write_column(&mut out, "p", &sorted, |o, r| o.push(if has_page(r) { '1' } else { '0' }));
    out.push_str("});\n");
    out
}

/// The history of every metric of one case, as a script calling `PW.caseData({...})`.
///
/// Per metric: `name`, `unit`, `better`, and columns `r` (index into the run table of
/// [`runs_js`], −1 if absent), `t` (Unix seconds), `m` (median), `lo`/`hi` (95 % CI), plus
/// `cps`, the change points (`i` index, `change`, `p`, `kind`, and `x`, the address of the
/// explanation between the run before the change and the run at it, when `explain` gives one
/// for those two run ids: both have a profile of the case). Values have 6 significant digits
/// ([`write_compact_f64`]).
pub fn case_data_js(
    case: &CaseId,
    series: &[SeriesColumns<'_>],
    run_index: &HashMap<&str, usize>,
    explain: &dyn Fn(&str, &str) -> Option<String>,
) -> String {
    let n: usize = series.iter().map(|s| s.points.len()).sum();
    let mut out = String::with_capacity(128 + n * 48);
    out.push_str("PW.caseData({\"case\":");
    out.push_str(&script_json(&case.to_string()));
    out.push_str(",\"metrics\":[");
    for (k, s) in series.iter().enumerate() {
        if k > 0 {
            out.push(',');
        }
        out.push_str("{\"name\":");
        out.push_str(&script_json(s.metric));
        out.push_str(",\"unit\":");
        out.push_str(&script_json(s.unit));
        let _ = write!(out, ",\"better\":\"{}\",", s.better.as_str());
        write_column(&mut out, "r", s.points, |o, p| {
            let i = run_index.get(p.run_id.as_str()).map_or(-1, |&i| i as i64);
            let _ = write!(o, "{i}");
        });
        out.push(',');
        write_column(&mut out, "t", s.points, |o, p| {
            let _ = write!(o, "{}", unix_seconds(p));
        });
        out.push(',');
        write_column(&mut out, "m", s.points, |o, p| write_compact_f64(o, p.median));
        out.push(',');
        write_column(&mut out, "lo", s.points, |o, p| write_compact_f64(o, p.ci95[0]));
        out.push(',');
        write_column(&mut out, "hi", s.points, |o, p| write_compact_f64(o, p.ci95[1]));
        out.push(',');
        write_column(&mut out, "cps", s.change_points, |o, c| {
            let _ = write!(o, "{{\"i\":{},\"change\":", c.index);
            write_exact_f64(o, c.change);
            o.push_str(",\"p\":");
            write_exact_f64(o, c.p_value);
            let _ = write!(o, ",\"kind\":\"{}\"", c.kind.as_str());
            if let Some(href) = change_runs(s.points, c.index).and_then(|(b, h)| explain(b, h)) {
                o.push_str(",\"x\":");
                o.push_str(&script_json(&href));
            }
            o.push('}');
        });
        out.push('}');
    }
    out.push_str("]});\n");
    out
}

/// The run ids of the point before the change point at `index` and of the point at it.
pub fn change_runs(points: &[HistoryPoint], index: usize) -> Option<(&str, &str)> {
    let before = points.get(index.checked_sub(1)?)?;
    Some((before.run_id.as_str(), points.get(index)?.run_id.as_str()))
}

/// The JSON API's document for one series (`GET /api/v1/series/data`): full-precision columns.
///
/// `{"schema_version":1,"name","params","metric","unit","better","points":N,
/// "columns":{"run_id":[…],"time":[Unix seconds…],"commit":[…|null],"median":[…],
/// "ci_lo":[…],"ci_hi":[…]},"change_points":[{index, run_id, commit, time, before, after,
/// change, p_value, kind}]}`, oldest point first. It is valid JSON and also safe inside a
/// `<script>` element.
pub fn series_api_json(case: &CaseId, s: &SeriesColumns<'_>) -> String {
    let mut out = String::with_capacity(256 + s.points.len() * 140);
    let _ = write!(
        out,
        "{{\"schema_version\":{},\"name\":{},\"params\":{},\"metric\":{},\"unit\":{},\"better\":\"{}\",\"points\":{},\"columns\":{{",
        perfwatch_model::SCHEMA_VERSION,
        script_json(&case.name),
        script_json(&case.params),
        script_json(s.metric),
        script_json(s.unit),
        s.better.as_str(),
        s.points.len()
    );
    write_column(&mut out, "run_id", s.points, |o, p| o.push_str(&script_json(&p.run_id)));
    out.push(',');
    write_column(&mut out, "time", s.points, |o, p| {
        let _ = write!(o, "{}", unix_seconds(p));
    });
    out.push(',');
    write_column(&mut out, "commit", s.points, |o, p| o.push_str(&script_json(&p.commit)));
    out.push(',');
    write_column(&mut out, "median", s.points, |o, p| write_exact_f64(o, p.median));
    out.push(',');
    write_column(&mut out, "ci_lo", s.points, |o, p| write_exact_f64(o, p.ci95[0]));
    out.push(',');
    write_column(&mut out, "ci_hi", s.points, |o, p| write_exact_f64(o, p.ci95[1]));
    out.push_str("},\"change_points\":");
    let cps = serde_json::to_string(s.change_points).expect("plain data");
    out.push_str(&escape_script_json(&cps));
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compact(v: f64) -> String {
        let mut s = String::new();
        write_compact_f64(&mut s, v);
        s
    }

    #[test]
    fn compact_numbers_parse_back_within_six_digits() {
        assert_eq!(compact(0.0), "0");
        assert_eq!(compact(42.0), "4.2e1");
        assert_eq!(compact(1.5), "1.5");
        assert_eq!(compact(0.001234567), "1.23457e-3");
        assert_eq!(compact(f64::NAN), "null");
        for v in [1.0e-9, 3.3333333, 123456789.0, -0.5] {
            let back: f64 = compact(v).parse().unwrap();
            assert!((back - v).abs() <= v.abs() * 1e-5, "{v} -> {back}");
        }
    }

    #[test]
    fn api_json_is_valid_and_script_safe() {
        let case = CaseId::new("<script>alert(1)</script>", [("n", "1&2")]);
        let points = vec![HistoryPoint {
            run_id: "r1".into(),
            time: "2025-01-02T03:04:05Z".parse().unwrap(),
            commit: Some("abc".into()),
            median: 0.1,
            ci95: [0.09, 0.11],
        }];
        let s = SeriesColumns {
            metric: "wall",
            unit: "s",
            better: Better::Lower,
            points: &points,
            change_points: &[],
        };
        let json = series_api_json(&case, &s);
        assert!(!json.contains('<') && !json.contains('&'));
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["name"], "<script>alert(1)</script>");
        assert_eq!(v["columns"]["median"][0], 0.1);
        assert_eq!(v["columns"]["time"][0], 1735787045);
    }
}

//! CSV (RFC 4180): one row per case × metric, numbers in SI base units.

use std::fmt::Write;

use perfwatch_model::{ComparisonReport, DetectionReport, HistoryReport, RunList, RunReport};

use crate::{RenderOptions, Renderer};

pub(crate) struct CsvRenderer;

/// Quotes a field when it holds a comma, quote or line break (RFC 4180 §2.6–2.7).
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

fn params(p: &std::collections::BTreeMap<String, String>) -> String {
    p.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(";")
}

fn line(out: &mut String, cells: &[String]) {
    let _ = writeln!(out, "{}", cells.iter().map(|c| field(c)).collect::<Vec<_>>().join(","));
}

impl Renderer for CsvRenderer {
    fn runs(&self, runs: &RunList, _: &RenderOptions) -> String {
        let (header, rows) = crate::common::runs_rows(runs);
        let mut out = String::new();
        line(&mut out, &header);
        rows.iter().for_each(|r| line(&mut out, r));
        out
    }

    fn run(&self, report: &RunReport, _: &RenderOptions) -> String {
        let mut out = String::new();
        out.push_str("run_id,name,params,status,metric,unit,better,n,median,ci95_low,ci95_high,mean,stddev,mad,min,max,p95,p99,outliers,caveats\n");
        for c in &report.benchmarks {
            let caveats = c
                .failure
                .iter()
                .map(|f| f.message.clone())
                .chain(c.caveats.iter().map(|c| c.to_string()))
                .collect::<Vec<_>>()
                .join("; ");
            let base = [
                report.run.id.clone(),
                c.case.name.clone(),
                params(&c.case.params),
                c.status.as_str().to_string(),
            ];
            if c.metrics.is_empty() {
                let mut cells = base.to_vec();
                cells.extend(std::iter::repeat_n(String::new(), 15));
                cells.push(caveats.clone());
                line(&mut out, &cells);
            }
            for (name, s) in &c.metrics {
                let mut cells = base.to_vec();
                cells.extend([name.clone(), s.unit.clone(), s.better.as_str().to_string(), s.n.to_string()]);
                cells.extend(
                    [s.median, s.ci95[0], s.ci95[1], s.mean, s.stddev, s.mad, s.min, s.max, s.p95, s.p99]
                        .map(|v| v.to_string()),
                );
                cells.push(s.outliers.to_string());
                cells.push(caveats.clone());
                line(&mut out, &cells);
            }
        }
        out
    }

    fn comparison(&self, report: &ComparisonReport, _: &RenderOptions) -> String {
        let mut out = String::from(
            "name,params,metric,unit,better,baseline_median,candidate_median,ratio,ci95_low,ci95_high,p_value,threshold,verdict,design,notes\n",
        );
        for c in &report.comparisons {
            line(
                &mut out,
                &[
                    c.case.name.clone(),
                    params(&c.case.params),
                    c.metric.clone(),
                    c.unit.clone(),
                    c.better.as_str().to_string(),
                    c.baseline_median.to_string(),
                    c.candidate_median.to_string(),
                    c.ratio.to_string(),
                    c.ci95[0].to_string(),
                    c.ci95[1].to_string(),
                    c.p_value.to_string(),
                    c.threshold.to_string(),
                    c.verdict.as_str().to_string(),
                    report.design.as_str().to_string(),
                    c.notes.iter().map(|n| n.to_string()).collect::<Vec<_>>().join("; "),
                ],
            );
        }
        out
    }

    fn history(&self, report: &HistoryReport, _: &RenderOptions) -> String {
        let mut out = String::from("name,params,metric,unit,run_id,time,commit,median,ci95_low,ci95_high\n");
        for s in &report.series {
            for p in &s.points {
                line(
                    &mut out,
                    &[
                        s.case.name.clone(),
                        params(&s.case.params),
                        s.metric.clone(),
                        s.unit.clone(),
                        p.run_id.clone(),
                        p.time.to_string(),
                        p.commit.clone().unwrap_or_default(),
                        p.median.to_string(),
                        p.ci95[0].to_string(),
                        p.ci95[1].to_string(),
                    ],
                );
            }
        }
        out
    }

    fn detection(&self, report: &DetectionReport, _: &RenderOptions) -> String {
        let mut out = String::from(
            "name,params,metric,unit,index,run_id,commit,time,label,before,after,change,p_value,kind,new\n",
        );
        for s in &report.series {
            for c in &s.change_points {
                line(
                    &mut out,
                    &[
                        s.case.name.clone(),
                        params(&s.case.params),
                        s.metric.clone(),
                        s.unit.clone(),
                        c.index.to_string(),
                        c.run_id.clone().unwrap_or_default(),
                        c.commit.clone().unwrap_or_default(),
                        c.time.map(|t| t.to_string()).unwrap_or_default(),
                        c.label.clone().unwrap_or_default(),
                        c.before.to_string(),
                        c.after.to_string(),
                        c.change.to_string(),
                        c.p_value.to_string(),
                        match c.kind {
                            perfwatch_model::ShiftKind::Regression => "regression".to_string(),
                            perfwatch_model::ShiftKind::Improvement => "improvement".to_string(),
                        },
                        c.new.to_string(),
                    ],
                );
            }
        }
        out
    }
}

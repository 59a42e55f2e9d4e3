//! Hand-built documents for the snapshot tests of every format.

use std::collections::BTreeMap;

use perfwatch_model::*;

fn summary(unit: &str, better: Better, samples: &[f64]) -> Summary {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let median = sorted[n / 2];
    Summary {
        unit: unit.into(),
        better,
        n: n as u32,
        median,
        ci95: [sorted[1], sorted[n - 2]],
        mean: samples.iter().sum::<f64>() / n as f64,
        stddev: 0.001,
        mad: 0.0005,
        min: sorted[0],
        max: sorted[n - 1],
        p95: sorted[n - 1],
        p99: sorted[n - 1],
        outliers: 0,
        samples: samples.to_vec(),
    }
}

fn meta() -> RunMeta {
    RunMeta {
        id: "0190f5a2-0000-7000-8000-000000000001".into(),
        started_at: "2026-11-22T06:00:00Z".parse().unwrap(),
        ended_at: Some("2026-11-22T06:01:00Z".parse().unwrap()),
        status: RunStatus::Complete,
        git: Some(GitInfo {
            commit: "0123456789abcdef0123456789abcdef01234567".into(),
            branch: Some("main".into()),
            dirty: false,
        }),
        host: HostInfo {
            fingerprint: "fp1".into(),
            hostname: "box".into(),
            cpu: "Test CPU".into(),
            cores: 2,
            memory_bytes: 1 << 34,
            os: "Linux".into(),
            kernel: "6.1".into(),
            load_avg: [0.1, 0.2, 0.3],
        },
        labels: BTreeMap::new(),
        perfwatch_version: "0.1.0".into(),
        suite_hash: "abc".into(),
    }
}

pub(crate) fn run_report() -> RunReport {
    let wall = [0.0502, 0.0503, 0.0501, 0.0504, 0.0502, 0.0503, 0.0502];
    let mut ok_metrics = BTreeMap::new();
    ok_metrics.insert("wall".to_string(), summary("s", Better::Lower, &wall));
    ok_metrics.insert("user".to_string(), summary("s", Better::Lower, &[0.001; 7]));
    ok_metrics.insert("sys".to_string(), summary("s", Better::Lower, &[0.0005; 7]));
    ok_metrics.insert("max_rss".to_string(), summary("bytes", Better::Lower, &[104_857_600.0; 7]));
    ok_metrics.insert("throughput".to_string(), summary("1/s", Better::Higher, &[19920.0; 7]));
    ok_metrics.insert("cache_hit_rate".to_string(), summary("ratio", Better::Higher, &[0.967; 7]));
    RunReport {
        schema_version: 1,
        run: meta(),
        benchmarks: vec![
            CaseReport {
                case: CaseId { name: "sort".into(), params: [("n".to_string(), "1000".to_string())].into() },
                status: CaseStatus::Ok,
                runs: 7,
                caveats: vec![Caveat::FewRuns { runs: 7 }],
                metrics: ok_metrics,
                failure: None,
                raw: vec![],
            },
            CaseReport {
                case: CaseId { name: "broken, \"quoted\" <b>".into(), params: BTreeMap::new() },
                status: CaseStatus::Failed,
                runs: 0,
                caveats: vec![],
                metrics: BTreeMap::new(),
                failure: Some(CaseFailure {
                    message: "`pw-fake fail 3` exited with status 3".into(),
                    exit: ExitKind::Exited { code: 3 },
                    stderr_tail: "error: something broke\nat line 2".into(),
                }),
                raw: vec![],
            },
        ],
        budgets: vec![BudgetResult {
            case: CaseId { name: "sort".into(), params: [("n".to_string(), "1000".to_string())].into() },
            budget: "max_rss.max < 100MB".into(),
            target: 100e6,
            measured: Some(104_857_600.0),
            achievement_pct: Some(104.9),
            status: BudgetStatus::Fail,
        }],
    }
}

fn comparison(name: &str, metric: &str, ratio: f64, ci: [f64; 2], verdict: Verdict) -> Comparison {
    Comparison {
        case: CaseId { name: name.into(), params: BTreeMap::new() },
        metric: metric.into(),
        unit: "s".into(),
        better: Better::Lower,
        baseline_median: 0.1,
        candidate_median: 0.1 * ratio,
        ratio,
        ci95: ci,
        p_value: if verdict == Verdict::Regressed { 0.0001 } else { 0.62 },
        threshold: 0.02,
        verdict,
        baseline_n: 30,
        candidate_n: 30,
    }
}

pub(crate) fn comparison_report() -> ComparisonReport {
    let comparisons = vec![
        comparison("fast", "wall", 1.001, [0.995, 1.006], Verdict::Unchanged),
        comparison("slow|pipe", "wall", 1.2, [1.18, 1.22], Verdict::Regressed),
        comparison("fast", "cpu", 1.01, [0.97, 1.04], Verdict::Inconclusive),
    ];
    ComparisonReport {
        schema_version: 1,
        baseline: RunRef { run_id: "run-a".into(), name: Some("main".into()), commit: None, host: None },
        candidate: RunRef { run_id: "run-b".into(), name: None, commit: None, host: None },
        summary: VerdictCounts::tally(&comparisons),
        comparisons,
        budgets: vec![BudgetResult {
            case: CaseId { name: "fast".into(), params: BTreeMap::new() },
            budget: "wall.p95 < 500ms".into(),
            target: 0.5,
            measured: Some(0.1),
            achievement_pct: Some(20.0),
            status: BudgetStatus::Pass,
        }],
        warnings: vec![ComparisonWarning::DifferentHosts {
            baseline_cpu: "Test CPU".into(),
            baseline_cores: 2,
            candidate_cpu: "Other CPU".into(),
            candidate_cores: 4,
        }],
        rounds: None,
        elapsed_s: None,
        stopped: None,
    }
}

pub(crate) fn detection_report() -> DetectionReport {
    DetectionReport {
        schema_version: 1,
        series: vec![DetectedSeries {
            case: CaseId { name: "sort".into(), params: [("n".to_string(), "1000".to_string())].into() },
            metric: "wall".into(),
            unit: "s".into(),
            better: Better::Lower,
            points: 60,
            change_points: vec![ChangePoint {
                index: 40,
                run_id: Some("0190f5a2-0000-7000-8000-000000000040".into()),
                commit: Some("abcdef0123456789".into()),
                time: Some("2026-11-21T06:00:00Z".parse().unwrap()),
                label: None,
                before: 0.1,
                after: 0.105,
                change: 0.05,
                p_value: 0.00001,
                kind: ShiftKind::Regression,
                new: true,
            }],
        }],
    }
}

pub(crate) fn history_report() -> HistoryReport {
    HistoryReport {
        schema_version: 1,
        series: vec![HistorySeries {
            case: CaseId { name: "sort".into(), params: BTreeMap::new() },
            metric: "wall".into(),
            unit: "s".into(),
            points: vec![
                HistoryPoint {
                    run_id: "run-a".into(),
                    time: "2026-11-20T06:00:00Z".parse().unwrap(),
                    commit: Some("aaaaaaaaaaaaaaaa".into()),
                    median: 0.1,
                    ci95: [0.099, 0.101],
                },
                HistoryPoint {
                    run_id: "run-b".into(),
                    time: "2026-11-21T06:00:00Z".parse().unwrap(),
                    commit: None,
                    median: 0.12,
                    ci95: [0.119, 0.121],
                },
            ],
        }],
    }
}

mod snapshots {
    use super::*;
    use crate::{Format, RenderOptions, renderer};

    fn all(format: Format) -> String {
        let r = renderer(format);
        let o = RenderOptions { width: Some(120) };
        format!(
            "{}\n=====\n{}\n=====\n{}\n=====\n{}",
            r.run(&run_report(), &o),
            r.comparison(&comparison_report(), &o),
            r.history(&history_report(), &o),
            r.detection(&detection_report(), &o)
        )
    }

    #[test]
    fn table() {
        insta::assert_snapshot!(all(Format::Table));
    }

    #[test]
    fn markdown() {
        insta::assert_snapshot!(all(Format::Markdown));
    }

    #[test]
    fn csv() {
        insta::assert_snapshot!(all(Format::Csv));
    }

    #[test]
    fn json_round_trips() {
        let r = renderer(Format::Json);
        let o = RenderOptions::default();
        let back: RunReport = serde_json::from_str(&r.run(&run_report(), &o)).unwrap();
        assert_eq!(back, run_report());
        let back: ComparisonReport = serde_json::from_str(&r.comparison(&comparison_report(), &o)).unwrap();
        assert_eq!(back, comparison_report());
    }

    #[test]
    fn narrow_terminal_wraps_instead_of_overflowing() {
        let out = renderer(Format::Table).run(&run_report(), &RenderOptions { width: Some(60) });
        for line in out.lines().filter(|l| l.starts_with(['┌', '│', '├', '└', '╞'])) {
            assert!(line.chars().count() <= 60, "line wider than 60 columns: {line}");
        }
    }
}

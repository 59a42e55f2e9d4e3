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
            governor: None,
            gpu: None,
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
    // Per-operation figures as an in-program client reports them (grouped on the run page).
    for (metric, unit, value) in [
        ("op.parse.count", "count", 3.0),
        ("op.parse.p50", "s", 0.0021),
        ("op.parse.p95", "s", 0.0034),
        ("op.parse.allocs_per_call", "count", 18.0),
        ("op.db.query.p95", "s", 0.012),
    ] {
        ok_metrics.insert(metric.to_string(), summary(unit, Better::Lower, &[value; 7]));
    }
    RunReport {
        schema_version: 1,
        run: meta(),
        benchmarks: vec![
            CaseReport {
                case: CaseId { name: "sort".into(), params: [("n".to_string(), "1000".to_string())].into() },
                status: CaseStatus::Ok,
                runs: 7,
                caveats: vec![Caveat::FewRuns { runs: 7, half_width: Some(0.004) }],
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
        notes: vec![],
    }
}

pub(crate) fn comparison_report() -> ComparisonReport {
    let comparisons = vec![
        comparison("fast", "wall", 1.001, [0.995, 1.006], Verdict::Unchanged),
        comparison("slow|pipe", "wall", 1.2, [1.18, 1.22], Verdict::Regressed),
        comparison("fast", "cpu", 1.01, [0.97, 1.04], Verdict::Inconclusive),
        Comparison {
            notes: vec![VerdictNote::FalseDiscoveryControl {
                interval_verdict: Verdict::Regressed,
                adjusted_p: 0.12,
                q: 0.05,
            }],
            ..comparison("slow|pipe", "cpu", 1.05, [1.025, 1.08], Verdict::Inconclusive)
        },
    ];
    ComparisonReport {
        schema_version: 1,
        baseline: RunRef { run_id: "run-a".into(), name: Some("main".into()), commit: None, host: None },
        candidate: RunRef { run_id: "run-b".into(), name: None, commit: None, host: None },
        design: Design::Unpaired,
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
        speedup_goal: None,
        distributions: vec![],
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
            recent: (0..60).map(|i| if i < 40 { 0.010 } else { 0.0105 }).collect(),
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

// ---------------------------------------------------------------- HTML pages
// Fixed ids, times and values so the page snapshots are deterministic; names carry `<script>`,
// quotes and ampersands so the snapshots show the escaping.

use crate::html::{CaseView, Link, Overview, OverviewRow};

/// A case name that must never reach a page unescaped.
pub(crate) fn evil_case() -> CaseId {
    CaseId::new("<script>alert(\"x\")</script>", [("k\"", "'&")])
}

fn ts(s: &str) -> jiff::Timestamp {
    s.parse().expect("fixture timestamps are valid")
}

fn point(run: &str, time: &str, commit: Option<&str>, median: f64) -> HistoryPoint {
    HistoryPoint {
        run_id: run.into(),
        time: ts(time),
        commit: commit.map(Into::into),
        median,
        ci95: [median * 0.99, median * 1.01],
    }
}

/// A change point of a lower-is-better series at run `index` (run ids end in the index).
fn change_mark(index: usize, commit: Option<&str>, time: &str, before: f64, after: f64) -> ChangePoint {
    let mut cp = ChangePoint::at(index, before, after, after / before - 1.0, 0.0001, Better::Lower);
    cp.run_id = Some(format!("0190f5a2-0000-7000-8000-{index:012}"));
    cp.commit = commit.map(Into::into);
    cp.time = Some(ts(time));
    cp
}

fn overview_rows() -> Vec<OverviewRow> {
    let sort = CaseId::new("sort", [("n", "1000")]);
    let spark = vec![0.100, 0.101, 0.099, 0.100, 0.102, 0.120, 0.121, 0.119];
    vec![
        OverviewRow {
            case: sort.clone(),
            metric: "wall".into(),
            unit: "s".into(),
            better: Better::Lower,
            points: 60,
            latest: Some(point("run-60", "2026-11-22T06:00:00Z", Some("0123456789abcdef0123"), 0.119)),
            spark,
            verdict: Some(Verdict::Regressed),
            ratio: Some(1.19),
            change: Some(change_mark(40, Some("abcdef0123456789abcdef"), "2026-11-21T06:00:00Z", 0.1, 0.12)),
        },
        OverviewRow {
            case: sort,
            metric: "max_rss".into(),
            unit: "bytes".into(),
            better: Better::Lower,
            points: 60,
            latest: Some(point("run-60", "2026-11-22T06:00:00Z", None, 94_371_840.0)),
            spark: vec![104_857_600.0, 104_857_600.0, 94_371_840.0],
            verdict: Some(Verdict::Improved),
            ratio: Some(0.9),
            change: Some(change_mark(58, None, "2026-11-21T18:00:00Z", 104_857_600.0, 94_371_840.0)),
        },
        OverviewRow {
            case: evil_case(),
            metric: "<b>wall</b>".into(),
            unit: "s".into(),
            better: Better::Lower,
            points: 2,
            latest: Some(point("run-60", "2026-11-22T06:00:00Z", Some("<img src=x>"), 0.0000042)),
            spark: vec![0.0000042],
            verdict: Some(Verdict::Unchanged),
            ratio: Some(1.001),
            change: None,
        },
        OverviewRow {
            case: CaseId::new("fetch 'quoted' & more", Vec::<(String, String)>::new()),
            metric: "cpu".into(),
            unit: "s".into(),
            better: Better::Lower,
            points: 0,
            latest: None,
            spark: vec![],
            verdict: Some(Verdict::Inconclusive),
            ratio: None,
            change: None,
        },
        OverviewRow {
            case: CaseId::new("parse", [("format", "json")]),
            metric: "throughput".into(),
            unit: "1/s".into(),
            better: Better::Higher,
            points: 1,
            latest: Some(point("run-60", "2026-11-22T06:00:00Z", None, 5_350_455.0)),
            spark: vec![5_000_000.0, f64::NAN, 5_350_455.0],
            verdict: None,
            ratio: None,
            change: None,
        },
    ]
}

fn recent_runs() -> Vec<(RunMeta, bool)> {
    let newest = meta();
    let mut detached = meta();
    detached.id = "0190f5a2-0000-7000-8000-000000000002".into();
    detached.started_at = ts("2026-11-21T18:00:00Z");
    detached.git = Some(GitInfo { commit: "fedcba9876543210".into(), branch: None, dirty: true });
    let mut no_git = meta();
    no_git.id = "imported/<run> \"3\"".into();
    no_git.started_at = ts("2026-11-21T06:00:00Z");
    no_git.status = RunStatus::Interrupted;
    no_git.git = None;
    vec![(newest, true), (detached, false), (no_git, true)]
}

/// An overview of a small store; `live` chooses `perfwatch serve` over the static report.
pub(crate) fn overview(live: bool) -> Overview {
    Overview {
        rows: overview_rows(),
        recent_runs: recent_runs(),
        run_count: 60,
        comparisons: vec![
            Link { href: "compare-latest.html".into(), label: "Latest run vs the previous one".into() },
            Link {
                href: "compare-baseline-v1.0-1a2b3c4d.html".into(),
                label: "Baseline \"v1.0\" <b>".into(),
            },
        ],
        generated_at: Some(ts("2026-11-22T07:00:00Z")),
        live,
        pager: None,
    }
}

/// The overview of an empty store.
pub(crate) fn empty_overview(live: bool) -> Overview {
    Overview { generated_at: live.then(|| ts("2026-11-22T07:00:00Z")), live, ..Overview::default() }
}

/// A case page's view with a hostile name and a custom metric.
pub(crate) fn case_view() -> CaseView {
    CaseView {
        case: evil_case(),
        metrics: vec![
            ("wall".into(), "s".into(), 60),
            ("max_rss".into(), "bytes".into(), 60),
            ("<i>hits</i>".into(), "\"ratio\"".into(), 3),
        ],
        live: true,
    }
}

/// A case without stored points.
pub(crate) fn empty_case_view() -> CaseView {
    CaseView { case: CaseId::new("sort", [("n", "10")]), metrics: vec![], live: false }
}

/// A run where everything went well: one case, no caveats, no budgets.
pub(crate) fn ok_run_report() -> RunReport {
    let mut r = run_report();
    r.benchmarks.truncate(1);
    r.benchmarks[0].caveats.clear();
    r.budgets.clear();
    r
}

/// A run with every kind of trouble: an interrupted run on a dirty detached work tree, labels,
/// a failed case with its stderr tail, a timed-out case without metrics, caveats, and budgets
/// that pass, fail and miss.
pub(crate) fn troubled_run_report() -> RunReport {
    let mut r = run_report();
    r.run.id = "0190f5a2-0000-7000-8000-00000000<b>".into();
    r.run.ended_at = None;
    r.run.status = RunStatus::Interrupted;
    r.run.git = Some(GitInfo { commit: "fedcba9876543210fedcba98".into(), branch: None, dirty: true });
    r.run.labels =
        [("os".to_string(), "linux".to_string()), ("<k>".to_string(), "\"v\" & 'w'".to_string())].into();
    r.run.host.governor = Some("powersave".into());
    r.run.host.gpu = Some("no GPU: the NVIDIA driver is not loaded".into());
    r.benchmarks[0].caveats.extend([
        Caveat::HighNoise { cv: 0.123 },
        Caveat::Outliers { count: 2, of: 7 },
        Caveat::HighLoad { load: 3.5, cores: 2 },
        Caveat::Throttled { events: 12 },
        Caveat::CpuSteal { share: 0.043 },
        Caveat::PowersaveGovernor { governor: "powersave".into() },
    ]);
    r.benchmarks.push(CaseReport {
        case: CaseId {
            name: "hang".into(),
            params: [("secs", "<60>")].map(|(k, v)| (k.to_string(), v.to_string())).into(),
        },
        status: CaseStatus::Timeout,
        runs: 0,
        caveats: vec![],
        metrics: BTreeMap::new(),
        failure: None,
        raw: vec![],
    });
    r.budgets.push(BudgetResult {
        case: CaseId { name: "sort".into(), params: [("n".to_string(), "1000".to_string())].into() },
        budget: "wall.p95 < 500ms".into(),
        target: 0.5,
        measured: Some(0.0504),
        achievement_pct: Some(10.1),
        status: BudgetStatus::Pass,
    });
    r.budgets.push(BudgetResult {
        case: CaseId { name: "broken, \"quoted\" <b>".into(), params: BTreeMap::new() },
        budget: "wall.median < 1s & more".into(),
        target: 1.0,
        measured: None,
        achievement_pct: None,
        status: BudgetStatus::Missing,
    });
    r
}

/// A run outside git with a single case that timed out.
pub(crate) fn bare_run_report() -> RunReport {
    let mut r = troubled_run_report();
    r.run.id = "0190f5a2-0000-7000-8000-000000000009".into();
    r.run.git = None;
    r.run.labels.clear();
    r.benchmarks.drain(..2);
    r.budgets.clear();
    r
}

fn side_report(id: &str, scale: f64) -> RunReport {
    let mut r = run_report();
    r.run.id = id.into();
    let wall: Vec<f64> = (0..30).map(|i| 0.1 * scale * (1.0 + f64::from(i % 7) * 0.002)).collect();
    let cpu: Vec<f64> = (0..30).map(|i| 0.09 * scale * (1.0 + f64::from(i % 5) * 0.003)).collect();
    let case = |name: &str, metrics: &[(&str, &[f64])]| CaseReport {
        case: CaseId { name: name.into(), params: BTreeMap::new() },
        status: CaseStatus::Ok,
        runs: 30,
        caveats: vec![],
        metrics: metrics.iter().map(|(m, s)| (m.to_string(), summary("s", Better::Lower, s))).collect(),
        failure: None,
        raw: vec![],
    };
    r.benchmarks =
        vec![case("fast", &[("wall", &wall), ("cpu", &cpu)]), case("slow|pipe", &[("wall", &wall)])];
    r
}

/// A side-by-side (`ab`) comparison: paired, stopped on wall's verdict (so cpu carries a
/// note), with the measured values of wall for the distribution strips.
pub(crate) fn ab_report() -> ComparisonReport {
    let mut c = comparison_report();
    c.design = Design::Paired;
    c.comparisons.truncate(1);
    c.comparisons[0] = comparison("fast", "wall", 1.03, [1.02, 1.04], Verdict::Regressed);
    c.comparisons.push(Comparison {
        notes: vec![VerdictNote::DecidedByOtherMetric { metric: "wall".into() }],
        ..comparison("fast", "cpu", 1.02, [0.99, 1.05], Verdict::Inconclusive)
    });
    c.summary = VerdictCounts::tally(&c.comparisons);
    c.budgets.clear();
    c.warnings.clear();
    (c.rounds, c.elapsed_s, c.stopped) = (Some(24), Some(3.5), Some("verdict".into()));
    // `--expect-speedup 3x` on a B that is slower: missed.
    c.speedup_goal = Some(SpeedupGoal {
        factor: 3.0,
        speedup: 1.0 / 1.03,
        ci95: [1.0 / 1.04, 1.0 / 1.02],
        status: GoalStatus::Missed,
    });
    let a: Vec<f64> = (0..24).map(|i| 0.1 * (1.0 + f64::from(i % 6) * 0.004)).collect();
    c.distributions = vec![Distribution {
        case: CaseId { name: "fast".into(), params: BTreeMap::new() },
        metric: "wall".into(),
        unit: "s".into(),
        candidate: a.iter().map(|x| x * 1.03).collect(),
        baseline: a,
    }];
    c
}

/// The two runs behind [`comparison_report`] (`run-a`, `run-b`), whose samples the comparison
/// page plots.
pub(crate) fn comparison_sides() -> (RunReport, RunReport) {
    (side_report("run-a", 1.0), side_report("run-b", 1.05))
}

/// A comparison with every verdict, two warnings (one with markup) and budgets.
pub(crate) fn full_comparison_report() -> ComparisonReport {
    let mut c = comparison_report();
    c.baseline.name = Some("v1.0 <\"rc\">".into());
    c.candidate.commit = Some("0123456789abcdef0123456789abcdef01234567".into());
    c.comparisons.push(comparison("slow|pipe", "cpu", 0.8, [0.78, 0.82], Verdict::Improved));
    c.comparisons.push(comparison(
        "<script>x</script>",
        "wall",
        f64::NAN,
        [f64::NAN, f64::NAN],
        Verdict::Inconclusive,
    ));
    c.summary = VerdictCounts::tally(&c.comparisons);
    c.warnings
        .push(ComparisonWarning::MissingCase { case: CaseId::new("case `<script>` & co", [("k", "v")]) });
    c.budgets.push(BudgetResult {
        case: CaseId { name: "slow|pipe".into(), params: BTreeMap::new() },
        budget: "wall.p95 < 100ms".into(),
        target: 0.1,
        measured: Some(0.12),
        achievement_pct: Some(120.0),
        status: BudgetStatus::Fail,
    });
    c
}

/// An explanation between two stored runs: a function that grew (named like markup), one that
/// shrank, one that only moved inclusively; the base run has a page, the head's id is no file
/// name.
pub(crate) fn explain_report() -> perfwatch_model::ExplainReport {
    use perfwatch_model::{ExplainSide, FunctionDelta, Profiler};
    let f = |function: &str, base: u64, head: u64, share: f64, inclusive: (u64, u64)| FunctionDelta {
        function: function.into(),
        self_base: base,
        self_head: head,
        self_delta: head as i64 - base as i64,
        self_share: share,
        inclusive_base: inclusive.0,
        inclusive_head: inclusive.1,
        inclusive_delta: inclusive.1 as i64 - inclusive.0 as i64,
    };
    perfwatch_model::ExplainReport {
        schema_version: perfwatch_model::SCHEMA_VERSION,
        case: evil_case(),
        profiler: Profiler::Callgrind,
        unit: "instructions".into(),
        rounds: 1,
        base: ExplainSide {
            label: "run-a".into(),
            commit: Some("0123456789abcdef0123456789abcdef01234567".into()),
            run_id: Some("run-a".into()),
            total: 3_000_000,
        },
        head: ExplainSide {
            label: "imported/<7>".into(),
            commit: None,
            run_id: Some("imported/<7>".into()),
            total: 3_450_000,
        },
        total_delta: 450_000,
        functions: vec![
            f("<script>alert(1)</script>", 1_000_000, 1_600_000, 1.333, (1_000_000, 1_600_000)),
            f("std::sort::<T>::partition", 900_000, 750_000, -0.333, (1_900_000, 2_350_000)),
        ],
        files: None,
    }
}

/// A comparison with nothing in common, one side imported under an id that is no file name.
pub(crate) fn empty_comparison_report() -> ComparisonReport {
    let mut c = comparison_report();
    c.candidate.run_id = "imported/<7>".into();
    c.comparisons.clear();
    c.summary = VerdictCounts::default();
    c.budgets.clear();
    c.warnings.clear();
    c
}

mod snapshots {
    use super::*;
    use crate::{Format, RenderOptions, renderer};

    fn all(format: Format) -> String {
        let r = renderer(format);
        let o = RenderOptions { width: Some(120), color: false, ..Default::default() };
        format!(
            "{}\n=====\n{}\n=====\n{}\n=====\n{}\n=====\n{}",
            r.run(&run_report(), &o),
            r.comparison(&comparison_report(), &o),
            r.comparison(&ab_report(), &o),
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
        // With a speedup goal (distributions are not part of the document).
        let json = r.comparison(&ab_report(), &o);
        assert!(json.contains(r#""speedup_goal""#) && json.contains(r#""status": "missed""#), "{json}");
        let back: ComparisonReport = serde_json::from_str(&json).unwrap();
        assert_eq!(back.speedup_goal, ab_report().speedup_goal);
    }

    #[test]
    fn a_demotion_by_benjamini_hochberg_says_so_in_every_format() {
        let report = comparison_report();
        let o = RenderOptions::default();
        let json: serde_json::Value =
            serde_json::from_str(&renderer(Format::Json).comparison(&report, &o)).unwrap();
        let demoted = &json["comparisons"][3];
        assert_eq!(demoted["verdict"], "inconclusive");
        assert_eq!(demoted["notes"][0]["kind"], "false_discovery_control");
        assert_eq!(demoted["notes"][0]["interval_verdict"], "regressed");
        for format in [Format::Table, Format::Markdown, Format::Csv] {
            let text = renderer(format).comparison(&report, &o);
            assert!(
                text.contains("does not survive Benjamini–Hochberg (adjusted p 0.120"),
                "{format:?}: {text}"
            );
        }
    }

    /// Issue 17: the warning that instructions and wall disagree reads the same in every
    /// format that shows warnings, and JSON carries it as a typed object.
    #[test]
    fn counts_disagreeing_with_wall_say_so_in_every_format() {
        let mut report = comparison_report();
        report.warnings = vec![ComparisonWarning::CountsDisagreeWithWall {
            case: CaseId { name: "fast".into(), params: BTreeMap::new() },
            instructions_ratio: 1.03,
            wall_ratio: 0.949,
        }];
        let o = RenderOptions { width: Some(120), color: false, ..Default::default() };
        let sentence = "instructions +3.0 % but wall \u{2212}5.1 %: the change is not in the instructions \
                        counted (cache, I/O, or noise)";
        for format in [Format::Table, Format::Markdown, Format::Github, Format::Junit] {
            let text = renderer(format).comparison(&report, &o);
            // Workflow commands escape `%`.
            let sentence =
                if format == Format::Github { sentence.replace('%', "%25") } else { sentence.to_string() };
            assert!(text.contains(&sentence), "{format:?}: {text}");
        }
        let html = crate::html::comparison_page(&report, None, None, "t", &|_| None);
        assert!(html.contains(sentence), "{html}");
        let json: serde_json::Value =
            serde_json::from_str(&renderer(Format::Json).comparison(&report, &o)).unwrap();
        let w = &json["warnings"][0];
        assert_eq!(
            (&w["kind"], &w["instructions_ratio"], &w["wall_ratio"]),
            (&"counts_disagree_with_wall".into(), &1.03.into(), &0.949.into())
        );
        let back: ComparisonReport = serde_json::from_value(json).unwrap();
        assert_eq!(back.warnings, report.warnings);
    }

    #[test]
    fn colour_only_when_asked() {
        let r = renderer(Format::Table);
        let plain = r.comparison(
            &comparison_report(),
            &RenderOptions { width: Some(120), color: false, ..Default::default() },
        );
        assert!(!plain.contains('\u{1b}'), "{plain}");
        let coloured = r.comparison(
            &comparison_report(),
            &RenderOptions { width: Some(120), color: true, ..Default::default() },
        );
        // Red REGRESSED, yellow inconclusive; the words are the same.
        assert!(coloured.contains("\u{1b}[38;5;9m REGRESSED"), "{coloured:?}");
        assert!(coloured.contains("inconclusive"));
        let strip = |s: &str| s.replace('\u{1b}', "");
        assert_eq!(strip(&coloured).matches("REGRESSED").count(), plain.matches("REGRESSED").count());
    }

    #[test]
    fn narrow_terminal_wraps_instead_of_overflowing() {
        let out = renderer(Format::Table)
            .run(&run_report(), &RenderOptions { width: Some(60), color: false, ..Default::default() });
        for line in out.lines().filter(|l| l.starts_with(['┌', '│', '├', '└', '╞'])) {
            assert!(line.chars().count() <= 60, "line wider than 60 columns: {line}");
        }
    }
}

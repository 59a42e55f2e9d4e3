//! `ab` and `compare --rev` on the scripted executor: deterministic and fast, no real
//! processes. Wall times come from a script keyed by the command (so the random round order
//! does not change who gets which time), with a fixed noise pattern; the scripted executor's
//! clock is the sum of the wall times it returned, so time budgets are exact too.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use perfwatch_app::compare::{CompareRequest, compare_stored};
use perfwatch_app::git::{Git, LogEntry};
use perfwatch_app::interleaved::ab::{AbRequest, ab};
use perfwatch_app::interleaved::rev::{RevRequest, RevTools, compare_revs};
use perfwatch_app::interleaved::{WarmupClock, measure_paired};
use perfwatch_app::project::Project;
use perfwatch_app::{AppError, ErrorKind, SilentUi};
use perfwatch_detect::paired::{SequentialRule, expected_rounds, planned_n_star};
use perfwatch_detect::verdict::FailOn;
use perfwatch_model::{
    Better, ComparisonReport, ComparisonWarning, Design, ExitKind, GitInfo, GoalStatus, RunStatus, Verdict,
    VerdictNote,
};
use perfwatch_runner::{
    Contender, ExecOutcome, ExecRequest, InterleaveEvent, InterleaveOptions, ScriptedExecutor, Side,
};
use perfwatch_store::RunFilter;

/// A fixed, bounded noise pattern (±2 %): the k-th run of a command gets `1 + noise(k)`.
fn noise(k: usize) -> f64 {
    0.02 * ((k as f64) * 2.399).sin()
}

/// An outcome of `wall` seconds, with cpu time proportional to it.
fn outcome(wall: f64) -> ExecOutcome {
    ExecOutcome { user: wall * 0.9, sys: wall * 0.05, max_rss: 10 << 20, ..ExecOutcome::ok(wall) }
}

/// An executor whose commands `work MILLIS` take MILLIS ms times the noise of their own n-th
/// run; everything else (builds, hooks) succeeds at once. The requests are kept for checks.
fn work_executor() -> (ScriptedExecutor, Rc<RefCell<Vec<Vec<String>>>>) {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let log = seen.clone();
    let mut runs: HashMap<String, usize> = HashMap::new();
    let exec = ScriptedExecutor::responding(move |req: &ExecRequest| {
        log.borrow_mut().push(req.argv.clone());
        match req.argv.as_slice() {
            [w, ms] if w == "work" => {
                let k = runs.entry(ms.clone()).or_default();
                *k += 1;
                outcome(ms.parse::<f64>().unwrap() / 1e3 * (1.0 + noise(*k)))
            }
            _ => outcome(0.0),
        }
    });
    (exec, seen)
}

fn ab_request(a: &str, b: &str) -> AbRequest {
    AbRequest {
        command_a: a.into(),
        command_b: b.into(),
        shell: false,
        cwd: std::env::temp_dir(),
        threshold: Some(0.01),
        max_time: Duration::from_secs(30),
        timeout: Duration::ZERO,
        min_rounds: 10,
        warmup: 1,
        metric: "wall".into(),
        seed: 7,
        fail_on: FailOn::Regression,
        expect_speedup: None,
    }
}

fn verdict(r: &ComparisonReport, metric: &str) -> Verdict {
    r.comparisons
        .iter()
        .find(|c| c.metric == metric)
        .unwrap_or_else(|| panic!("no {metric} in {r:?}"))
        .verdict
}

#[test]
fn a_scripted_3_percent_slowdown_is_regressed_in_a_known_number_of_rounds() {
    let run = || {
        let (mut exec, _) = work_executor();
        let stop = AtomicBool::new(false);
        ab(&ab_request("work 100", "work 103"), &mut exec, &mut SilentUi, &stop).unwrap()
    };
    let (report, outcome) = run();
    assert_eq!(verdict(&report, "wall"), Verdict::Regressed, "{report:#?}");
    assert_eq!(report.stopped.as_deref(), Some("verdict"));
    assert!(outcome.gate_failed && !outcome.runs_failed && !outcome.interrupted);
    let wall = report.comparisons.iter().find(|c| c.metric == "wall").unwrap();
    assert!((wall.ratio - 1.03).abs() < 0.01, "ratio {}", wall.ratio);
    assert!(wall.ci95[0] > 1.01, "the interval clears the threshold: {:?}", wall.ci95);
    // Deterministic: the same script and seed give the same rounds, and the sequence decides
    // well inside the 30 s budget (the fixed noise is ±2 %; 3 % shows within a few dozen
    // rounds). The exact count guards against silent changes of the stopping rule.
    let rounds = report.rounds.unwrap();
    assert_eq!(run().0, report, "a scripted comparison is reproducible");
    assert!((10..=60).contains(&rounds), "{rounds} rounds");
    assert_eq!(rounds, 15, "the stopping rule changed: update this count only on purpose");
    // Wall decided the stop: every other metric says so, wall itself carries no note, and
    // the values behind wall are there for the terminal's strips.
    assert_eq!(report.design, Design::Paired);
    for c in &report.comparisons {
        let expected = if c.metric == "wall" {
            vec![]
        } else {
            vec![VerdictNote::DecidedByOtherMetric { metric: "wall".into() }]
        };
        assert_eq!(c.notes, expected, "{}", c.metric);
    }
    assert!(report.comparisons.len() > 1, "cpu and max_rss are compared too");
    let strip = &report.distributions[0];
    assert_eq!((strip.metric.as_str(), strip.baseline.len()), ("wall", rounds as usize));
}

#[test]
fn a_4x_speedup_meets_a_3x_goal_and_misses_a_5x_goal() {
    let run = |factor: f64| {
        let mut req = ab_request("work 100", "work 25");
        req.expect_speedup = Some(factor);
        let (mut exec, _) = work_executor();
        ab(&req, &mut exec, &mut SilentUi, &AtomicBool::new(false)).unwrap()
    };
    let (met, outcome) = run(3.0);
    let goal = met.speedup_goal.as_ref().expect("a goal was asked for");
    assert_eq!(goal.status, GoalStatus::Met, "{goal:?}");
    assert_eq!(goal.factor, 3.0);
    assert!((goal.speedup - 4.0).abs() < 0.1, "speedup {}", goal.speedup);
    assert!(goal.ci95[0] >= 3.0 && goal.ci95[0] <= goal.speedup && goal.speedup <= goal.ci95[1], "{goal:?}");
    assert_eq!(met.stopped.as_deref(), Some("verdict"), "the goal was decided before the budget");
    assert!(!outcome.gate_failed);
    let (missed, outcome) = run(5.0);
    let goal = missed.speedup_goal.as_ref().unwrap();
    assert_eq!(goal.status, GoalStatus::Missed, "{goal:?}");
    assert!(goal.ci95[1] < 5.0, "{goal:?}");
    assert!(outcome.gate_failed, "a missed goal fails the gate");
    // Without a goal there is none in the report.
    let (mut exec, _) = work_executor();
    let plain =
        ab(&ab_request("work 100", "work 25"), &mut exec, &mut SilentUi, &AtomicBool::new(false)).unwrap();
    assert_eq!(plain.0.speedup_goal, None);
}

#[test]
fn an_a_a_script_stops_on_the_budget_without_a_false_verdict() {
    let mut req = ab_request("work 100", "work 100");
    req.max_time = Duration::from_secs(5);
    let (mut exec, _) = work_executor();
    let (report, outcome) = ab(&req, &mut exec, &mut SilentUi, &AtomicBool::new(false)).unwrap();
    assert_eq!(report.stopped.as_deref(), Some("budget"), "{report:#?}");
    assert!(!outcome.gate_failed);
    assert_ne!(verdict(&report, "wall"), Verdict::Regressed);
    assert!(matches!(
        report.warnings.as_slice(),
        [ComparisonWarning::BudgetLimited { metric, seed: 7, .. }] if metric == "wall"
    ));
    // The budget, not a metric, ended it: no comparison is marked as decided elsewhere.
    assert!(report.comparisons.iter().all(|c| c.notes.is_empty()), "{report:#?}");
    // The clock is the scripted one: the budget ends with the first round that completes 5 s
    // of measured time. Both sides run `work 100`, so they share one noise sequence: the
    // warm-ups are runs 1 and 2, the rounds runs 3, 4, ….
    let (mut rounds, mut clock) = (0u32, 0.0);
    while clock < 5.0 {
        clock += (0..2).map(|i| 0.1 * (1.0 + noise(3 + 2 * rounds as usize + i))).sum::<f64>();
        rounds += 1;
    }
    assert_eq!(report.rounds, Some(rounds));
    assert!((report.elapsed_s.unwrap() - clock).abs() < 1e-6, "elapsed {:?} vs {clock}", report.elapsed_s);
}

#[test]
fn a_failing_run_is_reported_with_what_was_measured() {
    let mut calls = 0;
    let mut exec = ScriptedExecutor::responding(move |req: &ExecRequest| {
        calls += 1;
        if req.argv[0] == "b" && calls > 8 {
            ExecOutcome { exit: ExitKind::Exited { code: 3 }, stderr_tail: "boom\n".into(), ..outcome(0.1) }
        } else {
            outcome(0.1)
        }
    });
    let (report, outcome) =
        ab(&ab_request("a", "b"), &mut exec, &mut SilentUi, &AtomicBool::new(false)).unwrap();
    assert!(outcome.runs_failed && !outcome.gate_failed);
    assert_eq!(report.stopped.as_deref(), Some("failed"));
    assert!(
        matches!(&report.warnings[0], ComparisonWarning::RunFailed { rounds, message, .. }
            if *rounds == report.rounds.unwrap() && message.contains("status 3")),
        "{:?}",
        report.warnings
    );
}

#[test]
fn the_n_star_clock_is_tuned_by_the_last_warm_up() {
    let clock = WarmupClock::default();
    let budget = Duration::from_secs(10);
    let default = clock.n_star(budget);
    assert_eq!(default, planned_n_star(f64::NAN), "no warm-up: the default n*");
    for (side, wall) in [(Side::A, 0.5), (Side::B, 0.5), (Side::A, 0.1), (Side::B, 0.1)] {
        clock.record(&InterleaveEvent::WarmupDone { side, run: 1, of: 2, wall });
    }
    // The last warm-up of each side counts: rounds of 0.2 s, 50 of them in 10 s.
    assert_eq!(clock.n_star(budget), planned_n_star(expected_rounds(10.0, 0.2).unwrap()));
    assert!(clock.n_star(budget) < default, "a short budget tunes for fewer rounds");

    // measure_paired reports the n* its sequence used, from the scripted warm-ups.
    let (mut exec, _) = work_executor();
    let req = |ms: &str| ExecRequest {
        argv: vec!["work".into(), ms.into()],
        cwd: std::env::temp_dir(),
        env: Default::default(),
        timeout: None,
        forward_output: false,
        kill_leftovers: false,
        metrics_file: false,
        gpu_interval: None,
    };
    let (a, b) = (Contender::new("A", req("100")), Contender::new("B", req("100")));
    let opts = InterleaveOptions { warmup: 1, min_rounds: 5, max_rounds: 10, max_time: budget, seed: 1 };
    let rule = SequentialRule::new("wall", 0.01, Better::Lower);
    let (outcome, n_star) =
        measure_paired((&a, &b), &opts, &mut exec, (rule, "wall"), &mut |_| {}, &AtomicBool::new(false));
    // Both sides run `work 100`: their warm-ups are its runs 1 and 2.
    let round = 0.1 * (1.0 + noise(1)) + 0.1 * (1.0 + noise(2));
    assert_eq!(n_star, planned_n_star(expected_rounds(10.0, round).unwrap()));
    assert_eq!(outcome.rounds.len(), 10);
}

// ------------------------------------------------------------------ compare --rev

/// A repository with two commits whose suites differ in the work they ask for; git is
/// answered by [`FakeGit`], which checks commits out by writing their suite.
struct Repo {
    dir: tempfile::TempDir,
    suites: HashMap<&'static str, String>,
}

fn suite(millis: u32, build: &str) -> String {
    format!(
        "{build}\n[defaults]\nwarmup = 1\nmin_runs = 10\nmax_runs = 400\nmax_time = \"30s\"\nthreshold = \"1%\"\n\n\
         [[bench]]\nname = \"kernel\"\ncommand = [\"work\", \"{millis}\"]\nsetup = \"echo setup\"\n\
         budgets = [\"wall.median < 1s\"]\n"
    )
}

impl Repo {
    fn new(build: &str) -> Repo {
        let dir = tempfile::tempdir().unwrap();
        let suites = HashMap::from([("base", suite(100, build)), ("head", suite(103, build))]);
        std::fs::write(dir.path().join("perfwatch.toml"), &suites["head"]).unwrap();
        Repo { dir, suites }
    }

    fn project(&self) -> Project {
        let db = format!("sqlite://{}", self.dir.path().join("history.db").display());
        Project::new(self.dir.path().join("perfwatch.toml"), Some(db))
    }
}

struct FakeGit<'a>(&'a Repo);

impl Git for FakeGit<'_> {
    fn info(&self, _dir: &Path) -> Option<GitInfo> {
        Some(GitInfo { commit: "work-tree".into(), branch: Some("main".into()), dirty: true })
    }
    fn toplevel(&self, _dir: &Path) -> Option<PathBuf> {
        Some(self.0.dir.path().canonicalize().unwrap())
    }
    fn resolve_commit(&self, _top: &Path, rev: &str) -> Option<String> {
        self.0.suites.contains_key(rev).then(|| format!("{rev}-commit"))
    }
    fn add_worktree(&self, _top: &Path, dir: &Path, commit: &str) -> Result<(), String> {
        let rev = commit.trim_end_matches("-commit");
        std::fs::create_dir_all(dir.join(".git")).map_err(|e| e.to_string())?;
        std::fs::write(dir.join("perfwatch.toml"), &self.0.suites[rev]).map_err(|e| e.to_string())
    }
    fn first_parent_log(&self, _top: &Path, _from: &str, _to: &str) -> Result<Vec<LogEntry>, String> {
        Err("no history in this fake".into())
    }
    fn describe(&self, _top: &Path, _commit: &str) -> Option<LogEntry> {
        None
    }
}

fn rev_request(revs: &[&str]) -> RevRequest {
    RevRequest {
        revs: revs.iter().map(|r| r.to_string()).collect(),
        bench: vec![],
        max_time: None,
        seed: 11,
        fail_on: FailOn::Regression,
    }
}

#[test]
fn compare_rev_flags_the_slower_revision_saves_both_runs_and_caches_the_build() {
    let repo = Repo::new("[build]\nshell = \"make\"\n");
    let project = repo.project();
    let mut store = project.open_store().unwrap();
    let (mut exec, seen) = work_executor();
    let tools =
        RevTools { git: &FakeGit(&repo), executor: &mut exec, store: store.as_mut(), ui: &mut SilentUi };
    let stop = AtomicBool::new(false);
    let (report, outcome) = compare_revs(&project, &rev_request(&["base", "head"]), tools, &stop).unwrap();
    assert_eq!(verdict(&report, "wall"), Verdict::Regressed, "{report:#?}");
    assert!(outcome.gate_failed && !outcome.store_failed);
    assert_eq!(report.baseline.commit.as_deref(), Some("base-commit"));
    assert_eq!(report.budgets.len(), 1, "the candidate's budgets are checked");
    let requests = seen.borrow().clone();
    let count = |argv: &[&str]| requests.iter().filter(|r| *r == argv).count();
    assert_eq!(count(&["sh", "-c", "make"]), 2, "each revision is built once, through the executor");
    assert_eq!(count(&["sh", "-c", "echo setup"]), 2, "hooks go through the executor too");

    // Both sides are runs in the store, complete, labelled, with the measured case.
    let runs = store.list_runs(&RunFilter::default()).unwrap();
    assert_eq!(runs.len(), 2);
    assert!(runs.iter().all(|r| r.status == RunStatus::Complete && r.labels["compare"] == "rev"));
    let cand = store.run(&report.candidate.run_id).unwrap().unwrap();
    assert_eq!(cand.benchmarks[0].runs, report.rounds.unwrap());
    assert_eq!(report.design, Design::Paired);

    // A plain (unpaired) `compare` of the two saved runs says the paired one was more precise.
    let req = CompareRequest {
        to: Some(report.baseline.run_id.clone()),
        candidate: Some(report.candidate.run_id.clone()),
    };
    let (unpaired, _) = compare_stored(store.as_mut(), &req, None, FailOn::Regression).unwrap();
    assert_eq!(unpaired.design, Design::Unpaired);
    assert_eq!(unpaired.warnings.first(), Some(&ComparisonWarning::MeasuredInterleaved), "{unpaired:#?}");

    // Again: the builds are cached, the same schedule gives the same answer.
    let (mut exec, seen) = work_executor();
    let tools =
        RevTools { git: &FakeGit(&repo), executor: &mut exec, store: store.as_mut(), ui: &mut SilentUi };
    let (again, _) = compare_revs(&project, &rev_request(&["base", "head"]), tools, &stop).unwrap();
    assert!(!seen.borrow().iter().any(|r| r.last().is_some_and(|a| a == "make")), "builds were cached");
    assert_eq!(again.comparisons.len(), report.comparisons.len());
    assert_eq!(verdict(&again, "wall"), Verdict::Regressed);
}

#[test]
fn a_failing_build_is_an_error_that_says_why() {
    let repo = Repo::new("[build]\nshell = \"make\"\n");
    let project = repo.project();
    let mut store = project.open_store().unwrap();
    let mut exec = ScriptedExecutor::responding(|req: &ExecRequest| {
        if req.argv.last().is_some_and(|a| a == "make") {
            ExecOutcome {
                exit: ExitKind::Exited { code: 2 },
                stderr_tail: "no rule to make target\n".into(),
                ..outcome(0.0)
            }
        } else {
            outcome(0.1)
        }
    });
    let tools =
        RevTools { git: &FakeGit(&repo), executor: &mut exec, store: store.as_mut(), ui: &mut SilentUi };
    let err = compare_revs(&project, &rev_request(&["base"]), tools, &AtomicBool::new(false)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Build);
    let message = err.to_string();
    assert!(
        message.contains(r#"`sh -c "make"` failed in base"#) && message.contains("no rule to make target"),
        "{message}"
    );
    assert!(store.list_runs(&RunFilter::default()).unwrap().is_empty(), "nothing was measured or saved");
}

#[test]
fn an_unknown_revision_is_a_git_error() {
    let repo = Repo::new("");
    let project = repo.project();
    let mut store = project.open_store().unwrap();
    let (mut exec, _) = work_executor();
    let tools =
        RevTools { git: &FakeGit(&repo), executor: &mut exec, store: store.as_mut(), ui: &mut SilentUi };
    let err = compare_revs(&project, &rev_request(&["nope"]), tools, &AtomicBool::new(false)).unwrap_err();
    assert!(matches!(&err, AppError::Git(m) if m.contains("--rev nope: no such commit")), "{err}");
}

//! `perfwatch compare --rev BASE [--rev HEAD]`: build and measure git revisions interleaved.
//!
//! Each revision is checked out once into a cached worktree,
//! `.perfwatch/worktrees/<commit>` beside the suite file (`git worktree add --detach`), and
//! the suite's `[build]` command runs there; a marker holding a hash of the build command is
//! written after a successful build, so the next comparison of the same commit does not
//! build again. With a single `--rev`, the candidate is the work tree itself, dirty or not,
//! measured in place (and built every time, since its state has no commit to key a cache on).
//!
//! Every selected case then runs in randomized interleaved rounds, base vs candidate (the
//! engine and stopping rule of `perfwatch ab`, decided on wall time), both sides are saved
//! to the store as runs with their git info, and the paired comparison is printed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::{Context, bail};
use perfwatch_detect::paired::SequentialRule;
use perfwatch_detect::verdict::{FailOn, gate_failed};
use perfwatch_model::{
    Better, CasePlan, CaseReport, CommandSpec, ComparisonReport, GitInfo, Plan, RunMeta, RunRef, RunStatus,
    SCHEMA_VERSION, VerdictCounts, exit_codes,
};
use perfwatch_runner::{Contender, ExecRequest, InterleaveOptions, SpawnerExecutor, StopReason, side_report};

use super::ab::{
    RoundProgress, fresh_seed, install_ctrl_c, measure_paired, paired_comparisons, stop_warnings, unit_error,
};
use crate::cli::{CompareArgs, FailOnArg, FormatArg};
use crate::output;

/// One side of the comparison: where its suite lives and what it is.
struct Side {
    /// `--rev` as given, or `work tree`.
    label: String,
    /// The suite file of this side.
    suite: PathBuf,
    /// Its git state.
    git: Option<GitInfo>,
    /// The plan loaded from `suite`.
    plan: Plan,
}

/// Builds both revisions (cached), measures them interleaved, saves both runs, prints the
/// paired comparison; exit 1 when a gate fails, 3 when a run failed.
pub fn run(args: CompareArgs) -> anyhow::Result<i32> {
    let mut executor = SpawnerExecutor::start().context("starting the measuring helper process")?;
    if args.rev.len() > 2 {
        bail!("--rev takes a base and at most one candidate revision");
    }
    let config = args.store.config.clone();
    if !config.exists() {
        bail!("no suite file at {}", config.display());
    }
    let suite_dir = super::suite_dir(&config);
    let suite_file = suite_dir.join(config.file_name().context("the suite path has no file name")?);
    let top = PathBuf::from(
        git(&suite_dir, &["rev-parse", "--show-toplevel"])
            .with_context(|| format!("{} is not inside a git work tree", suite_dir.display()))?,
    );
    let top = top.canonicalize().unwrap_or(top);
    let rel_suite = suite_file
        .strip_prefix(&top)
        .with_context(|| format!("{} is not inside {}", suite_file.display(), top.display()))?
        .to_path_buf();
    let worktrees = suite_dir.join(".perfwatch").join("worktrees");

    let base = checkout(&top, &worktrees, &rel_suite, &args.rev[0])?;
    let candidate = match args.rev.get(1) {
        Some(rev) => checkout(&top, &worktrees, &rel_suite, rev)?,
        None => {
            let plan = super::load_plan(&suite_file)?;
            Side {
                label: "work tree".into(),
                suite: suite_file.clone(),
                git: crate::git::info(&suite_dir),
                plan,
            }
        }
    };
    build(&base, &worktrees, true)?;
    build(&candidate, &worktrees, args.rev.len() == 2)?;

    let select = |plan: &Plan| -> anyhow::Result<Plan> {
        if args.bench.is_empty() {
            Ok(plan.clone())
        } else {
            Ok(perfwatch_config::select(plan, &args.bench)?)
        }
    };
    let cand_plan = select(&candidate.plan)?;
    let base_plan = select(&base.plan)?;
    let max_time = match &args.max_time {
        Some(t) => Some(perfwatch_config::parse_duration(t).map_err(|e| unit_error("--max-time", e))?),
        None => None,
    };

    let mut store = super::open_store(&args.store)?;
    let host = perfwatch_runner::host_info();
    let meta = |side: &Side, role: &str| RunMeta {
        id: uuid::Uuid::now_v7().to_string(),
        started_at: jiff::Timestamp::now(),
        ended_at: None,
        status: RunStatus::Incomplete,
        git: side.git.clone(),
        host: host.clone(),
        labels: BTreeMap::from([
            ("compare".to_string(), "rev".to_string()),
            ("side".to_string(), role.to_string()),
        ]),
        perfwatch_version: env!("CARGO_PKG_VERSION").to_string(),
        suite_hash: side.plan.suite_hash.clone(),
    };
    let mut base_meta = meta(&base, "base");
    let mut cand_meta = meta(&candidate, "candidate");
    store.begin_run(&base_meta).context("recording the base run")?;
    store.begin_run(&cand_meta).context("recording the candidate run")?;

    let stop = Arc::new(AtomicBool::new(false));
    install_ctrl_c(stop.clone());
    let mut report = ComparisonReport {
        schema_version: SCHEMA_VERSION,
        baseline: RunRef {
            run_id: base_meta.id.clone(),
            name: Some(base.label.clone()),
            commit: base.git.as_ref().map(|g| g.commit.clone()),
            host: Some(host.fingerprint.clone()),
        },
        candidate: RunRef {
            run_id: cand_meta.id.clone(),
            name: Some(candidate.label.clone()),
            commit: candidate.git.as_ref().map(|g| g.commit.clone()),
            host: Some(host.fingerprint.clone()),
        },
        comparisons: vec![],
        budgets: vec![],
        summary: VerdictCounts::default(),
        warnings: vec![],
        rounds: Some(0),
        elapsed_s: Some(0.0),
        stopped: None,
    };
    let mut stopped_all: Vec<&'static str> = Vec::new();
    let mut any_failed = false;
    let mut interrupted = false;
    let mut progress = RoundProgress::new(args.output.format == FormatArg::Table);
    let seed = fresh_seed();
    for (k, case) in cand_plan.cases.iter().enumerate() {
        let Some(base_case) = base_plan.cases.iter().find(|c| c.id == case.id) else {
            report.warnings.push(format!("{}: not in the base revision's suite; not compared", case.id));
            continue;
        };
        if stop.load(std::sync::atomic::Ordering::SeqCst) {
            interrupted = true;
            break;
        }
        progress.set_prefix(format!("{} · ", case.id));
        for (c, label) in [(base_case, &base.label), (case, &candidate.label)] {
            if let Some(setup) = &c.setup {
                if !hook(c, setup)? {
                    bail!("{}: setup hook `{setup}` failed in {label}", c.id);
                }
            }
        }
        let a = contender(&base.label, base_case);
        let b = contender(&candidate.label, case);
        let opts = InterleaveOptions {
            warmup: case.settings.warmup,
            min_rounds: case.settings.min_runs.max(2),
            max_rounds: case.settings.max_runs.max(2),
            max_time: max_time.unwrap_or(case.settings.max_time),
            seed: seed.wrapping_add(k as u64),
        };
        let rule = SequentialRule::new("wall", case.threshold_for("wall"), Better::Lower);
        let (outcome, n_star) =
            measure_paired(&a, &b, &opts, &mut executor, rule, "wall", &mut progress, &stop);
        for c in [base_case, case] {
            if let Some(cleanup) = &c.cleanup {
                if !hook(c, cleanup)? {
                    report.warnings.push(format!("{}: cleanup hook `{cleanup}` failed", c.id));
                }
            }
        }

        let failure = match &outcome.stopped {
            StopReason::Failed { side, failure } => Some((*side, failure.clone())),
            _ => None,
        };
        let fail_of =
            |s: perfwatch_runner::Side| failure.as_ref().filter(|(x, _)| *x == s).map(|(_, f)| f.clone());
        let a_samples: Vec<_> = outcome.rounds.iter().map(|r| r.a.clone()).collect();
        let b_samples: Vec<_> = outcome.rounds.iter().map(|r| r.b.clone()).collect();
        let a_report = side_report(
            &case.id,
            &a_samples,
            &outcome.metrics,
            base_case.throughput,
            fail_of(perfwatch_runner::Side::A),
        );
        let b_report = side_report(
            &case.id,
            &b_samples,
            &outcome.metrics,
            case.throughput,
            fail_of(perfwatch_runner::Side::B),
        );
        store.add_case(&base_meta.id, &a_report).with_context(|| format!("saving {} (base)", case.id))?;
        store
            .add_case(&cand_meta.id, &b_report)
            .with_context(|| format!("saving {} (candidate)", case.id))?;
        report.budgets.extend(perfwatch_detect::budget::check_budgets(&b_report, &case.budgets));

        let comparisons =
            paired_comparisons(&outcome, &case.id.name, &case.id.params, &|m| case.threshold_for(m), n_star);
        report.comparisons.extend(comparisons);
        for w in stop_warnings(&outcome, "wall", opts.seed) {
            report.warnings.push(format!("{}: {w}", case.id));
        }
        *report.rounds.get_or_insert(0) += outcome.rounds.len() as u32;
        *report.elapsed_s.get_or_insert(0.0) += outcome.elapsed.as_secs_f64();
        stopped_all.push(outcome.stopped.as_str());
        any_failed |= is_failure(&a_report) || is_failure(&b_report);
        match outcome.stopped {
            StopReason::Interrupted => {
                interrupted = true;
                break;
            }
            StopReason::Aborted { message } => bail!("measuring stopped: {message}"),
            _ => {}
        }
    }
    report.summary = VerdictCounts::tally(&report.comparisons);
    // One word for the whole suite: the "worst" way a case ended.
    report.stopped = ["interrupted", "failed", "budget", "verdict"]
        .into_iter()
        .find(|w| stopped_all.contains(w))
        .map(String::from);

    let status = if interrupted { RunStatus::Interrupted } else { RunStatus::Complete };
    for m in [&mut base_meta, &mut cand_meta] {
        let end = jiff::Timestamp::now();
        m.ended_at = Some(end);
        store.finish_run(&m.id, status, end).context("finishing the runs in the history store")?;
    }
    if !report.budgets.is_empty() {
        store.set_budgets(&cand_meta.id, &report.budgets).context("saving budget results")?;
    }
    eprintln!(
        "saved runs {} ({}) and {} ({}) to {}",
        base_meta.id,
        base.label,
        cand_meta.id,
        candidate.label,
        super::store_url(&args.store)
    );

    let text = perfwatch_report::renderer(output::format(&args.output))
        .comparison(&report, &output::render_options(&args.output));
    output::emit(&args.output, &text)?;

    let fail_on = match args.fail_on {
        FailOnArg::Regression => FailOn::Regression,
        FailOnArg::Inconclusive => FailOn::Inconclusive,
        FailOnArg::Never => FailOn::Never,
    };
    let mut code = if gate_failed(&report, fail_on) { exit_codes::GATE_FAILED } else { exit_codes::SUCCESS };
    if any_failed {
        code = exit_codes::combine(code, exit_codes::BENCH_FAILED);
    }
    Ok(if interrupted { 130 } else { code })
}

fn is_failure(r: &CaseReport) -> bool {
    r.status != perfwatch_model::CaseStatus::Ok
}

/// Resolves `rev` to a commit and makes sure its worktree exists; loads its suite.
fn checkout(top: &Path, worktrees: &Path, rel_suite: &Path, rev: &str) -> anyhow::Result<Side> {
    let commit = git(top, &["rev-parse", "--verify", "--quiet", &format!("{rev}^{{commit}}")])
        .with_context(|| format!("--rev {rev}: no such commit"))?;
    let dir = worktrees.join(&commit);
    if !dir.join(".git").exists() {
        std::fs::create_dir_all(worktrees).with_context(|| format!("creating {}", worktrees.display()))?;
        // A stale registration (directory deleted by hand) would make `add` fail.
        let _ = git(top, &["worktree", "prune"]);
        let out = Command::new("git")
            .args(["worktree", "add", "--detach"])
            .arg(&dir)
            .arg(&commit)
            .current_dir(top)
            .output()
            .context("running git worktree add")?;
        if !out.status.success() {
            bail!("git worktree add for {rev} failed: {}", String::from_utf8_lossy(&out.stderr).trim());
        }
    }
    let suite = dir.join(rel_suite);
    if !suite.exists() {
        bail!("--rev {rev}: the suite file {} does not exist at that commit", rel_suite.display());
    }
    let plan = super::load_plan(&suite)?;
    Ok(Side {
        label: rev.to_string(),
        suite,
        git: Some(GitInfo { commit, branch: None, dirty: false }),
        plan,
    })
}

/// Runs the suite's `[build]` command in the side's suite directory. With `cache`, a marker
/// `<worktrees>/<commit>.built` holding a hash of the command skips the build next time.
fn build(side: &Side, worktrees: &Path, cache: bool) -> anyhow::Result<()> {
    let Some(cmd) = &side.plan.build else { return Ok(()) };
    let text = cmd.to_string();
    let marker = side.git.as_ref().map(|g| worktrees.join(format!("{}.built", g.commit)));
    let stamp = format!("{:016x}\n", fnv1a(text.as_bytes()));
    if let (true, Some(m)) = (cache, &marker) {
        if std::fs::read_to_string(m).is_ok_and(|s| s == stamp) {
            eprintln!("build of {} is cached", side.label);
            return Ok(());
        }
    }
    let dir = side.suite.parent().unwrap_or(Path::new("."));
    eprintln!("building {}: {text}", side.label);
    let argv = cmd.to_argv();
    // Build output is for the user, on stderr; stdout stays for results.
    let status = Command::new(&argv[0])
        .args(&argv[1..])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(std::io::stderr())
        .status()
        .with_context(|| format!("running the build command `{text}`"))?;
    if !status.success() {
        bail!("the build command `{text}` failed in {} ({status})", side.label);
    }
    if let (true, Some(m)) = (cache, &marker) {
        std::fs::write(m, stamp).with_context(|| format!("writing {}", m.display()))?;
    }
    Ok(())
}

/// 64-bit FNV-1a: a stable hash for the build marker (std's hasher may change between
/// Rust releases).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100000001b3))
}

/// The measured command, prepare hook and declared metrics of a case.
fn contender(label: &str, case: &CasePlan) -> Contender {
    let req = |argv: Vec<String>| ExecRequest {
        argv,
        cwd: case.cwd.clone(),
        env: case.env.clone(),
        timeout: Some(case.settings.timeout).filter(|t| !t.is_zero()),
        forward_output: false,
    };
    Contender {
        label: label.to_string(),
        command: req(case.command.to_argv()),
        prepare: case.prepare.as_ref().map(|p| req(CommandSpec::Shell(p.clone()).to_argv())),
        metrics: case.metrics.clone(),
    }
}

/// Runs a setup/cleanup hook (unmeasured) in the case's directory; true if it succeeded.
fn hook(case: &CasePlan, script: &str) -> anyhow::Result<bool> {
    let status = Command::new("sh")
        .args(["-c", script])
        .current_dir(&case.cwd)
        .envs(&case.env)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .with_context(|| format!("running hook `{script}`"))?;
    Ok(status.success())
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).current_dir(dir).stderr(Stdio::null()).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

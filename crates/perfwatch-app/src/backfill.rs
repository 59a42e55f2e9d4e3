//! `perfwatch backfill A..B`: measure past commits so a new user has a history on day one.
//! Each chosen commit of the first-parent chain is checked out in a cached worktree (the
//! machinery of `compare --rev`), built with its own suite's build command, measured with its
//! own suite, and saved dated with the commit's time, so `history`, `detect` and the
//! dashboard show the past in commit order.
//!
//! Resumable: every commit's run is saved when it finishes, and `--skip-existing` skips the
//! commits that already have a complete run (or are known not to build), so a killed
//! backfill continues where it stopped. A commit that does not build is recorded (a marker
//! beside its worktree) and skipped; it never ends the backfill.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use perfwatch_model::RunStatus;
use perfwatch_runner::Executor;
use perfwatch_store::{RunFilter, Store};

use crate::error::{AppError, ErrorKind, Result, StoreContext};
use crate::git::{Git, LogEntry};
use crate::interleaved::worktree::Repo;
use crate::measure::{MeasureRequest, measure};
use crate::project::{Project, select};
use crate::{Outcome, Ui};

/// The label every backfilled run carries (its value: the range given).
pub const BACKFILL_LABEL: &str = "backfill";

/// Which past commits to measure.
#[derive(Debug, Clone, PartialEq)]
pub struct BackfillRequest {
    /// `A..B`: the first-parent chain after A up to B (`A^..B` includes A).
    pub range: String,
    /// Measure this many commits, evenly spread, both ends included.
    pub steps: Option<usize>,
    /// Measure every K-th commit, counting back from B.
    pub every: Option<usize>,
    /// Skip commits that already have a complete run, or are known not to build.
    pub skip_existing: bool,
    /// Only the benches matching these patterns.
    pub bench: Vec<String>,
}

/// The tools a backfill works with.
pub struct BackfillTools<'a> {
    /// Git, for the history and the worktrees.
    pub git: &'a dyn Git,
    /// Runs builds and benchmarks.
    pub executor: &'a mut dyn Executor,
    /// Where the runs go.
    pub store: &'a mut dyn Store,
    /// What the user sees.
    pub ui: &'a mut dyn Ui,
}

/// What a backfill did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BackfillSummary {
    /// Commits chosen from the range.
    pub chosen: usize,
    /// (commit, run id) of every commit measured now.
    pub measured: Vec<(String, String)>,
    /// Commits skipped because they were already done (`--skip-existing`).
    pub existing: usize,
    /// (commit, why) of every commit that could not be built or measured.
    pub failed: Vec<(String, String)>,
    /// Time spent.
    pub elapsed: Duration,
}

/// Measures the chosen commits of `req.range`, oldest first, saving each run as it finishes.
/// Fails on a bad range, or when the store or the measuring helper breaks (what was saved
/// stays saved).
pub fn backfill(
    project: &Project,
    req: &BackfillRequest,
    tools: BackfillTools<'_>,
    stop: &AtomicBool,
) -> Result<(BackfillSummary, Outcome)> {
    let started = Instant::now();
    let BackfillTools { git, executor, store, ui } = tools;
    let repo = Repo::of(project, git)?;
    let log = range_log(git, &repo, &req.range)?;
    let chosen: Vec<&LogEntry> =
        choose(log.len(), req.steps, req.every)?.into_iter().map(|i| &log[i]).collect();
    let done = if req.skip_existing { completed_commits(store)? } else { HashSet::new() };
    let todo: Vec<&LogEntry> = chosen
        .iter()
        .copied()
        .filter(|e| {
            !(done.contains(&e.commit) || req.skip_existing && repo.failed_build(&e.commit).is_some())
        })
        .collect();
    let mut summary = BackfillSummary {
        chosen: chosen.len(),
        existing: chosen.len() - todo.len(),
        ..BackfillSummary::default()
    };
    ui.info(&format!(
        "backfilling {} of {} commits in {}{}",
        todo.len(),
        log.len(),
        req.range,
        if summary.existing > 0 { format!(" ({} already done)", summary.existing) } else { String::new() }
    ));
    let mut outcome = Outcome::default();
    let mut measuring = Duration::ZERO;
    for (k, entry) in todo.iter().enumerate() {
        if stop.load(Ordering::SeqCst) {
            outcome.interrupted = true;
            break;
        }
        let eta = (k > 0).then(|| measuring / k as u32 * (todo.len() - k) as u32);
        ui.info(&format!(
            "[{}/{}] {} {}{}",
            k + 1,
            todo.len(),
            short(&entry.commit),
            entry.subject,
            eta.map(|d| format!(" (about {} left)", human(d))).unwrap_or_default()
        ));
        let clock = Instant::now();
        let ran = measure_commit(&repo, entry, req, (git, &mut *executor, &mut *store, &mut *ui), stop)?;
        measuring += clock.elapsed();
        match ran {
            Ok((run_id, o)) => {
                summary.measured.push((entry.commit.clone(), run_id));
                outcome = outcome.merge(o);
            }
            Err(reason) => {
                ui.warn(&format!("skipping {}: {reason}", short(&entry.commit)));
                summary.failed.push((entry.commit.clone(), reason));
            }
        }
    }
    summary.elapsed = started.elapsed();
    Ok((summary, outcome))
}

type Parts<'a, 'b> = (&'a dyn Git, &'a mut dyn Executor, &'a mut (dyn Store + 'b), &'a mut dyn Ui);

/// Builds and measures one commit: `Ok(Ok((run id, outcome)))`, or `Ok(Err(why))` when the
/// commit cannot be built or its suite measured (recorded, the backfill goes on).
fn measure_commit(
    repo: &Repo,
    entry: &LogEntry,
    req: &BackfillRequest,
    (git, executor, store, ui): Parts<'_, '_>,
    stop: &AtomicBool,
) -> Result<std::result::Result<(String, Outcome), String>> {
    let skip = |e: AppError| match e.kind() {
        ErrorKind::Executor | ErrorKind::Io | ErrorKind::Store => Err(e),
        _ => Ok(Err(e.to_string())),
    };
    let side = match repo.checkout(git, &entry.commit) {
        Ok(side) => side,
        Err(e) => return skip(e),
    };
    if let Err(e) = repo.build(&side, true, executor, ui) {
        if e.kind() == ErrorKind::Build {
            repo.record_failed_build(&entry.commit, &e.to_string())?;
        }
        return skip(e);
    }
    let plan = match select(side.plan, &req.bench) {
        Ok(plan) => plan,
        Err(e) => return skip(e),
    };
    let mreq = MeasureRequest {
        plan,
        labels: BTreeMap::from([(BACKFILL_LABEL.to_string(), req.range.clone())]),
        git: side.git,
        show_output: false,
        dated: Some(jiff::Timestamp::from_second(entry.time).unwrap_or_else(|_| jiff::Timestamp::now())),
    };
    let measured = measure(&mreq, executor, Some(store), ui, stop)?;
    if let Some(e) = measured.store_error {
        return Err(e);
    }
    if let Some(message) = measured.aborted {
        return Err(AppError::Executor(message));
    }
    Ok(Ok((measured.report.run.id, measured.outcome)))
}

/// The first-parent chain `A..B` names, oldest first.
fn range_log(git: &dyn Git, repo: &Repo, range: &str) -> Result<Vec<LogEntry>> {
    let Some((from, to)) = range.split_once("..").filter(|(a, b)| !a.is_empty() && !b.is_empty()) else {
        return Err(AppError::usage(format!(
            "`{range}` is not a range: expected A..B (the commits after A up to B; A^..B includes A)"
        )));
    };
    let resolve = |rev: &str| {
        git.resolve_commit(&repo.top, rev).ok_or_else(|| AppError::Git(format!("{rev}: no such commit")))
    };
    let (from, to) = (resolve(from)?, resolve(to.trim_start_matches('.'))?);
    let log = git.first_parent_log(&repo.top, &from, &to).map_err(AppError::Git)?;
    if log.is_empty() {
        return Err(AppError::usage(format!(
            "{range} holds no commits: the end must descend from the start along first parents"
        )));
    }
    Ok(log)
}

/// The indices of `n` commits (oldest first) to measure: every one; `every` K-th counting
/// back from the newest; or `steps` spread evenly with both ends included.
pub fn choose(n: usize, steps: Option<usize>, every: Option<usize>) -> Result<Vec<usize>> {
    match (steps, every) {
        (Some(0), _) => Err(AppError::usage("--steps must be at least 1")),
        (_, Some(0)) => Err(AppError::usage("--every must be at least 1")),
        (Some(_), Some(_)) => Err(AppError::usage("give --steps or --every, not both")),
        (Some(s), None) if s >= n => Ok((0..n).collect()),
        (Some(1), None) => Ok(vec![n - 1]),
        (Some(s), None) => {
            let mut picked: Vec<usize> =
                (0..s).map(|j| ((j * (n - 1)) as f64 / (s - 1) as f64).round() as usize).collect();
            picked.dedup();
            Ok(picked)
        }
        (None, every) => {
            let k = every.unwrap_or(1);
            Ok((0..n).filter(|i| (n - 1 - i) % k == 0).collect())
        }
    }
}

/// Commits that already have a complete run.
fn completed_commits(store: &mut dyn Store) -> Result<HashSet<String>> {
    let filter = RunFilter { status: Some(RunStatus::Complete), ..RunFilter::default() };
    let runs = store.list_runs(&filter).store_context(|| "listing the stored runs".into())?;
    Ok(runs.into_iter().filter_map(|r| r.git.map(|g| g.commit)).collect())
}

fn short(commit: &str) -> &str {
    commit.get(..10).unwrap_or(commit)
}

/// `1h 05m`, `4m 10s`, `12s`.
fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_counts_back_from_the_newest_commit() {
        assert_eq!(choose(7, None, Some(3)).unwrap(), vec![0, 3, 6]);
        assert_eq!(choose(6, None, Some(4)).unwrap(), vec![1, 5]);
        assert_eq!(choose(4, None, None).unwrap(), vec![0, 1, 2, 3]);
    }

    #[test]
    fn steps_spread_evenly_with_both_ends() {
        assert_eq!(choose(64, Some(5), None).unwrap(), vec![0, 16, 32, 47, 63]);
        assert_eq!(choose(3, Some(10), None).unwrap(), vec![0, 1, 2]);
        assert_eq!(choose(9, Some(1), None).unwrap(), vec![8]);
        assert!(choose(9, Some(0), None).is_err());
        assert!(choose(9, None, Some(0)).is_err());
        assert!(choose(9, Some(2), Some(2)).is_err());
    }

    proptest! {
        #[test]
        fn chosen_commits_are_distinct_in_range_and_end_at_the_newest(
            n in 1usize..300, steps in proptest::option::of(1usize..50), every in proptest::option::of(1usize..50),
        ) {
            let every = if steps.is_some() { None } else { every };
            let picked = choose(n, steps, every).unwrap();
            prop_assert!(picked.windows(2).all(|w| w[0] < w[1]));
            prop_assert_eq!(picked.last().copied(), Some(n - 1));
            if let Some(s) = steps {
                prop_assert_eq!(picked.len(), s.min(n));
            }
        }
    }

    #[test]
    fn durations_read_like_a_person_wrote_them() {
        assert_eq!(human(Duration::from_secs(12)), "12s");
        assert_eq!(human(Duration::from_secs(250)), "4m 10s");
        assert_eq!(human(Duration::from_secs(3900)), "1h 05m");
    }
}

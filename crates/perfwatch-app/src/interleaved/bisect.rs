//! `perfwatch bisect --good A --bad B CASE`: binary search over the first-parent history
//! between two commits for the first one where CASE got worse, where every step is decided
//! by interleaved paired comparisons (the `ab` engine) rather than by one block of runs per
//! commit, which is how asv's `find` decides and why it walks astray on a noisy machine.
//!
//! Each step measures the midpoint against the current good end *and* the current bad end and
//! moves only when the two agree on a side; a step that stays inconclusive after one longer
//! attempt ends the search with the range it narrowed down — never a guess. Commits that do
//! not build (or whose suite lacks the case, or whose benchmark fails) are skipped like
//! `git bisect skip`. Nothing is stored: the report is the result.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use perfwatch_detect::paired::SequentialRule;
use perfwatch_model::{
    BisectOutcome, BisectReport, BisectStep, CasePlan, CommitRef, PairComparison, SCHEMA_VERSION, ShiftKind,
    StepDecision, Verdict, builtin_metric,
};
use perfwatch_runner::{Executor, InterleaveOptions, StopReason};
use perfwatch_store::Store;

use super::rev::{contender, run_hooks};
use super::worktree::Repo;
use super::{measure_paired, paired_comparisons};
use crate::error::{AppError, ErrorKind, Result, StoreContext};
use crate::git::{Git, LogEntry};
use crate::history::case_matches;
use crate::project::Project;
use crate::{Outcome, Ui};

/// Level of the equivalence ("unchanged") verdicts: the error bound of a step that only an
/// "unchanged" verdict decided.
const EQUIVALENCE_ALPHA: f64 = 0.05;

/// What to bisect.
#[derive(Debug, Clone, PartialEq)]
pub struct BisectRequest {
    /// A commit where the case is fine.
    pub good: String,
    /// A later commit (first-parent descendant of `good`) where it is worse.
    pub bad: String,
    /// The case: full name (`sort[n=10]`) or a bench name that names one case.
    pub case: String,
    /// The metric that decides (`wall` by default).
    pub metric: String,
    /// Smallest relative change that counts; default: the case's threshold for the metric.
    pub threshold: Option<f64>,
    /// Measuring time per comparison (default: the case's `max_time`); an inconclusive one
    /// is measured once more for twice as long.
    pub max_time: Option<Duration>,
    /// Seed of the round orders (comparison k uses `seed + k`).
    pub seed: u64,
}

/// The tools a bisection works with.
pub struct BisectTools<'a> {
    /// Git, for the history and the worktrees.
    pub git: &'a dyn Git,
    /// Runs builds, hooks and benchmarks.
    pub executor: &'a mut dyn Executor,
    /// What the user sees.
    pub ui: &'a mut dyn Ui,
}

/// Finds the first commit after `req.good` up to `req.bad` where the case is worse than at
/// `req.good` by more than the threshold. Fails when an end cannot be built or measured, or
/// when the range is not a first-parent chain; `outcome.gate_failed` is never set (a found
/// culprit is the answer, not a failure); Ctrl-C stops with the range found so far.
pub fn bisect(
    project: &Project,
    req: &BisectRequest,
    tools: BisectTools<'_>,
    stop: &AtomicBool,
) -> Result<(BisectReport, Outcome)> {
    let started = Instant::now();
    let BisectTools { git, executor, ui } = tools;
    let repo = Repo::of(project, git)?;
    let chain = chain(git, &repo, req)?;
    let mut search = Search { repo, chain, sides: HashMap::new(), req, git, executor, ui, comparisons: 0 };
    let n = search.chain.len() - 1;
    for end in [0, n] {
        if let Some(reason) = search.prepare(end)? {
            let which = if end == 0 { "good" } else { "bad" };
            return Err(AppError::Build(format!(
                "the {which} end {} cannot be measured: {reason}",
                search.chain[end].commit
            )));
        }
    }
    search.ui.info(&format!(
        "bisecting {} on {} over {n} commits (threshold {:.1} %)",
        search.case_of(0).id,
        req.metric,
        search.threshold(0) * 100.0
    ));
    let span = search.compare_settled(0, n, stop)?;
    let mut report = BisectReport {
        schema_version: SCHEMA_VERSION,
        case: search.case_of(0).id.clone(),
        metric: req.metric.clone(),
        threshold: search.threshold(0),
        outcome: BisectOutcome::NoRegression,
        good: search.commit_ref(0),
        bad: search.commit_ref(n),
        commits: n as u32,
        last_good: search.commit_ref(0),
        first_bad: search.commit_ref(n),
        step: None,
        span: span.clone(),
        steps: vec![],
        confidence: 1.0,
        elapsed_s: 0.0,
    };
    let mut interrupted = stop.load(Ordering::SeqCst);
    if span.verdict == Verdict::Regressed && !interrupted {
        let (lo, hi, outcome) = search.narrow(&mut report, stop)?;
        interrupted = stop.load(Ordering::SeqCst);
        report.outcome = outcome;
        report.last_good = search.commit_ref(lo);
        report.first_bad = search.commit_ref(hi);
        if outcome == BisectOutcome::Found && !interrupted {
            report.step = Some(search.step_of(&report, lo, hi, stop)?);
        }
    } else if span.verdict == Verdict::Inconclusive || interrupted {
        // Ctrl-C during the first comparison leaves nothing decided, whatever it showed.
        report.outcome = BisectOutcome::Inconclusive;
    }
    report.elapsed_s = started.elapsed().as_secs_f64();
    let outcome = Outcome { interrupted, ..Outcome::default() };
    Ok((report, outcome))
}

/// `(good, bad)` commits around the newest regression `perfwatch detect` stored for the
/// series `case` × `metric`: the run before the change point and the run at it.
pub fn range_from_change_point(store: &mut dyn Store, case: &str, metric: &str) -> Result<(String, String)> {
    let series = store.list_series().store_context(|| "listing the stored series".into())?;
    let matching: Vec<_> =
        series.iter().filter(|s| s.metric == metric && case_matches(&s.case, case)).collect();
    let info = match matching.as_slice() {
        [one] => *one,
        [] => return Err(AppError::usage(format!("no stored history for {case} metric {metric}"))),
        many => {
            let names: Vec<String> = many.iter().map(|s| s.case.to_string()).collect();
            return Err(AppError::usage(format!(
                "`{case}` names several cases ({}): give one",
                names.join(", ")
            )));
        }
    };
    let points = store.change_points(&info.case, metric).store_context(|| "reading change points".into())?;
    let Some(points) = points else {
        return Err(AppError::usage(format!(
            "{} {metric} has not been analysed: run `perfwatch detect` first",
            info.case
        )));
    };
    let Some(cp) = points.iter().rev().find(|c| c.kind == ShiftKind::Regression) else {
        return Err(AppError::usage(format!("no regression is stored for {} {metric}", info.case)));
    };
    let history = store.history(&info.case, metric, None).store_context(|| "reading the history".into())?;
    let commit_at = |i: usize| history.get(i).and_then(|p| p.commit.clone());
    match (cp.index.checked_sub(1).and_then(commit_at), commit_at(cp.index)) {
        (Some(good), Some(bad)) => Ok((good, bad)),
        _ => Err(AppError::usage(format!(
            "the change point of {} {metric} at #{} has no commit recorded on both sides",
            info.case, cp.index
        ))),
    }
}

/// The good end and the first-parent chain after it, oldest first.
fn chain(git: &dyn Git, repo: &Repo, req: &BisectRequest) -> Result<Vec<LogEntry>> {
    let resolve = |rev: &str, flag: &str| {
        git.resolve_commit(&repo.top, rev)
            .ok_or_else(|| AppError::Git(format!("{flag} {rev}: no such commit")))
    };
    let good = resolve(&req.good, "--good")?;
    let bad = resolve(&req.bad, "--bad")?;
    let log = git.first_parent_log(&repo.top, &good, &bad).map_err(AppError::Git)?;
    if log.last().is_none_or(|last| last.commit != bad) {
        return Err(AppError::usage(format!(
            "--bad {} is not a first-parent descendant of --good {}: bisect walks the first-parent \
             history from the good commit to the bad one",
            req.bad, req.good
        )));
    }
    let first =
        git.describe(&repo.top, &good).unwrap_or(LogEntry { commit: good, time: 0, subject: String::new() });
    Ok(std::iter::once(first).chain(log).collect())
}

/// A commit made ready: checked out, built, its case found.
struct Ready {
    case: CasePlan,
}

/// The state of one bisection.
struct Search<'a> {
    repo: Repo,
    /// The good end, then every commit up to the bad end.
    chain: Vec<LogEntry>,
    /// Each commit prepared so far: ready, or why it is skipped.
    sides: HashMap<usize, std::result::Result<Ready, String>>,
    req: &'a BisectRequest,
    git: &'a dyn Git,
    executor: &'a mut dyn Executor,
    ui: &'a mut dyn Ui,
    /// Comparisons measured so far (each gets its own seed).
    comparisons: u64,
}

/// Which way a step points.
enum Direction {
    Left,
    Right,
    Unsure(&'static str),
}

impl Search<'_> {
    /// Binary search between the ends; the final (last good, first bad) and the outcome.
    fn narrow(
        &mut self,
        report: &mut BisectReport,
        stop: &AtomicBool,
    ) -> Result<(usize, usize, BisectOutcome)> {
        let (mut lo, mut hi) = (0, self.chain.len() - 1);
        loop {
            if stop.load(Ordering::SeqCst) {
                return Ok((lo, hi, BisectOutcome::Inconclusive));
            }
            let Some(mid) = self.next_midpoint(lo, hi, report)? else {
                let outcome = if hi - lo == 1 { BisectOutcome::Found } else { BisectOutcome::Skipped };
                return Ok((lo, hi, outcome));
            };
            let vs_good = self.compare_settled(lo, mid, stop)?;
            let vs_bad = self.compare_settled(mid, hi, stop)?;
            let (decision, note, error) = match direction(&vs_good, &vs_bad) {
                Direction::Left => (StepDecision::Bad, None, error_bound(&vs_good)),
                Direction::Right => (StepDecision::Good, None, error_bound(&vs_bad)),
                Direction::Unsure(why) => (StepDecision::Undecided, Some(why.to_string()), 0.0),
            };
            report.confidence *= 1.0 - error;
            self.ui.info(&format!(
                "{} {}: {} (vs good {:+.1} %, vs bad {:+.1} %)",
                short(&self.chain[mid].commit),
                self.chain[mid].subject,
                decision.as_str(),
                (vs_good.ratio - 1.0) * 100.0,
                (vs_bad.ratio - 1.0) * 100.0,
            ));
            report.steps.push(BisectStep {
                commit: self.commit_ref(mid),
                decision,
                vs_good: Some(vs_good),
                vs_bad: Some(vs_bad),
                note,
            });
            match decision {
                StepDecision::Bad => hi = mid,
                StepDecision::Good => lo = mid,
                _ => return Ok((lo, hi, BisectOutcome::Inconclusive)),
            }
        }
    }

    /// The buildable commit nearest the middle of (lo, hi), recording skipped ones as steps;
    /// `None` when none is left.
    fn next_midpoint(&mut self, lo: usize, hi: usize, report: &mut BisectReport) -> Result<Option<usize>> {
        let middle = (lo + hi) / 2;
        let mut order: Vec<usize> = (lo + 1..hi).collect();
        order.sort_by_key(|&i| (i.abs_diff(middle), i));
        for i in order {
            if self.sides.get(&i).is_some_and(|s| s.is_err()) {
                continue;
            }
            match self.prepare(i)? {
                None => return Ok(Some(i)),
                Some(reason) => {
                    self.ui.warn(&format!("skipping {}: {reason}", short(&self.chain[i].commit)));
                    report.steps.push(BisectStep {
                        commit: self.commit_ref(i),
                        decision: StepDecision::Skipped,
                        vs_good: None,
                        vs_bad: None,
                        note: Some(reason),
                    });
                }
            }
        }
        Ok(None)
    }

    /// Checks commit `i` out, builds it and finds the case; `Some(reason)` when it cannot be
    /// measured. Only a broken store or executor is an error.
    fn prepare(&mut self, i: usize) -> Result<Option<String>> {
        if !self.sides.contains_key(&i) {
            let ready = self.ready(i);
            let ready = match ready {
                Ok(r) => Ok(r),
                // A broken measuring helper or disk ends the search; a bad commit is only skipped.
                Err(e) if matches!(e.kind(), ErrorKind::Executor | ErrorKind::Io | ErrorKind::Store) => {
                    return Err(e);
                }
                Err(e) => Err(e.to_string()),
            };
            self.sides.insert(i, ready);
        }
        Ok(self.sides[&i].as_ref().err().cloned())
    }

    fn ready(&mut self, i: usize) -> Result<Ready> {
        let side = self.repo.checkout(self.git, &self.chain[i].commit)?;
        self.repo.build(&side, true, self.executor, self.ui)?;
        let matching: Vec<&CasePlan> =
            side.plan.cases.iter().filter(|c| case_matches(&c.id, &self.req.case)).collect();
        let case = match matching.as_slice() {
            [one] => (*one).clone(),
            [] => {
                return Err(AppError::usage(format!(
                    "the suite has no case `{}` at this commit",
                    self.req.case
                )));
            }
            many => {
                let names: Vec<String> = many.iter().map(|c| c.id.to_string()).collect();
                return Err(AppError::usage(format!(
                    "`{}` names {} cases ({}): bisect follows one, give its full name",
                    self.req.case,
                    many.len(),
                    names.join(", ")
                )));
            }
        };
        Ok(Ready { case })
    }

    fn case_of(&self, i: usize) -> &CasePlan {
        match &self.sides[&i] {
            Ok(r) => &r.case,
            Err(_) => unreachable!("only prepared commits are compared"),
        }
    }

    fn threshold(&self, i: usize) -> f64 {
        self.req.threshold.unwrap_or_else(|| self.case_of(i).threshold_for(&self.req.metric))
    }

    fn commit_ref(&self, i: usize) -> CommitRef {
        let e = &self.chain[i];
        CommitRef { commit: e.commit.clone(), subject: e.subject.clone(), position: i as u32 }
    }

    /// The comparison of `a` → `b`, measured once more for twice as long when the first is
    /// inconclusive.
    fn compare_settled(&mut self, a: usize, b: usize, stop: &AtomicBool) -> Result<PairComparison> {
        let first = self.compare(a, b, false, stop)?;
        if first.verdict != Verdict::Inconclusive || stop.load(Ordering::SeqCst) {
            return Ok(first);
        }
        self.ui.info(&format!(
            "{} → {}: inconclusive after {} rounds; measuring again for longer",
            short(&self.chain[a].commit),
            short(&self.chain[b].commit),
            first.rounds
        ));
        self.compare(a, b, true, stop)
    }

    /// One interleaved paired comparison of commit `a` (base) and `b` (candidate).
    fn compare(&mut self, a: usize, b: usize, extended: bool, stop: &AtomicBool) -> Result<PairComparison> {
        let metric = self.req.metric.clone();
        let threshold = self.threshold(b);
        let (base, cand) = (self.case_of(a).clone(), self.case_of(b).clone());
        let better = builtin_metric(&metric)
            .map(|m| m.better)
            .or_else(|| cand.metrics.get(&metric).map(|m| m.better))
            .unwrap_or(perfwatch_model::Better::Lower);
        let budget = self.req.max_time.unwrap_or(cand.settings.max_time) * if extended { 2 } else { 1 };
        let opts = InterleaveOptions {
            warmup: cand.settings.warmup,
            min_rounds: cand.settings.min_runs.max(2),
            max_rounds: cand.settings.max_runs.max(2) * if extended { 2 } else { 1 },
            max_time: budget,
            seed: self.req.seed.wrapping_add(self.comparisons),
        };
        self.comparisons += 1;
        for w in run_hooks("setup", &[&base, &cand], self.executor)? {
            self.ui.warn(&w.to_string());
        }
        let (la, lb) = (short(&self.chain[a].commit), short(&self.chain[b].commit));
        let (ca, cb) = (contender(&la, &base), contender(&lb, &cand));
        let rule = SequentialRule::new(&metric, threshold, better);
        let ui = &mut *self.ui;
        let mut on_event = |e: &perfwatch_runner::InterleaveEvent<'_>| ui.round_event(Some(&cand.id), e);
        let (outcome, n_star) =
            measure_paired((&ca, &cb), &opts, self.executor, (rule, &metric), &mut on_event, stop);
        for w in run_hooks("cleanup", &[&base, &cand], self.executor)? {
            self.ui.warn(&w.to_string());
        }
        if let StopReason::Aborted { message } = &outcome.stopped {
            return Err(AppError::Executor(message.clone()));
        }
        let threshold_for = |m: &str| if m == metric { threshold } else { cand.threshold_for(m) };
        let found = paired_comparisons(&outcome, (&cand.id, &metric), &threshold_for, n_star)
            .into_iter()
            .find(|c| c.metric == metric);
        let Some(c) = found else {
            let why = match &outcome.stopped {
                StopReason::Failed { failure, .. } => failure.message.clone(),
                StopReason::Interrupted => "interrupted".into(),
                _ => format!("no {metric} values were measured"),
            };
            return Err(AppError::Executor(format!("comparing {la} with {lb}: {why}")));
        };
        Ok(PairComparison {
            base: a as u32,
            candidate: b as u32,
            ratio: c.ratio,
            ci95: c.ci95,
            p_value: c.p_value,
            verdict: c.verdict,
            rounds: outcome.rounds.len() as u32,
            elapsed_s: outcome.elapsed.as_secs_f64(),
            extended,
        })
    }

    /// The size of the culprit's step: the comparison of `lo` and `hi` already measured during
    /// the search, or a new one.
    fn step_of(
        &mut self,
        report: &BisectReport,
        lo: usize,
        hi: usize,
        stop: &AtomicBool,
    ) -> Result<PairComparison> {
        let (lo32, hi32) = (lo as u32, hi as u32);
        let measured = std::iter::once(&report.span)
            .chain(report.steps.iter().flat_map(|s| s.vs_good.iter().chain(&s.vs_bad)))
            .rfind(|c| c.base == lo32 && c.candidate == hi32)
            .cloned();
        match measured {
            Some(c) => Ok(c),
            None => self.compare_settled(lo, hi, stop),
        }
    }
}

/// Which side of a midpoint the change lies on, from the midpoint against the good end
/// (`vs_good`) and the bad end against the midpoint (`vs_bad`).
fn direction(vs_good: &PairComparison, vs_bad: &PairComparison) -> Direction {
    use Verdict::{Regressed, Unchanged};
    match (vs_good.verdict, vs_bad.verdict) {
        // Worse already, and no worse after: the change is at or before the midpoint.
        (Regressed, Unchanged) => Direction::Left,
        (Unchanged, Regressed) => Direction::Right,
        // Two changes, one on each side: the first one is wanted.
        (Regressed, Regressed) => Direction::Left,
        // One clear verdict, the other inconclusive (but not contradicting it).
        (Regressed, Verdict::Inconclusive) | (Verdict::Inconclusive, Unchanged) => Direction::Left,
        (Unchanged, Verdict::Inconclusive) | (Verdict::Inconclusive, Regressed) => Direction::Right,
        (Unchanged, Unchanged) => Direction::Unsure(
            "neither half changed beyond the threshold: the change is spread over several commits",
        ),
        (Verdict::Improved, _) | (_, Verdict::Improved) => {
            Direction::Unsure("an improvement inside the range hides the regression's position")
        }
        (Verdict::Inconclusive, Verdict::Inconclusive) => {
            Direction::Unsure("both comparisons stayed inconclusive, also when measured for longer")
        }
    }
}

/// The chance that a step's decision is wrong: the p-value of the regression that decided it,
/// or the equivalence test's level when "unchanged" alone did.
fn error_bound(deciding: &PairComparison) -> f64 {
    if deciding.verdict == Verdict::Regressed { deciding.p_value.clamp(0.0, 1.0) } else { EQUIVALENCE_ALPHA }
}

/// The abbreviated hash people read.
fn short(commit: &str) -> String {
    commit.chars().take(10).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(verdict: Verdict, p_value: f64) -> PairComparison {
        PairComparison {
            base: 0,
            candidate: 1,
            ratio: 1.0,
            ci95: [1.0, 1.0],
            p_value,
            verdict,
            rounds: 10,
            elapsed_s: 1.0,
            extended: false,
        }
    }

    #[test]
    fn a_step_moves_only_when_the_two_comparisons_point_the_same_way() {
        use Verdict::*;
        let go = |g, b| direction(&cmp(g, 0.01), &cmp(b, 0.01));
        assert!(matches!(go(Regressed, Unchanged), Direction::Left));
        assert!(matches!(go(Unchanged, Regressed), Direction::Right));
        assert!(matches!(go(Regressed, Inconclusive), Direction::Left));
        assert!(matches!(go(Inconclusive, Regressed), Direction::Right));
        assert!(matches!(go(Regressed, Regressed), Direction::Left), "the first of two changes is wanted");
        for (g, b) in [
            (Inconclusive, Inconclusive),
            (Unchanged, Unchanged),
            (Improved, Regressed),
            (Regressed, Improved),
        ] {
            assert!(matches!(go(g, b), Direction::Unsure(_)), "{g:?} {b:?} must not move");
        }
    }

    #[test]
    fn a_step_is_as_sure_as_its_deciding_comparison() {
        assert_eq!(error_bound(&cmp(Verdict::Regressed, 0.002)), 0.002);
        assert_eq!(error_bound(&cmp(Verdict::Unchanged, 0.9)), EQUIVALENCE_ALPHA);
    }
}

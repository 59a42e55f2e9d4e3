//! `perfwatch explain CASE --base REV|RUN [--head REV|RUN]`: where a case's cost moved
//! between two versions. Each side is either a git revision (checked out in a cached
//! worktree, built, and its case's command run once under a profiler) or a stored run whose
//! profile `perfwatch run` kept (`[bench.instr] tool = "callgrind"`); without `--head`, the
//! work tree is profiled. The two profiles are diffed per function
//! ([`perfwatch_detect::profile`]) and, with `--html`, drawn as flame graphs.

use std::path::{Path, PathBuf};

use perfwatch_detect::profile::{rank_changes, signed_delta};
use perfwatch_model::{
    CaseId, CasePlan, CommandSpec, ExplainFiles, ExplainReport, ExplainSide, Profile, Profiler,
    SCHEMA_VERSION,
};
use perfwatch_runner::profile::{profiler_argv, read_profile};
use perfwatch_runner::{ExecRequest, Executor, Stream};
use perfwatch_store::Store;

use crate::Ui;
use crate::error::{AppError, Result, StoreContext};
use crate::git::Git;
use crate::history::case_matches;
use crate::interleaved::rev::run_hooks;
use crate::interleaved::worktree::{Repo, Side};
use crate::project::Project;

/// How much longer than its timeout a command may run under each profiler.
fn slowdown(profiler: Profiler) -> u32 {
    match profiler {
        Profiler::Callgrind => perfwatch_runner::instr::INSTR_SLOWDOWN,
        Profiler::Perf | Profiler::PySpy => 3,
    }
}

/// What to explain.
#[derive(Debug, Clone, PartialEq)]
pub struct ExplainRequest {
    /// The case: full name (`sort[n=10]`) or a bench name that names one case.
    pub case: String,
    /// The base side: a git revision or a stored run (`rev:` / `run:` in front to say which).
    pub base: String,
    /// The head side, like `base`; `None` profiles the work tree.
    pub head: Option<String>,
    /// The profiler for sides that are profiled now; `None`: the stored side's, else py-spy
    /// for a Python command and callgrind for anything else.
    pub profiler: Option<Profiler>,
    /// How many functions to report.
    pub top: usize,
    /// Profiled runs per side, alternating between the sides, their samples summed; `None`:
    /// 1 for callgrind (its counts do not vary), 3 for the sampling profilers (so that a
    /// neighbour's load falls on both sides alike).
    pub rounds: Option<u32>,
    /// Where to write the flame graphs and their page.
    pub html: Option<PathBuf>,
}

/// The tools an explanation works with.
pub struct ExplainTools<'a> {
    /// Git, for the worktrees.
    pub git: &'a dyn Git,
    /// Runs builds, hooks and the profiled commands.
    pub executor: &'a mut dyn Executor,
    /// The history store, when there is one (stored runs are looked up there).
    pub store: Option<&'a mut dyn Store>,
    /// What the user sees.
    pub ui: &'a mut dyn Ui,
}

/// One side, resolved.
enum Source {
    Stored { run_id: String, case: CaseId, profile: Profile },
    Rev(String),
    WorkTree,
}

/// Profiles (or loads) both sides and ranks the functions whose cost changed most.
pub fn explain(project: &Project, req: &ExplainRequest, tools: ExplainTools<'_>) -> Result<ExplainReport> {
    let ExplainTools { git, executor, mut store, ui } = tools;
    let base = resolve(store.as_deref_mut(), &req.base, &req.case)?;
    let head = match &req.head {
        Some(h) => resolve(store, h, &req.case)?,
        None => Source::WorkTree,
    };
    let stored: Vec<Profiler> = [&base, &head]
        .into_iter()
        .filter_map(|s| match s {
            Source::Stored { profile, .. } => Some(profile.profiler),
            _ => None,
        })
        .collect();
    if let Some(want) = req.profiler
        && let Some(have) = stored.iter().find(|p| **p != want)
    {
        return Err(AppError::usage(format!(
            "--profiler {}: the stored side was profiled with {}; profiles of different profilers do not compare",
            want.as_str(),
            have.as_str()
        )));
    }
    if let [a, b] = stored[..]
        && a != b
    {
        return Err(AppError::usage(format!(
            "the stored runs were profiled with {} and {}",
            a.as_str(),
            b.as_str()
        )));
    }
    if req.rounds.is_some_and(|r| r > 1) && !stored.is_empty() {
        return Err(AppError::usage(
            "--rounds: a stored profile is one run, so the other side is profiled once too",
        ));
    }
    let choice = req.profiler.or(stored.first().copied());
    let mut profiling = Profiling { project, git, executor, ui, repo: None, choice };
    let base = profiling.prepare(base, &req.base, &req.case)?;
    let head_label = req.head.clone().unwrap_or_else(|| "work tree".into());
    let head = profiling.prepare(head, &head_label, &req.case)?;
    let profiler = profiling.choice.unwrap_or(Profiler::Callgrind);
    let default_rounds = if profiler == Profiler::Callgrind || !stored.is_empty() { 1 } else { 3 };
    let rounds = req.rounds.unwrap_or(default_rounds).max(1);
    let [(base_side, base_profile), (head_side, head_profile)] =
        profiling.profile([base, head], profiler, rounds)?;
    let mut report = ExplainReport {
        schema_version: SCHEMA_VERSION,
        case: base_side.1,
        profiler,
        unit: profiler.unit().to_string(),
        rounds,
        total_delta: signed_delta(base_profile.total(), head_profile.total()),
        functions: rank_changes(&base_profile, &head_profile, req.top),
        base: base_side.0,
        head: head_side.0,
        files: None,
    };
    if let Some(dir) = &req.html {
        report.files = Some(write_graphs(dir, &report, &base_profile, &head_profile)?);
    }
    Ok(report)
}

/// What `spec` names: `run:ID`, `rev:REV`, else a stored run whose id starts with it (when
/// there is a store), else a git revision.
fn resolve(store: Option<&mut (dyn Store + '_)>, spec: &str, case: &str) -> Result<Source> {
    if let Some(rev) = spec.strip_prefix("rev:") {
        return Ok(Source::Rev(rev.to_string()));
    }
    let forced = spec.strip_prefix("run:");
    let id = forced.unwrap_or(spec);
    let run_id = match store {
        Some(store) => match store.resolve_run_id(id) {
            Ok(found) => found.map(|run_id| (run_id, store)),
            // A prefix of several runs may still be a commit.
            Err(e) if forced.is_none() && e.kind() == perfwatch_store::ErrorKind::Ambiguous => None,
            Err(e) => return Err(AppError::Store { context: format!("looking up run {id}"), source: e }),
        },
        None => None,
    };
    let Some((run_id, store)) = run_id else {
        return match forced {
            Some(_) => Err(AppError::usage(format!("{spec}: no such stored run"))),
            None => Ok(Source::Rev(spec.to_string())),
        };
    };
    let run = store.run(&run_id).store_context(|| format!("reading run {run_id}"))?;
    let matching: Vec<CaseId> = run
        .iter()
        .flat_map(|r| &r.benchmarks)
        .filter(|c| case_matches(&c.case, case))
        .map(|c| c.case.clone())
        .collect();
    let case_id = one_case(matching, case, &format!("run {run_id}"))?;
    let profile = store
        .profile(&run_id, &case_id)
        .store_context(|| format!("reading the profile of {case_id} in run {run_id}"))?
        .ok_or_else(|| {
            AppError::usage(format!(
                "run {run_id} has no stored profile of {case_id}: runs keep one when the bench has \
                 [bench.instr] tool = \"callgrind\" (or give a git revision to profile it now)"
            ))
        })?;
    Ok(Source::Stored { run_id, case: case_id, profile })
}

/// The one case of `matching`, or a usage error saying why not.
fn one_case(mut matching: Vec<CaseId>, pattern: &str, place: &str) -> Result<CaseId> {
    match matching.len() {
        1 => Ok(matching.remove(0)),
        0 => Err(AppError::usage(format!("{place} has no case `{pattern}`"))),
        n => {
            let names: Vec<String> = matching.iter().map(|c| c.to_string()).collect();
            Err(AppError::usage(format!(
                "`{pattern}` names {n} cases in {place} ({}): explain follows one, give its full name",
                names.join(", ")
            )))
        }
    }
}

/// Profiles the sides that are revisions or the work tree.
struct Profiling<'a, 'b> {
    project: &'a Project,
    git: &'a dyn Git,
    executor: &'b mut dyn Executor,
    ui: &'b mut dyn Ui,
    repo: Option<Repo>,
    choice: Option<Profiler>,
}

/// A side ready to be profiled, or already profiled (stored).
enum Ready {
    Stored(ExplainSide, CaseId, Profile),
    Live(ExplainSide, Box<CasePlan>),
}

impl Profiling<'_, '_> {
    /// Loads the suite of a side to be profiled (checked out and built) and finds its case.
    fn prepare(&mut self, source: Source, label: &str, pattern: &str) -> Result<Ready> {
        let side = match source {
            Source::Stored { run_id, case, profile } => {
                let side =
                    ExplainSide { label: label.to_string(), commit: None, run_id: Some(run_id), total: 0 };
                return Ok(Ready::Stored(side, case, profile));
            }
            Source::Rev(rev) => {
                let repo = self.repo()?.clone();
                if self.git.resolve_commit(&repo.top, &rev).is_none() {
                    return Err(AppError::Git(format!("`{rev}` is neither a commit nor a stored run")));
                }
                let side = repo.checkout(self.git, &rev)?;
                repo.build(&side, true, self.executor, self.ui)?;
                side
            }
            Source::WorkTree => {
                let side = Side {
                    label: "work tree".into(),
                    suite: self.project.config.clone(),
                    git: self.git.info(&self.project.suite_dir()),
                    plan: self.project.load_plan()?,
                };
                if side.plan.build.is_some() {
                    self.repo()?.clone().build(&side, false, self.executor, self.ui)?;
                }
                side
            }
        };
        let matching: Vec<&CasePlan> =
            side.plan.cases.iter().filter(|c| case_matches(&c.id, pattern)).collect();
        let id = one_case(matching.iter().map(|c| c.id.clone()).collect(), pattern, label)?;
        let case = matching.into_iter().find(|c| c.id == id).expect("one_case picked it").clone();
        self.choice = self.choice.or(Some(default_profiler(&case.command)));
        let commit = side.git.map(|g| g.commit);
        Ok(Ready::Live(
            ExplainSide { label: label.to_string(), commit, run_id: None, total: 0 },
            Box::new(case),
        ))
    }

    /// Profiles the live sides `rounds` times each, alternating which goes first (setup
    /// before the first round, cleanup after the last), and sums each side's profiles.
    fn profile(
        &mut self,
        sides: [Ready; 2],
        profiler: Profiler,
        rounds: u32,
    ) -> Result<[((ExplainSide, CaseId), Profile); 2]> {
        let live: Vec<&CasePlan> =
            sides.iter().filter_map(|s| if let Ready::Live(_, c) = s { Some(&**c) } else { None }).collect();
        for w in run_hooks("setup", &live, self.executor)? {
            self.ui.warn(&format!("{w:?}"));
        }
        let mut profiles: [Option<Profile>; 2] = [None, None];
        let mut failure = None;
        'rounds: for round in 0..rounds {
            let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
            for i in order {
                let Ready::Live(side, case) = &sides[i] else { continue };
                self.ui.info(&format!(
                    "{}: profiling {} with {} ({}/{rounds})",
                    side.label,
                    case.id,
                    profiler.as_str(),
                    round + 1
                ));
                match self.run_profiler(profiler, case)? {
                    Ok(p) => match &mut profiles[i] {
                        Some(sum) => perfwatch_runner::profile::merge(sum, p),
                        none => *none = Some(p),
                    },
                    Err(why) => {
                        failure = Some(AppError::Build(format!("{}: {} {why}", side.label, case.id)));
                        break 'rounds;
                    }
                }
            }
        }
        for w in run_hooks("cleanup", &live, self.executor)? {
            self.ui.warn(&format!("{w:?}"));
        }
        if let Some(e) = failure {
            return Err(e);
        }
        let [a, b] = sides;
        let [pa, pb] = profiles;
        Ok([finish(a, pa), finish(b, pb)])
    }

    fn repo(&mut self) -> Result<&Repo> {
        if self.repo.is_none() {
            self.repo = Some(Repo::of(self.project, self.git)?);
        }
        Ok(self.repo.as_ref().expect("set above"))
    }

    /// `Ok(Err(why))` when the command or the profiler failed; `Err` when the executor did.
    fn run_profiler(
        &mut self,
        profiler: Profiler,
        case: &CasePlan,
    ) -> Result<std::result::Result<Profile, String>> {
        let dir = tempfile::tempdir().map_err(|e| AppError::io("making a directory for the profile", e))?;
        if let Some(prepare) = &case.prepare {
            let outcome = self.exec(request(case, CommandSpec::Shell(prepare.clone()).to_argv(), 1))?.0;
            if !outcome.exit.is_success() {
                return Ok(Err(format!("prepare hook `{prepare}` failed{}", tail(&outcome.stderr_tail))));
            }
        }
        let argv = profiler_argv(profiler, dir.path(), &case.command.to_argv());
        let (outcome, _) = self.exec(request(case, argv, slowdown(profiler)))?;
        if let perfwatch_model::ExitKind::SpawnFailed { message } = &outcome.exit {
            return Ok(Err(format!(
                "cannot start {} ({message}); {}",
                profiler.as_str(),
                install_hint(profiler)
            )));
        }
        if !outcome.exit.is_success() {
            return Ok(Err(format!(
                "failed under {} ({:?}){}",
                profiler.as_str(),
                outcome.exit,
                tail(&outcome.stderr_tail)
            )));
        }
        let script = match profiler {
            Profiler::Perf => Some(self.perf_script(case, dir.path())?),
            _ => None,
        };
        let profile = read_profile(profiler, dir.path(), script.as_deref());
        if profiler != Profiler::PySpy {
            return Ok(profile);
        }
        // py-spy samples wall-clock time and misses samples when it is itself short of CPU:
        // its shares, scaled to the CPU time the kernel measured for the run.
        let cpu_us = ((outcome.user + outcome.sys) * 1e6).round() as u64;
        Ok(profile.map(|p| perfwatch_runner::profile::scale_to(&p, cpu_us)))
    }

    fn perf_script(&mut self, case: &CasePlan, dir: &Path) -> Result<String> {
        // No `period` field: each sample counts 1 (with it, inferno would sum clock periods).
        let fields = "comm,tid,event,ip,sym,dso";
        let data = dir.join("perf.data").display().to_string();
        let argv = ["perf", "script", "-F", fields, "-i", &data].map(String::from).into_iter();
        let req =
            ExecRequest { forward_output: true, ..request(case, argv.collect(), slowdown(Profiler::Perf)) };
        let (outcome, out) = self.exec(req)?;
        if !outcome.exit.is_success() {
            return Err(AppError::Build(format!("perf script failed{}", tail(&outcome.stderr_tail))));
        }
        Ok(out)
    }

    /// Runs `req`, keeping its standard output when it is forwarded.
    fn exec(&mut self, req: ExecRequest) -> Result<(perfwatch_runner::ExecOutcome, String)> {
        let mut stdout = Vec::new();
        let outcome = self
            .executor
            .execute(&req, &mut |stream, data| {
                if stream == Stream::Stdout {
                    stdout.extend_from_slice(data);
                }
            })
            .map_err(|e| AppError::Executor(e.to_string()))?;
        Ok((outcome, String::from_utf8_lossy(&stdout).into_owned()))
    }
}

/// A side with its profile: the stored one, or the sum of the rounds.
fn finish(side: Ready, profiled: Option<Profile>) -> ((ExplainSide, CaseId), Profile) {
    let (mut side, case, profile) = match side {
        Ready::Stored(side, case, profile) => (side, case, profile),
        Ready::Live(side, case) => {
            let profile =
                profiled.unwrap_or(Profile { profiler: Profiler::Callgrind, stacks: Default::default() });
            (side, case.id, profile)
        }
    };
    side.total = profile.total();
    ((side, case), profile)
}

/// py-spy for a command that runs Python (`python`, `python3.12`, `uv run python`…), else
/// callgrind, which works for any native program.
fn default_profiler(command: &CommandSpec) -> Profiler {
    let argv = command.to_argv();
    let runs_python = argv.iter().take(3).chain(argv.last()).any(|a| {
        let name = a.rsplit('/').next().unwrap_or(a);
        name.starts_with("python")
            || a.split_whitespace().any(|w| w.rsplit('/').next().is_some_and(|n| n.starts_with("python")))
    });
    if runs_python { Profiler::PySpy } else { Profiler::Callgrind }
}

fn install_hint(profiler: Profiler) -> &'static str {
    match profiler {
        Profiler::Callgrind => "install Valgrind (Debian: apt install valgrind)",
        Profiler::PySpy => "install py-spy (pip install py-spy)",
        Profiler::Perf => "install perf (Debian: apt install linux-perf)",
    }
}

fn tail(stderr: &str) -> String {
    let t = stderr.trim();
    if t.is_empty() { String::new() } else { format!(": {t}") }
}

/// A command of `case` with its timeout stretched `slowdown` times.
fn request(case: &CasePlan, argv: Vec<String>, slowdown: u32) -> ExecRequest {
    ExecRequest {
        argv,
        cwd: case.cwd.clone(),
        env: case.env.clone(),
        timeout: Some(case.settings.timeout).filter(|t| !t.is_zero()).map(|t| t.saturating_mul(slowdown)),
        forward_output: false,
        kill_leftovers: true,
        metrics_file: false,
        gpu_interval: None,
    }
}

/// Writes `diff.svg`, `base.svg`, `head.svg`, the two folded profiles and `index.html`.
fn write_graphs(dir: &Path, report: &ExplainReport, base: &Profile, head: &Profile) -> Result<ExplainFiles> {
    use perfwatch_report::flame::{diff_flame_graph, explain_page, flame_graph};
    std::fs::create_dir_all(dir).map_err(|e| AppError::io(format!("creating {}", dir.display()), e))?;
    let title = |what: &str| format!("{} — {what}", report.case);
    let unit = &report.unit;
    let graph =
        |r: std::result::Result<String, String>| r.map_err(|e| AppError::Build(format!("flame graph: {e}")));
    let files = [
        (
            "diff.svg",
            graph(diff_flame_graph(
                base,
                head,
                &title(&format!("{} → {}", report.base.label, report.head.label)),
                unit,
            ))?,
        ),
        ("base.svg", graph(flame_graph(base, &title(&report.base.label), unit))?),
        ("head.svg", graph(flame_graph(head, &title(&report.head.label), unit))?),
        ("base.folded", base.to_folded()),
        ("head.folded", head.to_folded()),
        ("index.html", explain_page(report)),
    ];
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| AppError::io(format!("writing {}", path.display()), e))?;
    }
    let at = |name: &str| dir.join(name).display().to_string();
    Ok(ExplainFiles {
        index: at("index.html"),
        diff: at("diff.svg"),
        base: at("base.svg"),
        head: at("head.svg"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_commands_get_py_spy_and_others_callgrind() {
        let argv = |v: &[&str]| CommandSpec::Argv(v.iter().map(|s| s.to_string()).collect());
        assert_eq!(default_profiler(&argv(&["python3", "bench.py"])), Profiler::PySpy);
        assert_eq!(default_profiler(&argv(&["/usr/bin/python3.12", "-m", "x"])), Profiler::PySpy);
        assert_eq!(default_profiler(&CommandSpec::Shell("python3 app.py --n 3".into())), Profiler::PySpy);
        assert_eq!(default_profiler(&argv(&["./target/release/app"])), Profiler::Callgrind);
        assert_eq!(default_profiler(&CommandSpec::Shell("./sort 1000".into())), Profiler::Callgrind);
    }

    #[test]
    fn one_case_explains_what_is_missing_or_ambiguous() {
        let a = CaseId::new("sort", [("n", "1")]);
        let b = CaseId::new("sort", [("n", "2")]);
        assert_eq!(one_case(vec![a.clone()], "sort", "x").unwrap(), a);
        let e = one_case(vec![], "sort", "run 1").unwrap_err().to_string();
        assert!(e.contains("run 1 has no case `sort`"), "{e}");
        let e = one_case(vec![a, b], "sort", "HEAD~1").unwrap_err().to_string();
        assert!(e.contains("names 2 cases") && e.contains("sort[n=2]"), "{e}");
    }
}

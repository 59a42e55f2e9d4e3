//! The two sides of `compare --rev`: a revision checked out in a cached worktree (or the work
//! tree itself), its suite, and its build — run through the [`Executor`] and cached by a
//! marker file, so the second comparison of a commit does not build it again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use perfwatch_model::{GitInfo, Plan};
use perfwatch_runner::{ExecRequest, Executor};

use crate::error::{AppError, Result};
use crate::git::Git;
use crate::{Ui, project::Project};

/// One side of the comparison: where its suite lives and what it is.
#[derive(Debug, Clone)]
pub(crate) struct Side {
    /// `--rev` as given, or `work tree`.
    pub label: String,
    /// The suite file of this side.
    pub suite: PathBuf,
    /// Its git state.
    pub git: Option<GitInfo>,
    /// The plan loaded from `suite`.
    pub plan: Plan,
}

/// Where a suite sits in its repository, and where its worktrees go.
#[derive(Debug, Clone)]
pub(crate) struct Repo {
    /// Top of the work tree.
    pub top: PathBuf,
    /// The suite file, absolute (the work tree's side).
    pub suite_file: PathBuf,
    /// The suite file relative to `top`.
    pub rel_suite: PathBuf,
    /// `.perfwatch/worktrees` beside the suite.
    pub worktrees: PathBuf,
}

impl Repo {
    /// The repository holding `project`'s suite.
    pub fn of(project: &Project, git: &dyn Git) -> Result<Repo> {
        if !project.config.exists() {
            return Err(AppError::usage(format!("no suite file at {}", project.config.display())));
        }
        let suite_dir = project.suite_dir();
        let name =
            project.config.file_name().ok_or_else(|| AppError::usage("the suite path has no file name"))?;
        let suite_file = suite_dir.join(name);
        let top = git
            .toplevel(&suite_dir)
            .ok_or_else(|| AppError::Git(format!("{} is not inside a git work tree", suite_dir.display())))?;
        let rel_suite = suite_file
            .strip_prefix(&top)
            .map_err(|_| AppError::Git(format!("{} is not inside {}", suite_file.display(), top.display())))?
            .to_path_buf();
        Ok(Repo { top, suite_file, rel_suite, worktrees: suite_dir.join(".perfwatch").join("worktrees") })
    }

    /// Resolves `rev` to a commit, makes sure its worktree exists, loads its suite.
    pub fn checkout(&self, git: &dyn Git, rev: &str) -> Result<Side> {
        let commit = git
            .resolve_commit(&self.top, rev)
            .ok_or_else(|| AppError::Git(format!("--rev {rev}: no such commit")))?;
        let dir = self.worktrees.join(&commit);
        if !dir.join(".git").exists() {
            std::fs::create_dir_all(&self.worktrees)
                .map_err(|e| AppError::io(format!("creating {}", self.worktrees.display()), e))?;
            git.add_worktree(&self.top, &dir, &commit)
                .map_err(|m| AppError::Git(format!("git worktree add for {rev} failed: {m}")))?;
        }
        let suite = dir.join(&self.rel_suite);
        if !suite.exists() {
            return Err(AppError::usage(format!(
                "--rev {rev}: the suite file {} does not exist at that commit",
                self.rel_suite.display()
            )));
        }
        let plan = perfwatch_config::load(&suite)?;
        Ok(Side {
            label: rev.to_string(),
            suite,
            git: Some(GitInfo { commit, branch: None, dirty: false }),
            plan,
        })
    }

    /// The marker of a commit whose build failed: `<worktrees>/<commit>.build-failed`.
    fn failed_marker(&self, commit: &str) -> PathBuf {
        self.worktrees.join(format!("{commit}.build-failed"))
    }

    /// Why `commit` did not build last time, if it did not (recorded by `backfill`).
    pub fn failed_build(&self, commit: &str) -> Option<String> {
        std::fs::read_to_string(self.failed_marker(commit)).ok()
    }

    /// Records that `commit` does not build, so `backfill --skip-existing` does not try again.
    pub fn record_failed_build(&self, commit: &str, message: &str) -> Result<()> {
        let marker = self.failed_marker(commit);
        std::fs::write(&marker, message).map_err(|e| AppError::io(format!("writing {}", marker.display()), e))
    }

    /// Runs the side's `[build]` command in its suite directory through `executor`, its output
    /// shown to the user. With `cache`, a marker `<worktrees>/<commit>.built` holding a hash of
    /// the command skips the build next time.
    pub fn build(
        &self,
        side: &Side,
        cache: bool,
        executor: &mut dyn Executor,
        ui: &mut dyn Ui,
    ) -> Result<()> {
        let Some(cmd) = &side.plan.build else { return Ok(()) };
        let text = cmd.to_string();
        let marker =
            side.git.as_ref().filter(|_| cache).map(|g| self.worktrees.join(format!("{}.built", g.commit)));
        let stamp = format!("{:016x}\n", fnv1a(text.as_bytes()));
        if marker.as_ref().is_some_and(|m| std::fs::read_to_string(m).is_ok_and(|s| s == stamp)) {
            ui.info(&format!("build of {} is cached", side.label));
            return Ok(());
        }
        ui.info(&format!("building {}: {text}", side.label));
        let req = ExecRequest {
            argv: cmd.to_argv(),
            cwd: side.suite.parent().unwrap_or(Path::new(".")).to_path_buf(),
            env: BTreeMap::new(),
            timeout: None,
            forward_output: true,
            kill_leftovers: false,
            metrics_file: false,
            gpu_interval: None,
        };
        let outcome = executor
            .execute(&req, &mut |_, bytes| ui.tool_output(bytes))
            .map_err(|e| AppError::Executor(e.to_string()))?;
        if !outcome.exit.is_success() {
            return Err(AppError::Build(format!(
                "the build command `{text}` failed in {} ({})\n{}",
                side.label,
                outcome.exit,
                outcome.stderr_tail.trim_end()
            )));
        }
        if let Some(m) = marker {
            std::fs::write(&m, stamp).map_err(|e| AppError::io(format!("writing {}", m.display()), e))?;
        }
        if let Some(g) = &side.git {
            // It builds now: forget an earlier failure.
            let _ = std::fs::remove_file(self.failed_marker(&g.commit));
        }
        Ok(())
    }
}

/// 64-bit FNV-1a: a stable hash for the build marker (std's hasher may change between Rust
/// releases).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

//! What perfwatch asks of git, behind a small trait: the state of a work tree (recorded with
//! every run), and the commits and worktrees `compare --rev` measures. [`SystemGit`] runs the
//! `git` command; tests can answer with a fake.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use perfwatch_model::GitInfo;

/// The git operations perfwatch uses.
pub trait Git {
    /// `HEAD`, branch and dirty flag of the work tree containing `dir`; `None` outside a work
    /// tree (or without git). On a detached `HEAD` the branch is the one the CI service names
    /// ([`crate::ci::detect`]), if any.
    fn info(&self, dir: &Path) -> Option<GitInfo>;
    /// The top directory of the work tree containing `dir`.
    fn toplevel(&self, dir: &Path) -> Option<PathBuf>;
    /// The full commit hash `rev` names in the repository at `top`.
    fn resolve_commit(&self, top: &Path, rev: &str) -> Option<String>;
    /// Checks `commit` out, detached, into a new worktree at `dir`; the error is git's message.
    fn add_worktree(&self, top: &Path, dir: &Path, commit: &str) -> Result<(), String>;
}

/// [`Git`] through the `git` command.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemGit;

impl Git for SystemGit {
    fn info(&self, dir: &Path) -> Option<GitInfo> {
        let commit = git(dir, &["rev-parse", "--verify", "HEAD"])?;
        let branch = git(dir, &["symbolic-ref", "--short", "-q", "HEAD"])
            .filter(|b| !b.is_empty())
            .or_else(|| crate::ci::detect(|name| std::env::var(name).ok())?.branch);
        // Untracked files do not change what was measured; modified tracked files do.
        let dirty =
            git(dir, &["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
        Some(GitInfo { commit, branch, dirty })
    }

    fn toplevel(&self, dir: &Path) -> Option<PathBuf> {
        let top = PathBuf::from(git(dir, &["rev-parse", "--show-toplevel"])?);
        Some(top.canonicalize().unwrap_or(top))
    }

    fn resolve_commit(&self, top: &Path, rev: &str) -> Option<String> {
        git(top, &["rev-parse", "--verify", "--quiet", &format!("{rev}^{{commit}}")])
    }

    fn add_worktree(&self, top: &Path, dir: &Path, commit: &str) -> Result<(), String> {
        // A stale registration (its directory deleted by hand) would make `add` fail.
        let _ = git(top, &["worktree", "prune"]);
        let out = Command::new("git")
            .args(["worktree", "add", "--detach"])
            .arg(dir)
            .arg(commit)
            .current_dir(top)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run git: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
        }
    }
}

/// Runs git in `dir`; its trimmed stdout when it succeeds.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

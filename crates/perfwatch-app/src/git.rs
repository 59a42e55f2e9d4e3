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
    /// The first-parent chain after `from` up to `to` (both commits in the repository at
    /// `top`), oldest first: what `git log --first-parent from..to` lists, reversed. Empty when
    /// `to` does not descend from `from` along first parents.
    fn first_parent_log(&self, top: &Path, from: &str, to: &str) -> Result<Vec<LogEntry>, String>;
    /// The subject and commit time of one commit.
    fn describe(&self, top: &Path, commit: &str) -> Option<LogEntry>;
}

/// A commit as `git log` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// Full hash.
    pub commit: String,
    /// Committer time, seconds since the Unix epoch.
    pub time: i64,
    /// First line of the message.
    pub subject: String,
}

/// `git log --format` for [`LogEntry`]: hash, committer time and subject, tab-separated.
const LOG_FORMAT: &str = "--format=%H%x09%ct%x09%s";

fn parse_log(text: &str) -> Vec<LogEntry> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, '\t');
            let commit = parts.next()?.to_string();
            let time = parts.next()?.parse().ok()?;
            Some(LogEntry { commit, time, subject: parts.next().unwrap_or("").to_string() })
        })
        .collect()
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

    fn first_parent_log(&self, top: &Path, from: &str, to: &str) -> Result<Vec<LogEntry>, String> {
        let out = Command::new("git")
            .args(["log", "--first-parent", "--reverse", LOG_FORMAT])
            .arg(format!("{from}..{to}"))
            .current_dir(top)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run git: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        let log = parse_log(&String::from_utf8_lossy(&out.stdout));
        // `from..to` also lists commits of a side history when `to` does not descend from
        // `from`; the chain must end at `to` and start right after `from`.
        let parent_of_first =
            log.first().and_then(|first| git(top, &["rev-parse", &format!("{}^", first.commit)]));
        match parent_of_first {
            Some(parent) if parent == from => Ok(log),
            _ => Ok(vec![]),
        }
    }

    fn describe(&self, top: &Path, commit: &str) -> Option<LogEntry> {
        parse_log(&git(top, &["log", "-1", LOG_FORMAT, commit])?).pop()
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

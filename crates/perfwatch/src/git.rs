//! Git state of the suite's work tree, read through the `git` command.

use std::path::Path;
use std::process::{Command, Stdio};

use perfwatch_model::GitInfo;

/// Reads `HEAD`, the branch and the dirty flag of the work tree containing `dir`;
/// `None` when `dir` is not in a git work tree or git is not installed.
pub fn info(dir: &Path) -> Option<GitInfo> {
    let commit = git(dir, &["rev-parse", "--verify", "HEAD"])?;
    let branch = git(dir, &["symbolic-ref", "--short", "-q", "HEAD"]).filter(|b| !b.is_empty());
    // Untracked files do not change what was measured; modified tracked files do.
    let dirty = git(dir, &["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    Some(GitInfo { commit, branch, dirty })
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).current_dir(dir).stderr(Stdio::null()).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

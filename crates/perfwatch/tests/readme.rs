//! The README's promise: every shell line of "Quick start" and "Using it" runs as written, in
//! order, on a fresh copy of the repository, and leaves no store outside the example suite.
//!
//! Three lines are stood in for, because this test is itself part of them: `cargo test
//! --workspace` is the command running this test (skipped), and `cargo run --release -- ARGS`
//! is the `perfwatch` binary this same `cargo test` built (a second, release build would
//! double CI time without testing anything more). `perfwatch serve` runs until it answers on
//! its address, then is stopped.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The repository this test was built from.
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).unwrap().to_path_buf()
}

/// The shell lines of the `sh` blocks of the README section titled `title`.
fn section_lines(readme: &str, title: &str) -> Vec<String> {
    let start = readme.find(&format!("\n## {title}")).unwrap_or_else(|| panic!("no section {title}"));
    let body = &readme[start + 4..];
    let body = &body[..body.find("\n## ").unwrap_or(body.len())];
    let mut lines = Vec::new();
    let mut in_sh = false;
    for line in body.lines() {
        match line.trim_start() {
            "```sh" => in_sh = true,
            "```" => in_sh = false,
            l if in_sh && !l.is_empty() && !l.starts_with('#') => lines.push(l.to_string()),
            _ => {}
        }
    }
    lines
}

/// Copies the files git knows (tracked, or new and not ignored) into `dest`, and commits
/// them there so `compare --rev HEAD` has a revision.
fn fresh_copy(dest: &Path) {
    let root = repo_root();
    let listed = Command::new("git")
        .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
        .current_dir(&root)
        .output()
        .expect("git is installed");
    assert!(listed.status.success(), "git ls-files failed in {}", root.display());
    for rel in listed.stdout.split(|b| *b == 0).filter(|p| !p.is_empty()) {
        let rel = Path::new(std::str::from_utf8(rel).unwrap());
        let (from, to) = (root.join(rel), dest.join(rel));
        if from.is_file() {
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(&from, &to).unwrap();
        }
    }
    for args in [&["init", "-q", "-b", "main"][..], &["add", "-A"], &["commit", "-q", "-m", "copy"]] {
        let status = git(dest).args(args).status().unwrap();
        assert!(status.success(), "git {args:?}");
    }
}

fn git(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        .env("GIT_AUTHOR_NAME", "readme")
        .env("GIT_AUTHOR_EMAIL", "readme@example.org")
        .env("GIT_COMMITTER_NAME", "readme")
        .env("GIT_COMMITTER_EMAIL", "readme@example.org");
    cmd
}

/// A shell running `line` in `cwd` with the perfwatch under test first on `PATH`.
fn shell(line: &str, cwd: &Path, home: &Path) -> Command {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_perfwatch")).parent().unwrap();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let mut cmd = Command::new("bash");
    cmd.args(["--norc", "-c", line])
        .current_dir(cwd)
        .env("PATH", path)
        .env("HOME", home)
        .env_remove("PERFWATCH_DB")
        .env_remove("PERFWATCH_CONFIG")
        .env_remove("PERFWATCH_TOKEN");
    cmd
}

fn describe(line: &str, out: &Output) -> String {
    format!(
        "`{line}` exited {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Starts `perfwatch serve`, waits until it accepts connections on the README's address, stops it.
fn serve_briefly(line: &str, cwd: &Path, home: &Path) {
    let mut child = shell(&format!("exec {line}"), cwd, home)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let answered = loop {
        if TcpStream::connect("127.0.0.1:8080").is_ok() {
            break true;
        }
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            panic!("`{line}` ended by itself ({status}): {}", String::from_utf8_lossy(&out.stderr));
        }
        if Instant::now() > deadline {
            break false;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(answered, "`{line}` did not answer on 127.0.0.1:8080 within 30 s");
}

/// The exit codes a README line may end with: 0, or 1 where the README says the command is
/// a gate (a regression found is its documented answer, and on a shared machine noise can
/// make one).
fn allowed_codes(line: &str) -> &'static [i32] {
    let gate = ["perfwatch compare", "perfwatch ab", "perfwatch detect"].iter().any(|g| line.starts_with(g));
    if gate { &[0, 1] } else { &[0] }
}

/// Every `.perfwatch` directory under `root` (not looking inside them).
fn stores_under(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if !path.is_dir() || path.file_name().is_some_and(|n| n == ".git") {
                continue;
            }
            if path.file_name().is_some_and(|n| n == ".perfwatch") {
                found.push(path);
            } else {
                stack.push(path);
            }
        }
    }
    found
}

#[test]
fn readme_commands_run_as_written() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let mut lines = section_lines(&readme, "Quick start");
    lines.extend(section_lines(&readme, "Using it"));
    assert!(lines.len() >= 15, "the README's blocks were not found: {lines:?}");

    let copy = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    fresh_copy(copy.path());
    let mut cwd = copy.path().to_path_buf();
    let mut ran = 0;
    for line in &lines {
        let command = line.split(" #").next().unwrap().trim();
        if command == "cargo test --workspace" {
            continue;
        }
        let command = match command.strip_prefix("cargo run --release -- ") {
            Some(args) => format!("perfwatch {args}"),
            None => command.to_string(),
        };
        if let Some(dir) = command.strip_prefix("cd ") {
            cwd = cwd.join(dir);
            assert!(cwd.is_dir(), "`{line}`: no directory {}", cwd.display());
            continue;
        }
        if command.starts_with("perfwatch serve") {
            serve_briefly(&command, &cwd, home.path());
        } else {
            let out = shell(&command, &cwd, home.path()).output().unwrap();
            let code = out.status.code().unwrap_or(-1);
            assert!(allowed_codes(&command).contains(&code), "{}", describe(line, &out));
        }
        ran += 1;
    }
    assert!(ran >= 15, "only {ran} commands ran");
    let stores = stores_under(copy.path());
    assert_eq!(stores, vec![copy.path().join("examples/quickstart/.perfwatch")], "stray stores");
    // What the lines promised is there.
    let quick = copy.path().join("examples/quickstart");
    let sort: serde_json::Value =
        serde_json::from_slice(&std::fs::read(quick.join("sort.json")).unwrap()).unwrap();
    assert_eq!(sort["benchmarks"].as_array().unwrap().len(), 2, "sort.json holds the two sort cases");
    // A comparison in Markdown: the sticky-comment marker, then the headline.
    let summary = std::fs::read_to_string(quick.join("summary.md")).unwrap();
    assert!(summary.starts_with("<!-- perfwatch-comparison -->\n### perfwatch"), "{summary}");
    assert!(quick.join("site/index.html").is_file());
}

//! Helpers shared by the CLI integration tests: a temp dir per test, the real `perfwatch`
//! binary, and the `pw-fake` benchmark programs from perfwatch-testkit.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// Path of the `pw-fake` helper binary, built on first use if `cargo test -p perfwatch` did
/// not build it already (a workspace-wide `cargo test` does).
pub fn pw_fake() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let bin_dir = PathBuf::from(env!("CARGO_BIN_EXE_perfwatch")).parent().unwrap().to_path_buf();
        let path = bin_dir.join("pw-fake");
        if !path.exists() {
            let profile_args: &[&str] =
                if bin_dir.file_name().is_some_and(|n| n == "release") { &["--release"] } else { &[] };
            let status = Command::new(env!("CARGO"))
                .args(["build", "-q", "-p", "perfwatch-testkit"])
                .args(profile_args)
                .status()
                .expect("running cargo build for pw-fake");
            assert!(status.success(), "building pw-fake failed");
        }
        assert!(path.exists(), "pw-fake not found at {}", path.display());
        path
    })
    .clone()
}

/// A scratch directory holding one suite file and its store.
pub struct Suite {
    /// Kept alive so the directory survives until the test ends.
    pub dir: tempfile::TempDir,
}

impl Suite {
    /// Writes `toml` as `perfwatch.toml` in a fresh directory; `{fake}` is replaced by the
    /// path of pw-fake.
    pub fn new(toml: &str) -> Suite {
        let dir = tempfile::tempdir().unwrap();
        let suite = Suite { dir };
        suite.write(toml);
        suite
    }

    /// Replaces the suite file's contents.
    pub fn write(&self, toml: &str) {
        let fake = pw_fake();
        std::fs::write(self.config(), toml.replace("{fake}", fake.to_str().unwrap())).unwrap();
    }

    /// The suite file.
    pub fn config(&self) -> PathBuf {
        self.dir.path().join("perfwatch.toml")
    }

    /// The default SQLite store beside the suite.
    pub fn db(&self) -> PathBuf {
        self.dir.path().join(".perfwatch").join("history.db")
    }

    /// `perfwatch ARGS -c perfwatch.toml`, run in the suite directory.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_perfwatch"));
        cmd.args(args).arg("-c").arg(self.config()).current_dir(self.dir.path());
        cmd.env_remove("PERFWATCH_DB");
        cmd
    }

    /// Runs `perfwatch ARGS` to completion.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }
}

/// Exit code, stdout and stderr, for assertion messages.
pub fn describe(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Parses stdout as JSON.
pub fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", describe(out)))
}

/// Processes whose command line contains `marker` (to prove nothing was left running).
pub fn processes_with(marker: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let cmdline = entry.path().join("cmdline");
        if let Ok(bytes) = std::fs::read(&cmdline) {
            let text = String::from_utf8_lossy(&bytes).replace('\0', " ");
            if text.contains(marker) {
                found.push(format!("{}: {text}", entry.file_name().to_string_lossy()));
            }
        }
    }
    found
}

/// The repository root (for the shipped example suite and schemas).
pub fn repo_root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// Asserts that `doc` matches `schemas/NAME.schema.json`, listing every violation.
pub fn assert_schema_valid(doc: &serde_json::Value, name: &str) {
    let path = repo_root().join(format!("schemas/{name}.schema.json"));
    let schema: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> =
        validator.iter_errors(doc).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "the document breaks {}: {errors:#?}", path.display());
}

/// Runs git in `dir` with a throwaway identity (no signing); its trimmed stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", describe(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Polls `probe` every 50 ms until it gives a value; fails the test after 30 s, saying `what`
/// never happened.
pub fn wait_for<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(std::time::Instant::now() < deadline, "{what} never happened");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

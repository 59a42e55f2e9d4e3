//! The shipped GitHub Actions example runs: the gate step of
//! `examples/ci/github-actions/perfwatch.yml` is taken from the file as written and run by
//! bash, the way the runner runs it, on a scratch repository whose pull request slows a case
//! down by a quarter.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use yaml_rust2::{Yaml, YamlLoader};

use crate::util::{describe, git, repo_root};

const WORKFLOW: &str = "examples/ci/github-actions/perfwatch.yml";
const MARKER: &str = "<!-- perfwatch-comparison -->";

/// The workflow file, parsed.
fn workflow() -> Yaml {
    let path = repo_root().join(WORKFLOW);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut docs = YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{WORKFLOW}: {e}"));
    assert_eq!(docs.len(), 1, "{WORKFLOW} holds one document");
    docs.remove(0)
}

/// Every step of every job, with the job's name.
fn steps(workflow: &Yaml) -> Vec<(String, &Yaml)> {
    let jobs = workflow["jobs"].as_hash().expect("the workflow has jobs");
    let mut found = Vec::new();
    for (name, job) in jobs {
        let name = name.as_str().unwrap().to_string();
        for step in job["steps"].as_vec().unwrap_or_else(|| panic!("job {name} has no steps")) {
            found.push((name.clone(), step));
        }
    }
    found
}

/// The shell the step runs in: its own `shell:`, else the job's, else the workflow's default.
fn shell_of<'a>(workflow: &'a Yaml, job: &str, step: &'a Yaml) -> Option<&'a str> {
    [
        &step["shell"],
        &workflow["jobs"][job]["defaults"]["run"]["shell"],
        &workflow["defaults"]["run"]["shell"],
    ]
    .into_iter()
    .find_map(|s| s.as_str())
}

/// A repository shaped like a pull request: `main` at `base`, the branch `pr` forked from it
/// sleeping 0.05 s instead of 0.04 s in its `nap` case, and `main` moved on by one unrelated
/// commit since (so the merge base is not the base branch's tip). Returns the repository,
/// the fork point and main's tip.
fn pull_request_repo() -> (tempfile::TempDir, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    let suite = r#"[defaults]
warmup = 1
min_runs = 5
max_runs = 100
max_time = "8s"
threshold = "5%"

[[bench]]
name = "nap"
shell = "sleep $(cat nap.txt)"
"#;
    std::fs::write(repo.join("perfwatch.toml"), suite).unwrap();
    std::fs::write(repo.join("nap.txt"), "0.04\n").unwrap();
    git(repo, &["init", "-q", "-b", "main"]);
    git(repo, &["add", "."]);
    git(repo, &["commit", "-q", "-m", "base"]);
    let fork = git(repo, &["rev-parse", "HEAD"]);
    git(repo, &["checkout", "-q", "-b", "pr"]);
    std::fs::write(repo.join("nap.txt"), "0.05\n").unwrap();
    git(repo, &["commit", "-q", "-am", "a quarter slower"]);
    git(repo, &["checkout", "-q", "main"]);
    std::fs::write(repo.join("NEWS"), "unrelated\n").unwrap();
    git(repo, &["add", "NEWS"]);
    git(repo, &["commit", "-q", "-m", "meanwhile on main"]);
    let main_tip = git(repo, &["rev-parse", "HEAD"]);
    // What actions/checkout leaves: the PR's head, detached.
    git(repo, &["checkout", "-q", "--detach", "pr"]);
    (dir, fork, main_tip)
}

/// Runs `script` as GitHub runs a `run:` step with `shell: bash` (`bash --noprofile --norc
/// -eo pipefail {0}`), in `cwd`, with the perfwatch under test first on PATH.
fn run_step(script: &str, cwd: &Path, env: &[(&str, &Path)], base_sha: &str) -> Output {
    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("step.sh");
    std::fs::write(&file, script).unwrap();
    let bin_dir = PathBuf::from(env!("CARGO_BIN_EXE_perfwatch")).parent().unwrap().to_path_buf();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let mut cmd = Command::new("bash");
    cmd.args(["--noprofile", "--norc", "-eo", "pipefail"])
        .arg(&file)
        .current_dir(cwd)
        .env("PATH", path)
        .env("BASE_SHA", base_sha)
        .env_remove("PERFWATCH_DB")
        .env_remove("PERFWATCH_CONFIG")
        .env_remove("PERFWATCH_TOKEN")
        .env_remove("GITHUB_OUTPUT");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn workflow_scripts_take_expressions_only_through_env() {
    let workflow = workflow();
    for (job, step) in steps(&workflow) {
        if let Some(script) = step["run"].as_str() {
            assert!(
                !script.contains("${{"),
                "job {job}: a run: script interpolates an expression:\n{script}"
            );
        }
    }
}

#[test]
fn github_gate_step_fails_on_a_regression_and_leaves_its_reports() {
    let workflow = workflow();
    let gates: Vec<_> =
        steps(&workflow).into_iter().filter(|(_, s)| s["id"].as_str() == Some("gate")).collect();
    assert_eq!(gates.len(), 1, "one step with id: gate");
    let (job, gate) = &gates[0];
    let script = gate["run"].as_str().expect("the gate step has a run: script");
    assert!(!script.contains("${{"), "the script must run unchanged:\n{script}");
    assert_eq!(shell_of(&workflow, job, gate), Some("bash"), "run_step assumes shell: bash");
    assert_eq!(
        gate["env"]["BASE_SHA"].as_str(),
        Some("${{ github.event.pull_request.base.sha }}"),
        "BASE_SHA comes from the event"
    );

    let (repo, fork, main_tip) = pull_request_repo();
    let outside = tempfile::tempdir().unwrap();
    let summary = outside.path().join("step_summary.md");
    std::fs::write(&summary, "").unwrap();
    let out = run_step(script, repo.path(), &[("GITHUB_STEP_SUMMARY", &summary)], &main_tip);
    let stdout = String::from_utf8_lossy(&out.stdout);

    assert_eq!(out.status.code(), Some(1), "a regression fails the step\n{}", describe(&out));
    assert!(
        stdout.lines().any(|l| l.starts_with("::error") && l.contains("nap")),
        "no ::error line naming the case\n{}",
        describe(&out)
    );
    let summary_text = std::fs::read_to_string(&summary).unwrap();
    assert!(
        summary_text.contains("regressed") && summary_text.contains("nap"),
        "the step summary lacks the verdict table:\n{summary_text}"
    );

    let json_path = repo.path().join("perfwatch-comparison.json");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json_path).unwrap())
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", json_path.display()));
    let wall = report["comparisons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "nap" && c["metric"] == "wall")
        .unwrap_or_else(|| panic!("no nap/wall comparison in {report:#}"));
    assert_eq!(wall["verdict"], "regressed", "{report:#}");
    assert!(report["summary"]["regressed"].as_u64().unwrap_or(0) >= 1, "{report:#}");
    // The merge base was measured, not main's tip.
    assert_eq!(report["baseline"]["commit"], fork.as_str(), "{report:#}");

    let comment = std::fs::read_to_string(repo.path().join("perfwatch-comment.md")).unwrap();
    assert!(comment.starts_with(MARKER), "the comment lacks its marker:\n{comment}");
    assert_eq!(comment.matches(MARKER).count(), 1, "one marker:\n{comment}");
    assert!(comment.contains("nap"), "{comment}");
}

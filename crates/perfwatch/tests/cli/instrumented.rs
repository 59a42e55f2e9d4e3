//! The Python client's own test suite (pytest), as part of the workspace's tests. The
//! instrumented example end to end is in `tests/instrumented_examples.rs`.

use std::process::Command;

use crate::util::*;

/// Runs `python3 -m pytest` on the client's tests; pytest is installed by `.ci/run`.
#[test]
fn the_python_client_passes_its_own_tests() {
    let python = repo_root().join("python");
    let out = Command::new("python3")
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"])
        .current_dir(&python)
        .env("PYTHONPATH", python.join("src"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("PERFWATCH_METRICS_FILE")
        .output()
        .expect("running python3");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!text.contains("No module named pytest"), "pytest is needed: python3 -m pip install pytest");
    assert!(out.status.success(), "the Python client's tests failed:\n{text}");
    assert!(text.contains(" passed"), "{text}");
}

//! Replays the fuzz seeds and every crash cargo-afl found (`fuzz/seeds/<target>/`,
//! `fuzz/regressions/<target>/`) through the fuzz targets: a crash once fixed stays fixed, and
//! the seeds keep the targets themselves working.

use std::path::{Path, PathBuf};

fn corpus(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz").join(kind).join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != ".gitkeep"))
        .collect();
    files.sort();
    files
}

/// Runs every file of `kind` through each target; a panic fails the test naming the file.
fn replay(kind: &str) -> usize {
    let mut failures = Vec::new();
    let mut count = 0;
    for (target, run) in perfwatch_fuzz::TARGETS {
        for file in corpus(kind, target) {
            let data = std::fs::read(&file).unwrap();
            count += 1;
            if std::panic::catch_unwind(|| run(&data)).is_err() {
                failures.push(format!("{target}: {}", file.display()));
            }
        }
    }
    assert!(failures.is_empty(), "inputs that still crash:\n{}", failures.join("\n"));
    count
}

#[test]
fn every_seed_runs_through_its_target() {
    let n = replay("seeds");
    for (target, _) in perfwatch_fuzz::TARGETS {
        assert!(!corpus("seeds", target).is_empty(), "no seed for {target}");
    }
    assert!(n >= 4);
}

#[test]
fn every_crash_found_by_fuzzing_stays_fixed() {
    replay("regressions");
}

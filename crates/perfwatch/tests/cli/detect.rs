//! `perfwatch detect` over a real SQLite store and over a CSV file.

use std::collections::BTreeMap;

use perfwatch_model::*;

use crate::util::*;

/// 60 runs of one case whose wall time steps up 5 % at run 40 (noise ±1 %), each with its
/// own commit, written through the store API into the suite's default store.
fn store_with_step(suite: &Suite) -> Vec<String> {
    let mut store = perfwatch_store::open(&format!("sqlite://{}", suite.db().display())).unwrap();
    let mut ids = Vec::new();
    let start: jiff::Timestamp = "2026-10-01T00:00:00Z".parse().unwrap();
    // A deterministic, noisy-looking sequence (no RNG dependency in this test crate).
    let noise = |i: usize, j: usize| (((i * 7919 + j * 104_729) % 201) as f64 - 100.0) / 10_000.0;
    for i in 0..60 {
        let level = if i < 40 { 0.100 } else { 0.105 };
        let samples: Vec<f64> = (0..9).map(|j| level * (1.0 + noise(i, j))).collect();
        let wall = perfwatch_stats::summarize(&samples, &MetricInfo::new("s", Better::Lower));
        let id = format!("0190f5a2-{i:04}-7000-8000-000000000000");
        let report = RunReport {
            schema_version: 1,
            run: RunMeta {
                id: id.clone(),
                started_at: start + jiff::SignedDuration::from_hours(i as i64),
                ended_at: None,
                status: RunStatus::Complete,
                git: Some(GitInfo { commit: format!("{i:040x}"), branch: Some("main".into()), dirty: false }),
                host: perfwatch_runner::host_info(),
                labels: BTreeMap::new(),
                perfwatch_version: "test".into(),
                suite_hash: "x".into(),
            },
            benchmarks: vec![CaseReport {
                case: CaseId { name: "parse".into(), params: BTreeMap::new() },
                status: CaseStatus::Ok,
                runs: 9,
                caveats: vec![],
                metrics: [("wall".to_string(), wall)].into(),
                failure: None,
                raw: vec![],
            }],
            budgets: vec![],
        };
        store.insert_run(&report).unwrap();
        ids.push(id);
    }
    ids
}

#[test]
fn detect_names_the_run_and_commit_of_a_5_percent_step_and_alerts_once() {
    let suite = Suite::new("[[bench]]\nname = \"parse\"\ncommand = [\"true\"]\n");
    let ids = store_with_step(&suite);

    // The step is 20 runs back: outside the default --recent 5, so no alert…
    let out = suite.run(&["detect", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let doc = json(&out);
    assert_eq!(doc["series"][0]["points"], 60);
    let cps = doc["series"][0]["change_points"].as_array().unwrap();
    assert_eq!(cps.len(), 1, "{doc:#}");
    let index = cps[0]["index"].as_u64().unwrap() as usize;
    assert!((39..=41).contains(&index), "change point at {index}, expected 40 ± 1");
    assert_eq!(cps[0]["run_id"], ids[index].as_str());
    assert_eq!(cps[0]["commit"], format!("{index:040x}"));
    assert_eq!(cps[0]["kind"], "regression");
    let change = cps[0]["change"].as_f64().unwrap();
    assert!((0.03..0.07).contains(&change), "change {change}");

    // …but within --recent 25 it fails the gate, once.
    let out = suite.run(&["detect", "--recent", "25", "--format", "table"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("REGRESSION (new)"), "{}", describe(&out));
    let out = suite.run(&["detect", "--recent", "25", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "the same change point alerted twice: {}", describe(&out));
    assert_eq!(json(&out)["series"][0]["change_points"][0]["new"], false);

    // --since after the step hides it; the schema holds.
    let out = suite.run(&["detect", "--since", &ids[50], "--format", "json", "--fail-on", "never"]);
    let doc = json(&out);
    assert!(doc["series"][0]["change_points"].as_array().unwrap().is_empty(), "{doc:#}");
    assert_schema_valid(&json(&suite.run(&["detect", "--format", "json"])), "detection");
}

#[test]
fn detect_reads_a_users_csv() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.csv");
    let mut csv = String::from("date,\"latency, ms\"\n");
    for i in 0..80 {
        let v = if i < 50 { 200.0 } else { 180.0 } + ((i * 37) % 11) as f64 * 0.2;
        csv.push_str(&format!("2026-01-{:02},{v}\n", i % 28 + 1));
    }
    std::fs::write(&path, csv).unwrap();
    let bin = env!("CARGO_BIN_EXE_perfwatch");
    let out = std::process::Command::new(bin)
        .args(["detect", "--csv"])
        .arg(&path)
        .args(["--column", "latency, ms", "--label-column", "date", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "an improvement is no regression: {}", describe(&out));
    let doc = json(&out);
    let cp = &doc["series"][0]["change_points"][0];
    assert_eq!(cp["index"], 50);
    assert_eq!(cp["kind"], "improvement");
    assert_eq!(cp["label"], "2026-01-23");
    // A bad column is a clear error.
    let out = std::process::Command::new(bin)
        .args(["detect", "--csv"])
        .arg(&path)
        .args(["--column", "nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no column \"nope\""), "{}", describe(&out));
}

//! `compare` against a baseline on two runs measured one after the other (the unpaired,
//! block design): the case made twice as slow, and only that case, is flagged.
//!
//! A block design cannot tell a slower program from a machine that got slower between the
//! two runs, so the test needs a margin wider than such drift. Two runs have shown how wide:
//! in the shared `cli` binary, the team-mode load tests running beside it made the unchanged
//! `steady` case more than 5 % slower in CPU time; in CI, right after the build, it still came
//! out more than 5 % slower in a binary of its own. So the change is a doubling and the
//! threshold 25 %, and the test keeps a binary of its own (cargo runs test binaries one after
//! another, so no other test loads the machine meanwhile). Small changes on a noisy machine
//! are `ab`'s job, and its tests cover them.

#[allow(dead_code)]
#[path = "cli/util.rs"]
mod util;

use util::*;

const THREE_BENCHES: &str = r#"
[defaults]
warmup = 1
min_runs = 15
max_runs = 15
precision = "0%"
threshold = "25%"

[[bench]]
name = "steady"
command = ["{fake}", "spin", "3000000"]

[[bench]]
name = "tunable"
command = ["{fake}", "spin", "ITERS"]

[[bench]]
name = "sleepy"
command = ["{fake}", "sleep", "15"]
"#;

#[test]
fn compare_names_exactly_the_case_made_twice_as_slow() {
    let suite = Suite::new(&THREE_BENCHES.replace("ITERS", "3000000"));
    let out = suite.run(&["run"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let out = suite.run(&["baseline", "set", "main"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));

    // Same suite, one bench doing twice the work under the same name.
    suite.write(&THREE_BENCHES.replace("ITERS", "6000000"));
    let out = suite.run(&["run"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));

    let out = suite.run(&["compare", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let doc = json(&out);
    let regressed: Vec<(String, String)> = doc["comparisons"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["verdict"] == "regressed")
        .map(|c| (c["name"].as_str().unwrap().to_string(), c["metric"].as_str().unwrap().to_string()))
        .collect();
    assert!(!regressed.is_empty(), "the slowed case was not flagged");
    let ratios: Vec<String> = doc["comparisons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| format!("{}/{} {} {}", c["name"], c["metric"], c["ratio"], c["verdict"]))
        .collect();
    assert!(
        regressed.iter().all(|(name, _)| name == "tunable"),
        "only `tunable` may be flagged: {regressed:?}; all comparisons: {ratios:#?}"
    );
    // CPU time is the steadier witness on a shared machine; wall time may be noisier. The
    // machine itself can drift between the two runs (the unchanged `steady` case has come out
    // 26 % faster in the second run), so the doubling is read relative to `steady`.
    let cpu_ratio = |name: &str| {
        doc["comparisons"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name && c["metric"] == "cpu")
            .and_then(|c| c["ratio"].as_f64())
            .unwrap()
    };
    let ratio = cpu_ratio("tunable") / cpu_ratio("steady");
    // Only the direction and a clear size are asserted: two block runs on a shared machine
    // drift apart (1.55 was seen under load), and how exact the estimate is belongs to the
    // benchmarks in bench/, not to a test.
    assert!(ratio > 1.3, "cpu ratio {ratio} (relative to steady) does not show the doubling");

    // Markdown for a pull request names the case too.
    let out = suite.run(&["compare", "--format", "markdown"]);
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(md.contains("tunable") && md.contains("REGRESSED"), "{md}");

    // --fail-on never turns the gate off.
    let out = suite.run(&["compare", "--fail-on", "never"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));

    // The slower run is no better: update --if-better must refuse.
    let out = suite.run(&["baseline", "update", "main", "--if-better"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let out = suite.run(&["baseline", "show", "main", "--format", "json"]);
    let shown = json(&out);
    let history = json(&suite.run(&["history", "steady", "--format", "json"]));
    let first_run = history["series"][0]["points"][0]["run_id"].as_str().unwrap().to_string();
    assert_eq!(shown["run"]["id"].as_str().unwrap(), first_run, "update --if-better moved the baseline");
}

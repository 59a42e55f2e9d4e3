//! `[bench.gpu]` end to end, without a GPU: a fake NVML library (`fixtures/fake_nvml.c`,
//! built here with the system C compiler) answers from a state file that each benchmark
//! rewrites while it runs, so the test knows exactly what the device "did".

use std::path::PathBuf;
use std::process::Output;
use std::sync::OnceLock;

use crate::util::*;

const GIB: f64 = 1_073_741_824.0;

/// The fake `libnvidia-ml.so`, compiled once per test binary.
fn fake_nvml() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let source = repo_root().join("crates/perfwatch/tests/fixtures/fake_nvml.c");
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("libfakenvml.so");
        let status = std::process::Command::new("cc")
            .args(["-shared", "-fPIC", "-O2", "-Wall", "-Werror", "-o"])
            .arg(&out)
            .arg(&source)
            .status()
            .expect("running cc (install gcc)");
        assert!(status.success(), "building the fake NVML failed");
        out
    })
    .clone()
}

/// A benchmark that holds 1 GiB on the GPU for 0.2 s, then 3 GiB for 0.2 s (the device as a
/// whole at 4 GiB, with another process's 8 GiB that is not the run's), busy 100 % during
/// those 0.4 s, then idle for 0.2 s, drawing 100 W throughout. `$EXTRA` adds state lines;
/// `$MIDDLE` replaces the second phase.
const KERNEL: &str = r#"put() { printf "$1" "$$" > "$FAKE_NVML_STATE.tmp"; mv "$FAKE_NVML_STATE.tmp" "$FAKE_NVML_STATE"; }
put "mem_used 1073741824\nproc %s 1073741824\nproc 1 8589934592\nutil 100\npower_mw 100000\nsm_clock 1400\n$EXTRA\n"
sleep 0.2
put "${MIDDLE:-mem_used 4294967296\nproc %s 3221225472\nproc 1 8589934592\nutil 100\npower_mw 100000\nsm_clock 1400\n$EXTRA\n}"
sleep 0.2
put "mem_used 536870912\nutil 0\npower_mw 100000\nsm_clock 1400\n$EXTRA\n"
sleep 0.2
"#;

const IDLE: &str = "mem_used 536870912\nutil 0\npower_mw 100000\nsm_clock 1400\n";

/// A suite directory with the kernel script and the fake's state file.
fn gpu_suite(toml: &str) -> Suite {
    let suite = Suite::new(toml);
    std::fs::write(suite.dir.path().join("kernel.sh"), KERNEL).unwrap();
    std::fs::write(suite.dir.path().join("state"), IDLE).unwrap();
    suite
}

/// `perfwatch ARGS` with the fake NVML loaded.
fn run_with_fake(suite: &Suite, args: &[&str]) -> Output {
    suite
        .cmd(args)
        .env("PERFWATCH_NVML_LIBRARY", fake_nvml())
        .env("FAKE_NVML_STATE", suite.dir.path().join("state"))
        .output()
        .unwrap()
}

fn case<'a>(doc: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    doc["benchmarks"].as_array().unwrap().iter().find(|b| b["name"] == name).unwrap()
}

fn caveat_kinds(case: &serde_json::Value) -> Vec<String> {
    case["caveats"].as_array().unwrap().iter().map(|c| c["kind"].as_str().unwrap().to_string()).collect()
}

#[test]
fn peak_memory_utilisation_and_energy_come_from_the_samples() {
    let suite = gpu_suite(
        r#"
[defaults]
warmup = 0
min_runs = 3
max_runs = 3
[[bench]]
name = "kernel"
shell = "sh kernel.sh"
gpu = { enabled = "required" }
[[bench]]
name = "no_counter"
shell = "sh kernel.sh"
env = { EXTRA = "no_energy 1" }
[bench.gpu]
enabled = "required"
interval = "5ms"
"#,
    );
    let out = run_with_fake(&suite, &["run", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let doc = json(&out);
    assert_schema_valid(&doc, "run");
    assert_eq!(doc["run"]["host"]["gpu"], "Fake GPU 3000 (driver 999.1-fake)");
    for name in ["kernel", "no_counter"] {
        let c = case(&doc, name);
        let m = &c["metrics"];
        // Only the run's own process counts (the 8 GiB of pid 1 does not), at its peak.
        assert_eq!(m["gpu_mem_peak"]["median"].as_f64().unwrap(), 3.0 * GIB, "{name}");
        assert_eq!(m["gpu_mem_device_peak"]["median"].as_f64().unwrap(), 4.0 * GIB, "{name}");
        assert_eq!(m["gpu_mem_peak"]["unit"], "bytes");
        assert_eq!(m["gpu_sm_clock"]["median"].as_f64().unwrap().round(), 1400.0);
        for sample in c["raw"].as_array().unwrap() {
            let (wall, gpu) = (sample["wall"].as_f64().unwrap(), &sample["metrics"]);
            // Busy for 0.4 s of a ~0.6 s run: the time-weighted mean is about 2/3 (start-up
            // and the step between samples move it a little).
            let util = gpu["gpu_util"].as_f64().unwrap();
            assert!((0.55..=0.72).contains(&util), "{name}: utilisation {util} over {wall} s");
            // 100 W over the sampled window, which is the run plus a few milliseconds:
            // from the energy counter for `kernel`, from power × time for `no_counter`.
            let watts = gpu["gpu_energy"].as_f64().unwrap() / wall;
            assert!((95.0..=105.0).contains(&watts), "{name}: {watts} W over {wall} s");
        }
        assert!(!caveat_kinds(c).iter().any(|k| k.starts_with("gpu") || k == "no_gpu"), "{c}");
    }
    // Saved with the run, host description included.
    let id = doc["run"]["id"].as_str().unwrap();
    let shown = json(&suite.run(&["show", id, "--format", "json"]));
    assert_eq!(shown["run"]["host"]["gpu"], "Fake GPU 3000 (driver 999.1-fake)");
    assert_eq!(case(&shown, "kernel")["metrics"]["gpu_mem_peak"]["median"].as_f64(), Some(3.0 * GIB));
}

#[test]
fn an_nvml_error_mid_run_is_a_caveat_and_the_run_is_kept() {
    let suite = gpu_suite(
        r#"
[defaults]
warmup = 0
min_runs = 2
max_runs = 2
[[bench]]
name = "lost"
shell = "sh kernel.sh"
env = { MIDDLE = "fail 15\n" }
gpu = { enabled = "required" }
"#,
    );
    let out = run_with_fake(&suite, &["run", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let doc = json(&out);
    let c = case(&doc, "lost");
    assert_eq!(c["status"], "ok");
    assert_eq!(c["runs"], 2);
    // The samples before and after the failure still count: 1 GiB was the peak seen.
    assert_eq!(c["metrics"]["gpu_mem_peak"]["median"].as_f64(), Some(GIB));
    let failed = c["caveats"].as_array().unwrap().iter().find(|v| v["kind"] == "gpu_sampling_failed");
    let failed = failed.unwrap_or_else(|| panic!("no gpu_sampling_failed caveat: {c}"));
    assert!(failed["errors"].as_u64().unwrap() >= 2, "{failed}");
    assert!(failed["message"].as_str().unwrap().starts_with("reading memory"), "{failed}");
    let table = run_with_fake(&suite, &["run", "--format", "table", "--no-save"]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("lost: reading the GPU failed"), "{text}");
}

#[test]
fn a_throttling_gpu_is_named_and_idle_reasons_are_not() {
    let suite = gpu_suite(
        r#"
[defaults]
warmup = 0
min_runs = 1
max_runs = 1
[[bench]]
name = "hot"
shell = "sh kernel.sh"
env = { EXTRA = "throttle 0x45" }
gpu = { enabled = "auto" }
"#,
    );
    let out = run_with_fake(&suite, &["run", "--format", "json", "--no-save"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let c = case(&json(&out), "hot").clone();
    let throttled = c["caveats"].as_array().unwrap().iter().find(|v| v["kind"] == "gpu_throttled").cloned();
    // 0x45 = idle (0x1, not a slowdown) + software power cap (0x4) + hardware thermal (0x40);
    // named in sorted order.
    assert_eq!(
        throttled.map(|t| t["reasons"].clone()),
        Some(serde_json::json!(["hw_thermal_slowdown", "sw_power_cap"])),
        "{c}"
    );
}

#[test]
fn without_a_gpu_auto_measures_with_one_note_and_required_exits_2() {
    let toml = |mode: &str| {
        format!(
            r#"
[defaults]
warmup = 0
min_runs = 2
max_runs = 2
[[bench]]
name = "a"
command = ["{{fake}}", "sleep", "1"]
gpu = {{ enabled = "{mode}" }}
[[bench]]
name = "b"
command = ["{{fake}}", "sleep", "1"]
gpu = {{ enabled = "auto" }}
[[bench]]
name = "cpu_only"
command = ["{{fake}}", "sleep", "1"]
"#
        )
    };
    let suite = Suite::new(&toml("auto"));
    let missing = suite.dir.path().join("no-such-dir/libnvidia-ml.so.1");
    let out =
        suite.cmd(&["run", "--format", "table"]).env("PERFWATCH_NVML_LIBRARY", &missing).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let notes: Vec<&str> = text.lines().filter(|l| l.contains("no GPU metrics")).collect();
    assert_eq!(notes.len(), 1, "one note for the whole run: {text}");
    assert!(
        notes[0].contains("GPU benches: no GPU metrics: cannot load the NVIDIA management library"),
        "{text}"
    );
    assert!(notes[0].contains("no-such-dir/libnvidia-ml.so.1"), "{text}");
    let runs = json(&suite.run(&["runs", "--format", "json"]));
    let id = runs["runs"][0]["id"].as_str().unwrap_or_else(|| panic!("{runs}"));
    let shown = json(&suite.run(&["show", id, "--format", "json"]));
    assert!(shown["run"]["host"]["gpu"].as_str().unwrap().starts_with("no GPU: cannot load"), "{shown}");
    assert!(caveat_kinds(case(&shown, "a")).contains(&"no_gpu".to_string()));
    assert!(!caveat_kinds(case(&shown, "cpu_only")).contains(&"no_gpu".to_string()));

    // A driver that is installed but not loaded says so.
    let fake = gpu_suite(&toml("auto"));
    std::fs::write(fake.dir.path().join("state"), "init_error 9\n").unwrap();
    let out = run_with_fake(&fake, &["run", "--format", "table", "--no-save"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no GPU metrics: the NVIDIA driver is not loaded"));

    // `required`: exit 2 before anything is measured or stored, naming the bench and the fix.
    suite.write(&toml("required"));
    let before = runs["runs"].as_array().unwrap().len();
    let out = suite.cmd(&["run"]).env("PERFWATCH_NVML_LIBRARY", &missing).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("`a` requires a GPU"), "{stderr}");
    assert!(stderr.contains("PERFWATCH_NVML_LIBRARY"), "{stderr}");
    let after = json(&suite.run(&["runs", "--format", "json"]));
    assert_eq!(after["runs"].as_array().unwrap().len(), before, "a run was recorded: {after}");
}

#[test]
fn bad_gpu_settings_are_located_errors() {
    let suite = Suite::new(
        r#"
[[bench]]
name = "a"
command = ["true"]
gpu = { enabled = "sometimes", interval = "0.5ms", device = 1 }
"#,
    );
    let out = suite.run(&["check"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for expected in ["`enabled` must be \"auto\"", "unknown mode", "at least 1ms", "unknown key `device`"] {
        assert!(stderr.contains(expected), "missing {expected:?} in {stderr}");
    }
    assert!(stderr.contains("perfwatch.toml:5:"), "not located: {stderr}");
}

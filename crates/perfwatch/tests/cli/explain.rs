//! `perfwatch explain` end to end on real scratch git repositories: a C, a Rust and a Python
//! program with three functions, where the head commit makes one of them 3× slower. Each is
//! built and profiled for real (callgrind, py-spy — `.ci/run` installs both) and the slowed
//! function must come first with at least 80 % of the change.

use std::path::Path;
use std::process::Output;

use crate::util::*;

/// `main` runs three functions of equal work; `BETA` multiplies the work of `beta`.
const C_PROGRAM: &str = r#"
static volatile unsigned long sink;
#define BETA 1
__attribute__((noinline)) void alpha(void) { for (int i = 0; i < 300000; i++) sink += i; }
__attribute__((noinline)) void beta(void) { for (int i = 0; i < 300000 * BETA; i++) sink ^= i * 3; }
__attribute__((noinline)) void gamma_(void) { for (int i = 0; i < 300000; i++) sink += i >> 1; }
int main(void) { alpha(); beta(); gamma_(); return 0; }
"#;

const RUST_PROGRAM: &str = r#"
use std::hint::black_box;
const BETA: u64 = 1;
#[inline(never)]
fn alpha(n: u64) -> u64 { (0..n).fold(0, |s, i| black_box(s + i)) }
#[inline(never)]
fn beta(n: u64) -> u64 { (0..n * BETA).fold(0, |s, i| black_box(s ^ (i * 3))) }
#[inline(never)]
fn gamma(n: u64) -> u64 { (0..n).fold(0, |s, i| black_box(s + (i >> 1))) }
fn main() { let n = black_box(300_000); println!("{}", alpha(n) + beta(n) + gamma(n)); }
"#;

const PYTHON_PROGRAM: &str = r#"
BETA = 1

def alpha():
    s = 0
    for i in range(1000000):
        s += i
    return s

def beta():
    s = 0
    for i in range(1000000 * BETA):
        s ^= i * 3
    return s

def gamma():
    s = 0
    for i in range(1000000):
        s += i >> 1
    return s

alpha(); beta(); gamma()
"#;

/// A repository of two commits: `file` holding `source`, then the same with `BETA` set to 3.
/// Returns the suite (its directory is the repository).
fn two_versions(suite_toml: &str, file: &str, source: &str, beta: (&str, &str)) -> Suite {
    let suite = Suite::new(suite_toml);
    let dir = suite.dir.path();
    git(dir, &["init", "-q", "-b", "main"]);
    std::fs::write(dir.join(".gitignore"), ".perfwatch/\nout/\nprog\n").unwrap();
    std::fs::write(dir.join(file), source).unwrap();
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "base"]);
    assert!(source.contains(beta.0), "{file} has no {}", beta.0);
    std::fs::write(dir.join(file), source.replace(beta.0, beta.1)).unwrap();
    git(dir, &["commit", "-q", "-am", "beta 3x"]);
    suite
}

fn explain(suite: &Suite, extra: &[&str]) -> (Output, serde_json::Value) {
    let mut args = vec!["explain", "prog", "--base", "HEAD~1", "--head", "HEAD", "--format", "json"];
    args.extend_from_slice(extra);
    let out = suite.run(&args);
    assert!(out.status.success(), "{}", describe(&out));
    let doc = json(&out);
    assert_schema_valid(&doc, "explain");
    (out, doc)
}

/// The first ranked function: its name, share of the change and self-cost ratio head/base.
fn first(doc: &serde_json::Value) -> (String, f64, f64) {
    let f = &doc["functions"][0];
    let ratio = f["self_head"].as_f64().unwrap() / f["self_base"].as_f64().unwrap();
    (f["function"].as_str().unwrap().to_string(), f["self_share"].as_f64().unwrap(), ratio)
}

/// The RGB fill of the first frame whose tooltip starts with `name`.
fn fill_of(svg: &str, name: &str) -> (u8, u8, u8) {
    let at = svg.find(&format!("<title>{name} (")).unwrap_or_else(|| panic!("no frame {name} in the graph"));
    let rest = &svg[at..];
    let fill = &rest[rest.find("fill=\"rgb(").unwrap() + 10..];
    let v: Vec<u8> = fill[..fill.find(')').unwrap()].split(',').map(|p| p.trim().parse().unwrap()).collect();
    (v[0], v[1], v[2])
}

#[test]
fn explain_ranks_the_c_function_made_three_times_slower_first_and_draws_it_red() {
    let suite = two_versions(
        "[build]\nshell = \"cc -O1 -g -o prog prog.c\"\n[[bench]]\nname = \"prog\"\ncommand = [\"./prog\"]\n",
        "prog.c",
        C_PROGRAM,
        ("#define BETA 1", "#define BETA 3"),
    );
    let (_, doc) = explain(&suite, &["--html", "out"]);
    assert_eq!(
        (doc["profiler"].as_str(), doc["unit"].as_str(), doc["rounds"].as_u64()),
        (Some("callgrind"), Some("instructions"), Some(1))
    );
    let (name, share, ratio) = first(&doc);
    assert_eq!(name, "beta", "{doc:#}");
    assert!(share >= 0.8, "beta has {share} of the change: {doc:#}");
    assert!((2.9..3.1).contains(&ratio), "beta's instructions grew {ratio}×");
    let (base, head) = (doc["base"]["total"].as_u64().unwrap(), doc["head"]["total"].as_u64().unwrap());
    assert_eq!(doc["total_delta"].as_i64().unwrap(), head as i64 - base as i64);
    assert_eq!(doc["base"]["commit"].as_str().unwrap(), git(suite.dir.path(), &["rev-parse", "HEAD~1"]));

    let out = suite.dir.path().join("out");
    let diff = std::fs::read_to_string(out.join("diff.svg")).unwrap();
    let (r, g, b) = fill_of(&diff, "beta");
    assert!(r > g && r > b, "the slower frame is red: rgb({r},{g},{b})");
    for file in ["base.svg", "head.svg", "base.folded", "head.folded"] {
        assert!(out.join(file).metadata().unwrap().len() > 0, "{file} is empty");
    }
    let page = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(page.contains("data=\"diff.svg\"") && page.contains("<code>beta</code>"), "{page}");
    for text in [&diff, &page] {
        assert!(!text.contains("src=\"http") && !text.contains("href=\"http"), "an outside reference");
    }
}

#[test]
fn explain_finds_a_rust_function_by_its_debuginfo_name() {
    let suite = two_versions(
        "[build]\nshell = \"rustc -g -O -o prog main.rs\"\n[[bench]]\nname = \"prog\"\ncommand = [\"./prog\"]\n",
        "main.rs",
        RUST_PROGRAM,
        ("const BETA: u64 = 1;", "const BETA: u64 = 3;"),
    );
    let (_, doc) = explain(&suite, &[]);
    let (name, share, ratio) = first(&doc);
    assert!(name.ends_with("::beta"), "{name} is not beta: {doc:#}");
    assert!(share >= 0.8, "{name} has {share} of the change: {doc:#}");
    assert!((2.9..3.1).contains(&ratio), "beta's instructions grew {ratio}×");
}

#[test]
fn explain_names_python_functions_through_py_spy() {
    let suite = two_versions(
        "[[bench]]\nname = \"prog\"\ncommand = [\"python3\", \"app.py\"]\n",
        "app.py",
        PYTHON_PROGRAM,
        ("BETA = 1", "BETA = 3"),
    );
    let (_, doc) = explain(&suite, &[]);
    assert_eq!(
        (doc["profiler"].as_str(), doc["unit"].as_str(), doc["rounds"].as_u64()),
        (Some("py-spy"), Some("cpu_us"), Some(3))
    );
    let (name, share, ratio) = first(&doc);
    assert_eq!(name, "beta (app.py)", "{doc:#}");
    assert!(share >= 0.8, "beta has {share} of the change: {doc:#}");
    // Sampled shares of measured CPU time, so only roughly 3×.
    assert!((1.5..5.0).contains(&ratio), "beta's samples grew {ratio}×: {doc:#}");
}

/// The suite of the stored-profile test: runs keep callgrind's profile.
const STORED: &str = "[defaults]\nwarmup = 0\nmin_runs = 2\nmax_runs = 2\n\
    [[bench]]\nname = \"prog\"\ncommand = [\"./prog\"]\n[bench.instr]\ntool = \"callgrind\"\n";

fn compile(dir: &Path, source: &str) {
    std::fs::write(dir.join("prog.c"), source).unwrap();
    let out = std::process::Command::new("cc")
        .args(["-O1", "-g", "-o", "prog", "prog.c"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
}

fn run_id(suite: &Suite) -> String {
    let out = suite.run(&["run", "--format", "json"]);
    assert!(out.status.success(), "{}", describe(&out));
    json(&out)["run"]["id"].as_str().unwrap().to_string()
}

#[test]
fn explain_diffs_two_stored_runs_without_building_anything() {
    let suite = Suite::new(STORED);
    let dir = suite.dir.path();
    compile(dir, C_PROGRAM);
    let before = run_id(&suite);
    compile(dir, &C_PROGRAM.replace("#define BETA 1", "#define BETA 3"));
    let after = run_id(&suite);
    // No git repository and no build: both profiles come from the store.
    std::fs::remove_file(dir.join("prog")).unwrap();
    let out = suite.run(&[
        "explain",
        "prog",
        "--base",
        &before[..13],
        "--head",
        &format!("run:{after}"),
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", describe(&out));
    let doc = json(&out);
    assert_eq!(doc["base"]["run_id"].as_str(), Some(before.as_str()));
    assert_eq!(doc["head"]["run_id"].as_str(), Some(after.as_str()));
    let (name, share, ratio) = first(&doc);
    assert_eq!(name, "beta", "{doc:#}");
    assert!(share >= 0.8 && (2.9..3.1).contains(&ratio), "{doc:#}");

    // A profiler other than the stored one is refused, and so is an unknown case.
    let out = suite.run(&["explain", "prog", "--base", &before, "--head", &after, "--profiler", "py-spy"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("profiled with callgrind"), "{}", describe(&out));
    let out = suite.run(&["explain", "nope", "--base", &before, "--head", &after]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no case `nope`"), "{}", describe(&out));
}

#[test]
fn explain_refuses_what_it_cannot_name() {
    let suite = two_versions(
        "[build]\nshell = \"cc -O1 -g -o prog prog.c\"\n[[bench]]\nname = \"prog\"\ncommand = [\"./prog\"]\n",
        "prog.c",
        C_PROGRAM,
        ("#define BETA 1", "#define BETA 3"),
    );
    let out = suite.run(&["explain", "prog", "--base", "no-such-rev"]);
    assert!(!out.status.success(), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("`no-such-rev` is neither a commit nor a stored run"),
        "{}",
        describe(&out)
    );
    let out = suite.run(&["explain", "prog", "--base", "run:0190"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let out = suite.run(&["explain", "prog", "--base", "HEAD~1", "--top", "0"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    // The work tree is the default head: unchanged from HEAD, nothing to explain but noise.
    let out = suite.run(&["explain", "prog", "--base", "HEAD", "--format", "json"]);
    assert!(out.status.success(), "{}", describe(&out));
    let doc = json(&out);
    assert_eq!(doc["head"]["label"].as_str(), Some("work tree"));
    let (b, h) = (doc["base"]["total"].as_f64().unwrap(), doc["head"]["total"].as_f64().unwrap());
    assert!((h / b - 1.0).abs() < 0.001, "the same program counted {b} and {h}");
}

/// `--profiler perf` end to end where the kernel lets perf sample this process (skipped,
/// saying why, where it does not: no perf, or perf_event_open refused). Samples of CPU time
/// move with a busy neighbour, so this checks the path (perf record → perf script → folded
/// stacks with the program's own function names), not the ranking.
#[test]
fn explain_with_perf_folds_the_samples_of_the_program() {
    let probe_dir = tempfile::tempdir().unwrap();
    let probe = std::process::Command::new("perf")
        .args(["record", "-q", "-o"])
        .arg(probe_dir.path().join("probe.data"))
        .args(["--", "true"])
        .output();
    match probe {
        Ok(out) if out.status.success() => {}
        Ok(out) => return eprintln!("skipped: perf cannot sample here: {}", describe(&out)),
        Err(e) => return eprintln!("skipped: no perf ({e})"),
    }
    let slow = C_PROGRAM.replace("300000", "30000000");
    let suite = two_versions(
        "[build]\nshell = \"cc -O1 -g -o prog prog.c\"\n[[bench]]\nname = \"prog\"\ncommand = [\"./prog\"]\n",
        "prog.c",
        &slow,
        ("#define BETA 1", "#define BETA 3"),
    );
    let (_, doc) = explain(&suite, &["--profiler", "perf", "--top", "50", "--rounds", "1"]);
    assert_eq!((doc["profiler"].as_str(), doc["unit"].as_str()), (Some("perf"), Some("samples")));
    let names: Vec<&str> =
        doc["functions"].as_array().unwrap().iter().filter_map(|f| f["function"].as_str()).collect();
    assert!(names.contains(&"beta"), "beta is among the sampled functions: {names:?}");
    assert!(doc["head"]["total"].as_u64().unwrap() > 0 && doc["base"]["total"].as_u64().unwrap() > 0);
}

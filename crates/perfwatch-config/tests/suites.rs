//! Valid suite files: the design's example, the starter suite, and the details of expansion.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use perfwatch_config::{ConfigErrorKind, STARTER_SUITE, load, parse};
use perfwatch_model::{Better, BudgetOp, BudgetStat, CommandSpec, RunSettings};

const DESIGN_EXAMPLE: &str = r#"
[defaults]
warmup = 1            # unmeasured runs per case
min_runs = 5
max_runs = 200
max_time = "10s"      # measuring time per case
precision = "1%"      # stop early once the 95% CI of the median wall time is within ±1%
timeout = "60s"       # per run: the whole process group is killed, the run recorded as failed
threshold = "2%"      # smallest change that counts as a regression or an improvement

[[bench]]
name = "sort"
command = ["python3", "sort.py", "--n", "{n}"]   # argv: run directly, no shell
params = { n = [1000, 100000] }                  # cartesian product over all keys
setup = "python3 make_data.py {n}"               # once per case, not measured (strings run via sh -c)
prepare = "sync"                                 # before every run, not measured
cleanup = "rm -f data.bin"                       # once per case, after its runs
cwd = "bench"
env = { PYTHONHASHSEED = "0" }
throughput = "{n}"                               # items per run -> metric `throughput`
threshold = { wall = "5%", max_rss = "10%" }     # per-metric overrides
budgets = ["wall.p95 < 500ms", "max_rss.max < 200MB"]

[[bench]]
name = "import"
shell = "python3 -c 'import json'"               # explicitly through sh -c
"#;

#[test]
fn design_example_expands() {
    let plan = parse(DESIGN_EXAMPLE, Path::new("/repo/perfwatch.toml")).unwrap();
    assert_eq!(plan.suite_path, PathBuf::from("/repo/perfwatch.toml"));
    assert_eq!(plan.suite_hash.len(), 16);
    assert_eq!(plan.build, None);
    let names: Vec<String> = plan.cases.iter().map(|c| c.id.to_string()).collect();
    assert_eq!(names, ["sort[n=1000]", "sort[n=100000]", "import"]);

    let sort = &plan.cases[1];
    assert_eq!(
        sort.command,
        CommandSpec::Argv(vec!["python3".into(), "sort.py".into(), "--n".into(), "100000".into()])
    );
    assert_eq!(sort.setup.as_deref(), Some("python3 make_data.py 100000"));
    assert_eq!(sort.prepare.as_deref(), Some("sync"));
    assert_eq!(sort.cleanup.as_deref(), Some("rm -f data.bin"));
    assert_eq!(sort.cwd, PathBuf::from("/repo/bench"));
    assert_eq!(sort.env, BTreeMap::from([("PYTHONHASHSEED".to_string(), "0".to_string())]));
    assert_eq!(sort.settings, RunSettings::default());
    assert_eq!(sort.throughput, Some(100000.0));
    assert_eq!(sort.threshold_for("wall"), 0.05);
    assert_eq!(sort.threshold_for("max_rss"), 0.1);
    assert_eq!(sort.threshold_for("user"), 0.02);
    assert_eq!(sort.budgets.len(), 2);
    assert_eq!(sort.budgets[0].metric, "wall");
    assert_eq!(sort.budgets[0].stat, BudgetStat::P95);
    assert_eq!(sort.budgets[0].op, BudgetOp::Lt);
    assert_eq!(sort.budgets[0].value, 0.5);
    assert_eq!(sort.budgets[1].value, 200e6);

    let import = &plan.cases[2];
    assert_eq!(import.command, CommandSpec::Shell("python3 -c 'import json'".into()));
    assert_eq!(import.cwd, PathBuf::from("/repo"));
    assert!(import.id.params.is_empty());
    assert!(import.thresholds.is_empty());
}

#[test]
fn starter_suite_loads() {
    let dir = std::env::temp_dir().join(format!("perfwatch-config-starter-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("perfwatch.toml");
    std::fs::write(&path, STARTER_SUITE).unwrap();
    let plan = load(&path);
    std::fs::remove_dir_all(&dir).unwrap();
    let plan = plan.unwrap_or_else(|e| panic!("{}", e.plain_report()));
    let names: Vec<String> = plan.cases.iter().map(|c| c.id.to_string()).collect();
    assert_eq!(names, ["sort[n=10000]", "sort[n=100000]", "gzip[level=1]", "gzip[level=9]", "shell-startup"]);
    assert!(
        plan.cases[0].setup.as_deref().unwrap().starts_with("awk 'BEGIN { srand(1); for (i = 0; i < 10000;")
    );
    assert_eq!(plan.cases[2].command, CommandSpec::Shell("gzip -1 -c words.txt > /dev/null".into()));
    assert_eq!(plan.cases[2].settings.warmup, 2);
    assert_eq!(plan.cases[4].metrics["answer"].better, Better::Higher);
    assert_eq!(plan.cases[4].settings.threshold, 0.05);
    for case in &plan.cases {
        assert_eq!(case.cwd, dir);
    }
    // Every program the starter suite runs exists on a POSIX system.
    for case in &plan.cases {
        let program = &case.command.to_argv()[0];
        assert!(["sort", "sh"].contains(&program.as_str()), "{program}");
    }
}

#[test]
fn settings_override_defaults_and_parse_units() {
    let plan = parse(
        r#"
[defaults]
warmup = 0
max_time = "1.5s"
timeout = "2m"
precision = 0
threshold = { wall = "3%" }

[[bench]]
name = "a"
command = ["true"]
min_runs = 2
max_runs = 3
timeout = "250ms"
precision = 0.05

[[bench]]
name = "b"
command = ["true"]
threshold = "10%"
"#,
        Path::new("/x/perfwatch.toml"),
    )
    .unwrap();
    let a = &plan.cases[0];
    assert_eq!(a.settings.warmup, 0);
    assert_eq!(a.settings.min_runs, 2);
    assert_eq!(a.settings.max_runs, 3);
    assert_eq!(a.settings.max_time, Duration::from_millis(1500));
    assert_eq!(a.settings.timeout, Duration::from_millis(250));
    assert_eq!(a.settings.precision, 0.05);
    assert_eq!(a.threshold_for("wall"), 0.03);
    let b = &plan.cases[1];
    assert_eq!(b.settings.timeout, Duration::from_secs(120));
    assert_eq!(b.settings.precision, 0.0);
    // A bench's single threshold replaces the per-metric defaults.
    assert_eq!(b.threshold_for("wall"), 0.1);
}

#[test]
fn params_of_every_type_and_product_order() {
    let plan = parse(
        r#"
[[bench]]
name = "m"
command = ["run", "{z}", "{a}", "{flag}", "{{literal}}"]
params = { z = [1, 0x10], a = ["x", 2.5], flag = [true] }
env = { N = "{z}" }
cwd = "dir-{a}"
"#,
        Path::new("/s/perfwatch.toml"),
    )
    .unwrap();
    let names: Vec<String> = plan.cases.iter().map(|c| c.id.to_string()).collect();
    // z is declared first, so it varies slowest.
    assert_eq!(
        names,
        [
            "m[a=x,flag=true,z=1]",
            "m[a=2.5,flag=true,z=1]",
            "m[a=x,flag=true,z=16]",
            "m[a=2.5,flag=true,z=16]"
        ]
    );
    assert_eq!(plan.cases[3].command.to_argv(), ["run", "16", "2.5", "true", "{literal}"]);
    assert_eq!(plan.cases[3].env["N"], "16");
    assert_eq!(plan.cases[3].cwd, PathBuf::from("/s/dir-2.5"));
}

#[test]
fn build_section_and_absolute_cwd() {
    let plan = parse(
        "[build]\nshell = \"make -j4\"\n\n[[bench]]\nname = \"t\"\ncommand = [\"true\"]\ncwd = \"/tmp\"\n",
        Path::new("relative/perfwatch.toml"),
    )
    .unwrap();
    assert_eq!(plan.build, Some(CommandSpec::Shell("make -j4".into())));
    assert_eq!(plan.cases[0].cwd, PathBuf::from("/tmp"));
    assert!(plan.suite_path.is_absolute());
    assert!(plan.suite_path.ends_with("relative/perfwatch.toml"));
}

#[test]
fn suite_hash_is_stable_and_content_based() {
    let src = "[[bench]]\nname = \"t\"\ncommand = [\"true\"]\n";
    let a = parse(src, Path::new("/a/perfwatch.toml")).unwrap();
    let b = parse(src, Path::new("/b/other.toml")).unwrap();
    assert_eq!(a.suite_hash, b.suite_hash);
    let c = parse(&format!("{src}# comment\n"), Path::new("/a/perfwatch.toml")).unwrap();
    assert_ne!(a.suite_hash, c.suite_hash);
}

#[test]
fn missing_file_is_an_io_error() {
    let err = load(Path::new("/nonexistent/perfwatch.toml")).unwrap_err();
    assert_eq!(err.kind(), ConfigErrorKind::Io);
    assert!(err.to_string().starts_with("/nonexistent/perfwatch.toml: cannot read the suite file"));
}

#[test]
fn parameter_values_enter_shell_strings_as_single_words() {
    let src = r#"
[[bench]]
name = "echo"
shell = "echo {msg} > out.txt"
setup = "mkdir -p {msg}"
command_key_unused = 0
params = { msg = ["plain-1", "two words", "it's; rm -rf x"] }
"#
    .replace("command_key_unused = 0\n", "");
    let plan = parse(&src, Path::new("/s/perfwatch.toml")).unwrap();
    let shells: Vec<(String, Option<String>)> = plan
        .cases
        .iter()
        .map(|c| match &c.command {
            CommandSpec::Shell(s) => (s.clone(), c.setup.clone()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        shells,
        [
            ("echo plain-1 > out.txt".to_string(), Some("mkdir -p plain-1".to_string())),
            ("echo 'two words' > out.txt".to_string(), Some("mkdir -p 'two words'".to_string())),
            (
                r"echo 'it'\''s; rm -rf x' > out.txt".to_string(),
                Some(r"mkdir -p 'it'\''s; rm -rf x'".to_string())
            ),
        ]
    );
    // The case names keep the values as written.
    assert_eq!(plan.cases[2].id.params["msg"], "it's; rm -rf x");
}

#[test]
fn a_file_that_is_not_utf8_is_located() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("perfwatch.toml");
    // "café" in Latin-1 on line 2: the é (0xE9) is the 17th character.
    std::fs::write(&path, b"[defaults]\nwarmup = 1 # caf\xe9\n").unwrap();
    let err = load(&path).unwrap_err();
    assert_eq!(err.kind(), ConfigErrorKind::Io);
    let text = err.to_string();
    assert!(text.contains("line 2, column 17 (byte 27) is not UTF-8"), "{text}");
}

#[test]
fn several_errors_are_reported_together() {
    let err = parse(
        "[[bench]]\nname = \"a\"\ncomand = [\"x\"]\n\n[[bench]]\nname = \"b\"\ncommand = []\nwarmup = -2\n",
        Path::new("p.toml"),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ConfigErrorKind::Invalid);
    let lines: Vec<String> = err.problems().iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "p.toml:3:1: unknown key `comand` in [[bench]]",
            "p.toml:7:11: `command` is empty",
            "p.toml:8:10: `warmup` must be zero or more, found -2",
        ]
    );
    assert!(err.to_string().ends_with("(and 2 more errors)"));
}

/// Issue 19, item 5: 40,000 unknown keys took 28 s and printed 15 MB (each problem was
/// located by scanning the file from its start). Only the first ones are located and shown.
#[test]
fn tens_of_thousands_of_errors_are_capped_and_counted() {
    let mut suite = String::from("[[bench]]\nname = \"a\"\ncommand = [\"true\"]\n");
    for i in 0..40_000 {
        suite.push_str(&format!("unknown_{i} = 1\n"));
    }
    let err = parse(&suite, Path::new("p.toml")).unwrap_err();
    assert_eq!(err.problems().len(), perfwatch_config::SHOWN_PROBLEMS);
    assert_eq!(err.omitted(), 40_000 - perfwatch_config::SHOWN_PROBLEMS);
    assert_eq!(err.problems()[0].to_string(), "p.toml:4:1: unknown key `unknown_0` in [[bench]]");
    assert_eq!(err.problems()[19].to_string(), "p.toml:23:1: unknown key `unknown_19` in [[bench]]");
    assert!(err.to_string().ends_with("(and 39999 more errors)"), "{err}");
    let plain = err.plain_report();
    assert!(plain.ends_with("… and 39980 more errors, not shown\n"), "{plain}");
    assert_eq!(plain.lines().filter(|l| l.starts_with("p.toml:")).count(), 20, "{plain}");
}

#[test]
fn garbage_never_panics() {
    let inputs = [
        "",
        "\u{feff}",
        "[[bench]]",
        "bench = 3",
        "bench = [1, 2]",
        "[[bench]]\nname = \"\u{0}\"",
        "[[bench]]\nparams = { \"\" = [1] }",
        "[[bench]]\nshell = \"{\"",
        "[[bench]]\nshell = \"}\"",
        "[[bench]]\nname=\"x\"\nshell=\"{}\"",
        "[defaults]\nmax_time = \"99999999999999999999d\"",
        "[[bench]]\nname = \"x\"\nshell = \"y\"\nparams = { a = [1,2,3,4,5,6,7,8,9,10], b = [1,2,3,4,5,6,7,8,9,10], c = [1,2,3,4,5,6,7,8,9,10], d = [1,2,3,4,5,6,7,8,9,10,11] }",
        "[[bench]]\nname = \"x\"\nshell = \"y\"\nbudgets = [\"é.p95 < 3\", \"wall.p95 < µ\", 3]",
        "[[bench]]\nname = \"x\"\nshell = \"y\"\nthroughput = -1",
        "[[bench]]\nname = \"x\"\nshell = \"y\"\nmin_runs = 99999999999999999999",
    ];
    for input in inputs {
        assert!(parse(input, Path::new("g.toml")).is_err(), "{input:?} should be rejected");
    }
}

#[test]
fn empty_bench_array_is_no_benchmarks() {
    let err = parse("bench = []\n", Path::new("e.toml")).unwrap_err();
    assert_eq!(err.problems().len(), 1);
    assert_eq!(err.problems()[0].message(), "the suite declares no benchmarks");
    // A malformed `bench` is reported once, not also as "no benchmarks".
    let err = parse("bench = 3\n", Path::new("e.toml")).unwrap_err();
    assert_eq!(err.problems().len(), 1);
}

#[test]
fn placeholder_near_miss_and_value_checks() {
    let err = parse(
        "[[bench]]\nname = \"x\"\nshell = \"run {nn}\"\nparams = { n = [1, 2, 1], s = [\"a,b\"] }\n",
        Path::new("p.toml"),
    )
    .unwrap_err();
    let found: Vec<(String, Option<&str>)> =
        err.problems().iter().map(|p| (p.to_string(), p.help())).collect();
    assert_eq!(found[0].0, "p.toml:3:14: unknown placeholder `{nn}` in `shell`");
    assert!(found[0].1.unwrap().starts_with("did you mean `{n}`?"), "{found:?}");
    assert_eq!(found[1].0, "p.toml:4:23: parameter `n` lists the value `1` twice");
    assert_eq!(found[2].0, "p.toml:4:32: the value `a,b` of parameter `s` cannot be used in a case name");
    assert_eq!(found.len(), 3);
}

#[test]
fn inline_bench_tables_and_metrics() {
    let plan = parse(
        r#"bench = [{ name = "a", shell = "true", metrics = { hits = { unit = "ratio", better = "higher" } }, budgets = ["hits.median >= 0.8"] }]"#,
        Path::new("/i/perfwatch.toml"),
    )
    .unwrap();
    let case = &plan.cases[0];
    assert_eq!(case.metrics["hits"].unit, "ratio");
    assert_eq!(case.budgets[0].metric, "hits");
    assert_eq!(case.budgets[0].value, 0.8);
}

/// Runs the starter suite's smallest `sort` case by hand (setup, command, cleanup) so its
/// awk script and brace escapes are known to work, not only to parse.
#[test]
fn starter_suite_commands_run() {
    let dir = std::env::temp_dir().join(format!("perfwatch-config-starter-run-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let plan = parse(STARTER_SUITE, &dir.join("perfwatch.toml")).unwrap();
    let sh = |script: &str| {
        let status =
            std::process::Command::new("sh").arg("-c").arg(script).current_dir(&dir).status().unwrap();
        assert!(status.success(), "{script}");
    };
    for case in [&plan.cases[0], &plan.cases[2], &plan.cases[4]] {
        if let Some(setup) = &case.setup {
            sh(setup);
        }
        let argv = case.command.to_argv();
        let status =
            std::process::Command::new(&argv[0]).args(&argv[1..]).current_dir(&dir).status().unwrap();
        assert!(status.success(), "{argv:?}");
        if let Some(cleanup) = &case.cleanup {
            sh(cleanup);
        }
    }
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(left.is_empty(), "cleanup left files behind: {left:?}");
}

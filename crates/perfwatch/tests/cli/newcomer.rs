//! A newcomer's first hour: finding the suite, read-only commands that never create a store,
//! a run never compared with itself, completions, the man page and colour on a terminal.

use std::process::Command;

use crate::util::*;

/// Two quick cases.
const SUITE: &str = r#"
[defaults]
warmup = 0
min_runs = 3
max_runs = 3
precision = "0%"
[[bench]]
name = "nap"
command = ["{fake}", "sleep", "2"]
params = { k = [1, 2] }
"#;

/// `perfwatch ARGS` in `dir`, with no `-c` and no inherited suite or store settings.
fn bare(dir: &std::path::Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_perfwatch"));
    cmd.args(args).current_dir(dir).env_remove("PERFWATCH_DB").env_remove("PERFWATCH_CONFIG");
    cmd
}

/// Every `.perfwatch` directory under `root`.
fn stores_under(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n == ".perfwatch") {
                    found.push(path.clone());
                }
                stack.push(path);
            }
        }
    }
    found
}

#[test]
fn the_suite_is_found_from_a_nested_directory_and_its_store_lives_beside_it() {
    let suite = Suite::new(SUITE);
    let nested = suite.dir.path().join("src").join("deep");
    std::fs::create_dir_all(&nested).unwrap();
    let out = bare(&nested, &["run", "--format", "json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert_eq!(json(&out)["benchmarks"].as_array().unwrap().len(), 2);
    assert_eq!(stores_under(suite.dir.path()), vec![suite.dir.path().join(".perfwatch")]);
    // Read-only commands from the nested directory read that store.
    let out = bare(&nested, &["runs", "--format", "json"]).output().unwrap();
    assert_eq!(json(&out)["runs"].as_array().unwrap().len(), 1, "{}", describe(&out));

    // PERFWATCH_CONFIG names a suite from anywhere.
    let elsewhere = tempfile::tempdir().unwrap();
    let out = bare(elsewhere.path(), &["runs", "--format", "json"])
        .env("PERFWATCH_CONFIG", suite.config())
        .output()
        .unwrap();
    assert_eq!(json(&out)["runs"].as_array().unwrap().len(), 1, "{}", describe(&out));
    assert!(stores_under(elsewhere.path()).is_empty());

    // No suite anywhere: a clear error that says where it looked.
    let out = bare(elsewhere.path(), &["run"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("perfwatch.toml") && err.contains("perfwatch init"), "{err}");
}

#[test]
fn read_only_commands_on_a_missing_store_explain_and_create_nothing() {
    let suite = Suite::new(SUITE);
    for args in [
        &["history"][..],
        &["compare"],
        &["detect"],
        &["runs"],
        &["show", "main"],
        &["baseline", "list"],
        &["report", "--html", "site"],
        &["prune", "--keep-last", "5"],
    ] {
        let out = suite.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", describe(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("no store at") && err.contains("perfwatch run"), "{args:?}: {err}");
        assert!(stores_under(suite.dir.path()).is_empty(), "{args:?} created a store");
        assert!(!suite.dir.path().join("site").exists(), "{args:?} wrote a site");
    }
}

#[test]
fn a_run_is_never_compared_with_itself() {
    let suite = Suite::new(SUITE);
    let out = suite.run(&["run", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let id = json(&out)["run"]["id"].as_str().unwrap().to_string();
    assert_eq!(suite.run(&["baseline", "set", "main"]).status.code(), Some(0));
    for args in
        [&["compare"][..], &["compare", "--to", &id], &["compare", "--to", "main", "--candidate", &id]]
    {
        let out = suite.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", describe(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("compared with itself") && err.contains(&id), "{args:?}: {err}");
    }
    // After a new run the same command compares two runs.
    assert_eq!(suite.run(&["run", "--format", "json"]).status.code(), Some(0));
    let out = suite.run(&["compare", "--format", "json"]);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", describe(&out));
    let report = json(&out);
    assert_eq!(report["baseline"]["run_id"], id.as_str());
    assert_ne!(report["candidate"]["run_id"], id.as_str());
    assert_eq!(report["design"], "unpaired");
}

#[test]
fn bash_completes_subcommands_from_the_generated_script() {
    let script = format!(
        r#"source <("{bin}" completions bash)
COMP_WORDS=(perfwatch com); COMP_CWORD=1; COMP_LINE="perfwatch com"; COMP_POINT=${{#COMP_LINE}}
_perfwatch perfwatch com perfwatch
printf '%s\n' "${{COMPREPLY[@]}}""#,
        bin = env!("CARGO_BIN_EXE_perfwatch")
    );
    let out = Command::new("bash").args(["--norc", "-c", &script]).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let words: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect();
    assert!(
        words.contains(&"compare".to_string()) && words.contains(&"completions".to_string()),
        "{words:?}"
    );
    assert!(!words.contains(&"run".to_string()), "only words starting with `com`: {words:?}");
}

#[test]
fn the_man_page_renders_with_man() {
    let page = tempfile::NamedTempFile::new().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_perfwatch")).arg("man").output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    std::fs::write(page.path(), &out.stdout).unwrap();
    let rendered = Command::new("man")
        .args(["-l", "-P", "cat"])
        .arg(page.path())
        .env("MANWIDTH", "100")
        .output()
        .expect("`man` is installed (man-db; .ci/run installs it)");
    assert!(rendered.status.success(), "{}", describe(&rendered));
    let text = String::from_utf8_lossy(&rendered.stdout);
    for want in ["NAME", "SYNOPSIS", "perfwatch", "compare", "--quiet"] {
        assert!(text.contains(want), "man page lacks {want}:\n{text}");
    }
    assert!(!text.contains(".TH") && !text.contains("\\fB"), "roff left unrendered:\n{text}");
}

#[test]
fn verdicts_are_coloured_on_a_terminal_unless_no_color() {
    // `script` gives perfwatch a pseudo-terminal as standard output.
    let suite = Suite::new(SUITE);
    let fake = pw_fake();
    let ab = format!(
        "'{bin}' ab '{f} sleep 2' '{f} sleep 8' --min-rounds 6 --max-time 5s",
        bin = env!("CARGO_BIN_EXE_perfwatch"),
        f = fake.display()
    );
    let on_tty = |no_color: bool| {
        let mut cmd = Command::new("script");
        cmd.args(["-qec", &ab, "/dev/null"]).current_dir(suite.dir.path()).env("TERM", "xterm-256color");
        if no_color {
            cmd.env("NO_COLOR", "1");
        } else {
            cmd.env_remove("NO_COLOR");
        }
        let out = cmd.output().expect("`script` (util-linux) is installed");
        assert_eq!(out.status.code(), Some(1), "B sleeps 4x as long: {}", describe(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let coloured = on_tty(false);
    assert!(coloured.contains("\u{1b}[38;5;9m REGRESSED"), "{coloured:?}");
    // The distribution strips of A and B are drawn under the table.
    assert!(coloured.contains("  A │") && coloured.contains("  B │"), "{coloured}");
    let plain = on_tty(true);
    assert!(plain.contains("REGRESSED") && !plain.contains("\u{1b}[38;5;9m"), "{plain:?}");
}

/// Issue 19: read-only commands failed on a store that cannot be written ("attempt to write
/// a readonly database": opening switched the journal mode). The store's directory is made
/// read-only by a read-only bind mount in a private mount namespace (`unshare -m`, as root
/// permissions alone do not stop root); reading works there, writing says why it cannot.
#[test]
fn read_only_commands_work_on_a_read_only_store() {
    let suite =
        Suite::new("[defaults]\nmin_runs = 2\nmax_runs = 2\n[[bench]]\nname = \"a\"\ncommand = [\"true\"]\n");
    assert_eq!(suite.run(&["run"]).status.code(), Some(0));
    let dir = suite.dir.path().display().to_string();
    let pw = env!("CARGO_BIN_EXE_perfwatch");
    let script = format!(
        "mount --bind -o ro '{dir}' '{dir}' && cd '{dir}' && \
         '{pw}' runs --format json > /dev/null 2>&1; echo \"runs=$?\"; \
         '{pw}' history a --format json > /dev/null 2>&1; echo \"history=$?\"; \
         '{pw}' run 2>&1 | tail -1; echo \"run=$?\""
    );
    let out = std::process::Command::new("unshare").args(["-m", "sh", "-c", &script]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "unshare -m failed (root and mount namespaces are needed): {}",
        describe(&out)
    );
    assert!(text.contains("runs=0") && text.contains("history=0"), "{text}");
    assert!(text.contains("readonly database") || text.contains("read-only"), "{text}");
    assert!(!text.contains("runs=2"), "{text}");
}

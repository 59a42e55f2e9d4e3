//! Every file under `tests/malformed/` must fail to load; the rendered diagnostics (miette's
//! graphical report without colour, then the plain `Display` and `plain_report`) are snapshots.

use std::path::Path;

use miette::{GraphicalReportHandler, GraphicalTheme};

fn render(err: &perfwatch_config::ConfigError) -> String {
    let mut out = String::new();
    GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .with_width(100)
        .render_report(&mut out, err)
        .expect("rendering to a String cannot fail");
    // Trailing spaces are not stable across editors; drop them.
    let graphical: Vec<&str> = out.lines().map(str::trim_end).collect();
    format!(
        "{}\n\n--- Display ---\n{err}\n\n--- plain_report ---\n{}",
        graphical.join("\n").trim_end(),
        err.plain_report()
    )
}

#[test]
fn malformed_suites() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/malformed");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/malformed exists")
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 12, "expected at least 12 malformed files, found {}", files.len());
    for file in files {
        let stem = file.file_stem().and_then(|s| s.to_str()).expect("UTF-8 file name").to_string();
        let source = std::fs::read_to_string(&file).expect("readable file");
        // A relative display name keeps the snapshots independent of the checkout location.
        let shown = Path::new("malformed").join(file.file_name().expect("file name"));
        let err = match perfwatch_config::parse(&source, &shown) {
            Ok(plan) => panic!("{stem}: expected an error, got a plan with {} cases", plan.cases.len()),
            Err(e) => e,
        };
        for p in err.problems() {
            assert!(p.help().is_some() || stem.starts_with("syntax"), "{stem}: problem without a hint: {p}");
        }
        insta::assert_snapshot!(stem.clone(), render(&err));
    }
}

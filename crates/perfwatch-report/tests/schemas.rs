//! The committed JSON Schemas under `schemas/` are the contract for `--format json`.
//! This test regenerates them from the model types and fails when they differ, so any
//! change to the output shape is deliberate. Run with `PERFWATCH_BLESS=1` to rewrite them.

use std::path::PathBuf;

fn schema_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schemas")
}

#[test]
fn committed_schemas_match_the_model() {
    let bless = std::env::var_os("PERFWATCH_BLESS").is_some();
    for (name, schema) in perfwatch_report::schema::all() {
        let path = schema_dir().join(name);
        let fresh = serde_json::to_string_pretty(&schema).unwrap() + "\n";
        if bless {
            std::fs::write(&path, &fresh).unwrap();
            continue;
        }
        let committed = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{} missing ({e}); run with PERFWATCH_BLESS=1", path.display()));
        assert_eq!(
            committed, fresh,
            "{name} is out of date: run `PERFWATCH_BLESS=1 cargo test -p perfwatch-report --test schemas`"
        );
    }
}

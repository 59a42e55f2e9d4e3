//! `schemas/tracing-summary.schema.json` is the contract of the layer's JSON document; this
//! test regenerates it from [`perfwatch_tracing::Summary`] and fails when they differ. Run
//! with `PERFWATCH_BLESS=1` to rewrite it.

use std::path::PathBuf;

#[test]
fn the_committed_summary_schema_matches_the_type() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schemas/tracing-summary.schema.json");
    let fresh =
        serde_json::to_string_pretty(&schemars::schema_for!(perfwatch_tracing::Summary)).unwrap() + "\n";
    if std::env::var_os("PERFWATCH_BLESS").is_some() {
        std::fs::write(&path, &fresh).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{} missing ({e}); run with PERFWATCH_BLESS=1", path.display()));
    assert_eq!(
        committed, fresh,
        "out of date: run `PERFWATCH_BLESS=1 cargo test -p perfwatch-tracing --test schema`"
    );
}

//! cargo-afl harness of `perfwatch_fuzz::ingest`.
fn main() {
    afl::fuzz!(|data: &[u8]| perfwatch_fuzz::ingest(data));
}

//! cargo-afl harness of `perfwatch_fuzz::import`.
fn main() {
    afl::fuzz!(|data: &[u8]| perfwatch_fuzz::import(data));
}

//! cargo-afl harness of `perfwatch_fuzz::suite`.
fn main() {
    afl::fuzz!(|data: &[u8]| perfwatch_fuzz::suite(data));
}

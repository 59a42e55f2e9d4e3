//! cargo-afl harness of `perfwatch_fuzz::metric_output`.
fn main() {
    afl::fuzz!(|data: &[u8]| perfwatch_fuzz::metric_output(data));
}

//! A tiny seeded random number generator for the model tests: the same walk on every run.

/// Numbers below `n` from a xorshift64 generator started at `seed` (which must not be 0).
pub(crate) fn below(seed: u64) -> impl FnMut(u64) -> u64 {
    let mut state = seed;
    move |n| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    }
}

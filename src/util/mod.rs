//! Small internal building blocks.

pub(crate) mod slab;
pub(crate) mod sync;
#[cfg(test)]
pub(crate) mod wake_count;
#[cfg(test)]
pub(crate) mod xorshift;

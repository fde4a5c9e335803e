//! Small internal building blocks.

pub(crate) mod slab;
pub(crate) mod sync;

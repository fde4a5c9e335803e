//! Time: delays, the timer wheel, `sleep`.

mod delay;
mod sleep;
pub(crate) mod wait;
pub(crate) mod wheel;

pub use delay::IntoDelay;
pub use sleep::{Sleep, sleep, sleep_until};

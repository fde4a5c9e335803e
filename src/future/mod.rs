//! `asyncio::Future`: a result set later, which tasks await; `create_future`.
//!
//! [`state`] has the design note (what the handles share, and why waiters and callbacks are
//! kept as they are); [`handle`] the public type.

mod create;
mod error;
mod handle;
mod state;

pub use error::FutureError;
pub use handle::Future;

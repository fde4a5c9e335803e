//! `asyncio::Future`: a result set later, which tasks await; `create_future`; `wrap_future`.
//!
//! [`state`] has the design note (what the handles share, and why waiters and callbacks are
//! kept as they are); [`handle`] the public type; [`wrap`] the bridge from a
//! [`ConcurrentFuture`](crate::ConcurrentFuture) of another thread.

mod create;
mod error;
mod handle;
mod state;
mod wrap;

pub use error::FutureError;
pub use handle::Future;
pub use wrap::wrap_future;

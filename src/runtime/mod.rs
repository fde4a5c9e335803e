//! The event loop: one per thread, made by [`run`] or a [`Runner`].
//!
//! See [`core`] for one turn of the loop, [`remote`] for how other threads reach it, and
//! [`blocking`] for the default executor.

pub(crate) mod blocking;
pub(crate) mod clock;
pub(crate) mod context;
pub(crate) mod core;
pub(crate) mod debug;
pub mod embed;
mod event_loop;
pub(crate) mod exception_handler;
mod fd_watch;
mod handle;
pub(crate) mod metrics;
mod multi;
pub(crate) mod remote;
mod runner;
pub(crate) mod shared;
mod task_factory;
mod threadsafe;
mod tsc;

pub use blocking::{ToThread, to_thread};
pub use debug::DEBUG_ENV;
pub use event_loop::{EventLoop, new_event_loop};
pub use exception_handler::{
    ExceptionContext, ExceptionHandler, TaskInfo, default_exception_handler,
};
pub use handle::{
    Handle, LoopHandle, LoopStats, TimerHandle, get_running_loop, try_get_running_loop,
};
pub use multi::{Builder, Runtime};
pub use runner::{Runner, run, try_run};
pub use task_factory::IntoTaskFactory;
pub use threadsafe::{ConcurrentFuture, run_coroutine_threadsafe};

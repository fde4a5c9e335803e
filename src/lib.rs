//! Python's asyncio, natively in Rust: its high-level API and the event loop under it.
//!
//! A Rust program reads like its Python original:
//!
//! ```
//! use asyncio::{create_task, sleep};
//!
//! async fn say_after(delay: f64, what: &str) {
//!     sleep(delay).await;
//!     println!("{what}");
//! }
//!
//! # fn main() {
//! # asyncio::Runner::new().virtual_time(true).run(async {
//! let task1 = create_task(say_after(1.0, "hello"));
//! let task2 = create_task(say_after(2.0, "world"));
//! task1.await.unwrap(); // both finish after 2 s, not 3 s
//! task2.await.unwrap();
//! # });
//! # }
//! ```
//!
//! One event loop runs per thread ([`run`], [`Runner`]); tasks need not be `Send`; other threads
//! reach a loop through a [`LoopHandle`] (`call_soon_threadsafe`, [`run_coroutine_threadsafe`]);
//! blocking work goes to a thread pool ([`to_thread`]). Python's exceptions are typed errors
//! named after them ([`TimeoutError`], [`CancelledError`], …), and a task's outcome is
//! `Result<T, TaskError>`.
//!
//! # Feature flags
//! - `tls` (default): TLS on streams and transports with rustls (`.ssl(..)`, `start_tls`).
//! - `futures-io`, `tokio-io`: the `AsyncRead`/`AsyncWrite` traits of futures-io and of tokio
//!   (traits only, no tokio runtime) on the sockets and streams.
//! - `stream`: futures-core's `Stream` and futures-sink's `Sink` on what asyncio iterates.
//! - `hyper`: `asyncio::hyper`, hyper 1.x on the loop (I/O, a `!Send` executor, a timer).
//! - `redis`: `asyncio::redis`, `Queue`'s API on a Redis stream.
//! - `tracing`: a `runtime.spawn` span per task and `runtime::waker` events, which
//!   tokio-console shows (console-subscriber built with `--cfg console_without_tokio_unstable`).
//!
//! A crate that needs tokio's reactor (reqwest, sqlx) runs from our tasks inside
//! async-compat's `Compat`, which enters a tokio runtime around each poll.
#![doc(test(attr(deny(warnings))))]
// docs.rs (`--cfg docsrs`, nightly): each feature-gated item is marked with its feature.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

extern crate self as asyncio;

mod combinators;
// Ecosystem (issue 18): the standard I/O traits and streams on our types.
mod compat;
pub mod contextvars;
mod error;
mod future;
// Ecosystem (issue 18): hyper 1.x on the loop.
#[cfg(feature = "hyper")]
#[cfg_attr(docsrs, doc(cfg(feature = "hyper")))]
pub mod hyper;
pub mod introspection;
pub mod net;
mod queue;
mod reactor;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub mod redis;
mod runtime;
pub mod signal;
mod streams;
pub mod subprocess;
mod sync;
mod task;
mod time;
mod transports;
mod util;

/// Runs an `async fn main` as the main task of a new loop, with [`run`].
///
/// ```
/// #[asyncio::main]
/// async fn main() {
///     asyncio::sleep(0.001).await;
/// }
/// ```
pub use asyncio_macros::main;
/// Runs an `async fn` test on a new loop; `#[asyncio::test(virtual_time)]` runs it on the
/// virtual clock, where sleeps take no real time and times are exact; `debug` turns on debug
/// mode.
///
/// ```
/// #[asyncio::test(virtual_time)]
/// async fn one_hour_in_no_time() {
///     asyncio::sleep(3600.0).await;
///     assert_eq!(asyncio::get_running_loop().time(), 3600.0);
/// }
/// # fn main() {}
/// ```
pub use asyncio_macros::test;
pub use combinators::{
    ALL_COMPLETED, AsCompleted, ExceptionGroup, FIRST_COMPLETED, FIRST_EXCEPTION, Gather,
    GatherTuple, IntoTimeout, NextCompleted, NextTask, ReturnWhen, Shield, TaskFactory, TaskGroup,
    TaskGroupRun, TaskTuple, Timeout, TryGather, Wait, WaitFor, WaitFuture, WithTimeout,
    as_completed, create_eager_task, gather, gather_tasks, shield, timeout, timeout_at, try_gather,
    wait, wait_for,
};
#[cfg(feature = "stream")]
#[cfg_attr(docsrs, doc(cfg(feature = "stream")))]
pub use compat::{
    queue::{QueueSink, QueueStream},
    stream::{Incoming, Lines},
};
pub use error::{
    CancelledError, InvalidStateError, KeyboardInterrupt, PanicError, RunError, RuntimeError,
    TaskError, TimeoutError,
};
pub use future::{Future, FutureError, wrap_future};
pub use net::datagram_endpoint::{AddressFamily, CreateDatagramEndpoint, EndpointAddr};
pub use net::datagram_socket::DatagramAddr;
pub use net::datagram_transport::{DatagramProtocol, DatagramTransport};
pub use net::unix_datagram_endpoint::CreateUnixDatagramEndpoint;
pub use queue::{
    Get, GetNowaitError, Join, LifoQueue, PriorityQueue, Put, PutNowaitError, Queue, QueueEmpty,
    QueueFull, QueueShutDown,
};
/// Driving a loop from outside Rust, for the workspace's Python package (not a stable API).
#[doc(hidden)]
pub use runtime::embed;
pub use runtime::{
    Builder, ConcurrentFuture, Handle, LoopHandle, LoopStats, Runner, Runtime, TimerHandle,
    ToThread, get_running_loop, run, run_coroutine_threadsafe, to_thread, try_get_running_loop,
    try_run,
};
// The loop object, its exception handler and debug mode (issue 17).
pub use runtime::{
    DEBUG_ENV, EventLoop, ExceptionContext, ExceptionHandler, IntoTaskFactory, TaskInfo,
    default_exception_handler, new_event_loop,
};
pub use streams::ConnectErrors;
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub use streams::StartTls;
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub use streams::tls_api as tls;
pub use streams::{
    HandlerOutput, IncompleteReadError, LimitOverrunError, OpenConnection, OpenUnixConnection,
    ReadError, Separators, Server, StartServer, StartUnixServer, StreamAddr, StreamReader,
    StreamSocket, StreamWriter, Streams, open_connection, open_socket, open_unix_connection,
    start_server, start_unix_server,
};
pub use subprocess::{create_subprocess_exec, create_subprocess_shell};
pub use sync::{
    Acquire, Barrier, BarrierWait, BoundedSemaphore, BrokenBarrierError, Condition, ConditionWait,
    ConditionWaitFor, Event, EventWait, Lock, LockGuard, Semaphore, SemaphoreAcquire,
    SemaphorePermit, ValueError,
};
pub use task::StackFrame;
pub use task::{CatchCancel, OnCancel, catch_cancel, on_cancel};
pub use task::{FutureCallGraph, capture_call_graph, format_call_graph, print_call_graph};
pub use task::{Task, TaskRef, all_tasks, create_task, current_task};
pub use time::{IntoDelay, Sleep, sleep, sleep_until};
pub use transports::{
    AnyProtocol, Buffered, BufferedProtocol, ConnectAcceptedSocket, CreateConnection, CreateServer,
    CreateUnixConnection, CreateUnixServer, Protocol, Transport,
};

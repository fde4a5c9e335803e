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
//! # A guide, in the order of asyncio's documentation
//!
//! **Coroutines and tasks.** An `async fn` is a coroutine; [`run`] (or `#[asyncio::main]`)
//! runs one, and [`create_task`] schedules one concurrently, giving a [`Task`] to await,
//! [`cancel`](Task::cancel) or name. [`sleep`] suspends the current task; [`gather()`] runs
//! several at once and collects their outputs in order; a [`TaskGroup`] ends with all its
//! children and cancels the others at the first failure. [`shield`] protects an operation from
//! its awaiter's cancellation, [`timeout`] and [`wait_for`] bound one in time, and [`wait`] and
//! [`as_completed`] watch many. A cancelled task's future is dropped, unless it runs inside
//! [`on_cancel`] or [`catch_cancel`], which see the cancellation as asyncio's `except
//! CancelledError` does. [`to_thread`] runs blocking code on the pool, and
//! [`run_coroutine_threadsafe`] submits work to a loop from another thread; [`current_task`],
//! [`all_tasks`] and [`capture_call_graph`] look inside.
//!
//! ```
//! # asyncio::Runner::new().virtual_time(true).run(async {
//! use asyncio::{gather, sleep, wait_for};
//! async fn factorial(n: u64) -> u64 {
//!     sleep(1.0).await;
//!     (1..=n).product()
//! }
//! assert_eq!(gather(vec![factorial(2), factorial(3), factorial(4)]).await, [2, 6, 24]);
//! assert!(wait_for(sleep(3600.0), 1.0).await.is_err()); // TimeoutError after 1 s
//! # });
//! ```
//!
//! **Streams.** [`open_connection`] gives a [`StreamReader`] and a [`StreamWriter`];
//! [`start_server`] calls a handler with a pair for each client. `write` buffers, `drain`
//! waits for room, `close` and `wait_closed` end the connection; `.ssl(..)` adds TLS.
//!
//! ```
//! # asyncio::run(async {
//! use asyncio::{open_connection, start_server, StreamReader, StreamWriter};
//! async fn echo(mut reader: StreamReader, writer: StreamWriter) -> std::io::Result<()> {
//!     let line = reader.readline().await?;
//!     writer.write(&line);
//!     writer.drain().await?;
//!     writer.close();
//!     Ok(())
//! }
//! let server = start_server(echo, "127.0.0.1", 0).await.unwrap();
//! let port = server.sockets()[0].as_inet().unwrap().port();
//! let (mut reader, writer) = open_connection("127.0.0.1", port).await.unwrap();
//! writer.write(b"hello\n");
//! assert_eq!(reader.readline().await.unwrap(), b"hello\n");
//! # });
//! ```
//!
//! **Synchronization primitives**, as asyncio's (not thread-safe, for tasks of one loop):
//! [`Lock`], [`Event`], [`Condition`], [`Semaphore`], [`BoundedSemaphore`] and [`Barrier`].
//!
//! **Subprocesses.** [`create_subprocess_exec`] and [`create_subprocess_shell`] start a
//! program with pipes (`.stdout(PIPE)`), and its [`Process`](subprocess::Process) is awaited with `wait` or
//! `communicate`.
//!
//! **Queues.** [`Queue`], [`PriorityQueue`] and [`LifoQueue`] distribute work among tasks:
//! `put`/`get`, `task_done` and `join`, as asyncio's.
//!
//! ```
//! # asyncio::Runner::new().virtual_time(true).run(async {
//! let queue = asyncio::Queue::new(0);
//! for job in [0.5, 0.25, 1.0] {
//!     queue.put_nowait(job).unwrap();
//! }
//! let workers: Vec<_> = (0..2)
//!     .map(|_| {
//!         let queue = queue.clone();
//!         asyncio::create_task(async move {
//!             while let Ok(seconds) = queue.get().await {
//!                 asyncio::sleep(seconds).await;
//!                 queue.task_done().unwrap();
//!             }
//!         })
//!     })
//!     .collect();
//! queue.join().await; // every job is done
//! assert_eq!(asyncio::get_running_loop().time(), 1.25);
//! # for w in workers { w.cancel(); }
//! # });
//! ```
//!
//! **Exceptions** are returned, not raised: [`TimeoutError`], [`CancelledError`],
//! [`InvalidStateError`], [`QueueEmpty`], [`QueueFull`] and the rest are error types.
//!
//! **The low-level API** is there too: the loop object ([`new_event_loop`], [`LoopHandle`]),
//! file descriptors, pipes, UDP, and transports and protocols ([`Protocol`], [`Transport`]).
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

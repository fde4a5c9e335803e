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
#![doc(test(attr(deny(warnings))))]
#![warn(missing_docs)]

extern crate self as asyncio;

mod error;
pub mod net;
mod reactor;
mod runtime;
mod streams;
mod task;
mod time;
mod util;

pub use asyncio_macros::{main, test};
pub use error::{
    CancelledError, InvalidStateError, PanicError, RuntimeError, TaskError, TimeoutError,
};
pub use runtime::{
    get_running_loop, run, run_coroutine_threadsafe, to_thread, try_get_running_loop, try_run,
    ConcurrentFuture, Handle, LoopHandle, LoopStats, Runner, TimerHandle, ToThread,
};
#[cfg(feature = "tls")]
pub use streams::tls_api as tls;
pub use streams::{
    open_connection, open_socket, open_unix_connection, start_server, start_unix_server,
    HandlerOutput, IncompleteReadError, LimitOverrunError, OpenConnection, OpenUnixConnection,
    ReadError, Separators, Server, StartServer, StartUnixServer, StreamAddr, StreamReader,
    StreamSocket, StreamWriter, Streams,
};
pub use task::{all_tasks, create_task, current_task, Task, TaskRef};
pub use time::{sleep, IntoDelay, Sleep};

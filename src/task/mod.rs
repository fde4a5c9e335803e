//! Tasks: futures the loop runs concurrently.
//!
//! The design note is in [`cell`] (states and ownership), [`header`] (how wakers reach the
//! loop from any thread, and the two reference counts) and [`local`] (the loop's handles);
//! cancellation a task can catch is in [`catch`] and [`expiry`].

pub(crate) mod call_graph;
mod catch;
pub(crate) mod cell;
pub(crate) mod common;
pub(crate) mod expiry;
mod handle;
pub(crate) mod header;
pub(crate) mod local;
mod stack;
pub(crate) mod waiting;
// tokio-console's spans and waker events (feature `tracing`).
#[cfg(feature = "tracing")]
pub(crate) mod trace;

pub use call_graph::{FutureCallGraph, capture_call_graph, format_call_graph, print_call_graph};
pub(crate) use catch::Scope as CancelScope;
pub use catch::{CatchCancel, OnCancel, catch_cancel, on_cancel};
pub use handle::{Task, TaskRef};
pub use stack::StackFrame;

use crate::runtime::context;
use std::future::{Future, IntoFuture};
use std::sync::atomic::Ordering;

/// Schedules `fut` to run on the running loop as a new task, and returns its handle
/// (asyncio's `create_task`).
///
/// `fut` is any [`IntoFuture`] (a builder such as `open_connection(..)` too), made into its
/// future by this call. The future need not be `Send`. It starts at the loop's next turn, after the tasks that are
/// already ready — or at once, inside this call, when the loop's task factory is
/// [`TaskFactory::Eager`](crate::TaskFactory) (see
/// [`create_eager_task`](crate::create_eager_task)).
///
/// # Panics
/// Outside a running loop (asyncio's `RuntimeError: no running event loop`).
///
/// # Examples
/// ```
/// use asyncio::{create_task, sleep};
///
/// async fn say_after(delay: f64, what: &str) {
///     sleep(delay).await;
///     println!("{what}");
/// }
///
/// # asyncio::Runner::new().virtual_time(true).run(async {
/// let task1 = create_task(say_after(1.0, "hello"));
/// let task2 = create_task(say_after(2.0, "world"));
/// task1.await.unwrap();
/// task2.await.unwrap();
/// # });
/// ```
#[track_caller]
pub fn create_task<F>(fut: F) -> Task<F::Output>
where
    F: IntoFuture + 'static,
{
    let location = std::panic::Location::caller();
    // Identity for a `Future`: the hot path pays nothing for accepting builders.
    let fut = fut.into_future();
    match context::current_core() {
        Some(core) if core.shared.custom_factory.load(Ordering::Relaxed) => {
            core.spawn_by_factory(fut, location)
        }
        Some(core) => core.spawn(fut, location),
        None => panic!("create_task: no running event loop"),
    }
}

/// [`create_task`] that always starts at the loop's next turn, whatever the task factory: for
/// the crate's own helper tasks (accept loops, reapers, closers), whose creators do not expect
/// them to run inside the call.
#[track_caller]
pub(crate) fn create_lazy_task<F>(fut: F) -> Task<F::Output>
where
    F: Future + 'static,
{
    let location = std::panic::Location::caller();
    match context::current_core() {
        Some(core) => core.spawn(fut, location),
        None => panic!("create_task: no running event loop"),
    }
}

/// The task running now, or `None` outside a task (asyncio's `current_task`).
///
/// # Examples
/// ```
/// assert!(asyncio::current_task().is_none());
/// asyncio::run(async {
///     let me = asyncio::current_task().unwrap();
///     assert!(!me.done());
/// });
/// ```
pub fn current_task() -> Option<TaskRef> {
    context::with_core(|core| core.current_task()).flatten()
}

/// The running loop's tasks that are not done yet (asyncio's `all_tasks`).
///
/// Empty outside a running loop.
///
/// # Examples
/// ```
/// # asyncio::run(async {
/// let worker = asyncio::create_task(asyncio::sleep(1.0)).with_name("worker");
/// let names: Vec<String> = asyncio::all_tasks().iter().map(|t| t.name()).collect();
/// assert!(names.contains(&"worker".to_string()));
/// worker.cancel();
/// # });
/// ```
pub fn all_tasks() -> Vec<TaskRef> {
    context::with_core(|core| core.all_tasks()).unwrap_or_default()
}

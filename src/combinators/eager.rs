//! Eager start: a task's first step runs inside `create_eager_task` (3.12's eager tasks).

use crate::runtime::context;
use crate::task::Task;
use std::future::IntoFuture;

/// Creates a task and runs it at once, up to its first suspension, before returning (asyncio
/// 3.12's `eager_task_factory`, 3.14's `create_task(..., eager_start=True)`).
///
/// A task that finishes without suspending never goes through the loop's ready queue: it is
/// done when this returns, which saves a turn of the loop for work that is often ready at once
/// (a cache hit, a buffered read). One that suspends is an ordinary task from then on. During
/// that first step the new task is the [`current_task`](crate::current_task).
///
/// For a whole loop, as asyncio's `loop.set_task_factory(asyncio.eager_task_factory)`, set
/// [`TaskFactory::Eager`] with [`LoopHandle::set_task_factory`](crate::LoopHandle::set_task_factory):
/// then [`create_task`](crate::create_task), and the combinators that make tasks ([`gather`](fn@crate::gather),
/// [`TaskGroup::create_task`](crate::TaskGroup::create_task), ...), start tasks this way.
///
/// # Panics
/// Outside a running loop. A panic in the first step does not reach the caller: it ends the
/// task as `TaskError::Panicked`, as for any task.
///
/// # Examples
/// ```
/// # asyncio::run(async {
/// let task = asyncio::create_eager_task(async { 6 * 7 });
/// assert!(task.done()); // finished before create_eager_task returned
/// assert_eq!(task.await.unwrap(), 42);
///
/// let slow = asyncio::create_eager_task(async { asyncio::sleep(0).await; 1 });
/// assert!(!slow.done()); // suspended: now an ordinary task
/// assert_eq!(slow.await.unwrap(), 1);
/// # });
/// ```
#[track_caller]
pub fn create_eager_task<F>(fut: F) -> Task<F::Output>
where
    F: IntoFuture + 'static,
{
    let location = std::panic::Location::caller();
    let fut = fut.into_future();
    match context::current_core() {
        Some(core) => core.spawn_eager(fut, location),
        None => panic!("create_eager_task: no running event loop"),
    }
}

/// What [`create_task`](crate::create_task) makes on a loop: set with
/// [`LoopHandle::set_task_factory`](crate::LoopHandle::set_task_factory) (asyncio's
/// `loop.set_task_factory`).
///
/// asyncio takes any callable; here the choice is between its default factory and its
/// `eager_task_factory`, the one it ships.
///
/// # Examples
/// ```
/// use asyncio::TaskFactory;
///
/// asyncio::run(async {
///     let lp = asyncio::get_running_loop();
///     assert_eq!(lp.task_factory(), TaskFactory::Default);
///     lp.set_task_factory(TaskFactory::Eager);
///     let task = asyncio::create_task(async { 6 * 7 });
///     assert!(task.done()); // ran inside create_task
/// });
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum TaskFactory {
    /// Tasks start at the loop's next turn (asyncio's default, `None`).
    #[default]
    Default,
    /// Tasks run their first step inside `create_task`, as
    /// [`create_eager_task`](crate::create_eager_task) (asyncio's `eager_task_factory`).
    Eager,
    /// A closure decides (see [`IntoTaskFactory`](crate::IntoTaskFactory)); what
    /// [`task_factory`](crate::LoopHandle::task_factory) says when one is set. Setting it
    /// is setting [`Default`](TaskFactory::Default).
    Custom,
}

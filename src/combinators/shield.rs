//! `shield`: work that goes on when its waiter is cancelled.

use super::notify::{Watch, always};
use crate::error::TaskError;
use crate::task::{Task, create_task};
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};

/// Runs `fut` as its own task and waits for it; dropping the wait leaves the task running to
/// completion (asyncio's `shield`).
///
/// In Rust an await is cancelled by dropping it: when the task awaiting a `Shield` is cancelled,
/// or a [`wait_for`](crate::wait_for) around it times out, only the wait ends; the inner task
/// runs on. Its outcome stays available through [`Shield::task`]. A [`Task`] handle is already
/// shielded this way (dropping a handle never cancels its task); `shield` is for a plain
/// future. Cancelling the inner task itself (through [`Shield::task`]) still cancels it.
///
/// The task is created at once, as asyncio's `shield` schedules it when called. `fut` is any
/// [`IntoFuture`], a builder such as `open_connection(..)` too.
///
/// # Panics
/// Outside a running loop.
///
/// # Examples
/// ```
/// # asyncio::Runner::new().virtual_time(true).run(async {
/// async fn save() -> &'static str {
///     asyncio::sleep(2.0).await;
///     "saved"
/// }
/// let shielded = asyncio::shield(save());
/// let inner = shielded.task();
/// // The waiter gives up after 1 s; the save goes on.
/// assert!(asyncio::wait_for(shielded, 1.0).await.is_err());
/// assert!(!inner.done());
/// assert_eq!(inner.await.unwrap(), "saved");
/// assert_eq!(asyncio::get_running_loop().time(), 2.0);
/// # });
/// ```
#[track_caller]
pub fn shield<F>(fut: F) -> Shield<F::Output>
where
    F: IntoFuture + 'static,
{
    Shield {
        task: create_task(fut),
        watch: Watch::new(),
        watching: Watching::NotYet,
        ready: Vec::new(),
    }
}

/// The future of [`shield`]: the inner task's outcome.
///
/// # Cancel safety
/// Dropping it loses nothing: the inner task runs on, and its outcome stays in the task for
/// [`Shield::task`] handles.
#[must_use = "the shielded task runs anyway; await the Shield to get its outcome"]
pub struct Shield<T: 'static> {
    task: Task<T>,
    /// The inner task is watched through a done callback, as asyncio's `shield` is: the waiter
    /// resumes when asyncio's would, and the callback is removed if the wait is dropped.
    watch: Watch,
    watching: Watching,
    ready: Vec<usize>,
}

enum Watching {
    NotYet,
    /// The done callback's id, to remove it if the wait is dropped first.
    Callback(u64),
    /// The task is done: nothing to remove.
    Finished,
}

impl<T: 'static> Shield<T> {
    /// A handle to the inner task, to get its outcome after the wait was dropped.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let shielded = asyncio::shield(async { 5 });
    /// let task = shielded.task();
    /// drop(shielded);
    /// assert_eq!(task.await.unwrap(), 5);
    /// # });
    /// ```
    pub fn task(&self) -> Task<T> {
        self.task.clone()
    }
}

impl<T: 'static> Future for Shield<T> {
    type Output = Result<T, TaskError>;

    /// # Errors
    /// The inner task's `Cancelled` or `Panicked`, as awaiting the task gives them.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.watch.set_waiter(cx.waker());
        if let Watching::NotYet = this.watching {
            this.watching = match this.watch.watch(0, &this.task, always) {
                Some(id) => Watching::Callback(id),
                None => Watching::Finished,
            };
        }
        this.watch.take_ready(&mut this.ready);
        if this.ready.is_empty() {
            return Poll::Pending;
        }
        this.watching = Watching::Finished;
        Poll::Ready(this.task.result())
    }
}

impl<T: 'static> Drop for Shield<T> {
    fn drop(&mut self) {
        if let Watching::Callback(id) = self.watching {
            self.task.remove_done_callback(id);
        }
    }
}

impl<T: 'static> fmt::Debug for Shield<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shield").field("task", &self.task).finish()
    }
}

//! `gather`: run futures concurrently as tasks, and collect every outcome in input order.

use super::notify::{Watch, cancel_pending, failed, reraise};
use crate::error::CancelledError;
use crate::task::{CancelScope, Task, create_task};
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};

/// Runs every future of `futs` concurrently as a task and collects their outputs in input
/// order (asyncio's `gather(*aws, return_exceptions=True)`).
///
/// The tasks are created at once, as asyncio schedules them when `gather` is called, so they
/// start at the loop's next turn even before the gather is awaited. A future that "raises"
/// returns `Err`, and that `Err` is kept in its place like any other outcome: every future runs
/// to completion. Use [`try_gather`](crate::try_gather) to stop waiting at the first `Err`, and
/// [`gather!`](crate::gather!) for futures of different output types. The items may be any
/// [`IntoFuture`]: `gather(vec![open_connection(a, 80), open_connection(b, 80)])`.
///
/// A task that ends without a value (its future panicked, or it was cancelled through
/// [`all_tasks`](crate::all_tasks)) ends the gather: the panic is raised again in the awaiting
/// task (a cancellation as a panic carrying the [`TaskError`](crate::TaskError)), and, as in
/// asyncio, the other tasks run on. Only dropping the gather before it ends cancels them.
///
/// A [`Task`] given to `gather` is awaited by a task of its own, giving `Result<T, TaskError>`,
/// and dropping the gather does not cancel it (dropping a task handle never does): for tasks,
/// use [`gather_tasks`], which is asyncio's `gather(*tasks)` exactly.
///
/// # Panics
/// Outside a running loop, and as described above when a child panics.
///
/// # Examples
/// ```
/// # asyncio::Runner::new().virtual_time(true).run(async {
/// async fn double(x: u64) -> u64 {
///     asyncio::sleep(x as f64).await;
///     x * 2
/// }
/// let results = asyncio::gather(vec![double(3), double(1), double(2)]).await;
/// assert_eq!(results, vec![6, 2, 4]);
/// assert_eq!(asyncio::get_running_loop().time(), 3.0); // concurrently: 3 s, not 6 s
/// # });
/// ```
#[track_caller]
pub fn gather<I>(futs: I) -> Gather<<I::Item as IntoFuture>::Output>
where
    I: IntoIterator,
    I::Item: IntoFuture + 'static,
{
    // A loop, not `map(create_task)`: called directly, `create_task` records our caller's
    // location as the tasks' creation site.
    let mut tasks = Vec::new();
    for fut in futs {
        tasks.push(create_task(fut));
    }
    Gather::from_tasks(tasks)
}

/// Waits for tasks that already run and collects their outputs in input order (asyncio's
/// `gather(*tasks)`).
///
/// Unlike [`gather()`] given tasks, the tasks are watched directly, as asyncio does: the gather
/// resumes in asyncio's turn, dropping it before it ends cancels the tasks that have not
/// finished, and a task that panicked or was cancelled is raised again in the awaiting task
/// (the others run on), as `return_exceptions=False` raises it.
///
/// # Panics
/// When one of the tasks panicked or was cancelled, as described above.
///
/// # Examples
/// ```
/// # asyncio::Runner::new().virtual_time(true).run(async {
/// use asyncio::{create_task, gather_tasks, sleep};
/// let tasks: Vec<_> = (1..=3u64)
///     .map(|n| create_task(async move { sleep(n as f64).await; n * n }))
///     .collect();
/// assert_eq!(gather_tasks(tasks).await, vec![1, 4, 9]);
/// assert_eq!(asyncio::get_running_loop().time(), 3.0);
/// # });
/// ```
pub fn gather_tasks<T: 'static>(tasks: impl IntoIterator<Item = Task<T>>) -> Gather<T> {
    Gather::from_tasks(tasks.into_iter().collect())
}

enum Slot<T> {
    Pending(Task<T>),
    Done(T),
}

/// The future of [`gather`]: the outputs of all its tasks, in input order.
///
/// # Cancel safety
/// Dropping it before it finishes cancels every task it made that has not finished, without
/// waiting for them; the outputs of those that did are dropped. Cancelling the task that
/// awaits it cancels them too, and, as in asyncio, the cancellation goes on up only once they
/// have all ended (their [`on_cancel`](crate::on_cancel) cleanups included).
#[must_use = "the tasks run anyway, but their outputs are only collected by awaiting the gather"]
pub struct Gather<T: 'static> {
    slots: Vec<Slot<T>>,
    remaining: usize,
    watch: Watch,
    started: bool,
    /// Ended (with the outputs, or by raising a child's panic): nothing to cancel on drop.
    finished: bool,
    ready: Vec<usize>,
    /// The gather catches its task's cancellation, to wait for the children it cancels.
    scope: CancelScope,
    /// The cancellation that reached the gather: raised again once every child has ended.
    cancelled: Option<CancelledError>,
}

impl<T: 'static> Gather<T> {
    pub(crate) fn from_tasks(tasks: Vec<Task<T>>) -> Self {
        Gather {
            remaining: tasks.len(),
            slots: tasks.into_iter().map(Slot::Pending).collect(),
            watch: Watch::new(),
            started: false,
            finished: false,
            ready: Vec::new(),
            scope: CancelScope::new(),
            cancelled: None,
        }
    }

    fn pending_tasks(&self) -> impl Iterator<Item = Task<T>> + '_ {
        self.slots.iter().filter_map(|slot| match slot {
            Slot::Pending(task) => Some(task.clone()),
            _ => None,
        })
    }
}

// Outputs are stored, never pinned.
impl<T: 'static> Unpin for Gather<T> {}

impl<T: 'static> Future for Gather<T> {
    type Output = Vec<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Vec<T>> {
        let this = self.get_mut();
        if this.finished {
            // The cancellation went on up from here: nothing comes after it.
            return Poll::Pending;
        }
        this.scope.enter();
        this.watch.set_waiter(cx.waker());
        if !this.started {
            this.started = true;
            for (index, slot) in this.slots.iter().enumerate() {
                if let Slot::Pending(task) = slot {
                    let _ = this.watch.watch(index, task, failed);
                }
            }
        }
        if this.scope.catch_into(&mut this.cancelled) {
            // As asyncio's gathering future, cancelled: its children are cancelled, and it
            // ends once they all have.
            let pending: Vec<_> = this.pending_tasks().collect();
            cancel_pending(pending);
        }
        this.watch.take_ready(&mut this.ready);
        for index in std::mem::take(&mut this.ready) {
            let Slot::Pending(task) = &this.slots[index] else {
                continue;
            };
            if this.cancelled.is_some() {
                // Its outcome stays in the task, for the caller's own handles (a panic nobody
                // takes is reported when the last handle drops).
                this.remaining -= 1;
                continue;
            }
            match task.result() {
                Ok(value) => {
                    this.slots[index] = Slot::Done(value);
                    this.remaining -= 1;
                }
                // As asyncio raises the first exception: the others run on.
                Err(error) => {
                    this.finished = true;
                    reraise(error)
                }
            }
        }
        if this.remaining > 0 {
            return Poll::Pending;
        }
        this.finished = true;
        if let Some(error) = this.cancelled.take() {
            this.scope.raise_again(error);
            return Poll::Pending;
        }
        this.scope.exit();
        let outputs = std::mem::take(&mut this.slots)
            .into_iter()
            .map(|slot| match slot {
                Slot::Done(value) => value,
                _ => unreachable!("every slot is done when none remains"),
            })
            .collect();
        Poll::Ready(outputs)
    }
}

impl<T: 'static> Drop for Gather<T> {
    fn drop(&mut self) {
        if !self.finished {
            let pending: Vec<_> = self.pending_tasks().collect();
            cancel_pending(pending);
        }
    }
}

impl<T: 'static> fmt::Debug for Gather<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gather")
            .field("tasks", &self.slots.len())
            .field("remaining", &self.remaining)
            .finish()
    }
}

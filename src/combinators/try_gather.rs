//! `try_gather`: `gather` that ends at the first `Err`.

use super::notify::{Watch, cancel_pending, reraise};
use crate::error::CancelledError;
use crate::task::{CancelScope, Task, create_task};
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};

/// Runs every future of `futs` concurrently as a task and collects their `Ok` values in input
/// order, or returns the first `Err` as soon as it comes (asyncio's
/// `gather(*aws, return_exceptions=False)`).
///
/// "First" is in completion order. As in asyncio, the other tasks are not cancelled when an
/// `Err` ends the wait: they run on, and their outcomes are dropped when they finish. Use a
/// [`TaskGroup`](crate::TaskGroup) to cancel the others at the first failure. Dropping the
/// future *before* it finishes cancels every task it made that has not finished.
///
/// A task that panics, or is cancelled through [`all_tasks`](crate::all_tasks), ends the wait
/// as in [`gather`](crate::gather()): the panic is raised again and the others run on.
///
/// # Errors
/// The first `Err` returned by one of the futures.
///
/// # Panics
/// Outside a running loop, and when a child panics.
///
/// # Examples
/// ```
/// # asyncio::Runner::new().virtual_time(true).run(async {
/// async fn parse(s: &'static str, delay: f64) -> Result<u32, std::num::ParseIntError> {
///     asyncio::sleep(delay).await;
///     s.parse()
/// }
/// let ok = asyncio::try_gather(vec![parse("1", 1.0), parse("2", 2.0)]).await;
/// assert_eq!(ok, Ok(vec![1, 2]));
/// let lp = asyncio::get_running_loop();
/// let started = lp.time();
/// let err = asyncio::try_gather(vec![parse("1", 5.0), parse("x", 1.0)]).await;
/// assert!(err.is_err());
/// assert_eq!(lp.time() - started, 1.0); // did not wait for the 5 s sibling
/// # });
/// ```
#[track_caller]
pub fn try_gather<I, T, E>(futs: I) -> TryGather<T, E>
where
    I: IntoIterator,
    I::Item: IntoFuture<Output = Result<T, E>> + 'static,
    T: 'static,
    E: 'static,
{
    // A loop, not `map(create_task)`: called directly, `create_task` records our caller's
    // location as the tasks' creation site.
    let mut tasks = Vec::new();
    for fut in futs {
        tasks.push(create_task(fut));
    }
    TryGather {
        remaining: tasks.len(),
        values: tasks.iter().map(|_| None).collect(),
        tasks,
        watch: Watch::new(),
        started: false,
        finished: false,
        ready: Vec::new(),
        scope: CancelScope::new(),
        cancelled: None,
        passed_on: false,
    }
}

/// The future of [`try_gather`].
///
/// # Cancel safety
/// Dropping it before it finishes cancels every task it made that has not finished. Once it
/// has returned an `Err`, the remaining tasks run on (as asyncio's do). Cancelling the task
/// that awaits it cancels them too, and the cancellation goes on up once the first of them
/// has ended, as asyncio's `gather` (without `return_exceptions`) raises at the first child
/// that ends cancelled.
#[must_use = "the tasks run anyway, but their outputs are only collected by awaiting"]
pub struct TryGather<T: 'static, E: 'static> {
    tasks: Vec<Task<Result<T, E>>>,
    values: Vec<Option<T>>,
    remaining: usize,
    watch: Watch,
    started: bool,
    finished: bool,
    ready: Vec<usize>,
    /// The gather catches its task's cancellation, to wait for a child it cancels.
    scope: CancelScope,
    /// The cancellation that reached the gather: raised again once a child has ended.
    cancelled: Option<CancelledError>,
    passed_on: bool,
}

// Outputs are stored, never pinned.
impl<T: 'static, E: 'static> Unpin for TryGather<T, E> {}

impl<T: 'static, E: 'static> Future for TryGather<T, E> {
    type Output = Result<Vec<T>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if this.passed_on {
            // The cancellation went on up from here: nothing comes after it.
            return Poll::Pending;
        }
        assert!(!this.finished, "TryGather polled after it finished");
        this.scope.enter();
        this.watch.set_waiter(cx.waker());
        if !this.started {
            this.started = true;
            for (index, task) in this.tasks.iter().enumerate() {
                // An `Err` output ends the wait as a failure does.
                let _ = this.watch.watch(index, task, |t| {
                    t.outcome_matches(|o| !matches!(o, Ok(Ok(_))))
                });
            }
        }
        if this.scope.catch_into(&mut this.cancelled) {
            cancel_pending(this.tasks.iter().cloned());
        }
        this.watch.take_ready(&mut this.ready);
        if let Some(error) = this.cancelled.take() {
            if this.ready.is_empty() {
                this.cancelled = Some(error);
                return Poll::Pending;
            }
            // A child has ended: the cancellation goes on up; the outcomes stay in the tasks.
            this.finished = true;
            this.passed_on = true;
            this.scope.raise_again(error);
            return Poll::Pending;
        }
        for index in std::mem::take(&mut this.ready) {
            match this.tasks[index].result() {
                Ok(Ok(value)) => {
                    this.values[index] = Some(value);
                    this.remaining -= 1;
                }
                Ok(Err(error)) => {
                    // Siblings that finished in the same turn are not looked at: their
                    // outcomes are dropped with the tasks, as asyncio drops them.
                    this.finished = true;
                    this.scope.exit();
                    return Poll::Ready(Err(error));
                }
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
        this.scope.exit();
        let values = std::mem::take(&mut this.values)
            .into_iter()
            .map(|v| v.expect("every task returned Ok"))
            .collect();
        Poll::Ready(Ok(values))
    }
}

impl<T: 'static, E: 'static> Drop for TryGather<T, E> {
    fn drop(&mut self) {
        if !self.finished {
            cancel_pending(self.tasks.drain(..));
        }
    }
}

impl<T: 'static, E: 'static> fmt::Debug for TryGather<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TryGather")
            .field("tasks", &self.tasks.len())
            .field("remaining", &self.remaining)
            .field("finished", &self.finished)
            .finish()
    }
}

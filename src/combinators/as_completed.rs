//! `as_completed`: outcomes in the order they finish, as an iterator of awaitables and as an
//! async stream.

use super::deadline::{Deadline, IntoTimeout, deadline_after};
use super::notify::{Watch, always, cancel_pending};
use crate::error::{TaskError, TimeoutError};
use crate::task::{Task, create_task};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

/// Runs every future of `futs` as a task and gives their outcomes in the order they finish
/// (asyncio's `as_completed`).
///
/// Two ways to use it, as in Python 3.13:
/// - as an iterator of awaitables, `for next in as_completed(futs) { next.await }`: each
///   [`NextCompleted`] gives the earliest outcome not given yet, `Result<T, TaskError>`;
/// - as an async stream, `while let Some(task) = it.next_task().await`: each item is the
///   finished [`Task`] itself.
///
/// [`.timeout(t)`](AsCompleted::timeout) sets an overall limit: once it passes, every outcome
/// not given yet comes out as a timeout error, and the tasks keep running. Dropping the
/// `AsCompleted` and every `NextCompleted` cancels the tasks that have not finished (asyncio
/// would leave them running unobserved).
///
/// # Panics
/// Outside a running loop.
///
/// # Examples
/// ```
/// # asyncio::Runner::new().virtual_time(true).run(async {
/// async fn after(delay: f64, what: &'static str) -> &'static str {
///     asyncio::sleep(delay).await;
///     what
/// }
/// let mut order = Vec::new();
/// for next in asyncio::as_completed(vec![after(3.0, "c"), after(1.0, "a"), after(2.0, "b")]) {
///     order.push(next.await.unwrap());
/// }
/// assert_eq!(order, ["a", "b", "c"]);
/// # });
/// ```
#[track_caller]
pub fn as_completed<I>(futs: I) -> AsCompleted<<I::Item as IntoFuture>::Output>
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
    let watch = Watch::new();
    for (index, task) in tasks.iter().enumerate() {
        let _ = watch.watch(index, task, always);
    }
    AsCompleted {
        issued: 0,
        total: tasks.len(),
        shared: Rc::new(RefCell::new(Shared {
            tasks,
            watch,
            finished: VecDeque::new(),
            deadline: Deadline::new(None),
            timed_out: false,
            delivered: 0,
            ready: Vec::new(),
        })),
    }
}

struct Shared<T: 'static> {
    tasks: Vec<Task<T>>,
    watch: Watch,
    /// Finished tasks not given out yet, in the order they finished.
    finished: VecDeque<usize>,
    deadline: Deadline,
    timed_out: bool,
    /// Outcomes given out (values and timeouts), at most `tasks.len()`.
    delivered: usize,
    ready: Vec<usize>,
}

impl<T: 'static> Shared<T> {
    /// The next finished task's index, `Err` past the timeout, `None` when all were given.
    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<usize, TimeoutError>>> {
        if self.delivered == self.tasks.len() {
            return Poll::Ready(None);
        }
        if !self.timed_out {
            self.watch.add_waiter(cx.waker());
            self.watch.take_ready(&mut self.ready);
            self.finished.extend(self.ready.drain(..));
        }
        if let Some(index) = self.finished.pop_front() {
            self.delivered += 1;
            return Poll::Ready(Some(Ok(index)));
        }
        if self.timed_out || self.deadline.poll_expired(cx) {
            if !self.timed_out {
                self.timed_out = true;
                // Other awaitables may be waiting; each of them now ends with a timeout.
                self.watch.wake_waiters(cx.waker());
            }
            self.delivered += 1;
            return Poll::Ready(Some(Err(TimeoutError::default())));
        }
        Poll::Pending
    }
}

impl<T: 'static> Drop for Shared<T> {
    fn drop(&mut self) {
        cancel_pending(self.tasks.drain(..));
    }
}

/// The iterator and stream of [`as_completed`].
///
/// # Cancel safety
/// Dropping it (with every [`NextCompleted`] it gave) cancels the tasks that have not
/// finished; outcomes not given yet are dropped.
#[must_use = "the tasks run anyway; iterate to get their outcomes"]
pub struct AsCompleted<T: 'static> {
    shared: Rc<RefCell<Shared<T>>>,
    /// Awaitables given by the iterator.
    issued: usize,
    total: usize,
}

impl<T: 'static> AsCompleted<T> {
    /// Gives up waiting after `timeout` (seconds, a [`Duration`](std::time::Duration), or
    /// `None`), counted from now: every outcome not given by then comes out as a timeout
    /// error.
    ///
    /// # Panics
    /// Outside a running loop, for a finite timeout.
    ///
    /// # Examples
    /// ```
    /// # asyncio::Runner::new().virtual_time(true).run(async {
    /// let futs = vec![asyncio::sleep(1.0), asyncio::sleep(5.0)];
    /// let outcomes: Vec<_> = {
    ///     let mut v = Vec::new();
    ///     for next in asyncio::as_completed(futs).timeout(2.0) {
    ///         v.push(next.await);
    ///     }
    ///     v
    /// };
    /// assert!(outcomes[0].is_ok());
    /// assert!(matches!(outcomes[1], Err(asyncio::TaskError::Timeout(_))));
    /// assert_eq!(asyncio::get_running_loop().time(), 2.0);
    /// # });
    /// ```
    pub fn timeout(self, timeout: impl IntoTimeout) -> Self {
        let when = deadline_after(timeout.into_timeout(), "as_completed");
        self.shared.borrow_mut().deadline.set(when);
        self
    }

    /// The next task to finish, itself (Python's `async for task in as_completed(...)`);
    /// `None` once every task was given.
    ///
    /// # Examples
    /// ```
    /// # asyncio::Runner::new().virtual_time(true).run(async {
    /// let mut it = asyncio::as_completed(vec![asyncio::sleep(2.0), asyncio::sleep(1.0)]);
    /// let mut n = 0;
    /// while let Some(task) = it.next_task().await {
    ///     let task = task.unwrap(); // no timeout was set
    ///     assert!(task.done());
    ///     n += 1;
    /// }
    /// assert_eq!(n, 2);
    /// # });
    /// ```
    pub fn next_task(&mut self) -> NextTask<'_, T> {
        NextTask { it: self }
    }

    /// [`next_task`](AsCompleted::next_task) as a poll function, the shape of
    /// `Stream::poll_next`.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let mut it = asyncio::as_completed(vec![async { 1 }]);
    /// let task = std::future::poll_fn(|cx| it.poll_next_task(cx)).await.unwrap().unwrap();
    /// assert_eq!(task.await.unwrap(), 1);
    /// # });
    /// ```
    pub fn poll_next_task(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Task<T>, TimeoutError>>> {
        let mut shared = self.shared.borrow_mut();
        shared
            .poll_next(cx)
            .map(|next| next.map(|result| result.map(|index| shared.tasks[index].clone())))
    }
}

impl<T: 'static> Iterator for AsCompleted<T> {
    type Item = NextCompleted<T>;

    fn next(&mut self) -> Option<NextCompleted<T>> {
        if self.issued == self.total {
            return None;
        }
        self.issued += 1;
        Some(NextCompleted {
            shared: self.shared.clone(),
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.total - self.issued;
        (left, Some(left))
    }
}

impl<T: 'static> ExactSizeIterator for AsCompleted<T> {}

/// One awaitable of [`as_completed`]'s iterator: the earliest outcome not given yet.
///
/// # Cancel safety
/// Dropping it before it finishes loses nothing: the next outcome goes to the next awaitable.
#[must_use = "futures do nothing unless awaited"]
pub struct NextCompleted<T: 'static> {
    shared: Rc<RefCell<Shared<T>>>,
}

impl<T: 'static> Future for NextCompleted<T> {
    /// # Errors
    /// The task's `Cancelled` or `Panicked`, or `TaskError::Timeout` past the timeout.
    type Output = Result<T, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut shared = self.shared.borrow_mut();
        match shared.poll_next(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(index))) => {
                let task = shared.tasks[index].clone();
                drop(shared);
                Poll::Ready(task.result())
            }
            Poll::Ready(Some(Err(timeout))) => Poll::Ready(Err(TaskError::Timeout(timeout))),
            // More awaitables were polled than there are tasks (one was polled after its
            // outcome was given): nothing is left for it.
            Poll::Ready(None) => Poll::Ready(Err(TaskError::InvalidState(
                crate::error::InvalidStateError {
                    msg: "as_completed: every outcome was already given",
                },
            ))),
        }
    }
}

/// The future of [`AsCompleted::next_task`].
///
/// # Cancel safety
/// Dropping it before it finishes loses nothing: the next task goes to the next call.
#[must_use = "futures do nothing unless awaited"]
pub struct NextTask<'a, T: 'static> {
    it: &'a mut AsCompleted<T>,
}

impl<T: 'static> Future for NextTask<'_, T> {
    type Output = Option<Result<Task<T>, TimeoutError>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.it.poll_next_task(cx)
    }
}

impl<T: 'static> fmt::Debug for AsCompleted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Ok(shared) = self.shared.try_borrow() else {
            return f.write_str("AsCompleted { .. }");
        };
        f.debug_struct("AsCompleted")
            .field("tasks", &shared.tasks.len())
            .field("given", &shared.delivered)
            .field("timed_out", &shared.timed_out)
            .finish()
    }
}

impl<T: 'static> fmt::Debug for NextCompleted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NextCompleted").finish_non_exhaustive()
    }
}

impl<T: 'static> fmt::Debug for NextTask<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NextTask").finish_non_exhaustive()
    }
}

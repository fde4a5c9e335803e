//! `wait`: wait for tasks until the first finishes, the first fails, or all are done.

use super::deadline::{Deadline, IntoTimeout, deadline_after};
use super::notify::Watch;
use crate::error::TaskError;
use crate::task::Task;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// When [`wait`] returns (asyncio's `return_when` constants).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ReturnWhen {
    /// As soon as any task finishes or is cancelled.
    FirstCompleted,
    /// As soon as any task fails (see [`Wait::return_when`]); when none does, as
    /// `AllCompleted`.
    FirstException,
    /// When every task has finished or been cancelled.
    #[default]
    AllCompleted,
}

/// [`wait`] returns as soon as any task finishes or is cancelled.
pub const FIRST_COMPLETED: ReturnWhen = ReturnWhen::FirstCompleted;
/// [`wait`] returns as soon as any task fails; when none does, once all are done.
pub const FIRST_EXCEPTION: ReturnWhen = ReturnWhen::FirstException;
/// [`wait`] returns once every task is done (the default).
pub const ALL_COMPLETED: ReturnWhen = ReturnWhen::AllCompleted;

/// Waits for `tasks` and gives back `(done, pending)`: the tasks split by whether they are done,
/// each list in input order (asyncio's `wait`, which returns two sets).
///
/// Keyword arguments are builder methods: [`.return_when(..)`](Wait::return_when) (default
/// [`ALL_COMPLETED`]) and [`.timeout(..)`](Wait::timeout). On timeout the pending tasks are
/// not cancelled, and dropping the wait cancels nothing: the caller owns the tasks. Outcomes are
/// not taken: await or `result()` the done tasks to get them. An empty `tasks` gives two empty
/// lists at once (asyncio raises `ValueError`).
///
/// # Examples
/// ```
/// # asyncio::Runner::new().virtual_time(true).run(async {
/// use asyncio::{create_task, sleep, wait, FIRST_COMPLETED};
/// let tasks = vec![create_task(sleep(1.0)), create_task(sleep(2.0))];
/// let (done, pending) = wait(tasks.clone()).return_when(FIRST_COMPLETED).await;
/// assert_eq!((done.len(), pending.len()), (1, 1));
/// assert_eq!(asyncio::get_running_loop().time(), 1.0);
/// let (done, pending) = wait(tasks).await; // ALL_COMPLETED
/// assert_eq!((done.len(), pending.len()), (2, 0));
/// # });
/// ```
pub fn wait<T: 'static>(tasks: impl IntoIterator<Item = Task<T>>) -> Wait<T> {
    Wait {
        tasks: tasks.into_iter().collect(),
        return_when: ReturnWhen::AllCompleted,
        timeout: None,
        exception_if: None,
    }
}

/// The builder of [`wait`]; awaiting it waits.
#[must_use = "wait does nothing unless awaited"]
pub struct Wait<T: 'static> {
    tasks: Vec<Task<T>>,
    return_when: ReturnWhen,
    timeout: Option<Duration>,
    exception_if: Option<fn(&T) -> bool>,
}

impl<T: 'static> Wait<T> {
    /// When to return: [`FIRST_COMPLETED`], [`FIRST_EXCEPTION`] or [`ALL_COMPLETED`].
    ///
    /// For `FIRST_EXCEPTION` a task "raised" if it panicked (a cancelled task does not count,
    /// as in asyncio), or if its output matches [`exception_if`](Wait::exception_if).
    ///
    /// # Examples
    /// ```
    /// # asyncio::Runner::new().virtual_time(true).run(async {
    /// use asyncio::{create_task, sleep, wait, FIRST_EXCEPTION};
    /// let boom = create_task(async { sleep(1.0).await; panic!("boom") });
    /// let slow = create_task(sleep(5.0));
    /// let (done, pending) = wait(vec![boom, slow]).return_when(FIRST_EXCEPTION).await;
    /// assert_eq!((done.len(), pending.len()), (1, 1));
    /// assert!(done[0].result().unwrap_err().is_panic());
    /// # });
    /// ```
    pub fn return_when(mut self, return_when: ReturnWhen) -> Self {
        self.return_when = return_when;
        self
    }

    /// Returns after `timeout` (seconds, a [`Duration`], or `None` for never) even if the
    /// condition is not met; the tasks still pending are left running.
    ///
    /// # Examples
    /// ```
    /// # asyncio::Runner::new().virtual_time(true).run(async {
    /// let task = asyncio::create_task(asyncio::sleep(10.0));
    /// let (done, pending) = asyncio::wait(vec![task.clone()]).timeout(2.0).await;
    /// assert!(done.is_empty() && pending.len() == 1);
    /// assert!(!task.cancelled());
    /// # task.cancel();
    /// # });
    /// ```
    pub fn timeout(mut self, timeout: impl IntoTimeout) -> Self {
        self.timeout = timeout.into_timeout();
        self
    }

    /// Which outputs count as failures for [`FIRST_EXCEPTION`], besides panics: for tasks that
    /// return `Result`, `.exception_if(Result::is_err)` makes an `Err` count, as a raised
    /// exception does in asyncio.
    ///
    /// # Examples
    /// ```
    /// # asyncio::Runner::new().virtual_time(true).run(async {
    /// use asyncio::{create_task, sleep, wait, FIRST_EXCEPTION};
    /// let bad = create_task(async { sleep(1.0).await; Err::<u8, &str>("bad") });
    /// let slow = create_task(async { sleep(5.0).await; Ok(1) });
    /// let (done, _pending) = wait(vec![bad, slow.clone()])
    ///     .return_when(FIRST_EXCEPTION)
    ///     .exception_if(Result::is_err)
    ///     .await;
    /// assert_eq!(done.len(), 1);
    /// assert_eq!(asyncio::get_running_loop().time(), 1.0);
    /// # slow.cancel();
    /// # });
    /// ```
    pub fn exception_if(mut self, is_exception: fn(&T) -> bool) -> Self {
        self.exception_if = Some(is_exception);
        self
    }
}

impl<T: 'static> IntoFuture for Wait<T> {
    type Output = (Vec<Task<T>>, Vec<Task<T>>);
    type IntoFuture = WaitFuture<T>;

    fn into_future(self) -> WaitFuture<T> {
        WaitFuture {
            remaining: self.tasks.len(),
            wait: self,
            watch: Watch::new(),
            deadline: None,
            ready: Vec::new(),
            callbacks: Vec::new(),
        }
    }
}

/// The future of [`wait`]: `(done, pending)`.
///
/// # Cancel safety
/// Dropping it loses nothing: the tasks run on, their outcomes untouched.
#[must_use = "futures do nothing unless awaited"]
pub struct WaitFuture<T: 'static> {
    wait: Wait<T>,
    remaining: usize,
    watch: Watch,
    /// Set at the first poll (the wait starts when awaited, as a coroutine does).
    deadline: Option<Deadline>,
    ready: Vec<usize>,
    /// Done callbacks registered on the tasks, removed when the wait ends.
    callbacks: Vec<(usize, u64)>,
}

impl<T: 'static> WaitFuture<T> {
    fn failed(&self, task: &Task<T>) -> bool {
        raised(task, self.wait.exception_if)
    }

    fn remove_callbacks(&mut self) {
        for (index, id) in self.callbacks.drain(..) {
            self.wait.tasks[index].remove_done_callback(id);
        }
    }

    fn split(&mut self) -> (Vec<Task<T>>, Vec<Task<T>>) {
        self.remove_callbacks();
        std::mem::take(&mut self.wait.tasks)
            .into_iter()
            .partition(|task| task.done())
    }
}

/// Whether a finished task counts as having raised for `FIRST_EXCEPTION`: it panicked, or its
/// output matches `is_exception`. A cancelled task does not count, as in asyncio.
fn raised<T: 'static>(task: &Task<T>, is_exception: Option<fn(&T) -> bool>) -> bool {
    task.outcome_matches(|outcome| match outcome {
        Err(TaskError::Panicked(_)) => true,
        Ok(value) => is_exception.is_some_and(|f| f(value)),
        Err(_) => false,
    })
}

impl<T: 'static> Future for WaitFuture<T> {
    type Output = (Vec<Task<T>>, Vec<Task<T>>);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.watch.set_waiter(cx.waker());
        if this.deadline.is_none() {
            this.deadline = Some(Deadline::new(deadline_after(this.wait.timeout, "wait")));
            for (index, task) in this.wait.tasks.iter().enumerate() {
                // Woken only when the condition may be met, as asyncio's `_on_completion`.
                let return_when = this.wait.return_when;
                let is_exception = this.wait.exception_if;
                let wake_if = move |task: &Task<T>| match return_when {
                    ReturnWhen::FirstCompleted => true,
                    ReturnWhen::FirstException => raised(task, is_exception),
                    ReturnWhen::AllCompleted => false,
                };
                if let Some(id) = this.watch.watch(index, task, wake_if) {
                    this.callbacks.push((index, id));
                }
            }
        }
        this.watch.take_ready(&mut this.ready);
        let mut stop = false;
        for index in std::mem::take(&mut this.ready) {
            this.remaining -= 1;
            stop |= match this.wait.return_when {
                ReturnWhen::FirstCompleted => true,
                ReturnWhen::FirstException => this.failed(&this.wait.tasks[index]),
                ReturnWhen::AllCompleted => false,
            };
        }
        if stop || this.remaining == 0 {
            return Poll::Ready(this.split());
        }
        if let Some(deadline) = &mut this.deadline {
            if deadline.poll_expired(cx) {
                return Poll::Ready(this.split());
            }
        }
        Poll::Pending
    }
}

impl<T: 'static> Drop for WaitFuture<T> {
    fn drop(&mut self) {
        self.remove_callbacks();
    }
}

impl<T: 'static> fmt::Debug for Wait<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wait")
            .field("tasks", &self.tasks)
            .field("return_when", &self.return_when)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl<T: 'static> fmt::Debug for WaitFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitFuture")
            .field("wait", &self.wait)
            .field("remaining", &self.remaining)
            .finish()
    }
}

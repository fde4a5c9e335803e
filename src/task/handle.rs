//! `Task<T>`, the handle users hold, and `TaskRef`, the same without the output type.

use super::cell::{RawTask, TaskCell, TaskOutput};
use super::local::LocalRef;
use crate::error::{InvalidStateError, TaskError};
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll};
use std::time::Duration;

/// A future running on the loop as a task (asyncio's `Task`).
///
/// Made by [`create_task`](crate::create_task). Awaiting it gives `Ok(output)`, or
/// `Err(TaskError::Cancelled)` / `Err(TaskError::Panicked)`. Handles are cheap clones of one
/// task; the output is moved out once, to the first that takes it.
///
/// Dropping a `Task` does not cancel it: the loop keeps running it, as asyncio does (keep a
/// handle if you want its outcome, or call [`cancel`](Task::cancel)).
///
/// # Cancel safety
/// Dropping a pending `.await` on a task loses nothing: the task runs on and its outcome stays
/// for another handle.
///
/// # Examples
/// ```
/// # asyncio::run(async {
/// let task = asyncio::create_task(async { 6 * 7 });
/// assert!(!task.done());
/// assert_eq!(task.clone().await.unwrap(), 42);
/// assert!(task.done());
/// # });
/// ```
#[must_use = "a task runs without its handle, but its outcome is only seen through it"]
pub struct Task<T> {
    cell: LocalRef<dyn TaskOutput<T>>,
}

impl<T> Clone for Task<T> {
    fn clone(&self) -> Self {
        Task {
            cell: self.cell.clone(),
        }
    }
}

impl<T: 'static> Task<T> {
    pub(crate) fn from_cell<F: Future<Output = T> + 'static>(cell: LocalRef<TaskCell<F>>) -> Self {
        Task {
            cell: cell.map(|p| p as NonNull<dyn TaskOutput<T>>),
        }
    }

    /// The task's key in its loop's slab.
    pub(crate) fn key(&self) -> u64 {
        self.cell.base().key()
    }

    /// Asks the task to stop: its future is dropped at the loop's next turn and the task ends
    /// cancelled. Returns false if the task is already done.
    ///
    /// Inside a [`catch_cancel`](crate::catch_cancel) or [`on_cancel`](crate::on_cancel) scope
    /// the cancellation is delivered to the scope instead, as asyncio throws `CancelledError`
    /// into the task: the scope can clean up, or catch it and carry on. Each call counts one in
    /// [`cancelling`](Task::cancelling).
    ///
    /// # Compared with asyncio
    /// - Catchable only inside those scopes. Elsewhere a cancel drops the future, so code after
    ///   an await never runs and cleanup lives in `Drop` (which cannot await).
    /// - Awaiting a task that ends cancelled gives `Err(TaskError::Cancelled)`, a value: it
    ///   does not cancel the awaiting task, as re-raising would in Python.
    /// - Cancelling a task also cancels the task it awaits, as asyncio's does, but the awaiting
    ///   task gets its own cancellation at its next turn, not when the awaited one ends.
    /// - Futures polled side by side in one task (`join!`, `select!`) share its cancellation:
    ///   the first scope polled catches it.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let task = asyncio::create_task(asyncio::sleep(3600.0));
    /// assert!(task.cancel());
    /// assert!(task.clone().await.unwrap_err().is_cancelled());
    /// assert!(task.cancelled());
    /// assert!(!task.cancel());
    /// # });
    /// ```
    pub fn cancel(&self) -> bool {
        self.cell.base().cancel(None)
    }

    /// [`cancel`](Task::cancel) with a message, carried by the `CancelledError`.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let task = asyncio::create_task(asyncio::sleep(3600.0));
    /// task.cancel_with("shutting down");
    /// let err = task.await.unwrap_err();
    /// assert_eq!(err.to_string(), "cancelled: shutting down");
    /// # });
    /// ```
    pub fn cancel_with(&self, msg: impl Into<String>) -> bool {
        self.cell.base().cancel(Some(msg.into()))
    }

    /// How many cancels were asked for and not taken back by [`uncancel`](Task::uncancel)
    /// (asyncio's `Task.cancelling()`): every [`cancel`](Task::cancel) of a pending task
    /// counts one.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let task = asyncio::create_task(asyncio::sleep(10.0));
    /// assert_eq!(task.cancelling(), 0);
    /// task.cancel();
    /// task.cancel();
    /// assert_eq!(task.cancelling(), 2);
    /// assert!(!task.cancelled()); // not ended yet
    /// # let _ = task.await;
    /// # });
    /// ```
    pub fn cancelling(&self) -> u32 {
        self.cell.common().cancelling()
    }

    /// Takes one cancel request back and returns how many are left (asyncio's
    /// `Task.uncancel()`, as 3.13 has it: at zero, a cancel not delivered yet is dropped, and
    /// the task runs on). [`catch_cancel`](crate::catch_cancel) calls it for you; the
    /// deadlines of [`timeout`](crate::timeout) and [`wait_for`](crate::wait_for) use the
    /// count to tell their own cancel from one that came from outside.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let task = asyncio::create_task(async { 5 });
    /// task.cancel();
    /// assert_eq!(task.uncancel(), 0); // taken back before it was delivered
    /// assert_eq!(task.await.unwrap(), 5);
    /// # });
    /// ```
    pub fn uncancel(&self) -> u32 {
        self.cell.common().uncancel()
    }

    /// Whether the task ended by cancellation.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let task = asyncio::create_task(async {});
    /// asyncio::sleep(0).await;
    /// assert!(!task.cancelled());
    /// # });
    /// ```
    pub fn cancelled(&self) -> bool {
        self.cell.common().cancelled()
    }

    /// Whether the task has finished: returned, panicked or was cancelled.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let task = asyncio::create_task(async {});
    /// assert!(!task.done());
    /// asyncio::sleep(0).await;
    /// assert!(task.done());
    /// # });
    /// ```
    pub fn done(&self) -> bool {
        self.cell.common().done()
    }

    /// Takes the outcome of a finished task, without waiting.
    ///
    /// # Errors
    /// `TaskError::InvalidState` while the task is pending, or when another handle already took
    /// the outcome; otherwise the task's own `Cancelled` or `Panicked`.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let task = asyncio::create_task(async { "ok" });
    /// assert!(matches!(task.result(), Err(asyncio::TaskError::InvalidState(_))));
    /// asyncio::sleep(0).await;
    /// assert_eq!(task.result().unwrap(), "ok");
    /// # });
    /// ```
    pub fn result(&self) -> Result<T, TaskError> {
        self.cell
            .take_outcome()
            .unwrap_or(Err(TaskError::InvalidState(InvalidStateError {
                msg: "Result is not set.",
            })))
    }

    /// Calls `callback` with the task once it is done (soon after, from the loop, as asyncio
    /// schedules done callbacks). If the task is already done the callback is scheduled now.
    /// Returns an id for [`remove_done_callback`](Task::remove_done_callback).
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// use std::{cell::Cell, rc::Rc};
    /// let seen = Rc::new(Cell::new(false));
    /// let task = asyncio::create_task(async {});
    /// let flag = seen.clone();
    /// task.add_done_callback(move |t| flag.set(t.done()));
    /// asyncio::sleep(0).await;
    /// asyncio::sleep(0).await;
    /// assert!(seen.get());
    /// # });
    /// ```
    pub fn add_done_callback(&self, callback: impl FnOnce(&Task<T>) + 'static) -> u64 {
        let task = self.clone();
        // Bound to a handle of its task now: the cycle this makes (the task holds the
        // callback, the callback a handle) ends when the task completes and lets it go.
        let run = move || callback(&task);
        // As asyncio's: the callback runs in a copy of the context it was added in.
        let bound: Box<dyn FnOnce()> = match crate::contextvars::capture() {
            None => Box::new(run),
            ctx => Box::new(crate::contextvars::bind(ctx, run)),
        };
        let common = self.cell.common();
        let (id, done) = common.add_callback(bound);
        if let Some(bound) = done {
            match common.core.upgrade() {
                Some(core) => core.call_soon(bound, None),
                None => bound(),
            }
        }
        id
    }

    /// Removes a callback that has not run yet; true if it was there.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let task = asyncio::create_task(async {});
    /// let id = task.add_done_callback(|_| unreachable!());
    /// assert!(task.remove_done_callback(id));
    /// assert!(!task.remove_done_callback(id));
    /// # });
    /// ```
    pub fn remove_done_callback(&self, id: u64) -> bool {
        self.cell.common().remove_callback(id)
    }

    /// This task, without its output type: what [`current_task`](crate::current_task) and
    /// [`all_tasks`](crate::all_tasks) give.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let task = asyncio::create_task(async {});
    /// assert_eq!(task.as_ref().id(), task.id());
    /// # });
    /// ```
    pub fn as_ref(&self) -> TaskRef {
        TaskRef {
            raw: self.cell.clone().map(|p| p as NonNull<dyn RawTask>),
        }
    }

    /// Sets the name and returns the handle, for `create_task(fut).with_name("worker-1")`.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let task = asyncio::create_task(async {}).with_name("worker-1");
    /// assert_eq!(task.name(), "worker-1");
    /// # });
    /// ```
    pub fn with_name(self, name: impl Into<String>) -> Self {
        self.set_name(name);
        self
    }

    /// Runs the task in `ctx` from its next step on, instead of the copy of its creator's
    /// context it was given (asyncio's `create_task(coro, context=ctx)`): what the task sets
    /// is seen in `ctx` afterwards.
    ///
    /// A task started by an eager task factory ran its first step in the copy already.
    ///
    /// # Examples
    /// ```
    /// use asyncio::contextvars::{Context, ContextVar};
    ///
    /// static USER: ContextVar<&str> = ContextVar::new("user");
    ///
    /// # asyncio::run(async {
    /// let ctx = Context::new();
    /// asyncio::create_task(async { USER.set("ada"); }).with_context(ctx.clone()).await.unwrap();
    /// assert_eq!(ctx.get(&USER), Some("ada"));
    /// assert_eq!(USER.get(), None);
    /// # });
    /// ```
    pub fn with_context(self, ctx: crate::contextvars::Context) -> Self {
        let common = self.cell.common();
        if let (false, Some(core)) = (self.done(), common.core.upgrade()) {
            core.set_task_context(self.cell.header().key, common, Some(ctx));
        }
        self
    }
}

macro_rules! introspection {
    ([$($generics:tt)*] $ty:ty, $field:ident) => {
        impl<$($generics)*> $ty {
            /// A number unique among the tasks of this process; the `N` of the default name.
            ///
            /// The tasks made on one thread count up one by one. Each thread takes its
            /// numbers from the process's counter in blocks of 1,024, so, unlike asyncio's
            /// one global counter, numbers do not follow creation order across threads.
            ///
            /// # Examples
            /// ```
            /// # asyncio::run(async {
            /// let task = asyncio::create_task(async {});
            /// assert_eq!(task.id(), task.as_ref().id());
            /// assert_eq!(task.name(), format!("Task-{}", task.id()));
            /// # });
            /// ```
            pub fn id(&self) -> u64 {
                self.$field.common().id()
            }

            /// The task's name: `Task-N` unless set.
            ///
            /// # Examples
            /// ```
            /// # asyncio::run(async {
            /// let task = asyncio::create_task(async {});
            /// task.as_ref().set_name("worker");
            /// assert_eq!(task.name(), "worker");
            /// # });
            /// ```
            pub fn name(&self) -> String {
                self.$field.common().name()
            }

            /// Renames the task.
            ///
            /// # Examples
            /// ```
            /// # asyncio::run(async {
            /// let task = asyncio::create_task(async {});
            /// task.set_name("worker");
            /// assert_eq!(task.as_ref().name(), "worker");
            /// # });
            /// ```
            pub fn set_name(&self, name: impl Into<String>) {
                self.$field.common().set_name(name.into())
            }

            /// Where the task was created (`#[track_caller]` of `create_task`).
            ///
            /// # Examples
            /// ```
            /// # asyncio::run(async {
            /// let task = asyncio::create_task(async {});
            /// assert_eq!(task.location().line(), line!() - 1);
            /// # });
            /// ```
            pub fn location(&self) -> &'static Location<'static> {
                self.$field.common().location()
            }

            /// How many times the loop has polled the task.
            ///
            /// # Examples
            /// ```
            /// # asyncio::run(async {
            /// let task = asyncio::create_task(async { asyncio::sleep(0).await });
            /// task.clone().await.unwrap();
            /// assert_eq!(task.as_ref().poll_count(), 2);
            /// # });
            /// ```
            pub fn poll_count(&self) -> u64 {
                self.$field.common().polls()
            }

            /// Time spent inside the task's polls; counted in debug mode
            /// ([`Runner::debug`](crate::Runner::debug)) and while the loop serves `asyncio-ps`
            /// ([`introspection::serve`](crate::introspection::serve)), zero otherwise.
            ///
            /// # Examples
            /// ```
            /// # asyncio::run(async {
            /// let task = asyncio::create_task(async {});
            /// assert_eq!(task.busy_time(), std::time::Duration::ZERO);
            /// # });
            /// ```
            pub fn busy_time(&self) -> Duration {
                self.$field.common().busy()
            }
        }
    };
}

introspection!([T: 'static] Task<T>, cell);

impl<T: 'static> Future for Task<T> {
    type Output = Result<T, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.cell.take_outcome() {
            Some(outcome) => Poll::Ready(outcome),
            None => {
                let common = self.cell.common();
                common.add_waiter(cx.waker());
                let key = self.cell.base().key();
                crate::runtime::context::with_core(|core| core.note_await(key));
                Poll::Pending
            }
        }
    }
}

impl<T: 'static> fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_ref().fmt(f)
    }
}

/// A handle to a task of any output type: id, name, state and cancellation.
///
/// # Examples
/// ```
/// # asyncio::run(async {
/// let me = asyncio::current_task().unwrap();
/// assert!(!me.done());
/// assert!(me.name().starts_with("Task-"));
/// # });
/// ```
#[derive(Clone)]
pub struct TaskRef {
    raw: LocalRef<dyn RawTask>,
}

impl TaskRef {
    /// The task's key in its loop's slab.
    pub(super) fn slab_key(&self) -> u64 {
        self.raw.base().key()
    }

    pub(crate) fn new(raw: LocalRef<dyn RawTask>) -> Self {
        TaskRef { raw }
    }

    pub(crate) fn into_raw(self) -> LocalRef<dyn RawTask> {
        self.raw
    }

    /// See [`Task::cancel`].
    pub fn cancel(&self) -> bool {
        self.raw.base().cancel(None)
    }

    /// See [`Task::cancel_with`].
    pub fn cancel_with(&self, msg: impl Into<String>) -> bool {
        self.raw.base().cancel(Some(msg.into()))
    }

    /// See [`Task::done`].
    pub fn done(&self) -> bool {
        self.raw.common().done()
    }

    /// See [`Task::cancelling`]; on [`current_task`](crate::current_task), a task's own count.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let me = asyncio::current_task().unwrap();
    /// let r = asyncio::catch_cancel(async {
    ///     asyncio::current_task().unwrap().cancel();
    ///     assert_eq!(asyncio::current_task().unwrap().cancelling(), 1);
    ///     asyncio::sleep(1.0).await;
    /// })
    /// .await;
    /// assert!(r.is_err());
    /// assert_eq!(me.cancelling(), 0); // catch_cancel took it back
    /// # });
    /// ```
    pub fn cancelling(&self) -> u32 {
        self.raw.common().cancelling()
    }

    /// See [`Task::uncancel`].
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let me = asyncio::current_task().unwrap();
    /// me.cancel();
    /// assert_eq!(me.uncancel(), 0); // taken back before it was delivered: no cancel
    /// asyncio::sleep(0).await;
    /// # });
    /// ```
    pub fn uncancel(&self) -> u32 {
        self.raw.common().uncancel()
    }

    /// The task's common fields (its cancellation scopes, the call graph).
    pub(crate) fn common(&self) -> &super::common::Common {
        self.raw.common()
    }

    /// The task's key in its loop's slab.
    pub(crate) fn key(&self) -> u64 {
        self.raw.base().key()
    }

    /// What the task is parked on in its current step (`super::waiting`), or 0.
    pub(crate) fn waiting_tag(&self) -> u8 {
        self.raw
            .header()
            .waiting
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether the task is pending in its loop's ready queue, to run at its next turn.
    pub(crate) fn scheduled(&self) -> bool {
        !self.done() && self.raw.header().queued.is_set()
    }

    /// See [`Task::cancelled`].
    pub fn cancelled(&self) -> bool {
        self.raw.common().cancelled()
    }
}

introspection!([] TaskRef, raw);

impl PartialEq for TaskRef {
    fn eq(&self, other: &Self) -> bool {
        self.id() == other.id()
    }
}

impl Eq for TaskRef {}

impl fmt::Debug for TaskRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = if self.cancelled() {
            "cancelled"
        } else if self.done() {
            "finished"
        } else {
            "pending"
        };
        write!(
            f,
            "<Task {} name={:?} {} created at {}>",
            state,
            self.name(),
            self.id(),
            self.location()
        )
    }
}

// Hook for the combinators (a gather ending at a failure, `wait`'s FIRST_EXCEPTION): look at
// a finished task's outcome without taking it, so the caller can still take it afterwards.
impl<T: 'static> Task<T> {
    /// Whether the task is done, its outcome not taken yet, and `f` says yes to it.
    pub(crate) fn outcome_matches(
        &self,
        mut f: impl FnMut(Result<&T, &TaskError>) -> bool,
    ) -> bool {
        self.cell.outcome_matches(&mut f)
    }
}

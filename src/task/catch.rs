//! Cancellation a task can catch: [`on_cancel`] and [`catch_cancel`].
//!
//! # How it works
//! A task with no catching scope is cancelled as always: its future is dropped at its next
//! turn. A scope, at its first poll, registers with its task (a count and a flag in the
//! task's common fields), and from then on a cancel is *delivered* instead: the loop polls the
//! task with a `DELIVERING` flag set, asyncio's `CancelledError` on its way up the stack. The
//! innermost scope (the one registered last) takes it before polling its body, so the body
//! runs no further, as in asyncio the exception is thrown at the await where the task sits.
//! An outer scope polls its body first, and takes the cancellation only if it comes back up
//! uncaught: raised again by an [`on_cancel`] that finished its cleanup, or passed on by a
//! deadline that did not convert it. If it leaves the task's poll uncaught, the task ends
//! cancelled in that same poll.
//!
//! The deadlines ([`timeout`](crate::timeout), [`wait_for`](crate::wait_for)) take part
//! through [`expiry`](super::expiry): with a scope inside their block they cancel the task as
//! asyncio's `Timeout` does and convert the cancellation that comes back, by asyncio's
//! `cancelling()` rule; with none they drop the block at once, which nobody can tell apart.

use super::TaskRef;
use crate::error::CancelledError;
use std::cell::Cell;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};

thread_local! {
    /// The key of the task polled now by `run_scoped` (0 outside such a poll): lets a deadline
    /// ask "is a cancellation being delivered to my task?" with a thread-local read.
    static SCOPED_POLL: Cell<u64> = const { Cell::new(0) };
}

pub(super) fn enter_scoped_poll(key: u64) -> u64 {
    SCOPED_POLL.with(|k| k.replace(key))
}

pub(super) fn leave_scoped_poll(previous: u64) {
    SCOPED_POLL.with(|k| k.set(previous));
}

/// Whether the task with this key is being polled with a catching scope or a cancel.
pub(crate) fn in_scoped_poll(key: u64) -> bool {
    SCOPED_POLL.with(|k| k.get()) == key
}

/// A catching scope's registration with its task, from its first poll until it ends: what
/// [`catch_cancel`], [`on_cancel`] and the combinators that wait for their children on a
/// cancel (`TaskGroup`, `gather`) hold.
pub(crate) struct Scope {
    task: Option<TaskRef>,
    level: u16,
    /// Registered once; stays `true` after [`Scope::exit`].
    entered: bool,
}

impl Scope {
    pub(crate) fn new() -> Scope {
        Scope {
            task: None,
            level: 0,
            entered: false,
        }
    }

    /// Registers with the running task at the first poll; outside a task there is nothing to
    /// catch, and the scope only runs its body.
    pub(crate) fn enter(&mut self) {
        if !self.entered {
            self.entered = true;
            self.task = crate::current_task();
            if let Some(task) = &self.task {
                self.level = task.common().scope_enter();
            }
        }
    }

    pub(crate) fn exit(&mut self) {
        if let Some(task) = self.task.take() {
            task.common().scope_exit();
        }
    }

    /// The task, while the scope is registered with it.
    pub(crate) fn task(&self) -> Option<&TaskRef> {
        self.task.as_ref()
    }

    /// Whether a catching scope entered inside this one (and is still there).
    pub(crate) fn has_inner(&self) -> bool {
        self.task
            .as_ref()
            .is_some_and(|t| t.common().scope_depth() > self.level)
    }

    /// A cancellation is on its way up, and no registered scope is inside this one.
    pub(crate) fn innermost_delivery(&self) -> bool {
        self.task.as_ref().is_some_and(|t| {
            let common = t.common();
            common.delivering() && self.level >= common.scope_depth()
        })
    }

    /// A cancellation is on its way up (it came out of the body uncaught).
    pub(crate) fn delivery(&self) -> bool {
        self.task.as_ref().is_some_and(|t| t.common().delivering())
    }

    /// Catches the cancellation on its way up.
    pub(crate) fn take(&self) -> CancelledError {
        match &self.task {
            Some(task) => task.common().take_delivery(),
            None => CancelledError::default(),
        }
    }

    /// For a combinator that waits for its children on a cancel: catches a cancellation that
    /// reached it (no scope inside), keeping the first one in `caught`. True if one came now.
    pub(crate) fn catch_into(&self, caught: &mut Option<CancelledError>) -> bool {
        if !self.innermost_delivery() {
            return false;
        }
        let error = self.take();
        caught.get_or_insert(error);
        true
    }

    /// Lets a caught cancellation go on up (asyncio's bare `raise`), and leaves the task's
    /// stack: the caller then stays pending, for an outer scope or the task to take it.
    pub(crate) fn raise_again(&mut self, error: CancelledError) {
        if let Some(task) = &self.task {
            if !task.common().delivering() {
                task.common().raise_again(error);
            }
        }
        self.exit();
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        self.exit();
    }
}

/// Runs `body`, catching the task's cancellation (asyncio's
/// `try: await body  except CancelledError: ...` with `uncancel()`): `Ok(output)`, or
/// `Err(CancelledError)` with `body` dropped, and the task carries on, uncancelled.
///
/// Only a cancellation that arrives while `body` runs is caught, and only the innermost scope
/// catches it (an [`on_cancel`] or `catch_cancel` inside `body` sees it first). The task's
/// [`cancelling`](crate::TaskRef::cancelling) count goes down by one, as `uncancel()` does;
/// a cancel asked for again later is delivered again.
///
/// Unlike Python, where any `except` catches, a cancellation is catchable only inside these
/// scopes: elsewhere it drops the task's future (see [`Task::cancel`](crate::Task::cancel)).
/// The future holds a handle to its task, so it is not `Send`.
///
/// # Errors
/// `CancelledError` (with the message of [`cancel_with`](crate::Task::cancel_with)) when the
/// task was cancelled while `body` ran.
///
/// # Examples
/// ```
/// # asyncio::Runner::new().virtual_time(true).run(async {
/// let worker = asyncio::create_task(async {
///     match asyncio::catch_cancel(asyncio::sleep(3600.0)).await {
///         Ok(()) => "slept",
///         Err(_cancelled) => "woken early, carrying on",
///     }
/// });
/// asyncio::sleep(1.0).await;
/// worker.cancel();
/// assert_eq!(worker.clone().await.unwrap(), "woken early, carrying on");
/// assert!(!worker.cancelled());
/// assert_eq!(worker.cancelling(), 0);
/// # });
/// ```
pub fn catch_cancel<F: IntoFuture>(body: F) -> CatchCancel<F::IntoFuture> {
    CatchCancel {
        body: Some(Box::pin(body.into_future())),
        scope: Scope::new(),
    }
}

/// The future of [`catch_cancel`].
///
/// # Cancel safety
/// Dropping it drops `body`, with what `body` loses when dropped.
#[must_use = "futures do nothing unless awaited"]
pub struct CatchCancel<F: Future> {
    body: Option<Pin<Box<F>>>,
    scope: Scope,
}

impl<F: Future> CatchCancel<F> {
    fn caught(&mut self) -> Poll<Result<F::Output, CancelledError>> {
        let error = self.scope.take();
        self.body = None;
        if let Some(task) = &self.scope.task {
            task.uncancel();
        }
        self.scope.exit();
        Poll::Ready(Err(error))
    }
}

impl<F: Future> Future for CatchCancel<F> {
    type Output = Result<F::Output, CancelledError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // Every field is Unpin (the body is boxed).
        let this = self.get_mut();
        this.scope.enter();
        if this.scope.innermost_delivery() {
            return this.caught();
        }
        let body = this
            .body
            .as_mut()
            .expect("CatchCancel polled after it finished");
        match body.as_mut().poll(cx) {
            Poll::Ready(output) => {
                this.body = None;
                this.scope.exit();
                Poll::Ready(Ok(output))
            }
            Poll::Pending if this.scope.delivery() => this.caught(),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<F: Future> fmt::Debug for CatchCancel<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CatchCancel")
            .field("running", &self.body.is_some())
            .finish()
    }
}

/// Runs `body`; if the task is cancelled meanwhile, drops `body`, runs `cleanup` to its end,
/// and lets the cancellation go on (asyncio's
/// `try: await body  except CancelledError: await cleanup; raise`).
///
/// Not cancelled, it returns `body`'s output. Cancelled, it never returns: once `cleanup` is
/// done the cancellation goes on up, to an enclosing [`catch_cancel`], `on_cancel` or deadline
/// ([`timeout`](crate::timeout) turns its own into `TimeoutError`), or, with none, the task
/// ends cancelled: awaiters get `CancelledError`, as in asyncio.
///
/// `cleanup` may await (say goodbye on a socket, roll back, flush). It is a future like any
/// other: a second cancel while it runs interrupts it and goes on up, as a `CancelledError`
/// raised inside an `except` block does in Python. Only a cancellation that arrives while
/// `body` runs is caught; elsewhere a cancel drops the task's future, and cleanup must live in
/// `Drop`. The future holds a handle to its task, so it is not `Send`.
///
/// # Examples
/// ```
/// # asyncio::Runner::new().virtual_time(true).run(async {
/// use std::{cell::RefCell, rc::Rc};
/// let log = Rc::new(RefCell::new(Vec::new()));
/// let seen = log.clone();
/// let worker = asyncio::create_task(asyncio::on_cancel(asyncio::sleep(3600.0), async move {
///     asyncio::sleep(0.5).await; // cleanup may await
///     seen.borrow_mut().push("goodbye");
/// }));
/// asyncio::sleep(1.0).await;
/// worker.cancel();
/// assert!(worker.clone().await.unwrap_err().is_cancelled());
/// assert_eq!(*log.borrow(), ["goodbye"]);
/// assert_eq!(asyncio::get_running_loop().time(), 1.5);
/// # });
/// ```
pub fn on_cancel<F, C>(body: F, cleanup: C) -> OnCancel<F::IntoFuture, C::IntoFuture>
where
    F: IntoFuture,
    C: IntoFuture<Output = ()>,
{
    OnCancel {
        state: Stage::Body(Box::pin(body.into_future()), Some(cleanup.into_future())),
        scope: Scope::new(),
    }
}

enum Stage<F, C> {
    Body(Pin<Box<F>>, Option<C>),
    Cleanup(Pin<Box<C>>, Option<CancelledError>),
    /// The cancellation went on up.
    Raised,
}

/// The future of [`on_cancel`].
///
/// # Cancel safety
/// Dropping it drops `body` (or `cleanup`, if it runs), with what they lose when dropped.
#[must_use = "futures do nothing unless awaited"]
pub struct OnCancel<F: Future, C: Future<Output = ()>> {
    state: Stage<F, C>,
    scope: Scope,
}

impl<F: Future, C: Future<Output = ()>> OnCancel<F, C> {
    /// Caught: the body goes, the cleanup starts.
    fn caught(&mut self) {
        let error = self.scope.take();
        if let Stage::Body(_, cleanup) = &mut self.state {
            let cleanup = cleanup.take().expect("the cleanup is there until caught");
            self.state = Stage::Cleanup(Box::pin(cleanup), Some(error));
        }
    }

    /// The cancellation goes on up (raised again, or a new one passing through).
    fn raised(&mut self) -> Poll<F::Output> {
        self.state = Stage::Raised;
        self.scope.exit();
        Poll::Pending
    }
}

// The body and the cleanup are boxed once running; the cleanup waits unpolled in an `Option`.
impl<F: Future, C: Future<Output = ()>> Unpin for OnCancel<F, C> {}

impl<F: Future, C: Future<Output = ()>> Future for OnCancel<F, C> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        this.scope.enter();
        if let Stage::Body(body, _) = &mut this.state {
            if this.scope.innermost_delivery() {
                this.caught();
            } else {
                match body.as_mut().poll(cx) {
                    Poll::Ready(output) => {
                        this.state = Stage::Raised;
                        this.scope.exit();
                        return Poll::Ready(output);
                    }
                    Poll::Pending if this.scope.delivery() => this.caught(),
                    Poll::Pending => return Poll::Pending,
                }
            }
        }
        let Stage::Cleanup(cleanup, error) = &mut this.state else {
            // Raised: whoever polls on after that gets nothing more.
            return Poll::Pending;
        };
        // A new cancellation while cleaning up interrupts the cleanup (unless a scope inside
        // the cleanup catches it), and goes on up in its place.
        if this.scope.innermost_delivery() {
            return this.raised();
        }
        match cleanup.as_mut().poll(cx) {
            Poll::Ready(()) => {
                this.scope.raise_again(error.take().unwrap_or_default());
                this.raised()
            }
            Poll::Pending if this.scope.delivery() => this.raised(),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<F: Future, C: Future<Output = ()>> fmt::Debug for OnCancel<F, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stage = match self.state {
            Stage::Body(..) => "body",
            Stage::Cleanup(..) => "cleanup",
            Stage::Raised => "raised",
        };
        f.debug_struct("OnCancel").field("stage", &stage).finish()
    }
}

//! `Future<T>`: the handle users hold, its setters, readers and done callbacks.

use super::error::FutureError;
use super::state::{DoneCallback, Outcome, Shared};
use crate::LoopHandle;
use crate::error::{CancelledError, InvalidStateError};
use crate::runtime::context;
use crate::runtime::core::Core;
use crate::sync::{Turn, WaitList, Waiter};
use std::cell::{Cell, RefCell};
use std::error::Error;
use std::fmt;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};

/// A result that is set later, which tasks await (asyncio's `Future`): a one-shot slot on one
/// loop, completed once by [`set_result`](Future::set_result),
/// [`set_exception`](Future::set_exception) or [`cancel`](Future::cancel).
///
/// Made by [`LoopHandle::create_future`] or [`Future::new`]. Clones are cheap handles to the
/// same future; it is not `Send` and belongs to the loop it was made on.
///
/// Awaiting a handle (for `T: Clone`) gives `Ok(value)`, `Err(FutureError::Cancelled)` or
/// `Err(FutureError::Exception)`. Any number of tasks may await clones of one future: setting
/// it wakes them all, and each gets a clone of the value, as each of asyncio's awaiters gets
/// the same object. For a value that is not `Clone`, share it: `Future<Rc<T>>`.
///
/// # Cancel safety
/// Dropping a pending `.await` loses nothing: the future stays pending and settable, and other
/// awaiters keep waiting. Unlike asyncio, cancelling the task that awaits a future does not
/// cancel the future; the task merely stops waiting.
///
/// # Examples
/// ```
/// # asyncio::run(async {
/// let fut: asyncio::Future<u32> = asyncio::get_running_loop().create_future();
/// let setter = fut.clone();
/// asyncio::get_running_loop().call_soon(move || setter.set_result(3).unwrap());
/// assert_eq!(fut.await.unwrap(), 3);
/// # });
/// ```
#[must_use = "a future does nothing by itself; it is set and awaited through its handles"]
pub struct Future<T> {
    shared: Rc<Shared<T>>,
    /// This handle's place among the awaiters while its `.await` waits.
    waiter: Option<Rc<Waiter>>,
}

impl<T> Clone for Future<T> {
    fn clone(&self) -> Self {
        Future {
            shared: self.shared.clone(),
            waiter: None,
        }
    }
}

// `Default` would have to panic outside a running loop, out of sight; `new` says so.
#[allow(clippy::new_without_default)]
impl<T: 'static> Future<T> {
    /// A new pending future on the running loop (asyncio's `Future()`); the same as
    /// [`get_running_loop().create_future()`](LoopHandle::create_future).
    ///
    /// # Panics
    /// Outside a running loop.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let fut = asyncio::Future::<String>::new();
    /// assert!(!fut.done());
    /// # });
    /// ```
    pub fn new() -> Self {
        match context::current_core() {
            Some(core) => Future::on(&core),
            None => panic!("Future::new: no running event loop"),
        }
    }

    pub(super) fn on(core: &Rc<Core>) -> Self {
        Future {
            shared: Rc::new(Shared {
                outcome: RefCell::new(Outcome::Pending),
                waiters: RefCell::new(WaitList::labelled(crate::task::waiting::Waiting::Future)),
                callbacks: RefCell::new(Vec::new()),
                next_callback_id: Cell::new(0),
                retrieved: Cell::new(false),
                core: Rc::downgrade(core),
                handle: LoopHandle {
                    shared: core.shared.clone(),
                },
            }),
            waiter: None,
        }
    }

    /// Completes the future with `value`, waking its awaiters and scheduling its done
    /// callbacks.
    ///
    /// # Errors
    /// `InvalidStateError` if the future is already done (set, failed or cancelled); `value` is
    /// dropped. As in asyncio, check [`done`](Future::done) first where a cancel may have come
    /// before the result.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let fut = asyncio::Future::new();
    /// fut.set_result(1).unwrap();
    /// assert!(fut.set_result(2).is_err());
    /// assert_eq!(fut.await.unwrap(), 1);
    /// # });
    /// ```
    pub fn set_result(&self, value: T) -> Result<(), InvalidStateError> {
        self.complete(Outcome::Finished(value))
    }

    /// Completes the future with an error, which every awaiter gets as
    /// `FutureError::Exception`. Takes any error type, or a `&str`/`String` message.
    ///
    /// # Errors
    /// `InvalidStateError` if the future is already done.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let fut = asyncio::Future::<u8>::new();
    /// fut.set_exception(std::io::Error::other("connection lost")).unwrap();
    /// let err = fut.await.unwrap_err();
    /// assert_eq!(err.to_string(), "connection lost");
    /// # });
    /// ```
    pub fn set_exception(
        &self,
        exception: impl Into<Box<dyn Error + Send + Sync + 'static>>,
    ) -> Result<(), InvalidStateError> {
        self.complete(Outcome::Failed(Arc::from(exception.into())))
    }

    /// Cancels the future: its awaiters get `FutureError::Cancelled` and its done callbacks
    /// are scheduled. Returns false, changing nothing, if it is already done.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let fut = asyncio::Future::<u8>::new();
    /// assert!(fut.cancel());
    /// assert!(fut.cancelled());
    /// assert!(!fut.cancel());
    /// assert!(fut.await.unwrap_err().is_cancelled());
    /// # });
    /// ```
    pub fn cancel(&self) -> bool {
        self.complete(Outcome::Cancelled(None)).is_ok()
    }

    /// [`cancel`](Future::cancel) with a message (asyncio's `cancel(msg)`), carried by the
    /// `CancelledError`.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let fut = asyncio::Future::<u8>::new();
    /// fut.cancel_with("caller gave up");
    /// match fut.await {
    ///     Err(asyncio::FutureError::Cancelled(e)) => assert_eq!(e.msg.as_deref(), Some("caller gave up")),
    ///     other => panic!("{other:?}"),
    /// }
    /// # });
    /// ```
    pub fn cancel_with(&self, msg: impl Into<String>) -> bool {
        self.complete(Outcome::Cancelled(Some(msg.into()))).is_ok()
    }

    /// Whether the future is done: set, failed or cancelled.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let fut = asyncio::Future::new();
    /// assert!(!fut.done());
    /// fut.set_result(()).unwrap();
    /// assert!(fut.done());
    /// # });
    /// ```
    pub fn done(&self) -> bool {
        !matches!(*self.shared.outcome.borrow(), Outcome::Pending)
    }

    /// Whether the future was cancelled.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let fut = asyncio::Future::<()>::new();
    /// fut.cancel();
    /// assert!(fut.cancelled());
    /// # });
    /// ```
    pub fn cancelled(&self) -> bool {
        matches!(*self.shared.outcome.borrow(), Outcome::Cancelled(_))
    }

    /// The exception set on the future, `None` if it has a result (asyncio's `exception()`).
    ///
    /// # Errors
    /// `FutureError::InvalidState` while it is pending; `FutureError::Cancelled` if it was
    /// cancelled.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let fut = asyncio::Future::<u8>::new();
    /// assert!(fut.exception().is_err());
    /// fut.set_exception("bad").unwrap();
    /// assert_eq!(fut.exception().unwrap().unwrap().to_string(), "bad");
    /// # });
    /// ```
    pub fn exception(&self) -> Result<Option<Arc<dyn Error + Send + Sync + 'static>>, FutureError> {
        match &*self.shared.outcome.borrow() {
            Outcome::Pending => Err(FutureError::InvalidState(InvalidStateError {
                msg: "Exception is not set.",
            })),
            Outcome::Finished(_) => Ok(None),
            Outcome::Failed(e) => {
                self.shared.retrieved.set(true);
                Ok(Some(e.clone()))
            }
            Outcome::Cancelled(msg) => Err(cancelled(msg)),
        }
    }

    /// Schedules `callback` to be called with the future once it is done: with
    /// [`call_soon`](LoopHandle::call_soon), in the order the callbacks were added, never
    /// inside the call that completes it; at once (scheduled now) if it is done already.
    /// Returns an id for [`remove_done_callback`](Future::remove_done_callback).
    ///
    /// A callback that panics is logged ("Exception in callback") and the others still run.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// use std::{cell::Cell, rc::Rc};
    /// let seen = Rc::new(Cell::new(0));
    /// let fut = asyncio::Future::new();
    /// let s = seen.clone();
    /// fut.add_done_callback(move |f| s.set(f.result().unwrap()));
    /// fut.set_result(5).unwrap();
    /// assert_eq!(seen.get(), 0); // scheduled, not called inside set_result
    /// asyncio::sleep(0).await;
    /// assert_eq!(seen.get(), 5);
    /// # });
    /// ```
    pub fn add_done_callback(&self, callback: impl FnOnce(&Future<T>) + 'static) -> u64 {
        let id = self.shared.next_callback_id.get() + 1;
        self.shared.next_callback_id.set(id);
        let callback: DoneCallback<T> = Box::new(callback);
        if self.done() {
            self.schedule(callback);
        } else {
            self.shared.callbacks.borrow_mut().push((id, callback));
        }
        id
    }

    /// Removes a callback that has not been scheduled yet; true if it was there. Removal is by
    /// the id [`add_done_callback`](Future::add_done_callback) returned (asyncio matches the
    /// function and returns a count).
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let fut = asyncio::Future::<()>::new();
    /// let id = fut.add_done_callback(|_| unreachable!());
    /// assert!(fut.remove_done_callback(id));
    /// assert!(!fut.remove_done_callback(id));
    /// fut.set_result(()).unwrap();
    /// asyncio::sleep(0).await;
    /// # });
    /// ```
    pub fn remove_done_callback(&self, id: u64) -> bool {
        let removed = {
            let mut callbacks = self.shared.callbacks.borrow_mut();
            callbacks
                .iter()
                .position(|(i, _)| *i == id)
                .map(|at| callbacks.remove(at))
        };
        // Dropped outside the borrow: its captures may own handles of this future.
        removed.is_some()
    }

    /// The loop the future belongs to (asyncio's `get_loop()`).
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let lp = asyncio::get_running_loop();
    /// let fut = lp.create_future::<()>();
    /// assert!(fut.get_loop().is_running());
    /// # });
    /// ```
    pub fn get_loop(&self) -> LoopHandle {
        self.shared.handle.clone()
    }

    /// Moves the future out of `Pending`, wakes every awaiter and schedules the callbacks.
    fn complete(&self, outcome: Outcome<T>) -> Result<(), InvalidStateError> {
        let rejected = {
            let mut slot = self.shared.outcome.borrow_mut();
            if matches!(*slot, Outcome::Pending) {
                *slot = outcome;
                None
            } else {
                Some(outcome)
            }
        };
        if let Some(rejected) = rejected {
            // Dropped outside the borrow: a value's `Drop` may look at this future.
            drop(rejected);
            return Err(InvalidStateError {
                msg: "invalid state: the future is already done",
            });
        }
        self.shared.waiters.borrow_mut().notify_all();
        let callbacks = std::mem::take(&mut *self.shared.callbacks.borrow_mut());
        for (_, callback) in callbacks {
            self.schedule(callback);
        }
        Ok(())
    }

    /// Binds `callback` to a handle now, when it is about to run, so that pending callbacks
    /// never hold the future they wait on.
    fn schedule(&self, callback: DoneCallback<T>) {
        let handle = self.clone();
        let bound: Box<dyn FnOnce()> = Box::new(move || callback(&handle));
        match self.shared.core.upgrade() {
            Some(core) => core.call_soon(bound, None),
            // The loop is gone: nothing would ever run it, so it runs now (as a task's does).
            None => bound(),
        }
    }
}

impl<T: Clone + 'static> Future<T> {
    /// A clone of the result, without waiting (asyncio's `result()`).
    ///
    /// # Errors
    /// `FutureError::InvalidState` while the future is pending; `FutureError::Cancelled` if it
    /// was cancelled; `FutureError::Exception` with the exception that was set.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let fut = asyncio::Future::new();
    /// assert!(matches!(fut.result(), Err(asyncio::FutureError::InvalidState(_))));
    /// fut.set_result("ok").unwrap();
    /// assert_eq!(fut.result().unwrap(), "ok");
    /// assert_eq!(fut.result().unwrap(), "ok"); // read as often as you like
    /// # });
    /// ```
    pub fn result(&self) -> Result<T, FutureError> {
        read(&self.shared).unwrap_or(Err(FutureError::InvalidState(InvalidStateError {
            msg: "Result is not set.",
        })))
    }
}

/// The outcome as an await or `result` gives it, `None` while pending.
fn read<T: Clone>(shared: &Shared<T>) -> Option<Result<T, FutureError>> {
    match &*shared.outcome.borrow() {
        Outcome::Pending => None,
        Outcome::Finished(value) => Some(Ok(value.clone())),
        Outcome::Failed(e) => {
            shared.retrieved.set(true);
            Some(Err(FutureError::Exception(e.clone())))
        }
        Outcome::Cancelled(msg) => Some(Err(cancelled(msg))),
    }
}

fn cancelled(msg: &Option<String>) -> FutureError {
    FutureError::Cancelled(CancelledError { msg: msg.clone() })
}

/// Waits for the future to be done and gives a clone of its value, or why there is none.
///
/// # Cancel safety
/// Dropping the await loses nothing: the future stays settable and its other awaiters wait on.
impl<T: Clone + 'static> std::future::Future for Future<T> {
    type Output = Result<T, FutureError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Turn::Queued = WaitList::turn(&this.shared.waiters, &mut this.waiter, cx.waker()) {
            return Poll::Pending;
        }
        match read(&this.shared) {
            Some(outcome) => Poll::Ready(outcome),
            None => {
                this.waiter = Some(this.shared.waiters.borrow_mut().push(cx.waker()));
                Poll::Pending
            }
        }
    }
}

impl<T> Drop for Future<T> {
    fn drop(&mut self) {
        if let Some(waiter) = self.waiter.take() {
            self.shared.waiters.borrow_mut().remove(&waiter);
        }
    }
}

impl<T> fmt::Debug for Future<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &*self.shared.outcome.borrow() {
            Outcome::Pending => "pending",
            Outcome::Finished(_) => "finished",
            Outcome::Failed(_) => "failed",
            Outcome::Cancelled(_) => "cancelled",
        };
        f.debug_struct("Future")
            .field("state", &state)
            .field("waiters", &self.shared.waiters.borrow().len())
            .finish()
    }
}

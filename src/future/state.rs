//! The state every handle of one [`Future`](super::Future) shares.
//!
//! # Design
//! One `Rc<Shared>` per future; handles are clones of it, and all live on the loop's thread,
//! so plain `Cell`/`RefCell` do. The outcome moves once from `Pending` to one of the three
//! done states and never changes after. No borrow here spans a call into user code (a
//! callback, a waker, a `Clone` of the value aside, which only reads).
//!
//! Awaiting handles queue in `waiters`, the sync primitives' list, so a handle dropped while it
//! waits takes its waiter out with it and no stale waker piles up (a `wait_for` around a clone,
//! retried in a loop, costs nothing once it gives up). Done callbacks are kept unbound, holding
//! no handle: a future that is never completed does not keep itself alive through them.

use super::Future;
use super::error::Exception;
use crate::LoopHandle;
use crate::runtime::core::Core;
use crate::sync::WaitList;
use std::cell::{Cell, RefCell};
use std::rc::Weak;

/// Where a future stands. Every state but `Pending` is final.
pub(super) enum Outcome<T> {
    Pending,
    /// `set_result` was called.
    Finished(T),
    /// `set_exception` was called.
    Failed(Exception),
    /// `cancel` was called, with this message if any.
    Cancelled(Option<String>),
}

pub(super) type DoneCallback<T> = Box<dyn FnOnce(&Future<T>)>;

pub(super) struct Shared<T> {
    pub(super) outcome: RefCell<Outcome<T>>,
    pub(super) waiters: RefCell<WaitList>,
    /// Done callbacks with their ids, in the order they were added; emptied when the future
    /// completes (they are then scheduled) or by `remove_done_callback`.
    pub(super) callbacks: RefCell<Vec<(u64, DoneCallback<T>)>>,
    pub(super) next_callback_id: Cell<u64>,
    /// Whether someone looked at the exception (`result`, `exception`, an await): if nobody did,
    /// dropping the future logs it, as asyncio logs "Future exception was never retrieved".
    pub(super) retrieved: Cell<bool>,
    /// Where done callbacks are scheduled; gone once the loop is dropped.
    pub(super) core: Weak<Core>,
    /// For `get_loop`; kept apart from `core` because it stays valid after the loop is gone.
    pub(super) handle: LoopHandle,
}

impl<T> Drop for Shared<T> {
    fn drop(&mut self) {
        if let Outcome::Failed(e) = self.outcome.get_mut() {
            if !self.retrieved.get() {
                use crate::runtime::exception_handler::{ExceptionContext, report};
                let line = format!("Future exception was never retrieved: {e}");
                report(
                    ExceptionContext::new("Future exception was never retrieved").logged_as(line),
                );
            }
        }
    }
}

//! What a deadline does to the task it runs in, as asyncio's `Timeout` does to its task: the
//! part of [`timeout`](crate::timeout) and [`wait_for`](crate::wait_for) that meets catchable
//! cancellation ([`catch`](super::catch)).
//!
//! At the deadline, with no catching scope inside the block, the block is simply dropped: no
//! code can tell that from asyncio's cancel-and-convert. With a scope inside, the deadline
//! cancels its task as asyncio's `_on_timeout` does; the cancellation is delivered, the scope
//! inside runs (an [`on_cancel`](super::on_cancel)'s cleanup, say), and when it comes back up
//! the deadline converts it to `TimeoutError` only if `uncancel()` leaves no more cancels than
//! there were at entry: a cancel from outside stays a cancellation.

use super::TaskRef;
use crate::error::TimeoutError;
use crate::runtime::context;
use crate::util::slab::Key;
use std::task::Poll;

/// A deadline's hold on its task: plain numbers, so that the futures built on it stay `Send`.
#[derive(Debug, Default)]
pub(crate) struct Expiry {
    /// The task's slab key; 0 outside a task.
    key: u64,
    /// `cancelling()` at entry (asyncio's `Timeout._cancelling`).
    cancels: u32,
    /// Catching scopes at entry: more at the deadline means some are inside the block.
    depth: u16,
    /// The deadline cancelled the task and waits for the cancellation to come back.
    expiring: bool,
}

/// What to do after the block's poll came back pending.
pub(crate) enum Verdict {
    /// Nothing yet: wait.
    Wait,
    /// The cancellation came back and was the deadline's: drop the block, `TimeoutError`.
    TimedOut,
    /// The cancellation came back with more cancels behind it: drop the block and let it go
    /// on up (stay pending).
    Propagate,
}

impl Verdict {
    /// What a deadline's future returns for this verdict: on `TimedOut` and `Propagate` its
    /// block (`fut`) is dropped, and `passed_on` records a cancellation let go on up.
    pub(crate) fn settle<F, T>(
        self,
        fut: &mut Option<F>,
        passed_on: &mut bool,
    ) -> Poll<Result<T, TimeoutError>> {
        match self {
            Verdict::Wait => Poll::Pending,
            Verdict::TimedOut => {
                *fut = None;
                Poll::Ready(Err(TimeoutError::default()))
            }
            Verdict::Propagate => {
                *fut = None;
                *passed_on = true;
                Poll::Pending
            }
        }
    }
}

fn task(key: u64) -> Option<TaskRef> {
    if key == 0 {
        return None;
    }
    context::with_core(|core| core.task_by_key(Key::from_u64(key))).flatten()
}

impl Expiry {
    /// At the block's first poll: notes the running task, if any.
    pub(crate) fn enter() -> Expiry {
        match crate::current_task() {
            Some(task) => Expiry {
                key: task.key(),
                cancels: task.cancelling(),
                depth: task.common().scope_depth(),
                expiring: false,
            },
            None => Expiry::default(),
        }
    }

    /// The task, if a catching scope entered inside the block since.
    fn scoped_task(&self) -> Option<TaskRef> {
        task(self.key).filter(|t| t.common().scope_depth() > self.depth)
    }

    /// Before polling the block. A cancellation being delivered to the task now, with the
    /// deadline already passed, counts as coming after the deadline's own cancel (asyncio's
    /// timer callback ran first): the deadline joins it, so that one delivery carries both.
    /// True if the deadline expired so.
    pub(crate) fn before_poll(&mut self, passed: impl FnOnce() -> bool) -> bool {
        if self.expiring || self.key == 0 || !super::catch::in_scoped_poll(self.key) {
            return false;
        }
        match self.scoped_task() {
            Some(task) if task.common().delivering() && passed() => {
                self.expiring = true;
                task.cancel();
                true
            }
            _ => false,
        }
    }

    /// The deadline passed with the block pending. True: drop the block and return
    /// `TimeoutError` now (no catching scope inside). False: the task was cancelled instead,
    /// for the scopes inside to see; [`after_pending`](Expiry::after_pending) says when the
    /// cancellation is back.
    pub(crate) fn expire(&mut self) -> bool {
        match self.scoped_task() {
            Some(task) => {
                self.expiring = true;
                task.cancel();
                false
            }
            None => true,
        }
    }

    pub(crate) fn expiring(&self) -> bool {
        self.expiring
    }

    /// After the block's poll came back pending.
    pub(crate) fn after_pending(&mut self) -> Verdict {
        if !self.expiring {
            return Verdict::Wait;
        }
        let Some(task) = task(self.key) else {
            return Verdict::Wait;
        };
        if !task.common().delivering() {
            return Verdict::Wait;
        }
        self.expiring = false;
        if task.uncancel() <= self.cancels {
            task.common().take_delivery();
            Verdict::TimedOut
        } else {
            Verdict::Propagate
        }
    }

    /// The block ended (finished, or dropped) while the deadline's cancel was out: take it
    /// back, as asyncio's `__aexit__` calls `uncancel()`.
    pub(crate) fn exit(&mut self) {
        if std::mem::take(&mut self.expiring) {
            if let Some(task) = task(self.key) {
                task.uncancel();
            }
        }
    }
}

impl Drop for Expiry {
    fn drop(&mut self) {
        self.exit();
    }
}

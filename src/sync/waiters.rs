//! The waiter list every primitive here is built on.
//!
//! # Design
//! A waiting future owns an `Rc<Waiter>` and the list holds another while the waiter is
//! queued. Waking a waiter takes it off the list, sets `notified` and wakes its task; from then
//! on only the future holds it. So a waiter is in exactly one of three states:
//!
//! - *queued*: in the list, `notified` false;
//! - *notified*: off the list, `notified` true, its future not yet polled to completion;
//! - *gone*: its future finished or was dropped.
//!
//! What a notification *means* (a lock handed over, a permit granted, "go and look again") is
//! the primitive's business. The rule that makes cancellation safe is also theirs, and is the
//! same everywhere: a future dropped while *notified* passes what it was given on, and one
//! dropped while *queued* removes itself.
//!
//! Everything lives on one loop's thread, so plain `Cell`/`RefCell` are enough.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::task::Waker;

/// One waiting future's slot.
pub(crate) struct Waiter {
    notified: Cell<bool>,
    waker: RefCell<Waker>,
}

impl Waiter {
    /// Whether the waiter was taken off the list and woken.
    #[inline]
    pub(crate) fn notified(&self) -> bool {
        self.notified.get()
    }

    /// Keeps the waker current: a future may be polled by another task's waker than before.
    pub(crate) fn update_waker(&self, waker: &Waker) {
        let mut slot = self.waker.borrow_mut();
        if !slot.will_wake(waker) {
            *slot = waker.clone();
        }
    }
}

/// A FIFO of waiters.
#[derive(Default)]
pub(crate) struct WaitList {
    queue: VecDeque<Rc<Waiter>>,
}

impl WaitList {
    pub(crate) fn new() -> Self {
        WaitList {
            queue: VecDeque::new(),
        }
    }

    /// Queues a new waiter at the back.
    pub(crate) fn push(&mut self, waker: &Waker) -> Rc<Waiter> {
        let waiter = Rc::new(Waiter {
            notified: Cell::new(false),
            waker: RefCell::new(waker.clone()),
        });
        self.queue.push_back(waiter.clone());
        waiter
    }

    /// How many waiters are queued (notified ones are not counted).
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }

    /// Takes a queued waiter off the list; a notified one is left alone (it is not there).
    pub(crate) fn remove(&mut self, waiter: &Rc<Waiter>) {
        if waiter.notified() {
            return;
        }
        // Cancellation is rare next to notification, so a scan is cheaper than keeping an
        // index; it starts at the front, where long-waiting (timed-out) waiters are.
        if let Some(at) = self.queue.iter().position(|w| Rc::ptr_eq(w, waiter)) {
            self.queue.remove(at);
        }
    }

    /// Notifies the first waiter; false if there was none.
    #[inline]
    pub(crate) fn notify_one(&mut self) -> bool {
        match self.queue.pop_front() {
            Some(waiter) => {
                waiter.notified.set(true);
                waiter.waker.borrow().wake_by_ref();
                true
            }
            None => false,
        }
    }

    /// Notifies up to `n` waiters, first come first; returns how many.
    pub(crate) fn notify(&mut self, n: usize) -> usize {
        let mut woken = 0;
        while woken < n && self.notify_one() {
            woken += 1;
        }
        woken
    }

    /// Notifies every waiter; returns how many.
    pub(crate) fn notify_all(&mut self) -> usize {
        self.notify(usize::MAX)
    }
}

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

use crate::task::waiting::{self, Waiting};
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

/// Where a waiting future stands with its waiter, at the top of its poll
/// ([`WaitList::turn`]).
pub(crate) enum Turn {
    /// It has no waiter: it has not waited yet.
    Idle,
    /// Its waiter is queued: it keeps waiting.
    Queued,
    /// Its waiter was notified: its wait is over, and the waiter went back to the list.
    Notified,
}

/// How many finished waiters a list keeps for its next pushes.
const SPARE: usize = 2;

/// A FIFO of waiters.
#[derive(Default)]
pub(crate) struct WaitList {
    queue: VecDeque<Rc<Waiter>>,
    /// Waiters whose futures are done with them, kept so that a task that waits again and
    /// again (a worker's `get` in a loop) allocates no new one, and clones no new waker when it
    /// is the same task. Their wakers are stale until reused: at most [`SPARE`] finished tasks'
    /// allocations (not their futures, which are gone) stay until then.
    spare: Vec<Rc<Waiter>>,
    /// What a task parked here waits on, for the call graph (see `task::waiting`).
    what: Waiting,
}

impl WaitList {
    pub(crate) fn new() -> Self {
        WaitList {
            queue: VecDeque::new(),
            spare: Vec::new(),
            what: Waiting::Nothing,
        }
    }

    /// A list whose parked tasks show as waiting on `what` in the call graph and `asyncio-ps`.
    pub(crate) fn labelled(what: Waiting) -> Self {
        WaitList {
            what,
            ..WaitList::new()
        }
    }

    /// Queues a new waiter at the back: the running task parks here.
    pub(crate) fn push(&mut self, waker: &Waker) -> Rc<Waiter> {
        if self.what != Waiting::Nothing {
            waiting::note(waker, self.what);
        }
        let waiter = match self.spare.pop() {
            Some(waiter) => {
                waiter.notified.set(false);
                waiter.update_waker(waker);
                waiter
            }
            None => Rc::new(Waiter {
                notified: Cell::new(false),
                waker: RefCell::new(waker.clone()),
            }),
        };
        self.queue.push_back(waiter.clone());
        waiter
    }

    /// A waiting future's look at its waiter `slot`, at the top of its poll: `Queued` (its
    /// waker kept current) while the waiter is in `list`; `Notified` once it was taken off and
    /// woken, when the waiter goes back to `list` for a later push and `slot` is emptied;
    /// `Idle` without one.
    #[inline(always)]
    pub(crate) fn turn(
        list: &RefCell<WaitList>,
        slot: &mut Option<Rc<Waiter>>,
        waker: &Waker,
    ) -> Turn {
        // The future that has not waited, the common case, pays one compare here.
        if slot.is_none() {
            return Turn::Idle;
        }
        Self::turn_waiting(list, slot, waker)
    }

    #[inline(never)]
    fn turn_waiting(
        list: &RefCell<WaitList>,
        slot: &mut Option<Rc<Waiter>>,
        waker: &Waker,
    ) -> Turn {
        match slot.take() {
            None => Turn::Idle,
            Some(waiter) if waiter.notified() => {
                list.borrow_mut().recycle(waiter);
                Turn::Notified
            }
            Some(waiter) => {
                waiter.update_waker(waker);
                *slot = Some(waiter);
                let what = list.borrow().what;
                if what != Waiting::Nothing {
                    waiting::note(waker, what);
                }
                Turn::Queued
            }
        }
    }

    /// Takes back a notified waiter whose future is done with it, for a later
    /// [`push`](Self::push).
    #[inline]
    fn recycle(&mut self, waiter: Rc<Waiter>) {
        debug_assert!(waiter.notified(), "a queued waiter is still in the list");
        if self.spare.len() < SPARE && Rc::strong_count(&waiter) == 1 {
            self.spare.push(waiter);
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::wake_count::WakeCount;

    /// A recycled waiter comes back queued and un-notified, and wakes the new waker; one
    /// another holder still shares is not taken.
    #[test]
    fn a_recycled_waiter_is_a_fresh_one() {
        let mut list = WaitList::new();
        let (first_count, first) = WakeCount::waker();
        let waiter = list.push(&first);
        assert!(list.notify_one());
        assert_eq!(first_count.get(), 1);
        let addr = Rc::as_ptr(&waiter);
        list.recycle(waiter);

        let (second_count, second) = WakeCount::waker();
        let again = list.push(&second);
        assert_eq!(Rc::as_ptr(&again), addr, "the spare was reused");
        assert!(!again.notified());
        assert_eq!(list.len(), 1);
        assert!(list.notify_one());
        assert!(again.notified());
        assert_eq!(second_count.get(), 1);
        assert_eq!(first_count.get(), 1, "not the stale waker");

        let shared = again.clone();
        list.recycle(again);
        let fresh = list.push(&second);
        assert_ne!(
            Rc::as_ptr(&fresh),
            Rc::as_ptr(&shared),
            "a shared waiter is not reused"
        );
    }
}

//! Watching many tasks at once without polling each of them on every wake-up.
//!
//! Every watched task gets a done callback that records the task's index in a shared list and
//! wakes whoever waits on the set. A combinator then looks only at the indices in that list: a
//! wake-up costs O(1), not O(tasks), so gathering ten thousand tasks stays linear.
//!
//! Done callbacks, not wakers, for two reasons. They run one turn after the task completes, and
//! the waiter then runs one turn later, which is exactly when asyncio's `gather`, `wait`,
//! `shield` and `as_completed` resume (they too are built on done callbacks), so programs print
//! in CPython's order. And a callback can be removed ([`Task::remove_done_callback`]) when a
//! wait ends early, so waiting again and again on a long task leaves nothing behind in it.
//! Callbacks run on the loop's thread, so the shared list needs no lock.

use crate::task::Task;
use std::cell::RefCell;
use std::rc::Rc;
use std::task::Waker;

#[derive(Default)]
struct Shared {
    /// Indices of watched tasks that finished since the last `take_ready`.
    ready: Vec<usize>,
    /// Who to wake when the waiter may be able to go on.
    waiters: Vec<Waker>,
    /// Watched tasks whose callback has not run yet.
    left: usize,
}

/// A set of watched tasks, known by index, reporting which ones finished.
pub(crate) struct Watch {
    shared: Rc<RefCell<Shared>>,
}

impl Watch {
    pub(crate) fn new() -> Self {
        Watch {
            shared: Rc::new(RefCell::new(Shared::default())),
        }
    }

    /// Starts watching `task` under `index`: its index comes out of `take_ready` once the task
    /// is done (at once if it is done already). Never takes the task's outcome. Returns the
    /// done callback's id, for [`Task::remove_done_callback`], or `None` if it was done.
    ///
    /// The waiter is woken when the last watched task is done, or when `wake_if` says yes to
    /// the task that just finished, and not otherwise: asyncio's combinators resume only when
    /// their condition is met, and waking on partial progress would let ours resume a turn
    /// early.
    pub(crate) fn watch<T: 'static>(
        &self,
        index: usize,
        task: &Task<T>,
        wake_if: impl Fn(&Task<T>) -> bool + 'static,
    ) -> Option<u64> {
        if task.done() {
            self.shared.borrow_mut().ready.push(index);
            return None;
        }
        self.shared.borrow_mut().left += 1;
        let live = Rc::downgrade(&self.shared);
        crate::task::call_graph::note_awaited_by(task, live);
        let shared = self.shared.clone();
        Some(task.add_done_callback(move |task| {
            let waiters = {
                let mut shared = shared.borrow_mut();
                shared.ready.push(index);
                shared.left -= 1;
                if shared.left == 0 || wake_if(task) {
                    shared.waiters.clone()
                } else {
                    Vec::new()
                }
            };
            for waker in waiters {
                waker.wake();
            }
        }))
    }

    /// Registers the waker of the current poll as the one to wake (replacing earlier ones).
    pub(crate) fn set_waiter(&self, waker: &Waker) {
        let mut shared = self.shared.borrow_mut();
        if shared.waiters.len() != 1 || !shared.waiters[0].will_wake(waker) {
            shared.waiters = vec![waker.clone()];
        }
    }

    /// Adds a waker to wake, keeping the others: for sets awaited from several places.
    pub(crate) fn add_waiter(&self, waker: &Waker) {
        let mut shared = self.shared.borrow_mut();
        if !shared.waiters.iter().any(|w| w.will_wake(waker)) {
            shared.waiters.push(waker.clone());
        }
    }

    /// Wakes every registered waiter but `current` (the one polling now, which needs no wake:
    /// a spurious wake would give its task an extra turn ahead of others).
    pub(crate) fn wake_waiters(&self, current: &Waker) {
        let waiters = self.shared.borrow().waiters.clone();
        for waker in waiters {
            if !waker.will_wake(current) {
                waker.wake();
            }
        }
    }

    /// Moves the indices of the tasks that finished, in the order they finished, into `out`.
    pub(crate) fn take_ready(&self, out: &mut Vec<usize>) {
        out.append(&mut self.shared.borrow_mut().ready);
    }
}

/// Cancels every task of `tasks` that has not finished: what dropping a combinator does to the
/// tasks it made.
pub(crate) fn cancel_pending<T: 'static>(tasks: impl IntoIterator<Item = Task<T>>) {
    for task in tasks {
        if !task.done() {
            task.cancel();
        }
    }
}

/// Re-raises, in the awaiting task, a child's end that carries no value: its panic as the same
/// panic, a cancellation as a panic whose payload is the `TaskError`.
pub(crate) fn reraise(error: crate::TaskError) -> ! {
    match error {
        crate::TaskError::Panicked(p) => std::panic::resume_unwind(p.into_panic()),
        other => std::panic::panic_any(other),
    }
}

/// A `wake_if` for [`Watch::watch`]: wake on every task that finishes.
pub(crate) fn always<T>(_: &Task<T>) -> bool {
    true
}

/// A `wake_if` for [`Watch::watch`]: wake on a task that ended without a value (panicked or
/// cancelled), which ends a gather at once.
pub(crate) fn failed<T: 'static>(task: &Task<T>) -> bool {
    task.outcome_matches(|outcome| outcome.is_err())
}

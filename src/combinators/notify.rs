//! Watching many tasks at once without polling each of them on every wake-up.
//!
//! Every watched task gets its own waker, made once, that records the task's index in a shared
//! list and wakes whoever waits on the set. A combinator then looks only at the indices in that
//! list: a wake-up costs O(1), not O(tasks), so gathering ten thousand tasks stays linear.
//!
//! The wakers must be `Send + Sync` (that is the `Waker` contract), so the shared part sits
//! behind a `Mutex`. It is only ever locked on the loop's thread, so it is never contended.

use crate::task::Task;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Wake, Waker};

#[derive(Default)]
struct Shared {
    /// Indices of watched tasks that finished since the last `take_ready`.
    ready: Vec<usize>,
    /// Who to wake when an index is added.
    waiters: Vec<Waker>,
}

/// The waker given to one watched task.
struct Member {
    index: usize,
    shared: Arc<Mutex<Shared>>,
}

impl Wake for Member {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let waiters = {
            let mut shared = lock(&self.shared);
            shared.ready.push(self.index);
            shared.waiters.clone()
        };
        // Woken outside the lock: a waker may run code that locks again.
        for waker in waiters {
            waker.wake();
        }
    }
}

fn lock(shared: &Mutex<Shared>) -> std::sync::MutexGuard<'_, Shared> {
    // A panic while the lock is held cannot leave `Shared` half-updated (each update is one
    // push or one clone), so a poisoned lock is still sound to use.
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

/// A set of watched tasks, known by index, reporting which ones finished.
pub(crate) struct Watch {
    shared: Arc<Mutex<Shared>>,
}

impl Watch {
    pub(crate) fn new() -> Self {
        Watch {
            shared: Arc::new(Mutex::new(Shared::default())),
        }
    }

    /// Starts watching `task` under `index`: its index will come out of `take_ready` once it is
    /// done (at once if it is done already). Never takes the task's outcome.
    pub(crate) fn watch<T: 'static>(&self, index: usize, task: &Task<T>) {
        if task.done() {
            lock(&self.shared).ready.push(index);
            return;
        }
        let waker = Waker::from(Arc::new(Member {
            index,
            shared: self.shared.clone(),
        }));
        // The task is pending, so this poll only registers the waker; it cannot take the
        // outcome. The task keeps the waker until it completes and wakes it once.
        let mut task = task.clone();
        let polled = Pin::new(&mut task).poll(&mut Context::from_waker(&waker));
        debug_assert!(polled.is_pending());
    }

    /// Starts watching `task` through a done callback rather than a waker, and returns the
    /// callback's id (`None` if the task is done already; its index is then ready at once).
    ///
    /// For tasks the caller owns and may wait on again and again (`wait` in a loop with a
    /// timeout): a waker stays in the task until it completes, but a callback is removed with
    /// [`Task::remove_done_callback`] when the wait ends, so nothing piles up. As in asyncio,
    /// the callback runs one turn after the task completes.
    pub(crate) fn watch_by_callback<T: 'static>(
        &self,
        index: usize,
        task: &Task<T>,
    ) -> Option<u64> {
        if task.done() {
            lock(&self.shared).ready.push(index);
            return None;
        }
        let member = Arc::new(Member {
            index,
            shared: self.shared.clone(),
        });
        Some(task.add_done_callback(move |_| member.wake_by_ref()))
    }

    /// Registers the waker of the current poll as the one to wake (replacing earlier ones).
    pub(crate) fn set_waiter(&self, waker: &Waker) {
        let mut shared = lock(&self.shared);
        if shared.waiters.len() != 1 || !shared.waiters[0].will_wake(waker) {
            shared.waiters = vec![waker.clone()];
        }
    }

    /// Adds a waker to wake, keeping the others: for sets awaited from several places.
    pub(crate) fn add_waiter(&self, waker: &Waker) {
        let mut shared = lock(&self.shared);
        if !shared.waiters.iter().any(|w| w.will_wake(waker)) {
            shared.waiters.push(waker.clone());
        }
    }

    /// Wakes every registered waiter but `current` (the one polling now, which needs no wake:
    /// a spurious wake would give its task an extra turn ahead of others).
    pub(crate) fn wake_waiters(&self, current: &Waker) {
        let waiters = lock(&self.shared).waiters.clone();
        for waker in waiters {
            if !waker.will_wake(current) {
                waker.wake();
            }
        }
    }

    /// Moves the indices of the tasks that finished, in the order they finished, into `out`.
    pub(crate) fn take_ready(&self, out: &mut Vec<usize>) {
        out.append(&mut lock(&self.shared).ready);
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

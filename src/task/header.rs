//! The part of a task that wakers hold: `Send + Sync`, shared by `Arc`.
//!
//! A task's future is not `Send`, so it never leaves its loop: the loop owns it in its task
//! slab. A waker holds only this header, which names the task by slab key and knows how to
//! reach the loop: directly through the thread-local ready queue when woken on the loop's own
//! thread, or through the loop's cross-thread queue ([`Remote`](crate::runtime::remote)) from
//! any other thread. Dropping a waker anywhere therefore never drops the future, and no
//! `unsafe` is needed to make a `!Send` task wakeable from other threads.

use crate::runtime::context;
use crate::runtime::remote::{Notify, Remote, RemoteItem};
use crate::runtime::shared::Shared;
use crate::util::sync::AtomicU8;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::Wake;

/// The task is in a ready queue (local or remote), or will be put there by the loop.
/// Set by whoever wakes the task first; cleared by the loop just before it polls the task,
/// so a wake during the poll queues the task again.
pub(crate) const SCHEDULED: u8 = 1 << 0;
/// The task has finished; wakes are ignored. Once set it is never cleared.
pub(crate) const COMPLETE: u8 = 1 << 1;

/// The scheduling state of a task: `SCHEDULED` and `COMPLETE` bits, shared with wakers.
pub(crate) struct State(AtomicU8);

impl State {
    pub(crate) fn new() -> State {
        State(AtomicU8::new(0))
    }

    /// Clears `SCHEDULED` before a poll.
    pub(crate) fn start_poll(&self) {
        self.0.fetch_and(!SCHEDULED, Ordering::AcqRel);
    }

    pub(crate) fn complete(&self) {
        self.0.fetch_or(COMPLETE, Ordering::AcqRel);
    }

    /// Sets `SCHEDULED`; true if this call is the one that must queue the task.
    pub(crate) fn claim_schedule(&self) -> bool {
        self.0.fetch_or(SCHEDULED, Ordering::AcqRel) & (SCHEDULED | COMPLETE) == 0
    }

    #[cfg(asyncio_loom)]
    pub(crate) fn is_scheduled(&self) -> bool {
        self.0.load(Ordering::SeqCst) & SCHEDULED != 0
    }
}

pub(crate) struct Header {
    pub(crate) state: State,
    /// The task's key in its loop's slab, as `Key::to_u64`.
    pub(crate) key: u64,
    pub(crate) shared: Arc<Shared>,
}

impl Header {
    pub(crate) fn new(key: u64, shared: Arc<Shared>) -> Header {
        Header {
            state: State::new(),
            key,
            shared,
        }
    }

    /// Queues the task on its loop unless it is queued already or finished.
    pub(crate) fn schedule(&self) {
        if !self.state.claim_schedule() {
            return;
        }
        if context::with_core_of(self.shared.id, |core| core.schedule_local(self.key)).is_some() {
            return;
        }
        schedule_remote(&self.shared.remote, self.key);
    }
}

/// Queues a wake on a loop from outside it. A closed loop drops the wake: its tasks are gone.
pub(crate) fn schedule_remote<N: Notify>(remote: &Remote<N>, key: u64) {
    let _ = remote.push(RemoteItem::Wake(key));
}

impl Wake for Header {
    fn wake(self: Arc<Self>) {
        self.schedule();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.schedule();
    }
}

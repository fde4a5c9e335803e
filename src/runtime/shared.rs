//! The part of a loop that other threads may touch, behind an `Arc`.

use super::clock::Clock;
use super::remote::{Notify, Remote};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

/// Wakes the loop's `mio::Poll` from another thread (an eventfd write on Linux), counting
/// how often it had to.
pub(crate) struct MioNotifier {
    waker: mio::Waker,
    pub(crate) wakeups: AtomicU64,
}

impl Notify for MioNotifier {
    fn notify(&self) {
        self.wakeups.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = self.waker.wake() {
            log::error!("failed to wake the event loop: {e}");
        }
    }
}

pub(crate) struct Shared {
    /// Unique among the loops of this process, never 0.
    pub(crate) id: usize,
    pub(crate) remote: Remote<MioNotifier>,
    pub(crate) clock: Clock,
    pub(crate) running: AtomicBool,
    /// The task factory is not the default: `create_task` asks
    /// [`Core::spawn_by_factory`](super::core::Core::spawn_by_factory).
    pub(crate) custom_factory: AtomicBool,
    /// `stop()` was called: `run_forever` returns after the turn it is in (asyncio's
    /// `_stopping`).
    pub(crate) stopping: AtomicBool,
}

impl Shared {
    pub(crate) fn new(waker: mio::Waker, virtual_time: bool) -> Shared {
        static NEXT_ID: AtomicUsize = AtomicUsize::new(1);
        Shared {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            remote: Remote::new(MioNotifier {
                waker,
                wakeups: AtomicU64::new(0),
            }),
            clock: Clock::new(virtual_time),
            running: AtomicBool::new(false),
            custom_factory: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
        }
    }
}

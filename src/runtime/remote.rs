//! The cross-thread door: the one queue through which other threads reach a loop.
//!
//! Other threads push items (a task to wake, a closure to call) under a mutex and then set
//! `notified`; only the push that turns `notified` from false to true calls the notifier (an
//! eventfd write through mio's `Waker`), so a burst of pushes before the loop wakes costs one
//! wake-up. The loop clears `notified` *before* it takes the items, so a push that lands after
//! the take sees `notified == false` and notifies again: no item is left behind while the loop
//! sleeps. This protocol is model-checked with loom (`tests/loom_remote.rs`).
//!
//! Work handed to other threads (the blocking pool) is counted in `in_flight`, and its result
//! arrives through [`Remote::finish_job`], which pushes and uncounts under one lock, so the loop
//! never sees "nothing in flight, nothing queued" while a result is on its way; the virtual
//! clock relies on that to know when it may jump.

use crate::util::sync::{AtomicBool, Mutex, lock};
use std::sync::atomic::Ordering;

/// What another thread can ask of the loop.
pub(crate) enum RemoteItem {
    /// Wake the task with this slab key.
    Wake(u64),
    /// Call this on the loop's thread.
    Call(Box<dyn FnOnce() + Send>),
}

/// Wakes the loop from its poll.
pub(crate) trait Notify: Send + Sync {
    fn notify(&self);
}

struct State {
    items: Vec<RemoteItem>,
    in_flight: usize,
    closed: bool,
}

pub(crate) struct Remote<N> {
    state: Mutex<State>,
    notified: AtomicBool,
    notifier: N,
}

impl<N: Notify> Remote<N> {
    pub(crate) fn new(notifier: N) -> Self {
        Remote {
            state: Mutex::new(State {
                items: Vec::new(),
                in_flight: 0,
                closed: false,
            }),
            notified: AtomicBool::new(false),
            notifier,
        }
    }

    /// Queues an item for the loop; gives it back if the loop is closed.
    pub(crate) fn push(&self, item: RemoteItem) -> Result<(), RemoteItem> {
        {
            let mut state = lock(&self.state);
            if state.closed {
                return Err(item);
            }
            state.items.push(item);
        }
        self.notify();
        Ok(())
    }

    /// Counts a job handed to another thread; `false` if the loop is closed.
    pub(crate) fn start_job(&self) -> bool {
        let mut state = lock(&self.state);
        if !state.closed {
            state.in_flight += 1;
        }
        !state.closed
    }

    /// Delivers a job's result and uncounts the job, atomically for the loop's eyes.
    pub(crate) fn finish_job(&self, item: RemoteItem) {
        {
            let mut state = lock(&self.state);
            state.in_flight -= 1;
            if state.closed {
                return;
            }
            state.items.push(item);
        }
        self.notify();
    }

    fn notify(&self) {
        if !self.notified.swap(true, Ordering::AcqRel) {
            self.notifier.notify();
        }
    }

    /// Whether anything may be waiting: cheap, without the lock.
    pub(crate) fn is_notified(&self) -> bool {
        self.notified.load(Ordering::Acquire)
    }

    /// Moves every queued item into `out` (the loop's side).
    pub(crate) fn take(&self, out: &mut Vec<RemoteItem>) {
        self.notified.store(false, Ordering::SeqCst);
        let mut state = lock(&self.state);
        if out.is_empty() {
            std::mem::swap(out, &mut state.items);
        } else {
            out.append(&mut state.items);
        }
    }

    /// True when nothing is queued and no job is out: the loop may jump its virtual clock.
    pub(crate) fn is_quiet(&self) -> bool {
        let state = lock(&self.state);
        state.items.is_empty() && state.in_flight == 0
    }

    /// Jobs handed out and not yet finished.
    pub(crate) fn in_flight(&self) -> usize {
        lock(&self.state).in_flight
    }

    /// Refuses further items and returns those not taken, to be dropped by the caller.
    pub(crate) fn close(&self) -> Vec<RemoteItem> {
        let mut state = lock(&self.state);
        state.closed = true;
        std::mem::take(&mut state.items)
    }

    pub(crate) fn is_closed(&self) -> bool {
        lock(&self.state).closed
    }

    pub(crate) fn notifier(&self) -> &N {
        &self.notifier
    }
}

#[cfg(all(test, asyncio_loom))]
mod loom_tests {
    //! Model checks of the door: whatever the interleaving, an item pushed from another
    //! thread is taken by the loop before it would sleep, and a burst notifies once.

    use super::*;
    use crate::task::header::State;
    use loom::sync::Arc;
    use loom::sync::atomic::AtomicUsize;
    use loom::thread;

    /// Stands for the eventfd: counts writes; the loop "sleeps" until one is pending.
    #[derive(Default)]
    struct Eventfd(AtomicUsize);

    impl Notify for Eventfd {
        fn notify(&self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// The loop side: take, and if nothing came, sleep until notified, then take again.
    fn loop_until(remote: &Remote<Eventfd>, wanted: usize) -> usize {
        let mut got = Vec::new();
        let mut seen = 0;
        loop {
            remote.take(&mut got);
            if got.len() >= wanted {
                return got.len();
            }
            // Would block in epoll_wait: only a notification written after our last read
            // can wake us.
            loop {
                let now = remote.notifier().0.load(Ordering::SeqCst);
                if now > seen {
                    seen = now;
                    break;
                }
                thread::yield_now();
            }
        }
    }

    #[test]
    fn loom_no_item_is_left_behind_while_the_loop_sleeps() {
        loom::model(|| {
            let remote = Arc::new(Remote::new(Eventfd::default()));
            let producers: Vec<_> = (0..2)
                .map(|i| {
                    let remote = remote.clone();
                    thread::spawn(move || {
                        assert!(remote.push(RemoteItem::Wake(i)).is_ok());
                    })
                })
                .collect();
            assert_eq!(loop_until(&remote, 2), 2);
            for p in producers {
                p.join().unwrap();
            }
            assert!(remote.notifier().0.load(Ordering::SeqCst) <= 2);
        });
    }

    #[test]
    fn loom_a_finished_job_is_never_invisible() {
        loom::model(|| {
            let remote = Arc::new(Remote::new(Eventfd::default()));
            assert!(remote.start_job());
            let worker = {
                let remote = remote.clone();
                thread::spawn(move || remote.finish_job(RemoteItem::Wake(7)))
            };
            // The virtual clock may jump only when quiet; quiet must imply the result is
            // taken already, never "in flight: 0, queue: empty" before it arrives.
            let mut got = Vec::new();
            loop {
                if remote.is_quiet() {
                    assert_eq!(got.len(), 1, "quiet before the job's result was taken");
                    break;
                }
                remote.take(&mut got);
                thread::yield_now();
            }
            worker.join().unwrap();
        });
    }

    /// The remote bit of a task header: two wakers on other threads racing with the loop's
    /// taking of the wake queue the task once per take, and a wake after the take queues it
    /// again.
    #[test]
    fn loom_concurrent_remote_wakes_queue_a_task_once_per_take() {
        loom::model(|| {
            let state = Arc::new(State::new());
            assert!(state.claim_remote(), "the first wake queues");
            let queued = Arc::new(AtomicUsize::new(0));
            let wakers: Vec<_> = (0..2)
                .map(|_| {
                    let (state, queued) = (state.clone(), queued.clone());
                    thread::spawn(move || {
                        if state.claim_remote() {
                            queued.fetch_add(1, Ordering::SeqCst);
                        }
                    })
                })
                .collect();
            // The loop takes the first wake: it clears REMOTE, then polls the task.
            assert!(state.take_remote());
            for w in wakers {
                w.join().unwrap();
            }
            let q = queued.load(Ordering::SeqCst);
            assert!(q <= 1, "queued {q} times for one take");
            // If no waker queued it, every wake came before the take, and the poll sees them.
            assert_eq!(q == 1, state.is_remote());
            state.complete();
            state.take_remote();
            assert!(!state.claim_remote(), "a finished task is never queued");
        });
    }

    /// A wake from another thread while the task is queued on the loop's own thread: either
    /// the poll takes the wake before it polls (and sees what the waker wrote), or the drain
    /// does and queues the task; never both, never neither.
    #[test]
    fn loom_a_remote_wake_is_answered_by_one_poll() {
        loom::model(|| {
            let remote = Arc::new(Remote::new(Eventfd::default()));
            let state = Arc::new(State::new());
            let data = Arc::new(loom::cell::UnsafeCell::new(0u32));
            let waker = {
                let (remote, state, data) = (remote.clone(), state.clone(), data.clone());
                thread::spawn(move || {
                    data.with_mut(|d| unsafe { *d = 1 });
                    if state.claim_remote() {
                        crate::task::header::schedule_remote(&remote, 0);
                    }
                })
            };
            let mut polls_for_the_wake = 0;
            let mut poll = || {
                // The poll must see the waker's write (loom reports a race otherwise).
                data.with(|d| assert_eq!(unsafe { *d }, 1));
                polls_for_the_wake += 1;
            };
            // The task runs from the local ready queue, racing with the wake.
            if state.remote_pending() && state.take_remote() {
                poll();
            }
            // The loop takes the wake from its queue (the only waker always pushes one).
            assert_eq!(loop_until(&remote, 1), 1);
            if state.take_remote() {
                poll();
            }
            waker.join().unwrap();
            assert_eq!(polls_for_the_wake, 1);
            assert!(!state.is_remote());
        });
    }
}

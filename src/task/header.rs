//! The part of a task that wakers hold: the first field of the task's allocation, and the
//! only part of it that another thread may touch.
//!
//! A task's future is not `Send`, so it never leaves its loop. A waker holds a pointer to this
//! header, which names the task by slab key and knows how to reach the loop: directly through
//! the thread-local ready queue when woken on the loop's own thread, or through the loop's
//! cross-thread queue ([`Remote`](crate::runtime::remote)) from any other thread.
//!
//! # Two reference counts
//! The loop's thread counts its own references (the slab's, `Task` handles) in a plain
//! `Cell` of the task body; they all count as one reference here, in the atomic state word,
//! next to one per waker. When the last local reference goes, the loop empties the body (the
//! future, the outcome, callbacks: everything that is not `Send`) on its own thread, and then
//! gives up its reference here. Whoever drops the last reference, on any thread, frees the
//! memory and drops only the header's `Send + Sync` fields. So dropping a waker anywhere never
//! drops the future.
//!
//! A waker that outlives its task keeps the task's whole allocation (not the future, which is
//! gone, but the room it took) until it is dropped, as with any single-allocation task; a
//! waiter list that holds wakers of finished tasks for long should let them go.

use crate::runtime::context;
use crate::runtime::remote::{Notify, Remote, RemoteItem};
use crate::runtime::shared::Shared;
use crate::util::sync::{AtomicBool, AtomicUsize, fence};
use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{RawWaker, RawWakerVTable, Waker};

/// The task was woken from another thread and its wake is in (or on its way to) its loop's
/// cross-thread queue. Set by the first such waker; cleared by the loop either when it takes
/// the wake from that queue (which then queues the task) or just before it polls the task (the
/// poll answers the wake, and the wake taken later is dropped), so a wake after that is queued
/// again. Wakes on the loop's own thread use [`Queued`] instead.
pub(crate) const REMOTE: usize = 1 << 0;
/// The task has finished; wakes from other threads are ignored. Once set it is never cleared.
pub(crate) const COMPLETE: usize = 1 << 1;
/// One reference, in the bits above the flags.
const REF_ONE: usize = 1 << 2;
/// Past this many references something leaks wakers in a loop; stop before the count wraps.
const REF_MAX: usize = usize::MAX / 2;

/// The state word: `REMOTE` and `COMPLETE` bits, and the reference count above them.
pub(crate) struct State(AtomicUsize);

impl State {
    /// One reference (the loop's), not queued.
    pub(crate) fn new() -> State {
        State(AtomicUsize::new(REF_ONE))
    }

    pub(crate) fn complete(&self) {
        self.0.fetch_or(COMPLETE, Ordering::AcqRel);
    }

    /// Sets `REMOTE`; true if this call is the one that must queue the wake.
    pub(crate) fn claim_remote(&self) -> bool {
        self.0.fetch_or(REMOTE, Ordering::AcqRel) & (REMOTE | COMPLETE) == 0
    }

    /// Clears `REMOTE`; true if it was set, and a poll must follow. The wakers that set it (or
    /// found it set) wrote what they wrote before it, and the poll that follows sees it.
    pub(crate) fn take_remote(&self) -> bool {
        self.0.fetch_and(!REMOTE, Ordering::AcqRel) & REMOTE != 0
    }

    /// Whether `REMOTE` looks set: a plain load, for the loop to take it before a poll only
    /// when there is something to take. A stale answer only leaves the wake to the drain.
    #[inline]
    pub(crate) fn remote_pending(&self) -> bool {
        self.0.load(Ordering::Relaxed) & REMOTE != 0
    }

    /// Takes one more reference. The caller holds one already, so the count cannot be zero.
    pub(crate) fn ref_inc(&self) {
        // Relaxed as in `Arc::clone`: a new reference is made from an existing one.
        let prev = self.0.fetch_add(REF_ONE, Ordering::Relaxed);
        if prev > REF_MAX {
            std::process::abort();
        }
    }

    /// Gives one reference back; true if it was the last, and the caller must free the task.
    pub(crate) fn ref_dec(&self) -> bool {
        // As `Arc::drop`: release what this holder wrote, and the last one acquires it all
        // before freeing.
        let prev = self.0.fetch_sub(REF_ONE, Ordering::Release);
        if prev & !(REF_ONE - 1) != REF_ONE {
            return false;
        }
        fence(Ordering::Acquire);
        true
    }

    #[cfg(asyncio_loom)]
    pub(crate) fn is_remote(&self) -> bool {
        self.0.load(Ordering::SeqCst) & REMOTE != 0
    }
}

/// Whether the task is in its loop's ready queue, or finished (which keeps it out for good).
///
/// Only the loop's thread reads or writes it, so it needs no read-modify-write: a wake on the
/// loop's thread, the common case, costs no locked instruction. It is atomic only because the
/// header is shared with wakers on other threads, which never touch it.
pub(crate) struct Queued(AtomicBool);

impl Queued {
    pub(crate) fn new() -> Queued {
        Queued(AtomicBool::new(false))
    }

    /// Marks the task queued; true if it was not (queued or finished) already, and the caller
    /// must put it in the ready queue.
    #[inline]
    pub(crate) fn claim(&self) -> bool {
        if self.0.load(Ordering::Relaxed) {
            return false;
        }
        self.0.store(true, Ordering::Relaxed);
        true
    }

    /// Before a poll: a wake from now on queues the task again.
    #[inline]
    pub(crate) fn clear(&self) {
        self.0.store(false, Ordering::Relaxed);
    }

    /// Whether the task is in the ready queue (or finished).
    pub(crate) fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// The task finished: it is never queued again.
    pub(crate) fn finish(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// What a panic carries.
pub(crate) type PanicPayload = Box<dyn std::any::Any + Send>;

/// What depends on the task's future type, for the code that sees only its header.
pub(crate) struct TaskVtable {
    /// Empties the task body: the future, the outcome, names and callbacks. Called on the
    /// loop's thread when the last local reference goes.
    pub(crate) drop_body: unsafe fn(NonNull<Header>) -> Option<PanicPayload>,
    /// Drops the header's fields and frees the allocation, on any thread, once the last
    /// reference of all is gone (the body is empty by then).
    pub(crate) dealloc: unsafe fn(NonNull<Header>),
}

/// The first field of every task allocation (`#[repr(C)]`, so a pointer to the task is a
/// pointer to its header).
#[repr(C)]
pub(crate) struct Header {
    pub(crate) state: State,
    /// Touched on the loop's thread only.
    pub(crate) queued: Queued,
    /// What the task is parked on in its current step (see `task::waiting`), or 0: set by a
    /// primitive through the task's waker, cleared at each poll; on the loop's thread only, as
    /// `queued` (in the padding after it).
    pub(crate) waiting: std::sync::atomic::AtomicU8,
    /// The task's key in its loop's slab, as `Key::to_u64`.
    pub(crate) key: u64,
    pub(crate) shared: Arc<Shared>,
    pub(crate) vtable: &'static TaskVtable,
    /// The task's span for its wakers' events (feature `tracing`).
    #[cfg(feature = "tracing")]
    pub(crate) span_id: super::trace::SpanId,
}

impl Header {
    pub(crate) fn new(key: u64, shared: Arc<Shared>, vtable: &'static TaskVtable) -> Header {
        Header {
            state: State::new(),
            queued: Queued::new(),
            waiting: std::sync::atomic::AtomicU8::new(0),
            key,
            shared,
            vtable,
            #[cfg(feature = "tracing")]
            span_id: super::trace::SpanId::new(),
        }
    }

    /// Queues the task on its loop unless it is queued already or finished: in the ready
    /// queue directly on the loop's own thread, through the loop's cross-thread queue from
    /// anywhere else.
    pub(crate) fn schedule(&self) {
        if context::with_core_of(self.shared.id, |core| core.schedule_task(self)).is_some() {
            return;
        }
        if self.state.claim_remote() {
            schedule_remote(&self.shared.remote, self.key);
        }
    }

    /// Gives one reference back, and frees the task if it was the last.
    ///
    /// # Safety
    /// `header` points to a live task header and the caller owns one of its references,
    /// which it must not use again.
    pub(crate) unsafe fn release(header: NonNull<Header>) {
        // SAFETY: the caller's reference keeps the header alive until `ref_dec` gives it
        // back; the vtable is read before that, as another thread may free the task the
        // moment after.
        let (dealloc, last) = unsafe {
            let h = header.as_ref();
            let dealloc = h.vtable.dealloc;
            (dealloc, h.state.ref_dec())
        };
        if last {
            // SAFETY: that was the last reference: nobody else can reach the task, and the
            // loop emptied its body before it gave its own reference up.
            unsafe { dealloc(header) };
        }
    }

    /// Updates what the task is parked on (see `task::waiting`): keeps the bits of `keep`,
    /// adds `add`.
    #[inline]
    pub(crate) fn update_waiting(&self, keep: u8, add: u8) {
        let tag = self.waiting.load(Ordering::Relaxed);
        self.waiting.store((tag & keep) | add, Ordering::Relaxed);
    }

    /// The header of the task `waker` wakes, if it is a task's waker.
    #[inline]
    pub(crate) fn of_waker(waker: &Waker) -> Option<&Header> {
        if std::ptr::eq(waker.vtable(), &WAKER_VTABLE) {
            // SAFETY: a waker with this vtable has a live task's header as its data, kept
            // alive by the reference the waker holds (or borrows from its poller) for as long
            // as `waker` is borrowed, which bounds the returned reference.
            Some(unsafe { &*waker.data().cast::<Header>() })
        } else {
            None
        }
    }

    /// A waker for the task's own polls, borrowing the reference its poller holds.
    ///
    /// # Safety
    /// `header` points to a live task's header, derived from the task's own allocation
    /// pointer (not from a `&Header`: a clone of this waker may end up as the task's last
    /// reference, and free the task through it), and the caller holds a reference for as long
    /// as the returned waker is used.
    pub(crate) unsafe fn waker_ref(header: NonNull<Header>) -> std::mem::ManuallyDrop<Waker> {
        let raw = RawWaker::new(header.as_ptr().cast_const().cast(), &WAKER_VTABLE);
        // SAFETY: the vtable's contract holds for any live header (see `WAKER_VTABLE`), and
        // `ManuallyDrop` keeps this borrowed waker from giving back a reference it never
        // took; its clones take their own.
        std::mem::ManuallyDrop::new(unsafe { Waker::from_raw(raw) })
    }
}

/// Queues a wake on a loop from outside it. A closed loop drops the wake: its tasks are gone.
pub(crate) fn schedule_remote<N: Notify>(remote: &Remote<N>, key: u64) {
    let _ = remote.push(RemoteItem::Wake(key));
}

// The waker's data pointer is a `*const Header` that owns one reference, except for the
// borrowed waker of `waker_ref`, which is never dropped. Every function touches only the
// header, which is `Send + Sync`, so the waker is too.
static WAKER_VTABLE: RawWakerVTable =
    RawWakerVTable::new(waker_clone, waker_wake, waker_wake_by_ref, waker_drop);

unsafe fn waker_clone(data: *const ()) -> RawWaker {
    // SAFETY: `data` is a live header: the waker being cloned holds (or borrows) a reference.
    let header = unsafe { &*data.cast::<Header>() };
    #[cfg(feature = "tracing")]
    super::trace::waker_op(header, super::trace::WakerOp::Clone);
    header.state.ref_inc();
    RawWaker::new(data, &WAKER_VTABLE)
}

unsafe fn waker_wake(data: *const ()) {
    #[cfg(feature = "tracing")]
    // SAFETY: `data` is a live header, kept alive by the waker's reference.
    super::trace::waker_op(
        unsafe { &*data.cast::<Header>() },
        super::trace::WakerOp::Wake,
    );
    // SAFETY: as `waker_wake_by_ref`, then this waker's reference is given back.
    unsafe {
        schedule(data);
        release(data);
    }
}

unsafe fn waker_wake_by_ref(data: *const ()) {
    #[cfg(feature = "tracing")]
    // SAFETY: `data` is a live header, kept alive by the waker's reference.
    super::trace::waker_op(
        unsafe { &*data.cast::<Header>() },
        super::trace::WakerOp::WakeByRef,
    );
    // SAFETY: as above.
    unsafe { schedule(data) };
}

unsafe fn waker_drop(data: *const ()) {
    #[cfg(feature = "tracing")]
    // SAFETY: `data` is a live header until the release below.
    super::trace::waker_op(
        unsafe { &*data.cast::<Header>() },
        super::trace::WakerOp::Drop,
    );
    // SAFETY: the waker owns one reference.
    unsafe { release(data) };
}

/// # Safety
/// `data` is a live header, kept alive by the caller's reference.
#[inline(always)]
unsafe fn schedule(data: *const ()) {
    // SAFETY: as the contract says.
    unsafe { (*data.cast::<Header>()).schedule() };
}

/// # Safety
/// The caller owns one reference of the header `data`, given back here and never used again.
#[inline(always)]
unsafe fn release(data: *const ()) {
    // SAFETY: as the contract says.
    unsafe { Header::release(NonNull::new_unchecked(data.cast_mut().cast())) };
}

#[cfg(all(test, asyncio_loom))]
mod loom_tests {
    //! Model checks of the reference count: whatever the interleaving, exactly one holder
    //! frees the task, after every other holder is done with it.

    use super::*;
    use loom::cell::UnsafeCell;
    use loom::sync::Arc;
    use loom::thread;

    /// Stands for a task: the state word, and a body the loop writes before letting go.
    struct Task {
        state: State,
        body: UnsafeCell<u32>,
    }

    /// The loop empties the body and releases its reference while two wakers, cloned from
    /// it before, are dropped on other threads: one release is the last, and the one that
    /// frees sees the loop's write (loom reports a race on `body` otherwise).
    #[test]
    fn loom_the_last_reference_frees_once_and_sees_every_write() {
        loom::model(|| {
            let task = Arc::new(Task {
                state: State::new(),
                body: UnsafeCell::new(1),
            });
            task.state.ref_inc();
            task.state.ref_inc();
            let frees = Arc::new(loom::sync::atomic::AtomicUsize::new(0));
            let free = |task: &Task, frees: &loom::sync::atomic::AtomicUsize| {
                // Freeing reads the whole allocation.
                task.body.with(|b| assert_eq!(unsafe { *b }, 0));
                frees.fetch_add(1, Ordering::SeqCst);
            };
            let wakers: Vec<_> = (0..2)
                .map(|_| {
                    let (task, frees) = (task.clone(), frees.clone());
                    thread::spawn(move || {
                        if task.state.ref_dec() {
                            free(&task, &frees);
                        }
                    })
                })
                .collect();
            // The loop's last local reference: empty the body, then give the reference up.
            task.body.with_mut(|b| unsafe { *b = 0 });
            if task.state.ref_dec() {
                free(&task, &frees);
            }
            for w in wakers {
                w.join().unwrap();
            }
            assert_eq!(frees.load(Ordering::SeqCst), 1);
        });
    }

    /// Wakes and reference changes share one word: a wake racing with a drop neither loses
    /// the `REMOTE` bit nor disturbs the count.
    #[test]
    fn loom_wakes_and_reference_changes_do_not_disturb_each_other() {
        loom::model(|| {
            let state = Arc::new(State::new());
            state.ref_inc();
            let waker = {
                let state = state.clone();
                thread::spawn(move || {
                    let queued = state.claim_remote();
                    assert!(!state.ref_dec(), "the loop still holds its reference");
                    queued
                })
            };
            state.ref_inc();
            assert!(!state.ref_dec());
            let queued = waker.join().unwrap();
            assert!(queued && state.is_remote());
            assert!(state.ref_dec(), "the loop's reference is the last");
        });
    }
}

//! A value that only one thread at a time may touch: the thread that made it, or the one
//! that took it over.
//!
//! The loop's core is `Rc`-based and bound to a thread, as every asyncio loop is; a Python
//! object holding it must still be `Send + Sync` for PyO3. [`ThreadBound`] checks the thread
//! on each access (one compare of the thread id) and refuses other threads with asyncio's
//! `RuntimeError` instead of touching the value.
//!
//! asyncio lets a loop that is not running be used, and run, from any thread: a program may
//! make a loop on its main thread and run it on a worker, then close it on the main thread.
//! So a thread other than the owner takes the value over, under the GIL, unless the loop is
//! turning (see [`Turning`]). The values of a loop's transports and pending calls share the
//! loop's owner ([`follow`](ThreadBound::follow)), so they move with it.

use pyo3::exceptions::PyRuntimeError;
use pyo3::{PyResult, Python};
use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// This thread's mark, unique among the threads alive: its pthread id, which is read from
/// the thread's own control block (a thread-local of this library would cost a call to
/// `__tls_get_addr` at each use, as the library is loaded at run time).
#[inline]
fn this_thread() -> usize {
    // SAFETY: `pthread_self` has no preconditions and cannot fail.
    unsafe { libc::pthread_self() as usize }
}

/// Who owns a loop's values, and whether the loop is turning.
struct Owner {
    thread: AtomicUsize,
    /// Set while the owner is in the loop's turns, which wait for I/O without the GIL: no
    /// other thread may take the values over then.
    turning: AtomicBool,
}

pub(crate) struct ThreadBound<T> {
    /// Shared by the values that follow one loop.
    owner: Arc<Owner>,
    value: ManuallyDrop<T>,
}

// SAFETY: the value is reached only through `get`, which hands it out on the owner thread
// alone, and dropped there alone (elsewhere it is leaked). The owner changes only in `adopt`,
// with the GIL held and no thread in the loop's turns (the one place where these values are
// used without the GIL: the turn's wait touches only the poller, but the turn holds them), so
// every access is made with the GIL held and the GIL orders one owner's accesses before the
// next one's. A call that ran Python code (which may let the GIL go) and takes the value up
// again afterwards does so under the GIL too: at worst it finds a `RefCell` borrowed, a panic
// that PyO3 turns into an exception, never a data race.
unsafe impl<T> Send for ThreadBound<T> {}
// SAFETY: as for `Send`.
unsafe impl<T> Sync for ThreadBound<T> {}

impl<T> ThreadBound<T> {
    pub(crate) fn new(value: T) -> Self {
        ThreadBound {
            owner: Arc::new(Owner {
                thread: AtomicUsize::new(this_thread()),
                turning: AtomicBool::new(false),
            }),
            value: ManuallyDrop::new(value),
        }
    }

    /// A value owned by whichever thread owns `leader`, now and after another thread takes
    /// `leader` over (a loop's transport follows its loop).
    pub(crate) fn follow<U>(leader: &ThreadBound<U>, value: T) -> Self {
        ThreadBound {
            owner: leader.owner.clone(),
            value: ManuallyDrop::new(value),
        }
    }

    /// The value, on the owner thread; another thread takes it over (with the values that
    /// follow the same loop) unless the loop is turning.
    #[inline]
    pub(crate) fn get(&self) -> PyResult<&T> {
        if self.owner.thread.load(Ordering::Acquire) == this_thread() {
            return Ok(&self.value);
        }
        self.adopt()
    }

    /// The value if this thread owns it, without taking it over (for the garbage collector's
    /// traversal, and for calls that other threads may make).
    #[inline]
    pub(crate) fn try_get(&self) -> Option<&T> {
        (self.owner.thread.load(Ordering::Acquire) == this_thread()).then_some(&*self.value)
    }

    #[cold]
    fn adopt(&self) -> PyResult<&T> {
        Python::attach(|_py| {
            // `turning` is set and cleared by the owner with the GIL held, as is this test.
            if self.owner.turning.load(Ordering::Acquire) {
                return Err(PyRuntimeError::new_err(
                    "Non-thread-safe operation invoked on an event loop other than the current one",
                ));
            }
            self.owner.thread.store(this_thread(), Ordering::Release);
            Ok(&*self.value)
        })
    }

    /// Marks the loop as turning on this thread until the guard drops: until then, other
    /// threads are refused.
    pub(crate) fn turning(&self) -> Turning<'_> {
        self.owner.turning.store(true, Ordering::Release);
        Turning(&self.owner.turning)
    }
}

/// Clears the turning mark when the loop's turns end.
pub(crate) struct Turning<'a>(&'a AtomicBool);

impl Drop for Turning<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl<T> Drop for ThreadBound<T> {
    fn drop(&mut self) {
        if self.owner.thread.load(Ordering::Acquire) == this_thread() {
            // SAFETY: dropped once, here, on the owner thread; never used after.
            unsafe { ManuallyDrop::drop(&mut self.value) };
        }
        // Elsewhere the value is leaked: touching it off its thread is what this type forbids.
    }
}

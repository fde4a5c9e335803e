//! A value that only one thread at a time may touch: the thread that made it, or the one
//! that took it over (see [`ThreadBound::adopt`]).
//!
//! The loop's core is `Rc`-based and bound to a thread, as every asyncio loop is; a Python
//! object holding it must still be `Send + Sync` for PyO3. [`ThreadBound`] checks the thread
//! on each access (one compare of the thread id) and refuses other threads with
//! asyncio's `RuntimeError` instead of touching the value.
//!
//! asyncio lets a loop that is not running be used, and run, from any thread: a program may
//! make a loop on its main thread and run it on a worker. The loop's value then changes hands
//! under the GIL, with [`adopt`](ThreadBound::adopt).

use pyo3::exceptions::PyRuntimeError;
use pyo3::PyResult;
use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicUsize, Ordering};

/// This thread's mark, unique among the threads alive: its pthread id, which is read from
/// the thread's own control block (a thread-local of this library would cost a call to
/// `__tls_get_addr` at each use, as the library is loaded at run time).
#[inline]
fn this_thread() -> usize {
    // SAFETY: `pthread_self` has no preconditions and cannot fail.
    unsafe { libc::pthread_self() as usize }
}

pub(crate) struct ThreadBound<T> {
    owner: AtomicUsize,
    value: ManuallyDrop<T>,
}

// SAFETY: the value is reached only through `get`, which hands it out on the owner thread
// alone, and dropped there alone (elsewhere it is leaked); the owner changes only through
// `adopt`, whose contract orders the old owner's last access before the new owner's first.
// So it is never touched by two threads at once, which is what `Send`/`Sync` would otherwise
// have to promise. A thread that took the id of an owner which has exited may reach it, but
// the owner can no longer.
unsafe impl<T> Send for ThreadBound<T> {}
// SAFETY: as for `Send`.
unsafe impl<T> Sync for ThreadBound<T> {}

impl<T> ThreadBound<T> {
    pub(crate) fn new(value: T) -> Self {
        ThreadBound {
            owner: AtomicUsize::new(this_thread()),
            value: ManuallyDrop::new(value),
        }
    }

    /// The value, on the owner thread.
    #[inline]
    pub(crate) fn get(&self) -> PyResult<&T> {
        self.try_get().ok_or_else(|| {
            PyRuntimeError::new_err(
                "Non-thread-safe operation invoked on an event loop other than the current one",
            )
        })
    }

    #[inline]
    pub(crate) fn try_get(&self) -> Option<&T> {
        (self.owner.load(Ordering::Acquire) == this_thread()).then_some(&*self.value)
    }

    /// Makes this thread the owner, and hands out the value.
    ///
    /// # Safety
    /// The caller holds the GIL; every access to the value, on any thread, is made with the
    /// GIL held; and the old owner is not inside a call that touches the value and has let
    /// the GIL go (the loop's turn, which waits without the GIL, must not be running). The
    /// GIL then orders the old owner's last access before this thread's first.
    pub(crate) unsafe fn adopt(&self) -> &T {
        self.owner.store(this_thread(), Ordering::Release);
        &self.value
    }
}

impl<T> Drop for ThreadBound<T> {
    fn drop(&mut self) {
        if *self.owner.get_mut() == this_thread() {
            // SAFETY: dropped once, here, on the owner thread; never used after.
            unsafe { ManuallyDrop::drop(&mut self.value) };
        }
        // Elsewhere the value is leaked: touching it off its thread is what this type forbids.
    }
}

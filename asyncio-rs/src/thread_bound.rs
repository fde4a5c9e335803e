//! A value that only the thread that made it may touch.
//!
//! The loop's core is `Rc`-based and bound to its thread, as every asyncio loop is; a Python
//! object holding it must still be `Send + Sync` for PyO3. [`ThreadBound`] checks the thread
//! on each access (one compare of the thread id) and refuses other threads with
//! asyncio's `RuntimeError` instead of touching the value.

use pyo3::exceptions::PyRuntimeError;
use pyo3::PyResult;
use std::mem::ManuallyDrop;

/// This thread's mark, unique among the threads alive: its pthread id, which is read from
/// the thread's own control block (a thread-local of this library would cost a call to
/// `__tls_get_addr` at each use, as the library is loaded at run time).
#[inline]
fn this_thread() -> usize {
    // SAFETY: `pthread_self` has no preconditions and cannot fail.
    unsafe { libc::pthread_self() as usize }
}

pub(crate) struct ThreadBound<T> {
    owner: usize,
    value: ManuallyDrop<T>,
}

// SAFETY: the value is reached only through `get`, which hands it out on the owner thread
// alone, and dropped there alone (elsewhere it is leaked); so it is never touched by two
// threads, which is what `Send`/`Sync` would otherwise have to promise. A thread that took
// the id of an owner which has exited may reach it, but the owner can no longer.
unsafe impl<T> Send for ThreadBound<T> {}
// SAFETY: as for `Send`.
unsafe impl<T> Sync for ThreadBound<T> {}

impl<T> ThreadBound<T> {
    pub(crate) fn new(value: T) -> Self {
        ThreadBound {
            owner: this_thread(),
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
        (self.owner == this_thread()).then_some(&*self.value)
    }
}

impl<T> Drop for ThreadBound<T> {
    fn drop(&mut self) {
        if self.owner == this_thread() {
            // SAFETY: dropped once, here, on the owner thread; never used after.
            unsafe { ManuallyDrop::drop(&mut self.value) };
        }
        // Elsewhere the value is leaked: touching it off its thread is what this type forbids.
    }
}

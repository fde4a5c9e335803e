//! The atomics and locks of the cross-thread paths, behind one name so that `loom` can replace
//! them when the crate is built with `--cfg asyncio_loom`.

#[cfg(asyncio_loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicUsize, fence};
#[cfg(asyncio_loom)]
pub(crate) use loom::sync::{Mutex, MutexGuard};

#[cfg(not(asyncio_loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicUsize, fence};
#[cfg(not(asyncio_loom))]
pub(crate) use std::sync::{Mutex, MutexGuard};

/// Locks, going on through poisoning: the data behind these locks stays consistent across a
/// panic because every critical section is a plain push or swap.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    #[cfg(asyncio_loom)]
    return m.lock().unwrap();
    #[cfg(not(asyncio_loom))]
    m.lock().unwrap_or_else(|e| e.into_inner())
}

//! The errors of the synchronization primitives, named after the asyncio exceptions they stand
//! for. Releasing a lock that is not held is asyncio's `RuntimeError`, the crate's
//! [`RuntimeError`](crate::RuntimeError).

use std::fmt;

/// A value is out of range for the call (Python's `ValueError`): a
/// [`BoundedSemaphore`](crate::BoundedSemaphore) released more times than it was acquired, or
/// [`task_done`](crate::Queue::task_done) called more times than items were put.
///
/// # Examples
/// ```
/// let sem = asyncio::BoundedSemaphore::new(1);
/// let err = sem.release().unwrap_err();
/// assert_eq!(err.to_string(), "BoundedSemaphore released too many times");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueError {
    /// What was wrong, in asyncio's words.
    pub msg: &'static str,
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.msg)
    }
}

impl std::error::Error for ValueError {}

/// A [`Barrier`](crate::Barrier) was aborted, or reset while this task waited at it
/// (asyncio's `BrokenBarrierError`).
///
/// # Examples
/// ```
/// # asyncio::run(async {
/// let barrier = asyncio::Barrier::new(2);
/// barrier.abort();
/// assert_eq!(barrier.wait().await, Err(asyncio::BrokenBarrierError));
/// # });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BrokenBarrierError;

impl fmt::Display for BrokenBarrierError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the barrier is broken: aborted or reset")
    }
}

impl std::error::Error for BrokenBarrierError {}

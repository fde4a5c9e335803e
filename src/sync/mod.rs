//! Synchronization primitives for the tasks of one loop: Lock, Event, Condition, Semaphore,
//! BoundedSemaphore, Barrier.
//!
//! Like asyncio's, they are not thread-safe: they live on one loop and use no atomics. Each is
//! a cheap `Clone` handle to one shared object. They all wait through the FIFO in [`waiters`],
//! and follow one rule for cancellation: a waiter dropped after it was woken passes its wake-up
//! (or the lock, or the permit) on, so nothing is leaked and nobody sleeps while the resource is
//! free.
#![forbid(unsafe_code)]

mod barrier;
mod condition;
mod error;
mod event;
mod lock;
mod semaphore;
mod waiters;

pub use barrier::{Barrier, BarrierWait};
pub use condition::{Condition, ConditionWait, ConditionWaitFor};
pub use error::{BrokenBarrierError, ValueError};
pub use event::{Event, EventWait};
pub use lock::{Acquire, Lock, LockGuard};
pub use semaphore::{BoundedSemaphore, Semaphore, SemaphoreAcquire, SemaphorePermit};
pub(crate) use waiters::{Turn, WaitList, Waiter};

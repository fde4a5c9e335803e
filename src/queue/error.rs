//! The queue errors, named after asyncio's `QueueEmpty`, `QueueFull` and `QueueShutDown`.
//!
//! Where a call gives an item to the queue, its error gives the item back, as Rust channels
//! do; `Debug` does not show the item, so any `T` can be unwrapped.

use std::fmt;

/// `get_nowait` on an empty queue (asyncio's `QueueEmpty`).
///
/// # Examples
/// ```
/// let queue: asyncio::Queue<u32> = asyncio::Queue::new(0);
/// assert_eq!(queue.get_nowait().unwrap_err(), asyncio::GetNowaitError::Empty(asyncio::QueueEmpty));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueEmpty;

impl fmt::Display for QueueEmpty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the queue is empty")
    }
}

impl std::error::Error for QueueEmpty {}

/// `put_nowait` on a full queue (asyncio's `QueueFull`); holds the item that was not put.
///
/// # Examples
/// ```
/// let queue = asyncio::Queue::new(1);
/// queue.put_nowait("a").unwrap();
/// let err = queue.put_nowait("b").unwrap_err();
/// assert_eq!(err.into_inner(), "b");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct QueueFull<T>(pub T);

impl<T> fmt::Debug for QueueFull<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("QueueFull(..)")
    }
}

impl<T> fmt::Display for QueueFull<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the queue is full")
    }
}

impl<T> std::error::Error for QueueFull<T> {}

/// A put on a shut-down queue, or a get on one that is shut down and empty (asyncio 3.13's
/// `QueueShutDown`). From a put it holds the item that was not put; from a get, `()`.
///
/// # Examples
/// ```
/// # asyncio::run(async {
/// let queue = asyncio::Queue::new(0);
/// queue.shutdown(false);
/// assert_eq!(queue.put(7).await.unwrap_err().0, 7);
/// assert_eq!(queue.get().await, Err(asyncio::QueueShutDown(())));
/// # });
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueShutDown<T = ()>(pub T);

impl<T> fmt::Debug for QueueShutDown<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("QueueShutDown(..)")
    }
}

impl<T> fmt::Display for QueueShutDown<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the queue is shut down")
    }
}

impl<T> std::error::Error for QueueShutDown<T> {}

/// Why `get_nowait` gave no item: asyncio raises `QueueEmpty` or `QueueShutDown`.
///
/// # Examples
/// ```
/// let queue: asyncio::Queue<u32> = asyncio::Queue::new(0);
/// queue.shutdown(false);
/// assert!(matches!(queue.get_nowait(), Err(asyncio::GetNowaitError::ShutDown(_))));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GetNowaitError {
    /// The queue is empty.
    Empty(QueueEmpty),
    /// The queue is shut down and empty.
    ShutDown(QueueShutDown),
}

impl fmt::Display for GetNowaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GetNowaitError::Empty(e) => e.fmt(f),
            GetNowaitError::ShutDown(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for GetNowaitError {}

/// Why `put_nowait` did not put the item (asyncio raises `QueueFull` or `QueueShutDown`); holds
/// the item.
///
/// # Examples
/// ```
/// let queue = asyncio::Queue::new(0);
/// queue.shutdown(false);
/// let err = queue.put_nowait(1).unwrap_err();
/// assert!(matches!(err, asyncio::PutNowaitError::ShutDown(_)));
/// assert_eq!(err.into_inner(), 1);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub enum PutNowaitError<T> {
    /// The queue is full.
    Full(QueueFull<T>),
    /// The queue is shut down.
    ShutDown(QueueShutDown<T>),
}

impl<T> PutNowaitError<T> {
    /// The item that was not put.
    ///
    /// # Examples
    /// ```
    /// let err = asyncio::PutNowaitError::Full(asyncio::QueueFull("job"));
    /// assert_eq!(err.into_inner(), "job");
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            PutNowaitError::Full(QueueFull(item)) => item,
            PutNowaitError::ShutDown(QueueShutDown(item)) => item,
        }
    }
}

impl<T> fmt::Debug for PutNowaitError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PutNowaitError::Full(e) => e.fmt(f),
            PutNowaitError::ShutDown(e) => e.fmt(f),
        }
    }
}

impl<T> fmt::Display for PutNowaitError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PutNowaitError::Full(e) => fmt::Display::fmt(e, f),
            PutNowaitError::ShutDown(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl<T> std::error::Error for PutNowaitError<T> {}

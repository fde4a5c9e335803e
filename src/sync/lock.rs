//! `Lock`: a fair mutual-exclusion lock for tasks.
//!
//! # Design
//! `locked` is true while someone owns the lock. Release hands the lock straight to the first
//! waiter (it stays locked), so a newcomer can never barge past the queue, and `!locked`
//! implies an empty queue: the fast path only reads one flag. A waiter dropped after it was
//! handed the lock hands it on in turn.

use super::waiters::{Turn, WaitList, Waiter};
use crate::error::RuntimeError;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

struct Inner {
    locked: Cell<bool>,
    waiters: RefCell<WaitList>,
}

/// A lock for tasks of one loop (asyncio's `Lock`): fair, first come first served, and not
/// reentrant.
///
/// [`acquire`](Lock::acquire) gives a [`LockGuard`] that releases the lock when dropped, the
/// Rust form of `async with lock:`. The explicit style (`await lock.acquire()` …
/// `lock.release()`) is [`LockGuard::forget`] then [`Lock::release`]. Clones are handles to
/// the same lock. It guards no data of its own: use it around a `RefCell`, or where the thing
/// guarded is outside the program (a file, a connection, the order of output lines).
///
/// # Examples
/// ```
/// # asyncio::Runner::new().virtual_time(true).run(async {
/// async fn lock_competitor(n: u64, lock: asyncio::Lock) {
///     let _held = lock.acquire().await; // `async with lock:`
///     asyncio::sleep(n as f64).await;
/// }
///
/// let lock = asyncio::Lock::new();
/// let tasks: Vec<_> = (1..5).map(|n| asyncio::create_task(lock_competitor(n, lock.clone()))).collect();
/// for task in tasks {
///     task.await.unwrap();
/// }
/// assert_eq!(asyncio::get_running_loop().time(), 10.0); // 1 + 2 + 3 + 4, one at a time
/// # });
/// ```
#[derive(Clone)]
pub struct Lock {
    inner: Rc<Inner>,
}

impl Lock {
    /// A new, unlocked lock.
    ///
    /// # Examples
    /// ```
    /// let lock = asyncio::Lock::new();
    /// assert!(!lock.locked());
    /// ```
    pub fn new() -> Lock {
        Lock {
            inner: Rc::new(Inner {
                locked: Cell::new(false),
                waiters: RefCell::new(WaitList::labelled(
                    crate::task::waiting::Waiting::LockAcquire,
                )),
            }),
        }
    }

    /// Waits until the lock is free and takes it; the guard releases it when dropped.
    ///
    /// Waiters get the lock in the order they started waiting.
    ///
    /// # Cancel safety
    /// Dropping the future before it completes loses nothing. See [`Acquire`].
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let lock = asyncio::Lock::new();
    /// {
    ///     let _guard = lock.acquire().await;
    ///     assert!(lock.locked());
    /// }
    /// assert!(!lock.locked());
    /// # });
    /// ```
    #[inline]
    pub fn acquire(&self) -> Acquire {
        Acquire {
            lock: self.clone(),
            waiter: None,
        }
    }

    /// Takes the lock if it is free and nobody waits for it, without waiting.
    ///
    /// # Examples
    /// ```
    /// let lock = asyncio::Lock::new();
    /// let guard = lock.try_acquire().unwrap();
    /// assert!(lock.try_acquire().is_none());
    /// drop(guard);
    /// assert!(lock.try_acquire().is_some());
    /// ```
    #[inline]
    pub fn try_acquire(&self) -> Option<LockGuard> {
        if self.inner.locked.get() {
            return None;
        }
        self.inner.locked.set(true);
        Some(LockGuard {
            lock: Some(self.clone()),
        })
    }

    /// Releases the lock, for the explicit style where the guard was
    /// [`forget`](LockGuard::forget)-ten. The first waiter, if any, gets it next.
    ///
    /// Any task may release the lock, as in asyncio: it has no owner.
    ///
    /// # Errors
    /// asyncio's `RuntimeError` ("Lock is not acquired.") when the lock is not locked.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let lock = asyncio::Lock::new();
    /// lock.acquire().await.forget(); // `await lock.acquire()`
    /// assert!(lock.locked());
    /// lock.release().unwrap();
    /// assert_eq!(lock.release().unwrap_err().to_string(), "Lock is not acquired.");
    /// # });
    /// ```
    pub fn release(&self) -> Result<(), RuntimeError> {
        if !self.inner.locked.get() {
            return Err(RuntimeError {
                msg: "Lock is not acquired.",
            });
        }
        self.unlock();
        Ok(())
    }

    /// Whether the lock is held, or already handed to a waiter that has not run yet.
    ///
    /// # Examples
    /// ```
    /// let lock = asyncio::Lock::new();
    /// let _guard = lock.try_acquire();
    /// assert!(lock.locked());
    /// ```
    #[inline]
    pub fn locked(&self) -> bool {
        self.inner.locked.get()
    }

    pub(crate) fn same_as(&self, other: &Lock) -> bool {
        Rc::ptr_eq(&self.inner, &other.inner)
    }

    /// Hands the lock to the first waiter, or frees it if nobody waits.
    #[inline]
    fn unlock(&self) {
        if !self.inner.waiters.borrow_mut().notify_one() {
            self.inner.locked.set(false);
        }
    }
}

impl Default for Lock {
    fn default() -> Self {
        Lock::new()
    }
}

impl fmt::Debug for Lock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lock")
            .field("locked", &self.locked())
            .field("waiters", &self.inner.waiters.borrow().len())
            .finish()
    }
}

/// The future of [`Lock::acquire`]; gives a [`LockGuard`].
///
/// # Cancel safety
/// Dropping it loses nothing: it gives up its place in the queue, and if the lock had already
/// been handed to it, hands the lock on to the next waiter (or frees it).
#[must_use = "a lock is only taken when the Acquire future is awaited"]
pub struct Acquire {
    lock: Lock,
    waiter: Option<Rc<Waiter>>,
}

impl Future for Acquire {
    type Output = LockGuard;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<LockGuard> {
        let this = self.get_mut();
        let inner = &this.lock.inner;
        match WaitList::turn(&inner.waiters, &mut this.waiter, cx.waker()) {
            // The lock was handed over.
            Turn::Notified => Poll::Ready(LockGuard {
                lock: Some(this.lock.clone()),
            }),
            Turn::Queued => Poll::Pending,
            Turn::Idle if !inner.locked.get() => {
                inner.locked.set(true);
                Poll::Ready(LockGuard {
                    lock: Some(this.lock.clone()),
                })
            }
            Turn::Idle => {
                let waiter = inner.waiters.borrow_mut().push(cx.waker());
                this.waiter = Some(waiter);
                Poll::Pending
            }
        }
    }
}

impl Drop for Acquire {
    #[inline]
    fn drop(&mut self) {
        if let Some(waiter) = self.waiter.take() {
            if waiter.notified() {
                self.lock.unlock();
            } else {
                self.lock.inner.waiters.borrow_mut().remove(&waiter);
            }
        }
    }
}

impl fmt::Debug for Acquire {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acquire")
            .field("waiting", &self.waiter.is_some())
            .finish()
    }
}

/// Proof that the lock is held; releases it when dropped (the end of `async with lock:`).
///
/// # Examples
/// ```
/// # asyncio::run(async {
/// let lock = asyncio::Lock::new();
/// let guard = lock.acquire().await;
/// drop(guard);
/// assert!(!lock.locked());
/// # });
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct LockGuard {
    /// `None` once forgotten.
    lock: Option<Lock>,
}

impl LockGuard {
    /// Keeps the lock held with no guard, for the explicit style: release it later with
    /// [`Lock::release`].
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let lock = asyncio::Lock::new();
    /// lock.acquire().await.forget();
    /// assert!(lock.locked());
    /// lock.release().unwrap();
    /// # });
    /// ```
    pub fn forget(mut self) {
        self.lock = None;
    }

    /// The lock this guard holds.
    pub(crate) fn lock(&self) -> &Lock {
        self.lock.as_ref().expect("a live guard holds its lock")
    }
}

impl Drop for LockGuard {
    #[inline]
    fn drop(&mut self) {
        if let Some(lock) = self.lock.take() {
            lock.unlock();
        }
    }
}

impl fmt::Debug for LockGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockGuard").finish_non_exhaustive()
    }
}

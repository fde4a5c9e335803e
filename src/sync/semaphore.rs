//! `Semaphore` and `BoundedSemaphore`: a counter of permits that tasks take and give back.
//!
//! # Design
//! `value` counts the free permits. A release hands its permit straight to the first waiter
//! when there is one, so `value > 0` implies an empty queue (as in asyncio 3.13, which also
//! hands the permit over at wake-up): a newcomer cannot take a permit meant for a waiter, and
//! the fast path reads one counter. A waiter dropped after it was handed a permit releases it
//! again, which hands it to the next waiter.

use super::error::ValueError;
use super::waiters::{Turn, WaitList, Waiter};
use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

struct Inner {
    value: Cell<usize>,
    /// The initial value of a `BoundedSemaphore`, which `value` may not pass.
    bound: Option<usize>,
    waiters: RefCell<WaitList>,
}

impl Inner {
    fn new(value: usize, bound: Option<usize>) -> Rc<Inner> {
        Rc::new(Inner {
            value: Cell::new(value),
            bound,
            waiters: RefCell::new(WaitList::labelled(
                crate::task::waiting::Waiting::SemaphoreAcquire,
            )),
        })
    }

    #[inline]
    fn try_acquire(self: &Rc<Self>) -> Option<SemaphorePermit> {
        let value = self.value.get();
        if value == 0 {
            return None;
        }
        self.value.set(value - 1);
        Some(SemaphorePermit {
            sem: Some(self.clone()),
        })
    }

    #[inline]
    fn release(&self) -> Result<(), ValueError> {
        if self.waiters.borrow_mut().notify_one() {
            return Ok(());
        }
        let value = self.value.get();
        if self.bound.is_some_and(|bound| value >= bound) {
            return Err(ValueError {
                msg: "BoundedSemaphore released too many times",
            });
        }
        self.value.set(value + 1);
        Ok(())
    }

    #[inline]
    fn acquire(self: &Rc<Self>) -> SemaphoreAcquire {
        SemaphoreAcquire {
            sem: self.clone(),
            waiter: None,
        }
    }
}

/// A semaphore for tasks (asyncio's `Semaphore`): at most `value` holders at once, and
/// waiters served first come first.
///
/// [`acquire`](Semaphore::acquire) gives a [`SemaphorePermit`] that gives the permit back when
/// dropped (`async with sem:`); the explicit style is [`SemaphorePermit::forget`] then
/// [`release`](Semaphore::release). Clones are handles to the same semaphore.
///
/// # Examples
/// ```
/// # asyncio::Runner::new().virtual_time(true).run(async {
/// let sem = asyncio::Semaphore::new(2);
/// let tasks: Vec<_> = (0..4)
///     .map(|_| {
///         let sem = sem.clone();
///         asyncio::create_task(async move {
///             let _permit = sem.acquire().await;
///             asyncio::sleep(1.0).await;
///         })
///     })
///     .collect();
/// for task in tasks {
///     task.await.unwrap();
/// }
/// assert_eq!(asyncio::get_running_loop().time(), 2.0); // two at a time
/// # });
/// ```
#[derive(Clone)]
pub struct Semaphore {
    inner: Rc<Inner>,
}

impl Semaphore {
    /// A semaphore with `value` permits.
    ///
    /// # Examples
    /// ```
    /// assert!(asyncio::Semaphore::new(0).locked());
    /// ```
    pub fn new(value: usize) -> Semaphore {
        Semaphore {
            inner: Inner::new(value, None),
        }
    }

    /// Waits for a permit and takes it; the permit is given back when dropped.
    ///
    /// # Cancel safety
    /// Dropping the future before it completes loses no permit. See [`SemaphoreAcquire`].
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let sem = asyncio::Semaphore::new(1);
    /// let permit = sem.acquire().await;
    /// assert!(sem.locked());
    /// drop(permit);
    /// assert!(!sem.locked());
    /// # });
    /// ```
    pub fn acquire(&self) -> SemaphoreAcquire {
        self.inner.acquire()
    }

    /// Takes a permit if one is free, without waiting.
    ///
    /// # Examples
    /// ```
    /// let sem = asyncio::Semaphore::new(1);
    /// let _permit = sem.try_acquire().unwrap();
    /// assert!(sem.try_acquire().is_none());
    /// ```
    pub fn try_acquire(&self) -> Option<SemaphorePermit> {
        self.inner.try_acquire()
    }

    /// Adds a permit (for the explicit style), handing it to the first waiter if there is one.
    /// A plain semaphore may be released more times than it was acquired: it then grows.
    ///
    /// # Examples
    /// ```
    /// let sem = asyncio::Semaphore::new(0);
    /// sem.release();
    /// assert!(!sem.locked());
    /// ```
    pub fn release(&self) {
        let unbounded = self.inner.release();
        debug_assert!(unbounded.is_ok());
    }

    /// Whether an `acquire` would have to wait.
    ///
    /// # Examples
    /// ```
    /// let sem = asyncio::Semaphore::new(1);
    /// assert!(!sem.locked());
    /// ```
    pub fn locked(&self) -> bool {
        self.inner.value.get() == 0
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("value", &self.inner.value.get())
            .field("waiters", &self.inner.waiters.borrow().len())
            .finish()
    }
}

/// A [`Semaphore`] that refuses to be released past its initial value (asyncio's
/// `BoundedSemaphore`), which catches a release without a matching acquire.
///
/// # Examples
/// ```
/// # asyncio::run(async {
/// let sem = asyncio::BoundedSemaphore::new(1);
/// sem.acquire().await.forget();
/// sem.release().unwrap();
/// assert!(sem.release().is_err()); // ValueError: released too many times
/// # });
/// ```
#[derive(Clone)]
pub struct BoundedSemaphore {
    inner: Rc<Inner>,
}

impl BoundedSemaphore {
    /// A bounded semaphore with `value` permits, which is also its bound.
    ///
    /// # Examples
    /// ```
    /// assert!(!asyncio::BoundedSemaphore::new(3).locked());
    /// ```
    pub fn new(value: usize) -> BoundedSemaphore {
        BoundedSemaphore {
            inner: Inner::new(value, Some(value)),
        }
    }

    /// Waits for a permit and takes it; see [`Semaphore::acquire`].
    ///
    /// # Cancel safety
    /// Dropping the future before it completes loses no permit. See [`SemaphoreAcquire`].
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let sem = asyncio::BoundedSemaphore::new(1);
    /// let _permit = sem.acquire().await;
    /// assert!(sem.locked());
    /// # });
    /// ```
    pub fn acquire(&self) -> SemaphoreAcquire {
        self.inner.acquire()
    }

    /// Takes a permit if one is free, without waiting.
    ///
    /// # Examples
    /// ```
    /// let sem = asyncio::BoundedSemaphore::new(1);
    /// assert!(sem.try_acquire().is_some());
    /// ```
    pub fn try_acquire(&self) -> Option<SemaphorePermit> {
        self.inner.try_acquire()
    }

    /// Gives a permit back (for the explicit style), handing it to the first waiter if any.
    ///
    /// # Errors
    /// asyncio's `ValueError` ("BoundedSemaphore released too many times") when every permit
    /// is already free.
    ///
    /// # Examples
    /// ```
    /// let sem = asyncio::BoundedSemaphore::new(1);
    /// sem.try_acquire().unwrap().forget();
    /// assert!(sem.release().is_ok());
    /// assert!(sem.release().is_err());
    /// ```
    pub fn release(&self) -> Result<(), ValueError> {
        self.inner.release()
    }

    /// Whether an `acquire` would have to wait.
    ///
    /// # Examples
    /// ```
    /// assert!(asyncio::BoundedSemaphore::new(0).locked());
    /// ```
    pub fn locked(&self) -> bool {
        self.inner.value.get() == 0
    }
}

impl fmt::Debug for BoundedSemaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundedSemaphore")
            .field("value", &self.inner.value.get())
            .field("bound", &self.inner.bound)
            .field("waiters", &self.inner.waiters.borrow().len())
            .finish()
    }
}

/// The future of [`Semaphore::acquire`] and [`BoundedSemaphore::acquire`].
///
/// # Cancel safety
/// Dropping it loses nothing: it gives up its place in the queue, and a permit already handed
/// to it is released again (to the next waiter, if any).
#[must_use = "a permit is only taken when the future is awaited"]
pub struct SemaphoreAcquire {
    sem: Rc<Inner>,
    waiter: Option<Rc<Waiter>>,
}

impl Future for SemaphoreAcquire {
    type Output = SemaphorePermit;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<SemaphorePermit> {
        let this = self.get_mut();
        match WaitList::turn(&this.sem.waiters, &mut this.waiter, cx.waker()) {
            // A permit was handed over.
            Turn::Notified => Poll::Ready(SemaphorePermit {
                sem: Some(this.sem.clone()),
            }),
            Turn::Queued => Poll::Pending,
            Turn::Idle => match this.sem.try_acquire() {
                Some(permit) => Poll::Ready(permit),
                None => {
                    this.waiter = Some(this.sem.waiters.borrow_mut().push(cx.waker()));
                    Poll::Pending
                }
            },
        }
    }
}

impl Drop for SemaphoreAcquire {
    #[inline]
    fn drop(&mut self) {
        if let Some(waiter) = self.waiter.take() {
            if waiter.notified() {
                let _ = self.sem.release();
            } else {
                self.sem.waiters.borrow_mut().remove(&waiter);
            }
        }
    }
}

impl fmt::Debug for SemaphoreAcquire {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphoreAcquire")
            .field("waiting", &self.waiter.is_some())
            .finish()
    }
}

/// One permit of a [`Semaphore`] or [`BoundedSemaphore`]; given back when dropped.
///
/// # Examples
/// ```
/// # asyncio::run(async {
/// let sem = asyncio::Semaphore::new(1);
/// let permit = sem.acquire().await;
/// drop(permit);
/// assert!(!sem.locked());
/// # });
/// ```
#[must_use = "the permit is given back as soon as it is dropped"]
pub struct SemaphorePermit {
    /// `None` once forgotten.
    sem: Option<Rc<Inner>>,
}

impl SemaphorePermit {
    /// Keeps the permit taken with no guard, for the explicit style: give it back later with
    /// `release`.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let sem = asyncio::Semaphore::new(1);
    /// sem.acquire().await.forget();
    /// assert!(sem.locked());
    /// sem.release();
    /// assert!(!sem.locked());
    /// # });
    /// ```
    pub fn forget(mut self) {
        self.sem = None;
    }
}

impl Drop for SemaphorePermit {
    #[inline]
    fn drop(&mut self) {
        if let Some(sem) = self.sem.take() {
            // A permit can only overflow a bound that explicit releases already filled; that
            // error was theirs to report, so the permit is dropped quietly.
            let _ = sem.release();
        }
    }
}

impl fmt::Debug for SemaphorePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit").finish_non_exhaustive()
    }
}

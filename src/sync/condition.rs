//! `Condition`: waiting for a change announced under a lock.
//!
//! # Design
//! A condition is a [`Lock`] plus a [`WaitList`]. `wait` queues itself, then releases the lock,
//! sleeps until notified, and takes the lock again. A notification that reaches a waiter which
//! is then dropped (before it got the lock back) is passed to the next waiter, so a `notify(1)`
//! is never swallowed by a cancelled task; the cost is a possible spurious wake-up, which the
//! condition-variable protocol allows (and `wait_for` absorbs).

use super::lock::{Acquire, Lock, LockGuard};
use super::waiters::{WaitList, Waiter};
use crate::error::RuntimeError;
use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

struct Inner {
    lock: Lock,
    waiters: RefCell<WaitList>,
}

/// A condition variable for tasks (asyncio's `Condition`).
///
/// Tasks take the condition's lock, then [`wait`](Condition::wait) until another task
/// [`notify`](Condition::notify)s. Several conditions may share one [`Lock`]
/// ([`with_lock`](Condition::with_lock)). Clones are handles to the same condition.
///
/// # Examples
/// ```
/// # asyncio::run(async {
/// use std::{cell::RefCell, rc::Rc};
///
/// let cond = asyncio::Condition::new();
/// let items = Rc::new(RefCell::new(Vec::new()));
///
/// let consumer = {
///     let (cond, items) = (cond.clone(), items.clone());
///     asyncio::create_task(async move {
///         let guard = cond.acquire().await;
///         let _guard = cond.wait_for(guard, || !items.borrow().is_empty()).await;
///         items.borrow_mut().pop().unwrap()
///     })
/// };
///
/// let _guard = cond.acquire().await;
/// items.borrow_mut().push("job");
/// cond.notify(1).unwrap();
/// drop(_guard);
/// assert_eq!(consumer.await.unwrap(), "job");
/// # });
/// ```
#[derive(Clone)]
pub struct Condition {
    inner: Rc<Inner>,
}

impl Condition {
    /// A condition with a lock of its own.
    ///
    /// # Examples
    /// ```
    /// let cond = asyncio::Condition::new();
    /// assert!(!cond.locked());
    /// ```
    pub fn new() -> Condition {
        Condition::with_lock(Lock::new())
    }

    /// A condition over an existing lock (asyncio's `Condition(lock)`), which other conditions
    /// may share.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let lock = asyncio::Lock::new();
    /// let not_empty = asyncio::Condition::with_lock(lock.clone());
    /// let not_full = asyncio::Condition::with_lock(lock.clone());
    /// let guard = lock.acquire().await;
    /// assert!(not_empty.locked() && not_full.locked());
    /// not_full.notify_all().unwrap();
    /// drop(guard);
    /// # });
    /// ```
    pub fn with_lock(lock: Lock) -> Condition {
        Condition {
            inner: Rc::new(Inner {
                lock,
                waiters: RefCell::new(WaitList::labelled(
                    crate::task::waiting::Waiting::ConditionWait,
                )),
            }),
        }
    }

    /// Takes the underlying lock (`async with cond:`); see [`Lock::acquire`].
    ///
    /// # Cancel safety
    /// Dropping the future before it completes loses nothing. See [`Acquire`].
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let cond = asyncio::Condition::new();
    /// let _guard = cond.acquire().await;
    /// assert!(cond.locked());
    /// # });
    /// ```
    pub fn acquire(&self) -> Acquire {
        self.inner.lock.acquire()
    }

    /// Releases the underlying lock, for the explicit style; see [`Lock::release`].
    ///
    /// # Errors
    /// asyncio's `RuntimeError` when the lock is not locked.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let cond = asyncio::Condition::new();
    /// cond.acquire().await.forget();
    /// cond.release().unwrap();
    /// assert!(cond.release().is_err());
    /// # });
    /// ```
    pub fn release(&self) -> Result<(), RuntimeError> {
        self.inner.lock.release()
    }

    /// Whether the underlying lock is held.
    ///
    /// # Examples
    /// ```
    /// assert!(!asyncio::Condition::new().locked());
    /// ```
    pub fn locked(&self) -> bool {
        self.inner.lock.locked()
    }

    /// Releases the lock held by `guard`, waits to be notified, takes the lock again and gives
    /// the new guard back.
    ///
    /// # Panics
    /// When `guard` holds another lock than this condition's (asyncio raises `RuntimeError`
    /// for a wait on a lock not acquired; a guard makes that impossible except this way).
    ///
    /// # Cancel safety
    /// Dropping the future leaves the lock released; a notification it received goes to the next waiter. See [`ConditionWait`].
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let cond = asyncio::Condition::new();
    /// let notifier = {
    ///     let cond = cond.clone();
    ///     asyncio::create_task(async move {
    ///         let _guard = cond.acquire().await;
    ///         cond.notify_all().unwrap();
    ///     })
    /// };
    /// let guard = cond.acquire().await;
    /// let guard = cond.wait(guard).await; // the notifier runs while we wait
    /// assert!(cond.locked());
    /// drop(guard);
    /// notifier.await.unwrap();
    /// # });
    /// ```
    pub fn wait(&self, guard: LockGuard) -> ConditionWait {
        assert!(
            guard.lock().same_as(&self.inner.lock),
            "Condition::wait: the guard holds another lock than the condition's"
        );
        ConditionWait {
            cond: self.clone(),
            state: WaitState::Start { _guard: guard },
        }
    }

    /// Waits until `predicate` is true (asyncio's `wait_for`): checks it under the lock, and
    /// [`wait`](Condition::wait)s again each time it is false.
    ///
    /// # Panics
    /// As [`wait`](Condition::wait), for a guard of another lock.
    ///
    /// # Cancel safety
    /// As `wait`. See [`ConditionWaitFor`].
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// use std::{cell::Cell, rc::Rc};
    /// let cond = asyncio::Condition::new();
    /// let count = Rc::new(Cell::new(0));
    /// let producer = {
    ///     let (cond, count) = (cond.clone(), count.clone());
    ///     asyncio::create_task(async move {
    ///         for _ in 0..3 {
    ///             let _guard = cond.acquire().await;
    ///             count.set(count.get() + 1);
    ///             cond.notify_all().unwrap();
    ///         }
    ///     })
    /// };
    /// let guard = cond.acquire().await;
    /// let _guard = cond.wait_for(guard, || count.get() == 3).await;
    /// producer.await.unwrap();
    /// # });
    /// ```
    pub fn wait_for<P: FnMut() -> bool>(
        &self,
        guard: LockGuard,
        predicate: P,
    ) -> ConditionWaitFor<P> {
        assert!(
            guard.lock().same_as(&self.inner.lock),
            "Condition::wait_for: the guard holds another lock than the condition's"
        );
        ConditionWaitFor {
            cond: self.clone(),
            predicate,
            state: WaitForState::Check(guard),
        }
    }

    /// Wakes up to `n` tasks waiting on this condition, first come first. They run once they
    /// get the lock back, so after the caller releases it.
    ///
    /// # Errors
    /// asyncio's `RuntimeError` when the lock is not held.
    ///
    /// # Examples
    /// ```
    /// let cond = asyncio::Condition::new();
    /// assert!(cond.notify(1).is_err()); // not acquired
    /// ```
    pub fn notify(&self, n: usize) -> Result<(), RuntimeError> {
        if !self.locked() {
            return Err(RuntimeError {
                msg: "cannot notify on un-acquired lock",
            });
        }
        self.inner.waiters.borrow_mut().notify(n);
        Ok(())
    }

    /// Wakes every task waiting on this condition.
    ///
    /// # Errors
    /// asyncio's `RuntimeError` when the lock is not held.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let cond = asyncio::Condition::new();
    /// let _guard = cond.acquire().await;
    /// cond.notify_all().unwrap();
    /// # });
    /// ```
    pub fn notify_all(&self) -> Result<(), RuntimeError> {
        self.notify(usize::MAX)
    }
}

impl Default for Condition {
    fn default() -> Self {
        Condition::new()
    }
}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condition")
            .field("locked", &self.locked())
            .field("waiters", &self.inner.waiters.borrow().len())
            .finish()
    }
}

enum WaitState {
    /// Holds the lock until the first poll queues this waiter.
    Start {
        _guard: LockGuard,
    },
    Waiting(Rc<Waiter>),
    Reacquire(Acquire),
    Done,
}

/// The future of [`Condition::wait`]; gives the lock's guard back.
///
/// # Cancel safety
/// Dropping it leaves the lock released (the guard moved into it is gone). A notification it
/// had already received is passed on to the next waiter, so none is lost.
#[must_use = "a Condition's wait does nothing until awaited"]
pub struct ConditionWait {
    cond: Condition,
    state: WaitState,
}

impl Future for ConditionWait {
    type Output = LockGuard;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<LockGuard> {
        let this = self.get_mut();
        loop {
            match &mut this.state {
                WaitState::Start { .. } => {
                    let waiter = this.cond.inner.waiters.borrow_mut().push(cx.waker());
                    // Dropping the guard releases the lock, after we are queued, so a notify
                    // made by whoever takes the lock next reaches us.
                    this.state = WaitState::Waiting(waiter);
                    return Poll::Pending;
                }
                WaitState::Waiting(waiter) if waiter.notified() => {
                    this.state = WaitState::Reacquire(this.cond.inner.lock.acquire());
                }
                WaitState::Waiting(waiter) => {
                    waiter.update_waker(cx.waker());
                    return Poll::Pending;
                }
                WaitState::Reacquire(acquire) => {
                    let guard = std::task::ready!(Pin::new(acquire).poll(cx));
                    this.state = WaitState::Done;
                    return Poll::Ready(guard);
                }
                WaitState::Done => panic!("ConditionWait polled after completion"),
            }
        }
    }
}

impl Drop for ConditionWait {
    fn drop(&mut self) {
        let mut waiters = self.cond.inner.waiters.borrow_mut();
        match &self.state {
            WaitState::Waiting(waiter) if !waiter.notified() => waiters.remove(waiter),
            WaitState::Waiting(_) | WaitState::Reacquire(_) => {
                waiters.notify_one();
            }
            WaitState::Start { .. } | WaitState::Done => {}
        }
    }
}

impl fmt::Debug for ConditionWait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConditionWait").finish_non_exhaustive()
    }
}

enum WaitForState {
    Check(LockGuard),
    Waiting(ConditionWait),
    Done,
}

/// The future of [`Condition::wait_for`]; gives the lock's guard back once the predicate holds.
///
/// # Cancel safety
/// As [`ConditionWait`]: the lock is left released, and a notification received is passed on.
#[must_use = "a Condition's wait_for does nothing until awaited"]
pub struct ConditionWaitFor<P> {
    cond: Condition,
    predicate: P,
    state: WaitForState,
}

// The predicate is only ever called through `&mut`, never pinned.
impl<P> Unpin for ConditionWaitFor<P> {}

impl<P: FnMut() -> bool> Future for ConditionWaitFor<P> {
    type Output = LockGuard;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<LockGuard> {
        let this = self.get_mut();
        loop {
            match std::mem::replace(&mut this.state, WaitForState::Done) {
                WaitForState::Check(guard) => {
                    if (this.predicate)() {
                        return Poll::Ready(guard);
                    }
                    this.state = WaitForState::Waiting(this.cond.wait(guard));
                }
                WaitForState::Waiting(mut wait) => match Pin::new(&mut wait).poll(cx) {
                    Poll::Ready(guard) => this.state = WaitForState::Check(guard),
                    Poll::Pending => {
                        this.state = WaitForState::Waiting(wait);
                        return Poll::Pending;
                    }
                },
                WaitForState::Done => panic!("ConditionWaitFor polled after completion"),
            }
        }
    }
}

impl<P> fmt::Debug for ConditionWaitFor<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConditionWaitFor").finish_non_exhaustive()
    }
}

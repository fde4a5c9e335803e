//! `Barrier`: tasks wait until `parties` of them have arrived, then all go on.
//!
//! # Design
//! asyncio's state machine, without the Condition it is built on (nothing here can block
//! between two steps, so a lock adds nothing):
//!
//! - *filling*: arrivals count up; the last one switches to *draining* and returns at once;
//! - *draining*: the released waiters leave one by one; new arrivals wait for the next round;
//! - *resetting*: after [`Barrier::reset`] with tasks inside: they leave with an error;
//! - *broken*: after [`Barrier::abort`]; every wait fails until a reset.
//!
//! The last task to leave a draining or resetting barrier sets it filling again. Each state
//! change wakes every waiter, which then looks at the state again; a waiter dropped inside the
//! barrier leaves it (and is no longer counted), as a cancelled one does in asyncio.

use super::error::BrokenBarrierError;
use super::waiters::{WaitList, Waiter};
use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Filling,
    Draining,
    Resetting,
    Broken,
}

struct Inner {
    parties: usize,
    state: Cell<State>,
    /// Tasks inside the barrier: arrived and not yet left.
    count: Cell<usize>,
    waiters: RefCell<WaitList>,
}

impl Inner {
    fn set_state(&self, state: State) {
        self.state.set(state);
        self.waiters.borrow_mut().notify_all();
    }

    /// A task leaves the barrier; the last one out opens it for the next round.
    fn exit(&self) {
        let count = self.count.get() - 1;
        self.count.set(count);
        if count == 0 {
            if matches!(self.state.get(), State::Draining | State::Resetting) {
                self.state.set(State::Filling);
            }
            self.waiters.borrow_mut().notify_all();
        }
    }
}

/// A meeting point for a fixed number of tasks (asyncio's `Barrier`).
///
/// Each task calls [`wait`](Barrier::wait); all of them block until `parties` have arrived,
/// then all return together, and the barrier can be used again. Clones are handles to the same
/// barrier.
///
/// # Examples
/// ```
/// # asyncio::run(async {
/// let barrier = asyncio::Barrier::new(3);
/// let tasks: Vec<_> = (0..3).map(|_| asyncio::create_task(barrier.wait())).collect();
/// let mut indexes = Vec::new();
/// for task in tasks {
///     indexes.push(task.await.unwrap().unwrap());
/// }
/// assert_eq!(indexes, [0, 1, 2]);
/// # });
/// ```
#[derive(Clone)]
pub struct Barrier {
    inner: Rc<Inner>,
}

impl Barrier {
    /// A barrier for `parties` tasks.
    ///
    /// # Panics
    /// When `parties` is 0 (asyncio's `ValueError: parties must be >= 1`).
    ///
    /// # Examples
    /// ```
    /// assert_eq!(asyncio::Barrier::new(3).parties(), 3);
    /// ```
    pub fn new(parties: usize) -> Barrier {
        assert!(parties >= 1, "Barrier::new: parties must be >= 1");
        Barrier {
            inner: Rc::new(Inner {
                parties,
                state: Cell::new(State::Filling),
                count: Cell::new(0),
                waiters: RefCell::new(WaitList::labelled(
                    crate::task::waiting::Waiting::BarrierWait,
                )),
            }),
        }
    }

    /// Waits until `parties` tasks are waiting, then returns this task's arrival index, from 0
    /// to `parties - 1`. A task that arrives while the previous round is still leaving waits
    /// for the next round.
    ///
    /// # Errors
    /// [`BrokenBarrierError`] when the barrier is broken, or is aborted or reset while waiting.
    ///
    /// # Cancel safety
    /// Dropping the future leaves the barrier; nothing else is lost. See [`BarrierWait`].
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let barrier = asyncio::Barrier::new(1);
    /// assert_eq!(barrier.wait().await, Ok(0));
    /// # });
    /// ```
    pub fn wait(&self) -> BarrierWait {
        BarrierWait {
            barrier: self.inner.clone(),
            phase: Phase::Blocked,
            waiter: None,
        }
    }

    /// Puts the barrier back to its empty state; tasks waiting at it get
    /// [`BrokenBarrierError`]. Resetting a broken barrier makes it usable again.
    ///
    /// asyncio's `reset` is a coroutine only because it takes a lock; here it is immediate.
    ///
    /// # Examples
    /// ```
    /// let barrier = asyncio::Barrier::new(2);
    /// barrier.abort();
    /// barrier.reset();
    /// assert!(!barrier.broken());
    /// ```
    pub fn reset(&self) {
        let inner = &self.inner;
        if inner.count.get() > 0 {
            inner.set_state(State::Resetting);
        } else {
            inner.set_state(State::Filling);
        }
    }

    /// Breaks the barrier: waiting tasks and later callers of `wait` get
    /// [`BrokenBarrierError`], until [`reset`](Barrier::reset).
    ///
    /// asyncio's `abort` is a coroutine only because it takes a lock; here it is immediate.
    ///
    /// # Examples
    /// ```
    /// let barrier = asyncio::Barrier::new(2);
    /// barrier.abort();
    /// assert!(barrier.broken());
    /// ```
    pub fn abort(&self) {
        self.inner.set_state(State::Broken);
    }

    /// How many tasks must arrive to pass the barrier.
    ///
    /// # Examples
    /// ```
    /// assert_eq!(asyncio::Barrier::new(2).parties(), 2);
    /// ```
    pub fn parties(&self) -> usize {
        self.inner.parties
    }

    /// How many tasks are waiting at the barrier for it to fill (0 while it drains).
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let barrier = asyncio::Barrier::new(2);
    /// let first = asyncio::create_task(barrier.wait());
    /// asyncio::sleep(0).await;
    /// assert_eq!(barrier.n_waiting(), 1);
    /// barrier.wait().await.unwrap();
    /// first.await.unwrap().unwrap();
    /// # });
    /// ```
    pub fn n_waiting(&self) -> usize {
        match self.inner.state.get() {
            State::Filling => self.inner.count.get(),
            _ => 0,
        }
    }

    /// Whether the barrier is broken (aborted and not reset since).
    ///
    /// # Examples
    /// ```
    /// assert!(!asyncio::Barrier::new(2).broken());
    /// ```
    pub fn broken(&self) -> bool {
        self.inner.state.get() == State::Broken
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier")
            .field("state", &self.inner.state.get())
            .field("parties", &self.inner.parties)
            .field("count", &self.inner.count.get())
            .finish()
    }
}

enum Phase {
    /// Waiting for a draining or resetting barrier to empty before entering.
    Blocked,
    /// Inside the barrier, counted, with this arrival index.
    Arrived(usize),
    Done,
}

/// The future of [`Barrier::wait`]; gives the arrival index.
///
/// # Cancel safety
/// Dropping it leaves the barrier: the task is no longer counted among those waiting, as a
/// cancelled task in asyncio. Nothing else is lost.
#[must_use = "a Barrier's wait does nothing until awaited"]
pub struct BarrierWait {
    barrier: Rc<Inner>,
    phase: Phase,
    waiter: Option<Rc<Waiter>>,
}

impl BarrierWait {
    /// Sleeps until the next state change.
    fn sleep(&mut self, cx: &mut Context<'_>) -> Poll<Result<usize, BrokenBarrierError>> {
        match &self.waiter {
            Some(waiter) if !waiter.notified() => waiter.update_waker(cx.waker()),
            _ => self.waiter = Some(self.barrier.waiters.borrow_mut().push(cx.waker())),
        }
        Poll::Pending
    }

    fn finish(
        &mut self,
        outcome: Result<usize, BrokenBarrierError>,
    ) -> Poll<Result<usize, BrokenBarrierError>> {
        if let Some(waiter) = self.waiter.take() {
            self.barrier.waiters.borrow_mut().remove(&waiter);
        }
        self.phase = Phase::Done;
        Poll::Ready(outcome)
    }
}

impl Future for BarrierWait {
    type Output = Result<usize, BrokenBarrierError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let inner = this.barrier.clone();
        match this.phase {
            Phase::Blocked => match inner.state.get() {
                State::Draining | State::Resetting => this.sleep(cx),
                State::Broken => this.finish(Err(BrokenBarrierError)),
                State::Filling => {
                    let index = inner.count.get();
                    inner.count.set(index + 1);
                    if index + 1 == inner.parties {
                        inner.set_state(State::Draining);
                        inner.exit();
                        this.finish(Ok(index))
                    } else {
                        this.phase = Phase::Arrived(index);
                        this.sleep(cx)
                    }
                }
            },
            Phase::Arrived(index) => match inner.state.get() {
                State::Filling => this.sleep(cx),
                state => {
                    this.phase = Phase::Done;
                    inner.exit();
                    match state {
                        State::Draining => this.finish(Ok(index)),
                        _ => this.finish(Err(BrokenBarrierError)),
                    }
                }
            },
            Phase::Done => panic!("BarrierWait polled after completion"),
        }
    }
}

impl Drop for BarrierWait {
    fn drop(&mut self) {
        if let Some(waiter) = self.waiter.take() {
            self.barrier.waiters.borrow_mut().remove(&waiter);
        }
        if let Phase::Arrived(_) = self.phase {
            self.barrier.exit();
        }
    }
}

impl fmt::Debug for BarrierWait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BarrierWait").finish_non_exhaustive()
    }
}

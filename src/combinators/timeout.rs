//! `timeout` / `timeout_at` and the `Timeout` object: a deadline for a block of awaits.

use super::deadline::{Deadline, IntoTimeout, deadline_after, running_core, secs_to_ns};
use crate::error::TimeoutError;
use crate::runtime::context;
use crate::task::expiry::Expiry;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Created,
    Entered,
    Expired,
    Exited,
}

struct State {
    when: Option<f64>,
    deadline: Deadline,
    phase: Phase,
    /// The waker of the block's last poll, to re-arm the timer when rescheduled.
    waker: Option<Waker>,
    /// The block is being polled now: a reschedule from inside it needs no wake, the check
    /// after the poll sees the new deadline.
    polling: bool,
    /// The loop the block runs on, once entered.
    loop_id: usize,
}

/// A deadline for a block of awaits (asyncio's `Timeout`, the object of `async with
/// asyncio.timeout(...) as cm`): [`when`](Timeout::when) it falls,
/// [`reschedule`](Timeout::reschedule) to move it while the block runs, and whether it
/// [`expired`](Timeout::expired).
///
/// A cheap `Clone` handle: keep one outside the block and move one into it. It is `Send` and
/// `Sync`, so another thread may [`reschedule`](Timeout::reschedule) it too. The block is the
/// future given to [`Timeout::run`] (or to [`timeout`] / [`timeout_at`], which make the
/// `Timeout` for you). When the deadline passes, the block is dropped and the run ends with
/// `Err(TimeoutError)`.
///
/// With a catching scope inside the block ([`on_cancel`](crate::on_cancel),
/// [`catch_cancel`](crate::catch_cancel)), the deadline does what asyncio's does: it cancels
/// the task, the scope sees the cancellation (an `on_cancel` runs its cleanup), and when the
/// cancellation comes back out of the block it becomes `TimeoutError`, unless the task was
/// also cancelled from outside (asyncio's `cancelling()` rule), in which case it stays a
/// cancellation and goes on up. A `catch_cancel` inside that swallows it makes the block
/// finish with its output, and [`expired`](Timeout::expired) is still true.
///
/// # Examples
/// ```
/// # asyncio::Runner::new().virtual_time(true).run(async {
/// let lp = asyncio::get_running_loop();
/// let cm = asyncio::Timeout::new(None); // no deadline yet
/// let inner = cm.clone();
/// let result = cm
///     .run(async move {
///         inner.reschedule(Some(lp.time() + 10.0)); // now there is one
///         asyncio::sleep(60.0).await;
///     })
///     .await;
/// assert!(result.is_err());
/// assert!(cm.expired());
/// assert_eq!(cm.when(), Some(10.0));
/// assert_eq!(asyncio::get_running_loop().time(), 10.0);
/// # });
/// ```
#[derive(Clone)]
pub struct Timeout {
    state: Arc<Mutex<State>>,
}

/// Runs `fut` with a deadline `delay` from now (asyncio's `async with asyncio.timeout(delay)`):
/// `Ok(output)`, or `Err(TimeoutError)` with `fut` dropped once the deadline passes.
///
/// `delay` is seconds, a [`Duration`](std::time::Duration), or `None` for no deadline (which
/// [`WithTimeout::handle`] can set later). The deadline is fixed when `timeout` is called, as
/// asyncio's is. An output ready in the same turn as the deadline wins. `fut` is any
/// [`IntoFuture`]: `timeout(5.0, open_connection(host, port))`.
///
/// # Errors
/// `TimeoutError` when the deadline passes first.
///
/// # Panics
/// Outside a running loop, when `delay` is finite.
///
/// # Examples
/// ```
/// # asyncio::Runner::new().virtual_time(true).run(async {
/// let r = asyncio::timeout(2.0, async {
///     asyncio::sleep(1.0).await;
///     asyncio::sleep(1.5).await; // the block passes the 2 s mark here
/// })
/// .await;
/// assert_eq!(r, Err(asyncio::TimeoutError::default()));
/// assert_eq!(asyncio::get_running_loop().time(), 2.0);
/// # });
/// ```
pub fn timeout<F: IntoFuture>(delay: impl IntoTimeout, fut: F) -> WithTimeout<F::IntoFuture> {
    let when_ns = deadline_after(delay.into_timeout(), "timeout");
    Timeout::from_ns(when_ns).run(fut)
}

/// Runs `fut` with a deadline at loop time `when` (asyncio's `timeout_at`), as given by
/// [`LoopHandle::time`](crate::LoopHandle::time); `None` for no deadline.
///
/// # Errors
/// `TimeoutError` when the deadline passes first.
///
/// # Panics
/// For a NaN `when`.
///
/// # Examples
/// ```
/// # asyncio::Runner::new().virtual_time(true).run(async {
/// let lp = asyncio::get_running_loop();
/// let deadline = lp.time() + 5.0;
/// let r = asyncio::timeout_at(deadline, async { asyncio::sleep(1.0).await; 7 }).await;
/// assert_eq!(r, Ok(7));
/// # });
/// ```
pub fn timeout_at<F: IntoFuture>(
    when: impl Into<Option<f64>>,
    fut: F,
) -> WithTimeout<F::IntoFuture> {
    Timeout::new(when).run(fut)
}

impl Timeout {
    /// A deadline at loop time `when`, or none (asyncio's `Timeout(when)`); it starts counting
    /// once given a block with [`run`](Timeout::run).
    ///
    /// # Panics
    /// For a NaN `when`.
    ///
    /// # Examples
    /// ```
    /// let cm = asyncio::Timeout::new(12.5);
    /// assert_eq!(cm.when(), Some(12.5));
    /// assert!(!cm.expired());
    /// ```
    pub fn new(when: impl Into<Option<f64>>) -> Timeout {
        let when = when.into();
        Timeout {
            state: Arc::new(Mutex::new(State {
                when,
                deadline: Deadline::new(when.map(secs_to_ns)),
                phase: Phase::Created,
                waker: None,
                polling: false,
                loop_id: 0,
            })),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Every update of `State` is a few plain stores: a panic cannot leave it half-made,
        // so a poisoned lock is still sound to use.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether the deadline has passed on the running loop's clock (without arming a timer).
    fn passed(&self) -> bool {
        let when = self.state().deadline.when_ns();
        when.is_some_and(|when| running_core("timeout").clock().now_ns() >= when)
    }

    fn from_ns(when_ns: Option<u64>) -> Timeout {
        let cm = Timeout::new(None);
        {
            let mut state = cm.state();
            state.when = when_ns.map(|ns| ns as f64 / 1e9);
            state.deadline.set(when_ns);
        }
        cm
    }

    /// Runs `fut` under this deadline (the body of `async with cm:`).
    ///
    /// # Panics
    /// When polled if this `Timeout` already ran a block (asyncio's "Timeout has already been
    /// entered").
    ///
    /// # Examples
    /// ```
    /// # asyncio::Runner::new().virtual_time(true).run(async {
    /// let cm = asyncio::Timeout::new(None);
    /// assert_eq!(cm.run(async { 1 }).await, Ok(1));
    /// # });
    /// ```
    pub fn run<F: IntoFuture>(&self, fut: F) -> WithTimeout<F::IntoFuture> {
        WithTimeout {
            fut: Some(Box::pin(fut.into_future())),
            cm: self.clone(),
            entered: false,
            expiry: Expiry::default(),
            passed_on: false,
        }
    }

    /// The deadline as a loop time, or `None` if there is none.
    ///
    /// # Examples
    /// ```
    /// assert_eq!(asyncio::Timeout::new(None).when(), None);
    /// ```
    pub fn when(&self) -> Option<f64> {
        self.state().when
    }

    /// Moves the deadline to loop time `when` (`None` removes it). A time already past ends the
    /// block at its next turn.
    ///
    /// # Panics
    /// When the deadline already expired, or the block already finished (asyncio raises
    /// `RuntimeError: Cannot change state of expired/finished Timeout`); for a NaN `when`.
    ///
    /// # Examples
    /// ```
    /// # asyncio::Runner::new().virtual_time(true).run(async {
    /// let cm = asyncio::Timeout::new(1.0);
    /// let inner = cm.clone();
    /// let r = cm.run(async move {
    ///     inner.reschedule(Some(3.0));
    ///     asyncio::sleep(2.0).await;
    /// }).await;
    /// assert!(r.is_ok() && !cm.expired());
    /// # });
    /// ```
    pub fn reschedule(&self, when: impl Into<Option<f64>>) {
        let when = when.into();
        let mut state = self.state();
        match state.phase {
            Phase::Expired => panic!("Cannot change state of expired Timeout"),
            Phase::Exited => panic!("Cannot change state of finished Timeout"),
            Phase::Created | Phase::Entered => {}
        }
        state.when = when;
        state.deadline.set(when.map(secs_to_ns));
        if state.phase == Phase::Entered && !state.polling {
            if let Some(waker) = state.waker.clone() {
                // On the block's loop, arm the new timer for the block's task at once; a
                // deadline already past, or a call from another thread, wakes the block, whose
                // next poll ends it or arms the timer on its own loop.
                let on_its_loop = context::current_loop_id() == state.loop_id;
                if !on_its_loop || state.deadline.poll_expired(&Context::from_waker(&waker)) {
                    drop(state);
                    waker.wake();
                }
            }
        }
    }

    /// Whether the deadline passed while the block ran (the block then ended with
    /// `TimeoutError`).
    ///
    /// # Examples
    /// ```
    /// # asyncio::Runner::new().virtual_time(true).run(async {
    /// let cm = asyncio::Timeout::new(asyncio::get_running_loop().time() + 1.0);
    /// let _ = cm.run(asyncio::sleep(5.0)).await;
    /// assert!(cm.expired());
    /// # });
    /// ```
    pub fn expired(&self) -> bool {
        self.state().phase == Phase::Expired
    }
}

impl fmt::Debug for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state();
        f.debug_struct("Timeout")
            .field("state", &state.phase)
            .field("when", &state.when)
            .finish()
    }
}

/// The future of [`timeout`], [`timeout_at`] and [`Timeout::run`]: the block's output, or
/// `TimeoutError`.
///
/// # Cancel safety
/// Dropping it drops the block, with what the block loses when dropped.
#[must_use = "futures do nothing unless awaited"]
pub struct WithTimeout<F: Future> {
    fut: Option<Pin<Box<F>>>,
    cm: Timeout,
    entered: bool,
    /// The deadline's hold on its task, for catchable cancellation.
    expiry: Expiry,
    /// A cancellation went on up through the block, which is gone.
    passed_on: bool,
}

impl<F: Future> WithTimeout<F> {
    /// The [`Timeout`] of this block, to read or move its deadline.
    ///
    /// # Examples
    /// ```
    /// # asyncio::Runner::new().virtual_time(true).run(async {
    /// let block = asyncio::timeout(5.0, asyncio::sleep(1.0));
    /// assert_eq!(block.handle().when(), Some(5.0));
    /// block.await.unwrap();
    /// # });
    /// ```
    pub fn handle(&self) -> Timeout {
        self.cm.clone()
    }
}

impl<F: Future> Future for WithTimeout<F> {
    type Output = Result<F::Output, TimeoutError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if !this.entered {
            this.entered = true;
            let loop_id = running_core("timeout").shared.id;
            let mut state = this.cm.state();
            assert!(
                state.phase == Phase::Created,
                "Timeout has already been entered"
            );
            state.phase = Phase::Entered;
            state.loop_id = loop_id;
            drop(state);
            this.expiry = Expiry::enter();
        }
        let Some(fut) = this.fut.as_mut() else {
            // A cancellation went on up through the block: nothing comes after it.
            assert!(this.passed_on, "WithTimeout polled after it finished");
            return Poll::Pending;
        };
        // A cancellation on its way to a catching scope inside, with the deadline passed: the
        // deadline's own cancel joins it (see `Expiry::before_poll`).
        let cm = &this.cm;
        if this.expiry.before_poll(|| cm.passed()) {
            cm.state().phase = Phase::Expired;
        }
        // The block first, outside any borrow (it may reschedule): its output wins over a
        // deadline reached in the same turn.
        if let Poll::Ready(output) = fut.as_mut().poll(cx) {
            this.fut = None;
            this.expiry.exit();
            let mut state = this.cm.state();
            if state.phase == Phase::Entered {
                state.phase = Phase::Exited;
            }
            return Poll::Ready(Ok(output));
        }
        if this.expiry.expiring() {
            let verdict = this.expiry.after_pending();
            return verdict.settle(&mut this.fut, &mut this.passed_on);
        }
        let mut state = this.cm.state();
        if state.deadline.poll_expired(cx) {
            state.phase = Phase::Expired;
            state.waker = None;
            drop(state);
            if this.expiry.expire() {
                this.fut = None;
                return Poll::Ready(Err(TimeoutError::default()));
            }
            // The task is cancelled for the catching scope inside; its cancellation comes
            // back through here.
            return Poll::Pending;
        }
        match &state.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => state.waker = Some(cx.waker().clone()),
        }
        drop(state);
        crate::task::waiting::note_limit(cx.waker(), crate::task::waiting::UNDER_TIMEOUT);
        Poll::Pending
    }
}

impl<F: Future> Drop for WithTimeout<F> {
    fn drop(&mut self) {
        if !self.entered {
            return;
        }
        // Drop the block first: it may hold (and use) the Timeout while dropping.
        self.fut = None;
        let mut state = self.cm.state();
        if state.phase == Phase::Entered {
            state.phase = Phase::Exited;
        }
        state.waker = None;
        let when = state.deadline.when_ns();
        state.deadline.set(when); // disarms the timer
    }
}

impl<F: Future> fmt::Debug for WithTimeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WithTimeout")
            .field("timeout", &self.cm)
            .finish()
    }
}

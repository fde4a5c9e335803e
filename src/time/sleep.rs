//! `sleep`: a timer in the loop's wheel, armed on first poll.

use super::delay::IntoDelay;
use crate::runtime::clock::duration_ns;
use crate::runtime::context;
use crate::runtime::core::{Core, TimerAction};
use crate::runtime::shared::Shared;
use crate::util::slab::Key;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

// An explicit tag keeps `sleep(0)`'s two polls to a byte compare each: the niche tag it had
// was decoded from the `Duration`'s nanoseconds.
#[repr(u8)]
enum State {
    /// `sleep(0)`, not polled yet.
    Yield,
    /// `sleep(0)`, polled once: done at the next poll.
    Yielded,
    /// Not polled yet: the delay counts from the first poll, as a coroutine starts when awaited.
    Idle(Duration),
    /// Not polled yet (or reset before its timer could be moved): fires at this loop time,
    /// in nanoseconds.
    At(u64),
    /// Armed in the wheel of the loop with this id (and a weak handle, to tell "that loop is
    /// closed" from "polled on another loop"). Holds no `Rc`, so a `Sleep` made on one
    /// thread can be sent to the loop's (`run_coroutine_threadsafe`).
    Armed(Key, usize, Weak<Shared>),
    /// Infinite delay: never fires.
    Forever,
    Done,
}

/// The future of [`sleep`]. Completes once its delay has passed on the loop's clock.
///
/// # Cancel safety
/// Dropping it cancels its timer; nothing else is lost.
#[must_use = "a Sleep does nothing until awaited"]
pub struct Sleep {
    state: State,
}

/// Suspends the current task for `delay` (asyncio's `sleep`): a [`Duration`], or seconds as
/// `f64` or an integer.
///
/// `sleep(0)` yields exactly one turn to the other ready tasks. The delay starts at the first
/// poll. Timers never fire early: on the real clock they fire in ticks of 50 µs (a short sleep
/// ends within about 0.1 ms of its deadline on an idle loop), on a virtual clock at whole
/// milliseconds.
///
/// # Panics
/// When polled outside a running loop; for a NaN delay.
///
/// # Examples
/// ```
/// # asyncio::Runner::new().virtual_time(true).run(async {
/// let lp = asyncio::get_running_loop();
/// asyncio::sleep(1.5).await;
/// asyncio::sleep(std::time::Duration::from_millis(500)).await;
/// assert_eq!(lp.time(), 2.0);
/// # });
/// ```
pub fn sleep(delay: impl IntoDelay) -> Sleep {
    let state = match delay.into_delay() {
        None => State::Forever,
        Some(delay) if delay.is_zero() => State::Yield,
        Some(delay) => State::Idle(delay),
    };
    Sleep { state }
}

/// Suspends the current task until loop time `when`, in seconds on the clock of
/// [`LoopHandle::time`](crate::LoopHandle::time) (what asyncio's `call_at` and
/// [`timeout_at`](crate::timeout_at) take). A time already past ends the sleep at the next
/// turn of the loop. [`Sleep::reset`] moves the deadline of a sleep in place.
///
/// # Panics
/// When polled outside a running loop; for a NaN `when`.
///
/// # Cancel safety
/// Dropping it cancels its timer; nothing else is lost.
///
/// # Examples
/// ```
/// # asyncio::Runner::new().virtual_time(true).run(async {
/// let lp = asyncio::get_running_loop();
/// asyncio::sleep_until(lp.time() + 2.5).await;
/// assert_eq!(lp.time(), 2.5);
/// asyncio::sleep_until(1.0).await; // past: one turn of the loop
/// assert_eq!(lp.time(), 2.5);
/// # });
/// ```
pub fn sleep_until(when: f64) -> Sleep {
    Sleep {
        state: State::At(crate::combinators::deadline::secs_to_ns(when)),
    }
}

impl Future for Sleep {
    type Output = ();

    /// `sleep(0)`, the yield, is inline; timers are out of line.
    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match self.state {
            State::Yield => {
                self.state = State::Yielded;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            State::Yielded => {
                self.state = State::Done;
                Poll::Ready(())
            }
            _ => self.poll_timer(cx),
        }
    }
}

impl Sleep {
    /// Moves the deadline to loop time `when` (seconds, as [`sleep_until`] takes), whether
    /// the sleep is armed, not polled yet, or already done (it then sleeps again). An armed
    /// timer moves in the loop's wheel, keeping its waker: a connection that resets one
    /// sleep per request (hyper's timeouts) allocates nothing for it.
    ///
    /// # Panics
    /// For a NaN `when`.
    ///
    /// # Examples
    /// ```
    /// # asyncio::Runner::new().virtual_time(true).run(async {
    /// let lp = asyncio::get_running_loop();
    /// let mut nap = asyncio::sleep(10.0);
    /// // Armed at 10 s by a first poll, then moved earlier.
    /// let _ = asyncio::wait_for(&mut nap, 1.0).await;
    /// nap.reset(3.0);
    /// nap.await;
    /// assert_eq!(lp.time(), 3.0);
    /// # });
    /// ```
    pub fn reset(&mut self, when: f64) {
        let when_ns = crate::combinators::deadline::secs_to_ns(when);
        if let State::Armed(key, loop_id, shared) = &self.state {
            let (key, loop_id) = (*key, *loop_id);
            let moved = with_own_core(loop_id, |core| {
                let action = core.timers.borrow_mut().remove(key)?;
                Some(core.add_timer(when_ns, action))
            });
            if let Some(Some(key)) = moved {
                self.state = State::Armed(key, loop_id, shared.clone());
                return;
            }
            // It fired already, or the loop is not this thread's: arm anew at the next poll
            // (dropping the state lets the old timer go, as a drop does).
            self.disarm();
        }
        self.state = State::At(when_ns);
    }

    /// Takes the timer out of the wheel if it is armed on this thread's loop.
    fn disarm(&mut self) {
        if let State::Armed(key, loop_id, _) = self.state {
            let action = with_own_core(loop_id, |core| core.timers.borrow_mut().remove(key));
            drop(action);
            self.state = State::Done;
        }
    }

    #[inline(never)]
    fn poll_timer(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        match &self.state {
            State::Idle(_) | State::At(_) => {
                let core = context::current_core().expect("sleep: no running event loop");
                let (deadline, ahead) = match self.state {
                    State::Idle(delay) => {
                        let now = core.clock().now_ns();
                        let deadline = now.saturating_add(duration_ns(delay));
                        (deadline, deadline > now)
                    }
                    State::At(when) => (when, false),
                    _ => unreachable!(),
                };
                let action = TimerAction::Wake(cx.waker().clone());
                // A deadline past now needs no second look at the clock to see whether it is
                // reached already.
                let key = if ahead {
                    core.add_timer_ahead(deadline, action)
                } else {
                    core.add_timer(deadline, action)
                };
                self.state = State::Armed(key, core.shared.id, Arc::downgrade(&core.shared));
                crate::task::waiting::note(cx.waker(), crate::task::waiting::Waiting::Sleep);
                Poll::Pending
            }
            State::Armed(key, loop_id, shared) => {
                let (key, loop_id) = (*key, *loop_id);
                let armed = with_own_core(loop_id, |core| {
                    match core.timers.borrow_mut().get_mut(key) {
                        None => false,
                        Some(TimerAction::Wake(waker)) => {
                            if !waker.will_wake(cx.waker()) {
                                *waker = cx.waker().clone();
                            }
                            crate::task::waiting::note(
                                cx.waker(),
                                crate::task::waiting::Waiting::Sleep,
                            );
                            true
                        }
                        Some(TimerAction::Call(..) | TimerAction::Token(_)) => {
                            unreachable!("a sleep's timer wakes")
                        }
                    }
                });
                match armed {
                    Some(true) => Poll::Pending,
                    Some(false) => {
                        self.state = State::Done;
                        Poll::Ready(())
                    }
                    // Its loop is closed, and closing dropped every timer.
                    None if shared.upgrade().is_none_or(|s| s.remote.is_closed()) => {
                        self.state = State::Done;
                        Poll::Ready(())
                    }
                    None => panic!(
                        "a Sleep was polled on another loop than the one it was armed on \
                         (asyncio: attached to a different loop)"
                    ),
                }
            }
            State::Forever => Poll::Pending,
            State::Done => Poll::Ready(()),
            State::Yield | State::Yielded => unreachable!("`poll` handles the yield"),
        }
    }
}

/// Calls `f` with the running loop's core if it is the loop with `loop_id`.
fn with_own_core<R>(loop_id: usize, f: impl FnOnce(&Core) -> R) -> Option<R> {
    context::with_core_of(loop_id, f)
}

impl Drop for Sleep {
    fn drop(&mut self) {
        // Off its loop's thread the timer stays armed and fires into a waker nobody polls,
        // which is harmless; on it (the usual case) it goes now.
        self.disarm();
    }
}

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
    #[inline(never)]
    fn poll_timer(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        match &self.state {
            State::Idle(delay) => {
                let delay = *delay;
                let core = context::current_core().expect("sleep: no running event loop");
                let deadline = core.clock().now_ns().saturating_add(duration_ns(delay));
                let key = core.add_timer(deadline, TimerAction::Wake(cx.waker().clone()));
                self.state = State::Armed(key, core.shared.id, Arc::downgrade(&core.shared));
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
                            true
                        }
                        Some(TimerAction::Call(..)) => unreachable!("a sleep's timer wakes"),
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
        if let State::Armed(key, loop_id, _) = self.state {
            // Off its loop's thread the timer stays armed and fires into a waker nobody
            // polls, which is harmless; on it (the usual case) it goes now.
            let action = with_own_core(loop_id, |core| core.timers.borrow_mut().remove(key));
            drop(action);
        }
    }
}

//! A timer at an absolute loop time, re-armable: what `wait_for`, `timeout`, `wait` and
//! `as_completed` wait on next to their futures.
//!
//! Unlike [`Sleep`](crate::Sleep), whose delay counts from its first poll, a `Deadline` is a
//! fixed point on the loop's clock (nanoseconds since the loop's epoch) that can be moved, as
//! asyncio's `Timeout.reschedule` moves it.

use crate::runtime::clock::duration_ns;
use crate::runtime::context;
use crate::runtime::core::{Core, TimerAction};
use crate::time::IntoDelay;
use crate::util::slab::Key;
use std::rc::Rc;
use std::task::Context;
use std::time::Duration;

/// A timeout as Python gives it: seconds (`f64` or an integer), a [`Duration`], or `None` for
/// no timeout at all.
///
/// # Examples
/// ```
/// # asyncio::Runner::new().virtual_time(true).run(async {
/// use std::time::Duration;
/// assert_eq!(asyncio::wait_for(async { 1 }, None).await, Ok(1));
/// assert_eq!(asyncio::wait_for(async { 2 }, 0.5).await, Ok(2));
/// assert_eq!(asyncio::wait_for(async { 3 }, Duration::from_secs(1)).await, Ok(3));
/// # });
/// ```
pub trait IntoTimeout {
    /// The timeout, or `None` for none.
    fn into_timeout(self) -> Option<Duration>;
}

impl<D: IntoDelay> IntoTimeout for D {
    fn into_timeout(self) -> Option<Duration> {
        self.into_delay()
    }
}

impl IntoTimeout for Option<f64> {
    fn into_timeout(self) -> Option<Duration> {
        self.and_then(IntoDelay::into_delay)
    }
}

/// Loop time in seconds (as `LoopHandle::time` gives it) to nanoseconds, as `call_at` does.
pub(crate) fn secs_to_ns(when: f64) -> u64 {
    assert!(!when.is_nan(), "deadline is NaN");
    (when.max(0.0) * 1e9).min(u64::MAX as f64) as u64
}

/// The running loop's core, or asyncio's "no running event loop" panic.
pub(crate) fn running_core(what: &str) -> Rc<Core> {
    context::current_core().unwrap_or_else(|| panic!("{what}: no running event loop"))
}

/// The deadline `delay` after now, in nanoseconds on the running loop's clock; `None` if the
/// delay is infinite.
pub(crate) fn deadline_after(delay: Option<Duration>, what: &str) -> Option<u64> {
    let delay = delay?;
    let core = running_core(what);
    Some(core.clock().now_ns().saturating_add(duration_ns(delay)))
}

/// A timer at `when_ns`, armed in the wheel of one loop.
///
/// Holds the loop's id, not an `Rc` of it, so that futures built on it stay `Send` when their
/// inner future is (`run_coroutine_threadsafe(wait_for(...))`), as `Sleep` does.
pub(crate) struct Deadline {
    when_ns: Option<u64>,
    /// The timer's key and its loop's id, once armed.
    armed: Option<(Key, usize)>,
}

impl Deadline {
    pub(crate) fn new(when_ns: Option<u64>) -> Self {
        Deadline {
            when_ns,
            armed: None,
        }
    }

    pub(crate) fn when_ns(&self) -> Option<u64> {
        self.when_ns
    }

    /// Moves the deadline; the timer is re-armed at the next poll.
    pub(crate) fn set(&mut self, when_ns: Option<u64>) {
        self.disarm();
        self.when_ns = when_ns;
    }

    /// Whether the deadline has passed; if not, makes sure the current task is woken when it
    /// does.
    ///
    /// # Panics
    /// Outside a running loop, when there is a deadline.
    pub(crate) fn poll_expired(&mut self, cx: &Context<'_>) -> bool {
        let Some(when) = self.when_ns else {
            return false;
        };
        let core = running_core("timeout");
        if core.clock().now_ns() >= when {
            self.disarm();
            return true;
        }
        if let Some((key, loop_id)) = self.armed {
            if loop_id == core.shared.id {
                if let Some(TimerAction::Wake(waker)) = core.timers.borrow_mut().get_mut(key) {
                    if !waker.will_wake(cx.waker()) {
                        *waker = cx.waker().clone();
                    }
                    return false;
                }
            }
        }
        self.disarm();
        let key = core.add_timer(when, TimerAction::Wake(cx.waker().clone()));
        self.armed = Some((key, core.shared.id));
        false
    }

    fn disarm(&mut self) {
        if let Some((key, loop_id)) = self.armed.take() {
            // Off its loop's thread the timer stays armed and fires into a waker nobody needs,
            // which is harmless; on it (the usual case) it goes now.
            let action =
                context::with_core_of(loop_id, |core| core.timers.borrow_mut().remove(key));
            // Dropped after the borrow ends: dropping a waker may run arbitrary code.
            drop(action);
        }
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        self.disarm();
    }
}

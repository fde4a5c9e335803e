//! `LoopTimer`: hyper's `Timer` on the loop's clock, with sleeps that reset in place.

use crate::runtime::context;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// hyper's [`Timer`](::hyper::rt::Timer) on the running loop's clock: its sleeps are the
/// loop's timers ([`sleep_until`](crate::sleep_until)), and hyper's `reset` of one (a
/// keep-alive connection re-arms its header timeout for each request) moves the timer in the
/// loop's wheel with [`Sleep::reset`](crate::Sleep::reset), allocating nothing.
///
/// On a virtual clock ([`Runner::virtual_time`](crate::Runner::virtual_time)) hyper's
/// timeouts run in virtual time too: the timer's `now` is the loop's time, told as an
/// `Instant` from when the timer first looked.
///
/// Give it to hyper's builders with `.timer(LoopTimer::new())`.
///
/// # Panics
/// Its sleeps panic when polled outside a running loop, as [`sleep`](crate::sleep)'s do.
///
/// # Examples
/// ```
/// use asyncio::hyper::LoopTimer;
/// use hyper::rt::Timer;
/// # asyncio::Runner::new().virtual_time(true).run(async {
/// let timer = LoopTimer::new();
/// let start = timer.now();
/// let mut nap = timer.sleep(std::time::Duration::from_secs(30));
/// timer.reset(&mut nap, start + std::time::Duration::from_secs(2));
/// nap.await;
/// assert_eq!(asyncio::get_running_loop().time(), 2.0);
/// assert_eq!(timer.now() - start, std::time::Duration::from_secs(2));
/// # });
/// ```
#[derive(Clone, Debug, Default)]
pub struct LoopTimer {
    anchor: Arc<Mutex<Option<Anchor>>>,
}

/// One moment seen on both clocks: `Instant` and a loop's time.
#[derive(Clone, Copy, Debug)]
struct Anchor {
    loop_id: usize,
    instant: Instant,
    loop_ns: u64,
}

/// The running loop: its id, its time in nanoseconds, and whether its clock is virtual.
fn running_loop() -> Option<(usize, u64, bool)> {
    let core = context::current_core()?;
    let clock = core.clock();
    Some((core.shared.id, clock.now_ns(), clock.is_virtual()))
}

impl LoopTimer {
    /// A timer for the loop it is used on.
    ///
    /// # Examples
    /// See [`LoopTimer`].
    pub fn new() -> LoopTimer {
        LoopTimer::default()
    }

    /// The anchor for loop `id`, made now if it has none (or one of another loop).
    fn anchor(&self, loop_id: usize, loop_ns: u64) -> Anchor {
        let mut anchor = self.anchor.lock().unwrap_or_else(|e| e.into_inner());
        match *anchor {
            Some(a) if a.loop_id == loop_id => a,
            _ => *anchor.insert(Anchor {
                loop_id,
                instant: Instant::now(),
                loop_ns,
            }),
        }
    }

    /// `deadline` in the running loop's time (seconds), if a loop runs.
    fn loop_secs(&self, deadline: Instant) -> Option<f64> {
        let (id, now_ns, is_virtual) = running_loop()?;
        let ns = if is_virtual {
            // Exact on a virtual clock: `now` told the deadline's origin from the anchor.
            let a = self.anchor(id, now_ns);
            match deadline.checked_duration_since(a.instant) {
                Some(d) => a.loop_ns.saturating_add(ns_of(d)),
                None => a.loop_ns.saturating_sub(ns_of(a.instant - deadline)),
            }
        } else {
            // Both clocks run at the real rate: what is left is the same on both.
            now_ns.saturating_add(ns_of(deadline.saturating_duration_since(Instant::now())))
        };
        Some(ns as f64 / 1e9)
    }

    fn sleep_at(&self, deadline: Instant) -> LoopSleep {
        let inner = match self.loop_secs(deadline) {
            Some(when) => crate::sleep_until(when),
            None => crate::sleep(deadline.saturating_duration_since(Instant::now())),
        };
        LoopSleep { inner }
    }
}

fn ns_of(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl ::hyper::rt::Timer for LoopTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn ::hyper::rt::Sleep>> {
        Box::pin(self.sleep_at(self.now() + duration))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn ::hyper::rt::Sleep>> {
        Box::pin(self.sleep_at(deadline))
    }

    /// The loop's time on a virtual clock; `Instant::now()` on a real one.
    fn now(&self) -> Instant {
        match running_loop() {
            Some((id, now_ns, true)) => {
                let a = self.anchor(id, now_ns);
                a.instant + Duration::from_nanos(now_ns.saturating_sub(a.loop_ns))
            }
            _ => Instant::now(),
        }
    }

    /// Moves one of this timer's sleeps in place; another kind is replaced.
    fn reset(&self, sleep: &mut Pin<Box<dyn ::hyper::rt::Sleep>>, new_deadline: Instant) {
        match (
            sleep.as_mut().downcast_mut_pin::<LoopSleep>(),
            self.loop_secs(new_deadline),
        ) {
            (Some(mut ours), Some(when)) => ours.inner.reset(when),
            _ => *sleep = self.sleep_until(new_deadline),
        }
    }
}

/// The sleep of a [`LoopTimer`]: a loop timer, as hyper's `Sleep`.
///
/// # Cancel safety
/// Dropping it cancels its timer.
#[must_use = "a sleep does nothing until awaited"]
pub struct LoopSleep {
    inner: crate::Sleep,
}

impl std::fmt::Debug for LoopSleep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoopSleep").finish_non_exhaustive()
    }
}

impl Future for LoopSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.inner).poll(cx)
    }
}

impl ::hyper::rt::Sleep for LoopSleep {}

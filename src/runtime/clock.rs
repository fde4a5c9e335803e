//! The loop's clock: real (monotonic since the loop was made) or virtual.
//!
//! Time is kept in nanoseconds since the loop's epoch; timers work in ticks of one millisecond.
//! The virtual clock stands still while anything can run and is moved only by the loop, to the
//! next timer's tick, when every task is idle; it lives in an atomic so that
//! [`LoopHandle::time`](crate::LoopHandle::time) reads it from any thread.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Nanoseconds in one timer tick.
pub(crate) const TICK_NS: u64 = 1_000_000;

pub(crate) struct Clock {
    /// `CLOCK_MONOTONIC` when the loop was made, in nanoseconds.
    epoch: u64,
    /// `Some` on a virtual clock: the current time in nanoseconds.
    virtual_now: Option<AtomicU64>,
}

impl Clock {
    pub(crate) fn new(virtual_time: bool) -> Self {
        Clock {
            epoch: monotonic_ns(),
            virtual_now: virtual_time.then(|| AtomicU64::new(0)),
        }
    }

    pub(crate) fn is_virtual(&self) -> bool {
        self.virtual_now.is_some()
    }

    pub(crate) fn now_ns(&self) -> u64 {
        match &self.virtual_now {
            Some(now) => now.load(Ordering::Acquire),
            None => monotonic_ns().saturating_sub(self.epoch),
        }
    }

    #[inline]
    pub(crate) fn now_secs(&self) -> f64 {
        match &self.virtual_now {
            Some(now) => now.load(Ordering::Acquire) as f64 / 1e9,
            None => monotonic_ns().saturating_sub(self.epoch) as f64 * 1e-9,
        }
    }

    /// The tick that has fully begun: timers at or before it are due.
    pub(crate) fn now_tick(&self) -> u64 {
        self.now_ns() / TICK_NS
    }

    /// Moves a virtual clock forward to the start of `tick`.
    pub(crate) fn jump_to_tick(&self, tick: u64) {
        if let Some(now) = &self.virtual_now {
            now.fetch_max(tick.saturating_mul(TICK_NS), Ordering::AcqRel);
        }
    }

    /// How long until `tick` begins, on the real clock.
    pub(crate) fn until_tick(&self, tick: u64) -> Duration {
        Duration::from_nanos(tick.saturating_mul(TICK_NS).saturating_sub(self.now_ns()))
    }
}

/// `CLOCK_MONOTONIC` (the clock `Instant` reads) in nanoseconds. Read directly because
/// `time()` is called in hot loops, and `Instant`'s checked arithmetic costs a quarter more
/// than the read itself.
#[inline]
fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to write to, and CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec as u64)
}

/// The first tick at or after `ns`, so that a timer never fires early.
pub(crate) fn tick_at_or_after(ns: u64) -> u64 {
    ns.div_ceil(TICK_NS)
}

/// A delay as nanoseconds, saturating.
pub(crate) fn duration_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

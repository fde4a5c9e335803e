//! The loop's clock: real (monotonic since the loop was made) or virtual.
//!
//! Time is kept in nanoseconds since the loop's epoch; timers work in ticks of [`TICK_NS`]
//! (50 µs). A deadline is rounded *up* to a tick, so a timer never fires early: on the real
//! clock to the next tick, on a virtual clock to the next whole millisecond (so virtual times
//! stay round: `sleep(0.0004)` ends at 0.001, as it always has).
//!
//! The virtual clock stands still while anything can run and is moved only by the loop, to the
//! next timer's tick, when every task is idle; it lives in an atomic so that
//! [`LoopHandle::time`](crate::LoopHandle::time) reads it from any thread.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::tsc;

/// Nanoseconds in one timer tick: the precision of timers on the real clock. Fine enough that
/// rounding a deadline up costs 25 µs on average; coarse enough that timers due close together
/// share a tick and one wake-up, and that the wheel's 64^6 ticks reach 40 days before a
/// timer must be re-placed.
pub(crate) const TICK_NS: u64 = 50_000;

/// Nanoseconds to which a virtual clock rounds deadlines up: one millisecond, a whole number
/// of ticks.
const VIRTUAL_RESOLUTION_NS: u64 = 1_000_000;
const _: () = assert!(VIRTUAL_RESOLUTION_NS % TICK_NS == 0);

pub(crate) struct Clock {
    /// `CLOCK_MONOTONIC` when the loop was made, in nanoseconds.
    epoch: u64,
    /// `Some` on a virtual clock: the current time in nanoseconds.
    virtual_now: Option<AtomicU64>,
}

impl Clock {
    pub(crate) fn new(virtual_time: bool) -> Self {
        Clock {
            // Read directly, not through the thread's line: timerfds are armed at the epoch
            // plus a loop time, so an error here would make every precise wait early or late.
            epoch: tsc::monotonic_ns(),
            virtual_now: virtual_time.then(|| AtomicU64::new(0)),
        }
    }

    pub(crate) fn is_virtual(&self) -> bool {
        self.virtual_now.is_some()
    }

    pub(crate) fn now_ns(&self) -> u64 {
        match &self.virtual_now {
            Some(now) => now.load(Ordering::Acquire),
            None => tsc::now_ns().saturating_sub(self.epoch),
        }
    }

    #[inline]
    pub(crate) fn now_secs(&self) -> f64 {
        match &self.virtual_now {
            Some(now) => now.load(Ordering::Acquire) as f64 / 1e9,
            None => tsc::now_ns().saturating_sub(self.epoch) as f64 * 1e-9,
        }
    }

    /// The tick that has fully begun: timers at or before it are due.
    pub(crate) fn now_tick(&self) -> u64 {
        self.now_ns() / TICK_NS
    }

    /// Moves a virtual clock forward to the start of `tick`.
    pub(crate) fn jump_to_tick(&self, tick: u64) {
        if let Some(now) = &self.virtual_now {
            now.fetch_max(tick_start_ns(tick), Ordering::AcqRel);
        }
    }

    /// The tick of a timer due at `ns`: the first at or after it (on a virtual clock, the first
    /// that starts a whole millisecond), so that a timer never fires early.
    pub(crate) fn tick_at_or_after(&self, ns: u64) -> u64 {
        if self.is_virtual() {
            ns.div_ceil(VIRTUAL_RESOLUTION_NS) * (VIRTUAL_RESOLUTION_NS / TICK_NS)
        } else {
            ns.div_ceil(TICK_NS)
        }
    }

    /// The tick at which a timer due at `ns` fires: [`tick_at_or_after`](Self::tick_at_or_after),
    /// except that a deadline reached already (`call_later(0)`, `call_at(time())`) is due by
    /// the tick begun, so the next turn runs it, as asyncio's `_run_once` moves every timer
    /// whose `when` has come to the ready queue. Rounded up to the next tick instead, it would
    /// wait up to a tick, and turns in between would run without it.
    #[inline]
    pub(crate) fn tick_due_at(&self, ns: u64) -> u64 {
        self.tick_due_by(ns, || self.now_ns())
    }

    /// [`tick_due_at`](Self::tick_due_at) with `now` the loop time in nanoseconds, read when
    /// needed (a caller that has just read the clock passes that reading).
    #[inline]
    pub(crate) fn tick_due_by(&self, ns: u64, now: impl FnOnce() -> u64) -> u64 {
        let tick = self.tick_at_or_after(ns);
        if tick_start_ns(tick) == ns {
            return tick;
        }
        let now = now();
        if ns <= now {
            tick.min(now / TICK_NS)
        } else {
            tick
        }
    }

    /// `CLOCK_MONOTONIC` at the loop time `ns`: what a timerfd is armed with.
    pub(crate) fn monotonic_at(&self, ns: u64) -> u64 {
        self.epoch.saturating_add(ns)
    }
}

/// The loop time in nanoseconds at which `tick` begins.
pub(crate) fn tick_start_ns(tick: u64) -> u64 {
    tick.saturating_mul(TICK_NS)
}

/// A delay as nanoseconds, saturating.
pub(crate) fn duration_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_deadlines_round_up_to_a_tick() {
        let clock = Clock::new(false);
        assert_eq!(clock.tick_at_or_after(0), 0);
        assert_eq!(clock.tick_at_or_after(1), 1);
        assert_eq!(clock.tick_at_or_after(TICK_NS), 1);
        assert_eq!(clock.tick_at_or_after(TICK_NS + 1), 2);
        assert_eq!(clock.tick_at_or_after(1_000_000), 20);
        for ns in [1, 49_999, 50_001, 999_999, 1_000_001, 123_456_789] {
            let start = tick_start_ns(clock.tick_at_or_after(ns));
            assert!(start >= ns && start - ns < TICK_NS, "{ns} -> {start}");
        }
        assert_eq!(
            clock.tick_at_or_after(u64::MAX),
            u64::MAX.div_ceil(TICK_NS),
            "no overflow"
        );
    }

    #[test]
    fn a_reached_deadline_is_due_by_the_tick_begun_a_later_one_rounds_up() {
        let clock = Clock::new(false);
        let now = clock.now_ns();
        for ns in [0, now.saturating_sub(TICK_NS + 1), now] {
            let tick = clock.tick_due_at(ns);
            assert!(
                tick <= clock.now_tick() && tick >= ns / TICK_NS,
                "{ns} -> {tick}"
            );
        }
        let later = now + 10 * TICK_NS + 1;
        assert_eq!(clock.tick_due_at(later), clock.tick_at_or_after(later));
    }

    #[test]
    fn virtual_deadlines_round_up_to_a_millisecond() {
        let clock = Clock::new(true);
        for (ns, ms) in [
            (0, 0),
            (1, 1),
            (400_000, 1),
            (1_000_000, 1),
            (1_000_001, 2),
            (1_500_000, 2),
            (1_000_000_000, 1000),
        ] {
            let tick = clock.tick_at_or_after(ns);
            clock.jump_to_tick(tick);
            assert_eq!(tick_start_ns(tick), ms * 1_000_000, "deadline {ns} ns");
        }
        assert_eq!(clock.now_ns(), 1_000_000_000);
        // Never backwards.
        clock.jump_to_tick(clock.tick_at_or_after(5));
        assert_eq!(clock.now_ns(), 1_000_000_000);
        let far = clock.tick_at_or_after(u64::MAX);
        assert!(tick_start_ns(far) >= u64::MAX - VIRTUAL_RESOLUTION_NS);
    }
}

//! What a loop counts about itself for [`LoopStats`](super::LoopStats): task steps, slow
//! steps, and the time it spent waiting for I/O, from which its busy ratio follows.
//!
//! Only the blocking waits are timed (a clock read beside a system call that sleeps); a turn
//! that finds work ready reads no clock, so a busy loop pays one counter per task step.

use std::cell::Cell;
use std::time::{Duration, Instant};

pub(crate) struct Metrics {
    polls: Cell<u64>,
    slow_steps: Cell<u64>,
    /// Nanoseconds spent in blocking waits (a `Duration` costs a normalization per add).
    idle_ns: Cell<u64>,
    born: Instant,
}

impl Metrics {
    pub(crate) fn new() -> Self {
        Metrics {
            polls: Cell::new(0),
            slow_steps: Cell::new(0),
            idle_ns: Cell::new(0),
            born: Instant::now(),
        }
    }

    #[inline]
    pub(crate) fn count_poll(&self) {
        self.polls.set(self.polls.get().wrapping_add(1));
    }

    pub(crate) fn count_slow_step(&self) {
        self.slow_steps.set(self.slow_steps.get() + 1);
    }

    pub(crate) fn add_idle_ns(&self, waited_ns: u64) {
        self.idle_ns
            .set(self.idle_ns.get().saturating_add(waited_ns));
    }

    pub(crate) fn polls(&self) -> u64 {
        self.polls.get()
    }

    pub(crate) fn slow_steps(&self) -> u64 {
        self.slow_steps.get()
    }

    /// Time since the loop was made, and how much of it was not spent waiting for I/O.
    pub(crate) fn uptime_and_busy(&self) -> (Duration, Duration) {
        let uptime = self.born.elapsed();
        (
            uptime,
            uptime.saturating_sub(Duration::from_nanos(self.idle_ns.get())),
        )
    }
}

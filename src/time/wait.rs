//! How the loop blocks until its next timer, on the real clock.
//!
//! `epoll_wait` counts its timeout in whole milliseconds, rounded up by mio, and the kernel
//! lets it run late by a slack of `max(50 µs, timeout / 1000)` (`/ 100` for a niced process,
//! capped at 100 ms): a wait aimed at a deadline lands up to ~1 ms after it, more for long
//! waits. So:
//!
//! - a deadline nearer than [`NEAR_NS`] is waited for with the loop's timerfd, armed at the
//!   deadline itself (no rounding, no slack); epoll's own timeout stays as a backstop, which
//!   its rounding puts after the timerfd;
//! - a farther one is waited for with epoll's timeout alone, aimed early enough (by
//!   [`FAR_LEAD_NS`] and 1% for the slack) to wake before the deadline: the next wait is then
//!   nearer, precise once within [`NEAR_NS`]. A wait of up to 200 ms costs one extra wake-up,
//!   a longer one two; a turn that waits for a far timer makes no syscall for it;
//! - without a timerfd, the wait is epoll's timeout to the deadline, as before.
//!
//! The timerfd is armed only when the deadline differs from the one armed (see
//! `reactor::TimerFd`), so turns that wait again for the same timer pay nothing.

use std::time::Duration;

/// Deadlines nearer than this (ns) are waited for with the timerfd.
pub(crate) const NEAR_NS: u64 = 4_000_000;

/// How much sooner than the deadline (ns) a far wait is aimed, besides 1% for the kernel's
/// slack: more than the millisecond mio's rounding may add, so that the wake-up comes before
/// the deadline, and with at most [`NEAR_NS`] left for waits up to 200 ms.
pub(crate) const FAR_LEAD_NS: u64 = 2_000_000;

/// How to wait for a timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wait {
    /// Poll with this timeout (zero when the deadline has passed).
    Timeout(Duration),
    /// Have the timerfd fire at the loop time `at_ns`, and poll with `backstop`, which epoll's
    /// rounding puts after `at_ns`: it ends the wait only if the timerfd did not.
    Precise { at_ns: u64, backstop: Duration },
}

/// The wait at loop time `now_ns` for a timer due at `deadline_ns`; `precise` when the loop
/// has a timerfd.
pub(crate) fn plan(now_ns: u64, deadline_ns: u64, precise: bool) -> Wait {
    let left = deadline_ns.saturating_sub(now_ns);
    if left == 0 || !precise {
        Wait::Timeout(Duration::from_nanos(left))
    } else if left <= NEAR_NS {
        Wait::Precise {
            at_ns: deadline_ns,
            backstop: Duration::from_nanos(left),
        }
    } else {
        Wait::Timeout(Duration::from_nanos(left - FAR_LEAD_NS - left / 100))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    /// When an epoll wait with `timeout` can end, at the latest: mio rounds it up to whole
    /// milliseconds and the kernel adds its slack (a niced process's, the larger).
    fn latest_epoll_wake(timeout: Duration) -> u64 {
        let ms = timeout.as_nanos().div_ceil(MS as u128) as u64 * MS;
        ms + (ms / 100).clamp(50_000, 100 * MS)
    }

    #[test]
    fn a_passed_deadline_does_not_block() {
        assert_eq!(plan(5 * MS, 5 * MS, true), Wait::Timeout(Duration::ZERO));
        assert_eq!(plan(5 * MS, 3 * MS, true), Wait::Timeout(Duration::ZERO));
        assert_eq!(plan(5 * MS, 3 * MS, false), Wait::Timeout(Duration::ZERO));
    }

    #[test]
    fn a_near_deadline_arms_the_timerfd_at_the_deadline_itself() {
        for left in [1, 50_000, MS, 1_234_567, NEAR_NS] {
            let now = 10 * MS;
            assert_eq!(
                plan(now, now + left, true),
                Wait::Precise {
                    at_ns: now + left,
                    backstop: Duration::from_nanos(left)
                }
            );
        }
    }

    #[test]
    fn without_a_timerfd_the_wait_is_the_time_left() {
        for left in [1, MS, NEAR_NS, 10_000 * MS] {
            assert_eq!(
                plan(7, 7 + left, false),
                Wait::Timeout(Duration::from_nanos(left))
            );
        }
    }

    /// A far wait ends before the deadline even at its latest, and repeated far waits reach
    /// the precise window within a few wake-ups, for any delay.
    #[test]
    fn far_waits_wake_before_the_deadline_and_converge() {
        let mut lefts: Vec<u64> = (0..200).map(|i| NEAR_NS + 1 + i * 37_777).collect();
        lefts.extend([
            5 * MS,
            10 * MS,
            999 * MS,
            200 * MS,
            201 * MS,
            2_000 * MS,
            20_000 * MS,
            60_000 * MS,
            86_400_000 * MS,
            40 * 86_400_000 * MS,
            u64::MAX / 2,
        ]);
        for start in lefts {
            let mut left = start;
            let mut wakes = 0;
            while let Wait::Timeout(timeout) = plan(0, left, true) {
                assert!(!timeout.is_zero());
                let latest = latest_epoll_wake(timeout);
                assert!(latest < left, "waiting {start} ns: woke after the deadline");
                left -= latest;
                wakes += 1;
            }
            let most = match start {
                ..=200_000_000 => 1,
                200_000_001..=20_000_000_000 => 2,
                _ => 6,
            };
            assert!(wakes <= most, "waiting {start} ns took {wakes} far waits");
        }
    }
}

//! `TimerFd`: a timerfd in the loop's poller, for waits more precise than epoll's milliseconds.
//!
//! `epoll_wait` takes its timeout in whole milliseconds (mio rounds up) and the kernel adds a
//! slack of at least 50 µs, so a wait aimed at a deadline wakes up to ~1 ms after it. A
//! timerfd armed at the deadline (`CLOCK_MONOTONIC`, absolute, no slack) makes the poller
//! return on time.
//!
//! # Protocol
//! - The loop arms it only for a near deadline (see `time::wait`), and only when that deadline
//!   differs from the one armed and not yet seen to fire (`armed`): a turn that waits again for
//!   the same timer pays no syscall.
//! - It is never read. Arming (`timerfd_settime`) resets the expiration count, and the poller
//!   is edge-triggered, so an expired, unread timerfd reports nothing more until it is armed
//!   and expires again: it cannot spin the loop.
//! - It is never disarmed either: a deadline whose timer was cancelled fires once, into a loop
//!   turn that finds nothing due, which costs no more than disarming would.
//! - [`fired`](TimerFd::fired) is called for its event. From then on `armed` is `None`, so the
//!   next wait arms again even for the same deadline. An event of an earlier arming that was
//!   still queued only makes the loop re-arm once more, never wait on a dead timer.

use std::cell::Cell;
use std::io;

/// A non-blocking `CLOCK_MONOTONIC` timerfd registered (readable) with a poller.
pub(crate) struct TimerFd {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fd: std::os::fd::OwnedFd,
    /// The `CLOCK_MONOTONIC` time (ns) it is armed at, until its event is seen.
    armed: Cell<Option<u64>>,
}

impl TimerFd {
    /// Makes a disarmed timerfd and registers it with `registry` under `token`.
    ///
    /// # Errors
    /// Where the system has no timerfd, or has no file descriptor left.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub(crate) fn new(registry: &mio::Registry, token: mio::Token) -> io::Result<TimerFd> {
        use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
        if cfg!(miri) {
            // Miri has no timerfd: its runs keep epoll's millisecond precision.
            return Err(io::ErrorKind::Unsupported.into());
        }
        // SAFETY: a plain system call with constant arguments; it returns a new fd or -1.
        let raw = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a new fd that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        registry.register(
            &mut mio::unix::SourceFd(&fd.as_raw_fd()),
            token,
            mio::Interest::READABLE,
        )?;
        // Closing the fd (on drop) takes it out of the poller.
        Ok(TimerFd {
            fd,
            armed: Cell::new(None),
        })
    }

    /// No timerfd on this system: waits keep epoll's millisecond precision.
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    pub(crate) fn new(_registry: &mio::Registry, _token: mio::Token) -> io::Result<TimerFd> {
        Err(io::ErrorKind::Unsupported.into())
    }

    /// Makes sure it fires at the `CLOCK_MONOTONIC` time `at_ns` (at once if that has passed):
    /// arms it unless it is armed there already. Returns whether it had to arm.
    ///
    /// # Errors
    /// From `timerfd_settime`, which fails only on invalid arguments; `armed` is then `None`.
    pub(crate) fn arm_at(&self, at_ns: u64) -> io::Result<bool> {
        if self.armed.get() == Some(at_ns) {
            return Ok(false);
        }
        self.armed.set(None);
        self.settime(at_ns)?;
        self.armed.set(Some(at_ns));
        Ok(true)
    }

    /// Its event was seen: it has fired, or soon will for an older arming. Either way nothing
    /// is known to be armed.
    pub(crate) fn fired(&self) {
        self.armed.set(None);
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn settime(&self, at_ns: u64) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        const NS: u64 = 1_000_000_000;
        // An all-zero `it_value` would disarm: the earliest time armed is 1 ns.
        let at_ns = at_ns.max(1);
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: libc::time_t::try_from(at_ns / NS).unwrap_or(libc::time_t::MAX),
                tv_nsec: (at_ns % NS) as libc::c_long,
            },
        };
        // SAFETY: the fd is a timerfd we own; `spec` is a valid itimerspec to read, and the old
        // value is not asked for (null).
        let r = unsafe {
            libc::timerfd_settime(
                self.fd.as_raw_fd(),
                libc::TFD_TIMER_ABSTIME,
                &spec,
                std::ptr::null_mut(),
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    fn settime(&self, _at_ns: u64) -> io::Result<()> {
        Err(io::ErrorKind::Unsupported.into())
    }
}

#[cfg(all(test, any(target_os = "linux", target_os = "android")))]
mod tests {
    use super::*;
    use std::time::Duration;

    const TOKEN: mio::Token = mio::Token(7);

    fn monotonic_ns() -> u64 {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid timespec to write to.
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
        ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
    }

    /// The tokens of one poll's events.
    fn events_of(poll: &mut mio::Poll, timeout: Duration) -> Vec<mio::Token> {
        let mut events = mio::Events::with_capacity(8);
        poll.poll(&mut events, Some(timeout)).unwrap();
        events.iter().map(|e| e.token()).collect()
    }

    /// Polls until the first event. (The limit only keeps a broken timerfd from hanging the
    /// test; nothing is timed.)
    fn wait_for_event(poll: &mut mio::Poll) -> Vec<mio::Token> {
        events_of(poll, Duration::from_secs(30))
    }

    #[test]
    fn arms_only_when_the_deadline_changes_or_fired() {
        let poll = mio::Poll::new().unwrap();
        let timer = TimerFd::new(poll.registry(), TOKEN).unwrap();
        let far = monotonic_ns() + 3_600 * 1_000_000_000;
        assert!(timer.arm_at(far).unwrap());
        assert!(!timer.arm_at(far).unwrap(), "same deadline: no syscall");
        assert!(timer.arm_at(far + 1).unwrap());
        timer.fired();
        assert!(
            timer.arm_at(far + 1).unwrap(),
            "after its event, armed again"
        );
    }

    #[test]
    fn a_deadline_in_the_past_wakes_the_poller_once() {
        let mut poll = mio::Poll::new().unwrap();
        let timer = TimerFd::new(poll.registry(), TOKEN).unwrap();
        timer.arm_at(0).unwrap();
        // Blocks until the timer's event: it is due already.
        assert_eq!(wait_for_event(&mut poll), vec![TOKEN]);
        // Unread, it reports nothing more (edge-triggered): no spinning.
        assert!(events_of(&mut poll, Duration::ZERO).is_empty());
        // Armed again (same deadline after its event), it fires again.
        timer.fired();
        assert!(timer.arm_at(0).unwrap());
        assert_eq!(wait_for_event(&mut poll), vec![TOKEN]);
    }

    #[test]
    fn it_never_fires_before_its_deadline() {
        let mut poll = mio::Poll::new().unwrap();
        let timer = TimerFd::new(poll.registry(), TOKEN).unwrap();
        for delay in [1_000, 20_000, 300_000] {
            let at = monotonic_ns() + delay;
            timer.fired();
            timer.arm_at(at).unwrap();
            assert_eq!(wait_for_event(&mut poll), vec![TOKEN]);
            assert!(monotonic_ns() >= at);
        }
    }

    #[test]
    fn rearming_before_expiry_replaces_the_deadline() {
        let mut poll = mio::Poll::new().unwrap();
        let timer = TimerFd::new(poll.registry(), TOKEN).unwrap();
        timer
            .arm_at(monotonic_ns() + 3_600 * 1_000_000_000)
            .unwrap();
        let at = monotonic_ns() + 100_000;
        timer.arm_at(at).unwrap();
        assert_eq!(wait_for_event(&mut poll), vec![TOKEN]);
        assert!(monotonic_ns() >= at);
    }
}

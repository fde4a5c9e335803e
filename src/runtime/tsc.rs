//! `CLOCK_MONOTONIC`, read in half the time by interpolating it with the CPU's time-stamp
//! counter.
//!
//! `time()` sits in hot loops, and the vDSO's `clock_gettime` costs about 28 ns where `rdtsc`
//! costs 11. So each thread keeps a line through `CLOCK_MONOTONIC`: an anchor (a counter
//! value and the monotonic time at it) and a slope (nanoseconds per count). A read within the
//! line's window is `rdtsc`, a multiply and an add. Past the window — at most 10 ms of counts,
//! and never longer than the calibration's own age — the thread reads `CLOCK_MONOTONIC` again
//! and starts a new line there, so any error in the slope (measurement, NTP slewing the
//! monotonic clock) lasts one window: well under a microsecond in practice.
//!
//! The slope comes from two readings of both clocks far apart: one taken once per process
//! (the first time any thread asks) and the thread's own latest one. Until the process's
//! reading is 1 ms old, reads go to `clock_gettime`.
//!
//! What each thread returns never goes backwards: a new line starts at the old line's value
//! if that was ahead of `CLOCK_MONOTONIC`, and then runs slower until it has met it again.
//!
//! Used only where the kernel itself keeps time with the counter (its clocksource is `tsc`,
//! which it picks only after checking that the counter is invariant and synchronised across
//! CPUs) on x86-64; everywhere else every read is `clock_gettime`.

use std::cell::Cell;
use std::sync::OnceLock;

/// The longest line, in nanoseconds: how long a slope error may accumulate.
const MAX_WINDOW_NS: u64 = 10_000_000;

/// How old the process's calibration reading must be before slopes are taken from it.
const MIN_CALIBRATION_NS: u64 = 1_000_000;

/// Fractional bits of a slope: nanoseconds per count, as a 32.32 fixed-point number.
const SLOPE_SHIFT: u32 = 32;

/// The time on `CLOCK_MONOTONIC`, in nanoseconds, read through the thread's line.
#[inline]
pub(crate) fn now_ns() -> u64 {
    LINE.with(|line| match counter::read() {
        Some(count) => line.at(count).unwrap_or_else(|| refresh(line)),
        None => monotonic_ns(),
    })
}

thread_local! {
    static LINE: Line = const { Line::new() };
}

/// The cold path: a fresh reading of both clocks starts a new line (or, before calibration,
/// is simply returned).
#[cold]
#[inline(never)]
fn refresh(line: &Line) -> u64 {
    let Some(calibration) = calibration() else {
        return monotonic_ns();
    };
    // Young calibration: one plain read, cheaper than a reading of both clocks.
    let ns = monotonic_ns();
    if ns.saturating_sub(calibration.ns) < MIN_CALIBRATION_NS {
        return ns;
    }
    let now = Reading::take();
    match calibration.slope_to(now) {
        Some(slope) => line.restart(now, slope, now.ns - calibration.ns),
        // The counter is behind the calibration's (another CPU's, out of step): no slope,
        // and no going back from what the old line said.
        None => now.ns.max(line.extended(now.count)),
    }
}

/// The reading both clocks were calibrated against, once per process; `None` where the
/// counter is not used.
fn calibration() -> Option<&'static Reading> {
    static CALIBRATION: OnceLock<Option<Reading>> = OnceLock::new();
    CALIBRATION
        .get_or_init(|| counter::trusted().then(Reading::take))
        .as_ref()
}

/// The two clocks read at (nearly) one moment.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Reading {
    count: u64,
    ns: u64,
}

impl Reading {
    /// Reads the counter on both sides of `clock_gettime` and takes the midpoint, so the pair
    /// is off by at most half the call (about 15 ns).
    fn take() -> Reading {
        let before = counter::read().unwrap_or(0);
        let ns = monotonic_ns();
        let after = counter::read().unwrap_or(0);
        Reading {
            count: before + after.wrapping_sub(before) / 2,
            ns,
        }
    }

    /// The slope from this reading to a later one, or `None` while they are too close for a
    /// good one (or the counter did not move forward).
    fn slope_to(self, later: Reading) -> Option<u64> {
        let ns = later.ns.checked_sub(self.ns)?;
        let counts = later.count.checked_sub(self.count)?;
        if ns < MIN_CALIBRATION_NS || counts == 0 {
            return None;
        }
        let slope = (u128::from(ns) << SLOPE_SHIFT) / u128::from(counts);
        u64::try_from(slope).ok().filter(|&s| s > 0)
    }
}

/// One thread's line through `CLOCK_MONOTONIC`. A `window` of 0 means there is none yet.
struct Line {
    anchor_count: Cell<u64>,
    anchor_ns: Cell<u64>,
    slope: Cell<u64>,
    /// Counts past the anchor the line may be used for.
    window: Cell<u64>,
}

impl Line {
    const fn new() -> Line {
        Line {
            anchor_count: Cell::new(0),
            anchor_ns: Cell::new(0),
            slope: Cell::new(0),
            window: Cell::new(0),
        }
    }

    /// The time at `count`, if it is within the window.
    #[inline]
    fn at(&self, count: u64) -> Option<u64> {
        let since = count.wrapping_sub(self.anchor_count.get());
        // No overflow: `since` is below a window of at most 10 ms of counts, so the product
        // is below 10^7 << 32.
        (since < self.window.get())
            .then(|| self.anchor_ns.get() + ((since * self.slope.get()) >> SLOPE_SHIFT))
    }

    /// Starts a new line at `now` with `slope`, calibrated over `calibrated_ns`, and returns
    /// its time. It starts at the old line's value if that is ahead (so the thread's time
    /// never goes back), and then runs slower, to meet `CLOCK_MONOTONIC` again by the end of
    /// its window. The window never outgrows the calibration, so the slope's error over a
    /// window stays below the readings' own error.
    fn restart(&self, now: Reading, slope: u64, calibrated_ns: u64) -> u64 {
        let ahead = self.extended(now.count).saturating_sub(now.ns);
        let window_ns = MAX_WINDOW_NS.min(calibrated_ns).max(1);
        // Slow the slope by `ahead` over the window, at most by half.
        let slowed = slope
            - (u128::from(slope) * u128::from(ahead.min(window_ns / 2)) / u128::from(window_ns))
                as u64;
        self.anchor_count.set(now.count);
        self.anchor_ns.set(now.ns + ahead);
        self.slope.set(slowed);
        // The window spans `window_ns` of the clock (the unslowed slope's counts), by whose end
        // the slowed line has given back `ahead`.
        self.window
            .set(((u128::from(window_ns) << SLOPE_SHIFT) / u128::from(slope)) as u64);
        now.ns + ahead
    }

    /// The old line's value at `count`, extended past its window; if the counter went back
    /// (only if the CPUs' counters were not in step), the most the old line could have
    /// returned. 0 when there is no line.
    fn extended(&self, count: u64) -> u64 {
        if self.window.get() == 0 {
            return 0;
        }
        let since = count.wrapping_sub(self.anchor_count.get());
        let since = if since > u64::MAX / 2 {
            self.window.get()
        } else {
            since
        };
        let gone = (u128::from(since) * u128::from(self.slope.get())) >> SLOPE_SHIFT;
        self.anchor_ns
            .get()
            .saturating_add(u64::try_from(gone).unwrap_or(u64::MAX))
    }
}

/// `CLOCK_MONOTONIC` (the clock `Instant` reads) in nanoseconds. Read directly because
/// `Instant`'s checked arithmetic costs a quarter more than the read itself.
#[inline]
pub(crate) fn monotonic_ns() -> u64 {
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

#[cfg(all(target_arch = "x86_64", target_os = "linux", not(miri)))]
mod counter {
    /// The time-stamp counter.
    #[inline]
    pub(super) fn read() -> Option<u64> {
        // SAFETY: `rdtsc` exists on every x86-64 CPU and only reads the counter.
        Some(unsafe { std::arch::x86_64::_rdtsc() })
    }

    /// Whether the kernel keeps time with the counter: it then vouches that the counter runs at
    /// a constant rate, through sleep states, in step on every CPU.
    pub(super) fn trusted() -> bool {
        std::fs::read_to_string("/sys/devices/system/clocksource/clocksource0/current_clocksource")
            .is_ok_and(|source| source.trim() == "tsc")
    }
}

#[cfg(not(all(target_arch = "x86_64", target_os = "linux", not(miri))))]
mod counter {
    #[inline]
    pub(super) fn read() -> Option<u64> {
        None
    }

    pub(super) fn trusted() -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A counter at 2.4 GHz, and `CLOCK_MONOTONIC` as it reads at a count, running
    /// `ppm` parts per million fast of the counter.
    fn reading(count: u64, ppm: i64) -> Reading {
        let ns = count as f64 / 2.4;
        Reading {
            count,
            ns: (ns + ns * ppm as f64 / 1e6) as u64,
        }
    }

    /// The true slope of that counter, 1/2.4 ns per count, off by `ppm`.
    fn slope(ppm: i64) -> u64 {
        ((1u64 << SLOPE_SHIFT) as f64 / 2.4 * (1.0 + ppm as f64 / 1e6)) as u64
    }

    /// Reads through `line` at each count, restarting it (as `refresh` does) when the window
    /// has passed; asserts time never goes back. Returns the largest error against the
    /// monotonic clock over the last half of the counts.
    fn run(line: &Line, counts: impl Iterator<Item = u64>, clock_ppm: i64, slope_ppm: i64) -> u64 {
        let counts: Vec<u64> = counts.collect();
        let mut last = 0;
        let mut worst = 0;
        for (i, &count) in counts.iter().enumerate() {
            let now = reading(count, clock_ppm);
            let ours = line
                .at(count)
                .unwrap_or_else(|| line.restart(now, slope(slope_ppm), 1_000_000_000));
            assert!(ours >= last, "back by {} ns at count {count}", last - ours);
            last = ours;
            if i >= counts.len() / 2 {
                worst = worst.max(ours.abs_diff(now.ns));
            }
        }
        worst
    }

    #[test]
    fn a_line_follows_the_monotonic_clock() {
        let line = Line::new();
        let step = 2_400; // 1 µs of counts
        let worst = run(&line, (1..200_000).map(|i| i * step), 0, 0);
        assert!(worst <= 1, "off by {worst} ns");
    }

    #[test]
    fn a_slope_error_lasts_one_window_and_never_turns_time_back() {
        // The monotonic clock is slewed 500 ppm (NTP's limit) against the calibration, both
        // ways: a line's error is the slew over one window, 5 µs, not growing with time.
        for ppm in [500, -500] {
            let line = Line::new();
            let worst = run(&line, (1..400_000).map(|i| i * 2_400), ppm, 0);
            assert!(worst <= 5_100, "{ppm} ppm: off by {worst} ns");
        }
        // A slope off by 5% (a broken calibration): still bounded by one window's drift.
        let line = Line::new();
        let worst = run(&line, (1..400_000).map(|i| i * 2_400), 0, 50_000);
        assert!(worst <= 510_000, "off by {worst} ns");
    }

    #[test]
    fn a_line_ahead_slows_to_meet_the_clock() {
        let line = Line::new();
        line.restart(reading(0, 0), slope(0), 1_000_000_000);
        // The line says 20 µs more than the clock when it is restarted ...
        line.anchor_ns.set(20_000);
        let window = line.window.get();
        let at_end = line.restart(reading(window, 0), slope(0), 1_000_000_000);
        let kept = 20_000 + reading(window, 0).ns;
        assert!(
            at_end.abs_diff(kept) <= 1,
            "keeps its (ahead) value: {at_end} vs {kept}"
        );
        // ... and by the end of the next window it is on the clock again.
        let next = line.window.get();
        let ours = line.at(window + next - 1).unwrap();
        let theirs = reading(window + next - 1, 0).ns;
        assert!(ours.abs_diff(theirs) <= 2, "{ours} vs {theirs}");
    }

    #[test]
    fn a_counter_that_goes_back_does_not_turn_time_back() {
        let line = Line::new();
        line.restart(reading(1_000_000, 0), slope(0), 1_000_000_000);
        let high = line.at(1_000_000 + line.window.get() - 1).unwrap();
        // Another CPU's counter, behind: the line is left for a new one, at or after the most
        // the old one could have said.
        let back = reading(900_000, 0);
        assert_eq!(line.at(back.count), None);
        assert!(line.restart(back, slope(0), 1_000_000_000) >= high);
    }

    #[test]
    fn after_an_idle_spell_the_clock_is_read_again() {
        let line = Line::new();
        line.restart(reading(0, 0), slope(0), 1_000_000_000);
        // Five seconds later, with the clock 100 ppm slow of the old line: the line is ahead,
        // by 500 µs, keeps its value and slows down at most by half.
        let later = reading(12_000_000_000, -100);
        assert_eq!(line.at(later.count), None);
        let ours = line.restart(later, slope(0), 1_000_000_000);
        // (Up to the slope's rounding, a nanosecond per second.)
        assert!(ours + 5 >= reading(12_000_000_000, 0).ns);
        assert!(line.slope.get() >= slope(0) / 2);
    }

    #[test]
    fn slopes_need_a_millisecond_and_a_moving_counter() {
        let start = Reading {
            count: 1_000,
            ns: 5_000,
        };
        let at = |count, ns| Reading { count, ns };
        assert_eq!(start.slope_to(at(2_000_000, 5_000 + 999_999)), None);
        assert_eq!(start.slope_to(at(1_000, 5_000 + 2_000_000)), None);
        assert_eq!(start.slope_to(at(500, 5_000 + 2_000_000)), None);
        assert_eq!(start.slope_to(at(3_000, 4_000)), None);
        let slope = start
            .slope_to(at(1_000 + 4_800_000, 5_000 + 2_000_000))
            .unwrap();
        assert_eq!(slope, (2_000_000u64 << SLOPE_SHIFT) / 4_800_000);
    }

    #[test]
    fn reads_never_go_back_and_stay_near_clock_gettime() {
        let mut last = now_ns();
        let mut worst = 0i64;
        for i in 0..2_000_000u32 {
            let ours = now_ns();
            assert!(ours >= last, "went back by {} ns at read {i}", last - ours);
            last = ours;
            if i % 1000 == 0 {
                let theirs = monotonic_ns();
                let after = now_ns();
                // `ours` ≤ theirs ≤ `after`, up to the line's error.
                worst = worst
                    .max(ours as i64 - theirs as i64)
                    .max(theirs as i64 - after as i64);
                last = after;
            }
        }
        // Loose: a line is off by well under a microsecond; the bound only catches a broken
        // slope (which would be off by milliseconds).
        assert!(worst < 100_000, "off by {worst} ns");
    }
}

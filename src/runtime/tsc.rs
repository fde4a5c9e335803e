//! `CLOCK_MONOTONIC`, read in half the time by interpolating it with the CPU's time-stamp
//! counter.
//!
//! `time()` sits in hot loops, and the vDSO's `clock_gettime` costs about 28 ns where `rdtsc`
//! costs 11. So each thread keeps a line through `CLOCK_MONOTONIC`: an anchor (a counter
//! value and the monotonic time at it) and a slope (nanoseconds per count). A read within the
//! line's window is `rdtsc`, a multiply and an add. Past the window — at most 10 ms of counts,
//! and never longer than the slope was measured over — the thread reads `CLOCK_MONOTONIC`
//! again and starts a new line there, so any error in the slope (measurement, NTP slewing the
//! monotonic clock) lasts one window: well under a microsecond in practice.
//!
//! The slope is measured from the thread's base, a reading of both clocks at least 1 ms and
//! at most about a second old (at first the process's, taken the first time any thread asks;
//! until that is 1 ms old, reads go to `clock_gettime`), to the thread's latest reading.
//!
//! What each thread returns never goes backwards: it holds at its latest value while a new
//! line is below it (the old line ran ahead of the clock, or the counter stepped back).
//!
//! A suspend stops `CLOCK_MONOTONIC` but not necessarily the counter (or it resets the
//! counter), so a base from before one says nothing of the slope after it: a reading that
//! shows a suspend (`CLOCK_BOOTTIME - CLOCK_MONOTONIC` moved) becomes the thread's new base.
//!
//! Used only where the kernel itself keeps time with the counter (its clocksource is `tsc`,
//! which it picks only after checking that the counter is invariant and synchronised across
//! CPUs) on x86-64; everywhere else every read is `clock_gettime`.

use std::cell::Cell;
use std::sync::OnceLock;

/// The longest line, in nanoseconds: how long a slope error may accumulate.
const MAX_WINDOW_NS: u64 = 10_000_000;

/// How old a base must be before slopes are taken from it.
const MIN_CALIBRATION_NS: u64 = 1_000_000;

/// How old a thread's base may grow before the thread measures slopes from a newer reading:
/// a slope is the clock's mean rate since the base, and NTP changes the rate now and then.
const REBASE_NS: u64 = 1_000_000_000;

/// How far `CLOCK_BOOTTIME - CLOCK_MONOTONIC` may differ between two readings without a
/// suspend between them: the two clocks are read one after the other, and a thread may be
/// preempted in between (a spurious suspend costs a thread a millisecond of `clock_gettime`).
const ASLEEP_SLACK_NS: u64 = 1_000_000;

/// Counts within which a reading's `clock_gettime` is taken to have run uninterrupted: about
/// 0.4 µs at 2.4 GHz, where the call takes 30 ns and an interrupt a microsecond or more.
const NARROW_COUNTS: u64 = 1_000;

/// Fractional bits of a slope: nanoseconds per count, as a 32.32 fixed-point number.
const SLOPE_SHIFT: u32 = 32;

/// The time on `CLOCK_MONOTONIC`, in nanoseconds, read through the thread's line.
#[inline]
pub(crate) fn now_ns() -> u64 {
    LINE.with(|line| {
        if line.plain.get() {
            return monotonic_ns();
        }
        match counter::read() {
            Some(count) => line.at(count).unwrap_or_else(|| refresh(line)),
            None => monotonic_ns(),
        }
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
    match calibration() {
        Some(&calibration) => line.restart(Reading::take(), calibration),
        None => {
            line.plain.set(true);
            monotonic_ns()
        }
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
    /// `CLOCK_BOOTTIME - CLOCK_MONOTONIC`: how long the system has been suspended, give or
    /// take a preemption between the two reads.
    asleep: u64,
}

/// Why two readings give no slope.
#[derive(Clone, Copy, Debug, PartialEq)]
enum NoSlope {
    /// They are less than [`MIN_CALIBRATION_NS`] apart: the later one will do, in a while.
    TooSoon,
    /// The system was suspended between them, or the counter did not move forward: the
    /// earlier one is of no more use.
    Broken,
}

impl Reading {
    /// Reads the counter on both sides of `clock_gettime` and takes the midpoint, so the pair
    /// is off by at most half the call (about 15 ns). An interrupt inside the call would put
    /// the midpoint off by half the interrupt, so a wide pair is tried again (up to 3 times, the
    /// narrowest kept).
    fn take() -> Reading {
        let mut narrowest = (u64::MAX, 0, 0);
        for _ in 0..3 {
            let before = counter::read().unwrap_or(0);
            let ns = monotonic_ns();
            let width = counter::read().unwrap_or(0).wrapping_sub(before);
            narrowest = narrowest.min((width, before.wrapping_add(width / 2), ns));
            if width < NARROW_COUNTS {
                break;
            }
        }
        let (_, count, ns) = narrowest;
        Reading {
            count,
            ns,
            asleep: boottime_ns().saturating_sub(ns),
        }
    }

    /// The slope from this reading to a later one.
    fn slope_to(self, later: Reading) -> Result<u64, NoSlope> {
        if later.asleep.abs_diff(self.asleep) > ASLEEP_SLACK_NS {
            return Err(NoSlope::Broken);
        }
        let counts = later.count.checked_sub(self.count).ok_or(NoSlope::Broken)?;
        let ns = later.ns.saturating_sub(self.ns);
        if ns < MIN_CALIBRATION_NS {
            return Err(NoSlope::TooSoon);
        }
        let slope = (u128::from(ns) << SLOPE_SHIFT) / u128::from(counts.max(1));
        match u64::try_from(slope) {
            Ok(slope) if slope > 0 && counts > 0 => Ok(slope),
            _ => Err(NoSlope::Broken),
        }
    }
}

/// One thread's line through `CLOCK_MONOTONIC`. A `window` of 0 means there is none (yet, or
/// until a new base is old enough).
struct Line {
    anchor_count: Cell<u64>,
    anchor_ns: Cell<u64>,
    slope: Cell<u64>,
    /// Counts past the anchor the line may be used for.
    window: Cell<u64>,
    /// Whether the counter is not used here: reads go straight to `clock_gettime`, without
    /// an `rdtsc` that would make them a third slower than before.
    plain: Cell<bool>,
    /// The latest time returned: the thread's time holds there rather than go back, when a
    /// new line starts below the old one or the counter steps back.
    last: Cell<u64>,
    /// The reading slopes are measured from: the process's calibration at first, then one of
    /// the thread's own, renewed every [`REBASE_NS`] and after a suspend (or a counter that
    /// went back).
    base: Cell<Option<Reading>>,
}

impl Line {
    const fn new() -> Line {
        Line {
            anchor_count: Cell::new(0),
            anchor_ns: Cell::new(0),
            slope: Cell::new(0),
            window: Cell::new(0),
            plain: Cell::new(false),
            last: Cell::new(0),
            base: Cell::new(None),
        }
    }

    /// The time at `count`, if it is within the window.
    #[inline]
    fn at(&self, count: u64) -> Option<u64> {
        let since = count.wrapping_sub(self.anchor_count.get());
        // No overflow: `since` is below a window of at most 10 ms of counts, so the product
        // is below 10^7 << 32.
        (since < self.window.get()).then(|| {
            self.returns(self.anchor_ns.get() + ((since * self.slope.get()) >> SLOPE_SHIFT))
        })
    }

    /// Starts a new line at `now`, its slope measured from the thread's base (`calibration`
    /// until it has one of its own), and returns its time. While the base is too recent there
    /// is no line, and the time is the clock's.
    fn restart(&self, now: Reading, calibration: Reading) -> u64 {
        let base = self.base.get().unwrap_or(calibration);
        match base.slope_to(now) {
            Ok(slope) => {
                if now.ns - base.ns >= REBASE_NS {
                    self.base.set(Some(now));
                }
                self.follow(now, slope, MAX_WINDOW_NS.min(now.ns - base.ns))
            }
            Err(no) => {
                if no == NoSlope::Broken {
                    self.base.set(Some(now));
                }
                self.window.set(0);
                self.returns(now.ns)
            }
        }
    }

    /// Starts a new line at `now` with `slope`, for `window_ns` of the clock, and returns its
    /// time. The window never outgrows the slope's measurement, so the slope's error over a
    /// window stays below the readings' own error.
    fn follow(&self, now: Reading, slope: u64, window_ns: u64) -> u64 {
        self.anchor_count.set(now.count);
        self.anchor_ns.set(now.ns);
        self.slope.set(slope);
        self.window
            .set(((u128::from(window_ns) << SLOPE_SHIFT) / u128::from(slope)) as u64);
        self.returns(now.ns)
    }

    /// `ns`, or the latest time returned if that is later.
    #[inline]
    fn returns(&self, ns: u64) -> u64 {
        let ns = ns.max(self.last.get());
        self.last.set(ns);
        ns
    }
}

/// `CLOCK_MONOTONIC` (the clock `Instant` reads) in nanoseconds. Read directly because
/// `Instant`'s checked arithmetic costs a quarter more than the read itself.
#[inline]
pub(crate) fn monotonic_ns() -> u64 {
    clock_ns(libc::CLOCK_MONOTONIC)
}

/// `CLOCK_BOOTTIME` in nanoseconds (0 where the counter is not used).
fn boottime_ns() -> u64 {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    return clock_ns(libc::CLOCK_BOOTTIME);
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    0
}

/// The clock `id` in nanoseconds.
#[inline]
fn clock_ns(id: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to write to; both clocks read here exist on the systems
    // that read them (`CLOCK_BOOTTIME` only on Linux and Android).
    unsafe { libc::clock_gettime(id, &mut ts) };
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
            asleep: 0,
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
                .unwrap_or_else(|| line.follow(now, slope(slope_ppm), MAX_WINDOW_NS));
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
    fn a_new_line_below_the_old_holds_the_time_until_it_has_caught_up() {
        let line = Line::new();
        line.follow(reading(0, 0), slope(0), MAX_WINDOW_NS);
        // The line runs 20 µs ahead of the clock ...
        line.anchor_ns.set(20_000);
        let window = line.window.get();
        let high = line.at(window - 1).unwrap();
        // ... the next starts on the clock, and the time holds until that has caught up.
        assert_eq!(
            line.follow(reading(window, 0), slope(0), MAX_WINDOW_NS),
            high
        );
        assert_eq!(line.at(window + 24_000), Some(high));
        let later = reading(window + 72_000, 0);
        assert!(line.at(later.count).unwrap().abs_diff(later.ns) <= 1);
    }

    #[test]
    fn a_counter_that_goes_back_does_not_turn_time_back() {
        let line = Line::new();
        line.follow(reading(1_000_000, 0), slope(0), MAX_WINDOW_NS);
        let high = line.at(1_000_000 + line.window.get() - 1).unwrap();
        // Another CPU's counter, behind: the line is left for a new one, at or after the most
        // the old one could have said.
        let back = reading(900_000, 0);
        assert_eq!(line.at(back.count), None);
        assert!(line.follow(back, slope(0), MAX_WINDOW_NS) >= high);
    }

    #[test]
    fn after_an_idle_spell_the_clock_is_read_again() {
        let line = Line::new();
        line.follow(reading(0, 0), slope(0), MAX_WINDOW_NS);
        // Five seconds later, with the clock 100 ppm slow of the old line: extended, the line
        // would be 500 µs ahead, but it returned nothing past its window (10 ms), so the new
        // line starts on the clock.
        let later = reading(12_000_000_000, -100);
        assert_eq!(line.at(later.count), None);
        assert_eq!(line.follow(later, slope(0), MAX_WINDOW_NS), later.ns);
        assert_eq!(line.slope.get(), slope(0));
    }

    #[test]
    fn slopes_need_a_millisecond_and_a_moving_counter() {
        let start = Reading {
            count: 1_000,
            ns: 5_000,
            asleep: 0,
        };
        let at = |count, ns| Reading {
            count,
            ns,
            asleep: 0,
        };
        assert_eq!(
            start.slope_to(at(2_000_000, 5_000 + 999_999)),
            Err(NoSlope::TooSoon)
        );
        assert_eq!(
            start.slope_to(at(1_000, 5_000 + 2_000_000)),
            Err(NoSlope::Broken)
        );
        assert_eq!(
            start.slope_to(at(500, 5_000 + 2_000_000)),
            Err(NoSlope::Broken)
        );
        let asleep = Reading {
            asleep: 3_000_000_000,
            ..at(1_000 + 4_800_000, 5_000 + 2_000_000)
        };
        assert_eq!(start.slope_to(asleep), Err(NoSlope::Broken));
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

    /// What `now_ns` does, with the counter and the clock as given.
    fn read(line: &Line, calibration: Reading, now: Reading) -> u64 {
        line.at(now.count)
            .unwrap_or_else(|| line.restart(now, calibration))
    }

    #[test]
    fn an_idle_spell_does_not_put_time_ahead() {
        // The calibration's clock reading is 20 ns early, the first line is made 1 ms after it
        // (so its slope is 20 ppm fast), and then the thread sleeps a minute: extending that
        // line would put the time 1.2 ms ahead of the clock.
        let cal = Reading {
            ns: reading(2_400_000_000, 0).ns - 20,
            ..reading(2_400_000_000, 0)
        };
        let line = Line::new();
        read(&line, cal, reading(2_402_400_000, 0));
        let woke = reading(2_402_400_000 + 144_000_000_000, 0);
        assert_eq!(read(&line, cal, woke), woke.ns);
    }

    #[test]
    fn after_a_suspend_slopes_are_measured_anew() {
        let cal = reading(2_400_000_000, 0);
        let line = Line::new();
        let (mut count, mut ns) = (cal.count, cal.ns);
        let mut last = 0;
        let mut step = |count: u64, ns: u64, asleep: u64| {
            let ours = read(&line, cal, Reading { count, ns, asleep });
            assert!(ours >= last, "back by {} ns", last - ours);
            last = ours;
            ours.abs_diff(ns)
        };
        // 10 s, read every 100 µs ...
        for _ in 0..100_000 {
            (count, ns) = (count + 240_000, ns + 100_000);
            step(count, ns, 0);
        }
        // ... an hour suspended, CLOCK_MONOTONIC stopped and the counter running on (or
        // reset) ...
        let mut asleep = 0;
        for reset in [false, true] {
            asleep += 3_600_000_000_000;
            count = if reset {
                1_000
            } else {
                count + 3_600 * 2_400_000_000
            };
            // ... then the time is the clock's again within a millisecond.
            for i in 0..100_000 {
                (count, ns) = (count + 240_000, ns + 100_000);
                let error = step(count, ns, asleep);
                assert!(i < 10 || error <= 1, "off by {error} ns at {i}");
            }
        }
    }

    proptest::proptest! {
        /// Any run of the counter and the clock (slewed up to 500 ppm, the counter stepping
        /// back as another CPU's might, suspends with the counter running or reset): the time
        /// never goes back, and is never off the clock by more than a window's slew.
        #[test]
        fn time_never_goes_back_and_stays_near_the_clock(
            steps in proptest::collection::vec(
                (0u8..20, 1u64..1_000_000_000, -500i64..=500), 1..300),
        ) {
            const SLEW_NS: u64 = 10_000 + 10; // 1000 ppm over 10 ms, and rounding
            let cal = reading(1 << 40, 0);
            let line = Line::new();
            let (mut count, mut ns, mut asleep) = (cal.count, cal.ns as f64, 0);
            let mut last = 0;
            for (kind, n, ppm) in steps {
                match kind {
                    // The counter runs, `n` counts or a long idle spell, and the clock with it.
                    0..=15 => {
                        let counts = if kind == 0 { n * 100 } else { n / 10 };
                        count += counts;
                        ns += counts as f64 / 2.4 * (1.0 + ppm as f64 / 1e6);
                    }
                    16 | 17 => {
                        count = count.saturating_sub(n % 1_000);
                    }
                    18 => {
                        // (A suspend takes far longer than the slack, and a window.)
                        let ns_asleep = MAX_WINDOW_NS + n * 10;
                        count += ns_asleep * 12 / 5;
                        asleep += ns_asleep;
                    }
                    _ => {
                        // (Reset below the line: a counter that restarts from 0 lands in a
                        // line's 10 ms of counts only by a fluke.)
                        count = n % line.anchor_count.get().max(1);
                        asleep += MAX_WINDOW_NS + n;
                    }
                }
                let now = Reading { count, ns: ns as u64, asleep };
                let ours = read(&line, cal, now);
                proptest::prop_assert!(ours >= last, "back by {} ns", last - ours);
                last = ours;
                proptest::prop_assert!(
                    ours.abs_diff(now.ns) <= SLEW_NS,
                    "off by {} ns",
                    ours as i64 - now.ns as i64
                );
            }
        }
    }
}

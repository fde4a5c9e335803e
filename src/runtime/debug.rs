//! Debug mode, as asyncio's: `set_debug`, `Runner::debug`, `ASYNCIO_DEBUG=1` in the
//! environment (asyncio's `PYTHONASYNCIODEBUG`).
//!
//! In debug mode the loop times every task step and callback and logs, at warning level, those
//! that took `slow_callback_duration` (0.1 s by default) or more, in asyncio's words
//! ("Executing <Task ...> took 0.150 seconds"); it logs its waits for I/O as asyncio logged its
//! `select` calls; and a stream writer, transport or server dropped without `close` is
//! reported as asyncio's `ResourceWarning: unclosed ...`.
//!
//! Off, each task step pays one test of a flag the loop keeps beside the task it runs: no
//! clock is read.

use super::context;
use super::core::{Callback, Core};
use super::handle::LoopHandle;
use std::cell::Cell;
use std::panic::Location;
use std::time::Duration;

thread_local! {
    /// Where the callback running now was scheduled, in debug mode: set by the callback
    /// itself (see [`with_site`]), read by the slow-callback log.
    static CALLBACK_SITE: Cell<Option<&'static Location<'static>>> = const { Cell::new(None) };
}

/// In debug mode, a callback that notes where it was scheduled (`call_soon`'s caller) when it
/// runs, as asyncio's handles keep their source traceback; off, the callback as it is.
#[track_caller]
pub(crate) fn with_site(core: &Core, callback: Callback) -> Callback {
    if !core.debug.on() {
        return callback;
    }
    let site = Location::caller();
    Box::new(move || {
        CALLBACK_SITE.with(|s| s.set(Some(site)));
        callback();
    })
}

/// asyncio's `<Handle ...>` for the callback that just ran: with its creation site if debug
/// mode was on when it was scheduled.
pub(crate) fn take_callback_name() -> String {
    match CALLBACK_SITE.with(Cell::take) {
        Some(site) => format!("<Handle callback created at {site}>"),
        None => "<Handle callback>".to_owned(),
    }
}

/// The environment variable that turns debug mode on for every new loop, as
/// `PYTHONASYNCIODEBUG` does for asyncio's.
pub const DEBUG_ENV: &str = "ASYNCIO_DEBUG";

/// Whether `ASYNCIO_DEBUG` asks for debug mode: set to anything but empty or `0`. (Python
/// takes any non-empty value; `0` meaning off is what a Rust user expects of a flag.)
pub(crate) fn env_debug() -> bool {
    std::env::var_os(DEBUG_ENV).is_some_and(|v| !v.is_empty() && v != "0")
}

/// A loop's debug settings.
pub(crate) struct DebugState {
    on: Cell<bool>,
    slow: Cell<Duration>,
    /// The loop answers `asyncio-ps` (see `crate::introspection`).
    served: Cell<bool>,
    /// `on || served`: task steps are timed (busy time, first step), one test per step.
    timed: Cell<bool>,
}

impl DebugState {
    pub(crate) fn new(on: bool) -> Self {
        DebugState {
            on: Cell::new(on),
            slow: Cell::new(Duration::from_millis(100)),
            served: Cell::new(false),
            timed: Cell::new(on),
        }
    }

    /// Whether task steps are timed, for their busy time and first step: in debug mode, and
    /// while the loop answers `asyncio-ps`.
    #[inline]
    pub(crate) fn times_steps(&self) -> bool {
        self.timed.get()
    }

    /// Whether the loop answers `asyncio-ps` (until it ends).
    pub(crate) fn served(&self) -> bool {
        self.served.get()
    }

    /// Marks the loop as answering `asyncio-ps`; true if it was not already.
    pub(crate) fn set_served(&self) -> bool {
        self.timed.set(true);
        !self.served.replace(true)
    }

    #[inline]
    pub(crate) fn on(&self) -> bool {
        self.on.get()
    }

    pub(crate) fn set(&self, on: bool) {
        self.on.set(on);
        self.timed.set(on || self.served.get());
    }

    pub(crate) fn slow_callback_duration(&self) -> Duration {
        self.slow.get()
    }

    pub(crate) fn set_slow_callback_duration(&self, slow: Duration) {
        self.slow.set(slow);
    }
}

/// Logs a step that took `took`, if that is slow; `what` describes it as asyncio's
/// `_format_handle` does (`<Task ...>` or `<Handle ...>`).
#[cold]
pub(crate) fn step_took(core: &Core, took: Duration, what: impl FnOnce() -> String) {
    // A loop that only serves `asyncio-ps` times its steps without logging them.
    if core.debug.on() && took >= core.debug.slow_callback_duration() {
        core.metrics.count_slow_step();
        log::warn!(
            "Executing {} took {:.3} seconds",
            what(),
            took.as_secs_f64()
        );
    }
}

/// Logs a wait for I/O as asyncio's debug mode logged its `select`: at info level if it took a
/// second or more, at debug level otherwise (and not at all for a timed wait that ended with
/// no event in under a second).
#[cold]
pub(crate) fn poll_took(timeout: Option<Duration>, took: Duration, events: usize) {
    let level = if took >= Duration::from_secs(1) {
        log::Level::Info
    } else {
        log::Level::Debug
    };
    let took_ms = took.as_secs_f64() * 1e3;
    match timeout {
        None => log::log!(level, "poll took {took_ms:.3} ms: {events} events"),
        Some(t) if events > 0 => log::log!(
            level,
            "poll {:.3} ms took {took_ms:.3} ms: {events} events",
            t.as_secs_f64() * 1e3
        ),
        Some(t) if took >= Duration::from_secs(1) => log::log!(
            level,
            "poll {:.3} ms took {took_ms:.3} ms: timeout",
            t.as_secs_f64() * 1e3
        ),
        Some(_) => {}
    }
}

/// Whether the loop running on this thread is in debug mode.
pub(crate) fn running_loop_debug() -> bool {
    context::with_core(|core| core.debug.on()).unwrap_or(false)
}

/// Reports a resource dropped without `close` (asyncio's `ResourceWarning: unclosed ...`),
/// in debug mode only.
#[cold]
pub(crate) fn warn_unclosed(what: impl FnOnce() -> String) {
    if running_loop_debug() {
        log::warn!("unclosed {}", what());
    }
}

impl LoopHandle {
    /// Turns debug mode on or off (asyncio's `loop.set_debug`). In debug mode, task steps and
    /// callbacks that take [`slow_callback_duration`](LoopHandle::slow_callback_duration) or
    /// more are logged at warning level ("Executing <Task pending name='worker' created at
    /// src/main.rs:9:5> took 0.150 seconds"), waits for I/O are logged as asyncio logged its
    /// `select` (debug level, info from a second), and a `StreamWriter`, `Transport` or
    /// `Server` dropped without `close` is reported ("unclosed ..."). `ASYNCIO_DEBUG=1` in the
    /// environment turns it on for every new loop, as `PYTHONASYNCIODEBUG` does.
    ///
    /// # Panics
    /// If called from another thread than the running loop's.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let lp = asyncio::get_running_loop();
    /// lp.set_debug(true);
    /// assert!(lp.get_debug());
    /// # });
    /// ```
    pub fn set_debug(&self, on: bool) {
        let core = self.local_core("set_debug");
        core.debug.set(on);
        if on {
            crate::introspection::join(&core);
        }
    }

    /// Whether debug mode is on (asyncio's `loop.get_debug`).
    ///
    /// # Panics
    /// If called from another thread than the running loop's.
    ///
    /// # Examples
    /// ```
    /// asyncio::Runner::new().debug(true).run(async {
    ///     assert!(asyncio::get_running_loop().get_debug());
    /// });
    /// ```
    pub fn get_debug(&self) -> bool {
        self.local_core("get_debug").debug.on()
    }

    /// Sets how long a step may take before debug mode logs it (asyncio's
    /// `loop.slow_callback_duration`, 0.1 s by default): seconds or a `Duration`.
    ///
    /// # Panics
    /// If called from another thread than the running loop's.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let lp = asyncio::get_running_loop();
    /// lp.set_slow_callback_duration(0.05);
    /// assert_eq!(lp.slow_callback_duration(), 0.05);
    /// # });
    /// ```
    pub fn set_slow_callback_duration(&self, seconds: impl crate::IntoDelay) {
        let slow = seconds.into_delay().unwrap_or(Duration::MAX);
        self.local_core("set_slow_callback_duration")
            .debug
            .set_slow_callback_duration(slow);
    }

    /// How long a step may take before debug mode logs it, in seconds.
    ///
    /// # Panics
    /// If called from another thread than the running loop's.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// assert_eq!(asyncio::get_running_loop().slow_callback_duration(), 0.1);
    /// # });
    /// ```
    pub fn slow_callback_duration(&self) -> f64 {
        self.local_core("slow_callback_duration")
            .debug
            .slow_callback_duration()
            .as_secs_f64()
    }
}

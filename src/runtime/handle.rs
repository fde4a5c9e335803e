//! `LoopHandle`: the loop as other code sees it (asyncio's `AbstractEventLoop`).

use super::blocking::ToThread;
use super::context;
use super::core::{Callback, Core, TimerAction};
use super::remote::RemoteItem;
use super::shared::Shared;
use crate::error::RuntimeError;
use crate::time::IntoDelay;
use crate::util::slab::Key;
use std::cell::Cell;
use std::fmt;
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// A handle to an event loop: `Send + Clone`, usable from any thread for the thread-safe
/// calls, and from the loop's own thread for the rest.
///
/// # Examples
/// ```
/// # asyncio::run(async {
/// let lp = asyncio::get_running_loop();
/// assert!(lp.is_running());
/// let (tx, rx) = std::sync::mpsc::channel();
/// lp.call_soon(move || tx.send("called").unwrap());
/// asyncio::sleep(0).await;
/// assert_eq!(rx.try_recv(), Ok("called"));
/// # });
/// ```
#[derive(Clone)]
pub struct LoopHandle {
    pub(crate) shared: Arc<Shared>,
}

/// The running event loop of this thread (asyncio's `get_running_loop`).
///
/// # Panics
/// Outside a running loop; [`try_get_running_loop`] returns the error instead.
///
/// # Examples
/// ```
/// asyncio::run(async {
///     let lp = asyncio::get_running_loop();
///     assert!(lp.time() >= 0.0);
/// });
/// ```
pub fn get_running_loop() -> LoopHandle {
    try_get_running_loop().unwrap_or_else(|e| panic!("{e}"))
}

/// The running event loop of this thread, or asyncio's `RuntimeError` outside one.
///
/// # Errors
/// `RuntimeError` when no loop runs on this thread.
///
/// # Examples
/// ```
/// assert!(asyncio::try_get_running_loop().is_err());
/// asyncio::run(async { assert!(asyncio::try_get_running_loop().is_ok()) });
/// ```
pub fn try_get_running_loop() -> Result<LoopHandle, RuntimeError> {
    context::with_core(|core| LoopHandle {
        shared: core.shared.clone(),
    })
    .ok_or(RuntimeError {
        msg: "no running event loop",
    })
}

impl LoopHandle {
    /// The loop's core, when called on the loop's own thread while it runs.
    pub(super) fn local_core(&self, what: &str) -> Rc<Core> {
        match context::current_core() {
            Some(core) if core.shared.id == self.shared.id => core,
            _ => panic!(
                "{what} must be called from the loop's own thread while it runs \
                 (Non-thread-safe operation invoked on an event loop other than the current one); \
                 use call_soon_threadsafe from other threads"
            ),
        }
    }

    /// The loop's clock in seconds: monotonic, starting near 0 when the loop was made.
    /// On a virtual clock it starts at exactly 0 and moves only when every task is idle.
    ///
    /// On the real clock it is `CLOCK_MONOTONIC`, read where the kernel keeps time with the
    /// CPU's time-stamp counter through a per-thread interpolation of it (about 11 ns instead
    /// of `clock_gettime`'s 28), within a microsecond of the clock. Each thread's readings
    /// never go back; readings taken on different threads are ordered only to within that
    /// microsecond.
    ///
    /// # Examples
    /// ```
    /// asyncio::Runner::new().virtual_time(true).run(async {
    ///     let lp = asyncio::get_running_loop();
    ///     assert_eq!(lp.time(), 0.0);
    ///     asyncio::sleep(3.0).await;
    ///     assert_eq!(lp.time(), 3.0);
    /// });
    /// ```
    #[inline]
    pub fn time(&self) -> f64 {
        self.shared.clock.now_secs()
    }

    /// Schedules `callback` to be called at the loop's next turn; the returned [`Handle`] can
    /// cancel it.
    ///
    /// # Panics
    /// If called from another thread than the running loop's.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let handle = asyncio::get_running_loop().call_soon(|| unreachable!());
    /// handle.cancel();
    /// asyncio::sleep(0).await;
    /// # });
    /// ```
    #[track_caller]
    pub fn call_soon(&self, callback: impl FnOnce() + 'static) -> Handle {
        self.call_soon_with(crate::contextvars::capture(), callback)
    }

    /// [`call_soon`](LoopHandle::call_soon), with `callback` run in `ctx` itself rather than
    /// a copy of the current context (asyncio's `call_soon(cb, context=ctx)`).
    ///
    /// # Panics
    /// If called from another thread than the running loop's.
    ///
    /// # Examples
    /// ```
    /// use asyncio::contextvars::{Context, ContextVar};
    ///
    /// static HITS: ContextVar<u32> = ContextVar::new("hits");
    /// # asyncio::run(async {
    /// let ctx = Context::new();
    /// asyncio::get_running_loop().call_soon_in_context(&ctx, || {
    ///     HITS.set(1);
    /// });
    /// asyncio::sleep(0).await;
    /// assert_eq!(ctx.get(&HITS), Some(1));
    /// # });
    /// ```
    #[track_caller]
    pub fn call_soon_in_context(
        &self,
        ctx: &crate::contextvars::Context,
        callback: impl FnOnce() + 'static,
    ) -> Handle {
        self.call_soon_with(Some(ctx.clone()), callback)
    }

    #[track_caller]
    fn call_soon_with(
        &self,
        ctx: Option<crate::contextvars::Context>,
        callback: impl FnOnce() + 'static,
    ) -> Handle {
        let core = self.local_core("call_soon");
        let cancelled = Rc::new(Cell::new(false));
        let callback = super::debug::with_site(&core, in_context(ctx, callback));
        core.call_soon(callback, Some(cancelled.clone()));
        Handle { cancelled }
    }

    /// Schedules `callback` after `delay` (seconds or a `Duration`).
    ///
    /// # Panics
    /// If called from another thread than the running loop's.
    ///
    /// # Examples
    /// ```
    /// asyncio::Runner::new().virtual_time(true).run(async {
    ///     let lp = asyncio::get_running_loop();
    ///     let timer = lp.call_later(2.0, || println!("two seconds"));
    ///     assert_eq!(timer.when(), 2.0);
    ///     asyncio::sleep(3.0).await;
    /// });
    /// ```
    #[track_caller]
    pub fn call_later(
        &self,
        delay: impl IntoDelay,
        callback: impl FnOnce() + 'static,
    ) -> TimerHandle {
        self.call_at_with(
            self.when_after(delay),
            crate::contextvars::capture(),
            callback,
        )
    }

    /// [`call_later`](LoopHandle::call_later), with `callback` run in `ctx` itself
    /// (asyncio's `call_later(delay, cb, context=ctx)`).
    ///
    /// # Panics
    /// If called from another thread than the running loop's.
    ///
    /// # Examples
    /// ```
    /// use asyncio::contextvars::{Context, ContextVar};
    ///
    /// static STEP: ContextVar<u32> = ContextVar::new("step");
    /// asyncio::Runner::new().virtual_time(true).run(async {
    ///     let ctx = Context::new();
    ///     asyncio::get_running_loop().call_later_in_context(&ctx, 1.0, || {
    ///         STEP.set(2);
    ///     });
    ///     asyncio::sleep(2.0).await;
    ///     assert_eq!(ctx.get(&STEP), Some(2));
    /// });
    /// ```
    #[track_caller]
    pub fn call_later_in_context(
        &self,
        ctx: &crate::contextvars::Context,
        delay: impl IntoDelay,
        callback: impl FnOnce() + 'static,
    ) -> TimerHandle {
        self.call_at_with(self.when_after(delay), Some(ctx.clone()), callback)
    }

    #[track_caller]
    fn when_after(&self, delay: impl IntoDelay) -> f64 {
        let now = self.time();
        delay
            .into_delay()
            .map_or(f64::INFINITY, |d| now + d.as_secs_f64())
    }

    /// Schedules `callback` at the loop time `when` (as given by [`time`](LoopHandle::time)).
    ///
    /// # Panics
    /// If called from another thread than the running loop's, or if `when` is NaN.
    ///
    /// # Examples
    /// ```
    /// asyncio::Runner::new().virtual_time(true).run(async {
    ///     let lp = asyncio::get_running_loop();
    ///     let timer = lp.call_at(lp.time() + 5.0, || unreachable!());
    ///     timer.cancel();
    ///     assert!(timer.cancelled());
    /// });
    /// ```
    #[track_caller]
    pub fn call_at(&self, when: f64, callback: impl FnOnce() + 'static) -> TimerHandle {
        self.call_at_with(when, crate::contextvars::capture(), callback)
    }

    /// [`call_at`](LoopHandle::call_at), with `callback` run in `ctx` itself (asyncio's
    /// `call_at(when, cb, context=ctx)`).
    ///
    /// # Panics
    /// If called from another thread than the running loop's, or if `when` is NaN.
    ///
    /// # Examples
    /// ```
    /// use asyncio::contextvars::Context;
    ///
    /// asyncio::Runner::new().virtual_time(true).run(async {
    ///     let lp = asyncio::get_running_loop();
    ///     let timer = lp.call_at_in_context(&Context::new(), lp.time() + 1.0, || {});
    ///     assert_eq!(timer.when(), 1.0);
    /// });
    /// ```
    #[track_caller]
    pub fn call_at_in_context(
        &self,
        ctx: &crate::contextvars::Context,
        when: f64,
        callback: impl FnOnce() + 'static,
    ) -> TimerHandle {
        self.call_at_with(when, Some(ctx.clone()), callback)
    }

    #[track_caller]
    fn call_at_with(
        &self,
        when: f64,
        ctx: Option<crate::contextvars::Context>,
        callback: impl FnOnce() + 'static,
    ) -> TimerHandle {
        assert!(!when.is_nan(), "call_at: when is NaN");
        let core = self.local_core("call_at");
        let cancelled = Rc::new(Cell::new(false));
        let key = if when.is_finite() {
            let deadline_ns = crate::combinators::deadline::secs_to_ns(when);
            let callback = super::debug::with_site(&core, in_context(ctx, callback));
            let action = TimerAction::Call(callback, cancelled.clone());
            Some(core.add_timer(deadline_ns, action))
        } else {
            None
        };
        TimerHandle {
            key,
            core: Rc::downgrade(&core),
            when,
            cancelled,
        }
    }

    /// Schedules `callback` on the loop from any thread, waking the loop if it sleeps. Many
    /// calls before the loop wakes cost one wake-up.
    ///
    /// # Errors
    /// `RuntimeError` if the loop is closed.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let lp = asyncio::get_running_loop();
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// let remote = lp.clone();
    /// std::thread::spawn(move || remote.call_soon_threadsafe(move || tx.send(1).unwrap()).unwrap())
    ///     .join()
    ///     .unwrap();
    /// asyncio::sleep(0.01).await;
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// # });
    /// ```
    pub fn call_soon_threadsafe(
        &self,
        callback: impl FnOnce() + Send + 'static,
    ) -> Result<(), RuntimeError> {
        self.shared
            .remote
            .push(RemoteItem::Call(Box::new(callback)))
            .map_err(|_| RuntimeError {
                msg: "Event loop is closed",
            })
    }

    /// Runs a blocking closure on the loop's default thread pool (asyncio's
    /// `run_in_executor(None, f)`); the closure is submitted at once.
    ///
    /// # Panics
    /// If called from another thread than the running loop's.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let lp = asyncio::get_running_loop();
    /// let answer = lp.run_in_executor(|| 6 * 7).await.unwrap();
    /// assert_eq!(answer, 42);
    /// # });
    /// ```
    pub fn run_in_executor<F, R>(&self, f: F) -> ToThread<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let _core = self.local_core("run_in_executor");
        let mut job = ToThread::new(f);
        job.submit();
        job
    }

    /// Whether the loop is running now.
    ///
    /// # Examples
    /// ```
    /// let runner = asyncio::Runner::new();
    /// # let mut runner = runner;
    /// let lp = runner.run(async { asyncio::get_running_loop() });
    /// assert!(!lp.is_running());
    /// ```
    pub fn is_running(&self) -> bool {
        self.shared.running.load(Ordering::Acquire)
    }

    /// Whether the loop has been closed.
    ///
    /// # Examples
    /// ```
    /// let lp = asyncio::run(async { asyncio::get_running_loop() });
    /// assert!(lp.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.shared.remote.is_closed()
    }

    /// Counts of what the loop holds now, for tests and monitoring.
    ///
    /// # Panics
    /// If called from another thread than the running loop's.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let lp = asyncio::get_running_loop();
    /// let timer = lp.call_later(10.0, || {});
    /// assert_eq!(lp.stats().timers, 1);
    /// timer.cancel();
    /// assert_eq!(lp.stats().timers, 0);
    /// # });
    /// ```
    pub fn stats(&self) -> LoopStats {
        let core = self.local_core("stats");
        core.stats()
    }

    /// Whether `self` and `other` are handles to the same loop.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// assert!(asyncio::get_running_loop().same_loop(&asyncio::get_running_loop()));
    /// # });
    /// ```
    pub fn same_loop(&self, other: &LoopHandle) -> bool {
        self.shared.id == other.shared.id
    }
}

impl fmt::Debug for LoopHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoopHandle")
            .field("id", &self.shared.id)
            .field("running", &self.is_running())
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// What a loop holds at one moment; see [`LoopHandle::stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoopStats {
    /// Tasks not done yet.
    pub tasks: usize,
    /// Callbacks and tasks queued to run.
    pub ready: usize,
    /// Timers armed.
    pub timers: usize,
    /// Timer entries the wheel keeps memory for (armed or free).
    pub timer_capacity: usize,
    /// Blocking jobs handed to other threads and not finished.
    pub blocking_in_flight: usize,
    /// Times another thread had to wake the loop (many sends before it wakes count once).
    pub remote_wakeups: u64,
    /// Task steps run since the loop was made.
    pub polls: u64,
    /// Steps (task steps and callbacks) that debug mode found slow: as long as
    /// `slow_callback_duration` or longer. Counted only in debug mode.
    pub slow_steps: u64,
    /// Sockets, pipes and other file descriptors registered with the loop's poller.
    pub io_sources: usize,
    /// Of `uptime`, the time not spent waiting for I/O or timers.
    pub busy: std::time::Duration,
    /// Time since the loop was made.
    pub uptime: std::time::Duration,
}

impl LoopStats {
    /// The share of its life the loop spent working rather than waiting, from 0 to 1.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let stats = asyncio::get_running_loop().stats();
    /// assert!((0.0..=1.0).contains(&stats.busy_ratio()));
    /// # });
    /// ```
    pub fn busy_ratio(&self) -> f64 {
        if self.uptime.is_zero() {
            return 0.0;
        }
        (self.busy.as_secs_f64() / self.uptime.as_secs_f64()).min(1.0)
    }
}

/// A callback scheduled with [`LoopHandle::call_soon`] (asyncio's `Handle`).
///
/// # Examples
/// ```
/// # asyncio::run(async {
/// let handle = asyncio::get_running_loop().call_soon(|| {});
/// assert!(!handle.cancelled());
/// handle.cancel();
/// assert!(handle.cancelled());
/// # });
/// ```
#[derive(Debug)]
pub struct Handle {
    cancelled: Rc<Cell<bool>>,
}

impl Handle {
    /// Stops the callback from being called, if it has not been yet.
    pub fn cancel(&self) {
        self.cancelled.set(true);
    }

    /// Whether [`cancel`](Handle::cancel) was called.
    pub fn cancelled(&self) -> bool {
        self.cancelled.get()
    }
}

/// A callback scheduled with [`LoopHandle::call_later`] or [`LoopHandle::call_at`] (asyncio's
/// `TimerHandle`). Cancelling removes its timer from the wheel at once.
///
/// # Examples
/// ```
/// # asyncio::Runner::new().virtual_time(true).run(async {
/// let lp = asyncio::get_running_loop();
/// let timer = lp.call_later(1.0, || {});
/// assert_eq!(timer.when(), 1.0);
/// timer.cancel();
/// assert!(timer.cancelled());
/// # });
/// ```
pub struct TimerHandle {
    key: Option<Key>,
    core: Weak<Core>,
    when: f64,
    cancelled: Rc<Cell<bool>>,
}

impl TimerHandle {
    /// Stops the callback from being called, if it has not been yet.
    pub fn cancel(&self) {
        self.cancelled.set(true);
        if let (Some(key), Some(core)) = (self.key, self.core.upgrade()) {
            let action = core.timers.borrow_mut().remove(key);
            drop(action);
        }
    }

    /// Whether [`cancel`](TimerHandle::cancel) was called.
    pub fn cancelled(&self) -> bool {
        self.cancelled.get()
    }

    /// The loop time the callback is scheduled for.
    pub fn when(&self) -> f64 {
        self.when
    }
}

impl fmt::Debug for TimerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimerHandle")
            .field("when", &self.when)
            .field("cancelled", &self.cancelled())
            .finish()
    }
}

/// A callback that runs in `ctx`; without one, as it is (the loop drops whatever context it
/// makes by setting a variable).
fn in_context(
    ctx: Option<crate::contextvars::Context>,
    callback: impl FnOnce() + 'static,
) -> Callback {
    match ctx {
        None => Box::new(callback),
        ctx => Box::new(crate::contextvars::bind(ctx, callback)),
    }
}

//! `EventLoop`: Python's loop object, for code in the old style (`new_event_loop`,
//! `run_until_complete`, `run_forever`, `stop`, `close`).
//!
//! It drives the same core as [`Runner`](super::Runner); only who decides when a run ends
//! differs. As in asyncio, and unlike `Runner`, closing it does not cancel pending tasks: each
//! is reported as "Task was destroyed but it is pending!".

use super::context::{self, Enter};
use super::core::Core;
use super::handle::{LoopHandle, LoopStats, TimerHandle};
use super::runner::RunningFlag;
use crate::error::{RunError, RuntimeError, TaskError};
use crate::task::Task;
use crate::time::IntoDelay;
use std::cell::Cell;
use std::future::IntoFuture;
use std::rc::Rc;
use std::sync::atomic::Ordering;

/// A new event loop, not running (asyncio's `new_event_loop`).
///
/// # Panics
/// If the poller cannot be made (out of file descriptors).
///
/// # Examples
/// ```
/// let lp = asyncio::new_event_loop();
/// let n = lp.run_until_complete(async { asyncio::sleep(0).await; 7 }).unwrap();
/// assert_eq!(n, 7);
/// lp.close().unwrap();
/// assert!(lp.is_closed());
/// ```
pub fn new_event_loop() -> EventLoop {
    EventLoop::make(false)
}

/// Python's event loop object: run it with [`run_until_complete`](EventLoop::run_until_complete)
/// or [`run_forever`](EventLoop::run_forever), then [`close`](EventLoop::close) it. Made by
/// [`new_event_loop`]. Prefer [`run`](crate::run) or a [`Runner`](crate::Runner) in new code,
/// as asyncio does.
///
/// Dropping a loop that is not closed closes it.
///
/// # Examples
/// ```
/// let lp = asyncio::new_event_loop();
/// let handle = lp.get_loop();
/// lp.call_later(0.01, move || handle.stop());
/// lp.run_forever().unwrap(); // until stop()
/// lp.close().unwrap();
/// ```
pub struct EventLoop {
    core: Rc<Core>,
    closed: Cell<bool>,
}

impl EventLoop {
    /// A new loop on a virtual clock (see
    /// [`Runner::virtual_time`](crate::Runner::virtual_time)).
    ///
    /// # Examples
    /// ```
    /// let lp = asyncio::EventLoop::with_virtual_time();
    /// lp.run_until_complete(asyncio::sleep(60.0)).unwrap();
    /// assert_eq!(lp.time(), 60.0);
    /// ```
    pub fn with_virtual_time() -> EventLoop {
        EventLoop::make(true)
    }

    fn make(virtual_time: bool) -> EventLoop {
        let core = Core::new(virtual_time, super::debug::env_debug())
            .unwrap_or_else(|e| panic!("cannot create the event loop: {e}"));
        EventLoop {
            core,
            closed: Cell::new(false),
        }
    }

    /// What asyncio's `_check_closed` and `_check_running` raise.
    fn check_can_run(&self) -> Result<(), RuntimeError> {
        if self.closed.get() {
            return Err(RuntimeError {
                msg: "Event loop is closed",
            });
        }
        if self.is_running() {
            return Err(RuntimeError {
                msg: "This event loop is already running",
            });
        }
        if context::current_core().is_some() {
            return Err(RuntimeError {
                msg: "Cannot run the event loop while another loop is running",
            });
        }
        Ok(())
    }

    /// Runs `f` with the loop running on this thread.
    fn running<R>(&self, f: impl FnOnce(&Core) -> R) -> Result<R, RuntimeError> {
        self.check_can_run()?;
        let core = &self.core;
        let _enter = Enter::new(core);
        core.shared.running.store(true, Ordering::Release);
        let _running = RunningFlag(core);
        Ok(f(core))
    }

    /// Calls `f` with the loop entered (current on this thread), for the calls that need it
    /// but not a running loop: scheduling, settings.
    /// Makes this loop the thread's current one until the guard drops.
    ///
    /// # Panics
    /// If the loop is closed.
    #[track_caller]
    fn enter_open(&self) -> Enter {
        assert!(!self.closed.get(), "Event loop is closed");
        Enter::new(&self.core)
    }

    /// Runs the loop until `fut` (made a task) is done, and returns its output (asyncio's
    /// `run_until_complete`). A panic in `fut` is re-raised here.
    ///
    /// If [`stop`](EventLoop::stop) ends the run first, the task stays pending in the loop
    /// (a later run goes on with it) and this returns asyncio's `RuntimeError`.
    ///
    /// # Errors
    /// [`RunError::Runtime`] when the loop is closed ("Event loop is closed"), already running,
    /// or another loop runs on this thread, and when `stop()` ended the run first ("Event loop
    /// stopped before Future completed.").
    ///
    /// # Panics
    /// When `fut` panics or is cancelled, as [`Runner::run`](crate::Runner::run).
    ///
    /// # Examples
    /// ```
    /// let lp = asyncio::new_event_loop();
    /// assert_eq!(lp.run_until_complete(async { 1 + 1 }).unwrap(), 2);
    /// lp.close().unwrap();
    /// let err = lp.run_until_complete(async {}).unwrap_err();
    /// assert_eq!(err.to_string(), "Event loop is closed");
    /// ```
    #[track_caller]
    pub fn run_until_complete<F>(&self, fut: F) -> Result<F::Output, RunError>
    where
        F: IntoFuture + 'static,
    {
        let location = std::panic::Location::caller();
        let task = self.running(|core| {
            // asyncio's ensure_future: the task factory applies.
            let task = if core.shared.custom_factory.load(Ordering::Relaxed) {
                core.spawn_by_factory(fut.into_future(), location)
            } else {
                core.spawn(fut.into_future(), location)
            };
            loop {
                if task.done() {
                    break;
                }
                core.turn();
                if core.shared.stopping.swap(false, Ordering::AcqRel) {
                    break;
                }
            }
            task
        })?;
        if !task.done() {
            return Err(RunError::Runtime(RuntimeError {
                msg: "Event loop stopped before Future completed.",
            }));
        }
        Ok(unwrap_output(task))
    }

    /// Runs the loop until [`stop`](EventLoop::stop) is called (asyncio's `run_forever`). If
    /// `stop` was called before, the loop runs one turn: what was ready when it began.
    ///
    /// # Errors
    /// asyncio's `RuntimeError` when the loop is closed, already running, or another loop runs
    /// on this thread.
    ///
    /// # Examples
    /// ```
    /// let lp = asyncio::new_event_loop();
    /// lp.call_soon(|| println!("one turn"));
    /// lp.stop();
    /// lp.run_forever().unwrap();
    /// ```
    pub fn run_forever(&self) -> Result<(), RuntimeError> {
        self.running(|core| {
            loop {
                core.turn();
                if core.shared.stopping.swap(false, Ordering::AcqRel) {
                    break;
                }
            }
        })
    }

    /// Asks the loop to stop after the turn it is in (asyncio's `stop`); see
    /// [`LoopHandle::stop`].
    pub fn stop(&self) {
        self.get_loop().stop();
    }

    /// Closes the loop (asyncio's `close`): what is scheduled is dropped, the default executor
    /// is told to shut down without waiting for it, and each task still pending is reported as
    /// "Task was destroyed but it is pending!". Closing a closed loop does nothing.
    ///
    /// # Errors
    /// asyncio's `RuntimeError` ("Cannot close a running event loop") while it runs.
    ///
    /// # Examples
    /// ```
    /// let lp = asyncio::new_event_loop();
    /// lp.close().unwrap();
    /// lp.close().unwrap();
    /// assert!(lp.is_closed());
    /// ```
    pub fn close(&self) -> Result<(), RuntimeError> {
        if self.is_running() {
            return Err(RuntimeError {
                msg: "Cannot close a running event loop",
            });
        }
        if self.closed.replace(true) {
            return Ok(());
        }
        if self.core.debug.on() {
            log::debug!("Close {self:?}");
        }
        let _enter = Enter::new(&self.core);
        let pool = self.core.pool.borrow_mut().take();
        if let Some(pool) = pool {
            pool.begin_shutdown();
        }
        self.core.shut_down();
        Ok(())
    }

    /// Shuts the default executor down, running the loop while its jobs finish, and gives up on
    /// its threads after `timeout` (seconds or a `Duration`) with a warning (asyncio's
    /// `shutdown_default_executor`). New jobs after it start a new pool.
    ///
    /// # Errors
    /// asyncio's `RuntimeError` when the loop is closed, already running, or another loop runs
    /// on this thread.
    ///
    /// # Examples
    /// ```
    /// let lp = asyncio::new_event_loop();
    /// lp.run_until_complete(asyncio::to_thread(|| 1)).unwrap().unwrap();
    /// lp.shutdown_default_executor(5.0).unwrap();
    /// lp.close().unwrap();
    /// ```
    pub fn shutdown_default_executor(&self, timeout: impl IntoDelay) -> Result<(), RuntimeError> {
        let timeout = timeout.into_delay().unwrap_or(std::time::Duration::MAX);
        self.running(|core| core.shutdown_default_executor_within(timeout))
    }

    /// Whether the loop is running now.
    pub fn is_running(&self) -> bool {
        self.core.shared.running.load(Ordering::Acquire)
    }

    /// Whether [`close`](EventLoop::close) was called.
    pub fn is_closed(&self) -> bool {
        self.closed.get()
    }

    /// A [`LoopHandle`] to this loop: what `get_running_loop()` gives inside it.
    pub fn get_loop(&self) -> LoopHandle {
        LoopHandle {
            shared: self.core.shared.clone(),
        }
    }

    /// The loop's clock ([`LoopHandle::time`]).
    pub fn time(&self) -> f64 {
        self.core.shared.clock.now_secs()
    }

    /// Creates a task on this loop, running or not: it starts when the loop runs
    /// ([`create_task`](crate::create_task), and the task factory applies).
    ///
    /// # Panics
    /// If the loop is closed.
    ///
    /// # Examples
    /// ```
    /// let lp = asyncio::new_event_loop();
    /// let task = lp.create_task(async { 5 });
    /// assert_eq!(lp.run_until_complete(task).unwrap().unwrap(), 5);
    /// ```
    #[track_caller]
    pub fn create_task<F>(&self, fut: F) -> Task<F::Output>
    where
        F: IntoFuture + 'static,
    {
        assert!(!self.closed.get(), "Event loop is closed");
        let _enter = Enter::new(&self.core);
        crate::create_task(fut)
    }

    /// [`LoopHandle::call_soon`], callable before the loop runs.
    ///
    /// # Panics
    /// If the loop is closed.
    #[track_caller]
    pub fn call_soon(&self, callback: impl FnOnce() + 'static) -> super::Handle {
        // Not through `entered`: a closure would hide the caller from debug mode.
        let _enter = self.enter_open();
        self.get_loop().call_soon(callback)
    }

    /// [`LoopHandle::call_later`], callable before the loop runs.
    ///
    /// # Panics
    /// If the loop is closed.
    #[track_caller]
    pub fn call_later(
        &self,
        delay: impl IntoDelay,
        callback: impl FnOnce() + 'static,
    ) -> TimerHandle {
        let _enter = self.enter_open();
        self.get_loop().call_later(delay, callback)
    }

    /// [`LoopHandle::call_at`], callable before the loop runs.
    ///
    /// # Panics
    /// If the loop is closed, or `when` is NaN.
    #[track_caller]
    pub fn call_at(&self, when: f64, callback: impl FnOnce() + 'static) -> TimerHandle {
        let _enter = self.enter_open();
        self.get_loop().call_at(when, callback)
    }

    /// [`LoopHandle::call_soon_threadsafe`].
    ///
    /// # Errors
    /// `RuntimeError` if the loop is closed.
    pub fn call_soon_threadsafe(
        &self,
        callback: impl FnOnce() + Send + 'static,
    ) -> Result<(), RuntimeError> {
        self.get_loop().call_soon_threadsafe(callback)
    }

    /// [`LoopHandle::set_debug`].
    pub fn set_debug(&self, on: bool) {
        self.core.debug.set(on);
    }

    /// [`LoopHandle::get_debug`].
    pub fn get_debug(&self) -> bool {
        self.core.debug.on()
    }

    /// [`LoopHandle::set_slow_callback_duration`].
    pub fn set_slow_callback_duration(&self, seconds: impl IntoDelay) {
        let slow = seconds.into_delay().unwrap_or(std::time::Duration::MAX);
        self.core.debug.set_slow_callback_duration(slow);
    }

    /// [`LoopHandle::set_exception_handler`].
    ///
    /// # Examples
    /// ```
    /// let lp = asyncio::new_event_loop();
    /// lp.set_exception_handler(|_, ctx| eprintln!("caught: {}", ctx.message));
    /// lp.call_soon(|| panic!("oops"));
    /// lp.stop();
    /// lp.run_forever().unwrap(); // the handler says "caught: Exception in callback"
    /// ```
    pub fn set_exception_handler(
        &self,
        handler: impl Fn(&LoopHandle, &super::ExceptionContext) + 'static,
    ) {
        self.core.exceptions.set(Some(Rc::new(handler)));
    }

    /// [`LoopHandle::reset_exception_handler`].
    pub fn reset_exception_handler(&self) {
        self.core.exceptions.set(None);
    }

    /// [`LoopHandle::get_exception_handler`].
    pub fn get_exception_handler(&self) -> Option<super::ExceptionHandler> {
        self.core.exceptions.get()
    }

    /// [`LoopHandle::call_exception_handler`].
    pub fn call_exception_handler(&self, context: &super::ExceptionContext) {
        self.core.report(context.clone());
    }

    /// [`LoopHandle::set_task_factory`].
    pub fn set_task_factory(&self, factory: impl super::IntoTaskFactory) {
        self.core.set_task_factory(factory.into_setting());
    }

    /// [`LoopHandle::task_factory`].
    pub fn task_factory(&self) -> crate::TaskFactory {
        self.core.task_factory()
    }

    /// [`LoopHandle::stats`].
    pub fn stats(&self) -> LoopStats {
        self.core.stats()
    }
}

impl std::fmt::Debug for EventLoop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventLoop")
            .field("running", &self.is_running())
            .field("closed", &self.is_closed())
            .field("debug", &self.get_debug())
            .finish()
    }
}

impl Drop for EventLoop {
    fn drop(&mut self) {
        if !self.closed.get() && !std::thread::panicking() {
            if self.core.debug.on() {
                log::warn!("unclosed event loop {self:?}");
            }
            let _ = self.close();
        }
    }
}

fn unwrap_output<T: 'static>(task: Task<T>) -> T {
    match task.result() {
        Ok(value) => value,
        Err(TaskError::Panicked(p)) => std::panic::resume_unwind(p.into_panic()),
        Err(e) => std::panic::panic_any(e),
    }
}

impl LoopHandle {
    /// Asks the loop to stop: [`EventLoop::run_forever`] returns after the turn it is in, and
    /// an [`EventLoop::run_until_complete`] whose future is not done returns an error (asyncio's
    /// `loop.stop`). From another thread it also wakes the loop. A [`run`](crate::run) or
    /// [`Runner`](crate::Runner) runs until its main task is done whatever this says.
    ///
    /// # Examples
    /// ```
    /// let lp = asyncio::new_event_loop();
    /// lp.call_soon(|| asyncio::get_running_loop().stop());
    /// lp.run_forever().unwrap();
    /// ```
    pub fn stop(&self) {
        self.shared.stopping.store(true, Ordering::Release);
        if context::with_core_of(self.shared.id, |_| ()).is_none() {
            // A no-op that wakes a loop asleep in its poll; a closed loop needs none.
            let _ = self.call_soon_threadsafe(|| {});
        }
    }
}

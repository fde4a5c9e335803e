//! `run` and `Runner`: making a loop, running a main task on it, and closing it.

use super::context::{self, Enter};
use super::core::Core;
use super::handle::LoopHandle;
use crate::error::{KeyboardInterrupt, RunError, RuntimeError, TaskError};
use std::future::IntoFuture;
use std::rc::Rc;
use std::sync::atomic::Ordering;

/// Runs `main` as the main task of a new event loop on this thread and returns its output
/// (asyncio's `run`). `main` is any [`IntoFuture`]: an `async` block, or a builder such as
/// `open_connection(..)`.
///
/// When `main` finishes, every task still pending is cancelled and given its turn to finish,
/// the blocking pool is shut down and the loop is closed. A panic in `main` is re-raised here,
/// after that cleanup.
///
/// On the main thread, Ctrl-C cancels `main` (its cleanup runs in `Drop`); after the loop is
/// closed the process then ends as Python's does on an uncaught `KeyboardInterrupt` (status
/// 130). [`try_run`] returns that interrupt instead, for `fn main` to handle.
///
/// # Panics
/// Inside a running loop (asyncio's `RuntimeError`; [`try_run`] returns it instead), and when
/// `main` panics or is cancelled.
///
/// # Examples
/// ```
/// let answer = asyncio::run(async {
///     println!("hello");
///     asyncio::sleep(0.01).await;
///     println!("world");
///     42
/// });
/// assert_eq!(answer, 42);
/// ```
#[track_caller]
pub fn run<F>(main: F) -> F::Output
where
    F: IntoFuture + 'static,
{
    match try_run(main) {
        Ok(output) => output,
        Err(RunError::Interrupted(_)) => crate::signal::interrupt::exit_interrupted(),
        Err(e) => panic!("{e}"),
    }
}

/// [`run`], with what `asyncio.run` raises itself returned instead: asyncio's `RuntimeError`
/// when a loop is already running on this thread, and Python's `KeyboardInterrupt` when
/// Ctrl-C ended the run.
///
/// Ctrl-C is handled as in [`run`]: the first one cancels `main`, whose cleanup runs, then
/// every other task is cancelled and the loop is closed, and `try_run` returns
/// [`RunError::Interrupted`] rather than ending the process. A second Ctrl-C before that,
/// while the cleanup is still running, ends the process at once as `run` does (Python raises
/// `KeyboardInterrupt` from wherever the cleanup was; Rust code cannot be interrupted there).
///
/// # Errors
/// [`RunError::Runtime`] inside a running loop; [`RunError::Interrupted`] when Ctrl-C
/// cancelled `main`.
///
/// # Examples
/// ```
/// asyncio::run(async {
///     let nested = asyncio::try_run(async {});
///     assert_eq!(
///         nested.unwrap_err().to_string(),
///         "asyncio.run() cannot be called from a running event loop"
///     );
/// });
/// ```
/// Python's `try: asyncio.run(main()) except KeyboardInterrupt: ...`:
/// ```no_run
/// struct Cleanup;
/// impl Drop for Cleanup {
///     fn drop(&mut self) {
///         println!("main task cleaned up"); // runs before try_run returns
///     }
/// }
///
/// fn main() {
///     let outcome = asyncio::try_run(async {
///         let _cleanup = Cleanup;
///         asyncio::sleep(3600.0).await; // Ctrl-C cancels this
///     });
///     match outcome {
///         Ok(()) => println!("finished"),
///         Err(asyncio::RunError::Interrupted(_)) => println!("bye"),
///         Err(e) => panic!("{e}"),
///     }
/// }
/// ```
#[track_caller]
pub fn try_run<F>(main: F) -> Result<F::Output, RunError>
where
    F: IntoFuture + 'static,
{
    if context::current_core().is_some() {
        return Err(RunError::Runtime(RuntimeError {
            msg: "asyncio.run() cannot be called from a running event loop",
        }));
    }
    let mut runner = Runner::new();
    let outcome = runner.run_task(main);
    runner.close();
    match outcome {
        Ok(outcome) => Ok(unwrap_main(outcome)),
        Err(interrupt) => Err(RunError::Interrupted(interrupt)),
    }
}

fn unwrap_main<T>(outcome: Result<T, TaskError>) -> T {
    match outcome {
        Ok(value) => value,
        Err(TaskError::Panicked(p)) => std::panic::resume_unwind(p.into_panic()),
        Err(e) => std::panic::panic_any(e),
    }
}

/// An event loop kept across several `run` calls (asyncio's `Runner`).
///
/// Tasks left pending by one `run` continue in the next; [`close`](Runner::close) (or drop)
/// cancels them, shuts the blocking pool down and closes the loop.
///
/// # Examples
/// ```
/// let mut runner = asyncio::Runner::new().virtual_time(true);
/// let lp = runner.get_loop();
/// runner.run(async { asyncio::sleep(1.0).await });
/// runner.run(async { asyncio::sleep(1.0).await });
/// assert_eq!(lp.time(), 2.0);
/// runner.close();
/// assert!(lp.is_closed());
/// ```
pub struct Runner {
    core: Option<Rc<Core>>,
    /// `None`: as `ASYNCIO_DEBUG` says.
    debug: Option<bool>,
    exception_handler: Option<super::exception_handler::HandlerFn>,
    virtual_time: bool,
    closed: bool,
    /// The context every `run`'s main task runs in: a copy of the caller's at the first run,
    /// as asyncio's `Runner` keeps one.
    context: Option<crate::contextvars::Context>,
}

impl Default for Runner {
    fn default() -> Self {
        Self::new()
    }
}

impl Runner {
    /// A runner whose loop is made at the first `run` (or `get_loop`).
    ///
    /// # Examples
    /// ```
    /// let mut runner = asyncio::Runner::new();
    /// assert_eq!(runner.run(async { 1 + 1 }), 2);
    /// ```
    pub fn new() -> Self {
        Runner {
            core: None,
            debug: None,
            exception_handler: None,
            virtual_time: false,
            closed: false,
            context: None,
        }
    }

    /// Debug mode, on or off whatever `ASYNCIO_DEBUG` says (asyncio's `Runner(debug=...)`):
    /// slow steps (0.1 s or more) are logged, each task's busy time is counted; see
    /// [`LoopHandle::set_debug`].
    ///
    /// # Examples
    /// ```
    /// let mut runner = asyncio::Runner::new().debug(true);
    /// runner.run(async {});
    /// ```
    pub fn debug(mut self, on: bool) -> Self {
        self.debug = Some(on);
        self
    }

    /// The loop's exception handler, set before anything runs (see
    /// [`LoopHandle::set_exception_handler`]).
    ///
    /// # Examples
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    ///
    /// let caught = Rc::new(Cell::new(0));
    /// let c = caught.clone();
    /// let mut runner = asyncio::Runner::new().exception_handler(move |_, _| c.set(c.get() + 1));
    /// runner.run(async {
    ///     asyncio::get_running_loop().call_soon(|| panic!("lost"));
    ///     asyncio::sleep(0).await;
    /// });
    /// assert_eq!(caught.get(), 1);
    /// ```
    pub fn exception_handler(
        mut self,
        handler: impl Fn(&LoopHandle, &super::ExceptionContext) + 'static,
    ) -> Self {
        self.exception_handler = Some(Rc::new(handler));
        if let Some(core) = &self.core {
            core.exceptions.set(self.exception_handler.clone());
        }
        self
    }

    /// Runs the loop on a virtual clock: it starts at 0 and jumps to the next timer whenever
    /// every task is idle and nothing is pending from I/O or other threads.
    ///
    /// # Examples
    /// ```
    /// let mut runner = asyncio::Runner::new().virtual_time(true);
    /// let now = runner.run(async {
    ///     asyncio::sleep(3600.0).await; // returns at once in real time
    ///     asyncio::get_running_loop().time()
    /// });
    /// assert_eq!(now, 3600.0);
    /// ```
    pub fn virtual_time(mut self, on: bool) -> Self {
        self.virtual_time = on;
        self
    }

    fn core(&mut self) -> Rc<Core> {
        assert!(!self.closed, "Runner is closed");
        if self.core.is_none() {
            let debug = self.debug.unwrap_or_else(super::debug::env_debug);
            let core = Core::new(self.virtual_time, debug)
                .unwrap_or_else(|e| panic!("cannot create the event loop: {e}"));
            core.exceptions.set(self.exception_handler.clone());
            self.core = Some(core);
        }
        self.core.clone().expect("made above")
    }

    /// The runner's loop.
    ///
    /// # Examples
    /// ```
    /// let mut runner = asyncio::Runner::new();
    /// assert!(!runner.get_loop().is_running());
    /// ```
    pub fn get_loop(&mut self) -> LoopHandle {
        LoopHandle {
            shared: self.core().shared.clone(),
        }
    }

    /// Runs `main` as a task until it finishes and returns its output.
    ///
    /// Ctrl-C (on the main thread) cancels `main`; once it is cancelled, the runner is closed
    /// and the process ends as [`run`](crate::run)'s does. [`try_run`](Runner::try_run)
    /// returns the interrupt instead.
    ///
    /// # Panics
    /// Inside a running loop, after `close`, and when `main` panics (the panic is re-raised)
    /// or is cancelled (with the `TaskError` as payload).
    ///
    /// # Examples
    /// ```
    /// let mut runner = asyncio::Runner::new();
    /// let n = runner.run(async { asyncio::sleep(0).await; 5 });
    /// assert_eq!(n, 5);
    /// ```
    #[track_caller]
    pub fn run<F>(&mut self, main: F) -> F::Output
    where
        F: IntoFuture + 'static,
    {
        match self.try_run(main) {
            Ok(output) => output,
            Err(RunError::Interrupted(_)) => {
                self.close();
                crate::signal::interrupt::exit_interrupted()
            }
            Err(e) => panic!("{e}"),
        }
    }

    /// [`run`](Runner::run), with what asyncio's `Runner.run` raises itself returned instead:
    /// `RuntimeError` inside a running loop or after `close`, and `KeyboardInterrupt` when
    /// Ctrl-C cancelled `main`.
    ///
    /// After an interrupt `main`'s cleanup has run, but the runner stays open, as Python's
    /// does: other tasks are cancelled by [`close`](Runner::close) or drop (Python's `with`
    /// block exit). A second Ctrl-C while `main`'s cleanup runs ends the process at once.
    ///
    /// # Errors
    /// [`RunError::Runtime`] inside a running loop or after `close`;
    /// [`RunError::Interrupted`] when Ctrl-C cancelled `main`.
    ///
    /// # Examples
    /// ```
    /// let mut runner = asyncio::Runner::new();
    /// assert_eq!(runner.try_run(async { 5 }), Ok(5));
    /// runner.close();
    /// let err = runner.try_run(async { 5 }).unwrap_err();
    /// assert_eq!(err.to_string(), "Runner is closed");
    /// ```
    /// Stopping by Ctrl-C, and cleaning up after it:
    /// ```no_run
    /// let mut runner = asyncio::Runner::new();
    /// if let Err(e) = runner.try_run(async { asyncio::sleep(3600.0).await }) {
    ///     assert!(e.is_interrupted());
    ///     runner.run(async { println!("saving state") });
    /// }
    /// runner.close();
    /// ```
    #[track_caller]
    pub fn try_run<F>(&mut self, main: F) -> Result<F::Output, RunError>
    where
        F: IntoFuture + 'static,
    {
        if context::current_core().is_some() {
            return Err(RunError::Runtime(RuntimeError {
                msg: "Runner.run() cannot be called from a running event loop",
            }));
        }
        if self.closed {
            return Err(RunError::Runtime(RuntimeError {
                msg: "Runner is closed",
            }));
        }
        match self.run_task(main) {
            Ok(outcome) => Ok(unwrap_main(outcome)),
            Err(interrupt) => Err(RunError::Interrupted(interrupt)),
        }
    }

    /// Runs `main` to its end; the outer `Err` is a Ctrl-C that cancelled it.
    #[track_caller]
    fn run_task<F>(&mut self, main: F) -> Result<Result<F::Output, TaskError>, KeyboardInterrupt>
    where
        F: IntoFuture + 'static,
    {
        let location = std::panic::Location::caller();
        let core = self.core();
        let context = self
            .context
            .get_or_insert_with(crate::contextvars::copy_context)
            .clone();
        let _enter = Enter::new(&core);
        core.shared.running.store(true, Ordering::Release);
        let _running = RunningFlag(&core);
        let task = core.spawn(main.into_future(), location);
        let task = if context.is_empty() {
            core.set_lazy_main_context(Some((task.key(), context)));
            task
        } else {
            task.with_context(context)
        };
        // Ctrl-C cancels the main task; a run it ended is Python's KeyboardInterrupt.
        let sigint = crate::signal::interrupt::InterruptGuard::arm(task.as_ref());
        while !task.done() {
            core.turn();
        }
        core.set_lazy_main_context(None);
        let result = task.result();
        if sigint.interrupted() && matches!(result, Err(TaskError::Cancelled(_))) {
            return Err(KeyboardInterrupt::default());
        }
        Ok(result)
    }

    /// Cancels every pending task and lets each finish, shuts the blocking pool down and
    /// closes the loop. Called by drop too.
    ///
    /// # Examples
    /// ```
    /// let mut runner = asyncio::Runner::new();
    /// let lp = runner.get_loop();
    /// runner.close();
    /// assert!(lp.is_closed());
    /// ```
    pub fn close(&mut self) {
        if self.closed {
            return;
        }
        self.closed = true;
        let Some(core) = self.core.take() else { return };
        {
            let _enter = Enter::new(&core);
            core.shared.running.store(true, Ordering::Release);
            let _running = RunningFlag(&core);
            core.cancel_all_and_drain();
            core.shutdown_default_executor();
            // Tasks made while the pool shut down (by jobs calling back into the loop).
            core.cancel_all_and_drain();
        }
        core.shut_down();
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        // While unwinding, running the loop to cancel tasks could panic again; the core is
        // dropped instead, and with it every task's future.
        if !std::thread::panicking() {
            self.close();
        }
    }
}

/// Clears the loop's running flag when a run ends, by return or by unwinding.
pub(super) struct RunningFlag<'a>(pub(super) &'a Core);

impl Drop for RunningFlag<'_> {
    fn drop(&mut self) {
        self.0.shared.running.store(false, Ordering::Release);
    }
}

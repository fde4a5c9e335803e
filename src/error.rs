//! The error types, named after the asyncio exceptions they stand for.
//!
//! Python raises; Rust returns. Each exception that asyncio's high-level API can raise has a
//! type here with the same name, so `except asyncio.TimeoutError` reads as
//! `Err(asyncio::TimeoutError { .. })`.

use std::any::Any;
use std::fmt;

/// The operation was cancelled (asyncio's `CancelledError`).
///
/// A cancelled task's future was dropped before it finished; `msg` is the message given to
/// [`Task::cancel_with`](crate::Task::cancel_with), if any.
///
/// # Examples
/// ```
/// # asyncio::run(async {
/// let task = asyncio::create_task(asyncio::sleep(10.0));
/// task.cancel_with("no longer needed");
/// match task.await {
///     Err(asyncio::TaskError::Cancelled(e)) => assert_eq!(e.msg.as_deref(), Some("no longer needed")),
///     other => panic!("{other:?}"),
/// }
/// # });
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CancelledError {
    /// The message passed to `cancel_with`, if any.
    pub msg: Option<String>,
}

impl fmt::Display for CancelledError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.msg {
            Some(msg) => write!(f, "cancelled: {msg}"),
            None => f.write_str("cancelled"),
        }
    }
}

impl std::error::Error for CancelledError {}

/// The deadline passed (asyncio's `TimeoutError`).
///
/// # Examples
/// ```
/// let e = asyncio::TimeoutError::default();
/// assert_eq!(e.to_string(), "timed out");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TimeoutError {}

impl fmt::Display for TimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("timed out")
    }
}

impl std::error::Error for TimeoutError {}

/// An operation is not allowed in the object's current state (asyncio's `InvalidStateError`),
/// such as asking for the result of a task that has not finished.
///
/// # Examples
/// ```
/// # asyncio::run(async {
/// let task = asyncio::create_task(async { 1 });
/// assert!(matches!(task.result(), Err(asyncio::TaskError::InvalidState(_))));
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidStateError {
    /// What was wrong.
    pub msg: &'static str,
}

impl fmt::Display for InvalidStateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.msg)
    }
}

impl std::error::Error for InvalidStateError {}

/// The call is wrong for where it was made (asyncio's `RuntimeError`), such as
/// [`run`](crate::run) inside a running loop or [`get_running_loop`](crate::get_running_loop)
/// outside one.
///
/// # Examples
/// ```
/// assert!(asyncio::try_get_running_loop().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeError {
    /// What was wrong, in asyncio's words.
    pub msg: &'static str,
}

impl fmt::Display for RuntimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.msg)
    }
}

impl std::error::Error for RuntimeError {}

/// The program was interrupted by Ctrl-C (Python's `KeyboardInterrupt`).
///
/// [`try_run`](crate::try_run) returns it (inside [`RunError::Interrupted`]) when the first
/// Ctrl-C cancelled the main task and so ended the run, where [`run`](crate::run) ends the
/// process instead.
///
/// # Examples
/// ```
/// let e = asyncio::KeyboardInterrupt::default();
/// assert_eq!(e.to_string(), "KeyboardInterrupt");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyboardInterrupt {}

impl fmt::Display for KeyboardInterrupt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyboardInterrupt")
    }
}

impl std::error::Error for KeyboardInterrupt {}

/// Why [`try_run`](crate::try_run) (or [`Runner::try_run`](crate::Runner::try_run)) gave no
/// value: what `asyncio.run` raises itself, as opposed to what the main task raised (a panic
/// in the main task is re-raised, as [`run`](crate::run) does).
///
/// # Examples
/// `try_run` inside a running loop:
/// ```
/// asyncio::run(async {
///     match asyncio::try_run(async {}) {
///         Err(asyncio::RunError::Runtime(e)) => {
///             assert_eq!(e.msg, "asyncio.run() cannot be called from a running event loop")
///         }
///         other => panic!("{other:?}"),
///     }
/// });
/// ```
/// Python's `except KeyboardInterrupt` around `asyncio.run(main())`:
/// ```no_run
/// match asyncio::try_run(async { asyncio::sleep(3600.0).await }) {
///     Ok(()) => println!("done"),
///     Err(e) if e.is_interrupted() => println!("stopped by Ctrl-C"),
///     Err(e) => panic!("{e}"),
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RunError {
    /// The call is wrong for where it was made: inside a running loop, or on a closed
    /// [`Runner`](crate::Runner).
    Runtime(RuntimeError),
    /// Ctrl-C cancelled the main task: its cleanup ran, and `try_run` closed the loop
    /// (`Runner::try_run` leaves that to [`Runner::close`](crate::Runner::close) or drop).
    Interrupted(KeyboardInterrupt),
}

impl RunError {
    /// Whether this is the `Interrupted` variant: the run ended by Ctrl-C.
    ///
    /// # Examples
    /// ```
    /// let e = asyncio::RunError::Interrupted(asyncio::KeyboardInterrupt::default());
    /// assert!(e.is_interrupted());
    /// ```
    pub fn is_interrupted(&self) -> bool {
        matches!(self, RunError::Interrupted(_))
    }
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Runtime(e) => e.fmt(f),
            RunError::Interrupted(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for RunError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RunError::Runtime(e) => Some(e),
            RunError::Interrupted(e) => Some(e),
        }
    }
}

impl From<RuntimeError> for RunError {
    fn from(e: RuntimeError) -> Self {
        RunError::Runtime(e)
    }
}

impl From<KeyboardInterrupt> for RunError {
    fn from(e: KeyboardInterrupt) -> Self {
        RunError::Interrupted(e)
    }
}

/// A task's future panicked: the Rust form of "the coroutine raised".
///
/// Holds the panic payload; [`message`](PanicError::message) reads it as text and
/// [`into_panic`](PanicError::into_panic) gives it back to `std::panic::resume_unwind`.
///
/// # Examples
/// ```
/// # asyncio::run(async {
/// let task = asyncio::create_task(async { panic!("boom") });
/// match task.await {
///     Err(asyncio::TaskError::Panicked(p)) => assert_eq!(p.message(), Some("boom")),
///     other => panic!("{other:?}"),
/// }
/// # });
/// ```
pub struct PanicError {
    message: Option<String>,
    /// Behind a mutex only so that `TaskError` is `Sync` (and so fits
    /// `Box<dyn Error + Send + Sync>`); it is touched once, by `into_panic`.
    payload: std::sync::Mutex<Box<dyn Any + Send + 'static>>,
}

impl PanicError {
    pub(crate) fn new(payload: Box<dyn Any + Send + 'static>) -> Self {
        let message = if let Some(s) = payload.downcast_ref::<&'static str>() {
            Some((*s).to_owned())
        } else {
            payload.downcast_ref::<String>().cloned()
        };
        PanicError {
            message,
            payload: std::sync::Mutex::new(payload),
        }
    }

    /// The panic message, when the payload is a string (as `panic!` makes it).
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// The payload, to re-raise with `std::panic::resume_unwind`.
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.payload.into_inner().unwrap_or_else(|e| e.into_inner())
    }
}

impl fmt::Debug for PanicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PanicError")
            .field(&self.message().unwrap_or("<non-string payload>"))
            .finish()
    }
}

impl fmt::Display for PanicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "panicked: {}",
            self.message().unwrap_or("<non-string payload>")
        )
    }
}

impl std::error::Error for PanicError {}

/// Why a task, or a future run on another loop, gave no value.
///
/// Awaiting a [`Task`](crate::Task) gives `Result<T, TaskError>`.
///
/// # Examples
/// ```
/// # asyncio::run(async {
/// let task = asyncio::create_task(async { 7 });
/// let outcome: Result<i32, asyncio::TaskError> = task.await;
/// assert_eq!(outcome.unwrap(), 7);
/// # });
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum TaskError {
    /// The task was cancelled: its future was dropped before it finished.
    Cancelled(CancelledError),
    /// The task's future panicked.
    Panicked(PanicError),
    /// The outcome is not there: the task is still pending, or its outcome was already taken
    /// by another handle (a task's output is moved out once).
    InvalidState(InvalidStateError),
    /// A blocking wait for the outcome ran out of time
    /// ([`ConcurrentFuture::result`](crate::ConcurrentFuture::result)).
    Timeout(TimeoutError),
}

impl TaskError {
    /// Whether this is the `Cancelled` variant.
    ///
    /// # Examples
    /// ```
    /// let e = asyncio::TaskError::Cancelled(asyncio::CancelledError::default());
    /// assert!(e.is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self, TaskError::Cancelled(_))
    }

    /// Whether this is the `Panicked` variant.
    ///
    /// # Examples
    /// ```
    /// let e = asyncio::TaskError::Cancelled(asyncio::CancelledError::default());
    /// assert!(!e.is_panic());
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self, TaskError::Panicked(_))
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Cancelled(e) => e.fmt(f),
            TaskError::Panicked(e) => e.fmt(f),
            TaskError::InvalidState(e) => e.fmt(f),
            TaskError::Timeout(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for TaskError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TaskError::Cancelled(e) => Some(e),
            TaskError::Panicked(e) => Some(e),
            TaskError::InvalidState(e) => Some(e),
            TaskError::Timeout(e) => Some(e),
        }
    }
}

impl From<CancelledError> for TaskError {
    fn from(e: CancelledError) -> Self {
        TaskError::Cancelled(e)
    }
}

impl From<TimeoutError> for TaskError {
    fn from(e: TimeoutError) -> Self {
        TaskError::Timeout(e)
    }
}

//! `FutureError`: why an [`asyncio::Future`](crate::Future) gave no value.

use crate::error::{CancelledError, InvalidStateError};
use std::error::Error;
use std::fmt;
use std::sync::Arc;

/// What [`Future::set_exception`](crate::Future::set_exception) stores: any error, shared by
/// every reader of the future (asyncio hands the same exception object to each awaiter).
pub(crate) type Exception = Arc<dyn Error + Send + Sync + 'static>;

/// Why an [`asyncio::Future`](crate::Future) gave no value: it was cancelled, an exception was
/// set on it, or (for [`result`](crate::Future::result) and
/// [`exception`](crate::Future::exception), never for `.await`) it is not done yet.
///
/// `Clone`, as every awaiter of one future gets its own copy; the exception inside is shared.
///
/// # Examples
/// ```
/// # asyncio::run(async {
/// let fut = asyncio::get_running_loop().create_future::<u32>();
/// fut.set_exception(std::io::Error::other("disk on fire")).unwrap();
/// match fut.await {
///     Err(asyncio::FutureError::Exception(e)) => {
///         assert!(e.downcast_ref::<std::io::Error>().is_some());
///         assert_eq!(e.to_string(), "disk on fire");
///     }
///     other => panic!("{other:?}"),
/// }
/// # });
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum FutureError {
    /// The future was cancelled ([`Future::cancel`](crate::Future::cancel)); `msg` is the
    /// message given to `cancel_with`, if any.
    Cancelled(CancelledError),
    /// [`set_exception`](crate::Future::set_exception) was called: the error it was given.
    Exception(Arc<dyn Error + Send + Sync + 'static>),
    /// The future is not done yet (`result` and `exception` only; awaiting waits instead).
    InvalidState(InvalidStateError),
}

impl FutureError {
    /// Whether this is the `Cancelled` variant.
    ///
    /// # Examples
    /// ```
    /// let e = asyncio::FutureError::Cancelled(asyncio::CancelledError::default());
    /// assert!(e.is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self, FutureError::Cancelled(_))
    }

    /// The exception set on the future, when this is the `Exception` variant.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let fut = asyncio::Future::<()>::new();
    /// fut.set_exception("bad reply").unwrap();
    /// let err = fut.result().unwrap_err();
    /// assert_eq!(err.exception().unwrap().to_string(), "bad reply");
    /// # });
    /// ```
    pub fn exception(&self) -> Option<&(dyn Error + Send + Sync + 'static)> {
        match self {
            FutureError::Exception(e) => Some(&**e),
            _ => None,
        }
    }
}

impl fmt::Display for FutureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FutureError::Cancelled(e) => e.fmt(f),
            FutureError::Exception(e) => e.fmt(f),
            FutureError::InvalidState(e) => e.fmt(f),
        }
    }
}

impl Error for FutureError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            FutureError::Cancelled(e) => Some(e),
            FutureError::Exception(e) => Some(&**e),
            FutureError::InvalidState(e) => Some(e),
        }
    }
}

impl From<CancelledError> for FutureError {
    fn from(e: CancelledError) -> Self {
        FutureError::Cancelled(e)
    }
}

impl From<InvalidStateError> for FutureError {
    fn from(e: InvalidStateError) -> Self {
        FutureError::InvalidState(e)
    }
}

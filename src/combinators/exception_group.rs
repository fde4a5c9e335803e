//! `ExceptionGroup`: every failure of a [`TaskGroup`](crate::TaskGroup), together.

use std::fmt;

/// The failures of a [`TaskGroup`](crate::TaskGroup), in the order they happened (asyncio's
/// `ExceptionGroup("unhandled errors in a TaskGroup", [...])`).
///
/// # Examples
/// ```
/// # asyncio::run(async {
/// let err = asyncio::TaskGroup::run(|tg| async move {
///     let _task = tg.create_task(async { Err::<(), _>("first") });
///     Ok(())
/// })
/// .await
/// .unwrap_err();
/// assert_eq!(err.exceptions(), ["first"]);
/// assert_eq!(err.to_string(), "unhandled errors in a TaskGroup (1 sub-exception)");
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExceptionGroup<E> {
    exceptions: Vec<E>,
}

impl<E> ExceptionGroup<E> {
    pub(crate) fn new(exceptions: Vec<E>) -> Self {
        ExceptionGroup { exceptions }
    }

    /// The errors, in the order they happened (Python's `.exceptions`).
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let err = asyncio::TaskGroup::run(|_tg| async { Err::<(), _>(7) }).await.unwrap_err();
    /// assert_eq!(err.exceptions(), [7]);
    /// # });
    /// ```
    pub fn exceptions(&self) -> &[E] {
        &self.exceptions
    }

    /// The errors, owned.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let err = asyncio::TaskGroup::run(|_tg| async { Err::<(), _>(7) }).await.unwrap_err();
    /// assert_eq!(err.into_exceptions(), vec![7]);
    /// # });
    /// ```
    pub fn into_exceptions(self) -> Vec<E> {
        self.exceptions
    }
}

impl<E> fmt::Display for ExceptionGroup<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.exceptions.len();
        let plural = if n == 1 { "" } else { "s" };
        write!(
            f,
            "unhandled errors in a TaskGroup ({n} sub-exception{plural})"
        )
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for ExceptionGroup<E> {}

//! `ConnectErrors`: every address's failure, when a connection was asked for all of them
//! (asyncio 3.12's `create_connection(all_errors=True)`, which raises an `ExceptionGroup`).

use std::error::Error;
use std::fmt;
use std::io;
use std::net::SocketAddr;

/// Why each address failed, in the order the attempts ended: the source of the `io::Error`
/// that [`open_connection`](crate::open_connection) and
/// [`create_connection`](crate::LoopHandle::create_connection) return when every address
/// failed and [`all_errors(true)`](crate::OpenConnection::all_errors) was asked (asyncio's
/// `ExceptionGroup("create_connection failed", [...])`). The `io::Error`'s kind is the first
/// failure's. Get it with [`ConnectErrors::of`].
///
/// # Examples
/// ```
/// # asyncio::run(async {
/// let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
/// let err = asyncio::open_connection("127.0.0.1", closed.port()).all_errors(true).await.unwrap_err();
/// let all = asyncio::ConnectErrors::of(&err).expect("every failure");
/// assert_eq!(all.errors().len(), 1);
/// assert_eq!(all.errors()[0].0, closed);
/// assert_eq!(all.errors()[0].1.kind(), std::io::ErrorKind::ConnectionRefused);
/// # });
/// ```
#[derive(Debug)]
pub struct ConnectErrors {
    errors: Vec<(SocketAddr, io::Error)>,
}

impl ConnectErrors {
    /// The failures: each address tried, with its error.
    ///
    /// # Examples
    /// See [`ConnectErrors`].
    pub fn errors(&self) -> &[(SocketAddr, io::Error)] {
        &self.errors
    }

    /// The failures, owned.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// # let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    /// let err = asyncio::open_connection("127.0.0.1", closed.port()).all_errors(true).await.unwrap_err();
    /// let inner = err.into_inner().unwrap().downcast::<asyncio::ConnectErrors>().unwrap();
    /// assert_eq!(inner.into_errors().len(), 1);
    /// # });
    /// ```
    pub fn into_errors(self) -> Vec<(SocketAddr, io::Error)> {
        self.errors
    }

    /// The failures carried by `err`, if it is the error of a connection made with
    /// [`all_errors(true)`](crate::OpenConnection::all_errors).
    ///
    /// # Examples
    /// See [`ConnectErrors`].
    pub fn of(err: &io::Error) -> Option<&ConnectErrors> {
        err.get_ref()?.downcast_ref()
    }

    /// The `io::Error` carrying `errors` (at least one), of the first one's kind.
    pub(crate) fn into_io_error(errors: Vec<(SocketAddr, io::Error)>) -> io::Error {
        let kind = errors
            .first()
            .map_or(io::ErrorKind::NotFound, |(_, e)| e.kind());
        io::Error::new(kind, ConnectErrors { errors })
    }
}

impl fmt::Display for ConnectErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "create_connection failed ({} sub-exception{})",
            self.errors.len(),
            if self.errors.len() == 1 { "" } else { "s" }
        )?;
        for (addr, e) in &self.errors {
            write!(f, "; {addr}: {e}")?;
        }
        Ok(())
    }
}

impl Error for ConnectErrors {}

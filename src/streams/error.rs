//! The errors of the stream reader: asyncio's `IncompleteReadError` and `LimitOverrunError`.

use std::fmt;
use std::io;

/// The stream ended before the read was complete (asyncio's `IncompleteReadError`).
///
/// # Examples
/// ```
/// # asyncio::run(async {
/// let mut reader = asyncio::StreamReader::new();
/// reader.feed_data(b"ab");
/// reader.feed_eof();
/// match reader.readexactly(4).await {
///     Err(asyncio::ReadError::IncompleteRead(e)) => {
///         assert_eq!(e.partial, b"ab");
///         assert_eq!(e.expected, Some(4));
///     }
///     other => panic!("{other:?}"),
/// }
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncompleteReadError {
    /// The bytes read before the end of the stream.
    pub partial: Vec<u8>,
    /// How many bytes were expected; `None` when reading up to a separator.
    pub expected: Option<usize>,
}

impl fmt::Display for IncompleteReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.expected {
            Some(n) => write!(
                f,
                "{} bytes read on a total of {n} expected bytes",
                self.partial.len()
            ),
            None => write!(
                f,
                "{} bytes read on a total of undefined expected bytes",
                self.partial.len()
            ),
        }
    }
}

impl std::error::Error for IncompleteReadError {}

/// The buffer limit was reached while looking for a separator (asyncio's
/// `LimitOverrunError`). The bytes stay in the reader's buffer.
///
/// # Examples
/// ```
/// # asyncio::run(async {
/// let mut reader = asyncio::StreamReader::with_limit(4);
/// reader.feed_data(b"abcdefgh");
/// match reader.readuntil(b"\n").await {
///     Err(asyncio::ReadError::LimitOverrun(e)) => assert_eq!(e.consumed, 8),
///     other => panic!("{other:?}"),
/// }
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitOverrunError {
    /// What happened, as asyncio words it.
    pub message: &'static str,
    /// How many bytes to consume to get past the overrun (asyncio's `consumed`).
    pub consumed: usize,
}

impl fmt::Display for LimitOverrunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message)
    }
}

impl std::error::Error for LimitOverrunError {}

/// Why a `readline`, `readuntil` or `readexactly` failed: what asyncio raises there.
///
/// Converts into `std::io::Error` (kinds `UnexpectedEof` and `InvalidData`, with the asyncio
/// error inside), so `?` works in functions returning `io::Result`.
///
/// # Examples
/// ```
/// async fn first_line(r: &mut asyncio::StreamReader) -> std::io::Result<Vec<u8>> {
///     Ok(r.readuntil(b"\n").await?)
/// }
/// # asyncio::run(async {
/// let mut r = asyncio::StreamReader::new();
/// r.feed_data(b"x");
/// r.feed_eof();
/// assert_eq!(first_line(&mut r).await.unwrap_err().kind(), std::io::ErrorKind::UnexpectedEof);
/// # });
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum ReadError {
    /// The stream ended first.
    IncompleteRead(IncompleteReadError),
    /// The limit was reached (for `readline`, asyncio's `ValueError`).
    LimitOverrun(LimitOverrunError),
    /// The connection failed.
    Io(io::Error),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::IncompleteRead(e) => e.fmt(f),
            ReadError::LimitOverrun(e) => e.fmt(f),
            ReadError::Io(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReadError::IncompleteRead(e) => Some(e),
            ReadError::LimitOverrun(e) => Some(e),
            ReadError::Io(e) => Some(e),
        }
    }
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        ReadError::Io(e)
    }
}

impl From<ReadError> for io::Error {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::IncompleteRead(e) => io::Error::new(io::ErrorKind::UnexpectedEof, e),
            ReadError::LimitOverrun(e) => io::Error::new(io::ErrorKind::InvalidData, e),
            ReadError::Io(e) => e,
        }
    }
}

/// A connection error kept to be handed to every waiter: `io::Error` is not `Clone`, so the
/// OS error number (or kind and message) is kept and a fresh error made for each.
#[derive(Debug, Clone)]
pub(crate) enum SavedError {
    Os(i32),
    Other(io::ErrorKind, String),
}

impl SavedError {
    pub(crate) fn save(e: &io::Error) -> SavedError {
        match e.raw_os_error() {
            Some(code) => SavedError::Os(code),
            None => SavedError::Other(e.kind(), e.to_string()),
        }
    }

    pub(crate) fn to_error(&self) -> io::Error {
        match self {
            SavedError::Os(code) => io::Error::from_raw_os_error(*code),
            SavedError::Other(kind, msg) => io::Error::new(*kind, msg.clone()),
        }
    }
}

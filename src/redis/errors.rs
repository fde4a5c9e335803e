//! The errors of the Redis layer: [`RedisError`] for what went wrong talking to Redis, and
//! [`QueueError`], which wraps one of the queue's own errors (`QueueShutDown`, `QueueFull`,
//! `QueueEmpty`, `ValueError`, the same types as [`Queue`](crate::Queue)'s) or a `RedisError`.

use std::fmt;
use std::io;

/// What went wrong talking to Redis.
///
/// # Examples
/// ```
/// let err = asyncio::redis::RedisError::BadUrl("no scheme".into());
/// assert!(err.to_string().contains("redis URL"));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum RedisError {
    /// The URL could not be read: it is not `redis://[user:password@]host[:port][/db]`.
    BadUrl(String),
    /// No connection could be made to the address (refused, unreachable, timed out); the
    /// queue gave up after its reconnect deadline.
    Connect {
        /// `host:port` as tried.
        addr: String,
        /// The last error from the socket.
        source: io::Error,
    },
    /// Redis refused us: it wants a password and none (or a wrong one) was given.
    Auth(String),
    /// Redis answered a command with an error (`-ERR …`, `-WRONGTYPE …`).
    Server(String),
    /// The bytes from Redis were not RESP, or not the reply the command has.
    Protocol(String),
    /// An item could not be turned into JSON for Redis.
    Encode(serde_json::Error),
}

impl fmt::Display for RedisError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RedisError::BadUrl(why) => write!(f, "bad redis URL: {why}"),
            RedisError::Connect { addr, source } => {
                write!(f, "cannot connect to Redis at {addr}: {source}")
            }
            RedisError::Auth(why) => write!(f, "Redis refused authentication: {why}"),
            RedisError::Server(msg) => write!(f, "Redis error: {msg}"),
            RedisError::Protocol(why) => write!(f, "Redis protocol error: {why}"),
            RedisError::Encode(e) => write!(f, "cannot encode the item as JSON: {e}"),
        }
    }
}

impl std::error::Error for RedisError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RedisError::Connect { source, .. } => Some(source),
            RedisError::Encode(e) => Some(e),
            _ => None,
        }
    }
}

impl RedisError {
    /// The same error again, for each of the puts that shared the command that failed (an
    /// `io::Error` or a `serde_json::Error` cannot be cloned: kind and message are kept).
    pub(crate) fn duplicate(&self) -> RedisError {
        match self {
            RedisError::BadUrl(m) => RedisError::BadUrl(m.clone()),
            RedisError::Connect { addr, source } => RedisError::Connect {
                addr: addr.clone(),
                source: io::Error::new(source.kind(), source.to_string()),
            },
            RedisError::Auth(m) => RedisError::Auth(m.clone()),
            RedisError::Server(m) => RedisError::Server(m.clone()),
            RedisError::Protocol(m) => RedisError::Protocol(m.clone()),
            RedisError::Encode(e) => RedisError::Protocol(e.to_string()),
        }
    }

    /// Whether a new connection may cure it (the connection broke), so the command is
    /// retried after a back-off.
    pub(crate) fn is_transient(&self) -> bool {
        matches!(self, RedisError::Connect { .. })
            || matches!(self, RedisError::Server(m) if m.starts_with("LOADING") || m.starts_with("NOSCRIPT"))
    }
}

/// A queue call's error: the queue's own (the same types as [`Queue`](crate::Queue)'s), or a
/// [`RedisError`].
///
/// # Examples
/// ```
/// use asyncio::redis::QueueError;
/// let err: QueueError<asyncio::QueueShutDown> = QueueError::Queue(asyncio::QueueShutDown(()));
/// assert_eq!(err.to_string(), "the queue is shut down");
/// ```
pub enum QueueError<E> {
    /// What [`Queue`](crate::Queue) would have said.
    Queue(E),
    /// Redis could not be reached or refused the command.
    Redis(RedisError),
}

impl<E> QueueError<E> {
    /// The queue's own error, if it is one.
    ///
    /// # Examples
    /// ```
    /// use asyncio::redis::QueueError;
    /// let err = QueueError::Queue(asyncio::QueueEmpty);
    /// assert_eq!(err.queue(), Some(asyncio::QueueEmpty));
    /// ```
    pub fn queue(self) -> Option<E> {
        match self {
            QueueError::Queue(e) => Some(e),
            QueueError::Redis(_) => None,
        }
    }
}

impl<E> From<RedisError> for QueueError<E> {
    fn from(e: RedisError) -> Self {
        QueueError::Redis(e)
    }
}

impl<E: fmt::Debug> fmt::Debug for QueueError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueueError::Queue(e) => f.debug_tuple("Queue").field(e).finish(),
            QueueError::Redis(e) => f.debug_tuple("Redis").field(e).finish(),
        }
    }
}

impl<E: fmt::Display> fmt::Display for QueueError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueueError::Queue(e) => e.fmt(f),
            QueueError::Redis(e) => e.fmt(f),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for QueueError<E> {}

//! `StreamAddr`: a connection's or a listener's address, TCP or Unix.

use std::fmt;
use std::path::PathBuf;

/// An address as asyncio's `get_extra_info("peername")` / `("sockname")` gives it: an IP
/// address and port, or a Unix socket path (empty for an unnamed socket).
///
/// `Display` prints what Python's `repr` of that value prints (`('127.0.0.1', 8888)`,
/// `('::1', 8888, 0, 0)`, `'/tmp/sock'`), so programs print the same lines as their Python
/// originals.
///
/// # Examples
/// ```
/// let addr = asyncio::StreamAddr::Inet("127.0.0.1:8888".parse().unwrap());
/// assert_eq!(addr.to_string(), "('127.0.0.1', 8888)");
/// assert_eq!(addr.as_inet().unwrap().port(), 8888);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StreamAddr {
    /// A TCP address.
    Inet(std::net::SocketAddr),
    /// A Unix-domain socket path; `None` for an unnamed socket.
    Unix(Option<PathBuf>),
}

impl StreamAddr {
    /// The TCP address, if this is one.
    ///
    /// # Examples
    /// ```
    /// assert_eq!(asyncio::StreamAddr::Unix(None).as_inet(), None);
    /// ```
    pub fn as_inet(&self) -> Option<std::net::SocketAddr> {
        match self {
            StreamAddr::Inet(a) => Some(*a),
            StreamAddr::Unix(_) => None,
        }
    }

    pub(crate) fn from_unix(addr: &std::os::unix::net::SocketAddr) -> StreamAddr {
        StreamAddr::Unix(addr.as_pathname().map(PathBuf::from))
    }
}

impl fmt::Display for StreamAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamAddr::Inet(std::net::SocketAddr::V4(a)) => {
                write!(f, "('{}', {})", a.ip(), a.port())
            }
            StreamAddr::Inet(std::net::SocketAddr::V6(a)) => write!(
                f,
                "('{}', {}, {}, {})",
                a.ip(),
                a.port(),
                a.flowinfo(),
                a.scope_id()
            ),
            StreamAddr::Unix(Some(p)) => write!(f, "'{}'", p.display()),
            StreamAddr::Unix(None) => f.write_str("''"),
        }
    }
}

impl From<std::net::SocketAddr> for StreamAddr {
    fn from(a: std::net::SocketAddr) -> Self {
        StreamAddr::Inet(a)
    }
}

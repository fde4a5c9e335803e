//! The sockets a datagram endpoint runs on, chosen by the type of its addresses: UDP for
//! `std::net::SocketAddr`, Unix-domain for `std::os::unix::net::SocketAddr`. The endpoint,
//! its transport and its driver are written once over [`DatagramAddr`].

use super::{UdpSocket, UnixDatagram};
use std::io;
use std::net::SocketAddr;
use std::os::unix::net::SocketAddr as UnixSocketAddr;
use std::task::{Context, Poll};

/// The address type of a datagram endpoint: [`std::net::SocketAddr`] for UDP
/// ([`create_datagram_endpoint`](crate::LoopHandle::create_datagram_endpoint)),
/// [`std::os::unix::net::SocketAddr`] for Unix-domain datagrams
/// ([`create_unix_datagram_endpoint`](crate::LoopHandle::create_unix_datagram_endpoint)).
/// It is the type parameter of [`DatagramProtocol`](crate::DatagramProtocol) and
/// [`DatagramTransport`](crate::DatagramTransport), `SocketAddr` by default. Sealed: no
/// other type can be one.
///
/// # Examples
/// ```
/// use std::os::unix::net::SocketAddr;
/// struct Logger;
/// impl asyncio::DatagramProtocol<SocketAddr> for Logger {
///     fn datagram_received(&mut self, data: &[u8], addr: SocketAddr) {
///         println!("{} bytes from {:?}", data.len(), addr.as_pathname());
///     }
/// }
/// # asyncio::run(async {
/// let (t, _) = asyncio::get_running_loop().create_unix_datagram_endpoint(|| Logger).await.unwrap();
/// # t.close();
/// # });
/// ```
pub trait DatagramAddr: sealed::Kind {}

impl DatagramAddr for SocketAddr {}
impl DatagramAddr for UnixSocketAddr {}

/// Readable, and writable when `write`.
pub(super) fn interest(write: bool) -> mio::Interest {
    if write {
        mio::Interest::READABLE | mio::Interest::WRITABLE
    } else {
        mio::Interest::READABLE
    }
}

pub(crate) mod sealed {
    use super::*;

    /// What the endpoint needs of its socket, per address type.
    pub trait Kind: Clone + std::fmt::Debug + Sized + 'static {
        /// The socket under the endpoint.
        type Socket: std::fmt::Debug;

        /// The receive buffer: no datagram of this kind is larger (asyncio's `max_size` is
        /// 256 KiB for every kind; a UDP payload is at most 65,527 bytes).
        const RECV_SIZE: usize;

        /// Whether two addresses name the same peer (for `sendto` on a connected endpoint).
        fn same(&self, other: &Self) -> bool;

        fn poll_recv_from(
            sock: &Self::Socket,
            cx: &mut Context<'_>,
            buf: &mut [u8],
        ) -> Poll<io::Result<(usize, Self)>>;

        fn poll_write_ready(sock: &Self::Socket, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

        /// Whether the poller reports writability (only while datagrams wait in the buffer).
        fn set_write_interest(sock: &Self::Socket, on: bool) -> io::Result<()>;

        /// One send to the connected peer, without waiting.
        fn try_send(sock: &Self::Socket, data: &[u8]) -> io::Result<usize>;

        /// One send to `to`, without waiting.
        fn try_send_to(sock: &Self::Socket, data: &[u8], to: &Self) -> io::Result<usize>;

        fn local_addr(sock: &Self::Socket) -> Option<Self>;

        fn peer_addr(sock: &Self::Socket) -> Option<Self>;
    }

    impl Kind for SocketAddr {
        type Socket = UdpSocket;
        const RECV_SIZE: usize = 64 * 1024;

        #[inline]
        fn same(&self, other: &Self) -> bool {
            self == other
        }

        #[inline]
        fn poll_recv_from(
            sock: &UdpSocket,
            cx: &mut Context<'_>,
            buf: &mut [u8],
        ) -> Poll<io::Result<(usize, Self)>> {
            sock.poll_recv_from(cx, buf)
        }

        fn poll_write_ready(sock: &UdpSocket, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            sock.poll_write_ready(cx)
        }

        fn set_write_interest(sock: &UdpSocket, on: bool) -> io::Result<()> {
            sock.set_write_interest(on)
        }

        #[inline]
        fn try_send(sock: &UdpSocket, data: &[u8]) -> io::Result<usize> {
            sock.try_send(data)
        }

        #[inline]
        fn try_send_to(sock: &UdpSocket, data: &[u8], to: &Self) -> io::Result<usize> {
            sock.try_send_to(data, *to)
        }

        fn local_addr(sock: &UdpSocket) -> Option<Self> {
            sock.local_addr().ok()
        }

        fn peer_addr(sock: &UdpSocket) -> Option<Self> {
            sock.peer_addr().ok()
        }
    }

    impl Kind for UnixSocketAddr {
        type Socket = UnixDatagram;
        // A Unix datagram can be as large as the send buffer (over 200 KiB by default).
        const RECV_SIZE: usize = 256 * 1024;

        fn same(&self, other: &Self) -> bool {
            #[cfg(any(target_os = "linux", target_os = "android"))]
            {
                #[cfg(target_os = "android")]
                use std::os::android::net::SocketAddrExt;
                #[cfg(target_os = "linux")]
                use std::os::linux::net::SocketAddrExt;
                if self.as_abstract_name().is_some() || other.as_abstract_name().is_some() {
                    return self.as_abstract_name() == other.as_abstract_name();
                }
            }
            self.as_pathname() == other.as_pathname()
        }

        fn poll_recv_from(
            sock: &UnixDatagram,
            cx: &mut Context<'_>,
            buf: &mut [u8],
        ) -> Poll<io::Result<(usize, Self)>> {
            sock.poll_recv_from(cx, buf)
        }

        fn poll_write_ready(sock: &UnixDatagram, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            sock.poll_write_ready(cx)
        }

        fn set_write_interest(sock: &UnixDatagram, on: bool) -> io::Result<()> {
            sock.set_write_interest(on)
        }

        fn try_send(sock: &UnixDatagram, data: &[u8]) -> io::Result<usize> {
            sock.try_send(data)
        }

        fn try_send_to(sock: &UnixDatagram, data: &[u8], to: &Self) -> io::Result<usize> {
            match to.as_pathname() {
                Some(path) => sock.try_send_to(data, path),
                None => Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "a datagram can only be sent to a Unix socket bound to a path",
                )),
            }
        }

        fn local_addr(sock: &UnixDatagram) -> Option<Self> {
            sock.local_addr().ok()
        }

        fn peer_addr(sock: &UnixDatagram) -> Option<Self> {
            sock.peer_addr().ok()
        }
    }
}

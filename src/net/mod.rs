//! Raw non-blocking sockets on the running loop: TCP and Unix-domain streams and listeners,
//! UDP and Unix-domain datagram sockets; any fd ([`AsyncFd`]); pipes as streams
//! ([`LoopHandle::connect_read_pipe`](crate::LoopHandle::connect_read_pipe)); name resolution
//! ([`LoopHandle::getaddrinfo`](crate::LoopHandle::getaddrinfo)).
//!
//! These are the low-level layer under the streams, for code that wants
//! plain `accept` / `connect` / `read` / `write` (asyncio's `loop.sock_accept`,
//! `loop.sock_connect`, `loop.sock_recv`, `loop.sock_sendall`). A socket belongs to the loop
//! that made it; it is not `Send`.
//!
//! Writes never raise `SIGPIPE`: they use `send(MSG_NOSIGNAL)` (`SO_NOSIGPIPE` on Apple
//! platforms), so writing to a closed peer is an `io::Error` of kind `BrokenPipe`.
//!
//! # Examples
//! ```
//! use asyncio::net::{TcpListener, TcpStream};
//! # asyncio::run(async {
//! let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap())?;
//! let addr = listener.local_addr()?;
//! let client = TcpStream::connect(addr).await?;
//! let (server, _peer) = listener.accept().await?;
//! client.write_all(b"ping").await?;
//! let mut buf = [0; 4];
//! server.read_exact(&mut buf).await?;
//! assert_eq!(&buf, b"ping");
//! # std::io::Result::Ok(())
//! # }).unwrap();
//! ```

mod addrinfo;
mod async_fd;
pub(crate) mod datagram_driver;
pub(crate) mod datagram_endpoint;
mod datagram_protocol;
pub(crate) mod datagram_socket;
#[cfg(test)]
mod datagram_tests;
pub(crate) mod datagram_transport;
mod pipe;
mod sock_ops;
pub(crate) mod sock_sendfile;
mod stream;
pub(crate) mod sys;
mod tcp_listener;
mod tcp_stream;
mod udp;
mod udp_options;
mod unix_datagram;
pub(crate) mod unix_datagram_endpoint;
mod unix_listener;
mod unix_stream;

pub use addrinfo::{AddrInfo, GaiError, GetAddrInfo, Lookup, Service};
pub use async_fd::{AsyncFd, AsyncFdReadyGuard};
use datagram_transport::DatagramProtocol;
pub use pipe::{IntoPipe, ReadPipeTransport};
pub use tcp_listener::TcpListener;
pub use tcp_stream::TcpStream;
pub use udp::UdpSocket;
pub use udp_options::UdpOptions;
pub use unix_datagram::UnixDatagram;
pub use unix_listener::UnixListener;
pub use unix_stream::UnixStream;

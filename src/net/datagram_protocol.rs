//! `DatagramProtocol`: the callbacks of a datagram endpoint.

use super::datagram_socket::DatagramAddr;
use super::datagram_transport::DatagramTransport;
use std::io;
use std::net::SocketAddr;

/// The callbacks of a datagram endpoint (asyncio's `DatagramProtocol`), called from the
/// loop, one at a time, in asyncio's order: `connection_made` first, then
/// `datagram_received` / `error_received` as datagrams and errors arrive, and
/// `connection_lost` once, last, after the transport closed.
///
/// `A` is the type of the peers' addresses: `SocketAddr` (UDP, the default) or
/// `std::os::unix::net::SocketAddr` (Unix-domain datagrams, see
/// [`create_unix_datagram_endpoint`](crate::LoopHandle::create_unix_datagram_endpoint)).
///
/// A callback that panics closes the transport (its buffered datagrams are dropped); the
/// panic is logged at error level and `connection_lost` gets an error saying so. The loop and
/// other endpoints go on.
///
/// # Examples
/// ```
/// use asyncio::{DatagramProtocol, DatagramTransport};
/// struct EchoUdp { t: Option<DatagramTransport> }
/// impl DatagramProtocol for EchoUdp {
///     fn connection_made(&mut self, t: DatagramTransport) { self.t = Some(t); }
///     fn datagram_received(&mut self, data: &[u8], addr: std::net::SocketAddr) {
///         self.t.as_ref().unwrap().sendto(data, Some(addr));
///     }
/// }
/// # asyncio::run(async {
/// let lp = asyncio::get_running_loop();
/// let (transport, _proto) = lp
///     .create_datagram_endpoint(|| EchoUdp { t: None })
///     .local_addr(("127.0.0.1", 0))
///     .await?;
/// let client = asyncio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap())?;
/// client.send_to(b"hi", transport.sockname().unwrap()).await?;
/// let mut buf = [0; 8];
/// let (n, _) = client.recv_from(&mut buf).await?;
/// assert_eq!(&buf[..n], b"hi");
/// transport.close();
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
pub trait DatagramProtocol<A: DatagramAddr = SocketAddr> {
    /// The endpoint is ready; `transport` sends and closes. Called first, once.
    fn connection_made(&mut self, transport: DatagramTransport<A>) {
        let _ = transport;
    }

    /// One datagram arrived from `addr`, whole (received into 64 KiB for UDP, whose largest
    /// payload fits; 256 KiB for Unix datagrams, as asyncio). A Unix sender bound to no path
    /// has an unnamed address, which cannot be replied to.
    fn datagram_received(&mut self, data: &[u8], addr: A) {
        let _ = (data, addr);
    }

    /// A send or a receive failed; the endpoint stays open. On a connected endpoint, an ICMP
    /// port-unreachable from the peer is `ConnectionRefused` here.
    fn error_received(&mut self, err: io::Error) {
        let _ = err;
    }

    /// The endpoint is closed: `None` after [`close`](DatagramTransport::close) or
    /// [`abort`](DatagramTransport::abort), the cause otherwise. Called last, once.
    fn connection_lost(&mut self, exc: Option<io::Error>) {
        let _ = exc;
    }

    /// The buffer of datagrams the socket could not take went above its high-water mark
    /// (64 KiB by default; see
    /// [`set_write_buffer_limits`](DatagramTransport::set_write_buffer_limits)): stop
    /// sending until [`resume_writing`](Self::resume_writing). Called right after the
    /// callback (or task) that sent.
    fn pause_writing(&mut self) {}

    /// The buffer drained to its low-water mark (16 KiB by default) after a
    /// [`pause_writing`](Self::pause_writing).
    fn resume_writing(&mut self) {}
}

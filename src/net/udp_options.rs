//! How a `UdpSocket` is bound (`UdpOptions`), and its socket options.

use super::UdpSocket;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

/// Options set before a [`UdpSocket`] is bound: `SO_REUSEADDR`, `SO_REUSEPORT` and
/// `SO_BROADCAST` (asyncio's `reuse_port` and `allow_broadcast`). All are off by default.
///
/// # Examples
/// ```
/// use asyncio::net::UdpSocket;
/// # asyncio::run(async {
/// let a = UdpSocket::options().reuse_port(true).bind("127.0.0.1:0".parse().unwrap())?;
/// // A second socket on the same port: the kernel spreads datagrams between the two.
/// let b = UdpSocket::options().reuse_port(true).bind(a.local_addr()?)?;
/// assert_eq!(a.local_addr()?, b.local_addr()?);
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone, Copy, Default)]
#[must_use = "options do nothing until `bind` is called"]
pub struct UdpOptions {
    reuse_address: bool,
    reuse_port: bool,
    broadcast: bool,
}

impl UdpSocket {
    /// Options for a socket to bind; see [`UdpOptions`].
    ///
    /// # Examples
    /// See [`UdpOptions`].
    pub fn options() -> UdpOptions {
        UdpOptions::default()
    }
}

impl UdpOptions {
    /// Sets `SO_REUSEADDR` before binding.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let s = asyncio::net::UdpSocket::options()
    ///     .reuse_address(true)
    ///     .bind("127.0.0.1:0".parse().unwrap())
    ///     .unwrap();
    /// # drop(s);
    /// # });
    /// ```
    pub fn reuse_address(mut self, on: bool) -> Self {
        self.reuse_address = on;
        self
    }

    /// Sets `SO_REUSEPORT` before binding: sockets of one user that all set it may share a
    /// port, and the kernel spreads incoming datagrams over them (one loop per core).
    ///
    /// # Examples
    /// See [`UdpOptions`].
    pub fn reuse_port(mut self, on: bool) -> Self {
        self.reuse_port = on;
        self
    }

    /// Sets `SO_BROADCAST`, which sending to a broadcast address needs.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let s = asyncio::net::UdpSocket::options()
    ///     .broadcast(true)
    ///     .bind("0.0.0.0:0".parse().unwrap())
    ///     .unwrap();
    /// assert!(s.broadcast().unwrap());
    /// # });
    /// ```
    pub fn broadcast(mut self, on: bool) -> Self {
        self.broadcast = on;
        self
    }

    /// Makes the socket, sets the options, binds it to `addr` and registers it with the
    /// running loop.
    ///
    /// # Errors
    /// `AddrInUse`, `PermissionDenied`, …; outside a running loop, kind `Other`.
    ///
    /// # Examples
    /// See [`UdpOptions`].
    pub fn bind(self, addr: SocketAddr) -> io::Result<UdpSocket> {
        let sock = self.socket(socket2::Domain::for_address(addr))?;
        sock.bind(&addr.into())?;
        UdpSocket::from_std(sock.into())
    }

    /// A non-blocking UDP socket of `domain` with the options set, not bound.
    pub(crate) fn socket(self, domain: socket2::Domain) -> io::Result<socket2::Socket> {
        let sock =
            socket2::Socket::new(domain, socket2::Type::DGRAM, Some(socket2::Protocol::UDP))?;
        sock.set_cloexec(true)?;
        sock.set_nonblocking(true)?;
        if self.reuse_address {
            sock.set_reuse_address(true)?;
        }
        if self.reuse_port {
            sock.set_reuse_port(true)?;
        }
        if self.broadcast {
            sock.set_broadcast(true)?;
        }
        Ok(sock)
    }
}

impl UdpSocket {
    /// Sets `SO_BROADCAST` (asyncio's `allow_broadcast`).
    ///
    /// # Errors
    /// When the OS refuses.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let s = asyncio::net::UdpSocket::bind("0.0.0.0:0".parse().unwrap()).unwrap();
    /// s.set_broadcast(true).unwrap();
    /// assert!(s.broadcast().unwrap());
    /// # });
    /// ```
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_broadcast(on)
    }

    /// Whether `SO_BROADCAST` is set.
    ///
    /// # Errors
    /// When the OS refuses.
    ///
    /// # Examples
    /// See [`set_broadcast`](Self::set_broadcast).
    pub fn broadcast(&self) -> io::Result<bool> {
        self.io.get_ref().broadcast()
    }

    /// Sets the IP time-to-live of sent datagrams (`IP_TTL`).
    ///
    /// # Errors
    /// When the OS refuses.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let s = asyncio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    /// s.set_ttl(7).unwrap();
    /// assert_eq!(s.ttl().unwrap(), 7);
    /// # });
    /// ```
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// The IP time-to-live of sent datagrams.
    ///
    /// # Errors
    /// When the OS refuses.
    ///
    /// # Examples
    /// See [`set_ttl`](Self::set_ttl).
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }

    /// Joins the IPv4 multicast group `group` on the interface with address `interface`
    /// (`0.0.0.0`: the kernel's choice).
    ///
    /// # Errors
    /// `InvalidInput` if `group` is not a multicast address; `AddrNotAvailable`, … when the
    /// kernel refuses (no multicast route, say).
    ///
    /// # Examples
    /// ```no_run
    /// # asyncio::run(async {
    /// use std::net::Ipv4Addr;
    /// let s = asyncio::net::UdpSocket::bind("0.0.0.0:5353".parse().unwrap()).unwrap();
    /// s.join_multicast_v4(Ipv4Addr::new(224, 0, 0, 251), Ipv4Addr::UNSPECIFIED).unwrap();
    /// # });
    /// ```
    pub fn join_multicast_v4(&self, group: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.io.get_ref().join_multicast_v4(&group, &interface)
    }

    /// Leaves an IPv4 multicast group joined with
    /// [`join_multicast_v4`](Self::join_multicast_v4).
    ///
    /// # Errors
    /// `AddrNotAvailable` if the group was not joined.
    ///
    /// # Examples
    /// ```no_run
    /// # asyncio::run(async {
    /// use std::net::Ipv4Addr;
    /// # let s = asyncio::net::UdpSocket::bind("0.0.0.0:5353".parse().unwrap()).unwrap();
    /// # s.join_multicast_v4(Ipv4Addr::new(224, 0, 0, 251), Ipv4Addr::UNSPECIFIED).unwrap();
    /// s.leave_multicast_v4(Ipv4Addr::new(224, 0, 0, 251), Ipv4Addr::UNSPECIFIED).unwrap();
    /// # });
    /// ```
    pub fn leave_multicast_v4(&self, group: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.io.get_ref().leave_multicast_v4(&group, &interface)
    }

    /// Joins the IPv6 multicast group `group` on the interface of index `interface`
    /// (0: the kernel's choice).
    ///
    /// # Errors
    /// As [`join_multicast_v4`](Self::join_multicast_v4).
    ///
    /// # Examples
    /// ```no_run
    /// # asyncio::run(async {
    /// let s = asyncio::net::UdpSocket::bind("[::]:5353".parse().unwrap()).unwrap();
    /// s.join_multicast_v6("ff02::fb".parse().unwrap(), 0).unwrap();
    /// # });
    /// ```
    pub fn join_multicast_v6(&self, group: Ipv6Addr, interface: u32) -> io::Result<()> {
        self.io.get_ref().join_multicast_v6(&group, interface)
    }

    /// Leaves an IPv6 multicast group joined with
    /// [`join_multicast_v6`](Self::join_multicast_v6).
    ///
    /// # Errors
    /// `AddrNotAvailable` if the group was not joined.
    ///
    /// # Examples
    /// ```no_run
    /// # asyncio::run(async {
    /// # let s = asyncio::net::UdpSocket::bind("[::]:5353".parse().unwrap()).unwrap();
    /// # s.join_multicast_v6("ff02::fb".parse().unwrap(), 0).unwrap();
    /// s.leave_multicast_v6("ff02::fb".parse().unwrap(), 0).unwrap();
    /// # });
    /// ```
    pub fn leave_multicast_v6(&self, group: Ipv6Addr, interface: u32) -> io::Result<()> {
        self.io.get_ref().leave_multicast_v6(&group, interface)
    }

    /// Whether this socket receives the multicast datagrams it sends itself
    /// (`IP_MULTICAST_LOOP`, on by default).
    ///
    /// # Errors
    /// When the OS refuses.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let s = asyncio::net::UdpSocket::bind("0.0.0.0:0".parse().unwrap()).unwrap();
    /// s.set_multicast_loop_v4(false).unwrap();
    /// assert!(!s.multicast_loop_v4().unwrap());
    /// # });
    /// ```
    pub fn set_multicast_loop_v4(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_multicast_loop_v4(on)
    }

    /// Whether `IP_MULTICAST_LOOP` is set.
    ///
    /// # Errors
    /// When the OS refuses.
    ///
    /// # Examples
    /// See [`set_multicast_loop_v4`](Self::set_multicast_loop_v4).
    pub fn multicast_loop_v4(&self) -> io::Result<bool> {
        self.io.get_ref().multicast_loop_v4()
    }

    /// `IPV6_MULTICAST_LOOP`: as [`set_multicast_loop_v4`](Self::set_multicast_loop_v4), for
    /// IPv6.
    ///
    /// # Errors
    /// When the OS refuses.
    ///
    /// # Examples
    /// ```no_run
    /// # asyncio::run(async {
    /// let s = asyncio::net::UdpSocket::bind("[::]:0".parse().unwrap()).unwrap();
    /// s.set_multicast_loop_v6(false).unwrap();
    /// # });
    /// ```
    pub fn set_multicast_loop_v6(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_multicast_loop_v6(on)
    }

    /// Sets the time-to-live of multicast datagrams (`IP_MULTICAST_TTL`, 1 by default: the
    /// local network only).
    ///
    /// # Errors
    /// When the OS refuses.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let s = asyncio::net::UdpSocket::bind("0.0.0.0:0".parse().unwrap()).unwrap();
    /// s.set_multicast_ttl_v4(4).unwrap();
    /// # });
    /// ```
    pub fn set_multicast_ttl_v4(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_multicast_ttl_v4(ttl)
    }
}

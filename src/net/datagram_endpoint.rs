//! `LoopHandle::create_datagram_endpoint`: the UDP builder and how its socket is made.

use super::datagram_driver::{check_loop, open};
use super::datagram_transport::DatagramTransport;
use super::{DatagramProtocol, UdpSocket};
use crate::LoopHandle;
use std::cell::RefCell;
use std::future::{Future, IntoFuture};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::rc::Rc;

/// An address for [`create_datagram_endpoint`](LoopHandle::create_datagram_endpoint): a
/// resolved socket address, or a host name or literal and a port (resolved on the loop's
/// blocking pool when awaited, literals at once). Made with `From`: `("localhost", 53)`,
/// `"127.0.0.1:53".parse::<SocketAddr>()?`, `(Ipv4Addr::LOCALHOST, 53)`.
///
/// # Examples
/// ```
/// let a: asyncio::EndpointAddr = ("localhost", 53).into();
/// let b: asyncio::EndpointAddr = std::net::SocketAddr::from(([127, 0, 0, 1], 53)).into();
/// # drop((a, b));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointAddr {
    /// An address that needs no resolution.
    Socket(SocketAddr),
    /// A host name (or literal address) and a port.
    Host(String, u16),
}

impl From<SocketAddr> for EndpointAddr {
    fn from(a: SocketAddr) -> Self {
        EndpointAddr::Socket(a)
    }
}

impl From<(&str, u16)> for EndpointAddr {
    fn from((h, p): (&str, u16)) -> Self {
        EndpointAddr::Host(h.to_owned(), p)
    }
}

impl From<(String, u16)> for EndpointAddr {
    fn from((h, p): (String, u16)) -> Self {
        EndpointAddr::Host(h, p)
    }
}

impl From<(IpAddr, u16)> for EndpointAddr {
    fn from(a: (IpAddr, u16)) -> Self {
        EndpointAddr::Socket(a.into())
    }
}

impl From<(Ipv4Addr, u16)> for EndpointAddr {
    fn from(a: (Ipv4Addr, u16)) -> Self {
        EndpointAddr::Socket(a.into())
    }
}

impl From<(Ipv6Addr, u16)> for EndpointAddr {
    fn from(a: (Ipv6Addr, u16)) -> Self {
        EndpointAddr::Socket(a.into())
    }
}

impl EndpointAddr {
    /// Its addresses, names resolved on the blocking pool (asyncio's `_ensure_resolved`).
    async fn resolve(&self) -> io::Result<Vec<SocketAddr>> {
        let (host, port) = match self {
            EndpointAddr::Socket(a) => return Ok(vec![*a]),
            EndpointAddr::Host(h, p) => (h.clone(), *p),
        };
        let literal = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = literal.parse::<IpAddr>() {
            return Ok(vec![SocketAddr::new(ip, port)]);
        }
        let addrs =
            crate::to_thread(move || (host.as_str(), port).to_socket_addrs().map(Vec::from_iter))
                .await
                .map_err(|e| io::Error::other(e.to_string()))??;
        Ok(addrs)
    }
}

/// An address family, to choose among resolved addresses or to make an unbound socket
/// (asyncio's `family=socket.AF_INET` / `AF_INET6`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressFamily {
    /// IPv4 (`AF_INET`).
    Inet,
    /// IPv6 (`AF_INET6`).
    Inet6,
}

impl AddressFamily {
    fn of(a: &SocketAddr) -> AddressFamily {
        if a.is_ipv4() {
            AddressFamily::Inet
        } else {
            AddressFamily::Inet6
        }
    }
}

impl LoopHandle {
    /// Opens a UDP endpoint run by a protocol made by `factory` (asyncio's
    /// `loop.create_datagram_endpoint`). Options are builder methods on the returned
    /// [`CreateDatagramEndpoint`]; await it for `(transport, protocol)`.
    ///
    /// The protocol comes back as `Rc<RefCell<P>>`, shared with the loop, which borrows it
    /// for each callback: do not hold a borrow across an `.await`, or the next callback finds
    /// it borrowed, which counts as a panic of that callback (the endpoint closes).
    ///
    /// # Examples
    /// See [`DatagramProtocol`].
    pub fn create_datagram_endpoint<P, F>(&self, factory: F) -> CreateDatagramEndpoint<F>
    where
        F: FnOnce() -> P + 'static,
        P: DatagramProtocol + 'static,
    {
        CreateDatagramEndpoint {
            lp: self.clone(),
            factory,
            local: None,
            remote: None,
            reuse_port: false,
            allow_broadcast: false,
            family: None,
            sock: None,
        }
    }
}

/// The future of [`LoopHandle::create_datagram_endpoint`], with its options. Await it (it is
/// `IntoFuture`).
///
/// # Errors
/// A resolution error; the bind's or connect's error (`AddrInUse`, …), the first one when
/// every address failed; `InvalidInput` for options that do not go together (asyncio's
/// `ValueError`): a [`sock`](Self::sock) with other options, no address and no family, or
/// addresses with no family in common; outside the handle's loop, an error of kind `Other`.
///
/// # Cancel safety
/// Dropping it before it completes closes the socket; if the protocol was made already, it
/// gets `connection_lost(None)`.
#[must_use = "an endpoint is only made when this is awaited"]
pub struct CreateDatagramEndpoint<F> {
    lp: LoopHandle,
    factory: F,
    local: Option<EndpointAddr>,
    remote: Option<EndpointAddr>,
    reuse_port: bool,
    allow_broadcast: bool,
    family: Option<AddressFamily>,
    sock: Option<UdpSocket>,
}

impl<F> CreateDatagramEndpoint<F> {
    /// Binds to this address (port 0: a free port).
    ///
    /// # Examples
    /// See [`DatagramProtocol`].
    pub fn local_addr(mut self, addr: impl Into<EndpointAddr>) -> Self {
        self.local = Some(addr.into());
        self
    }

    /// Connects to this peer: `sendto(data, None)` goes there, only its datagrams are
    /// received, and ICMP errors from it reach `error_received`.
    ///
    /// # Examples
    /// See [`DatagramTransport::peername`].
    pub fn remote_addr(mut self, addr: impl Into<EndpointAddr>) -> Self {
        self.remote = Some(addr.into());
        self
    }

    /// Sets `SO_REUSEPORT` before binding.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// # struct Quiet;
    /// # impl asyncio::DatagramProtocol for Quiet {}
    /// let lp = asyncio::get_running_loop();
    /// let (a, _) = lp.create_datagram_endpoint(|| Quiet).local_addr(("127.0.0.1", 0)).reuse_port(true).await.unwrap();
    /// let (b, _) = lp.create_datagram_endpoint(|| Quiet).local_addr(a.sockname().unwrap()).reuse_port(true).await.unwrap();
    /// assert_eq!(a.sockname(), b.sockname());
    /// # });
    /// ```
    pub fn reuse_port(mut self, on: bool) -> Self {
        self.reuse_port = on;
        self
    }

    /// Sets `SO_BROADCAST`, so that datagrams may be sent to broadcast addresses.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// # struct Quiet;
    /// # impl asyncio::DatagramProtocol for Quiet {}
    /// let lp = asyncio::get_running_loop();
    /// let (t, _) = lp.create_datagram_endpoint(|| Quiet).local_addr(("0.0.0.0", 0)).allow_broadcast(true).await.unwrap();
    /// assert!(t.with_socket(|s| s.broadcast().unwrap()).unwrap());
    /// # });
    /// ```
    pub fn allow_broadcast(mut self, on: bool) -> Self {
        self.allow_broadcast = on;
        self
    }

    /// Uses only addresses of this family; without addresses, makes an unbound socket of it.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// # struct Quiet;
    /// # impl asyncio::DatagramProtocol for Quiet {}
    /// let lp = asyncio::get_running_loop();
    /// let (t, _) = lp.create_datagram_endpoint(|| Quiet).family(asyncio::AddressFamily::Inet).await.unwrap();
    /// assert!(t.sockname().unwrap().is_ipv4());
    /// # });
    /// ```
    pub fn family(mut self, family: AddressFamily) -> Self {
        self.family = Some(family);
        self
    }

    /// Uses an existing socket, bound or connected already (asyncio's `sock=`); no other
    /// option may be given with it.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// # struct Quiet;
    /// # impl asyncio::DatagramProtocol for Quiet {}
    /// let sock = asyncio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    /// let addr = sock.local_addr().unwrap();
    /// let lp = asyncio::get_running_loop();
    /// let (t, _) = lp.create_datagram_endpoint(|| Quiet).sock(sock).await.unwrap();
    /// assert_eq!(t.sockname(), Some(addr));
    /// # });
    /// ```
    pub fn sock(mut self, sock: UdpSocket) -> Self {
        self.sock = Some(sock);
        self
    }

    /// The socket the options ask for.
    async fn make_socket(&mut self) -> io::Result<UdpSocket> {
        if let Some(sock) = self.sock.take() {
            let modified = self.local.is_some()
                || self.remote.is_some()
                || self.reuse_port
                || self.allow_broadcast
                || self.family.is_some();
            if modified {
                return Err(invalid(
                    "socket modifier options can not be used when sock is specified",
                ));
            }
            return Ok(sock);
        }
        let options = UdpSocket::options()
            .reuse_port(self.reuse_port)
            .broadcast(self.allow_broadcast);
        if self.local.is_none() && self.remote.is_none() {
            let domain = match self.family {
                Some(AddressFamily::Inet) => socket2::Domain::IPV4,
                Some(AddressFamily::Inet6) => socket2::Domain::IPV6,
                None => return Err(invalid("unexpected address family")),
            };
            return UdpSocket::from_std(options.socket(domain)?.into());
        }
        let local = resolve_opt(self.local.as_ref(), self.family).await?;
        let remote = resolve_opt(self.remote.as_ref(), self.family).await?;
        // asyncio pairs the first address of each family on both sides, in resolution order,
        // and tries the pairs in turn.
        let mut families: Vec<AddressFamily> = Vec::new();
        for a in local.iter().flatten().chain(remote.iter().flatten()) {
            if !families.contains(&AddressFamily::of(a)) {
                families.push(AddressFamily::of(a));
            }
        }
        let first_of = |addrs: &Option<Vec<SocketAddr>>, fam| {
            addrs
                .as_ref()
                .map(|v| v.iter().copied().find(|a| AddressFamily::of(a) == fam))
        };
        let mut errors = Vec::new();
        let mut tried = false;
        for fam in families {
            let (l, r) = (first_of(&local, fam), first_of(&remote, fam));
            if l == Some(None) || r == Some(None) {
                continue;
            }
            tried = true;
            let (l, r) = (l.flatten(), r.flatten());
            let domain = socket2::Domain::for_address(l.or(r).expect("an address"));
            let attempt = options.socket(domain).and_then(|s| {
                if let Some(l) = l {
                    s.bind(&l.into())?;
                }
                if let Some(r) = r {
                    s.connect(&r.into())?;
                }
                Ok(s)
            });
            match attempt {
                Ok(s) => return UdpSocket::from_std(s.into()),
                Err(e) => errors.push(e),
            }
        }
        if !tried {
            return Err(invalid("can not get address information"));
        }
        Err(errors.swap_remove(0))
    }
}

pub(super) fn invalid(msg: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

async fn resolve_opt(
    addr: Option<&EndpointAddr>,
    family: Option<AddressFamily>,
) -> io::Result<Option<Vec<SocketAddr>>> {
    let Some(addr) = addr else { return Ok(None) };
    let mut addrs = addr.resolve().await?;
    if let Some(f) = family {
        addrs.retain(|a| AddressFamily::of(a) == f);
    }
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            "getaddrinfo() returned empty list",
        ));
    }
    Ok(Some(addrs))
}

impl<P, F> IntoFuture for CreateDatagramEndpoint<F>
where
    F: FnOnce() -> P + 'static,
    P: DatagramProtocol + 'static,
{
    type Output = io::Result<(DatagramTransport, Rc<RefCell<P>>)>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output>>>;

    fn into_future(mut self) -> Self::IntoFuture {
        Box::pin(async move {
            check_loop(&self.lp, "create_datagram_endpoint")?;
            let sock = self.make_socket().await?;
            Ok(open(sock, self.factory).await)
        })
    }
}

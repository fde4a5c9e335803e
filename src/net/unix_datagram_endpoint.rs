//! `LoopHandle::create_unix_datagram_endpoint`: a datagram endpoint on a Unix-domain socket
//! (asyncio's `create_datagram_endpoint(family=socket.AF_UNIX, ...)`).

use super::datagram_driver::{check_loop, open};
use super::datagram_endpoint::invalid;
use super::datagram_transport::DatagramTransport;
use super::{DatagramProtocol, UnixDatagram};
use crate::LoopHandle;
use std::cell::RefCell;
use std::future::{Future, IntoFuture};
use std::io;
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::rc::Rc;

impl LoopHandle {
    /// Opens a Unix-domain datagram endpoint run by a protocol made by `factory` (asyncio's
    /// `loop.create_datagram_endpoint(factory, family=socket.AF_UNIX, ...)`). The protocol
    /// and the transport are the UDP ones with path addresses:
    /// [`DatagramProtocol<std::os::unix::net::SocketAddr>`](DatagramProtocol). Options are
    /// builder methods of [`CreateUnixDatagramEndpoint`]; without any, the socket is bound
    /// to no path (it can send, but nobody can reply). Await it for
    /// `(transport, protocol)`, after `connection_made` ran.
    ///
    /// A Unix datagram is never dropped for lack of room: when the receiver's queue is full
    /// the datagram waits in the transport's buffer, and the protocol is told to
    /// [`pause_writing`](DatagramProtocol::pause_writing) past the high-water mark.
    ///
    /// # Examples
    /// ```
    /// use asyncio::{DatagramProtocol, DatagramTransport};
    /// use std::os::unix::net::SocketAddr;
    /// struct Echo { t: Option<DatagramTransport<SocketAddr>> }
    /// impl DatagramProtocol<SocketAddr> for Echo {
    ///     fn connection_made(&mut self, t: DatagramTransport<SocketAddr>) { self.t = Some(t); }
    ///     fn datagram_received(&mut self, data: &[u8], addr: SocketAddr) {
    ///         self.t.as_ref().unwrap().sendto(data, Some(addr));
    ///     }
    /// }
    /// # asyncio::run(async {
    /// let dir = std::env::temp_dir().join(format!("asyncio-udep-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let (server, client) = (dir.join("server.sock"), dir.join("client.sock"));
    /// let lp = asyncio::get_running_loop();
    /// let (t, _p) = lp.create_unix_datagram_endpoint(|| Echo { t: None }).local_addr(&server).await?;
    /// let sock = asyncio::net::UnixDatagram::bind(&client)?;
    /// sock.send_to(b"ping", &server).await?;
    /// let mut buf = [0; 16];
    /// let (n, from) = sock.recv_from(&mut buf).await?;
    /// assert_eq!((&buf[..n], from.as_pathname()), (&b"ping"[..], Some(server.as_path())));
    /// t.close();
    /// # std::fs::remove_dir_all(&dir)?;
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn create_unix_datagram_endpoint<P, F>(&self, factory: F) -> CreateUnixDatagramEndpoint<F>
    where
        F: FnOnce() -> P + 'static,
        P: DatagramProtocol<SocketAddr> + 'static,
    {
        CreateUnixDatagramEndpoint {
            lp: self.clone(),
            factory,
            local: None,
            remote: None,
            sock: None,
        }
    }
}

/// The future of [`LoopHandle::create_unix_datagram_endpoint`], with its options. Await it
/// (it is `IntoFuture`).
///
/// # Errors
/// The bind's or connect's error (`NotFound` for a peer path nobody is bound to,
/// `ConnectionRefused` for one that is not a datagram socket, `AddrInUse` for a local path
/// that exists and is not a socket); `InvalidInput` for a [`sock`](Self::sock) with other
/// options; outside the handle's loop, an error of kind `Other`.
///
/// # Cancel safety
/// Dropping it before it completes closes the socket; if the protocol was made already, it
/// gets `connection_lost(None)`.
#[must_use = "an endpoint is only made when this is awaited"]
pub struct CreateUnixDatagramEndpoint<F> {
    lp: LoopHandle,
    factory: F,
    local: Option<PathBuf>,
    remote: Option<PathBuf>,
    sock: Option<UnixDatagram>,
}

impl<F> CreateUnixDatagramEndpoint<F> {
    /// Binds to this path. As asyncio does, a socket file left there (by an earlier run) is
    /// removed first; any other file there is an error.
    ///
    /// # Examples
    /// See [`LoopHandle::create_unix_datagram_endpoint`].
    pub fn local_addr(mut self, path: impl Into<PathBuf>) -> Self {
        self.local = Some(path.into());
        self
    }

    /// Connects to the socket bound at this path: `sendto(data, None)` goes there and only
    /// its datagrams are received.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// # #[derive(Debug)]
    /// # struct Quiet;
    /// # impl asyncio::DatagramProtocol<std::os::unix::net::SocketAddr> for Quiet {}
    /// let err = asyncio::get_running_loop()
    ///     .create_unix_datagram_endpoint(|| Quiet)
    ///     .remote_addr("/nonexistent/peer.sock")
    ///     .await
    ///     .unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    /// # });
    /// ```
    pub fn remote_addr(mut self, path: impl Into<PathBuf>) -> Self {
        self.remote = Some(path.into());
        self
    }

    /// Uses an existing socket, bound or connected already (asyncio's `sock=`); no other
    /// option may be given with it.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// # struct Quiet;
    /// # impl asyncio::DatagramProtocol<std::os::unix::net::SocketAddr> for Quiet {}
    /// let (a, _b) = asyncio::net::UnixDatagram::pair().unwrap();
    /// let lp = asyncio::get_running_loop();
    /// let (t, _) = lp.create_unix_datagram_endpoint(|| Quiet).sock(a).await.unwrap();
    /// assert!(t.peername().is_some(), "a pair is connected");
    /// # });
    /// ```
    pub fn sock(mut self, sock: UnixDatagram) -> Self {
        self.sock = Some(sock);
        self
    }

    /// The socket the options ask for.
    fn make_socket(&mut self) -> io::Result<UnixDatagram> {
        if let Some(sock) = self.sock.take() {
            if self.local.is_some() || self.remote.is_some() {
                return Err(invalid(
                    "socket modifier options can not be used when sock is specified",
                ));
            }
            return Ok(sock);
        }
        let sock = match &self.local {
            Some(path) => {
                // asyncio removes a stale socket file; a missing one is fine.
                if std::fs::metadata(path).is_ok_and(|m| m.file_type().is_socket()) {
                    std::fs::remove_file(path)?;
                }
                UnixDatagram::bind(path)?
            }
            None => UnixDatagram::unbound()?,
        };
        if let Some(path) = &self.remote {
            sock.connect(path)?;
        }
        Ok(sock)
    }
}

impl<P, F> IntoFuture for CreateUnixDatagramEndpoint<F>
where
    F: FnOnce() -> P + 'static,
    P: DatagramProtocol<SocketAddr> + 'static,
{
    type Output = io::Result<(DatagramTransport<SocketAddr>, Rc<RefCell<P>>)>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output>>>;

    fn into_future(mut self) -> Self::IntoFuture {
        Box::pin(async move {
            check_loop(&self.lp, "create_unix_datagram_endpoint")?;
            let sock = self.make_socket()?;
            Ok(open(sock, self.factory).await)
        })
    }
}

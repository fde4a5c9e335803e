//! `DatagramTransport`: asyncio's callback style for UDP and Unix-domain datagrams (with
//! [`DatagramProtocol`]), written once over the address type ([`DatagramAddr`]).
//!
//! # Design
//! An endpoint is an [`Endpoint`] shared by the transport handles (`Rc`) and one driver task
//! (in `datagram_endpoint.rs`) that owns the protocol. Only the driver calls the protocol,
//! so no callback ever runs inside another: what asyncio calls synchronously from
//! `sendto` (`error_received` for a failed send) is queued here and delivered by the driver
//! at once after the callback that sent returns. The transport's methods only change
//! [`State`] and wake the driver.
//!
//! `State` is borrowed for short steps, never across a callback; the socket is taken out of
//! its `RefCell` (closed) only by the driver, after `connection_lost`.

pub use super::datagram_protocol::DatagramProtocol;
use super::datagram_socket::DatagramAddr;
use super::{UdpSocket, UnixDatagram};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::task::Waker;

/// asyncio's `LOG_THRESHOLD_FOR_CONNLOST_WRITES`: sends after the loss are logged from then on.
const LOG_THRESHOLD_FOR_CONNLOST_WRITES: usize = 5;

/// Whether `connection_lost` is due or done.
#[derive(Debug)]
pub(super) enum Lost {
    No,
    /// The driver calls `connection_lost` with this at its next step.
    Due(Option<io::Error>),
    Done,
}

/// The endpoint's mutable state, shared by the transport handles and the driver.
#[derive(Debug)]
pub(super) struct State<A> {
    /// Datagrams waiting for the socket to be writable, with their destinations.
    pub(super) buffer: VecDeque<(Box<[u8]>, A)>,
    pub(super) buffer_size: usize,
    /// The water marks of `buffer_size` for `pause_writing` / `resume_writing`.
    pub(super) high: usize,
    pub(super) low: usize,
    /// What the protocol was last told: paused for writing or not.
    pub(super) told_paused: bool,
    pub(super) closing: bool,
    pub(super) lost: Lost,
    /// Send errors for the driver to give to `error_received`.
    pub(super) errors: VecDeque<io::Error>,
    /// Sends dropped after the loss, for asyncio's warning.
    pub(super) sends_after_loss: usize,
    /// The driver task, woken when there is something for it to do.
    pub(super) driver: Option<Waker>,
    /// The task awaiting `create_datagram_endpoint`, woken after `connection_made`.
    pub(super) made_waiter: Option<Waker>,
    /// Whether the poller reports writability (only while the buffer is not empty).
    pub(super) write_interest: bool,
}

impl<A> State<A> {
    /// Nothing for the driver to do but receive: no error to deliver, no datagram to send,
    /// no flow control to tell, not closing.
    #[inline]
    pub(super) fn is_idle(&self) -> bool {
        self.buffer.is_empty()
            && self.errors.is_empty()
            && !self.told_paused
            && !self.closing
            && !self.write_interest
    }
}

/// One endpoint: the socket and its state.
#[derive(Debug)]
pub(super) struct Endpoint<A: DatagramAddr> {
    /// `None` once the driver closed it (after `connection_lost`).
    pub(super) sock: RefCell<Option<A::Socket>>,
    pub(super) sockname: Option<A>,
    pub(super) peername: Option<A>,
    pub(super) st: RefCell<State<A>>,
}

impl<A: DatagramAddr> Endpoint<A> {
    pub(super) fn new(sock: A::Socket) -> Rc<Endpoint<A>> {
        Rc::new(Endpoint {
            sockname: A::local_addr(&sock),
            peername: A::peer_addr(&sock),
            sock: RefCell::new(Some(sock)),
            st: RefCell::new(State {
                buffer: VecDeque::new(),
                buffer_size: 0,
                high: crate::streams::conn::DEFAULT_HIGH_WATER,
                low: crate::streams::conn::DEFAULT_HIGH_WATER / 4,
                told_paused: false,
                closing: false,
                lost: Lost::No,
                errors: VecDeque::new(),
                sends_after_loss: 0,
                driver: None,
                made_waiter: None,
                write_interest: false,
            }),
        })
    }

    /// Wakes the driver (after a borrow of the state ended: the wake may run anything).
    pub(super) fn wake_driver(&self) {
        let waker = self.st.borrow().driver.clone();
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// One send straight to the socket: `send` when connected, `send_to` otherwise.
    #[inline]
    pub(super) fn try_send(&self, data: &[u8], addr: &A) -> io::Result<()> {
        let sock = self.sock.borrow();
        let Some(sock) = sock.as_ref() else {
            return Err(io::ErrorKind::NotConnected.into());
        };
        let sent = if self.peername.is_some() {
            A::try_send(sock, data)
        } else {
            A::try_send_to(sock, data, addr)
        };
        sent.map(drop)
    }

    /// Closes without flushing (asyncio's `_force_close`): buffered datagrams are dropped
    /// and `connection_lost(exc)` is due, unless it already was.
    pub(super) fn force_close(&self, exc: Option<io::Error>) {
        let mut st = self.st.borrow_mut();
        if !matches!(st.lost, Lost::No) {
            return;
        }
        st.buffer.clear();
        st.buffer_size = 0;
        st.closing = true;
        st.lost = Lost::Due(exc);
        drop(st);
        self.wake_driver();
    }
}

/// The transport of a datagram endpoint (asyncio's `DatagramTransport`): a cheap `Clone`
/// handle to one socket, made by
/// [`LoopHandle::create_datagram_endpoint`](crate::LoopHandle::create_datagram_endpoint)
/// (UDP, `A` = `SocketAddr`) or
/// [`create_unix_datagram_endpoint`](crate::LoopHandle::create_unix_datagram_endpoint)
/// (`A` = `std::os::unix::net::SocketAddr`).
///
/// [`sendto`](Self::sendto) tries the socket at once and buffers the datagram only when the
/// socket's buffer is full, as asyncio does; the loop sends buffered datagrams in order when
/// the socket becomes writable. Use it on the loop's thread (it is not `Send`).
///
/// Dropping every handle does not close the endpoint: as in asyncio, the loop keeps it
/// receiving until [`close`](Self::close) or [`abort`](Self::abort).
///
/// # Examples
/// See [`DatagramProtocol`].
pub struct DatagramTransport<A: DatagramAddr = SocketAddr> {
    pub(super) ep: Rc<Endpoint<A>>,
}

impl<A: DatagramAddr> Clone for DatagramTransport<A> {
    fn clone(&self) -> Self {
        DatagramTransport {
            ep: self.ep.clone(),
        }
    }
}

impl<A: DatagramAddr> DatagramTransport<A> {
    /// Sends `data` as one datagram to `addr`, or to the peer of a connected endpoint
    /// (`None`). Never waits: when the socket cannot take it now, the datagram is buffered
    /// (see [`get_write_buffer_size`](Self::get_write_buffer_size)). A send that fails is
    /// reported to [`error_received`](DatagramProtocol::error_received) right after the
    /// current callback returns (asyncio calls it inside `sendto`). After
    /// [`close`](Self::close) or [`abort`](Self::abort) the datagram is dropped, and from the
    /// fifth on a warning is logged. An empty `data` is sent as an empty datagram (as
    /// Python 3.12 does).
    ///
    /// # Panics
    /// On a connected endpoint, given an address other than the peer's; on an unconnected
    /// one, given `None` (asyncio raises `ValueError` / `TypeError`).
    ///
    /// # Examples
    /// See [`DatagramProtocol`].
    pub fn sendto(&self, data: &[u8], addr: Option<A>) {
        let addr = match (&self.ep.peername, addr) {
            (Some(peer), None) => peer.clone(),
            (Some(peer), Some(a)) if a.same(peer) => a,
            (Some(peer), Some(a)) => {
                panic!("Invalid address {a:?}: must be None or {peer:?}")
            }
            (None, Some(a)) => a,
            (None, None) => panic!("sendto on an unconnected datagram transport needs an address"),
        };
        let mut st = self.ep.st.borrow_mut();
        if st.closing {
            st.sends_after_loss += 1;
            if st.sends_after_loss >= LOG_THRESHOLD_FOR_CONNLOST_WRITES {
                log::warn!("socket.send() raised exception.");
            }
            return;
        }
        if st.buffer.is_empty() {
            drop(st);
            match self.ep.try_send(data, &addr) {
                Ok(()) => return,
                Err(e) if is_retry(&e) => {}
                Err(e) => {
                    self.ep.st.borrow_mut().errors.push_back(e);
                    self.ep.wake_driver();
                    return;
                }
            }
            st = self.ep.st.borrow_mut();
        }
        st.buffer.push_back((data.into(), addr));
        st.buffer_size += data.len();
        drop(st);
        self.ep.wake_driver();
    }

    /// Closes the endpoint after the buffered datagrams are sent: receiving stops now, and
    /// [`connection_lost(None)`](DatagramProtocol::connection_lost) follows the last send.
    /// A second call does nothing.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// struct Quiet;
    /// impl asyncio::DatagramProtocol for Quiet {}
    /// let lp = asyncio::get_running_loop();
    /// let (t, _) = lp.create_datagram_endpoint(|| Quiet).local_addr(("127.0.0.1", 0)).await.unwrap();
    /// t.close();
    /// assert!(t.is_closing());
    /// # });
    /// ```
    pub fn close(&self) {
        let mut st = self.ep.st.borrow_mut();
        if st.closing {
            return;
        }
        st.closing = true;
        if st.buffer.is_empty() && matches!(st.lost, Lost::No) {
            st.lost = Lost::Due(None);
        }
        drop(st);
        self.ep.wake_driver();
    }

    /// Closes the endpoint at once, dropping buffered datagrams;
    /// [`connection_lost(None)`](DatagramProtocol::connection_lost) follows.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// struct Quiet;
    /// impl asyncio::DatagramProtocol for Quiet {}
    /// let lp = asyncio::get_running_loop();
    /// let (t, _) = lp.create_datagram_endpoint(|| Quiet).local_addr(("127.0.0.1", 0)).await.unwrap();
    /// t.abort();
    /// assert_eq!(t.get_write_buffer_size(), 0);
    /// # });
    /// ```
    pub fn abort(&self) {
        self.ep.force_close(None);
    }

    /// Whether [`close`](Self::close) or [`abort`](Self::abort) was called, or the endpoint
    /// was closed by a panicking callback.
    ///
    /// # Examples
    /// See [`close`](Self::close).
    pub fn is_closing(&self) -> bool {
        self.ep.st.borrow().closing
    }

    /// How many bytes of datagrams wait in the buffer.
    ///
    /// # Examples
    /// See [`abort`](Self::abort).
    pub fn get_write_buffer_size(&self) -> usize {
        self.ep.st.borrow().buffer_size
    }

    /// Sets the buffer's water marks, at which the protocol is told to
    /// [`pause_writing`](DatagramProtocol::pause_writing) and
    /// [`resume_writing`](DatagramProtocol::resume_writing): with only `high`, low is
    /// `high / 4`; with only `low`, high is `4 * low`; with neither, 64 KiB and 16 KiB.
    ///
    /// # Panics
    /// If `low > high` (asyncio's `ValueError`).
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// struct Quiet;
    /// impl asyncio::DatagramProtocol for Quiet {}
    /// let lp = asyncio::get_running_loop();
    /// let (t, _) = lp.create_datagram_endpoint(|| Quiet).local_addr(("127.0.0.1", 0)).await.unwrap();
    /// t.set_write_buffer_limits(Some(4096), None);
    /// assert_eq!(t.get_write_buffer_limits(), (1024, 4096));
    /// # });
    /// ```
    pub fn set_write_buffer_limits(&self, high: Option<usize>, low: Option<usize>) {
        let (high, low) = crate::streams::conn::water_marks(high, low);
        let mut st = self.ep.st.borrow_mut();
        st.high = high;
        st.low = low;
        drop(st);
        self.ep.wake_driver();
    }

    /// The `(low, high)` water marks (asyncio's `get_write_buffer_limits`).
    ///
    /// # Examples
    /// See [`set_write_buffer_limits`](Self::set_write_buffer_limits).
    pub fn get_write_buffer_limits(&self) -> (usize, usize) {
        let st = self.ep.st.borrow();
        (st.low, st.high)
    }

    /// The local address (asyncio's `get_extra_info("sockname")`).
    ///
    /// # Examples
    /// See [`DatagramProtocol`].
    pub fn sockname(&self) -> Option<A> {
        self.ep.sockname.clone()
    }

    /// The peer of a connected endpoint (asyncio's `get_extra_info("peername")`).
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// struct Quiet;
    /// impl asyncio::DatagramProtocol for Quiet {}
    /// let lp = asyncio::get_running_loop();
    /// let (t, _) = lp.create_datagram_endpoint(|| Quiet).remote_addr(("127.0.0.1", 9)).await.unwrap();
    /// assert_eq!(t.peername().unwrap().port(), 9);
    /// # });
    /// ```
    pub fn peername(&self) -> Option<A> {
        self.ep.peername.clone()
    }
}

impl DatagramTransport<SocketAddr> {
    /// Calls `f` with the socket (asyncio's `get_extra_info("socket")`), to read or set
    /// options; `None` once the endpoint is closed.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// struct Quiet;
    /// impl asyncio::DatagramProtocol for Quiet {}
    /// let lp = asyncio::get_running_loop();
    /// let (t, _) = lp.create_datagram_endpoint(|| Quiet).local_addr(("127.0.0.1", 0)).await.unwrap();
    /// t.with_socket(|s| s.set_ttl(3)).unwrap().unwrap();
    /// # });
    /// ```
    pub fn with_socket<R>(&self, f: impl FnOnce(&UdpSocket) -> R) -> Option<R> {
        self.ep.sock.borrow().as_ref().map(f)
    }
}

impl DatagramTransport<std::os::unix::net::SocketAddr> {
    /// Calls `f` with the Unix datagram socket (asyncio's `get_extra_info("socket")`);
    /// `None` once the endpoint is closed.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// struct Quiet;
    /// impl asyncio::DatagramProtocol<std::os::unix::net::SocketAddr> for Quiet {}
    /// let lp = asyncio::get_running_loop();
    /// let (t, _) = lp.create_unix_datagram_endpoint(|| Quiet).await.unwrap();
    /// assert!(t.with_socket(|s| s.local_addr().unwrap().is_unnamed()).unwrap());
    /// # });
    /// ```
    pub fn with_socket<R>(&self, f: impl FnOnce(&UnixDatagram) -> R) -> Option<R> {
        self.ep.sock.borrow().as_ref().map(f)
    }
}

impl<A: DatagramAddr> fmt::Debug for DatagramTransport<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.ep.st.borrow();
        f.debug_struct("DatagramTransport")
            .field("sockname", &self.ep.sockname)
            .field("peername", &self.ep.peername)
            .field("closing", &st.closing)
            .field("buffered", &st.buffer_size)
            .finish()
    }
}

/// `WouldBlock` (or an interrupted call): the datagram waits for writability.
pub(super) fn is_retry(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
    )
}

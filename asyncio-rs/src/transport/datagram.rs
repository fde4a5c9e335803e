//! asyncio's datagram transport (`_SelectorDatagramTransport`), native: `sendto` tries the
//! socket first and queues what it refuses, and the driver reads datagrams and calls the
//! protocol's `datagram_received` / `error_received` from Rust.
//!
//! `DatagramTransport` is the state and the methods; the Python class the protocol sees,
//! `asyncio_rs._datagram._DatagramTransport`, binds them in its instance dictionary.
//! IPv4 datagrams are sent and received with the system calls directly; other families
//! (IPv6, `AF_UNIX`) and addresses that are not numeric IPv4 (host names, say) go through
//! the Python socket's `sendto` / `recvfrom`, for its address parsing and its errors.

use crate::loop_core::{os_error, CoreLoop, Local};
use crate::thread_bound::ThreadBound;
use crate::transport::conn::{is_exit, Conn};
use crate::transport::driver::{self, Drive, Driver};
use crate::transport::io::{self, would_block};
use asyncio::embed::FdReadiness;
use pyo3::exceptions::PyValueError;
use pyo3::exceptions::{PyBlockingIOError, PyInterruptedError, PyOSError, PyTypeError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyMemoryView, PyString, PyTuple};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::RawFd;
use std::rc::Rc;

/// asyncio's `max_size`: the largest datagram read whole (a longer one is truncated).
const MAX_SIZE: usize = 256 * 1024;

/// Datagrams read per readiness before the loop runs its other callbacks; the driver comes
/// back at the next turn while the socket may hold more.
const READS_PER_TURN: usize = 32;

const READ_READY: &str = "_DatagramTransport._read_ready()";

thread_local! {
    /// Where datagrams land before they are copied into an exact `bytes`: one loop reads one
    /// datagram at a time, and a fresh object of `MAX_SIZE` each time would be an `mmap`.
    static RECV_BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// A datagram `sendto` could not send at once: its bytes are in the connection's write
/// buffer (so that `get_write_buffer_size` and the water marks count bytes, as asyncio's).
struct Queued {
    len: usize,
    addr: Option<Py<PyAny>>,
}

pub(crate) struct Dgram {
    conn: Conn,
    queue: RefCell<VecDeque<Queued>>,
    /// `AF_INET`: numeric addresses are sent to and read from natively.
    inet: bool,
    /// The socket is connected (`peername`): `send` rather than `sendto`.
    connected: bool,
    /// Python 3.13's transport: empty datagrams are sent, and each queued one counts 8 bytes
    /// of header in `get_write_buffer_size` (3.11's drops empty ones, counts data only).
    py313: bool,
    /// `remote_addr`: `sendto` refuses another address.
    address: Option<Py<PyAny>>,
    datagram_received: RefCell<Option<Py<PyAny>>>,
    /// The last sender and its Python address, reused while the sender stays the same.
    last_peer: RefCell<Option<(SocketAddrV4, Py<PyAny>)>>,
}

enum Outcome<T> {
    Done(T),
    WouldBlock,
    Failed(PyErr),
}

impl<T> From<std::io::Result<T>> for Outcome<T> {
    fn from(r: std::io::Result<T>) -> Self {
        match r {
            Ok(v) => Outcome::Done(v),
            Err(e) if would_block(&e) => Outcome::WouldBlock,
            Err(e) => Outcome::Failed(os_error(e)),
        }
    }
}

fn from_python<T>(py: Python<'_>, r: PyResult<T>) -> Outcome<T> {
    match r {
        Ok(v) => Outcome::Done(v),
        Err(e)
            if e.is_instance_of::<PyBlockingIOError>(py)
                || e.is_instance_of::<PyInterruptedError>(py) =>
        {
            Outcome::WouldBlock
        }
        Err(e) => Outcome::Failed(e),
    }
}

/// A numeric IPv4 `(host, port)`, or `None` for what Python's socket must parse.
fn inet_target(addr: &Bound<'_, PyAny>) -> Option<SocketAddrV4> {
    let t = addr.cast::<PyTuple>().ok()?;
    if t.len() != 2 {
        return None;
    }
    let host = t.get_item(0).ok()?;
    let ip: Ipv4Addr = host.cast::<PyString>().ok()?.to_str().ok()?.parse().ok()?;
    let port: u16 = t.get_item(1).ok()?.extract().ok()?;
    Some(SocketAddrV4::new(ip, port))
}

fn sockaddr(addr: &SocketAddrV4) -> libc::sockaddr_in {
    libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: addr.port().to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(*addr.ip()).to_be(),
        },
        sin_zero: [0; 8],
    }
}

fn sendto(fd: RawFd, data: &[u8], to: &SocketAddrV4) -> std::io::Result<usize> {
    let sa = sockaddr(to);
    loop {
        // SAFETY: `data` is valid for reads of its length and `sa` is a `sockaddr_in` of the
        // size given, both for the call's duration.
        let n = unsafe {
            libc::sendto(
                fd,
                data.as_ptr().cast(),
                data.len(),
                0,
                (&sa as *const libc::sockaddr_in).cast(),
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// `recvfrom(2)` into `buf`: the length read and the sender, if an IPv4 one.
fn recvfrom(fd: RawFd, buf: &mut [u8]) -> std::io::Result<(usize, Option<SocketAddrV4>)> {
    loop {
        // SAFETY: all-zero is a valid `sockaddr_in` (a plain C struct).
        let mut sa: libc::sockaddr_in = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        // SAFETY: `buf` is valid for writes of its length, `sa` for `len` bytes, and `len`
        // for the kernel's write of the address length, for the call's duration.
        let n = unsafe {
            libc::recvfrom(
                fd,
                buf.as_mut_ptr().cast(),
                buf.len(),
                0,
                (&mut sa as *mut libc::sockaddr_in).cast(),
                &mut len,
            )
        };
        if n >= 0 {
            let from = (sa.sin_family == libc::AF_INET as libc::sa_family_t).then(|| {
                SocketAddrV4::new(
                    Ipv4Addr::from(u32::from_be(sa.sin_addr.s_addr)),
                    u16::from_be(sa.sin_port),
                )
            });
            return Ok((n as usize, from));
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

impl Dgram {
    fn sock(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.conn.sock.borrow().as_ref().map(|s| s.clone_ref(py))
    }

    /// One datagram, to `addr` (or the connected peer).
    fn send_one(
        &self,
        py: Python<'_>,
        data: &Bound<'_, PyBytes>,
        addr: Option<&Bound<'_, PyAny>>,
    ) -> Outcome<()> {
        if self.connected {
            return io::send(self.conn.fd, data.as_bytes()).map(drop).into();
        }
        if self.inet {
            if let Some(to) = addr.and_then(inet_target) {
                return sendto(self.conn.fd, data.as_bytes(), &to).map(drop).into();
            }
        }
        let Some(sock) = self.sock(py) else {
            return Outcome::Failed(os_error(std::io::Error::from_raw_os_error(libc::EBADF)));
        };
        let none = py.None().into_bound(py);
        let sent = sock
            .bind(py)
            .call_method1(intern!(py, "sendto"), (data, addr.unwrap_or(&none)));
        from_python(py, sent.map(drop))
    }

    /// One datagram and its sender's address.
    fn recv_one<'py>(&self, py: Python<'py>) -> Outcome<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
        if !self.inet {
            let Some(sock) = self.sock(py) else {
                return Outcome::WouldBlock;
            };
            let got = sock
                .bind(py)
                .call_method1(intern!(py, "recvfrom"), (MAX_SIZE,))
                .and_then(|t| {
                    let t = t.cast_into::<PyTuple>()?;
                    Ok((t.get_item(0)?, t.get_item(1)?))
                });
            return from_python(py, got);
        }
        let got = RECV_BUF.with(|buf| {
            let mut buf = buf.borrow_mut();
            if buf.len() < MAX_SIZE {
                buf.resize(MAX_SIZE, 0);
            }
            recvfrom(self.conn.fd, &mut buf)
                .map(|(n, from)| (PyBytes::new(py, &buf[..n]).into_any(), from))
        });
        match Outcome::from(got) {
            Outcome::Done((data, from)) => match self.peer(py, from) {
                Ok(addr) => Outcome::Done((data, addr)),
                Err(e) => Outcome::Failed(e),
            },
            Outcome::WouldBlock => Outcome::WouldBlock,
            Outcome::Failed(e) => Outcome::Failed(e),
        }
    }

    /// `(host, port)` as Python's socket gives it.
    fn peer<'py>(
        &self,
        py: Python<'py>,
        from: Option<SocketAddrV4>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let Some(from) = from else {
            return Ok(py.None().into_bound(py));
        };
        if let Some((last, addr)) = &*self.last_peer.borrow() {
            if *last == from {
                return Ok(addr.bind(py).clone());
            }
        }
        let addr = (from.ip().to_string(), from.port())
            .into_pyobject(py)?
            .into_any();
        *self.last_peer.borrow_mut() = Some((from, addr.clone().unbind()));
        Ok(addr)
    }

    /// `protocol.error_received(exc)`, from the driver.
    fn error_received(&self, py: Python<'_>, exc: PyErr) -> PyResult<()> {
        let protocol = self.conn.protocol(py);
        self.conn.call_reported(py, READ_READY, || {
            protocol
                .bind(py)
                .call_method1(intern!(py, "error_received"), (exc.value(py),))
                .map(drop)
        })
    }

    /// asyncio's `_read_ready`, in a loop: up to `READS_PER_TURN` datagrams.
    fn read_ready(&self, py: Python<'_>) -> PyResult<()> {
        for _ in 0..READS_PER_TURN {
            if !self.wants_read() {
                return Ok(());
            }
            match self.recv_one(py) {
                Outcome::WouldBlock => {
                    driver::clear(&self.conn, false);
                    return Ok(());
                }
                Outcome::Failed(e) if e.is_instance_of::<PyOSError>(py) => {
                    self.error_received(py, e)?;
                }
                Outcome::Failed(e) if is_exit(py, &e) => return Err(e),
                Outcome::Failed(e) => {
                    return driver::fatal(
                        py,
                        &self.conn,
                        e,
                        "Fatal read error on datagram transport",
                    )
                }
                Outcome::Done((data, addr)) => {
                    let received = self
                        .datagram_received
                        .borrow()
                        .as_ref()
                        .map(|f| f.clone_ref(py));
                    let Some(received) = received else {
                        return Ok(());
                    };
                    self.conn.call_reported(py, READ_READY, || {
                        received.bind(py).call1((data, addr)).map(drop)
                    })?;
                }
            }
        }
        Ok(())
    }

    /// asyncio's `_sendto_ready`: sends the queue in order until the socket refuses.
    fn sendto_ready(&self, py: Python<'_>) -> PyResult<()> {
        const WHAT: &str = "_DatagramTransport._sendto_ready()";
        loop {
            let (data, addr) = {
                let queue = self.queue.borrow();
                let Some(front) = queue.front() else { break };
                let buffer = self.conn.buffer.borrow();
                let Some(bytes) = buffer.unsent().get(..front.len) else {
                    break; // dropped by a fatal error: nothing more to send
                };
                let data = PyBytes::new(py, bytes);
                (data, front.addr.as_ref().map(|a| a.bind(py).clone()))
            };
            let sent = self.send_one(py, &data, addr.as_ref());
            if let Outcome::WouldBlock = sent {
                driver::clear(&self.conn, true);
                break;
            }
            // Sent or failed, the datagram leaves the queue, as asyncio's.
            if let Some(q) = self.queue.borrow_mut().pop_front() {
                self.conn.buffer.borrow_mut().consume(q.len);
            }
            match sent {
                Outcome::Failed(e) if e.is_instance_of::<PyOSError>(py) => {
                    let protocol = self.conn.protocol(py);
                    return self.conn.call_reported(py, WHAT, || {
                        protocol
                            .bind(py)
                            .call_method1(intern!(py, "error_received"), (e.value(py),))
                            .map(drop)
                    });
                }
                Outcome::Failed(e) if is_exit(py, &e) => return Err(e),
                Outcome::Failed(e) => {
                    return driver::fatal(
                        py,
                        &self.conn,
                        e,
                        "Fatal write error on datagram transport",
                    )
                }
                _ => {}
            }
        }
        self.conn.maybe_resume_protocol(py)?;
        if self.queue.borrow().is_empty() && self.conn.closing.get() {
            let none = py.None().into_bound(py);
            self.conn
                .call_reported(py, WHAT, || self.conn.connection_lost(py, &none))?;
        }
        Ok(())
    }
}

impl Drive for Dgram {
    fn conn(&self) -> &Conn {
        &self.conn
    }

    fn wants_read(&self) -> bool {
        self.conn.wants_read()
    }

    fn wants_write(&self) -> bool {
        // The queue, not the buffer: an empty datagram has no bytes.
        self.conn.conn_lost.get() == 0 && !self.queue.borrow().is_empty()
    }

    fn turn(&self, py: Python<'_>, _local: &Local) -> PyResult<()> {
        let ready = |write| {
            self.conn
                .io
                .borrow()
                .as_ref()
                .is_some_and(|io| io.is_ready(write))
        };
        if self.wants_write() && ready(true) {
            self.sendto_ready(py)?;
        }
        if self.wants_read() && ready(false) {
            self.read_ready(py)?;
        }
        Ok(())
    }
}

#[pyclass(frozen, module = "asyncio_rs._native")]
pub(crate) struct DatagramTransport {
    d: ThreadBound<Rc<Dgram>>,
}

impl DatagramTransport {
    fn d(&self) -> PyResult<&Rc<Dgram>> {
        self.d.get()
    }
}

#[pymethods]
impl DatagramTransport {
    /// Registers `sock`'s fd with `loop`'s reactor and starts the transport's driver;
    /// `address` is `remote_addr`, `connected` whether the socket has a peer.
    #[new]
    #[pyo3(signature = (loop_, sock, protocol, transport, address=None, connected=false, py313=false))]
    fn new(
        loop_: &Bound<'_, PyAny>,
        sock: &Bound<'_, PyAny>,
        protocol: &Bound<'_, PyAny>,
        transport: &Bound<'_, PyAny>,
        address: Option<&Bound<'_, PyAny>>,
        connected: bool,
        py313: bool,
    ) -> PyResult<Self> {
        let py = loop_.py();
        let local = loop_.cast::<CoreLoop>()?.get().local.get()?.clone();
        let fd: RawFd = sock.call_method0(intern!(py, "fileno"))?.extract()?;
        let family: i32 = sock.getattr(intern!(py, "family"))?.extract()?;
        let io = local
            .lp
            .entered(|| FdReadiness::new(fd))
            .map_err(os_error)?;
        let conn = Conn::new(py, fd, io, &local, loop_, sock, transport)?;
        let d = Rc::new(Dgram {
            conn,
            queue: RefCell::default(),
            inet: family == libc::AF_INET,
            connected,
            py313,
            address: address.filter(|a| !a.is_none()).map(|a| a.clone().unbind()),
            datagram_received: RefCell::new(None),
            last_peer: RefCell::new(None),
        });
        set_protocol(&d, protocol)?;
        local.lp.spawn(Driver { conn: d.clone() });
        Ok(DatagramTransport {
            d: ThreadBound::new(d),
        })
    }

    /// asyncio's `sendto`: sent now if nothing is queued, else queued (a copy) for when the
    /// socket is writable. An `OSError` of the send goes to `protocol.error_received`.
    #[pyo3(signature = (data, addr=None))]
    fn sendto(&self, data: &Bound<'_, PyAny>, addr: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let py = data.py();
        let d = self.d()?;
        let conn = &d.conn;
        let bytes = if let Ok(b) = data.cast::<PyBytes>() {
            b.clone()
        } else if data.is_instance_of::<PyByteArray>() || data.is_instance_of::<PyMemoryView>() {
            py.get_type::<PyBytes>()
                .call1((data,))?
                .cast_into::<PyBytes>()?
        } else {
            return Err(PyTypeError::new_err(format!(
                "data argument must be a bytes-like object, not {}",
                data.get_type().name()?.repr()?
            )));
        };
        if bytes.as_bytes().is_empty() && !d.py313 {
            return Ok(());
        }
        let mut addr = addr.filter(|a| !a.is_none()).cloned();
        if let Some(address) = &d.address {
            let address = address.bind(py);
            if let Some(a) = &addr {
                if !a.is(address) && !a.eq(address)? {
                    return Err(PyValueError::new_err(format!(
                        "Invalid address: must be None or {}",
                        address.str()?
                    )));
                }
            }
            addr = Some(address.clone());
        }
        // After `close()` or a fatal error: counted and dropped, as asyncio does for a
        // connected transport (its unconnected one still sends until the socket is closed,
        // and then fails on it).
        if conn.conn_lost.get() != 0 {
            return conn.write_after_lost(py);
        }
        if d.queue.borrow().is_empty() {
            match d.send_one(py, &bytes, addr.as_ref()) {
                Outcome::Done(()) => return Ok(()),
                // The driver now waits for the socket to take the queue.
                Outcome::WouldBlock => conn.wake(),
                Outcome::Failed(e) if e.is_instance_of::<PyOSError>(py) => {
                    let protocol = conn.protocol(py);
                    return protocol
                        .bind(py)
                        .call_method1(intern!(py, "error_received"), (e.value(py),))
                        .map(drop);
                }
                Outcome::Failed(e) if is_exit(py, &e) => return Err(e),
                Outcome::Failed(e) => {
                    return conn.fatal_error(py, e, "Fatal write error on datagram transport")
                }
            }
        }
        conn.buffer.borrow_mut().extend(bytes.as_bytes());
        d.queue.borrow_mut().push_back(Queued {
            len: bytes.as_bytes().len(),
            addr: addr.map(Bound::unbind),
        });
        conn.maybe_pause_protocol(py)
    }

    /// Stops reading; `connection_lost(None)` once the queue is sent.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        self.d()?.conn.close(py)
    }

    /// Closes at once: the queue is dropped; `connection_lost(None)` at the next turn.
    fn abort(&self, py: Python<'_>) -> PyResult<()> {
        self.d()?.clear_queue();
        self.d()?.conn.force_close(py, None)
    }

    #[pyo3(signature = (exc=None))]
    fn _force_close(&self, exc: Option<&Bound<'_, PyAny>>, py: Python<'_>) -> PyResult<()> {
        let d = self.d()?;
        d.clear_queue();
        d.conn
            .force_close(py, exc.filter(|e| !e.is_none()).cloned())
    }

    #[pyo3(signature = (exc, message="Fatal error on transport"))]
    fn _fatal_error(&self, exc: &Bound<'_, PyAny>, message: &str) -> PyResult<()> {
        let d = self.d()?;
        d.clear_queue();
        d.conn
            .fatal_error(exc.py(), PyErr::from_value(exc.clone()), message)
    }

    fn is_closing(&self) -> PyResult<bool> {
        Ok(self.d()?.conn.closing.get())
    }

    fn get_write_buffer_size(&self) -> PyResult<usize> {
        let d = self.d()?;
        let header = if d.py313 {
            8 * d.queue.borrow().len()
        } else {
            0
        };
        Ok(d.conn.buffer.borrow().len() + header)
    }

    /// `(low, high)`.
    fn get_write_buffer_limits(&self) -> PyResult<(usize, usize)> {
        let conn = &self.d()?.conn;
        Ok((conn.low_water.get(), conn.high_water.get()))
    }

    #[pyo3(signature = (high=None, low=None))]
    fn set_write_buffer_limits(
        &self,
        py: Python<'_>,
        high: Option<i64>,
        low: Option<i64>,
    ) -> PyResult<()> {
        self.d()?.conn.set_write_buffer_limits(py, high, low)
    }

    fn set_protocol(&self, protocol: &Bound<'_, PyAny>) -> PyResult<()> {
        set_protocol(self.d()?, protocol)
    }

    fn get_protocol(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(self.d()?.conn.protocol(py))
    }

    #[getter]
    fn _protocol_paused(&self) -> PyResult<bool> {
        Ok(self.d()?.conn.protocol_paused.get())
    }

    /// After `connection_made`: reading starts.
    fn _start_reading(&self) -> PyResult<()> {
        let conn = &self.d()?.conn;
        conn.started.set(true);
        conn.wake();
        Ok(())
    }

    #[pyo3(signature = (exc=None))]
    fn _call_connection_lost(
        &self,
        py: Python<'_>,
        exc: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let none = py.None().into_bound(py);
        let d = self.d()?;
        d.clear_queue();
        drop(d.datagram_received.borrow_mut().take());
        d.conn.connection_lost(py, exc.unwrap_or(&none))
    }

    /// The references of a transport no longer driven (its loop closed while it was open).
    fn __traverse__(&self, visit: pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        let Some(d) = self.d.try_get() else {
            return Ok(());
        };
        if d.conn.driven.get() {
            return Ok(());
        }
        d.conn.traverse(&visit)?;
        if let Ok(f) = d.datagram_received.try_borrow() {
            visit.call(&*f)?;
        }
        Ok(())
    }

    fn __clear__(&self) {
        if let Some(d) = self.d.try_get() {
            d.conn.clear();
            if let Ok(mut f) = d.datagram_received.try_borrow_mut() {
                drop(f.take());
            }
        }
    }

    /// For `__repr__`: (lost, closing, reading, writing, buffer size).
    fn _state(&self) -> PyResult<(bool, bool, bool, bool, usize)> {
        let d = self.d()?;
        Ok((
            d.conn.finished.get(),
            d.conn.closing.get(),
            d.wants_read(),
            d.wants_write(),
            d.conn.buffer.borrow().len(),
        ))
    }
}

impl Dgram {
    fn clear_queue(&self) {
        if self.conn.conn_lost.get() == 0 {
            self.queue.borrow_mut().clear();
        }
    }
}

fn set_protocol(d: &Dgram, protocol: &Bound<'_, PyAny>) -> PyResult<()> {
    let py = protocol.py();
    let received = protocol.getattr(intern!(py, "datagram_received"))?;
    *d.datagram_received.borrow_mut() = Some(received.unbind());
    *d.conn.protocol.borrow_mut() = Some(protocol.clone().unbind());
    Ok(())
}

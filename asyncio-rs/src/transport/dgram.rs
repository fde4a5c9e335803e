//! A datagram socket's state and I/O, asyncio's `_SelectorDatagramTransport`: `sendto`'s
//! queue, the reads that call `datagram_received` / `error_received`, and the driver's turn.
//! The Python-facing methods are in `datagram.rs`.
//!
//! IPv4 datagrams are sent and received with the system calls directly (`inet.rs`); other
//! families (IPv6, `AF_UNIX`) and addresses that are not numeric IPv4 (host names, say) go
//! through the Python socket's `sendto` / `recvfrom`, for its address parsing and its errors.

use crate::loop_core::{os_error, Local};
use crate::transport::conn::{is_exit, Conn};
use crate::transport::driver::{self, Drive};
use crate::transport::inet::{inet_target, recvfrom, sendto};
use crate::transport::io::{self, would_block};
use crate::transport::shell::Transport;
use pyo3::exceptions::{PyBlockingIOError, PyInterruptedError, PyOSError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::net::SocketAddrV4;

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
pub(crate) struct Queued {
    pub(crate) len: usize,
    pub(crate) addr: Option<Py<PyAny>>,
}

pub(crate) struct Dgram {
    pub(crate) conn: Conn,
    pub(crate) queue: RefCell<VecDeque<Queued>>,
    /// `AF_INET`: numeric addresses are sent to and read from natively.
    pub(crate) inet: bool,
    /// The socket is connected (`peername`): `send` rather than `sendto`.
    pub(crate) connected: bool,
    /// Python 3.13's transport: empty datagrams are sent, and each queued one counts 8 bytes
    /// of header in `get_write_buffer_size` (3.11's drops empty ones, counts data only).
    pub(crate) py313: bool,
    /// `remote_addr`: `sendto` refuses another address.
    pub(crate) address: Option<Py<PyAny>>,
    pub(crate) datagram_received: RefCell<Option<Py<PyAny>>>,
    /// The last sender and its Python address, reused while the sender stays the same.
    pub(crate) last_peer: RefCell<Option<(SocketAddrV4, Py<PyAny>)>>,
}

pub(crate) enum Outcome<T> {
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

impl Dgram {
    fn sock(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.conn.sock.borrow().as_ref().map(|s| s.clone_ref(py))
    }

    /// One datagram, to `addr` (or the connected peer).
    pub(crate) fn send_one(
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
        if self.wants_write() && driver::ready(&self.conn, true) {
            self.sendto_ready(py)?;
        }
        if self.wants_read() && driver::ready(&self.conn, false) {
            self.read_ready(py)?;
        }
        Ok(())
    }
}

impl Dgram {
    pub(crate) fn clear_queue(&self) {
        if self.conn.conn_lost.get() == 0 {
            self.queue.borrow_mut().clear();
        }
    }
}

impl Transport for Dgram {
    fn set_protocol(&self, protocol: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = protocol.py();
        let received = protocol.getattr(intern!(py, "datagram_received"))?;
        *self.datagram_received.borrow_mut() = Some(received.unbind());
        *self.conn.protocol.borrow_mut() = Some(protocol.clone().unbind());
        Ok(())
    }

    fn received(&self) -> Option<&RefCell<Option<Py<PyAny>>>> {
        Some(&self.datagram_received)
    }

    /// Python 3.13's counts 8 bytes of header per queued datagram.
    fn write_buffer_size(&self) -> usize {
        let header = if self.py313 {
            8 * self.queue.borrow().len()
        } else {
            0
        };
        self.conn.buffer.borrow().len() + header
    }

    fn connection_lost(&self, py: Python<'_>, exc: &Bound<'_, PyAny>) -> PyResult<()> {
        self.clear_queue();
        drop(self.datagram_received.borrow_mut().take());
        self.conn.connection_lost(py, exc)
    }
}

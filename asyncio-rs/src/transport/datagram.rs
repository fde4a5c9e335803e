//! asyncio's datagram transport (`_SelectorDatagramTransport`), native: the methods the
//! protocol calls (`sendto`, `close`, `abort`, the water marks), over the state and I/O in
//! `dgram.rs`. The Python class the protocol sees, `asyncio_rs._datagram._DatagramTransport`,
//! binds them in its instance dictionary.

use crate::loop_core::{os_error, CoreLoop};
use crate::transport::conn::{is_exit, Conn};
use crate::transport::dgram::{Dgram, Outcome, Queued};
use crate::transport::shell::{bytes_of, register, shell_methods, Shell, Transport};
use pyo3::exceptions::{PyOSError, PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use std::cell::RefCell;
use std::os::fd::RawFd;
use std::rc::Rc;

#[pyclass(frozen, module = "asyncio_rs._native")]
pub(crate) struct DatagramTransport {
    shell: Shell<Dgram>,
}

shell_methods!(DatagramTransport);

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
        let core = loop_.cast::<CoreLoop>()?;
        let local = CoreLoop::local_of(core)?.clone();
        let fd: RawFd = sock.call_method0(intern!(py, "fileno"))?.extract()?;
        let family: i32 = sock.getattr(intern!(py, "family"))?.extract()?;
        let io = register(&local, fd).map_err(os_error)?;
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
        d.set_protocol(protocol)?;
        Ok(DatagramTransport {
            shell: Shell::start(core, &local, d),
        })
    }

    /// asyncio's `sendto`: sent now if nothing is queued, else queued (a copy) for when the
    /// socket is writable. An `OSError` of the send goes to `protocol.error_received`.
    #[pyo3(signature = (data, addr=None))]
    fn sendto(&self, data: &Bound<'_, PyAny>, addr: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let py = data.py();
        let d = self.shell.get()?;
        let conn = &d.conn;
        let Some(bytes) = bytes_of(data)? else {
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
        // connected transport. Its unconnected one still sends while the socket is open (until
        // `connection_lost`), and so does this one; after that, asyncio fails on the closed
        // socket (`AttributeError`), and this one counts and drops.
        if conn.conn_lost.get() != 0 && (d.address.is_some() || conn.finished.get()) {
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

    /// Closes at once: the queue is dropped; `connection_lost(None)` at the next turn.
    fn abort(&self, py: Python<'_>) -> PyResult<()> {
        self.shell.get()?.clear_queue();
        self.shell.get()?.conn.force_close(py, None)
    }

    #[pyo3(signature = (exc=None))]
    fn _force_close(&self, exc: Option<&Bound<'_, PyAny>>, py: Python<'_>) -> PyResult<()> {
        let d = self.shell.get()?;
        d.clear_queue();
        d.conn
            .force_close(py, exc.filter(|e| !e.is_none()).cloned())
    }

    #[pyo3(signature = (exc, message="Fatal error on transport"))]
    fn _fatal_error(&self, exc: &Bound<'_, PyAny>, message: &str) -> PyResult<()> {
        let d = self.shell.get()?;
        d.clear_queue();
        d.conn
            .fatal_error(exc.py(), PyErr::from_value(exc.clone()), message)
    }
}

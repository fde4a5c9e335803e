//! asyncio's socket transport (`_SelectorSocketTransport`), native: reads, writes and the
//! protocol's callbacks are driven from Rust on the loop's reactor.
//!
//! `SocketTransport` is the state and the hot methods; the Python class the protocol sees,
//! `asyncio_rs._loop._SocketTransport`, subclasses asyncio's `Transport` (for `isinstance`,
//! `get_extra_info`) and puts these methods, bound, in its instance dictionary. The Python
//! socket stays Python's: the transport keeps it, uses its fd and closes it when the
//! connection is lost.

mod accept;
mod conn;
mod datagram;
mod dgram;
mod driver;
mod inet;
mod io;
mod pipe;
mod pipe_end;
mod shell;
mod stream_feed;

pub(crate) use datagram::DatagramTransport;
pub(crate) use pipe::PipeTransport;

use crate::loop_core::{os_error, CoreLoop};
pub(crate) use accept::Acceptor;
use conn::Conn;
use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyMemoryView};
use shell::{register, shell_methods, Shell, Transport};
use std::os::fd::RawFd;
use std::rc::Rc;

/// `_FlowControlMixin`'s default high-water mark.
pub(crate) const DEFAULT_HIGH_WATER: usize = 64 * 1024;

#[pyclass(frozen, module = "asyncio_rs._native")]
pub(crate) struct SocketTransport {
    shell: Shell<Conn>,
}

impl Transport for Conn {
    fn set_protocol(&self, protocol: &Bound<'_, PyAny>) -> PyResult<()> {
        Conn::set_protocol(self, protocol)
    }

    /// Reading starts, and asyncio's streams get their native methods (`stream_feed`).
    fn start_reading(&self, py: Python<'_>) -> PyResult<()> {
        self.started.set(true);
        self.wake();
        stream_feed::connection_made(py, self)
    }
}

shell_methods!(SocketTransport);

#[pymethods]
impl SocketTransport {
    /// Registers `sock`'s fd with `loop`'s reactor and starts the connection's driver; the
    /// Python transport `transport` schedules `connection_made` and `_start_reading`.
    /// `detach_with_transport`: the server's `_detach` takes the transport (Python 3.13+).
    #[new]
    #[pyo3(signature = (loop_, sock, protocol, transport, server=None, detach_with_transport=false))]
    fn new(
        loop_: &Bound<'_, PyAny>,
        sock: &Bound<'_, PyAny>,
        protocol: &Bound<'_, PyAny>,
        transport: &Bound<'_, PyAny>,
        server: Option<&Bound<'_, PyAny>>,
        detach_with_transport: bool,
    ) -> PyResult<Self> {
        let py = loop_.py();
        let core = loop_.cast::<CoreLoop>()?;
        let local = CoreLoop::local_of(core)?.clone();
        let fd: RawFd = sock.call_method0(intern!(py, "fileno"))?.extract()?;
        let io = register(&local, fd).map_err(os_error)?;
        let mut conn = Conn::new(py, fd, io, &local, loop_, sock, transport)?;
        *conn.server.get_mut() = server.filter(|s| !s.is_none()).map(|s| s.clone().unbind());
        conn.detach_with_transport = detach_with_transport;
        let conn = Rc::new(conn);
        conn.set_protocol(protocol)?;
        Ok(SocketTransport {
            shell: Shell::start(core, &local, conn),
        })
    }

    /// Sends `data` now if the buffer is empty; what the socket does not take is buffered
    /// and sent when it becomes writable (asyncio's `write`).
    fn write(&self, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = data.py();
        let conn = self.shell.conn()?;
        let owned;
        let bytes: &[u8] = if let Ok(b) = data.cast::<PyBytes>() {
            b.as_bytes()
        } else if data.is_instance_of::<PyByteArray>() || data.is_instance_of::<PyMemoryView>() {
            owned = PyBytes::new(py, b"").call_method1(intern!(py, "join"), ((data,),))?;
            owned.cast::<PyBytes>()?.as_bytes()
        } else {
            // asyncio's wording, which 3.14 changed.
            let what = if py.version_info() >= (3, 14) {
                "a bytes, bytearray, or memoryview object"
            } else {
                "a bytes-like object"
            };
            return Err(PyTypeError::new_err(format!(
                "data argument must be {what}, not '{}'",
                data.get_type().name()?
            )));
        };
        self.write_bytes(py, conn, bytes, "write")
    }

    /// `write(b"".join(list_of_data))`, as asyncio's `Transport.writelines`.
    fn writelines(&self, list_of_data: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = list_of_data.py();
        let conn = self.shell.conn()?;
        let joined = PyBytes::new(py, b"").call_method1(intern!(py, "join"), (list_of_data,))?;
        self.write_bytes(py, conn, joined.cast::<PyBytes>()?.as_bytes(), "writelines")
    }

    /// Closes the write half once the buffer is flushed.
    fn write_eof(&self) -> PyResult<()> {
        let conn = self.shell.conn()?;
        if conn.closing.get() || conn.eof.get() {
            return Ok(());
        }
        conn.eof.set(true);
        if conn.buffer.borrow().is_empty() {
            io::shutdown_write(conn.fd).map_err(os_error)?;
        }
        Ok(())
    }

    fn can_write_eof(&self) -> bool {
        true
    }

    /// Closes at once: the buffer is dropped; `connection_lost(None)` at the next turn.
    fn abort(&self, py: Python<'_>) -> PyResult<()> {
        self.shell.conn()?.force_close(py, None)
    }

    #[pyo3(signature = (exc=None))]
    fn _force_close(&self, exc: Option<&Bound<'_, PyAny>>, py: Python<'_>) -> PyResult<()> {
        self.shell
            .conn()?
            .force_close(py, exc.filter(|e| !e.is_none()).cloned())
    }

    #[pyo3(signature = (exc, message="Fatal error on transport"))]
    fn _fatal_error(&self, exc: &Bound<'_, PyAny>, message: &str) -> PyResult<()> {
        let py = exc.py();
        self.shell
            .conn()?
            .fatal_error(py, PyErr::from_value(exc.clone()), message)
    }

    /// A future done when the write buffer is empty, for `loop.sendfile`; `write()` is
    /// refused until `_reset_empty_waiter`.
    fn _make_empty_waiter(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let conn = self.shell.conn()?;
        if conn.empty_waiter.borrow().is_some() {
            return Err(PyRuntimeError::new_err("Empty waiter is already set"));
        }
        let waiter = conn
            .loop_
            .bind(py)
            .call_method0(intern!(py, "create_future"))?;
        *conn.empty_waiter.borrow_mut() = Some(waiter.clone().unbind());
        if conn.buffer.borrow().is_empty() {
            waiter.call_method1(intern!(py, "set_result"), (py.None(),))?;
        }
        Ok(waiter.unbind())
    }

    fn _reset_empty_waiter(&self) -> PyResult<()> {
        self.shell.conn()?.empty_waiter.borrow_mut().take();
        Ok(())
    }

    /// Takes the fd off the reactor, for `loop.sock_sendfile`'s own watch of it; the write
    /// buffer is empty and reading paused meanwhile.
    fn _detach(&self) -> PyResult<()> {
        drop(self.shell.conn()?.io.borrow_mut().take());
        Ok(())
    }

    /// Puts the fd back on the reactor after `_detach`.
    fn _attach(&self) -> PyResult<()> {
        let conn = self.shell.conn()?;
        if conn.finished.get() || conn.io.borrow().is_some() {
            return Ok(());
        }
        let Some(local) = conn.local.upgrade() else {
            return Ok(());
        };
        let io = register(&local, conn.fd).map_err(os_error)?;
        *conn.io.borrow_mut() = Some(io);
        conn.wake();
        Ok(())
    }
}

impl SocketTransport {
    /// `what`: the method called, for asyncio's error messages.
    fn write_bytes(&self, py: Python<'_>, conn: &Conn, data: &[u8], what: &str) -> PyResult<()> {
        if conn.eof.get() {
            return Err(PyRuntimeError::new_err(format!(
                "Cannot call {what}() after write_eof()"
            )));
        }
        if conn.empty_waiter.borrow().is_some() {
            return Err(PyRuntimeError::new_err(format!(
                "unable to {what}; sendfile is in progress"
            )));
        }
        if data.is_empty() {
            return Ok(());
        }
        if conn.conn_lost.get() != 0 {
            return conn.write_after_lost(py);
        }
        let mut rest = data;
        if conn.buffer.borrow().is_empty() {
            match io::send(conn.fd, data) {
                Ok(n) if n == data.len() => return Ok(()),
                Ok(n) => rest = &data[n..],
                Err(e) if io::would_block(&e) => {}
                Err(e) => {
                    return driver::fatal(
                        py,
                        conn,
                        os_error(e),
                        "Fatal write error on socket transport",
                    )
                }
            }
            // The driver now waits for the socket to take the rest.
            conn.wake();
        }
        conn.buffer.borrow_mut().extend(rest);
        conn.maybe_pause_protocol(py)
    }
}

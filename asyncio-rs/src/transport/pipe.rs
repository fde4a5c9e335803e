//! asyncio's pipe transports (`unix_events._UnixReadPipeTransport` and
//! `_UnixWritePipeTransport`), native: the methods the protocol calls (`write`, `close`,
//! `abort`, reading paused, the water marks), over the state and I/O in `pipe_end.rs`. The
//! Python classes the protocol sees are in `asyncio_rs._pipe`.

use crate::loop_core::{os_error, CoreLoop};
use crate::transport::conn::Conn;
use crate::transport::io::{self, would_block};
use crate::transport::pipe_end::{Pipe, LOG_THRESHOLD_FOR_CONNLOST_WRITES};
use crate::transport::shell::{bytes_of, register, shell_methods, Shell, Transport};
use pyo3::exceptions::PyAssertionError;
use pyo3::intern;
use pyo3::prelude::*;
use std::cell::RefCell;
use std::os::fd::{AsRawFd, RawFd};
use std::rc::Rc;

#[pyclass(frozen, module = "asyncio_rs._native")]
pub(crate) struct PipeTransport {
    shell: Shell<Pipe>,
}

shell_methods!(PipeTransport);

#[pymethods]
impl PipeTransport {
    /// Registers `pipe`'s fd (non-blocking already) with `loop`'s reactor and starts the
    /// driver; `write`: the write end, `watch_read`: watched for its reader closing.
    #[new]
    #[pyo3(signature = (loop_, pipe, protocol, transport, write, watch_read))]
    fn new(
        loop_: &Bound<'_, PyAny>,
        pipe: &Bound<'_, PyAny>,
        protocol: &Bound<'_, PyAny>,
        transport: &Bound<'_, PyAny>,
        write: bool,
        watch_read: bool,
    ) -> PyResult<Self> {
        let py = loop_.py();
        let core = loop_.cast::<CoreLoop>()?;
        let local = CoreLoop::local_of(core)?.clone();
        let fd: RawFd = pipe.call_method0(intern!(py, "fileno"))?.extract()?;
        let mut dup = None;
        let io = match register(&local, fd) {
            Ok(io) => io,
            // The fd is another transport's already (a pty read and written through one
            // fd, as asyncio's selector allows): this one works on a duplicate, which
            // shares the open file, and closes it when done.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                // SAFETY: `fd` is the open fd of `pipe` (the reactor just found it
                // registered), which keeps it open across this call.
                let own = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) }
                    .try_clone_to_owned()
                    .map_err(os_error)?;
                let io = register(&local, own.as_raw_fd()).map_err(os_error)?;
                dup = Some(own);
                io
            }
            Err(e) => return Err(os_error(e)),
        };
        let io_fd = dup.as_ref().map_or(fd, |d| d.as_raw_fd());
        let conn = Conn::new(py, io_fd, io, &local, loop_, pipe, transport)?;
        let p = Rc::new(Pipe {
            conn,
            write,
            watch_read,
            data_received: RefCell::new(None),
            dup: RefCell::new(dup),
        });
        p.set_protocol(protocol)?;
        Ok(PipeTransport {
            shell: Shell::start(core, &local, p),
        })
    }

    /// asyncio's write end `write`: written now if the buffer is empty; the rest is
    /// buffered until the pipe is writable.
    fn write(&self, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = data.py();
        let p = self.shell.get()?;
        let conn = &p.conn;
        let Some(bytes) = bytes_of(data)? else {
            return Err(PyAssertionError::new_err(data.repr()?.to_string()));
        };
        let bytes = bytes.as_bytes();
        if bytes.is_empty() {
            return Ok(());
        }
        if conn.conn_lost.get() != 0 || conn.closing.get() {
            // (Counted once the connection is lost: before, the buffer still flushes.)
            if conn.conn_lost.get() != 0 {
                if conn.conn_lost.get() >= LOG_THRESHOLD_FOR_CONNLOST_WRITES {
                    py.import(intern!(py, "asyncio.log"))?
                        .getattr(intern!(py, "logger"))?
                        .call_method1(
                            intern!(py, "warning"),
                            ("pipe closed by peer or os.write(pipe, data) raised exception.",),
                        )?;
                }
                conn.conn_lost.set(conn.conn_lost.get() + 1);
            }
            return Ok(());
        }
        let mut rest = bytes;
        if conn.buffer.borrow().is_empty() {
            match io::write(conn.fd, bytes) {
                Ok(n) if n == bytes.len() => return Ok(()),
                Ok(n) => rest = &bytes[n..],
                Err(e) if would_block(&e) => {}
                Err(e) => {
                    return conn.fatal_error(py, os_error(e), "Fatal write error on pipe transport")
                }
            }
            conn.wake();
        }
        conn.buffer.borrow_mut().extend(rest);
        conn.maybe_pause_protocol(py)
    }

    fn can_write_eof(&self) -> bool {
        true
    }

    /// Closes at once, dropping the buffer; `connection_lost(None)` at the next turn.
    fn abort(&self, py: Python<'_>) -> PyResult<()> {
        self.shell.get()?.conn.force_close(py, None)
    }

    #[pyo3(signature = (exc, message="Fatal error on pipe transport"))]
    fn _fatal_error(&self, exc: &Bound<'_, PyAny>, message: &str) -> PyResult<()> {
        let py = exc.py();
        let p = self.shell.get()?;
        let exc = PyErr::from_value(exc.clone());
        if p.write {
            p.conn.fatal_error(py, exc, message)
        } else {
            p.read_fatal(py, exc, message)
        }
    }
}

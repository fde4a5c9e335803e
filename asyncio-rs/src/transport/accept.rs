//! asyncio's accept loop (`_accept_connection` and `_accept_connection2`), native: a
//! listening socket's reader accepts with `accept4` in Rust, up to `backlog` connections per
//! readiness, and makes each connection's protocol and `_SocketTransport` at once, without
//! the task per connection asyncio spends on it.
//!
//! The `Acceptor` is the listening fd's reader callback, registered with the loop's own
//! `_add_reader`: asyncio's `Server` stops it as it stops its own
//! (`loop._stop_serving(sock)` calls `_remove_reader`), and `_watch_mask` sees it.

use crate::handle::{copy_context, in_context};
use crate::loop_core::os_error;
use crate::transport::conn::is_exit;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};
use std::io;
use std::mem::{size_of, MaybeUninit};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::RawFd;

#[pyclass(frozen, module = "asyncio_rs._native")]
pub(crate) struct Acceptor {
    loop_: Py<PyAny>,
    /// The listening socket (Python's), kept for its fd and the error reports.
    sock: Py<PyAny>,
    fd: RawFd,
    /// The listening socket's family, type and proto, which accepted sockets share.
    family: i32,
    kind: i32,
    proto: i32,
    protocol_factory: Py<PyAny>,
    server: Py<PyAny>,
    backlog: usize,
    /// `socket.socket`, which wraps each accepted fd.
    socket_class: Py<PyAny>,
    /// `asyncio_rs._transport._SocketTransport`.
    transport_class: Py<PyAny>,
}

/// An accepted connection: its fd and the peer's address.
struct Accepted {
    fd: RawFd,
    addr: libc::sockaddr_storage,
    len: libc::socklen_t,
}

fn accept(listener: RawFd) -> io::Result<Accepted> {
    let mut addr = MaybeUninit::<libc::sockaddr_storage>::zeroed();
    let mut len = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: `addr` is valid for writes of `len` bytes, and `len` for one write; the kernel
    // writes at most `len` bytes of address.
    let fd = unsafe {
        libc::accept4(
            listener,
            addr.as_mut_ptr().cast(),
            &mut len,
            libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: zeroed storage is a valid `sockaddr_storage`; the kernel filled its start.
    let addr = unsafe { addr.assume_init() };
    Ok(Accepted { fd, addr, len })
}

/// The accepted socket's own address (`getsockname()`), if the call succeeds.
fn local_address(fd: RawFd) -> Option<Accepted> {
    let mut addr = MaybeUninit::<libc::sockaddr_storage>::zeroed();
    let mut len = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: as in `accept`: `addr` is valid for writes of `len` bytes.
    if unsafe { libc::getsockname(fd, addr.as_mut_ptr().cast(), &mut len) } < 0 {
        return None;
    }
    // SAFETY: zeroed storage is a valid `sockaddr_storage`; the kernel filled its start.
    let addr = unsafe { addr.assume_init() };
    Some(Accepted { fd, addr, len })
}

/// asyncio's `_set_nodelay`, for a connection accepted from `listener`'s kind of socket.
fn set_nodelay(listener: &Acceptor, fd: RawFd) {
    let tcp = matches!(listener.family, libc::AF_INET | libc::AF_INET6)
        && listener.kind == libc::SOCK_STREAM
        && listener.proto == libc::IPPROTO_TCP;
    if tcp {
        let one: libc::c_int = 1;
        // SAFETY: `one` is valid for reads of its size for the call's duration.
        unsafe {
            libc::setsockopt(
                fd,
                libc::IPPROTO_TCP,
                libc::TCP_NODELAY,
                (&one as *const libc::c_int).cast(),
                size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
    }
}

/// An address as CPython's `socket` methods give it, or `None` for a family it does not
/// know here (the transport then asks the socket itself).
fn py_address<'py>(py: Python<'py>, a: &Accepted) -> PyResult<Option<Bound<'py, PyAny>>> {
    let storage: *const libc::sockaddr_storage = &a.addr;
    Ok(Some(match i32::from(a.addr.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a `sockaddr_in`, which it can hold.
            let sin = unsafe { &*storage.cast::<libc::sockaddr_in>() };
            let ip = Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
            (ip.to_string(), u16::from_be(sin.sin_port))
                .into_pyobject(py)?
                .into_any()
        }
        libc::AF_INET6 => {
            // SAFETY: as above, for `sockaddr_in6`.
            let sin6 = unsafe { &*storage.cast::<libc::sockaddr_in6>() };
            if sin6.sin6_scope_id != 0 {
                // CPython writes the scope into the host (`fe80::1%eth0`): the socket says it.
                return Ok(None);
            }
            let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
            let port = u16::from_be(sin6.sin6_port);
            let flow = u32::from_be(sin6.sin6_flowinfo);
            (ip.to_string(), port, flow, sin6.sin6_scope_id)
                .into_pyobject(py)?
                .into_any()
        }
        libc::AF_UNIX => {
            // SAFETY: as above, for `sockaddr_un`.
            let sun = unsafe { &*storage.cast::<libc::sockaddr_un>() };
            let start = size_of::<libc::sa_family_t>();
            let n = (a.len as usize)
                .saturating_sub(start)
                .min(sun.sun_path.len());
            let path: Vec<u8> = sun.sun_path[..n].iter().map(|&c| c as u8).collect();
            if path.first() == Some(&0) {
                // Linux's abstract namespace: bytes, as CPython gives them.
                PyBytes::new(py, &path).into_any()
            } else {
                let end = path.iter().position(|&c| c == 0).unwrap_or(path.len());
                match std::str::from_utf8(&path[..end]) {
                    Ok(s) => PyString::new(py, s).into_any(),
                    Err(_) => py
                        .import(intern!(py, "os"))?
                        .call_method1(intern!(py, "fsdecode"), (PyBytes::new(py, &path[..end]),))?,
                }
            }
        }
        _ => return Ok(None),
    }))
}

fn is_out_of_resources(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// The accept buffer is empty, or the one connection at its head went away: asyncio stops
/// this readiness's accepting there.
fn ends_the_batch(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EAGAIN | libc::EINTR | libc::ECONNABORTED)
    ) || e.kind() == io::ErrorKind::WouldBlock
}

#[pymethods]
impl Acceptor {
    /// The reader of `sock` (a listening stream socket, non-blocking) that makes a
    /// `transport_class(loop, conn, protocol_factory(), None, extra, server, False)` for
    /// each connection accepted (`extra`: its `peername` and `sockname`; `False`: the
    /// transport need not set `TCP_NODELAY`, done here).
    #[new]
    fn new(
        loop_: &Bound<'_, PyAny>,
        sock: &Bound<'_, PyAny>,
        protocol_factory: &Bound<'_, PyAny>,
        server: &Bound<'_, PyAny>,
        backlog: usize,
        transport_class: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        let py = loop_.py();
        let int = |name| -> PyResult<i32> { sock.getattr(name)?.extract() };
        Ok(Acceptor {
            loop_: loop_.clone().unbind(),
            sock: sock.clone().unbind(),
            fd: sock.call_method0(intern!(py, "fileno"))?.extract()?,
            family: int(intern!(py, "family"))?,
            kind: int(intern!(py, "type"))?,
            proto: int(intern!(py, "proto"))?,
            protocol_factory: protocol_factory.clone().unbind(),
            server: server.clone().unbind(),
            backlog: backlog.max(1),
            socket_class: py.import("socket")?.getattr("socket")?.unbind(),
            transport_class: transport_class.clone().unbind(),
        })
    }

    /// One readiness of the listening socket: accepts up to `backlog` connections. An
    /// unexpected `accept` error is raised, for the loop's exception handler as in asyncio.
    fn __call__(slf: &Bound<'_, Self>) -> PyResult<()> {
        let this = slf.get();
        let py = slf.py();
        // The whole batch is accepted before any protocol is made, as asyncio accepts it
        // before its tasks make them: a factory that closes the server must not leave this
        // loop calling accept4 on a closed fd, whose number may be reused already.
        let mut batch = Vec::new();
        let mut failed = None;
        for _ in 0..this.backlog {
            match accept(this.fd) {
                Ok(conn) => batch.push(conn),
                Err(e) if ends_the_batch(&e) => break,
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        let mut batch = batch.into_iter();
        for conn in batch.by_ref() {
            if let Err(e) = this.connection(py, conn) {
                for unmade in batch {
                    // SAFETY: the fd is ours alone: no Python socket took it.
                    unsafe { libc::close(unmade.fd) };
                }
                return Err(e);
            }
        }
        match failed {
            None => Ok(()),
            Some(e) if is_out_of_resources(&e) => Self::out_of_resources(slf, e),
            Some(e) => Err(os_error(e)),
        }
    }

    /// After `ACCEPT_RETRY_DELAY`: accepting again, unless the server closed the socket.
    fn _resume(slf: &Bound<'_, Self>) -> PyResult<()> {
        let py = slf.py();
        let this = slf.get();
        let fd: RawFd = this
            .sock
            .bind(py)
            .call_method0(intern!(py, "fileno"))?
            .extract()?;
        if fd < 0
            || this
                .loop_
                .bind(py)
                .call_method0(intern!(py, "is_closed"))?
                .is_truthy()?
        {
            return Ok(());
        }
        this.loop_
            .bind(py)
            .call_method1(intern!(py, "_add_reader"), (fd, slf))?;
        Ok(())
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!("<Acceptor {}>", self.sock.bind(py).repr()?))
    }
}

impl Acceptor {
    /// asyncio's `_accept_connection2`, without its task: the protocol and the transport
    /// are made in a copy of the reader's context, as asyncio's task makes them in its own.
    /// A failure goes to the exception handler and closes the connection; only
    /// `KeyboardInterrupt` and `SystemExit` are returned.
    fn connection(&self, py: Python<'_>, conn: Accepted) -> PyResult<()> {
        let loop_ = self.loop_.bind(py);
        let made = self.socket_class.bind(py).call1((
            self.family,
            self.kind | libc::SOCK_NONBLOCK,
            self.proto,
            conn.fd,
        ));
        let sock = match made {
            Ok(sock) => sock,
            Err(e) => {
                // SAFETY: `conn.fd` is ours alone: no Python socket took it.
                unsafe { libc::close(conn.fd) };
                return self.report(py, e, None);
            }
        };
        set_nodelay(self, conn.fd);
        let mut protocol = None;
        let made = (|| {
            let peer = py_address(py, &conn)?;
            if loop_.call_method0(intern!(py, "get_debug"))?.is_truthy()? {
                py.import(intern!(py, "asyncio.log"))?
                    .getattr(intern!(py, "logger"))?
                    .call_method1(
                        intern!(py, "debug"),
                        (
                            "%r got a new connection from %r: %r",
                            &self.server,
                            &peer,
                            &sock,
                        ),
                    )?;
            }
            let extra = PyDict::new(py);
            if let Some(peer) = peer {
                extra.set_item(intern!(py, "peername"), peer)?;
            }
            if let Some(local) = local_address(conn.fd) {
                if let Some(local) = py_address(py, &local)? {
                    extra.set_item(intern!(py, "sockname"), local)?;
                }
            }
            in_context(py, &copy_context(py)?, || {
                let p = self.protocol_factory.bind(py).call0()?;
                protocol = Some(p.clone());
                self.transport_class
                    .bind(py)
                    .call1((loop_, &sock, p, py.None(), extra, &self.server, false))
                    .map(drop)
            })
        })();
        let Err(e) = made else { return Ok(()) };
        let closed = sock.call_method0(intern!(py, "close"));
        if is_exit(py, &e) {
            return Err(e);
        }
        self.report(py, e, protocol)?;
        closed.map(drop)
    }

    /// asyncio's report of a failed incoming connection (which asyncio makes in debug mode
    /// only; a protocol factory that raises is a bug worth seeing).
    fn report(&self, py: Python<'_>, e: PyErr, protocol: Option<Bound<'_, PyAny>>) -> PyResult<()> {
        if is_exit(py, &e) {
            return Err(e);
        }
        let context = PyDict::new(py);
        context.set_item(
            "message",
            "Error on transport creation for incoming connection",
        )?;
        context.set_item("exception", e.value(py))?;
        if let Some(p) = protocol {
            context.set_item("protocol", p)?;
        }
        self.loop_
            .bind(py)
            .call_method1(intern!(py, "call_exception_handler"), (context,))?;
        Ok(())
    }

    /// asyncio's answer to `EMFILE` and the like: reported, and the listening socket left
    /// alone for `ACCEPT_RETRY_DELAY` (Linux keeps saying it is readable meanwhile).
    fn out_of_resources(slf: &Bound<'_, Self>, e: io::Error) -> PyResult<()> {
        let py = slf.py();
        let this = slf.get();
        let loop_ = this.loop_.bind(py);
        let sock = py
            .import(intern!(py, "asyncio.trsock"))?
            .getattr(intern!(py, "TransportSocket"))?
            .call1((this.sock.bind(py),))?;
        let context = PyDict::new(py);
        context.set_item("message", "socket.accept() out of system resource")?;
        context.set_item("exception", os_error(e).value(py))?;
        context.set_item("socket", sock)?;
        loop_.call_method1(intern!(py, "call_exception_handler"), (context,))?;
        loop_.call_method1(intern!(py, "_remove_reader"), (this.fd,))?;
        let delay = py
            .import(intern!(py, "asyncio.constants"))?
            .getattr(intern!(py, "ACCEPT_RETRY_DELAY"))?;
        let resume = slf.getattr(intern!(py, "_resume"))?;
        loop_.call_method1(intern!(py, "call_later"), (delay, resume))?;
        Ok(())
    }
}

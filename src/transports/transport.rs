//! `Transport`: the protocol's handle on its connection (asyncio's `Transport`).

use crate::StreamAddr;
use crate::streams::conn::{Conn, water_marks};
use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;
use std::task::Waker;

/// What the transport handles share with the connection's driver task.
pub(crate) struct Shared {
    pub(crate) conn: Rc<Conn>,
    /// `pause_reading` was called and `resume_reading` not yet.
    pub(crate) reading_paused: Cell<bool>,
    /// The driver, to wake when reading resumes.
    pub(crate) driver: RefCell<Option<Waker>>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        // The loop keeps the connection, but nobody can close it any more.
        if !self.conn.is_closing() {
            crate::runtime::debug::warn_unclosed(|| "transport <Transport>".to_owned());
        }
    }
}

/// A stream connection as a protocol sees it (asyncio's `Transport`): a cheap `Clone` handle,
/// given to [`Protocol::connection_made`](crate::Protocol::connection_made) and returned by
/// [`create_connection`](crate::LoopHandle::create_connection).
///
/// It has the streams' write semantics: [`write`](Self::write) never waits, sends what the
/// socket takes and buffers the rest for the loop to send; the protocol's
/// [`pause_writing`](crate::Protocol::pause_writing) and
/// [`resume_writing`](crate::Protocol::resume_writing) are the flow control. Its methods only
/// change the connection's state: they never call the protocol, so they may be called from
/// inside a callback.
///
/// Dropping every handle does not close the connection: as in asyncio, the loop keeps it
/// (and reads it) until [`close`](Self::close), [`abort`](Self::abort) or its loss.
///
/// # Examples
/// See [`Protocol`](crate::Protocol).
#[derive(Clone)]
pub struct Transport {
    pub(crate) shared: Rc<Shared>,
}

impl Transport {
    pub(crate) fn new(conn: Rc<Conn>) -> Transport {
        Transport {
            shared: Rc::new(Shared {
                conn,
                reading_paused: Cell::new(false),
                driver: RefCell::new(None),
            }),
        }
    }

    fn conn(&self) -> &Rc<Conn> {
        &self.shared.conn
    }

    /// Sends `data`, buffering what the socket does not take now; never waits. Data written
    /// after [`close`](Self::close), [`write_eof`](Self::write_eof), or once the connection is
    /// lost, is dropped (asyncio logs a warning after a few such writes; after `write_eof` an
    /// error is logged, where asyncio raises `RuntimeError`).
    ///
    /// # Examples
    /// See [`Protocol`](crate::Protocol).
    pub fn write(&self, data: &[u8]) {
        self.conn().write(data);
    }

    /// Writes each item in turn (asyncio's `writelines`).
    ///
    /// # Examples
    /// ```
    /// # use asyncio::{Protocol, Transport};
    /// struct Greeter;
    /// impl Protocol for Greeter {
    ///     fn connection_made(&mut self, t: Transport) {
    ///         t.writelines([&b"hello "[..], b"world\n"]);
    ///     }
    /// }
    /// # asyncio::run(async {
    /// let (a, b) = asyncio::net::UnixStream::pair()?;
    /// let (_t, _p) = asyncio::get_running_loop().connect_accepted_socket(|| Greeter, a).await?;
    /// let (mut reader, _w) = asyncio::open_socket(b);
    /// assert_eq!(reader.readline().await?, b"hello world\n");
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn writelines<I>(&self, lines: I)
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        for line in lines {
            self.write(line.as_ref());
        }
    }

    /// Shuts the write half once the buffer is sent: the peer reads end of stream and can
    /// still answer (asyncio's `write_eof`). Not over TLS (see
    /// [`can_write_eof`](Self::can_write_eof)), where an error is logged instead.
    ///
    /// # Examples
    /// ```
    /// # use asyncio::{Protocol, Transport};
    /// struct Ask;
    /// impl Protocol for Ask {
    ///     fn connection_made(&mut self, t: Transport) {
    ///         t.write(b"question");
    ///         t.write_eof();
    ///     }
    ///     fn eof_received(&mut self) -> bool { false }
    /// }
    /// # asyncio::run(async {
    /// let (a, b) = asyncio::net::UnixStream::pair()?;
    /// let (_t, _p) = asyncio::get_running_loop().connect_accepted_socket(|| Ask, a).await?;
    /// let (mut reader, _w) = asyncio::open_socket(b);
    /// assert_eq!(reader.read_to_end().await?, b"question");
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn write_eof(&self) {
        self.conn().write_eof();
    }

    /// Whether [`write_eof`](Self::write_eof) is supported: true for TCP and Unix sockets,
    /// false over TLS (as asyncio's SSL transport).
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// # struct Quiet;
    /// # impl asyncio::Protocol for Quiet {}
    /// let (a, _b) = asyncio::net::UnixStream::pair()?;
    /// let (t, _p) = asyncio::get_running_loop().connect_accepted_socket(|| Quiet, a).await?;
    /// assert!(t.can_write_eof());
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn can_write_eof(&self) -> bool {
        self.conn().can_write_eof()
    }

    /// Closes the connection once the buffer is sent (asyncio's `close`): reading stops now,
    /// and [`connection_lost(None)`](crate::Protocol::connection_lost) follows the last send.
    /// Over TLS, `close_notify` is sent too, within the shutdown timeout (see
    /// [`StreamWriter::close`](crate::StreamWriter::close)). A second call does nothing.
    ///
    /// # Examples
    /// See [`Protocol`](crate::Protocol).
    pub fn close(&self) {
        self.conn().close();
    }

    /// Closes the connection at once, dropping what is buffered; the peer sees a reset
    /// (asyncio's `abort`). [`connection_lost(None)`](crate::Protocol::connection_lost)
    /// follows.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// # struct Quiet;
    /// # impl asyncio::Protocol for Quiet {}
    /// let (a, _b) = asyncio::net::UnixStream::pair()?;
    /// let (t, _p) = asyncio::get_running_loop().connect_accepted_socket(|| Quiet, a).await?;
    /// t.abort();
    /// assert!(t.is_closing());
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn abort(&self) {
        self.conn().abort();
    }

    /// Whether the connection is closing or closed (asyncio's `is_closing`).
    ///
    /// # Examples
    /// See [`abort`](Self::abort).
    pub fn is_closing(&self) -> bool {
        self.conn().is_closing()
    }

    /// Stops reading: no [`data_received`](crate::Protocol::data_received) until
    /// [`resume_reading`](Self::resume_reading); what the peer sends meanwhile waits in the
    /// kernel, and TCP holds the peer back. Does nothing if not reading.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// # struct Quiet;
    /// # impl asyncio::Protocol for Quiet {}
    /// let (a, _b) = asyncio::net::UnixStream::pair()?;
    /// let (t, _p) = asyncio::get_running_loop().connect_accepted_socket(|| Quiet, a).await?;
    /// t.pause_reading();
    /// assert!(!t.is_reading());
    /// t.resume_reading();
    /// assert!(t.is_reading());
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn pause_reading(&self) {
        if self.is_reading() {
            self.shared.reading_paused.set(true);
        }
    }

    /// Reads again after [`pause_reading`](Self::pause_reading). Does nothing if the
    /// connection is closing or reading already.
    ///
    /// # Examples
    /// See [`pause_reading`](Self::pause_reading).
    pub fn resume_reading(&self) {
        if self.is_closing() || !self.shared.reading_paused.get() {
            return;
        }
        self.shared.reading_paused.set(false);
        let driver = self.shared.driver.borrow_mut().take();
        if let Some(driver) = driver {
            driver.wake();
        }
    }

    /// Whether the connection is read (neither paused nor closing; asyncio's
    /// `is_reading`).
    ///
    /// # Examples
    /// See [`pause_reading`](Self::pause_reading).
    pub fn is_reading(&self) -> bool {
        !self.shared.reading_paused.get() && !self.is_closing()
    }

    /// Sets the write buffer's water marks, at which the protocol is told to
    /// [`pause_writing`](crate::Protocol::pause_writing) and
    /// [`resume_writing`](crate::Protocol::resume_writing): with only `high`, low is
    /// `high / 4`; with only `low`, high is `4 * low`; with neither, 64 KiB and 16 KiB.
    ///
    /// # Panics
    /// If `low > high` (asyncio's `ValueError`).
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// # struct Quiet;
    /// # impl asyncio::Protocol for Quiet {}
    /// let (a, _b) = asyncio::net::UnixStream::pair()?;
    /// let (t, _p) = asyncio::get_running_loop().connect_accepted_socket(|| Quiet, a).await?;
    /// t.set_write_buffer_limits(Some(1024), None);
    /// assert_eq!(t.get_write_buffer_limits(), (256, 1024));
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn set_write_buffer_limits(&self, high: Option<usize>, low: Option<usize>) {
        let (high, low) = water_marks(high, low);
        self.conn().set_write_buffer_limits(high, low);
    }

    /// The `(low, high)` water marks (asyncio's `get_write_buffer_limits`).
    ///
    /// # Examples
    /// See [`set_write_buffer_limits`](Self::set_write_buffer_limits).
    pub fn get_write_buffer_limits(&self) -> (usize, usize) {
        self.conn().write_buffer_limits()
    }

    /// Bytes written and not yet sent (asyncio's `get_write_buffer_size`).
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// # struct Quiet;
    /// # impl asyncio::Protocol for Quiet {}
    /// let (a, _b) = asyncio::net::UnixStream::pair()?;
    /// let (t, _p) = asyncio::get_running_loop().connect_accepted_socket(|| Quiet, a).await?;
    /// t.write(b"x");
    /// assert_eq!(t.get_write_buffer_size(), 0); // the socket took it at once
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn get_write_buffer_size(&self) -> usize {
        self.conn().write_buffer_size()
    }

    /// The peer's address (asyncio's `get_extra_info("peername")`).
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// # struct Quiet;
    /// # impl asyncio::Protocol for Quiet {}
    /// let (a, _b) = asyncio::net::UnixStream::pair()?;
    /// let (t, _p) = asyncio::get_running_loop().connect_accepted_socket(|| Quiet, a).await?;
    /// assert_eq!(t.peername(), Some(asyncio::StreamAddr::Unix(None)));
    /// assert_eq!(t.sockname(), Some(asyncio::StreamAddr::Unix(None)));
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn peername(&self) -> Option<StreamAddr> {
        self.conn().peer()
    }

    /// The local address (asyncio's `get_extra_info("sockname")`).
    ///
    /// # Examples
    /// See [`peername`](Self::peername).
    pub fn sockname(&self) -> Option<StreamAddr> {
        self.conn().local()
    }

    /// The connection's socket, as a file descriptor (asyncio's
    /// `get_extra_info("socket").fileno()`; the socket under TLS); `None` once the
    /// connection is lost. For socket options (`socket2::SockRef::from(&BorrowedFd)`): the
    /// transport owns it, so borrow it and do not close it, nor read or write it past the
    /// transport.
    ///
    /// # Examples
    /// ```
    /// use std::os::fd::BorrowedFd;
    /// # asyncio::run(async {
    /// # struct Quiet;
    /// # impl asyncio::Protocol for Quiet {}
    /// let (a, _b) = asyncio::net::UnixStream::pair()?;
    /// let (t, _p) = asyncio::get_running_loop().connect_accepted_socket(|| Quiet, a).await?;
    /// let fd = t.socket_fd().unwrap();
    /// // SAFETY: the transport is open, so its socket is.
    /// let sock = unsafe { BorrowedFd::borrow_raw(fd) };
    /// assert!(socket2::SockRef::from(&sock).send_buffer_size()? > 0);
    /// t.abort();
    /// assert_eq!(t.socket_fd(), None);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn socket_fd(&self) -> Option<std::os::fd::RawFd> {
        self.conn().raw_fd()
    }

    /// The peer's certificate, DER-encoded, over TLS (asyncio's
    /// `get_extra_info("peercert")`, in Python's `binary_form`); `None` without TLS or
    /// without a certificate (a client that sent none).
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// # struct Quiet;
    /// # impl asyncio::Protocol for Quiet {}
    /// let (a, _b) = asyncio::net::UnixStream::pair()?;
    /// let (t, _p) = asyncio::get_running_loop().connect_accepted_socket(|| Quiet, a).await?;
    /// assert_eq!(t.peercert(), None); // no TLS
    /// assert_eq!(t.cipher(), None);
    /// assert_eq!(t.selected_alpn_protocol(), None);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    #[cfg(feature = "tls")]
    pub fn peercert(&self) -> Option<Vec<u8>> {
        self.conn()
            .with_tls(|tls| tls.peer_certificates()?.first().map(|c| c.to_vec()))
            .flatten()
    }

    /// The negotiated cipher suite's name over TLS, as rustls names it
    /// (`"TLS13_AES_256_GCM_SHA384"`; asyncio's `get_extra_info("cipher")[0]`).
    ///
    /// # Examples
    /// See [`peercert`](Self::peercert).
    #[cfg(feature = "tls")]
    pub fn cipher(&self) -> Option<String> {
        self.conn()
            .with_tls(|tls| {
                let suite = tls.negotiated_cipher_suite()?.suite();
                Some(
                    suite
                        .as_str()
                        .map_or_else(|| format!("{suite:?}"), str::to_owned),
                )
            })
            .flatten()
    }

    /// The protocol chosen by ALPN over TLS (asyncio's
    /// `get_extra_info("ssl_object").selected_alpn_protocol()`).
    ///
    /// # Examples
    /// See [`peercert`](Self::peercert).
    #[cfg(feature = "tls")]
    pub fn selected_alpn_protocol(&self) -> Option<Vec<u8>> {
        self.conn()
            .with_tls(|tls| tls.alpn_protocol().map(<[u8]>::to_vec))
            .flatten()
    }
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("peername", &self.peername())
            .field("closing", &self.is_closing())
            .field("reading", &self.is_reading())
            .field("buffered", &self.get_write_buffer_size())
            .finish()
    }
}

//! `Conn`: one stream connection (asyncio's selector socket transport and the protocol half
//! that the writer needs).
//!
//! # States
//! Open → (optionally) write side shut (`write_eof`) → closing (`close`: the write buffer is
//! still being flushed) → lost (the socket is closed; `lost_err` says why, if by an error).
//! Lost is final. Whoever loses the connection (a close that finished flushing, `abort`, an
//! I/O error on either side, or the last handle dropped) wakes every drainer and every
//! `wait_closed`, and tells the server the connection is gone.
//!
//! # Who reads, who writes
//! The reader reads the socket lazily, in its own task, only when an operation needs more
//! bytes: a reader that does not read leaves the bytes in the kernel, so a fast sender is
//! held back by TCP itself. Writes go straight to the socket while nothing is buffered
//! (asyncio tries `send` first too); what the socket does not take is buffered and sent by a
//! flusher task that lives only while the buffer, or the records TLS made on its own (while
//! reading, or `close_notify`), are not all sent.

use super::addr::StreamAddr;
use super::buffer::{READ_CHUNK, ReadBuf};
use super::error::SavedError;
use super::server::ServerLink;
use super::sock::CanWriteEof;

mod sendfile;
pub(crate) use super::sock::Sock;
use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::io;
use std::net::Shutdown;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};

/// asyncio's default high-water mark; the low-water mark is a quarter of it.
pub(crate) const DEFAULT_HIGH_WATER: usize = 64 * 1024;

/// Seconds a TLS close may take to flush `close_notify` (and the data before it) before the
/// connection is aborted: asyncio's default `ssl_shutdown_timeout`.
#[cfg(feature = "tls")]
pub(crate) const TLS_SHUTDOWN_TIMEOUT: f64 = 30.0;

/// The `(high, low)` water marks asyncio derives from `set_write_buffer_limits(high, low)`:
/// with only `high`, low is `high / 4`; with only `low`, high is `4 * low`; with neither, the
/// defaults.
///
/// # Panics
/// If `low > high` (asyncio's `ValueError`).
pub(crate) fn water_marks(high: Option<usize>, low: Option<usize>) -> (usize, usize) {
    let high = high.unwrap_or(match low {
        Some(low) => 4 * low,
        None => DEFAULT_HIGH_WATER,
    });
    let low = low.unwrap_or(high / 4);
    assert!(
        high >= low,
        "high ({high}) must be >= low ({low}) must be >= 0"
    );
    (high, low)
}

struct WriteState {
    /// Bytes not yet sent are `buf[sent..]`.
    buf: Vec<u8>,
    sent: usize,
    high: usize,
    low: usize,
    /// Above the high-water mark and not yet back under the low one: drains wait.
    paused: bool,
    drainers: Vec<Waker>,
    /// `write_eof` was called; the shutdown happens once the buffer is empty.
    eof: bool,
    /// `close` was called; the socket closes once the buffer is empty.
    closing: bool,
    /// A flusher task is running.
    flushing: bool,
    /// An eager reader (a protocol's driver) to wake when `paused` changes or the connection
    /// is lost: it calls `pause_writing` / `resume_writing` / `connection_lost`.
    watcher: Option<Waker>,
    /// A `sendfile` runs (see `sendfile.rs`): writes are refused, and a `close` or
    /// `write_eof` waits for its end.
    sending_file: bool,
    /// The `sendfile` waiting for the buffer to be sent.
    empty_waiter: Option<Waker>,
}

impl WriteState {
    fn pending(&self) -> usize {
        self.buf.len() - self.sent
    }
}

pub(crate) struct Conn {
    /// This connection, for the flusher task that a `&self` method may have to start.
    me: Weak<Conn>,
    /// `None` once lost.
    sock: RefCell<Option<Sock>>,
    peer: Option<StreamAddr>,
    local: Option<StreamAddr>,
    w: RefCell<WriteState>,
    lost: Cell<bool>,
    lost_err: RefCell<Option<SavedError>>,
    close_waiters: RefCell<Vec<Waker>>,
    /// What had arrived, unread, when we closed the connection: asyncio's reader has it in
    /// its buffer by then (it reads eagerly), so ours must still be able to read it.
    salvaged: RefCell<Vec<u8>>,
    /// A read returned end of stream: nothing more can arrive, so closing has nothing to
    /// salvage (and makes no `recv` to learn it).
    read_eof: Cell<bool>,
    /// Writes after the connection was lost, as asyncio counts them to warn once.
    writes_after_loss: Cell<u32>,
    /// Whether closing reads what arrived unread (for a lazy reader); an eager reader (a
    /// protocol's) stops reading at `close`, as asyncio's transport does, so it wants none.
    salvage_on_close: Cell<bool>,
    server: RefCell<Option<ServerLink>>,
    /// Seconds a TLS close may flush before the connection is aborted.
    #[cfg(feature = "tls")]
    shutdown_timeout: Cell<f64>,
}

impl Conn {
    pub(crate) fn new(sock: Sock) -> Rc<Conn> {
        let peer = sock.peer_addr();
        Conn::with_peer(sock, peer)
    }

    /// A connection a server accepted: `accept` gave the peer's address.
    pub(crate) fn accepted(sock: Sock, peer: StreamAddr) -> Rc<Conn> {
        Conn::with_peer(sock, Some(peer))
    }

    fn with_peer(sock: Sock, peer: Option<StreamAddr>) -> Rc<Conn> {
        if let Sock::Tcp(s) = &sock {
            // asyncio sets TCP_NODELAY on every TCP transport; a failure only costs latency.
            let _ = s.set_nodelay(true);
        }
        let local = sock.local_addr();
        Rc::new_cyclic(|me: &Weak<Conn>| {
            sock.watch_errors(me.clone());
            Conn::from_parts(me.clone(), sock, peer, local)
        })
    }

    fn from_parts(
        me: Weak<Conn>,
        sock: Sock,
        peer: Option<StreamAddr>,
        local: Option<StreamAddr>,
    ) -> Conn {
        Conn {
            me,
            sock: RefCell::new(Some(sock)),
            peer,
            local,
            w: RefCell::new(WriteState {
                buf: Vec::new(),
                sent: 0,
                high: DEFAULT_HIGH_WATER,
                low: DEFAULT_HIGH_WATER / 4,
                paused: false,
                drainers: Vec::new(),
                eof: false,
                closing: false,
                flushing: false,
                watcher: None,
                sending_file: false,
                empty_waiter: None,
            }),
            lost: Cell::new(false),
            lost_err: RefCell::new(None),
            close_waiters: RefCell::new(Vec::new()),
            salvaged: RefCell::new(Vec::new()),
            read_eof: Cell::new(false),
            writes_after_loss: Cell::new(0),
            salvage_on_close: Cell::new(true),
            server: RefCell::new(None),
            #[cfg(feature = "tls")]
            shutdown_timeout: Cell::new(TLS_SHUTDOWN_TIMEOUT),
        }
    }

    pub(crate) fn attach(&self, link: ServerLink) {
        *self.server.borrow_mut() = Some(link);
    }

    pub(crate) fn peer(&self) -> Option<StreamAddr> {
        self.peer.clone()
    }

    pub(crate) fn local(&self) -> Option<StreamAddr> {
        self.local.clone()
    }

    /// The fd under the connection; `None` once lost.
    pub(crate) fn raw_fd(&self) -> Option<std::os::fd::RawFd> {
        self.sock
            .borrow()
            .as_ref()
            .map(Sock::raw_fd)
            .filter(|fd| *fd >= 0)
    }

    pub(crate) fn is_lost(&self) -> bool {
        self.lost.get()
    }

    /// The error that lost the connection, if one did.
    pub(crate) fn lost_error(&self) -> Option<io::Error> {
        self.lost_err.borrow().as_ref().map(SavedError::to_error)
    }

    // ---- reading ----

    /// Reads once into `buf`'s spare room and commits what it read: `Ok(0)` at end of stream
    /// (also once the connection was closed by us), the connection's error if it was lost by
    /// one.
    #[inline]
    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf,
    ) -> Poll<io::Result<usize>> {
        let (result, replies) = match self.sock.borrow().as_ref() {
            None => return Poll::Ready(self.read_after_loss(|b| buf.extend(b), READ_CHUNK)),
            Some(sock) => (sock.poll_read_buf(cx, buf), sock.has_pending_output()),
        };
        if let Poll::Ready(r) = &result {
            self.after_read(r);
        }
        self.flush_read_replies(replies);
        result
    }

    /// Reads once straight into `out`, past the reader's buffer: otherwise as
    /// [`poll_read`](Self::poll_read).
    #[inline]
    pub(crate) fn poll_read_into(
        &self,
        cx: &mut Context<'_>,
        out: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let (result, replies) = match self.sock.borrow().as_ref() {
            None => {
                let room = out.len();
                let put = |b: &[u8]| out[..b.len()].copy_from_slice(b);
                return Poll::Ready(self.read_after_loss(put, room));
            }
            Some(sock) => (sock.poll_read(cx, out), sock.has_pending_output()),
        };
        if let Poll::Ready(r) = &result {
            self.after_read(r);
        }
        self.flush_read_replies(replies);
        result
    }

    /// Reads what already arrived, without waiting (`WouldBlock` if nothing), into `buf`'s
    /// spare room, and commits it.
    pub(crate) fn try_read(&self, buf: &mut ReadBuf) -> io::Result<usize> {
        let (result, replies) = match self.sock.borrow().as_ref() {
            None => return self.read_after_loss(|b| buf.extend(b), READ_CHUNK),
            Some(sock) => (sock.try_read_buf(buf), sock.has_pending_output()),
        };
        self.after_read(&result);
        self.flush_read_replies(replies);
        result
    }

    /// What a read's result says about the connection: its end, or its loss by an error.
    #[inline]
    fn after_read(&self, result: &io::Result<usize>) {
        match result {
            Ok(0) => self.read_eof.set(true),
            Err(e) if e.kind() != io::ErrorKind::WouldBlock => self.lose(Some(e)),
            _ => {}
        }
    }

    /// Once lost: what was salvaged (at most `max` bytes, given to `put`), then end of
    /// stream, or the error.
    fn read_after_loss(&self, put: impl FnOnce(&[u8]), max: usize) -> io::Result<usize> {
        let mut salvaged = self.salvaged.borrow_mut();
        if salvaged.is_empty() {
            if let Some(e) = self.lost_error() {
                return Err(e);
            }
        }
        let n = salvaged.len().min(max);
        put(&salvaged[..n]);
        salvaged.drain(..n);
        Ok(n)
    }

    /// Reads what already arrived before the socket is closed (bounded: past the bound the
    /// peer's data is lost, as it would be past asyncio's paused transport).
    fn salvage(&self, sock: &Sock) {
        const MAX: usize = 256 * 1024;
        let mut salvaged = self.salvaged.borrow_mut();
        let mut chunk = [0u8; 16 * 1024];
        while salvaged.len() < MAX {
            match sock.try_read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => salvaged.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// Reading can make records of TLS's own (an alert, a handshake answer) that a full
    /// socket did not take (`pending`, asked of the socket right after the read); the peer
    /// may be waiting for them, so they must not wait for the application's next write.
    #[inline]
    fn flush_read_replies(&self, pending: bool) {
        if pending {
            self.start_flusher();
        }
    }

    // ---- writing ----

    /// Sends or buffers `data`; never waits.
    pub(crate) fn write(self: &Rc<Self>, mut data: &[u8]) {
        if data.is_empty() {
            return;
        }
        let mut w = self.w.borrow_mut();
        if w.sending_file {
            log::error!("write() during sendfile(): data dropped");
            return;
        }
        if self.lost.get() || w.closing {
            let n = self.writes_after_loss.get() + 1;
            self.writes_after_loss.set(n);
            if n == 5 {
                log::warn!("socket.send() raised exception.");
            }
            return;
        }
        if w.eof {
            log::error!("write() after write_eof(): data dropped");
            return;
        }
        if w.pending() == 0 {
            let (result, sock_pending) = match self.sock.borrow().as_ref() {
                Some(sock) => (sock.try_write(data), sock.has_pending_output()),
                None => return,
            };
            match result {
                Ok(n) => data = &data[n..],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    drop(w);
                    self.lose(Some(&e));
                    return;
                }
            }
            if data.is_empty() && !sock_pending {
                return;
            }
        }
        w.buf.extend_from_slice(data);
        let mut watcher = None;
        if w.pending() > w.high && !w.paused {
            w.paused = true;
            watcher = w.watcher.take();
        }
        drop(w);
        if let Some(watcher) = watcher {
            watcher.wake();
        }
        self.start_flusher();
    }

    /// Starts the flusher task unless it runs already.
    fn start_flusher(&self) {
        let mut w = self.w.borrow_mut();
        if w.flushing || self.lost.get() {
            return;
        }
        let Some(conn) = self.me.upgrade() else {
            return;
        };
        if !Self::loop_is_running() {
            drop(w);
            return self.lose(None);
        }
        w.flushing = true;
        drop(w);
        drop(crate::task::create_lazy_task(async move {
            if let Err(e) = poll_fn(|cx| conn.poll_flush(cx)).await {
                conn.lose(Some(&e));
            }
        }));
    }

    /// Whether a task can be started to flush or time out. A handle used while no loop runs
    /// (a writer dropped after `run`, between two runs of a `Runner`, or while a panic unwinds
    /// out of one) finds none: the connection is then lost at once, and what is buffered
    /// dropped, rather than panicking, which inside a `Drop` would abort the process. Between
    /// a `Runner`'s runs asyncio would send it at the next run; starting the task on the
    /// connection's own loop would do that too, and is left for later.
    fn loop_is_running() -> bool {
        crate::runtime::context::with_core(|_| ()).is_some()
    }

    /// Sends the buffer until it is empty, then does the shutdown or close that waited on it.
    fn poll_flush(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            let mut w = self.w.borrow_mut();
            if self.lost.get() {
                w.flushing = false;
                return Poll::Ready(Ok(()));
            }
            if w.pending() == 0 {
                // Records a layer (TLS) holds go out before the flush is done.
                if let Some(sock) = self.sock.borrow().as_ref() {
                    if let Err(e) = std::task::ready!(sock.poll_flush(cx)) {
                        w.flushing = false;
                        return Poll::Ready(Err(e));
                    }
                }
                w.flushing = false;
                w.buf.clear();
                w.sent = 0;
                let (eof, closing) = (w.eof, w.closing);
                // A sendfile waits for the buffer, and keeps the close for its own end.
                let (empty_waiter, sending_file) = (w.empty_waiter.take(), w.sending_file);
                drop(w);
                if let Some(waiter) = empty_waiter {
                    waiter.wake();
                }
                if !sending_file {
                    self.after_flush(eof, closing);
                }
                return Poll::Ready(Ok(()));
            }
            let n = {
                let sock = self.sock.borrow();
                let Some(sock) = sock.as_ref() else {
                    return Poll::Ready(Ok(()));
                };
                let start = w.sent;
                match sock.poll_write(cx, &w.buf[start..]) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Err(e)) => {
                        w.flushing = false;
                        return Poll::Ready(Err(e));
                    }
                    Poll::Ready(Ok(n)) => n,
                }
            };
            w.sent += n;
            if w.sent > w.buf.len() / 2 {
                let sent = w.sent;
                w.buf.drain(..sent);
                w.sent = 0;
            }
            if w.paused && w.pending() <= w.low {
                w.paused = false;
                let drainers = std::mem::take(&mut w.drainers);
                let watcher = w.watcher.take();
                drop(w);
                drainers.into_iter().chain(watcher).for_each(Waker::wake);
            }
        }
    }

    fn after_flush(&self, eof: bool, closing: bool) {
        if closing {
            let pending = self.sock.borrow().as_ref().is_some_and(|sock| {
                sock.prepare_close();
                sock.has_pending_output()
            });
            if pending {
                // TLS's close_notify did not fit: closing the socket now would lose it, and
                // the peer could not tell our close from a truncation. The flusher sends it
                // and comes back here.
                self.start_flusher();
                return;
            }
            self.lose(None);
        } else if eof {
            let result = match self.sock.borrow().as_ref() {
                Some(sock) if !sock.can_write_eof() => {
                    log::error!("write_eof() is not supported over TLS");
                    Ok(())
                }
                Some(sock) => sock.shutdown(Shutdown::Write),
                None => Ok(()),
            };
            if let Err(e) = result {
                if e.kind() != io::ErrorKind::NotConnected {
                    self.lose(Some(&e));
                }
            }
        }
    }

    pub(crate) fn write_eof(&self) {
        let mut w = self.w.borrow_mut();
        if w.closing || w.eof || self.lost.get() {
            return;
        }
        w.eof = true;
        let empty = w.pending() == 0 && !w.flushing && !w.sending_file;
        drop(w);
        if empty {
            self.after_flush(true, false);
        }
    }

    pub(crate) fn close(&self) {
        let mut w = self.w.borrow_mut();
        if w.closing || self.lost.get() {
            return;
        }
        w.closing = true;
        let empty = w.pending() == 0 && !w.flushing && !w.sending_file;
        drop(w);
        if empty {
            self.after_flush(false, true);
        }
        #[cfg(feature = "tls")]
        if !self.lost.get() && matches!(self.sock.borrow().as_ref(), Some(Sock::Tls(_))) {
            self.start_shutdown_timer();
        }
    }

    /// Sets the seconds a TLS close may flush before the connection is aborted.
    #[cfg(feature = "tls")]
    pub(crate) fn set_shutdown_timeout(&self, secs: f64) {
        self.shutdown_timeout.set(secs);
    }

    /// asyncio's `ssl_shutdown_timeout`: a peer that never reads must not hold a closing TLS
    /// connection (and `wait_closed`) forever. Past the timeout, what is unsent is dropped,
    /// the socket closed, and the connection lost with `TimedOut` ("SSL shutdown timed out",
    /// as asyncio's `TimeoutError`).
    #[cfg(feature = "tls")]
    fn start_shutdown_timer(&self) {
        if !Self::loop_is_running() {
            return self.lose(None);
        }
        let me = self.me.clone();
        let timeout = self.shutdown_timeout.get();
        drop(crate::task::create_lazy_task(async move {
            let closed = poll_fn(|cx| match me.upgrade() {
                Some(conn) => conn.poll_closed(cx).map(drop),
                None => Poll::Ready(()),
            });
            if crate::wait_for(closed, timeout).await.is_err() {
                if let Some(conn) = me.upgrade() {
                    conn.lose(Some(&io::Error::new(
                        io::ErrorKind::TimedOut,
                        "SSL shutdown timed out",
                    )));
                }
            }
        }));
    }

    /// Closes at once, dropping what is buffered; the peer sees a reset (asyncio's `abort`).
    pub(crate) fn abort(&self) {
        if let Some(sock) = self.sock.borrow().as_ref() {
            let _ = sock.set_abortive_close();
        }
        self.lose(None);
    }

    /// Whether the connection can shut its write half alone.
    pub(crate) fn can_write_eof(&self) -> bool {
        self.sock.borrow().as_ref().is_none_or_can_write_eof()
    }

    /// Puts TLS between this connection and its socket; the handshake is driven by
    /// `poll_handshake` (and by reads meanwhile).
    #[cfg(feature = "tls")]
    pub(crate) fn upgrade_tls(&self, tls: rustls::Connection) -> io::Result<()> {
        let mut sock = self.sock.borrow_mut();
        match sock.take() {
            None => Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "the connection is closed",
            )),
            Some(Sock::Tls(t)) => {
                *sock = Some(Sock::Tls(t));
                Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "the connection already uses TLS",
                ))
            }
            Some(plain) => {
                *sock = Some(Sock::Tls(Box::new(super::tls::TlsSock::new(plain, tls))));
                Ok(())
            }
        }
    }

    #[cfg(feature = "tls")]
    pub(crate) fn poll_handshake(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let result = {
            let sock = self.sock.borrow();
            match sock.as_ref() {
                Some(Sock::Tls(t)) => std::task::ready!(t.poll_handshake(cx)),
                Some(_) => Ok(()),
                None => Err(self.lost_error().unwrap_or_else(|| {
                    io::Error::new(io::ErrorKind::NotConnected, "the connection is closed")
                })),
            }
        };
        if let Err(e) = &result {
            self.lose(Some(e));
        }
        Poll::Ready(result)
    }

    /// Whether writes are refused: lost, closing, or after `write_eof` (for the standard
    /// I/O traits, where such a write is an error rather than a silent drop).
    #[cfg(any(feature = "futures-io", feature = "tokio-io"))]
    pub(crate) fn write_closed(&self) -> bool {
        let w = self.w.borrow();
        self.lost.get() || w.closing || w.eof
    }

    pub(crate) fn is_closing(&self) -> bool {
        self.lost.get() || self.w.borrow().closing
    }

    pub(crate) fn set_write_buffer_limits(&self, high: usize, low: usize) {
        let mut w = self.w.borrow_mut();
        w.high = high;
        w.low = low;
        if w.pending() > high {
            let watcher = if w.paused { None } else { w.watcher.take() };
            w.paused = true;
            drop(w);
            watcher.into_iter().for_each(Waker::wake);
        } else if w.paused && w.pending() <= low {
            w.paused = false;
            let drainers = std::mem::take(&mut w.drainers);
            let watcher = w.watcher.take();
            drop(w);
            drainers.into_iter().chain(watcher).for_each(Waker::wake);
        }
    }

    /// Whether the write buffer went above the high-water mark and is not yet back under the
    /// low one (asyncio's protocol is paused for writing meanwhile).
    pub(crate) fn write_paused(&self) -> bool {
        self.w.borrow().paused
    }

    /// Wakes `waker` at the next change of [`write_paused`](Self::write_paused) and at the
    /// loss of the connection (once: watch again after each wake). One watcher at a time:
    /// the eager reader of a protocol.
    pub(crate) fn watch(&self, waker: &Waker) {
        let mut w = self.w.borrow_mut();
        if !w.watcher.as_ref().is_some_and(|k| k.will_wake(waker)) {
            w.watcher = Some(waker.clone());
        }
    }

    /// The reader of this connection reads eagerly and stops at `close`: closing salvages
    /// nothing for it.
    pub(crate) fn set_eager_reader(&self) {
        self.salvage_on_close.set(false);
    }

    /// Calls `f` with the TLS session, if the connection speaks TLS.
    #[cfg(feature = "tls")]
    pub(crate) fn with_tls<R>(&self, f: impl FnOnce(&rustls::Connection) -> R) -> Option<R> {
        match self.sock.borrow().as_ref() {
            Some(Sock::Tls(t)) => Some(t.with_session(f)),
            _ => None,
        }
    }

    pub(crate) fn write_buffer_limits(&self) -> (usize, usize) {
        let w = self.w.borrow();
        (w.low, w.high)
    }

    pub(crate) fn write_buffer_size(&self) -> usize {
        self.w.borrow().pending()
    }

    /// Whether a drain would return at once with success: open, not closing, not above the
    /// high-water mark (the common case, checked without the drain's machinery).
    #[inline]
    pub(crate) fn is_drained(&self) -> bool {
        if self.lost.get() {
            return false;
        }
        let w = self.w.borrow();
        !w.paused && !w.closing
    }

    /// `waited`: whether this drain already waited once (a drainer woken by a loss without
    /// error succeeds, as in asyncio; a drain begun after the loss fails).
    pub(crate) fn poll_drain(
        &self,
        cx: &mut Context<'_>,
        waited: &mut bool,
    ) -> Poll<io::Result<()>> {
        if self.lost.get() {
            return Poll::Ready(match self.lost_error() {
                Some(e) => Err(e),
                None if *waited => Ok(()),
                None => Err(io::Error::new(
                    io::ErrorKind::ConnectionReset,
                    "Connection lost",
                )),
            });
        }
        let mut w = self.w.borrow_mut();
        if !w.paused {
            return Poll::Ready(Ok(()));
        }
        if !w.drainers.iter().any(|d| d.will_wake(cx.waker())) {
            w.drainers.push(cx.waker().clone());
        }
        *waited = true;
        Poll::Pending
    }

    pub(crate) fn poll_closed(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.lost.get() {
            return Poll::Ready(match self.lost_error() {
                Some(e) => Err(e),
                None => Ok(()),
            });
        }
        let mut waiters = self.close_waiters.borrow_mut();
        if !waiters.iter().any(|d| d.will_wake(cx.waker())) {
            waiters.push(cx.waker().clone());
        }
        Poll::Pending
    }

    /// The connection is gone: close the socket, fail or release every waiter, leave the
    /// server. Idempotent.
    pub(crate) fn lose(&self, err: Option<&io::Error>) {
        self.finish(err, true);
    }

    fn finish(&self, err: Option<&io::Error>, salvage: bool) {
        if self.lost.replace(true) {
            return;
        }
        if let Some(e) = err {
            log::debug!("connection lost: {e}");
            *self.lost_err.borrow_mut() = Some(SavedError::save(e));
        }
        // Dropping the socket deregisters it, which wakes a reader waiting on it.
        let sock = self.sock.borrow_mut().take();
        let salvage = salvage && self.salvage_on_close.get();
        if let (Some(sock), None, true, false) = (&sock, err, salvage, self.read_eof.get()) {
            self.salvage(sock);
        }
        drop(sock);
        let (drainers, watcher, empty_waiter) = {
            let mut w = self.w.borrow_mut();
            w.buf = Vec::new();
            w.sent = 0;
            w.paused = false;
            let drainers = std::mem::take(&mut w.drainers);
            (drainers, w.watcher.take(), w.empty_waiter.take())
        };
        drainers.into_iter().chain(watcher).for_each(Waker::wake);
        empty_waiter.into_iter().for_each(Waker::wake);
        let waiters = std::mem::take(&mut *self.close_waiters.borrow_mut());
        waiters.into_iter().for_each(Waker::wake);
        let link = self.server.borrow_mut().take();
        if let Some(link) = link {
            link.detach();
        }
    }
}

/// A reset (or any socket error). Reads are lazy, so without this a handler that reads
/// nothing (it awaits a queue, a sleep) would hold the connection, and its fd, until its next
/// read or write. As asyncio's eager reader would, the connection is lost with the socket's
/// error; what had arrived before it is salvaged first, and the next reads return those bytes,
/// then the error (as drains do at once).
///
/// An eager reader (a protocol's driver) is only woken: it reads what arrived and meets the
/// error itself, as asyncio's transport does, and a driver that paused reading holds the
/// connection until it resumes, as asyncio's does.
impl crate::reactor::OnSocketError for Conn {
    fn on_socket_error(&self) {
        if !self.salvage_on_close.get() {
            let watcher = self.w.borrow_mut().watcher.take();
            if let Some(watcher) = watcher {
                watcher.wake();
            }
            return;
        }
        let err = match self.sock.borrow().as_ref() {
            Some(sock) => {
                if !self.read_eof.get() {
                    self.salvage(sock);
                }
                sock.take_error()
            }
            None => return,
        };
        let err = err.unwrap_or_else(|| io::ErrorKind::ConnectionReset.into());
        self.lose(Some(&err));
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        // No reader is left to want the unread bytes.
        self.finish(None, false);
    }
}

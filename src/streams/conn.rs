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
//! flusher task that lives only while the buffer is non-empty.

use super::addr::StreamAddr;
use super::error::SavedError;
use super::server::ServerLink;
use crate::net::{TcpStream, UnixStream};
use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::io;
use std::net::Shutdown;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// asyncio's default high-water mark; the low-water mark is a quarter of it.
pub(crate) const DEFAULT_HIGH_WATER: usize = 64 * 1024;

pub(crate) enum Sock {
    Tcp(TcpStream),
    Unix(UnixStream),
    /// A child's stdin, stdout or stderr (`subprocess`).
    Pipe(crate::subprocess::PipeIo),
}

impl Sock {
    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        match self {
            Sock::Tcp(s) => s.poll_read(cx, buf),
            Sock::Unix(s) => s.poll_read(cx, buf),
            Sock::Pipe(p) => p.poll_read(cx, buf),
        }
    }

    fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Sock::Tcp(s) => s.try_read(buf),
            Sock::Unix(s) => s.try_read(buf),
            Sock::Pipe(p) => p.try_read(buf),
        }
    }

    fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sock::Tcp(s) => s.try_write(buf),
            Sock::Unix(s) => s.try_write(buf),
            Sock::Pipe(p) => p.try_write(buf),
        }
    }

    fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self {
            Sock::Tcp(s) => s.poll_write(cx, buf),
            Sock::Unix(s) => s.poll_write(cx, buf),
            Sock::Pipe(p) => p.poll_write(cx, buf),
        }
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        match self {
            Sock::Tcp(s) => s.shutdown(how),
            Sock::Unix(s) => s.shutdown(how),
            Sock::Pipe(p) => p.shutdown(how),
        }
    }

    fn set_abortive_close(&self) -> io::Result<()> {
        match self {
            Sock::Tcp(s) => s.set_abortive_close(),
            Sock::Unix(s) => s.set_abortive_close(),
            Sock::Pipe(_) => Ok(()),
        }
    }

    fn addrs(&self) -> (Option<StreamAddr>, Option<StreamAddr>) {
        match self {
            Sock::Tcp(s) => (
                s.peer_addr().ok().map(StreamAddr::Inet),
                s.local_addr().ok().map(StreamAddr::Inet),
            ),
            Sock::Unix(s) => (
                s.peer_addr().ok().map(|a| StreamAddr::from_unix(&a)),
                s.local_addr().ok().map(|a| StreamAddr::from_unix(&a)),
            ),
            Sock::Pipe(_) => (None, None),
        }
    }
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
}

impl WriteState {
    fn pending(&self) -> usize {
        self.buf.len() - self.sent
    }
}

pub(crate) struct Conn {
    /// `None` once lost.
    sock: RefCell<Option<Sock>>,
    peer: Option<StreamAddr>,
    local: Option<StreamAddr>,
    w: RefCell<WriteState>,
    lost: Cell<bool>,
    lost_err: RefCell<Option<SavedError>>,
    close_waiters: RefCell<Vec<Waker>>,
    /// Writes after the connection was lost, as asyncio counts them to warn once.
    writes_after_loss: Cell<u32>,
    server: RefCell<Option<ServerLink>>,
}

impl Conn {
    pub(crate) fn new(sock: Sock) -> Rc<Conn> {
        if let Sock::Tcp(s) = &sock {
            // asyncio sets TCP_NODELAY on every TCP transport; a failure only costs latency.
            let _ = s.set_nodelay(true);
        }
        let (peer, local) = sock.addrs();
        Rc::new(Conn {
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
            }),
            lost: Cell::new(false),
            lost_err: RefCell::new(None),
            close_waiters: RefCell::new(Vec::new()),
            writes_after_loss: Cell::new(0),
            server: RefCell::new(None),
        })
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

    pub(crate) fn is_lost(&self) -> bool {
        self.lost.get()
    }

    fn lost_error(&self) -> Option<io::Error> {
        self.lost_err.borrow().as_ref().map(SavedError::to_error)
    }

    // ---- reading ----

    /// Reads once into `buf`'s spare room: `Ok(0)` at end of stream (also once the connection
    /// was closed by us), the connection's error if it was lost by one.
    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let result = {
            let sock = self.sock.borrow();
            match sock.as_ref() {
                None => {
                    return Poll::Ready(match self.lost_error() {
                        Some(e) => Err(e),
                        None => Ok(0),
                    })
                }
                Some(sock) => std::task::ready!(sock.poll_read(cx, buf)),
            }
        };
        if let Err(e) = &result {
            self.lose(Some(e));
        }
        Poll::Ready(result)
    }

    /// Reads what already arrived, without waiting (`WouldBlock` if nothing).
    pub(crate) fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        let result = match self.sock.borrow().as_ref() {
            None => {
                return match self.lost_error() {
                    Some(e) => Err(e),
                    None => Ok(0),
                }
            }
            Some(sock) => sock.try_read(buf),
        };
        match &result {
            Err(e) if e.kind() != io::ErrorKind::WouldBlock => self.lose(Some(e)),
            _ => {}
        }
        result
    }

    // ---- writing ----

    /// Sends or buffers `data`; never waits.
    pub(crate) fn write(self: &Rc<Self>, mut data: &[u8]) {
        if data.is_empty() {
            return;
        }
        let mut w = self.w.borrow_mut();
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
            let result = match self.sock.borrow().as_ref() {
                Some(sock) => sock.try_write(data),
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
            if data.is_empty() {
                return;
            }
        }
        w.buf.extend_from_slice(data);
        if w.pending() > w.high {
            w.paused = true;
        }
        if !w.flushing {
            w.flushing = true;
            drop(w);
            let conn = self.clone();
            drop(crate::create_task(async move {
                if let Err(e) = poll_fn(|cx| conn.poll_flush(cx)).await {
                    conn.lose(Some(&e));
                }
            }));
        }
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
                w.flushing = false;
                w.buf.clear();
                w.sent = 0;
                let (eof, closing) = (w.eof, w.closing);
                drop(w);
                self.after_flush(eof, closing);
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
                drop(w);
                drainers.into_iter().for_each(Waker::wake);
            }
        }
    }

    fn after_flush(&self, eof: bool, closing: bool) {
        if closing {
            self.lose(None);
        } else if eof {
            let result = match self.sock.borrow().as_ref() {
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
        let empty = w.pending() == 0;
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
        let empty = w.pending() == 0;
        drop(w);
        if empty {
            self.lose(None);
        }
    }

    /// Closes at once, dropping what is buffered; the peer sees a reset (asyncio's `abort`).
    pub(crate) fn abort(&self) {
        if let Some(sock) = self.sock.borrow().as_ref() {
            let _ = sock.set_abortive_close();
        }
        self.lose(None);
    }

    pub(crate) fn is_closing(&self) -> bool {
        self.lost.get() || self.w.borrow().closing
    }

    pub(crate) fn set_write_buffer_limits(&self, high: usize, low: usize) {
        let mut w = self.w.borrow_mut();
        w.high = high;
        w.low = low;
        if w.pending() > high {
            w.paused = true;
        } else if w.paused && w.pending() <= low {
            w.paused = false;
            let drainers = std::mem::take(&mut w.drainers);
            drop(w);
            drainers.into_iter().for_each(Waker::wake);
        }
    }

    pub(crate) fn write_buffer_limits(&self) -> (usize, usize) {
        let w = self.w.borrow();
        (w.low, w.high)
    }

    pub(crate) fn write_buffer_size(&self) -> usize {
        self.w.borrow().pending()
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
        if self.lost.replace(true) {
            return;
        }
        if let Some(e) = err {
            log::debug!("connection lost: {e}");
            *self.lost_err.borrow_mut() = Some(SavedError::save(e));
        }
        // Dropping the socket deregisters it, which wakes a reader waiting on it.
        let sock = self.sock.borrow_mut().take();
        drop(sock);
        let drainers = {
            let mut w = self.w.borrow_mut();
            w.buf = Vec::new();
            w.sent = 0;
            w.paused = false;
            std::mem::take(&mut w.drainers)
        };
        drainers.into_iter().for_each(Waker::wake);
        let waiters = std::mem::take(&mut *self.close_waiters.borrow_mut());
        waiters.into_iter().for_each(Waker::wake);
        let link = self.server.borrow_mut().take();
        if let Some(link) = link {
            link.detach();
        }
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.lose(None);
    }
}

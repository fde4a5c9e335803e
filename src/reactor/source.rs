//! `IoSource`: a mio source owned together with its registration.

use super::registration::Registration;
use super::scheduled::Direction;
use std::future::poll_fn;
use std::io;
use std::task::{Context, Poll};

/// A mio source registered with the running loop, deregistered when dropped.
///
/// The I/O helpers take a closure doing one non-blocking call on the source: when it returns
/// `WouldBlock` the direction's readiness is cleared (and, in the `poll_*` forms, the task
/// waits for the next edge and the call is tried again).
pub(crate) struct IoSource<S: mio::event::Source> {
    /// `Some` until `into_inner` or drop.
    io: Option<S>,
    reg: Registration,
}

impl<S: mio::event::Source> IoSource<S> {
    /// Registers `io` for both reading and writing.
    ///
    /// # Errors
    /// Outside a running loop, or when the poller refuses the source.
    pub(crate) fn new(io: S) -> io::Result<Self> {
        Self::with_interest(io, mio::Interest::READABLE | mio::Interest::WRITABLE)
    }

    /// Registers `io` for `interest` only (a pipe end reads or writes, a pidfd only reads).
    ///
    /// # Errors
    /// Outside a running loop, or when the poller refuses the source.
    pub(crate) fn with_interest(mut io: S, interest: mio::Interest) -> io::Result<Self> {
        let reg = Registration::new(&mut io, interest)?;
        Ok(IoSource { io: Some(io), reg })
    }

    #[inline]
    pub(crate) fn get_ref(&self) -> &S {
        self.io.as_ref().expect("IoSource used after into_inner")
    }

    /// Waits until the direction is ready (or in error, or closed).
    #[inline]
    pub(crate) fn poll_ready(&self, dir: Direction, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.reg.poll_ready(dir, cx)
    }

    /// Waits until the direction is ready.
    ///
    /// # Cancel safety
    /// Cancel safe: nothing is consumed.
    #[allow(dead_code)]
    pub(crate) async fn ready(&self, dir: Direction) -> io::Result<()> {
        poll_fn(|cx| self.poll_ready(dir, cx)).await
    }

    /// Whether the direction looks ready now.
    #[allow(dead_code)]
    #[inline]
    pub(crate) fn is_ready(&self, dir: Direction) -> bool {
        self.reg.is_ready(dir)
    }

    /// Forgets readiness of a direction, for callers that do their own I/O through `get_ref`
    /// and saw `WouldBlock`.
    #[allow(dead_code)]
    #[inline]
    pub(crate) fn clear_ready(&self, dir: Direction) {
        self.reg.clear(dir);
    }

    /// Marks both directions ready (without waking anyone): the next `poll_io` tries its call
    /// at once. For sockets that are likely ready (just accepted, just connected).
    #[inline]
    pub(crate) fn assume_ready(&self) {
        self.reg.assume_ready();
    }

    /// Changes what the poller reports for the source. A datagram endpoint listens for
    /// writability only while datagrams wait: a UDP socket is writable again after every
    /// send, and each of those edges would wake the loop for nothing.
    ///
    /// # Errors
    /// After the loop ended, or when the poller refuses.
    pub(crate) fn set_interest(&self, interest: mio::Interest) -> io::Result<()>
    where
        S: std::os::fd::AsRawFd,
    {
        let fd = self.get_ref().as_raw_fd();
        self.reg.reregister(&mut mio::unix::SourceFd(&fd), interest)
    }

    /// Tells `owner` of an error that arrives while no task waits to read (see
    /// `ScheduledIo::watch_errors`).
    pub(crate) fn watch_errors(&self, owner: std::rc::Weak<dyn super::OnSocketError>) {
        self.reg.watch_errors(owner);
    }

    /// Tries `f` once, whatever the remembered readiness (a non-blocking call is cheap and is
    /// often ready, as asyncio's transports try `send` before waiting); `WouldBlock` clears
    /// readiness.
    ///
    /// # Errors
    /// What `f` returns.
    #[inline]
    pub(crate) fn try_io<R>(
        &self,
        dir: Direction,
        f: impl FnOnce(&S) -> io::Result<R>,
    ) -> io::Result<R> {
        match f(self.get_ref()) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.reg.clear(dir);
                Err(e)
            }
            other => other,
        }
    }

    /// Runs `f` until it does not return `WouldBlock`, waiting for readiness in between.
    /// `Interrupted` is retried.
    #[inline]
    pub(crate) fn poll_io<R>(
        &self,
        dir: Direction,
        cx: &mut Context<'_>,
        mut f: impl FnMut(&S) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            if let Err(e) = std::task::ready!(self.reg.poll_ready(dir, cx)) {
                return Poll::Ready(Err(e));
            }
            match f(self.get_ref()) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.reg.clear(dir),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                other => return Poll::Ready(other),
            }
        }
    }

    /// Deregisters and gives the source back.
    ///
    /// # Errors
    /// Never today; `io::Result` leaves room for pollers that can fail here.
    #[allow(dead_code)]
    pub(crate) fn into_inner(mut self) -> io::Result<S> {
        let mut io = self.io.take().expect("IoSource used after into_inner");
        self.reg.deregister(&mut io);
        Ok(io)
    }
}

impl<S: mio::event::Source> Drop for IoSource<S> {
    fn drop(&mut self) {
        if let Some(mut io) = self.io.take() {
            self.reg.deregister(&mut io);
        }
    }
}

impl<S: mio::event::Source + std::fmt::Debug> std::fmt::Debug for IoSource<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("IoSource").field(&self.io).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::context;
    use std::io::{Read, Write};

    fn reactor_len() -> usize {
        context::with_core(|c| c.reactor.len()).unwrap()
    }

    #[test]
    fn pipe_wakes_reader_and_deregisters_on_drop() {
        crate::run(async {
            let before = reactor_len();
            let (mut tx, rx) = mio::unix::pipe::new().unwrap();
            let rx = IoSource::with_interest(rx, mio::Interest::READABLE).unwrap();
            assert_eq!(reactor_len(), before + 1);
            let reader = crate::task::create_lazy_task(async move {
                let mut buf = [0u8; 16];
                let n = poll_fn(|cx| rx.poll_io(Direction::Read, cx, |r| (&*r).read(&mut buf)))
                    .await
                    .unwrap();
                buf[..n].to_vec()
            });
            crate::sleep(0).await;
            crate::sleep(0).await;
            tx.write_all(b"wake").unwrap();
            assert_eq!(reader.await.unwrap(), b"wake");
            assert_eq!(
                reactor_len(),
                before,
                "dropping the IoSource deregisters it"
            );
        });
    }

    #[test]
    fn fd_source_readiness() {
        crate::run(async {
            let (mut tx, rx) = std::os::unix::net::UnixStream::pair().unwrap();
            let src = IoSource::with_interest(
                super::super::FdSource(std::os::fd::OwnedFd::from(rx)),
                mio::Interest::READABLE,
            )
            .unwrap();
            assert!(!src.is_ready(Direction::Read));
            tx.write_all(b"x").unwrap();
            src.ready(Direction::Read).await.unwrap();
            assert!(src.is_ready(Direction::Read));
            src.clear_ready(Direction::Read);
            assert!(!src.is_ready(Direction::Read));
            let fd = src.into_inner().unwrap();
            drop(fd);
        });
    }
}

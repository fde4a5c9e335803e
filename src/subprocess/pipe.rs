//! `PipeIo`: one end of a child's pipe, as the byte source or sink under a `StreamReader` or
//! `StreamWriter` (the streams' connection takes it as one more kind of socket).
//!
//! The parent's end is non-blocking and registered in the reactor for its one direction.
//! Writes never raise `SIGPIPE` (see `sigpipe.rs`): a child that closed its stdin makes the
//! write fail with `BrokenPipe`, which the writer reports from `drain`.

use super::sigpipe;
use crate::reactor::{Direction, IoSource};
use std::cell::RefCell;
use std::io::{self, Read};
use std::net::Shutdown;
use std::os::fd::AsFd;
use std::task::{Context, Poll};

/// The read end (stdout, stderr) or the write end (stdin) of a child's pipe.
pub(crate) enum PipeIo {
    Read(IoSource<mio::unix::pipe::Receiver>),
    /// `None` once shut (`write_eof`): the child reads end of file.
    Write(RefCell<Option<IoSource<mio::unix::pipe::Sender>>>),
}

fn wrong_way() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "this end of the pipe goes the other way",
    )
}

fn shut() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the pipe was closed")
}

impl PipeIo {
    pub(crate) fn reader(rx: mio::unix::pipe::Receiver) -> io::Result<PipeIo> {
        let io = IoSource::with_interest(rx, mio::Interest::READABLE)?;
        io.assume_ready();
        Ok(PipeIo::Read(io))
    }

    pub(crate) fn writer(tx: mio::unix::pipe::Sender) -> io::Result<PipeIo> {
        let io = IoSource::with_interest(tx, mio::Interest::WRITABLE)?;
        io.assume_ready();
        Ok(PipeIo::Write(RefCell::new(Some(io))))
    }

    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match self {
            PipeIo::Read(io) => io.poll_io(Direction::Read, cx, |rx| (&*rx).read(&mut *buf)),
            PipeIo::Write(_) => Poll::Ready(Err(wrong_way())),
        }
    }

    /// Readiness of this end, in its own direction.
    pub(crate) fn poll_ready(&self, dir: Direction, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            PipeIo::Read(io) => io.poll_ready(dir, cx),
            PipeIo::Write(io) => match &*io.borrow() {
                Some(io) => io.poll_ready(dir, cx),
                None => Poll::Ready(Err(shut())),
            },
        }
    }

    pub(crate) fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            PipeIo::Read(io) => io.try_io(Direction::Read, |rx| (&*rx).read(buf)),
            PipeIo::Write(_) => Err(wrong_way()),
        }
    }

    pub(crate) fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        match self {
            PipeIo::Write(io) => match io.borrow().as_ref() {
                Some(io) => io.try_io(Direction::Write, |tx| sigpipe::write(tx.as_fd(), buf)),
                None => Err(shut()),
            },
            PipeIo::Read(_) => Err(wrong_way()),
        }
    }

    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self {
            PipeIo::Write(io) => match io.borrow().as_ref() {
                Some(io) => io.poll_io(Direction::Write, cx, |tx| sigpipe::write(tx.as_fd(), buf)),
                None => Poll::Ready(Err(shut())),
            },
            PipeIo::Read(_) => Poll::Ready(Err(wrong_way())),
        }
    }

    /// Runs `f` on the write end's fd once it is writable, until it does not say
    /// `WouldBlock` (`sendfile(2)` to a child's stdin).
    pub(crate) fn poll_write_fd<R>(
        &self,
        cx: &mut Context<'_>,
        mut f: impl FnMut(std::os::fd::RawFd) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        use std::os::fd::AsRawFd;
        match self {
            PipeIo::Write(io) => match io.borrow().as_ref() {
                Some(io) => io.poll_io(Direction::Write, cx, |tx| f(tx.as_raw_fd())),
                None => Poll::Ready(Err(shut())),
            },
            PipeIo::Read(_) => Poll::Ready(Err(wrong_way())),
        }
    }

    /// The pipe end's fd (`-1` once the write end was shut).
    pub(crate) fn raw_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        match self {
            PipeIo::Read(io) => io.get_ref().as_raw_fd(),
            PipeIo::Write(io) => io
                .borrow()
                .as_ref()
                .map_or(-1, |io| io.get_ref().as_raw_fd()),
        }
    }

    /// A pipe has no half-close: shutting the write side closes the write end.
    pub(crate) fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        if let (PipeIo::Write(io), Shutdown::Write | Shutdown::Both) = (self, how) {
            let io = io.borrow_mut().take();
            drop(io);
        }
        Ok(())
    }
}

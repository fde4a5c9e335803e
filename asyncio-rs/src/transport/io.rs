//! The socket calls of a transport, on the fd of the Python socket it keeps, and its write
//! buffer.

use std::io;
use std::os::fd::RawFd;

/// Bytes accepted by `write()` and not sent yet.
#[derive(Default)]
pub(crate) struct WriteBuffer {
    bytes: Vec<u8>,
    /// Where the unsent bytes start: sending advances it instead of moving the rest.
    head: usize,
}

impl WriteBuffer {
    pub(crate) fn len(&self) -> usize {
        self.bytes.len() - self.head
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn unsent(&self) -> &[u8] {
        &self.bytes[self.head..]
    }

    pub(crate) fn extend(&mut self, data: &[u8]) {
        if self.head > 0 && self.head >= self.bytes.len() / 2 {
            self.bytes.drain(..self.head);
            self.head = 0;
        }
        self.bytes.extend_from_slice(data);
    }

    pub(crate) fn consume(&mut self, n: usize) {
        self.head += n;
        if self.head >= self.bytes.len() {
            self.clear();
        }
    }

    pub(crate) fn clear(&mut self) {
        self.bytes.clear();
        self.head = 0;
    }
}

fn check(n: isize) -> io::Result<usize> {
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// `recv(2)` into `buf`; `EINTR` is retried.
pub(crate) fn recv(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes for the call's duration.
    retry(|| check(unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) }))
}

/// `recv(2)` into raw memory (a Python buffer's).
///
/// # Safety
/// `ptr` must be valid for writes of `len` bytes for the call's duration.
pub(crate) unsafe fn recv_raw(fd: RawFd, ptr: *mut u8, len: usize) -> io::Result<usize> {
    // SAFETY: the caller's promise.
    retry(|| check(unsafe { libc::recv(fd, ptr.cast(), len, 0) }))
}

/// `send(2)` of `data`, without `SIGPIPE`; `EINTR` is retried.
pub(crate) fn send(fd: RawFd, data: &[u8]) -> io::Result<usize> {
    // SAFETY: `data` is valid for reads of `data.len()` bytes for the call's duration.
    retry(|| check(unsafe { libc::send(fd, data.as_ptr().cast(), data.len(), libc::MSG_NOSIGNAL) }))
}

/// `shutdown(fd, SHUT_WR)`.
pub(crate) fn shutdown_write(fd: RawFd) -> io::Result<()> {
    // SAFETY: a plain system call on an integer fd; it touches no memory of ours.
    if unsafe { libc::shutdown(fd, libc::SHUT_WR) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn retry(mut f: impl FnMut() -> io::Result<usize>) -> io::Result<usize> {
    loop {
        match f() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

pub(crate) fn would_block(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock
}

//! Writing to a pipe without `SIGPIPE`.
//!
//! A socket has `MSG_NOSIGNAL`; a pipe has nothing alike, so a write to a pipe whose reader is
//! gone raises `SIGPIPE`, which kills the process unless the signal is ignored. Rust programs
//! (like Python) start with `SIGPIPE` ignored, so the plain `write` is the common path. When
//! the disposition is anything else (a C host, a program that restored the default), the write
//! runs with `SIGPIPE` blocked in this thread and a `SIGPIPE` it raised is consumed before the
//! mask is restored: the write reports `BrokenPipe`, the process lives.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// Whether `SIGPIPE` is ignored in this process now (asked at each write: a program may
/// change it at any time).
fn sigpipe_ignored() -> bool {
    // SAFETY: a query: a null new action leaves the disposition alone; `old` is written.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(libc::SIGPIPE, std::ptr::null(), &mut old) == 0
            && old.sa_sigaction == libc::SIG_IGN
    }
}

/// `write(2)` that never delivers `SIGPIPE`.
pub(crate) fn write(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    if sigpipe_ignored() {
        return raw_write(fd, buf);
    }
    // SAFETY: signal sets are plain data, filled by sigemptyset/sigaddset; pthread_sigmask
    // and sigpending write only into the sets we pass.
    unsafe {
        let mut pipe_set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut pipe_set);
        libc::sigaddset(&mut pipe_set, libc::SIGPIPE);
        let mut pending: libc::sigset_t = std::mem::zeroed();
        libc::sigpending(&mut pending);
        let was_pending = libc::sigismember(&pending, libc::SIGPIPE) == 1;
        let mut old_mask: libc::sigset_t = std::mem::zeroed();
        libc::pthread_sigmask(libc::SIG_BLOCK, &pipe_set, &mut old_mask);
        let result = raw_write(fd, buf);
        if !was_pending && matches!(&result, Err(e) if e.raw_os_error() == Some(libc::EPIPE)) {
            let zero = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            consume(&pipe_set, &zero);
        }
        libc::pthread_sigmask(libc::SIG_SETMASK, &old_mask, std::ptr::null_mut());
        result
    }
}

#[cfg(target_os = "linux")]
fn consume(set: &libc::sigset_t, zero: &libc::timespec) {
    // SAFETY: waits (not at all, timeout zero) for a blocked SIGPIPE of this thread and
    // discards it; the pointers are to live values.
    unsafe {
        libc::sigtimedwait(set, std::ptr::null_mut(), zero);
    }
}

#[cfg(not(target_os = "linux"))]
fn consume(set: &libc::sigset_t, _zero: &libc::timespec) {
    let mut sig = 0;
    // SAFETY: sigwait takes a blocked, pending signal from the set; it is pending here (the
    // write raised it), so this does not block.
    unsafe {
        let mut pending: libc::sigset_t = std::mem::zeroed();
        libc::sigpending(&mut pending);
        if libc::sigismember(&pending, libc::SIGPIPE) == 1 {
            libc::sigwait(set, &mut sig);
        }
    }
}

fn raw_write(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: writes from a valid buffer of the given length to an fd we borrow.
    let n = unsafe { libc::write(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len()) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

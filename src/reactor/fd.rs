//! `FdSource`: any owned file descriptor as a mio source (a pidfd, a pipe end, a tty).

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

/// An owned fd that the reactor can register. The fd should be non-blocking if it is read or
/// written through [`IoSource`](super::IoSource); a pidfd needs only readiness.
#[derive(Debug)]
#[allow(dead_code)] // for the pipes and pidfds of subprocesses
pub(crate) struct FdSource(pub(crate) OwnedFd);

impl AsFd for FdSource {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl mio::event::Source for FdSource {
    fn register(
        &mut self,
        registry: &mio::Registry,
        token: mio::Token,
        interests: mio::Interest,
    ) -> std::io::Result<()> {
        mio::unix::SourceFd(&self.0.as_raw_fd()).register(registry, token, interests)
    }

    fn reregister(
        &mut self,
        registry: &mio::Registry,
        token: mio::Token,
        interests: mio::Interest,
    ) -> std::io::Result<()> {
        mio::unix::SourceFd(&self.0.as_raw_fd()).reregister(registry, token, interests)
    }

    fn deregister(&mut self, registry: &mio::Registry) -> std::io::Result<()> {
        mio::unix::SourceFd(&self.0.as_raw_fd()).deregister(registry)
    }
}

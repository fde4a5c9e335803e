//! A source's entry in the reactor of the loop it was registered with.

use super::scheduled::{Direction, ScheduledIo};
use crate::runtime::context;
use crate::runtime::core::Core;
use crate::task::waiting::Waiting;
use std::io;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll};

/// A token in one loop's reactor. Made by [`Registration::new`]; the owner calls
/// [`Registration::deregister`] with the same source before the source is closed.
pub(crate) struct Registration {
    token: mio::Token,
    io: Rc<ScheduledIo>,
    /// Weak: a socket kept alive past its loop (in a thread-local, say) must not keep the loop.
    core: Weak<Core>,
}

fn no_loop() -> io::Error {
    io::Error::other("no running event loop")
}

impl Registration {
    /// Registers `source` with the running loop for `interest`.
    ///
    /// # Errors
    /// Outside a running loop, or when the poller refuses the source.
    pub(crate) fn new(
        source: &mut impl mio::event::Source,
        interest: mio::Interest,
    ) -> io::Result<Registration> {
        let core = context::current_core().ok_or_else(no_loop)?;
        let (token, io) = core.reactor.insert();
        let mut registered = core.registry.register(source, token, interest);
        if registered
            .as_ref()
            .is_err_and(|e| e.raw_os_error() == Some(libc::EEXIST))
            && !core.reactor.idle_watches.is_empty()
        {
            // An idle fd watch may still hold the fd (reactor::watch_idle): it goes first.
            core.reactor.idle_watches.close_all();
            registered = core.registry.register(source, token, interest);
        }
        if let Err(e) = registered {
            core.reactor.remove(token);
            return Err(e);
        }
        Ok(Registration {
            token,
            io,
            core: Rc::downgrade(&core),
        })
    }

    /// Changes the interest the source is registered for.
    #[allow(dead_code)]
    pub(crate) fn reregister(
        &self,
        source: &mut impl mio::event::Source,
        interest: mio::Interest,
    ) -> io::Result<()> {
        let core = self.core.upgrade().ok_or_else(no_loop)?;
        core.registry.reregister(source, self.token, interest)
    }

    /// Ready when the direction is ready (or the source is in error or closed); otherwise the
    /// task waits for the next edge.
    ///
    /// # Errors
    /// When polled from a task of another loop than the source's (asyncio's "attached to a
    /// different loop"), or after that loop ended.
    #[inline]
    pub(crate) fn poll_ready(&self, dir: Direction, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.io.is_ready(dir) {
            return Poll::Ready(Ok(()));
        }
        self.poll_wait(dir, cx)
    }

    /// The direction is not ready: the task waits. Out of line, so that the ready case
    /// inlines into every I/O call.
    #[inline(never)]
    fn poll_wait(&self, dir: Direction, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Checked on every wait, the kept task's included: a waker that is not a task's (a
        // combinator's, a hand-written poller's) may poll the source from another loop.
        if !context::is_current(self.core.as_ptr()) {
            return Poll::Ready(Err(io::Error::other(
                "I/O source is attached to a different event loop",
            )));
        }
        self.io.wait(dir, cx);
        let what = match dir {
            Direction::Read => Waiting::IoRead,
            Direction::Write => Waiting::IoWrite,
        };
        crate::task::waiting::note(cx.waker(), what);
        Poll::Pending
    }

    /// Whether the direction looks ready without waiting.
    #[inline]
    pub(crate) fn is_ready(&self, dir: Direction) -> bool {
        self.io.is_ready(dir)
    }

    /// See [`ScheduledIo::watch_errors`].
    pub(crate) fn watch_errors(&self, owner: Weak<dyn super::OnSocketError>) {
        self.io.watch_errors(owner);
    }

    /// See [`ScheduledIo::assume_ready`].
    #[inline]
    pub(crate) fn assume_ready(&self) {
        self.io.assume_ready();
    }

    /// Forgets readiness after the I/O said `WouldBlock`.
    #[inline]
    pub(crate) fn clear(&self, dir: Direction) {
        self.io.clear(dir);
    }

    /// Removes the source from the poller and the reactor; waiters wake and find it closed.
    pub(crate) fn deregister(&self, source: &mut impl mio::event::Source) {
        if let Some(core) = self.core.upgrade() {
            // Failing here means the fd is already gone from the poller; nothing to undo.
            let _ = core.registry.deregister(source);
            core.reactor.remove(self.token);
        }
        self.io.shutdown();
    }
}

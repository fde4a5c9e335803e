//! Readiness over mio: sources registered with the loop's poller, and the tasks waiting on
//! them.
//!
//! # Design
//! Every registered source gets a [`ScheduledIo`] in the reactor's slab; its slab key is the
//! mio token. The poller is edge-triggered: an event says "something changed", so the
//! readiness it reports is *remembered* in the `ScheduledIo` until the owner tries the I/O and
//! sees `WouldBlock`, and only then cleared. Between the loop's polls nothing can set readiness
//! (events are dispatched only while the loop polls, on the loop's thread), so there is no race
//! between "try, see WouldBlock" and "clear": the next edge always arrives after the clear.
//!
//! Waiting tasks leave their `Waker`s per direction (read or write); an event wakes every
//! waiter of the directions it makes ready. Error and hang-up events wake both directions.
//!
//! # Ownership
//! The reactor lives in the loop's core and is touched on the loop's thread only. The slab's
//! `RefCell` is never borrowed across a wake: `dispatch` clones the entry out first.
//!
//! # Use
//! [`IoSource`] owns a `mio::event::Source` (a socket, a pipe, a raw fd through [`FdSource`]),
//! registers it on creation and deregisters it on drop; its `poll_read_ready` /
//! `poll_write_ready` / `poll_read_io` / `poll_write_io` / `try_read_io` / `try_write_io` are
//! how sockets and pipes are built.

mod fd;
mod registration;
mod scheduled;
mod source;
mod timerfd;
pub(crate) mod watch;
pub(crate) mod watch_driver;
pub(crate) mod watch_idle;

#[allow(unused_imports)] // for the pipes and pidfds of subprocesses
pub(crate) use fd::FdSource;
#[allow(unused_imports)] // for sources that an IoSource cannot own
pub(crate) use registration::Registration;
pub(crate) use scheduled::{Direction, OnSocketError, ScheduledIo};
pub(crate) use source::IoSource;
pub(crate) use timerfd::TimerFd;

use crate::util::slab::{Key, Slab};
use std::cell::RefCell;
use std::rc::Rc;

/// The loop's table of I/O sources. Lives in the loop's core; touched on the loop thread only.
pub(crate) struct Reactor {
    entries: RefCell<Slab<Rc<ScheduledIo>>>,
    /// The fds watched for `add_reader` / `add_writer` and the `sock_*` waits.
    pub(crate) watches: Rc<watch::WatchTable>,
    /// The watches nothing wants, deregistered at the end of the next turn.
    pub(crate) idle_watches: Rc<watch_idle::IdleWatches>,
}

impl Reactor {
    pub(crate) fn new() -> Self {
        Reactor {
            entries: RefCell::new(Slab::new()),
            watches: Rc::default(),
            idle_watches: Rc::default(),
        }
    }

    /// Makes a new entry; its token is what the source must be registered with.
    pub(crate) fn insert(&self) -> (mio::Token, Rc<ScheduledIo>) {
        let io = Rc::new(ScheduledIo::new());
        let key = self.entries.borrow_mut().insert(io.clone());
        (token_of(key), io)
    }

    /// Forgets an entry. Stale events for its token, still in this turn's batch, miss.
    pub(crate) fn remove(&self, token: mio::Token) {
        let entry = self.entries.borrow_mut().remove(key_of(token));
        drop(entry);
    }

    /// How many sources are registered (for tests and stats).
    #[allow(dead_code)]
    pub(crate) fn len(&self) -> usize {
        self.entries.borrow().len()
    }

    /// Delivers one readiness event from the poller to whoever waits on its token.
    pub(crate) fn dispatch(&self, event: &mio::event::Event) {
        let entry = self.entries.borrow().get(key_of(event.token())).cloned();
        if let Some(io) = entry {
            io.set_from_event(event);
        }
    }
}

impl Drop for Reactor {
    /// The loop is gone: sources that outlive it (a socket returned from `run`) let go of
    /// the wakers they keep.
    fn drop(&mut self) {
        let entries = std::mem::replace(self.entries.get_mut(), Slab::new());
        for (_, io) in entries.iter() {
            io.forget_waiters();
        }
    }
}

fn token_of(key: Key) -> mio::Token {
    // Tokens are usize; keys are (generation << 32 | index). On 32-bit targets the generation is
    // cut, which only weakens stale-event detection (a stale event is a spurious wakeup, and
    // every reader of readiness tolerates those).
    mio::Token(key.to_u64() as usize)
}

fn key_of(token: mio::Token) -> Key {
    Key::from_u64(token.0 as u64)
}

//! Watches nothing wants any more, kept registered until the end of the next turn.
//!
//! # Lazy deregistration
//! A waiting `sock_*` call, or a reader that one callback adds and the next removes, makes an
//! fd wanted, then unwanted, then wanted again a turn later: deregistering at once would cost
//! an `fstat` and an `epoll_ctl` each way per wait. A watch that stops being wanted therefore
//! stays registered (with its interest) and is listed here; the end of the turn after the one
//! it went idle in deregisters it if nothing wanted it again meanwhile. A new want in between
//! finds it in the table and reuses it (after `acquire`'s identity check).
//!
//! What the delay may change, and why it is harmless:
//! - The loop's own sockets register their fd themselves: one that takes an fd an idle watch
//!   still holds gets `EEXIST`, so `Registration::new` then deregisters every idle watch
//!   ([`IdleWatches::close_all`]) and tries again.
//! - An fd closed while idle: the kernel drops its entry (the watch's end then finds another
//!   file, or none, under the number and forgets it without touching the poller, as for any
//!   stale watch). If another process or fd still holds the file, its entry stays in the
//!   poller until that reference closes too; its events carry a token whose generation no
//!   longer matches any entry, so they are ignored.
//! - Readiness an edge brings while idle is remembered, as while wanted; the driver's
//!   `poll(2)` and the `sock_*` calls' `WouldBlock` clear it when it is stale.

use super::watch::Watch;
use std::cell::RefCell;
use std::rc::Rc;

/// A loop's idle watches: those that went idle during this turn, and those from before it.
#[derive(Default)]
pub(crate) struct IdleWatches {
    this_turn: RefCell<Vec<Rc<Watch>>>,
    earlier: RefCell<Vec<Rc<Watch>>>,
}

impl IdleWatches {
    /// Lists a watch that nothing wants now.
    pub(crate) fn push(&self, watch: Rc<Watch>) {
        self.this_turn.borrow_mut().push(watch);
    }

    /// Whether no watch is listed (the common case at the end of a turn).
    pub(crate) fn is_empty(&self) -> bool {
        self.this_turn.borrow().is_empty() && self.earlier.borrow().is_empty()
    }

    /// At the end of a turn: deregisters the watches idle since an earlier turn and still
    /// unwanted; this turn's wait for the next.
    pub(crate) fn end_turn(&self) {
        let earlier = std::mem::take(&mut *self.earlier.borrow_mut());
        for watch in earlier {
            watch.close_if_idle();
        }
        let this_turn = std::mem::take(&mut *self.this_turn.borrow_mut());
        *self.earlier.borrow_mut() = this_turn;
    }

    /// Deregisters every idle watch now (another registration needs its fd).
    pub(crate) fn close_all(&self) {
        let mut all = std::mem::take(&mut *self.earlier.borrow_mut());
        all.append(&mut self.this_turn.borrow_mut());
        for watch in all {
            watch.close_if_idle();
        }
    }
}

//! One source's readiness and the wakers of the tasks that wait on it.

use std::cell::{Cell, RefCell};
use std::task::{Context, Poll, Waker};

/// Which half of a source a task waits on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

/// Readable (or priority data).
const READABLE: u8 = 1;
/// Writable.
const WRITABLE: u8 = 2;
/// The peer closed its write half (or hung up). Final: never cleared.
const READ_CLOSED: u8 = 4;
/// Our write half is closed (or the peer hung up). Final: never cleared.
const WRITE_CLOSED: u8 = 8;
/// An error is pending on the source (`SO_ERROR`); cleared like readiness, since trying the
/// I/O takes the error.
const ERROR: u8 = 16;

const READ_MASK: u8 = READABLE | READ_CLOSED | ERROR;
const WRITE_MASK: u8 = WRITABLE | WRITE_CLOSED | ERROR;
const CLOSED: u8 = READ_CLOSED | WRITE_CLOSED;

fn mask(dir: Direction) -> u8 {
    match dir {
        Direction::Read => READ_MASK,
        Direction::Write => WRITE_MASK,
    }
}

/// The tasks waiting on one direction. Nearly always one task (the reader, or the writer),
/// kept inline: waiting and waking allocate nothing.
#[derive(Default)]
struct Waiters {
    first: Option<Waker>,
    more: Vec<Waker>,
}

impl Waiters {
    /// Keeps the task's waker, once per task.
    fn add(&mut self, waker: &Waker) {
        match &self.first {
            None => self.first = Some(waker.clone()),
            Some(w) if w.will_wake(waker) => {}
            Some(_) => {
                if !self.more.iter().any(|w| w.will_wake(waker)) {
                    self.more.push(waker.clone());
                }
            }
        }
    }
}

/// Readiness of one registered source, remembered between the poller's edges.
pub(crate) struct ScheduledIo {
    readiness: Cell<u8>,
    readers: RefCell<Waiters>,
    writers: RefCell<Waiters>,
}

impl ScheduledIo {
    pub(crate) fn new() -> Self {
        ScheduledIo {
            readiness: Cell::new(0),
            readers: RefCell::new(Waiters::default()),
            writers: RefCell::new(Waiters::default()),
        }
    }

    fn waiters(&self, dir: Direction) -> &RefCell<Waiters> {
        match dir {
            Direction::Read => &self.readers,
            Direction::Write => &self.writers,
        }
    }

    /// Ready when the direction is ready; otherwise the task's waker is kept (once per task)
    /// and woken by the next event that makes the direction ready.
    #[inline]
    pub(crate) fn poll_ready(&self, dir: Direction, cx: &mut Context<'_>) -> Poll<()> {
        if self.readiness.get() & mask(dir) != 0 {
            return Poll::Ready(());
        }
        self.waiters(dir).borrow_mut().add(cx.waker());
        Poll::Pending
    }

    /// Marks both directions ready without waking anyone, so the first I/O attempt on a new
    /// socket is made at once instead of after the poller's first edge. A wrong guess costs
    /// one `WouldBlock`, which clears it.
    #[inline]
    pub(crate) fn assume_ready(&self) {
        self.readiness
            .set(self.readiness.get() | READABLE | WRITABLE);
    }

    /// Whether the direction is ready now, without waiting.
    #[inline]
    pub(crate) fn is_ready(&self, dir: Direction) -> bool {
        self.readiness.get() & mask(dir) != 0
    }

    /// Forgets the direction's readiness after the I/O returned `WouldBlock`. Closed states are
    /// final and stay.
    #[inline]
    pub(crate) fn clear(&self, dir: Direction) {
        let clear = mask(dir) & !CLOSED;
        self.readiness.set(self.readiness.get() & !clear);
    }

    pub(crate) fn set_from_event(&self, event: &mio::event::Event) {
        let mut ready = 0;
        if event.is_readable() || event.is_priority() {
            ready |= READABLE;
        }
        if event.is_writable() {
            ready |= WRITABLE;
        }
        if event.is_read_closed() {
            ready |= READ_CLOSED;
        }
        if event.is_write_closed() {
            ready |= WRITE_CLOSED;
        }
        if event.is_error() {
            ready |= ERROR;
        }
        self.set(ready);
    }

    /// Adds readiness and wakes the waiters it concerns.
    pub(crate) fn set(&self, ready: u8) {
        self.readiness.set(self.readiness.get() | ready);
        if ready & READ_MASK != 0 {
            self.wake(Direction::Read);
        }
        if ready & WRITE_MASK != 0 {
            self.wake(Direction::Write);
        }
    }

    /// Wakes every waiter of a direction. The wakers are taken first: a waker may do anything.
    pub(crate) fn wake(&self, dir: Direction) {
        let mut waiters = self.waiters(dir).borrow_mut();
        let Some(first) = waiters.first.take() else {
            return; // `more` is empty whenever `first` is
        };
        if waiters.more.is_empty() {
            drop(waiters);
            first.wake();
            return;
        }
        let more = std::mem::take(&mut waiters.more);
        drop(waiters);
        first.wake();
        for waker in more {
            waker.wake();
        }
    }

    /// Marks the source as gone (deregistered): every waiter wakes and finds it ready, so its
    /// next I/O attempt reports what happened instead of waiting forever.
    pub(crate) fn shutdown(&self) {
        self.set(READABLE | WRITABLE | CLOSED);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::wake_count::WakeCount;

    #[test]
    fn waits_until_set_and_clears_on_would_block() {
        let io = ScheduledIo::new();
        let (count, waker) = WakeCount::waker();
        let mut cx = Context::from_waker(&waker);
        assert!(io.poll_ready(Direction::Read, &mut cx).is_pending());
        // The same task twice keeps one waker.
        assert!(io.poll_ready(Direction::Read, &mut cx).is_pending());
        io.set(WRITABLE);
        assert_eq!(count.get(), 0);
        io.set(READABLE);
        assert_eq!(count.get(), 1);
        assert!(io.poll_ready(Direction::Read, &mut cx).is_ready());
        io.clear(Direction::Read);
        assert!(io.poll_ready(Direction::Read, &mut cx).is_pending());
        assert!(io.is_ready(Direction::Write));
    }

    #[test]
    fn every_waiting_task_wakes_once() {
        let io = ScheduledIo::new();
        let (counts, wakers): (Vec<_>, Vec<Waker>) = (0..3).map(|_| WakeCount::waker()).unzip();
        for _ in 0..2 {
            for w in &wakers {
                let mut cx = Context::from_waker(w);
                assert!(io.poll_ready(Direction::Read, &mut cx).is_pending());
            }
        }
        io.set(READABLE);
        let woken: Vec<usize> = counts.iter().map(|c| c.get()).collect();
        assert_eq!(woken, [1, 1, 1]);
        // Woken waiters are forgotten: the next edge wakes only those that wait again.
        io.clear(Direction::Read);
        let mut cx = Context::from_waker(&wakers[1]);
        assert!(io.poll_ready(Direction::Read, &mut cx).is_pending());
        io.set(READABLE);
        let woken: Vec<usize> = counts.iter().map(|c| c.get()).collect();
        assert_eq!(woken, [1, 2, 1]);
    }

    #[test]
    fn closed_is_final() {
        let io = ScheduledIo::new();
        io.set(READ_CLOSED);
        io.clear(Direction::Read);
        assert!(io.is_ready(Direction::Read));
        assert!(!io.is_ready(Direction::Write));
    }
}

//! One source's readiness and the wakers of the tasks that wait on it.

use std::cell::{Cell, RefCell};
use std::rc::Weak;
use std::task::{Context, Waker};

/// Told of an error event on a source (see [`ScheduledIo::watch_errors`]).
pub(crate) trait OnSocketError {
    /// Called once, from the reactor's dispatch of the event.
    fn on_socket_error(&self);
}

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
/// kept inline, and kept after it is woken: a task that waits again, as a reader does after
/// every read, clones no waker and wakes by reference. The cost is that the last task to
/// wait stays referenced (its allocation, not its future) until another task waits or the
/// source is dropped.
#[derive(Default)]
struct Waiters {
    /// The first task to wait; woken only while `waiting`.
    first: Option<Waker>,
    waiting: bool,
    /// Tasks waiting at the same time as `first`; taken by the wake. Empty unless `waiting`.
    more: Vec<Waker>,
}

impl Waiters {
    /// Marks the kept task as waiting again if `waker` is its waker.
    #[inline]
    fn rewait(&mut self, waker: &Waker) -> bool {
        match &self.first {
            Some(w) if w.will_wake(waker) => {
                self.waiting = true;
                true
            }
            _ => false,
        }
    }

    /// Keeps the waker of a task that is not the kept one ([`rewait`](Self::rewait) said
    /// no), once per task. Returns the waker of a task that no longer waits, for the caller
    /// to drop once it has let go of the list (dropping a waker may free a task, and with it
    /// anything).
    #[inline(never)]
    fn add(&mut self, waker: &Waker) -> Option<Waker> {
        if !self.waiting {
            self.waiting = true;
            return self.first.replace(waker.clone());
        }
        if !self.more.iter().any(|w| w.will_wake(waker)) {
            self.more.push(waker.clone());
        }
        None
    }
}

/// Readiness of one registered source, remembered between the poller's edges.
pub(crate) struct ScheduledIo {
    readiness: Cell<u8>,
    readers: RefCell<Waiters>,
    writers: RefCell<Waiters>,
    /// Whom to tell of an error event; taken when told.
    error_owner: Cell<Option<Weak<dyn OnSocketError>>>,
}

impl ScheduledIo {
    pub(crate) fn new() -> Self {
        ScheduledIo {
            readiness: Cell::new(0),
            readers: RefCell::new(Waiters::default()),
            writers: RefCell::new(Waiters::default()),
            error_owner: Cell::new(None),
        }
    }

    /// Tells `owner` of the first error event (`EPOLLERR`: a reset, say), whether or not a
    /// task waits to read. A source that is read lazily, only when its owner wants bytes, would
    /// otherwise notice a reset peer only at its next read, and hold the fd until then; and a
    /// reader woken by the event may read what arrived before it and then stop reading.
    pub(crate) fn watch_errors(&self, owner: Weak<dyn OnSocketError>) {
        self.error_owner.set(Some(owner));
    }

    fn waiters(&self, dir: Direction) -> &RefCell<Waiters> {
        match dir {
            Direction::Read => &self.readers,
            Direction::Write => &self.writers,
        }
    }

    /// Ready when the direction is ready; otherwise the task's waker is kept (once per task)
    /// and woken by the next event that makes the direction ready: [`is_ready`](Self::is_ready)
    /// and [`wait`](Self::wait), as the registration does them.
    #[cfg(test)]
    pub(crate) fn poll_ready(&self, dir: Direction, cx: &mut Context<'_>) -> std::task::Poll<()> {
        if self.is_ready(dir) {
            return std::task::Poll::Ready(());
        }
        self.wait(dir, cx);
        std::task::Poll::Pending
    }

    /// Keeps the task's waker until the next event that makes the direction ready, for a
    /// caller that found it not ready.
    #[inline]
    pub(crate) fn wait(&self, dir: Direction, cx: &Context<'_>) {
        let mut waiters = self.waiters(dir).borrow_mut();
        // The task that waited last, waiting again, is the common case: no clone, no drop.
        if !waiters.rewait(cx.waker()) {
            let stale = waiters.add(cx.waker());
            drop(waiters);
            drop(stale);
        }
    }

    /// Lets go of every waker, kept or waiting, when the loop is gone: no poll can follow,
    /// and a kept waker would hold its task's allocation, and through it the closed loop's
    /// shared part (its eventfd), for as long as the source outlives the loop.
    pub(crate) fn forget_waiters(&self) {
        let take = |list: &RefCell<Waiters>| std::mem::take(&mut *list.borrow_mut());
        let gone = (take(&self.readers), take(&self.writers));
        drop(gone);
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

    #[cold]
    fn tell_error(&self) {
        if let Some(owner) = self.error_owner.take().and_then(|o| o.upgrade()) {
            owner.on_socket_error();
        }
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
        if ready & ERROR != 0 {
            self.tell_error();
        }
    }

    /// Wakes every waiter of a direction. The wakers are taken out first (a waker may do
    /// anything, waiting again included); the first is put back for its task's next wait
    /// unless another task waited in the meantime.
    #[inline]
    pub(crate) fn wake(&self, dir: Direction) {
        // Most events find one direction with no waiter (a writable edge comes with nearly
        // every readable one).
        if self.waiters(dir).borrow().waiting {
            self.wake_waiting(dir);
        }
    }

    #[inline(never)]
    fn wake_waiting(&self, dir: Direction) {
        let list = self.waiters(dir);
        let mut waiters = list.borrow_mut();
        waiters.waiting = false;
        let first = waiters.first.take();
        if !waiters.more.is_empty() {
            let more = std::mem::take(&mut waiters.more);
            drop(waiters);
            return Self::wake_all(first, more);
        }
        drop(waiters);
        if let Some(first) = &first {
            first.wake_by_ref();
        }
        let mut waiters = list.borrow_mut();
        if waiters.first.is_none() {
            waiters.first = first;
        } else {
            drop(waiters);
            drop(first);
        }
    }

    /// Several tasks waited on one direction: all are woken and none is kept.
    #[cold]
    fn wake_all(first: Option<Waker>, more: Vec<Waker>) {
        for waker in first.into_iter().chain(more) {
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
    use std::sync::Arc;

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
    fn a_task_that_waits_again_is_kept_and_not_cloned_again() {
        let io = ScheduledIo::new();
        let (count, waker) = WakeCount::waker();
        let mut cx = Context::from_waker(&waker);
        // `count` and `waker` hold the counter; each clone the source keeps adds one.
        assert_eq!(Arc::strong_count(&count), 2);
        for round in 1..=3 {
            assert!(io.poll_ready(Direction::Read, &mut cx).is_pending());
            assert_eq!(
                Arc::strong_count(&count),
                3,
                "one kept clone, round {round}"
            );
            io.set(READABLE);
            assert_eq!(count.get(), round);
            assert_eq!(
                Arc::strong_count(&count),
                3,
                "kept after the wake, round {round}"
            );
            io.clear(Direction::Read);
        }
        // Kept but not waiting: the next edge wakes nobody.
        io.set(READABLE);
        assert_eq!(count.get(), 3);
        // Another task waiting replaces it, and the old waker is let go.
        let (other, other_waker) = WakeCount::waker();
        io.clear(Direction::Read);
        assert!(
            io.poll_ready(Direction::Read, &mut Context::from_waker(&other_waker))
                .is_pending()
        );
        assert_eq!(Arc::strong_count(&count), 2);
        io.set(READABLE);
        assert_eq!((count.get(), other.get()), (3, 1));
    }

    /// Any task whose poll found its direction not ready is woken by the next edge of that
    /// direction, whatever the interleaving of three tasks, both directions, waits, edges and
    /// clears (a seeded random walk; from a review of the kept waker).
    #[test]
    fn no_wake_is_lost_in_any_interleaving() {
        let mut rnd = crate::util::xorshift::below(0x9e37_79b9_7f4a_7c15);
        for _ in 0..2000 {
            let io = ScheduledIo::new();
            let tasks: Vec<Vec<_>> = (0..2)
                .map(|_| (0..3).map(|_| WakeCount::waker()).collect())
                .collect();
            // owed[dir][task]: the wake count the task must have reached by the next edge.
            let mut owed = [[0usize; 3]; 2];
            for _ in 0..40 {
                let (t, d) = (rnd(3) as usize, rnd(2) as usize);
                let dir = [Direction::Read, Direction::Write][d];
                match rnd(4) {
                    0 | 1 => {
                        if io.is_ready(dir) {
                            continue;
                        }
                        let mut cx = Context::from_waker(&tasks[d][t].1);
                        assert!(io.poll_ready(dir, &mut cx).is_pending());
                        owed[d][t] = owed[d][t].max(tasks[d][t].0.get() + 1);
                    }
                    2 => {
                        io.set([READABLE, WRITABLE][d]);
                        for (i, (count, _)) in tasks[d].iter().enumerate() {
                            assert!(count.get() >= owed[d][i], "lost wake");
                        }
                    }
                    _ => io.clear(dir),
                }
            }
        }
    }

    #[test]
    fn forgotten_waiters_are_let_go_and_never_woken() {
        let io = ScheduledIo::new();
        let (count, waker) = WakeCount::waker();
        assert!(
            io.poll_ready(Direction::Read, &mut Context::from_waker(&waker))
                .is_pending()
        );
        assert_eq!(Arc::strong_count(&count), 3);
        io.forget_waiters();
        assert_eq!(Arc::strong_count(&count), 2);
        io.set(READABLE);
        assert_eq!(count.get(), 0);
    }

    thread_local! {
        static SOURCE: std::cell::RefCell<Option<std::rc::Rc<ScheduledIo>>> =
            const { std::cell::RefCell::new(None) };
    }

    /// A waker that, when woken, waits on `SOURCE` again at once (as a waker that polls its
    /// task inline would).
    struct WaitsAgain(std::sync::atomic::AtomicUsize);

    impl std::task::Wake for WaitsAgain {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let waker = Waker::from(self.clone());
            SOURCE.with(|s| {
                let io = s.borrow().clone().unwrap();
                io.clear(Direction::Read);
                let _ = io.poll_ready(Direction::Read, &mut Context::from_waker(&waker));
            });
        }
    }

    #[test]
    fn a_waker_may_wait_again_from_inside_its_wake() {
        let io = std::rc::Rc::new(ScheduledIo::new());
        SOURCE.with(|s| *s.borrow_mut() = Some(io.clone()));
        let me = Arc::new(WaitsAgain(std::sync::atomic::AtomicUsize::new(0)));
        let waker = Waker::from(me.clone());
        assert!(
            io.poll_ready(Direction::Read, &mut Context::from_waker(&waker))
                .is_pending()
        );
        io.set(READABLE);
        io.set(READABLE);
        assert_eq!(me.0.load(std::sync::atomic::Ordering::SeqCst), 2);
        SOURCE.with(|s| s.borrow_mut().take());
    }

    struct Told(Cell<u32>);

    impl OnSocketError for Told {
        fn on_socket_error(&self) {
            self.0.set(self.0.get() + 1);
        }
    }

    /// An error event is told to the owner once, after the waiting reader is woken.
    #[test]
    fn an_error_is_told_to_the_owner_once() {
        let told = std::rc::Rc::new(Told(Cell::new(0)));
        let owner: std::rc::Rc<dyn OnSocketError> = told.clone();
        let io = ScheduledIo::new();
        io.watch_errors(std::rc::Rc::downgrade(&owner));
        let (count, waker) = WakeCount::waker();
        assert!(
            io.poll_ready(Direction::Read, &mut Context::from_waker(&waker))
                .is_pending()
        );
        io.set(READABLE);
        assert_eq!(
            (count.get(), told.0.get()),
            (1, 0),
            "readiness alone tells no one"
        );
        io.set(ERROR);
        io.set(ERROR);
        assert_eq!(told.0.get(), 1, "told once");
        drop(owner);
        drop(told);
        io.watch_errors(std::rc::Weak::<Told>::new());
        io.set(ERROR);
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

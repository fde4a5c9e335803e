//! Driving a loop from outside Rust: the few hooks a foreign front end needs (the Python
//! package `asyncio-rs` runs CPython's asyncio on this loop through them).
//!
//! An [`EmbeddedLoop`] is a loop with no main task: its owner turns it one turn at a time
//! ([`turn`](EmbeddedLoop::turn)) and decides itself when to stop, as asyncio's
//! `run_forever` calls `_run_once` until `stop()`. Callbacks, timers, `add_reader` /
//! `add_writer` and the cross-thread door are the loop's own, the ones every Rust program
//! uses. The owner may wrap the one blocking wait of a turn ([`WaitHook`]): the Python front
//! releases the GIL there, so other threads run while the loop sleeps in `epoll_wait`.
//!
//! This is not a stable API: it is public for the workspace's Python package only.

use super::context::{self, Enter};
use super::core::{Core, TimerAction};
use super::handle::{LoopHandle, TimerHandle};
use crate::combinators::deadline::secs_to_ns;
use crate::reactor::{Direction, Registration};
use std::cell::Cell;
use std::io;
use std::os::fd::RawFd;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Duration;

/// Wraps the loop's blocking wait for I/O: it must call its argument exactly once, on this
/// thread (e.g. with the GIL released around it). The wait touches only the loop's poller.
pub type WaitHook = fn(&mut dyn FnMut());

thread_local! {
    /// The hook of the embedded loop turning on this thread, if any.
    static WAIT_HOOK: Cell<Option<WaitHook>> = const { Cell::new(None) };
}

/// Calls `wait` (the loop's poll for I/O with `timeout`), through the embedding's hook when
/// the poll may block.
#[inline]
pub(crate) fn around_wait<R>(timeout: Option<Duration>, wait: impl FnOnce() -> R) -> R {
    if timeout == Some(Duration::ZERO) {
        return wait();
    }
    match WAIT_HOOK.with(Cell::get) {
        None => wait(),
        Some(hook) => {
            let mut wait = Some(wait);
            let mut out = None;
            hook(&mut || {
                if let Some(wait) = wait.take() {
                    out = Some(wait());
                }
            });
            // A hook that did not call its argument broke its contract; poll without it
            // rather than lose the turn.
            out.unwrap_or_else(|| (wait.take().expect("not called"))())
        }
    }
}

/// A timer of [`EmbeddedLoop::call_at_token`], to take it off the wheel with
/// [`EmbeddedLoop::cancel_timer_token`]. Its raw form is a word an embedding may keep in an
/// atomic.
///
/// # Examples
/// ```
/// use asyncio::embed::{EmbeddedLoop, TimerKey};
/// use std::sync::atomic::{AtomicU64, Ordering};
/// let lp = EmbeddedLoop::new()?;
/// let key = lp.call_at_token(lp.handle().time() + 60.0, 7, None).unwrap();
/// let kept = AtomicU64::new(key.to_raw());
/// let key = TimerKey::from_raw(kept.load(Ordering::Relaxed));
/// assert_eq!(lp.cancel_timer_token(key), Some(7));
/// lp.close();
/// # std::io::Result::Ok(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimerKey(u64);

impl TimerKey {
    /// The key as a word.
    pub fn to_raw(self) -> u64 {
        self.0
    }

    /// The key a word from [`to_raw`](Self::to_raw) stands for.
    pub fn from_raw(raw: u64) -> TimerKey {
        TimerKey(raw)
    }
}

/// Installs a wait hook on this thread until dropped, putting back the one it replaced.
struct HookSet(Option<WaitHook>);

impl HookSet {
    fn new(hook: Option<WaitHook>) -> HookSet {
        HookSet(WAIT_HOOK.with(|h| h.replace(hook)))
    }
}

impl Drop for HookSet {
    fn drop(&mut self) {
        WAIT_HOOK.with(|h| h.set(self.0));
    }
}

/// A loop turned by its owner, one turn at a time.
///
/// # Examples
/// ```
/// use std::{cell::Cell, rc::Rc};
/// let lp = asyncio::embed::EmbeddedLoop::new()?;
/// let called = Rc::new(Cell::new(false));
/// let flag = called.clone();
/// lp.call_soon(move || flag.set(true));
/// lp.turn(false, None);
/// assert!(called.get());
/// lp.close();
/// # std::io::Result::Ok(())
/// ```
pub struct EmbeddedLoop {
    core: Rc<Core>,
}

impl EmbeddedLoop {
    /// A new loop on the real clock, not running.
    ///
    /// # Errors
    /// When the poller or its waker cannot be made (out of file descriptors).
    pub fn new() -> io::Result<EmbeddedLoop> {
        Ok(EmbeddedLoop {
            core: Core::new(false, false)?,
        })
    }

    /// The loop's `Send` handle: its clock, `call_soon_threadsafe` from any thread.
    pub fn handle(&self) -> LoopHandle {
        LoopHandle {
            shared: self.core.shared.clone(),
        }
    }

    /// Makes this the running loop of the thread for `f` (unless it is already), so that
    /// `get_running_loop`, `add_reader`, [`FdReadiness::new`] and the like find it.
    pub fn entered<R>(&self, f: impl FnOnce() -> R) -> R {
        if context::is_current(Rc::as_ptr(&self.core)) {
            return f();
        }
        let _enter = Enter::new(&self.core);
        f()
    }

    /// Runs one turn: looks at I/O (waiting only when `may_block` and nothing is ready,
    /// until the next timer), then runs the callbacks and tasks that were ready when the
    /// turn began, the I/O's included. The wait goes through `hook` when there is one.
    ///
    /// Unlike a Rust program's loop, which looks at I/O only every so many turns while work
    /// is always ready, every turn polls, as asyncio's `_run_once` selects at each
    /// iteration: Python code relies on a turn seeing the I/O that is there.
    pub fn turn(&self, may_block: bool, hook: Option<WaitHook>) {
        let _hook = HookSet::new(hook);
        self.entered(|| self.turn_entered(may_block));
    }

    /// Turns the loop as [`turn`](Self::turn) does while `next` says so: before each turn
    /// `next` answers `Some(may_block)` to turn, or `None` to return; it is told whether a
    /// signal interrupted the turn before it in its wait for I/O (an interpreter runs its
    /// signal handlers then: the wait was `epoll_wait`, not its own code). The loop
    /// is entered, and `hook` installed, once for the whole run instead of at each turn (that
    /// costs as much as the turn itself when one callback is ready): asyncio's
    /// `run_forever` is this.
    ///
    /// # Examples
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// let lp = asyncio::embed::EmbeddedLoop::new()?;
    /// let calls = Rc::new(Cell::new(0));
    /// let count = calls.clone();
    /// lp.call_soon(move || count.set(count.get() + 1));
    /// let mut turns = 0;
    /// lp.run(None, |_interrupted| {
    ///     turns += 1;
    ///     (turns <= 3).then_some(false)
    /// });
    /// assert_eq!((calls.get(), turns), (1, 4));
    /// lp.close();
    /// # std::io::Result::Ok(())
    /// ```
    pub fn run(&self, hook: Option<WaitHook>, mut next: impl FnMut(bool) -> Option<bool>) {
        let _hook = HookSet::new(hook);
        self.entered(|| {
            let mut interrupted = self.core.take_interrupted();
            while let Some(may_block) = next(interrupted) {
                self.turn_entered(may_block);
                interrupted = self.core.take_interrupted();
            }
        });
    }

    /// One turn, in the loop.
    fn turn_entered(&self, may_block: bool) {
        if self.core.has_ready() {
            self.core.poll_io(Some(std::time::Duration::ZERO));
        } else if !may_block {
            // Something ready makes the turn poll without waiting.
            self.core.call_soon(Box::new(|| {}), None);
        }
        self.core.shared.running.store(true, Ordering::Release);
        self.core.turn();
        self.core.shared.running.store(false, Ordering::Release);
    }

    /// Queues `callback` for the next turn, after what other threads sent before (as
    /// asyncio's one ready queue keeps `call_soon_threadsafe` and `call_soon` in call order).
    pub fn call_soon(&self, callback: impl FnOnce() + 'static) {
        if self.core.shared.remote.is_notified() {
            self.core.drain_remote();
        }
        self.core.call_soon(Box::new(callback), None);
    }

    /// Sets how the loop runs the tokens of [`call_soon_token`](Self::call_soon_token):
    /// `dispatch(token, true)` runs one, `dispatch(token, false)` drops one that the loop
    /// did not run before it shut down (a close runs what is ready first, as its last turn).
    /// Only the first call sets it.
    ///
    /// # Examples
    /// ```
    /// use std::{cell::RefCell, rc::Rc};
    /// let lp = asyncio::embed::EmbeddedLoop::new()?;
    /// let seen = Rc::new(RefCell::new(Vec::new()));
    /// let log = seen.clone();
    /// lp.set_dispatch(move |token, run| log.borrow_mut().push((token, run)));
    /// lp.call_soon_token(7);
    /// lp.turn(false, None);
    /// assert_eq!(*seen.borrow(), [(7, true)]);
    /// lp.close();
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_dispatch(&self, dispatch: impl Fn(usize, bool) + 'static) {
        let _ = self.core.dispatch.set(Box::new(dispatch));
    }

    /// Queues `token` as [`call_soon`](Self::call_soon) queues a callback, for the
    /// dispatch set by [`set_dispatch`](Self::set_dispatch) to run: a word instead of a boxed
    /// closure, so queueing allocates nothing (the Python front's `call_soon` hands its
    /// `Handle` over this way). A token queued with no dispatch set is dropped unrun.
    #[inline]
    pub fn call_soon_token(&self, token: usize) {
        if self.core.shared.remote.is_notified() {
            self.core.drain_remote();
        }
        self.core.call_soon_token(token);
    }

    /// Queues `token` as [`call_soon_token`](Self::call_soon_token) does once the loop time
    /// reaches `when` (seconds, as [`LoopHandle::time`]): a word on the timer wheel instead
    /// of a boxed closure and its handle (the Python front's `call_later` and `call_at`). A
    /// `when` that is NaN or infinite arms nothing and returns `None`: the token stays the
    /// caller's. A timer the loop closed before it fired goes to the dispatch as not run.
    /// `now` is the loop time the caller has just read, if it did (`call_later` adds its delay
    /// to it): the loop then does not read its clock again to tell whether `when` is reached.
    ///
    /// # Examples
    /// ```
    /// use std::{cell::RefCell, rc::Rc};
    /// let lp = asyncio::embed::EmbeddedLoop::new()?;
    /// let seen = Rc::new(RefCell::new(Vec::new()));
    /// let log = seen.clone();
    /// lp.set_dispatch(move |token, run| log.borrow_mut().push((token, run)));
    /// let now = lp.handle().time();
    /// lp.call_at_token(now, 1, Some(now)).unwrap();
    /// let far = lp.call_at_token(now + 3600.0, 2, None).unwrap();
    /// lp.call_at_token(now + 7200.0, 3, None).unwrap();
    /// assert_eq!(lp.call_at_token(f64::NAN, 4, None), None);
    /// lp.turn(false, None);
    /// assert_eq!(lp.cancel_timer_token(far), Some(2));
    /// assert_eq!(lp.cancel_timer_token(far), None);
    /// lp.close();
    /// assert_eq!(*seen.borrow(), [(1, true), (3, false)]);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn call_at_token(&self, when: f64, token: usize, now: Option<f64>) -> Option<TimerKey> {
        if !when.is_finite() {
            return None;
        }
        let deadline_ns = secs_to_ns(when);
        let clock = self.core.clock();
        let tick = match now {
            Some(now) => clock.tick_due_by(deadline_ns, || secs_to_ns(now)),
            None => clock.tick_due_at(deadline_ns),
        };
        let key = self
            .core
            .timers
            .borrow_mut()
            .insert(tick, TimerAction::Token(token));
        Some(TimerKey(key.to_u64()))
    }

    /// Takes a timer of [`call_at_token`](Self::call_at_token) off the wheel and gives its
    /// token back, for the caller to release; `None` when it fired (its token is queued or
    /// was run) or was taken off already.
    pub fn cancel_timer_token(&self, key: TimerKey) -> Option<usize> {
        let key = crate::util::slab::Key::from_u64(key.0);
        let is_token = |action: &TimerAction| matches!(action, TimerAction::Token(_));
        match self.core.timers.borrow_mut().remove_if(key, is_token) {
            Some(TimerAction::Token(token)) => Some(token),
            _ => None,
        }
    }

    /// Runs `fut` as one of the loop's tasks, from the next turn on; it is dropped unfinished
    /// when the loop closes.
    pub fn spawn(&self, fut: impl std::future::Future<Output = ()> + 'static) {
        self.entered(|| drop(crate::task::create_lazy_task(fut)));
    }

    /// Schedules `callback` at the loop time `when` (seconds, as
    /// [`LoopHandle::time`]); the handle cancels it. A NaN `when` is treated as never.
    pub fn call_at(&self, when: f64, callback: impl FnOnce() + 'static) -> TimerHandle {
        let when = if when.is_nan() { f64::INFINITY } else { when };
        self.entered(|| self.handle().call_at(when, callback))
    }

    /// Calls `callback` at each turn while `fd` is readable (see
    /// [`LoopHandle::add_reader`], whose errors it returns).
    pub fn add_reader(&self, fd: RawFd, callback: impl FnMut() + 'static) -> io::Result<()> {
        self.entered(|| self.handle().add_reader(fd, callback))
    }

    /// Stops watching `fd` for reading; whether a reader was registered.
    pub fn remove_reader(&self, fd: RawFd) -> bool {
        self.entered(|| self.handle().remove_reader(fd))
    }

    /// Calls `callback` at each turn while `fd` is writable (see [`LoopHandle::add_writer`]).
    pub fn add_writer(&self, fd: RawFd, callback: impl FnMut() + 'static) -> io::Result<()> {
        self.entered(|| self.handle().add_writer(fd, callback))
    }

    /// Stops watching `fd` for writing; whether a writer was registered.
    pub fn remove_writer(&self, fd: RawFd) -> bool {
        self.entered(|| self.handle().remove_writer(fd))
    }

    /// Watches `pid`, a child of this process that nobody else waits for, as the crate's own
    /// subprocesses are watched: a pidfd on the reactor (a thread where there is none) reaps
    /// it when it exits, then `exited` gets its returncode (the exit code, or minus the
    /// signal number; 255 when someone else reaped it first, as asyncio reports). If the loop
    /// closes first, `exited` is dropped uncalled and a thread reaps the child.
    ///
    /// # Examples
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// let lp = asyncio::embed::EmbeddedLoop::new()?;
    /// let child = std::process::Command::new("sh").args(["-c", "exit 3"]).spawn()?;
    /// let code = Rc::new(Cell::new(None));
    /// let seen = code.clone();
    /// lp.watch_child(child.id(), move |rc| seen.set(Some(rc)));
    /// while code.get().is_none() {
    ///     lp.turn(true, None);
    /// }
    /// assert_eq!(code.get(), Some(3));
    /// lp.close();
    /// # std::io::Result::Ok(())
    /// ```
    pub fn watch_child(&self, pid: u32, exited: impl FnOnce(i32) + 'static) {
        self.entered(|| {
            let child = crate::subprocess::watch_child(pid);
            let wait = async move {
                let raw = child.wait().await;
                exited(crate::subprocess::returncode(raw));
            };
            drop(crate::task::create_lazy_task(wait).with_name(format!("exit of pid {pid}")));
        });
    }

    /// Closes the loop: the loop's own tasks (the fd watches) are cancelled, the blocking
    /// pool is shut down, and the callbacks and timers not run are dropped; other threads are
    /// refused from then on. A second call does nothing.
    pub fn close(&self) {
        if self.core.shared.remote.is_closed() {
            return;
        }
        self.entered(|| {
            self.core.cancel_all_and_drain();
            self.core.shutdown_default_executor();
            self.core.cancel_all_and_drain();
        });
        self.core.shut_down();
    }
}

/// A file descriptor registered with a loop's reactor, edge-triggered, for a foreign front
/// end's own transports: a task polls its readiness ([`poll_ready`](FdReadiness::poll_ready))
/// and forgets it ([`clear`](FdReadiness::clear)) when its I/O says `WouldBlock` (or reads
/// short from a stream socket), as the crate's own sockets do. The fd stays its owner's: it is
/// deregistered on drop, and must be closed only after.
///
/// # Examples
/// ```
/// use std::os::fd::AsRawFd;
/// use std::{cell::Cell, rc::Rc};
/// let lp = asyncio::embed::EmbeddedLoop::new()?;
/// let (rx, mut tx) = std::os::unix::net::UnixStream::pair()?;
/// rx.set_nonblocking(true)?;
/// let io = lp.entered(|| asyncio::embed::FdReadiness::new(rx.as_raw_fd()))?;
/// std::io::Write::write_all(&mut tx, b"x")?;
/// let readable = Rc::new(Cell::new(false));
/// let flag = readable.clone();
/// lp.spawn(async move {
///     std::future::poll_fn(|cx| io.poll_ready(false, cx)).await.unwrap();
///     flag.set(true);
/// });
/// while !readable.get() {
///     lp.turn(true, None);
/// }
/// lp.close();
/// # std::io::Result::Ok(())
/// ```
pub struct FdReadiness {
    fd: RawFd,
    reg: Registration,
}

impl FdReadiness {
    /// Registers `fd` for reading and writing with the loop of this thread (see
    /// [`EmbeddedLoop::entered`]).
    ///
    /// # Errors
    /// Outside a loop; when the fd is not open, cannot be polled, or is registered already
    /// (by `add_reader` / `add_writer`).
    pub fn new(fd: RawFd) -> io::Result<FdReadiness> {
        let interest = mio::Interest::READABLE | mio::Interest::WRITABLE;
        let reg = Registration::new(&mut mio::unix::SourceFd(&fd), interest)
            .map_err(|e| crate::reactor::watch::refused(fd, e))?;
        Ok(FdReadiness { fd, reg })
    }

    /// Ready when the fd may be readable (`write == false`) or writable, or is hung up or
    /// in error; otherwise the task of `cx` is woken at the next such edge.
    ///
    /// # Errors
    /// When polled from another loop than the fd's.
    #[inline]
    pub fn poll_ready(&self, write: bool, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.reg.poll_ready(direction(write), cx)
    }

    /// Whether the direction looks ready, without waiting.
    #[inline]
    pub fn is_ready(&self, write: bool) -> bool {
        self.reg.is_ready(direction(write))
    }

    /// Forgets the direction's readiness: the next poll waits for the next edge.
    #[inline]
    pub fn clear(&self, write: bool) {
        self.reg.clear(direction(write));
    }
}

fn direction(write: bool) -> Direction {
    if write {
        Direction::Write
    } else {
        Direction::Read
    }
}

impl Drop for FdReadiness {
    fn drop(&mut self) {
        self.reg.deregister(&mut mio::unix::SourceFd(&self.fd));
    }
}

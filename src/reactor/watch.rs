//! Watching file descriptors the loop does not own: the table under asyncio's `add_reader` /
//! `add_writer` and the waits of the `sock_*` methods.
//!
//! # Design
//! Each loop keeps, per watched fd, one [`Watch`]: one registration with the poller whose
//! interest is the union of what is wanted (a reader callback or a waiting `sock_*` call
//! wants reading; a writer callback or waiting call wants writing). It is re-registered when
//! that union changes and deregistered when it empties, so a reader and a writer on one fd
//! share it, as they share one `epoll` entry in asyncio's selector. A watch nothing wants
//! stays registered until the end of the next turn, in case it is wanted again by then (see
//! [`watch_idle`](super::watch_idle)).
//!
//! Callbacks are run by one hidden task per fd, the [driver](super::watch_driver). Waiting
//! `sock_*` calls wait on the registration's readiness directly, as the crate's sockets do.
//!
//! # The fd is the user's
//! The loop never closes it. A user who closes it before `remove_*` (a bug, in asyncio too)
//! makes the entry stale: the kernel dropped it from the poller, and the number may now name
//! another file. Each `add_*` and each deregistration checks the number still names the file
//! that was registered (`fstat`'s device and inode); a stale entry is forgotten without
//! touching the poller, so it cannot remove the registration of whatever file took its
//! number. Eventfds and other anonymous-inode files all share one inode, so for them the
//! check cannot tell two apart; `add_*` therefore also re-registers an existing entry, and
//! the poller's `ENOENT` says it was stale.
//!
//! # Ownership
//! The table is the loop's own (in its reactor), touched only where the loop runs, and no
//! thread-local keeps a watch: a loop an embedding hands to another thread between runs (the
//! Python front does, under the GIL) takes its watches with it. Borrows of the table and of
//! a watch's state never span a call into user code (a callback, a drop).

use super::registration::Registration;
use super::scheduled::Direction;
use super::watch_idle::IdleWatches;
use crate::runtime::context;
use std::cell::RefCell;
use std::collections::HashMap;
use std::io;
use std::os::fd::RawFd;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};

/// A user's callback for an fd; shared so the driver can call it with no borrow held.
pub(crate) type Callback = Rc<RefCell<Box<dyn FnMut()>>>;

/// A loop's watches, by fd.
pub(crate) type WatchTable = RefCell<HashMap<RawFd, Rc<Watch>>>;

/// The table and idle list of loop `loop_id`, which must be running on this thread.
fn table_of(loop_id: usize) -> Option<(Rc<WatchTable>, Rc<IdleWatches>)> {
    context::with_core_of(loop_id, |core| {
        (
            core.reactor.watches.clone(),
            core.reactor.idle_watches.clone(),
        )
    })
}

/// Index of a direction in the per-direction arrays.
pub(crate) fn index(dir: Direction) -> usize {
    match dir {
        Direction::Read => 0,
        Direction::Write => 1,
    }
}

/// What identifies an open file, to tell whether an fd number still names it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Identity {
    dev: libc::dev_t,
    ino: libc::ino_t,
    /// A socket: its inode is its own (sockfs numbers each socket), so the identity tells
    /// two sockets apart.
    socket: bool,
}

fn identity(fd: RawFd) -> io::Result<Identity> {
    let mut stat = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `stat` is writable for one `struct stat`; `fstat` only writes it, and on an fd
    // that is not open it fails with EBADF and touches nothing.
    let rc = unsafe { libc::fstat(fd, stat.as_mut_ptr()) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fstat` returned 0, so it filled `stat`.
    let stat = unsafe { stat.assume_init() };
    Ok(Identity {
        dev: stat.st_dev,
        ino: stat.st_ino,
        socket: stat.st_mode & libc::S_IFMT == libc::S_IFSOCK,
    })
}

/// One watched fd of one loop.
pub(crate) struct Watch {
    pub(crate) fd: RawFd,
    /// The table that holds this watch, for its removal on detach.
    table: Weak<WatchTable>,
    /// The loop's idle list, which this watch joins when nothing wants it.
    idle: Weak<IdleWatches>,
    identity: Identity,
    pub(crate) reg: Registration,
    pub(crate) state: RefCell<State>,
}

#[derive(Default)]
pub(crate) struct State {
    /// The user's callbacks, reader then writer.
    pub(crate) callbacks: [Option<Callback>; 2],
    /// How many `sock_*` calls wait on each direction.
    waiters: [usize; 2],
    /// The interest the fd is registered with.
    interest: Option<mio::Interest>,
    /// The driver task's waker, woken when callbacks change; `None` when no driver runs.
    pub(crate) driver: Option<Waker>,
    pub(crate) has_driver: bool,
    /// Listed in the loop's idle watches (to be deregistered unless wanted again).
    idle_listed: bool,
    /// Deregistered (or forgotten): nothing may use the registration any more.
    pub(crate) closed: bool,
}

impl State {
    fn wanted(&self) -> Option<mio::Interest> {
        let read = self.callbacks[0].is_some() || self.waiters[0] > 0;
        let write = self.callbacks[1].is_some() || self.waiters[1] > 0;
        match (read, write) {
            (true, true) => Some(mio::Interest::READABLE | mio::Interest::WRITABLE),
            (true, false) => Some(mio::Interest::READABLE),
            (false, true) => Some(mio::Interest::WRITABLE),
            (false, false) => None,
        }
    }
}

/// A source whose poller calls do nothing: handed to [`Registration::deregister`] for an fd
/// the kernel already dropped from the poller, so the entry leaves the reactor and its
/// waiters wake, while whatever file took the number keeps its own registration.
struct Forgotten;

impl mio::event::Source for Forgotten {
    fn register(&mut self, _: &mio::Registry, _: mio::Token, _: mio::Interest) -> io::Result<()> {
        Ok(())
    }
    fn reregister(&mut self, _: &mio::Registry, _: mio::Token, _: mio::Interest) -> io::Result<()> {
        Ok(())
    }
    fn deregister(&mut self, _: &mio::Registry) -> io::Result<()> {
        Ok(())
    }
}

/// The error for an fd the poller refused, saying why in asyncio's terms.
pub(crate) fn refused(fd: RawFd, e: io::Error) -> io::Error {
    match e.raw_os_error() {
        Some(libc::EBADF) => io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("file descriptor {fd} is not open (EBADF)"),
        ),
        Some(libc::EPERM) => io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "file descriptor {fd} cannot be watched: the poller does not support regular \
                 files and directories (EPERM)"
            ),
        ),
        Some(libc::EEXIST) => io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!(
                "file descriptor {fd} is already registered with the event loop by one of its \
                 own sockets, streams or AsyncFds (EEXIST); use that object's methods instead"
            ),
        ),
        _ => e,
    }
}

impl Watch {
    /// Registers `fd` with the running loop for `interest`.
    fn register(
        table: &Rc<WatchTable>,
        idle: &Rc<IdleWatches>,
        fd: RawFd,
        interest: mio::Interest,
    ) -> io::Result<Rc<Watch>> {
        if fd < 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid file descriptor: {fd}"),
            ));
        }
        let identity = identity(fd).map_err(|e| refused(fd, e))?;
        let reg = Registration::new(&mut mio::unix::SourceFd(&fd), interest)
            .map_err(|e| refused(fd, e))?;
        let state = State {
            interest: Some(interest),
            ..State::default()
        };
        Ok(Rc::new(Watch {
            fd,
            table: Rc::downgrade(table),
            idle: Rc::downgrade(idle),
            identity,
            reg,
            state: RefCell::new(state),
        }))
    }

    /// Whether the fd number still names the file that was registered.
    fn is_same_file(&self) -> bool {
        identity(self.fd).is_ok_and(|id| id == self.identity)
    }

    /// Takes the watch out of the table and the poller (only if the fd still names its file:
    /// see the module doc); waiting `sock_*` calls wake and retry their call.
    fn close(&self) {
        self.detach(self.is_same_file());
    }

    /// Deregisters the watch if nothing wants it (the end of its idle time).
    pub(crate) fn close_if_idle(&self) {
        let idle = {
            let mut state = self.state.borrow_mut();
            state.idle_listed = false;
            !state.closed && state.wanted().is_none()
        };
        if idle {
            self.close();
        }
    }

    /// Forgets a watch whose fd was closed under it, without touching the poller.
    pub(crate) fn forget(&self) {
        self.detach(false);
    }

    fn detach(&self, deregister: bool) {
        {
            let mut state = self.state.borrow_mut();
            if state.closed {
                return;
            }
            state.closed = true;
            state.interest = None;
        }
        if let Some(table) = self.table.upgrade() {
            let mut t = table.borrow_mut();
            if t.get(&self.fd).is_some_and(|w| std::ptr::eq(&**w, self)) {
                t.remove(&self.fd);
            }
        }
        if deregister {
            self.reg.deregister(&mut mio::unix::SourceFd(&self.fd));
        } else {
            self.reg.deregister(&mut Forgotten);
        }
        self.wake_driver();
    }

    /// Whether the watch was deregistered or forgotten.
    pub(crate) fn is_closed(&self) -> bool {
        self.state.borrow().closed
    }

    /// Whether the entry of a watch whose fd still names its file is live for `dir`. A
    /// socket's identity is its own, and its entry lives as long as the file: already
    /// registered for `dir`, it needs no poller call. Others are probed.
    fn is_live_for(&self, dir: Direction) -> bool {
        let registered = self.state.borrow().interest.is_some_and(|i| match dir {
            Direction::Read => i.is_readable(),
            Direction::Write => i.is_writable(),
        });
        (self.identity.socket && registered) || self.probe(dir).is_ok()
    }

    /// Re-registers with `dir` added to the interest: the poller's answer tells whether the
    /// entry is still live (`ENOENT` or `EBADF` when its file was closed).
    fn probe(&self, dir: Direction) -> io::Result<()> {
        let current = self.state.borrow().interest;
        let add = interest_of(dir);
        let interest = current.map_or(add, |c| c | add);
        self.reg
            .reregister(&mut mio::unix::SourceFd(&self.fd), interest)?;
        self.state.borrow_mut().interest = Some(interest);
        Ok(())
    }

    /// Brings the registration in line with what is wanted; `force` re-registers even when
    /// nothing changed (which also tells whether the entry went stale). A watch nothing
    /// wants keeps its registration and joins the idle list.
    ///
    /// # Errors
    /// When the poller refuses the new interest; the watch is then closed.
    pub(crate) fn update(self: &Rc<Self>, force: bool) -> io::Result<()> {
        let (wanted, current) = {
            let state = self.state.borrow();
            if state.closed {
                return Ok(());
            }
            (state.wanted(), state.interest)
        };
        let Some(wanted) = wanted else {
            let list = !std::mem::replace(&mut self.state.borrow_mut().idle_listed, true);
            match self.idle.upgrade() {
                Some(idle) if list => idle.push(self.clone()),
                Some(_) => {}
                None => self.close(),
            }
            return Ok(());
        };
        if !force && Some(wanted) == current {
            return Ok(());
        }
        match self
            .reg
            .reregister(&mut mio::unix::SourceFd(&self.fd), wanted)
        {
            Ok(()) => {
                self.state.borrow_mut().interest = Some(wanted);
                Ok(())
            }
            Err(e) => {
                self.forget();
                Err(refused(self.fd, e))
            }
        }
    }

    /// Wakes the driver task, so it sees changed callbacks.
    pub(crate) fn wake_driver(&self) {
        let waker = self.state.borrow_mut().driver.take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

fn interest_of(dir: Direction) -> mio::Interest {
    match dir {
        Direction::Read => mio::Interest::READABLE,
        Direction::Write => mio::Interest::WRITABLE,
    }
}

/// The live watch of `fd` on loop `loop_id` with `dir` wanted, made (or made again, if the
/// one in the table went stale); `change` records what is wanted, then the registration is
/// brought in line.
///
/// # Errors
/// When the fd is not open, not pollable, or registered by the loop's own objects.
pub(crate) fn acquire(
    loop_id: usize,
    fd: RawFd,
    dir: Direction,
    change: impl FnOnce(&mut State),
) -> io::Result<Rc<Watch>> {
    let (table, idle) = table_of(loop_id)
        .ok_or_else(|| io::Error::other("the loop watching the fd is not running here"))?;
    let existing = table.borrow().get(&fd).cloned();
    let watch = match existing {
        Some(watch) if watch.is_same_file() && watch.is_live_for(dir) => watch,
        stale => {
            if let Some(stale) = stale {
                stale.forget();
            }
            let watch = Watch::register(&table, &idle, fd, interest_of(dir))?;
            table.borrow_mut().insert(fd, watch.clone());
            watch
        }
    };
    change(&mut watch.state.borrow_mut());
    watch.update(false)?;
    Ok(watch)
}

/// The watch of `fd` on loop `loop_id`, if there is one.
pub(crate) fn lookup(loop_id: usize, fd: RawFd) -> Option<Rc<Watch>> {
    table_of(loop_id)?.0.borrow().get(&fd).cloned()
}

/// A `sock_*` call waiting for one direction of an fd it borrows; stops wanting it on drop.
pub(crate) struct Waiter {
    watch: Rc<Watch>,
    dir: Direction,
}

impl Waiter {
    /// Starts wanting `dir` on `fd` on the running loop (registering the fd if nobody
    /// watches it yet).
    ///
    /// # Errors
    /// Outside a running loop; when the fd is not open, not pollable, or registered by the
    /// loop's own objects.
    pub(crate) fn new(fd: RawFd, dir: Direction) -> io::Result<Waiter> {
        let loop_id = context::current_loop_id();
        if loop_id == 0 {
            return Err(io::Error::other("no running event loop"));
        }
        let watch = acquire(loop_id, fd, dir, |s| s.waiters[index(dir)] += 1)?;
        Ok(Waiter { watch, dir })
    }

    /// Ready when the direction may be ready (or the watch was closed under the waiter).
    pub(crate) fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.watch.reg.poll_ready(self.dir, cx)
    }

    /// Whether the watch was closed under the waiter (its fd closed and its number reused):
    /// the caller makes a new waiter rather than spin on a closed registration.
    pub(crate) fn is_closed(&self) -> bool {
        self.watch.is_closed()
    }

    /// Forgets readiness after the I/O said `WouldBlock`.
    pub(crate) fn clear(&self) {
        self.watch.reg.clear(self.dir);
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        let mut state = self.watch.state.borrow_mut();
        if state.closed {
            return;
        }
        state.waiters[index(self.dir)] -= 1;
        drop(state);
        if let Err(e) = self.watch.update(false) {
            log::debug!("fd {}: re-registering after a wait: {e}", self.watch.fd);
        }
    }
}

//! The hidden task that runs an fd's `add_reader` / `add_writer` callbacks, level-triggered
//! over an edge-triggered poller.
//!
//! # Level-triggered callbacks on an edge-triggered reactor
//! asyncio's selector is level-triggered: a callback runs at every turn while its fd is
//! ready, so a reader that takes part of the data is called again. Our poller reports edges
//! only, and a callback's I/O is the user's, so the reactor never hears its `WouldBlock`.
//! The driver therefore asks the kernel: when the reactor's remembered readiness says a
//! direction may be ready, one zero-timeout `poll(2)` on the fd says whether it is. Ready:
//! the callback runs, and the driver comes back at the next turn to ask again. Not ready: the
//! remembered readiness is cleared and the driver waits for the next edge.
//!
//! That costs one `poll(2)` per callback run plus one when the fd stops being ready, and
//! nothing while it is idle.
//!
//! One case needs no `poll(2)`: a direction the driver last saw not ready, ready now. Its
//! readiness was then set by an event of this turn's `epoll_wait` (the event woke the
//! driver, which runs in the same turn), and the kernel reports an edge-triggered event
//! only if the fd is ready when `epoll_wait` returns: as fresh as asyncio's `select`, whose
//! callbacks also run after earlier callbacks of the same turn may have drained the fd. The
//! callback runs at once; the level-triggered check after it is a `poll(2)` again. So a
//! reader called once per edge (a `sock_recv`'s wait) costs no `poll(2)` for its call. It is race-free for the reason the reactor's `clear` is: edges
//! are dispatched only while the loop polls, never while the driver runs, so data that
//! arrives after the `poll(2)` makes a new edge. It also never calls a callback on a stale
//! edge (one for data a callback already took), which re-arming the registration (an
//! `EPOLL_CTL_MOD` per turn instead of a `poll`) would do as well but at the price of
//! queueing an event the loop must then wake for.
//!
//! A `poll(2)` that answers `POLLNVAL` means the fd was closed under the watch (the user's
//! bug, as in asyncio): the error is logged and the watch is forgotten.

use super::scheduled::Direction;
use super::watch::{self, Callback, Watch};
use std::future::Future;
use std::os::fd::RawFd;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

const DIRECTIONS: [Direction; 2] = [Direction::Read, Direction::Write];

/// What `poll(2)` reports for each direction: asyncio's epoll selector maps any event but
/// `EPOLLOUT` to "readable" and any but `EPOLLIN` to "writable", so errors and hang-ups call
/// both callbacks, whose I/O then reports them.
fn ready_events(dir: Direction) -> libc::c_short {
    match dir {
        Direction::Read => libc::POLLIN | libc::POLLPRI | libc::POLLHUP | libc::POLLERR,
        Direction::Write => libc::POLLOUT | libc::POLLHUP | libc::POLLERR,
    }
}

/// The fd's readiness now, without waiting.
fn poll_now(fd: RawFd, events: libc::c_short) -> std::io::Result<libc::c_short> {
    let mut pfd = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    loop {
        // SAFETY: `pfd` is one valid `pollfd` for the call; a zero timeout never blocks, and
        // an fd that is not open is reported in `revents` as POLLNVAL, not by touching memory.
        let n = unsafe { libc::poll(&mut pfd, 1, 0) };
        if n >= 0 {
            return Ok(pfd.revents);
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Sets (or replaces) the callback of one direction of `fd`, starting the driver task if
/// none runs.
///
/// # Errors
/// When the fd is not open, not pollable, or registered by the loop's own objects.
pub(crate) fn set_callback(
    loop_id: usize,
    fd: RawFd,
    dir: Direction,
    callback: Box<dyn FnMut()>,
) -> std::io::Result<()> {
    let callback: Callback = Rc::new(std::cell::RefCell::new(callback));
    let mut old = None;
    let watch = watch::acquire(loop_id, fd, dir, |s| {
        old = s.callbacks[watch::index(dir)].replace(callback);
    })?;
    drop(old);
    let start = !std::mem::replace(&mut watch.state.borrow_mut().has_driver, true);
    if start {
        let name = format!("watcher of fd {fd}");
        let driver = Driver {
            watch,
            armed: [false; 2],
        };
        drop(crate::task::create_lazy_task(driver).with_name(name));
    } else {
        // The running driver waits on the directions it had callbacks for: it must look at
        // the new one too, or a reader added beside a writer is never called.
        watch.wake_driver();
    }
    Ok(())
}

/// Removes the callback of one direction of `fd`; whether there was one.
pub(crate) fn remove_callback(loop_id: usize, fd: RawFd, dir: Direction) -> bool {
    let Some(watch) = watch::lookup(loop_id, fd) else {
        return false;
    };
    let old = watch.state.borrow_mut().callbacks[watch::index(dir)].take();
    let removed = old.is_some();
    if removed {
        if let Err(e) = watch.update(false) {
            log::debug!("fd {fd}: re-registering after a removal: {e}");
        }
        watch.wake_driver();
    }
    drop(old);
    removed
}

/// Runs the callbacks of one watch while it has any; on drop (the loop closing, or the task
/// cancelled) it removes them.
struct Driver {
    watch: Rc<Watch>,
    /// Per direction: the last look found it not ready, so readiness seen now is an edge of
    /// this turn (see the module doc).
    armed: [bool; 2],
}

impl Driver {
    /// The callback of `dir`, if it is still set.
    fn callback(&self, dir: Direction) -> Option<Callback> {
        self.watch.state.borrow().callbacks[watch::index(dir)].clone()
    }
}

impl Future for Driver {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let watch = &this.watch;
        let fd = watch.fd;
        loop {
            {
                let mut state = watch.state.borrow_mut();
                if state.closed || state.callbacks.iter().all(Option::is_none) {
                    return Poll::Ready(());
                }
                if !state
                    .driver
                    .as_ref()
                    .is_some_and(|w| w.will_wake(cx.waker()))
                {
                    state.driver = Some(cx.waker().clone());
                }
            }
            // Per direction: ready on a fresh edge; ready as remembered, to ask the kernel.
            let mut ready = [false; 2];
            let mut ask = [false; 2];
            for dir in DIRECTIONS {
                let i = watch::index(dir);
                if this.callback(dir).is_none() {
                    this.armed[i] = false;
                } else if !watch.reg.poll_ready(dir, cx).is_ready() {
                    this.armed[i] = true;
                } else if this.armed[i] {
                    ready[i] = true;
                } else {
                    ask[i] = true;
                }
            }
            let events = DIRECTIONS
                .iter()
                .filter(|&&dir| ask[watch::index(dir)])
                .fold(0, |events, &dir| events | ready_events(dir));
            if events == 0 && ready == [false; 2] {
                return Poll::Pending;
            }
            if events != 0 {
                let revents = match poll_now(fd, events) {
                    Ok(revents) => revents,
                    Err(e) => {
                        log::error!("poll of fd {fd} watched by add_reader/add_writer failed: {e}");
                        watch.forget();
                        return Poll::Ready(());
                    }
                };
                if revents & libc::POLLNVAL != 0 {
                    log::error!(
                        "fd {fd} was closed while add_reader/add_writer watched it (call \
                         remove_reader/remove_writer before closing it); no longer watching it"
                    );
                    watch.forget();
                    return Poll::Ready(());
                }
                for dir in DIRECTIONS {
                    let i = watch::index(dir);
                    if !ask[i] {
                        continue;
                    }
                    if revents & ready_events(dir) == 0 {
                        watch.reg.clear(dir);
                    } else {
                        ready[i] = true;
                    }
                }
            }
            let mut ran = false;
            for dir in DIRECTIONS {
                let i = watch::index(dir);
                if !ready[i] {
                    continue;
                }
                // The edge is used: what follows is the level-triggered check.
                this.armed[i] = false;
                // Fetched again: the reader's callback may have removed the writer's.
                if let Some(callback) = this.callback(dir) {
                    ran = true;
                    run_callback(fd, dir, &callback);
                }
            }
            if ran {
                // Level-triggered: ask the kernel again at the next turn.
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            // Nothing was ready: the loop above now waits for the next edge.
        }
    }
}

/// Calls a user's callback; a panic is logged and the callback stays, as asyncio keeps a
/// reader whose callback raised.
fn run_callback(fd: RawFd, dir: Direction, callback: &Callback) {
    let result = catch_unwind(AssertUnwindSafe(|| {
        let mut f = callback.borrow_mut();
        f()
    }));
    if let Err(p) = result {
        let p = crate::error::PanicError::new(p);
        let what = match dir {
            Direction::Read => "add_reader",
            Direction::Write => "add_writer",
        };
        crate::runtime::exception_handler::report_panic(
            format!("Exception in callback {what}(fd={fd})"),
            p,
        );
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let callbacks = {
            let mut state = self.watch.state.borrow_mut();
            state.has_driver = false;
            state.driver = None;
            std::mem::take(&mut state.callbacks)
        };
        if let Err(e) = self.watch.update(false) {
            log::debug!(
                "fd {}: re-registering as its watcher ends: {e}",
                self.watch.fd
            );
        }
        drop(callbacks);
    }
}

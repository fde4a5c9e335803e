//! Watching one child: who reaps it, where its status goes, and how it is signalled.
//!
//! # Design
//! Every child gets a *reaper*: a small task on the loop that waits until the child exits,
//! reaps it with `waitpid(pid, WNOHANG)` (never `waitpid(-1)`: other children of the process
//! belong to others, such as `std::process::Command::status()` on another thread), stores the
//! status and wakes whoever waits. The reaper runs whether or not anybody awaits
//! [`Process::wait`](super::Process::wait), so a child whose handle was dropped, or whose
//! wait was cancelled, does not stay a zombie (as asyncio's child watchers reap on their own).
//!
//! How the reaper learns of the exit:
//! - Linux: a pidfd (`pidfd_open`) registered in the reactor; it turns readable when the child
//!   exits. The pidfd also pins the pid: it cannot be reused while we have not reaped it.
//! - Elsewhere, or when `pidfd_open` fails (old kernel, seccomp, out of fds): a thread per
//!   child blocks in `waitid(.., WNOWAIT)` (which waits *without* reaping), then reaps under
//!   the child's lock and wakes the reaper. CPython's `ThreadedChildWatcher` is the same idea.
//!
//! # No signal to a reaped pid
//! A reaped pid may be reused by an unrelated process, so signals go out only while the child
//! is known unreaped: with a pidfd, reaping and signalling both happen on the loop thread; with
//! the thread, both happen under the child's lock.
//!
//! If the loop closes first, the reaper's drop hands the child to a detached thread that reaps
//! it when it exits.

use super::thread_watch::ThreadWatch;
use crate::reactor::{Direction, FdSource, IoSource};
use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::io;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Poll, Waker};

/// What the loop knows of a child; loop thread only.
pub(crate) struct ChildState {
    pub(crate) pid: u32,
    /// The raw wait status, once reaped.
    status: Cell<Option<i32>>,
    waiters: RefCell<Vec<Waker>>,
    /// Set in thread mode: the lock that orders reaping before signalling.
    thread: RefCell<Option<Arc<ThreadWatch>>>,
}

impl ChildState {
    /// Starts watching `pid`, a child we just spawned and have not reaped.
    pub(crate) fn watch(pid: u32) -> Rc<ChildState> {
        let state = Rc::new(ChildState {
            pid,
            status: Cell::new(None),
            waiters: RefCell::new(Vec::new()),
            thread: RefCell::new(None),
        });
        let watch = match pidfd_source(pid) {
            Ok(src) => Watch::Pidfd(src),
            Err(e) => {
                log::debug!("pidfd_open({pid}) failed ({e}); watching the child from a thread");
                let tw = ThreadWatch::start(pid);
                *state.thread.borrow_mut() = Some(tw.clone());
                Watch::Thread(tw)
            }
        };
        let reaper = Reaper {
            state: state.clone(),
            watch: Some(watch),
        };
        drop(crate::task::create_lazy_task(reaper.run()).with_name(format!("reaper of pid {pid}")));
        state
    }

    /// The raw wait status, if the child has been reaped.
    pub(crate) fn status(&self) -> Option<i32> {
        self.status.get()
    }

    fn set_status(&self, raw: i32) {
        self.status.set(Some(raw));
        for w in self.waiters.take() {
            w.wake();
        }
    }

    /// Waits until the child has been reaped; returns its raw wait status.
    ///
    /// Cancel safe: the reaper, not this future, reaps.
    pub(crate) async fn wait(&self) -> i32 {
        poll_fn(|cx| match self.status.get() {
            Some(raw) => Poll::Ready(raw),
            None => {
                let mut waiters = self.waiters.borrow_mut();
                if !waiters.iter().any(|w| w.will_wake(cx.waker())) {
                    waiters.push(cx.waker().clone());
                }
                Poll::Pending
            }
        })
        .await
    }

    /// Sends `sig` if the child is still unreaped.
    ///
    /// # Errors
    /// `ESRCH` (Python's `ProcessLookupError`) once the child has been reaped; what `kill`
    /// says otherwise.
    pub(crate) fn send_signal(&self, sig: i32) -> io::Result<()> {
        let reaped = || io::Error::from_raw_os_error(libc::ESRCH);
        let thread = self.thread.borrow().clone();
        match thread {
            Some(tw) => {
                let st = tw.state.lock().unwrap_or_else(|e| e.into_inner());
                if st.status.is_some() {
                    return Err(reaped());
                }
                kill(self.pid, sig)
            }
            None if self.status.get().is_some() => Err(reaped()),
            // Unreaped, and only this thread reaps it: the pid is still ours.
            None => kill(self.pid, sig),
        }
    }
}

fn kill(pid: u32, sig: i32) -> io::Result<()> {
    // SAFETY: kill takes plain integers; the pid is an unreaped child of ours (see callers).
    if unsafe { libc::kill(pid as libc::pid_t, sig) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Reaps `pid` if it has exited: `Ok(None)` while it runs.
pub(super) fn try_reap(pid: u32) -> io::Result<Option<i32>> {
    let mut status = 0;
    loop {
        // SAFETY: waitpid writes the status through a valid pointer; WNOHANG never blocks.
        let r = unsafe { libc::waitpid(pid as libc::pid_t, &mut status, libc::WNOHANG) };
        match r {
            0 => return Ok(None),
            r if r > 0 => return Ok(Some(status)),
            _ => {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
        }
    }
}

/// The status reported when someone else reaped our child (asyncio logs "Unknown child
/// process pid %d, will report returncode 255").
pub(super) fn unknown_child(pid: u32) -> i32 {
    log::warn!("Unknown child process pid {pid}, will report returncode 255");
    255 << 8
}

#[cfg(target_os = "linux")]
fn pidfd_source(pid: u32) -> io::Result<IoSource<FdSource>> {
    use std::os::fd::{FromRawFd, OwnedFd};
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the syscall returned a fresh fd that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) };
    IoSource::with_interest(FdSource(fd), mio::Interest::READABLE)
}

#[cfg(not(target_os = "linux"))]
fn pidfd_source(_pid: u32) -> io::Result<IoSource<FdSource>> {
    Err(io::ErrorKind::Unsupported.into())
}

enum Watch {
    Pidfd(IoSource<FdSource>),
    Thread(Arc<ThreadWatch>),
}

/// The reaper task's state; its drop hands an unreaped child to a detached thread.
struct Reaper {
    state: Rc<ChildState>,
    watch: Option<Watch>,
}

impl Reaper {
    async fn run(mut self) {
        let raw = match self.watch.as_ref() {
            Some(Watch::Pidfd(src)) => loop {
                if let Err(e) = src.ready(Direction::Read).await {
                    log::error!("watching pid {}: {e}", self.state.pid);
                    return; // Drop hands the child to a thread.
                }
                match try_reap(self.state.pid) {
                    Ok(Some(raw)) => break raw,
                    Ok(None) => src.clear_ready(Direction::Read),
                    Err(_) => break unknown_child(self.state.pid),
                }
            },
            Some(Watch::Thread(tw)) => tw.exited().await,
            None => return,
        };
        self.watch = None;
        self.state.set_status(raw);
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        match self.watch.take() {
            // Cancelled at loop close: the thread keeps going, without anyone to wake.
            Some(Watch::Thread(_)) | None => {}
            Some(Watch::Pidfd(src)) => {
                drop(src);
                match try_reap(self.state.pid) {
                    Ok(Some(raw)) => self.state.set_status(raw),
                    Ok(None) => {
                        let tw = ThreadWatch::start(self.state.pid);
                        *self.state.thread.borrow_mut() = Some(tw);
                    }
                    Err(_) => {}
                }
            }
        }
    }
}

impl std::fmt::Debug for ChildState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Child")
            .field("pid", &self.pid)
            .field("returncode", &self.status().map(returncode))
            .finish()
    }
}

/// Python's `returncode` from a raw wait status: the exit code, or minus the signal number.
pub(crate) fn returncode(raw: i32) -> i32 {
    if libc::WIFSIGNALED(raw) {
        -libc::WTERMSIG(raw)
    } else {
        libc::WEXITSTATUS(raw)
    }
}

/// Forces the thread mode, for tests of the fallback.
#[cfg(test)]
pub(crate) fn watch_with_thread(pid: u32) -> Rc<ChildState> {
    let tw = ThreadWatch::start(pid);
    let state = Rc::new(ChildState {
        pid,
        status: Cell::new(None),
        waiters: RefCell::new(Vec::new()),
        thread: RefCell::new(Some(tw.clone())),
    });
    let reaper = Reaper {
        state: state.clone(),
        watch: Some(Watch::Thread(tw)),
    };
    drop(crate::task::create_lazy_task(reaper.run()));
    state
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::zombie_processes)] // the watcher under test reaps it
    fn spawn(cmd: &str) -> u32 {
        let child = std::process::Command::new("sh")
            .args(["-c", cmd])
            .spawn()
            .unwrap();
        child.id()
    }

    #[test]
    fn thread_fallback_reaps_and_reports() {
        crate::run(async {
            let state = watch_with_thread(spawn("exit 4"));
            assert_eq!(returncode(state.wait().await), 4);
            assert_eq!(
                state.send_signal(libc::SIGTERM).unwrap_err().raw_os_error(),
                Some(libc::ESRCH),
                "no signal to a reaped pid"
            );
        });
    }

    #[test]
    fn thread_fallback_signals_a_running_child() {
        crate::run(async {
            let state = watch_with_thread(spawn("exec sleep 30"));
            state.send_signal(libc::SIGKILL).unwrap();
            assert_eq!(returncode(state.wait().await), -libc::SIGKILL);
        });
    }

    #[test]
    fn returncode_of_raw_statuses() {
        assert_eq!(returncode(0), 0);
        assert_eq!(returncode(3 << 8), 3);
        assert_eq!(returncode(libc::SIGKILL), -9);
    }
}

//! Ctrl-C in [`run`](crate::run): the first `SIGINT` cancels the main task, and a run that
//! ended that way exits the process as Python does on `KeyboardInterrupt` (or, from
//! [`try_run`](crate::try_run), returns it).
//!
//! As asyncio's `Runner`, the handling is armed only on the main thread and only when
//! `SIGINT` still has its default disposition (a program that set its own keeps it). While the
//! loop has its own `SIGINT` handler or a `ctrl_c` waiter, those get the signal instead.

use super::{global, local};
use crate::task::TaskRef;
use std::cell::Cell;
use std::io::Write;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};

/// Handlers and `ctrl_c` waiters for `SIGINT`, in any loop: while there are some, Ctrl-C is
/// theirs, not the runner's.
pub(crate) static USER_LISTENERS: AtomicUsize = AtomicUsize::new(0);
/// A runner's Ctrl-C handling is armed (on the main thread: one at a time).
static ARMED: AtomicBool = AtomicBool::new(false);
/// `SIGINT`s seen by the dispatcher thread while armed.
static SEEN: AtomicU32 = AtomicU32::new(0);

/// Armed for one run of a main task; disarmed on drop.
pub(crate) struct InterruptGuard {
    armed: Option<(usize, Rc<Cell<u32>>)>,
}

impl InterruptGuard {
    /// Arms Ctrl-C handling for `main`, on the running loop.
    pub(crate) fn arm(main: TaskRef) -> InterruptGuard {
        let off = InterruptGuard { armed: None };
        if std::thread::current().name() != Some("main") {
            return off;
        }
        if !(global::is_default(libc::SIGINT) || global::is_ours(libc::SIGINT)) {
            return off;
        }
        let Ok(lp) = crate::try_get_running_loop() else {
            return off;
        };
        if let Err(e) = global::acquire(libc::SIGINT, &lp) {
            log::warn!("cannot handle Ctrl-C: {e}");
            return off;
        }
        let id = lp.shared.id;
        SEEN.store(0, Ordering::SeqCst);
        ARMED.store(true, Ordering::SeqCst);
        let count = Rc::new(Cell::new(0u32));
        let seen = count.clone();
        local::set_interrupt(
            id,
            Some(Rc::new(move || {
                seen.set(seen.get() + 1);
                // The first Ctrl-C cancels the main task; its cleanup runs in `Drop`. Another
                // one, before the run is over, is Python's KeyboardInterrupt raised anywhere.
                if seen.get() > 1 || !main.cancel() {
                    exit_interrupted();
                }
            })),
        );
        InterruptGuard {
            armed: Some((id, count)),
        }
    }

    /// Whether a Ctrl-C arrived during the run.
    pub(crate) fn interrupted(&self) -> bool {
        self.armed.as_ref().is_some_and(|(_, n)| n.get() > 0)
    }
}

impl Drop for InterruptGuard {
    fn drop(&mut self) {
        if let Some((id, _)) = self.armed.take() {
            ARMED.store(false, Ordering::SeqCst);
            local::set_interrupt(id, None);
            global::release(libc::SIGINT, id);
        }
    }
}

/// Called by the dispatcher thread for each `SIGINT`, before the loop hears of it. A second
/// Ctrl-C for the runner while the loop has not ended the run (stuck in blocking code, say)
/// ends the process from here, as Python's KeyboardInterrupt would interrupt that code.
pub(crate) fn on_sigint_dispatched() {
    if ARMED.load(Ordering::SeqCst)
        && USER_LISTENERS.load(Ordering::SeqCst) == 0
        && SEEN.fetch_add(1, Ordering::SeqCst) >= 1
    {
        exit_interrupted();
    }
}

/// Ends the process as Python does on an uncaught `KeyboardInterrupt`: the message on
/// stderr, then death by `SIGINT` with the default disposition, so the parent (a shell) sees
/// the interrupt (status 130).
pub(crate) fn exit_interrupted() -> ! {
    let _ = std::io::stdout().flush();
    // This is the interpreter's last word, not a log record: Python prints it on stderr too.
    let _ = writeln!(std::io::stderr(), "KeyboardInterrupt");
    // SAFETY: sets SIGINT back to its default disposition, unblocks it and raises it.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_DFL);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        libc::raise(libc::SIGINT);
    }
    std::process::exit(128 + libc::SIGINT)
}

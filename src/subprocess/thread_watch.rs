//! The fallback child watcher: a thread per child, for systems without pidfds.
//!
//! The thread blocks in `waitid(P_PID, pid, WEXITED | WNOWAIT)`, which returns when the child
//! exits but leaves it unreaped, so its pid cannot be reused yet. Only then does it take the
//! lock and reap; `send_signal` takes the same lock and checks the status first, so a signal
//! never reaches a reaped (possibly reused) pid. CPython's `ThreadedChildWatcher` is the same
//! idea, without the `WNOWAIT` step.

use super::child::{try_reap, unknown_child};
use std::future::poll_fn;
use std::io;
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};

/// The thread mode's shared state.
pub(crate) struct ThreadWatch {
    pub(super) state: Mutex<ThreadState>,
}

pub(crate) struct ThreadState {
    pub(super) status: Option<i32>,
    waker: Option<Waker>,
}

impl ThreadWatch {
    pub(super) fn start(pid: u32) -> Arc<ThreadWatch> {
        let tw = Arc::new(ThreadWatch {
            state: Mutex::new(ThreadState {
                status: None,
                waker: None,
            }),
        });
        let theirs = tw.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("asyncio-waitpid-{pid}"))
            .stack_size(64 * 1024)
            .spawn(move || theirs.watch(pid));
        if let Err(e) = spawned {
            log::error!("cannot start a thread to wait for pid {pid}: {e}");
        }
        tw
    }

    /// The thread: waits for the exit without reaping, then reaps under the lock.
    fn watch(&self, pid: u32) {
        loop {
            // SAFETY: siginfo_t is plain data; zeroed is a valid value for waitid to fill.
            let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
            // SAFETY: waitid writes into `info`; WNOWAIT leaves the child unreaped.
            let r = unsafe {
                libc::waitid(
                    libc::P_PID,
                    pid as libc::id_t,
                    &mut info,
                    libc::WEXITED | libc::WNOWAIT,
                )
            };
            if r == 0 || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                break;
            }
        }
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let raw = match try_reap(pid) {
            Ok(Some(raw)) => raw,
            _ => unknown_child(pid),
        };
        st.status = Some(raw);
        if let Some(w) = st.waker.take() {
            w.wake();
        }
    }

    pub(super) async fn exited(&self) -> i32 {
        poll_fn(|cx| {
            let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
            match st.status {
                Some(raw) => Poll::Ready(raw),
                None => {
                    st.waker = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        })
        .await
    }
}

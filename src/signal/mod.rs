//! Unix signals on the loop: [`LoopHandle::add_signal_handler`] /
//! [`LoopHandle::remove_signal_handler`] (asyncio's), and the [`ctrl_c`] future.
//!
//! A signal's callbacks run on the loop's thread, as ordinary loop callbacks, never inside the
//! signal handler: the handler only records the signal and wakes a dispatcher thread, which
//! schedules the callbacks with `call_soon_threadsafe`. Any thread's loop may listen, and
//! several loops may listen to one signal: each gets it.
//!
//! [`run`](crate::run) handles Ctrl-C by itself, as asyncio's does: the first `SIGINT` cancels
//! the main task (its cleanup runs in `Drop`), then the process exits as Python does on
//! `KeyboardInterrupt` (killed by `SIGINT`, which a shell shows as status 130), or
//! [`try_run`](crate::try_run) returns [`RunError::Interrupted`](crate::RunError::Interrupted)
//! for `fn main` to handle; a second Ctrl-C before that, while the cleanup is stuck, ends the
//! process at once. This is armed on the main
//! thread only, and only if `SIGINT` has its default disposition. A loop with its own `SIGINT`
//! handler, or a task waiting in [`ctrl_c`], gets the signal instead.
//!
//! # Examples
//! ```
//! # asyncio::run(async {
//! let lp = asyncio::get_running_loop();
//! let got = std::rc::Rc::new(std::cell::Cell::new(false));
//! let flag = got.clone();
//! lp.add_signal_handler(libc::SIGUSR1, move || flag.set(true))?;
//! // SAFETY: raising a signal that has a handler.
//! unsafe { libc::raise(libc::SIGUSR1) };
//! while !got.get() {
//!     asyncio::sleep(0.001).await;
//! }
//! assert!(lp.remove_signal_handler(libc::SIGUSR1));
//! # std::io::Result::Ok(())
//! # }).unwrap();
//! ```

mod global;
pub(crate) mod interrupt;
mod local;

use crate::runtime::LoopHandle;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

impl LoopHandle {
    fn assert_running_here(&self, what: &str) {
        let here = crate::try_get_running_loop().is_ok_and(|l| l.shared.id == self.shared.id);
        assert!(
            here,
            "{what} must be called from the loop's own thread while it runs"
        );
    }

    /// Calls `callback` on the loop each time signal `sig` arrives (asyncio's
    /// `add_signal_handler`). A second call for the same signal replaces the callback.
    ///
    /// The callback runs on the loop's thread as an ordinary callback, not in the signal
    /// handler, so it may do anything a callback may. Several signals arriving before the loop
    /// wakes may call it once. The handler is removed when the loop closes.
    ///
    /// # Errors
    /// `InvalidInput` if `sig` is not a signal number or cannot be caught (`SIGKILL`,
    /// `SIGSTOP`); what `sigaction` reports.
    ///
    /// # Panics
    /// If called from another thread than the running loop's.
    ///
    /// # Examples
    /// See the [module](crate::signal). A bad signal:
    /// ```
    /// # asyncio::run(async {
    /// let lp = asyncio::get_running_loop();
    /// let err = lp.add_signal_handler(libc::SIGKILL, || {}).unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    /// # });
    /// ```
    pub fn add_signal_handler(&self, sig: i32, callback: impl FnMut() + 'static) -> io::Result<()> {
        self.assert_running_here("add_signal_handler");
        local::add_handler(self, sig, Box::new(callback))
    }

    /// Removes the callback of signal `sig`; returns whether there was one (asyncio's
    /// `remove_signal_handler`). When no loop listens to `sig` any more, its disposition from
    /// before is restored (the default for `SIGINT`: Ctrl-C ends the program again).
    ///
    /// # Panics
    /// If called from another thread than the running loop's.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let lp = asyncio::get_running_loop();
    /// assert!(!lp.remove_signal_handler(libc::SIGUSR2));
    /// lp.add_signal_handler(libc::SIGUSR2, || {})?;
    /// assert!(lp.remove_signal_handler(libc::SIGUSR2));
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn remove_signal_handler(&self, sig: i32) -> bool {
        self.assert_running_here("remove_signal_handler");
        local::remove_handler(self.shared.id, sig)
    }
}

/// Completes at the next Ctrl-C (`SIGINT`) after it was made (tokio's `signal::ctrl_c`).
///
/// While it exists, Ctrl-C goes to it instead of ending the program (or cancelling the main
/// task of [`run`](crate::run)); once it is dropped, the previous behaviour is back.
///
/// # Panics
/// Outside a running loop.
///
/// # Examples
/// ```no_run
/// #[asyncio::main]
/// async fn main() -> std::io::Result<()> {
///     println!("Press Ctrl-C to stop");
///     asyncio::signal::ctrl_c().await?;
///     println!("stopping");
///     Ok(())
/// }
/// ```
pub fn ctrl_c() -> CtrlC {
    let lp = crate::get_running_loop();
    let id = lp.shared.id;
    match local::add_waiter(&lp, libc::SIGINT) {
        Ok(slot) => CtrlC {
            id,
            slot: Some(slot),
            error: None,
        },
        Err(e) => CtrlC {
            id,
            slot: None,
            error: Some(e),
        },
    }
}

/// The future of [`ctrl_c`].
///
/// # Cancel safety
/// Cancel safe: a Ctrl-C that arrives while no `CtrlC` exists is not kept for a later one.
///
/// # Examples
/// See [`ctrl_c`].
#[must_use = "futures do nothing unless awaited"]
pub struct CtrlC {
    id: usize,
    slot: Option<Rc<local::Slot>>,
    error: Option<io::Error>,
}

impl std::fmt::Debug for CtrlC {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let fired = self.slot.as_ref().is_some_and(|s| s.fired.get());
        f.debug_struct("CtrlC").field("fired", &fired).finish()
    }
}

impl Future for CtrlC {
    type Output = io::Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(e) = self.error.take() {
            return Poll::Ready(Err(e));
        }
        let Some(slot) = self.slot.as_ref() else {
            return Poll::Ready(Err(io::Error::other("CtrlC polled after completion")));
        };
        if slot.fired.get() {
            return Poll::Ready(Ok(()));
        }
        *slot.waker.borrow_mut() = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for CtrlC {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            local::remove_waiter(self.id, libc::SIGINT, &slot);
        }
    }
}

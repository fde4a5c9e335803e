//! `wait_for`: a future with a time limit.

use super::deadline::{Deadline, IntoTimeout, deadline_after, running_core};
use crate::error::TimeoutError;
use crate::task::expiry::Expiry;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// Waits for `fut` for at most `timeout` (asyncio's `wait_for`): `Ok(output)`, or
/// `Err(TimeoutError)` once the time is up, with `fut` dropped (cancelled) before `wait_for`
/// returns.
///
/// `fut` is anything [`IntoFuture`]: a future, a [`Task`](crate::Task), or a builder such as
/// [`open_connection`](crate::open_connection) (`wait_for(open_connection(host, port), 5.0)`),
/// made into its future by this call.
///
/// `timeout` is seconds, a [`Duration`], or `None` to wait forever. It counts from the first
/// poll, as a Python coroutine starts when awaited. The future runs inside the awaiting task,
/// not as a task of its own. When its output arrives in the same turn as the timeout, the output
/// is returned, not lost. A timeout of zero or less still polls `fut` once, so an output that
/// is ready at once (a finished task) is returned.
///
/// Cancelling the awaiting task drops the `WaitFor` and `fut` with it; nothing here can
/// swallow that cancellation. With a catching scope inside `fut` ([`on_cancel`](crate::on_cancel),
/// [`catch_cancel`](crate::catch_cancel)) the time limit behaves as 3.12's `wait_for`, an
/// `async with timeout(..)`: see [`timeout`](crate::timeout). To keep the work going past the timeout, wrap it in
/// [`shield`](crate::shield). Note that a [`Task`](crate::Task) given as `fut` is only
/// *waited for*: dropping its handle does not cancel it, so cancel it yourself on timeout.
///
/// # Errors
/// `TimeoutError` when the time is up before `fut` finishes.
///
/// # Panics
/// When polled outside a running loop with a finite timeout; for a NaN timeout.
///
/// # Examples
/// ```
/// # asyncio::Runner::new().virtual_time(true).run(async {
/// async fn eternity() {
///     asyncio::sleep(3600.0).await;
///     println!("yay!");
/// }
/// match asyncio::wait_for(eternity(), 1.0).await {
///     Ok(()) => println!("yay!"),
///     Err(asyncio::TimeoutError { .. }) => println!("timeout!"),
/// }
/// assert_eq!(asyncio::get_running_loop().time(), 1.0);
/// # });
/// ```
/// A builder goes in as written in Python:
/// ```no_run
/// # asyncio::run(async {
/// let (reader, writer) = asyncio::wait_for(asyncio::open_connection("example.com", 80), 5.0)
///     .await??;
/// # let _ = (reader, writer);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub fn wait_for<F: IntoFuture>(fut: F, timeout: impl IntoTimeout) -> WaitFor<F::IntoFuture> {
    WaitFor {
        fut: Some(Box::pin(fut.into_future())),
        timeout: timeout.into_timeout(),
        deadline: None,
        expiry: Expiry::default(),
        passed_on: false,
    }
}

/// The future of [`wait_for`].
///
/// # Cancel safety
/// Dropping it drops the inner future, with what that future loses when dropped.
#[must_use = "futures do nothing unless awaited"]
pub struct WaitFor<F: Future> {
    fut: Option<Pin<Box<F>>>,
    timeout: Option<Duration>,
    /// Armed at the first poll.
    deadline: Option<Deadline>,
    /// The time limit's hold on its task, for catchable cancellation.
    expiry: Expiry,
    /// A cancellation went on up through `fut`, which is gone.
    passed_on: bool,
}

impl<F: Future> Future for WaitFor<F> {
    type Output = Result<F::Output, TimeoutError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let Some(fut) = this.fut.as_mut() else {
            // A cancellation went on up through `fut`: nothing comes after it.
            assert!(this.passed_on, "WaitFor polled after it finished");
            return Poll::Pending;
        };
        let timeout = this.timeout;
        let deadline = match &mut this.deadline {
            Some(deadline) => deadline,
            None => {
                this.expiry = Expiry::enter();
                this.deadline
                    .insert(Deadline::new(deadline_after(timeout, "wait_for")))
            }
        };
        let when = deadline.when_ns();
        // A cancellation on its way to a catching scope inside, with the time up: the time
        // limit's own cancel joins it (see `Expiry::before_poll`).
        this.expiry.before_poll(|| {
            when.is_some_and(|when| running_core("wait_for").clock().now_ns() >= when)
        });
        // The future first: an output that is ready wins over a timeout in the same turn.
        if let Poll::Ready(output) = fut.as_mut().poll(cx) {
            this.fut = None;
            this.expiry.exit();
            return Poll::Ready(Ok(output));
        }
        if this.expiry.expiring() {
            let verdict = this.expiry.after_pending();
            return verdict.settle(&mut this.fut, &mut this.passed_on);
        }
        // Past the time with a catching scope inside, `expire` cancels the task instead: its
        // cancellation comes back through here.
        if deadline.poll_expired(cx) && this.expiry.expire() {
            // Dropped before returning, as asyncio waits for the cancelled inner to finish.
            this.fut = None;
            return Poll::Ready(Err(TimeoutError::default()));
        }
        crate::task::waiting::note_limit(cx.waker(), crate::task::waiting::UNDER_WAIT_FOR);
        Poll::Pending
    }
}

impl<F: Future> fmt::Debug for WaitFor<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitFor")
            .field("timeout", &self.timeout)
            .field("finished", &self.fut.is_none())
            .finish()
    }
}

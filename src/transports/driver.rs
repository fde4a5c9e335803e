//! The driver: the task that reads one connection eagerly and calls its protocol.
//!
//! # Design
//! Each connection has one driver task; only it calls the protocol, so no callback ever runs
//! inside another, nor inside a [`Transport`] method. The transport's methods only change
//! the connection (`Conn`) and wake the driver: `Conn` wakes its watcher (the driver) when
//! the write buffer crosses a water mark and when the connection is lost, and
//! `resume_reading` wakes it through [`Shared::driver`](super::transport::Shared).
//!
//! At each poll the driver, in this order and in a loop: reports a loss (`connection_lost`,
//! then it ends), tells the protocol of a change of the write buffer's state
//! (`pause_writing` / `resume_writing`), and reads once, unless reading is paused, the
//! connection closing or its end read, giving the bytes to `data_received`, or reading into
//! `get_buffer`'s room and calling `buffer_updated` (see `buffered.rs`; end of stream:
//! `eof_received`). A change made by a callback (a `write` over the high-water mark, a
//! `close`) is so seen right after that callback returns, before the next read.
//!
//! The protocol is borrowed for each callback only. A callback that panics (or finds the
//! protocol borrowed elsewhere) aborts the connection; the next turn of the loop reports the
//! loss with an error that says which callback panicked.

use super::transport::Shared;
use super::{AnyProtocol, Transport};
use crate::streams::conn::Conn;
use std::cell::{Cell, RefCell};
use std::future::{Future, poll_fn};
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::task::{Context, Poll};

/// The most one read takes from the socket.
pub(super) const READ_SIZE: usize = 64 * 1024;

/// Reads per poll of a driver before it lets other tasks run: a connection that is always
/// readable must not hold the loop.
const READ_BUDGET: usize = 16;

thread_local! {
    /// The buffer reads go into, lent to one `data_received` at a time: callbacks return
    /// before the next read, so one buffer serves every connection of the loop, and an idle
    /// connection holds none.
    static SCRATCH: Cell<Option<Box<[u8]>>> = const { Cell::new(None) };
}

/// Calls `f` with the loop's read buffer.
pub(super) fn with_scratch<R>(f: impl FnOnce(&mut [u8]) -> R) -> R {
    let mut buf = SCRATCH
        .with(Cell::take)
        .unwrap_or_else(|| vec![0; READ_SIZE].into_boxed_slice());
    let result = f(&mut buf);
    SCRATCH.with(|s| s.set(Some(buf)));
    result
}

/// Starts a protocol on a connection: calls `connection_made` now and spawns the driver.
pub(crate) fn start<P: AnyProtocol>(conn: Rc<Conn>, proto: Rc<RefCell<P>>) -> Transport {
    let (transport, driver) = made(conn, proto);
    drop(crate::task::create_lazy_task(driver));
    transport
}

/// Calls `connection_made` now; gives the transport and the driver, for the caller to run.
pub(crate) fn made<P: AnyProtocol>(
    conn: Rc<Conn>,
    proto: Rc<RefCell<P>>,
) -> (Transport, impl Future<Output = ()>) {
    conn.set_eager_reader();
    let transport = Transport::new(conn);
    let mut driver = Driver {
        transport: transport.clone(),
        proto,
        told_paused: false,
        eof: false,
        failure: None,
    };
    let given = transport.clone();
    driver.call("connection_made", |p| p.made(given));
    let guard = LoseOnDrop(transport.shared.clone());
    let run = async move {
        let _guard = guard;
        poll_fn(|cx| driver.step(cx)).await;
    };
    (transport, run)
}

struct Driver<P> {
    transport: Transport,
    proto: Rc<RefCell<P>>,
    /// What the protocol was last told: paused for writing or not.
    told_paused: bool,
    /// The end of stream was read: nothing more is.
    eof: bool,
    /// A callback's panic, for `connection_lost`.
    failure: Option<io::Error>,
}

impl<P: AnyProtocol> Driver<P> {
    /// Calls one callback; `None` if it panicked, which aborts the connection.
    fn call<R>(&mut self, what: &str, f: impl FnOnce(&mut P) -> R) -> Option<R> {
        let (conn, failure) = (&self.transport.shared.conn, &mut self.failure);
        let mut f = Some(f);
        let mut out = None;
        guard(conn, failure, what, &mut || {
            if let Some(f) = f.take() {
                out = Some(f(&mut self.proto.borrow_mut()));
            }
        });
        out
    }

    fn conn(&self) -> &Conn {
        &self.transport.shared.conn
    }

    fn shared(&self) -> &Shared {
        &self.transport.shared
    }

    /// One run until the driver must wait; `Ready` once `connection_lost` was called.
    fn step(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let mut budget = READ_BUDGET;
        loop {
            if self.conn().is_lost() {
                let exc = self.failure.take().or_else(|| self.conn().lost_error());
                self.shared().driver.borrow_mut().take();
                // A panic here has nothing left to abort; it is only logged.
                self.call("connection_lost", |p| p.lost(exc));
                return Poll::Ready(());
            }
            // A sendfile's own bytes are no business of the protocol's (see `Conn::sendfile`).
            let paused = self.conn().write_paused();
            if paused != self.told_paused && !self.conn().sending_file() {
                self.told_paused = paused;
                if paused {
                    self.call("pause_writing", P::pause);
                } else {
                    self.call("resume_writing", P::resume);
                }
                continue;
            }
            if self.eof || self.conn().is_closing() || self.shared().reading_paused.get() {
                break;
            }
            if budget == 0 {
                cx.waker().wake_by_ref();
                break;
            }
            budget -= 1;
            let (proto, transport, failure) = (&self.proto, &self.transport, &mut self.failure);
            let conn = &transport.shared.conn;
            let read = P::read(proto, transport, cx, &mut |what, f| {
                guard(conn, failure, what, f)
            });
            match read {
                Poll::Pending => break,
                Poll::Ready(Ok(0)) => {
                    self.eof = true;
                    if self.call("eof_received", P::eof) == Some(false) {
                        self.conn().close();
                    }
                }
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(e)) => {
                    // A failed read lost the connection already (`Conn::after_read`); this
                    // makes sure of it, so that the next turn reports it.
                    if !self.conn().is_lost() {
                        self.conn().lose(Some(&e));
                    }
                }
            }
        }
        self.conn().watch(cx.waker());
        let mut driver = self.shared().driver.borrow_mut();
        if !driver.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            *driver = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

/// Runs user code (a protocol's callback), catching a panic (a borrow of the protocol held
/// elsewhere included): the panic is logged, kept for `connection_lost`, and the connection
/// aborted. False if it panicked.
fn guard(conn: &Conn, failure: &mut Option<io::Error>, what: &str, f: &mut dyn FnMut()) -> bool {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(()) => true,
        Err(payload) => {
            let panic = crate::PanicError::new(payload);
            let line = format!("Exception in Protocol.{what}: {panic}; aborting the connection");
            if failure.is_none() {
                *failure = Some(io::Error::other(format!(
                    "Protocol.{what} panicked: {panic}"
                )));
            }
            crate::runtime::exception_handler::report(
                crate::runtime::exception_handler::ExceptionContext::panic(
                    format!("Exception in Protocol.{what}"),
                    panic,
                )
                .logged_as(line),
            );
            conn.abort();
            false
        }
    }
}

/// Closes the connection when its driver is dropped before the loss (the loop shutting
/// down), and lets go of the driver's waker, which would otherwise keep the task's memory
/// for as long as a transport handle lives.
struct LoseOnDrop(Rc<Shared>);

impl Drop for LoseOnDrop {
    fn drop(&mut self) {
        let waker = self.0.driver.borrow_mut().take();
        drop(waker);
        self.0.conn.lose(None);
    }
}

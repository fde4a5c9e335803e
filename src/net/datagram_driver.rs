//! The driver task that runs a datagram protocol, for every kind of datagram socket: it
//! tells the protocol it is made, delivers errors, sends the buffer, receives datagrams and,
//! once, calls `connection_lost`.

use super::DatagramProtocol;
use super::datagram_socket::DatagramAddr;
use super::datagram_transport::{DatagramTransport, Endpoint, Lost, is_retry};
use crate::LoopHandle;
use std::cell::RefCell;
use std::future::poll_fn;
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::task::{Context, Poll};

/// Datagrams handled per step of the driver before it lets other tasks run (asyncio reads
/// one per readiness callback; a few more amortise the task switch, and a flood cannot hold
/// the loop).
const RECV_BUDGET: usize = 16;

/// Refuses to run outside `lp`'s loop: the endpoint's task and socket would belong to the
/// wrong one.
pub(super) fn check_loop(lp: &LoopHandle, what: &str) -> io::Result<()> {
    let here = crate::try_get_running_loop().map_err(|e| io::Error::other(e.to_string()))?;
    if !here.same_loop(lp) {
        return Err(io::Error::other(format!("{what} awaited outside its loop")));
    }
    Ok(())
}

/// Starts the endpoint on `sock` with the protocol `factory` makes; returns after
/// `connection_made` ran, from the loop, as asyncio does. Dropped before that, it closes the
/// endpoint.
pub(super) async fn open<A, P, F>(
    sock: A::Socket,
    factory: F,
) -> (DatagramTransport<A>, Rc<RefCell<P>>)
where
    A: DatagramAddr,
    F: FnOnce() -> P,
    P: DatagramProtocol<A> + 'static,
{
    let ep = Endpoint::new(sock);
    let transport = DatagramTransport { ep: ep.clone() };
    let protocol = Rc::new(RefCell::new(factory()));
    let made = Rc::new(std::cell::Cell::new(false));
    // Closes the endpoint if this future is dropped before the protocol is told.
    let guard = CloseOnDrop(Some(transport.clone()));
    drop(crate::task::create_lazy_task(drive(
        ep,
        protocol.clone(),
        made.clone(),
    )));
    poll_fn(|cx| {
        if made.get() {
            return Poll::Ready(());
        }
        transport.ep.st.borrow_mut().made_waiter = Some(cx.waker().clone());
        Poll::Pending
    })
    .await;
    guard.disarm();
    (transport, protocol)
}

struct CloseOnDrop<A: DatagramAddr>(Option<DatagramTransport<A>>);

impl<A: DatagramAddr> CloseOnDrop<A> {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl<A: DatagramAddr> Drop for CloseOnDrop<A> {
    fn drop(&mut self) {
        if let Some(t) = self.0.take() {
            t.close();
        }
    }
}

/// Calls one protocol callback. A panic (a borrow of the protocol held elsewhere included)
/// is logged and returned as the error to close the endpoint with.
fn call<P>(proto: &RefCell<P>, what: &str, f: impl FnOnce(&mut P)) -> Result<(), io::Error> {
    catch_unwind(AssertUnwindSafe(|| f(&mut proto.borrow_mut()))).map_err(|payload| {
        let panic = crate::PanicError::new(payload);
        let error = io::Error::other(format!("DatagramProtocol.{what} panicked: {panic}"));
        let line = format!("Exception in DatagramProtocol.{what}: {panic}; closing the transport");
        crate::runtime::exception_handler::report(
            crate::runtime::exception_handler::ExceptionContext::panic(
                format!("Exception in DatagramProtocol.{what}"),
                panic,
            )
            .logged_as(line),
        );
        error
    })
}

/// The endpoint's task: tells the protocol it is made, then delivers errors, sends the
/// buffer, receives datagrams and, once, `connection_lost`.
async fn drive<A: DatagramAddr, P: DatagramProtocol<A>>(
    ep: Rc<Endpoint<A>>,
    proto: Rc<RefCell<P>>,
    made: Rc<std::cell::Cell<bool>>,
) {
    let transport = DatagramTransport { ep: ep.clone() };
    // Closes the socket even if the task is cancelled (the loop shutting down).
    let _closer = SocketCloser(ep.clone());
    if let Err(e) = call(&proto, "connection_made", |p| p.connection_made(transport)) {
        ep.force_close(Some(e));
    }
    made.set(true);
    let waiter = ep.st.borrow_mut().made_waiter.take();
    if let Some(w) = waiter {
        w.wake();
    }
    // The poller reports writability only while datagrams wait (see `poll_flush`).
    if let Some(sock) = ep.sock.borrow().as_ref() {
        if let Err(e) = A::set_write_interest(sock, false) {
            ep.force_close(Some(e));
        }
    }
    let mut buf = vec![0u8; A::RECV_SIZE].into_boxed_slice();
    poll_fn(|cx| step(&ep, &proto, &mut buf, cx)).await;
}

/// One run of the driver until it must wait; `Ready` once `connection_lost` was called.
fn step<A: DatagramAddr, P: DatagramProtocol<A>>(
    ep: &Endpoint<A>,
    proto: &RefCell<P>,
    buf: &mut [u8],
    cx: &mut Context<'_>,
) -> Poll<()> {
    let mut budget = RECV_BUDGET;
    loop {
        if ep.st.borrow().is_idle() {
            // Nothing to deliver or send (the common case): straight to receiving.
            if !receive(ep, proto, buf, cx) {
                break;
            }
            budget -= 1;
            if budget == 0 {
                cx.waker().wake_by_ref();
                break;
            }
            continue;
        }
        let error = ep.st.borrow_mut().errors.pop_front();
        if let Some(e) = error {
            if let Err(panic) = call(proto, "error_received", |p| p.error_received(e)) {
                ep.force_close(Some(panic));
            }
            continue;
        }
        let due = {
            let mut st = ep.st.borrow_mut();
            match std::mem::replace(&mut st.lost, Lost::Done) {
                Lost::Due(exc) => Some(exc),
                other => {
                    st.lost = other;
                    None
                }
            }
        };
        if let Some(exc) = due {
            ep.st.borrow_mut().driver = None;
            // A panic here has nothing left to close; it is only logged.
            let _ = call(proto, "connection_lost", |p| p.connection_lost(exc));
            drop(ep.sock.borrow_mut().take());
            return Poll::Ready(());
        }
        // Told before the flush (a buffer that went above the mark is reported even if the
        // socket takes it all at once, as asyncio reports it inside `sendto`) and after.
        if tell_flow(ep, proto) || poll_flush(ep, cx) || tell_flow(ep, proto) {
            continue;
        }
        if ep.st.borrow().closing || !receive(ep, proto, buf, cx) {
            break;
        }
        budget -= 1;
        if budget == 0 {
            cx.waker().wake_by_ref();
            break;
        }
    }
    let mut st = ep.st.borrow_mut();
    if !st.driver.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
        st.driver = Some(cx.waker().clone());
    }
    Poll::Pending
}

/// Receives one datagram (or error) and gives it to the protocol; false when the socket has
/// none (the task is registered for the next).
#[inline]
fn receive<A: DatagramAddr, P: DatagramProtocol<A>>(
    ep: &Endpoint<A>,
    proto: &RefCell<P>,
    buf: &mut [u8],
    cx: &mut Context<'_>,
) -> bool {
    let received = match ep.sock.borrow().as_ref() {
        Some(sock) => A::poll_recv_from(sock, cx, buf),
        None => Poll::Pending,
    };
    let Poll::Ready(received) = received else {
        return false;
    };
    let outcome = match received {
        Ok((n, addr)) => call(proto, "datagram_received", |p| {
            p.datagram_received(&buf[..n], addr)
        }),
        Err(e) => call(proto, "error_received", |p| p.error_received(e)),
    };
    if let Err(panic) = outcome {
        ep.force_close(Some(panic));
    }
    true
}

/// Tells the protocol to pause or resume writing if the buffer crossed a water mark; true
/// if it did.
#[inline]
fn tell_flow<A: DatagramAddr, P: DatagramProtocol<A>>(
    ep: &Endpoint<A>,
    proto: &RefCell<P>,
) -> bool {
    let Some(pause) = flow_change(ep) else {
        return false;
    };
    ep.st.borrow_mut().told_paused = pause;
    let (what, f): (_, fn(&mut P)) = if pause {
        ("pause_writing", P::pause_writing)
    } else {
        ("resume_writing", P::resume_writing)
    };
    if let Err(panic) = call(proto, what, f) {
        ep.force_close(Some(panic));
    }
    true
}

/// Whether the protocol is to be told to pause (`Some(true)`) or resume writing: the buffer
/// crossed a water mark since it was last told.
#[inline]
fn flow_change<A: DatagramAddr>(ep: &Endpoint<A>) -> Option<bool> {
    let st = ep.st.borrow();
    if st.told_paused {
        (st.buffer_size <= st.low).then_some(false)
    } else {
        (st.buffer_size > st.high).then_some(true)
    }
}

/// Sends buffered datagrams while the socket takes them. True when there is more for the
/// driver to do at once (an error to deliver, or the close that waited for the buffer).
fn poll_flush<A: DatagramAddr>(ep: &Endpoint<A>, cx: &mut Context<'_>) -> bool {
    loop {
        let next = ep.st.borrow_mut().buffer.pop_front();
        let Some((data, addr)) = next else {
            let mut st = ep.st.borrow_mut();
            if st.write_interest {
                // Drained: writability edges would only wake the loop now.
                st.write_interest = false;
                if let Some(sock) = ep.sock.borrow().as_ref() {
                    if let Err(e) = A::set_write_interest(sock, false) {
                        st.errors.push_back(e);
                        return true;
                    }
                }
            }
            if st.closing && matches!(st.lost, Lost::No) {
                st.lost = Lost::Due(None);
                return true;
            }
            return false;
        };
        let len = data.len();
        match ep.try_send(&data, &addr) {
            Ok(()) => ep.st.borrow_mut().buffer_size -= len,
            Err(e) if is_retry(&e) => {
                let mut st = ep.st.borrow_mut();
                st.buffer.push_front((data, addr));
                let ready = match ep.sock.borrow().as_ref() {
                    Some(sock) if !st.write_interest => {
                        st.write_interest = true;
                        match A::set_write_interest(sock, true) {
                            Ok(()) => A::poll_write_ready(sock, cx),
                            Err(e) => Poll::Ready(Err(e)),
                        }
                    }
                    Some(sock) => A::poll_write_ready(sock, cx),
                    None => Poll::Pending,
                };
                drop(st);
                if let Poll::Ready(Err(e)) = ready {
                    // The poller refused: nothing would ever send the buffer.
                    ep.force_close(Some(e));
                    return true;
                }
                // Writable again already (an edge came in between): try at once.
                if ready.is_pending() {
                    return false;
                }
            }
            Err(e) => {
                // As asyncio: the datagram is dropped and the error reported.
                let mut st = ep.st.borrow_mut();
                st.buffer_size -= len;
                st.errors.push_back(e);
                return true;
            }
        }
    }
}

/// Closes the endpoint's socket when the driver ends, even by cancellation.
struct SocketCloser<A: DatagramAddr>(Rc<Endpoint<A>>);

impl<A: DatagramAddr> Drop for SocketCloser<A> {
    fn drop(&mut self) {
        let mut st = self.0.st.borrow_mut();
        st.closing = true;
        st.lost = Lost::Done;
        st.driver = None;
        st.buffer.clear();
        st.buffer_size = 0;
        drop(st);
        drop(self.0.sock.borrow_mut().take());
    }
}

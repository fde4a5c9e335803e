//! The datagram transport's buffer. Loopback never makes a UDP send wait (the kernel lets go
//! of a sent datagram at once), so these tests fill the buffer as `sendto` does when the
//! socket says `WouldBlock`.

use super::UdpSocket;
use super::datagram_transport::{DatagramProtocol, DatagramTransport};
use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;

struct Lost(Rc<RefCell<Vec<String>>>);

impl DatagramProtocol for Lost {
    fn connection_lost(&mut self, exc: Option<std::io::Error>) {
        self.0.borrow_mut().push(format!("lost {exc:?}"));
    }
    fn pause_writing(&mut self) {
        self.0.borrow_mut().push("pause".to_owned());
    }
    fn resume_writing(&mut self) {
        self.0.borrow_mut().push("resume".to_owned());
    }
}

async fn endpoint(events: &Rc<RefCell<Vec<String>>>) -> DatagramTransport {
    let events = events.clone();
    let (t, _) = crate::get_running_loop()
        .create_datagram_endpoint(move || Lost(events))
        .local_addr(("127.0.0.1", 0))
        .await
        .unwrap();
    t
}

/// What `sendto` does when the socket's buffer is full.
fn buffer(t: &DatagramTransport, data: &[u8], to: SocketAddr) {
    let mut st = t.ep.st.borrow_mut();
    st.buffer.push_back((data.into(), to));
    st.buffer_size += data.len();
}

async fn settle() {
    for _ in 0..10 {
        crate::sleep(0).await;
    }
}

#[test]
fn close_flushes_the_buffer_in_order_then_loses() {
    crate::run(async {
        let events = Rc::default();
        let t = endpoint(&events).await;
        let peer = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let to = peer.local_addr().unwrap();
        buffer(&t, b"first", to);
        buffer(&t, b"second", to);
        // Behind buffered datagrams, a new one waits its turn instead of overtaking them.
        t.sendto(b"third", Some(to));
        assert_eq!(t.get_write_buffer_size(), 16);
        assert!(peer.try_recv_from(&mut [0; 8]).is_err(), "nothing sent yet");
        t.close();
        assert!(events.borrow().is_empty(), "lost only after the flush");
        settle().await;
        assert_eq!(*events.borrow(), ["lost None"]);
        assert_eq!(t.get_write_buffer_size(), 0);
        let mut buf = [0; 16];
        for want in [&b"first"[..], b"second", b"third"] {
            let (n, _) = peer.try_recv_from(&mut buf).unwrap();
            assert_eq!(&buf[..n], want);
        }
    });
}

#[test]
fn the_buffer_drains_when_writable_without_close() {
    crate::run(async {
        let events = Rc::default();
        let t = endpoint(&events).await;
        let peer = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let to = peer.local_addr().unwrap();
        buffer(&t, b"queued", to);
        t.sendto(b"next", Some(to));
        settle().await;
        assert_eq!(t.get_write_buffer_size(), 0);
        let mut buf = [0; 16];
        let (n, _) = peer.try_recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"queued");
        let (n, _) = peer.try_recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"next");
        assert!(events.borrow().is_empty());
        t.close();
    });
}

#[test]
fn abort_drops_the_buffer() {
    crate::run(async {
        let events = Rc::default();
        let t = endpoint(&events).await;
        let peer = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let to = peer.local_addr().unwrap();
        buffer(&t, b"dropped", to);
        t.abort();
        assert_eq!(t.get_write_buffer_size(), 0);
        settle().await;
        assert_eq!(*events.borrow(), ["lost None"]);
        assert!(peer.try_recv_from(&mut [0; 8]).is_err());
    });
}

#[test]
fn the_protocol_pauses_above_the_high_water_mark_and_resumes_once_drained() {
    crate::run(async {
        let events = Rc::default();
        let t = endpoint(&events).await;
        t.set_write_buffer_limits(Some(8), None);
        let peer = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let to = peer.local_addr().unwrap();
        buffer(&t, b"1234", to);
        // At the mark, not above it: no pause (asyncio pauses at `size > high`).
        t.sendto(b"5678", Some(to));
        assert_eq!(t.get_write_buffer_size(), 8);
        buffer(&t, b"9", to);
        t.sendto(b"", Some(to)); // wakes the driver, as a real buffering sendto does
        // The driver sends the buffer as soon as it runs, and tells the protocol both.
        settle().await;
        assert_eq!(*events.borrow(), ["pause", "resume"]);
        assert_eq!(t.get_write_buffer_size(), 0);
        t.close();
        settle().await;
        assert_eq!(*events.borrow(), ["pause", "resume", "lost None"]);
    });
}

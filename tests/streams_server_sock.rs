//! Servers on listeners made elsewhere (`sock=`: systemd's socket activation, a hand-over on
//! restart), `keep_alive`, and the fds of servers and transports.

use asyncio::{Protocol, StreamWriter, Transport, get_running_loop};
use std::cell::RefCell;
use std::io::ErrorKind;
use std::os::fd::{BorrowedFd, RawFd};
use std::rc::Rc;

fn keepalive(fd: RawFd) -> bool {
    // SAFETY: the callers' servers and transports are open, so their fds are.
    let sock = unsafe { BorrowedFd::borrow_raw(fd) };
    socket2::SockRef::from(&sock).keepalive().unwrap()
}

fn greeter() -> impl Fn(asyncio::StreamReader, StreamWriter) -> std::future::Ready<()> {
    |_r, w| {
        w.write(b"hello\n");
        std::future::ready(())
    }
}

#[asyncio::test]
async fn a_listener_bound_elsewhere_is_served_and_closed_with_the_server() {
    // Bound but not listening, as a parent that hands the socket over may leave it.
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    s.bind(
        &"127.0.0.1:0"
            .parse::<std::net::SocketAddr>()
            .unwrap()
            .into(),
    )
    .unwrap();
    let listener: std::net::TcpListener = s.into();
    let addr = listener.local_addr().unwrap();
    let server = asyncio::start_server(greeter(), None, 0)
        .sock(listener)
        .await
        .unwrap();
    assert_eq!(server.sockets()[0].as_inet(), Some(addr));
    let fd = server.socket_fds()[0];
    let target = std::fs::read_link(format!("/proc/self/fd/{fd}")).unwrap();
    for _ in 0..2 {
        let (mut r, _w) = asyncio::open_connection("127.0.0.1", addr.port())
            .await
            .unwrap();
        assert_eq!(r.readline().await.unwrap(), b"hello\n");
    }
    server.close();
    server.wait_closed().await;
    assert!(server.socket_fds().is_empty());
    assert_ne!(
        std::fs::read_link(format!("/proc/self/fd/{fd}")).ok(),
        Some(target),
        "the listener is closed"
    );
    let refused = asyncio::open_connection("127.0.0.1", addr.port()).await;
    assert_eq!(refused.unwrap_err().kind(), ErrorKind::ConnectionRefused);
}

#[asyncio::test]
async fn a_listener_with_a_host_or_port_is_refused() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let err = asyncio::start_server(greeter(), "127.0.0.1", 0)
        .sock(l.try_clone().unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let err = asyncio::start_server(greeter(), None, 8080)
        .sock(l)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

struct Probe(Rc<RefCell<Vec<bool>>>);

impl Protocol for Probe {
    fn connection_made(&mut self, t: Transport) {
        self.0.borrow_mut().push(keepalive(t.socket_fd().unwrap()));
        t.close();
    }
}

#[asyncio::test]
async fn keep_alive_reaches_every_accepted_connection() {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let lp = get_running_loop();
    for on in [true, false] {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let probe = seen.clone();
        let server = lp
            .create_server(move || Probe(probe.clone()), None, 0)
            .sock(l)
            .keep_alive(on)
            .await
            .unwrap();
        assert_eq!(keepalive(server.socket_fds()[0]), on);
        let (mut r, _w) = asyncio::open_connection("127.0.0.1", port).await.unwrap();
        assert_eq!(r.read_to_end().await.unwrap(), b"");
        server.close();
    }
    assert_eq!(*seen.borrow(), [true, false]);
}

#[asyncio::test]
async fn a_unix_listener_bound_elsewhere_is_served_and_its_file_left() {
    let path = std::env::temp_dir().join(format!("asyncio-sock-test-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let l = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let err = asyncio::start_unix_server(greeter(), &path)
        .sock(l.try_clone().unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let server = asyncio::start_unix_server(greeter(), "")
        .sock(l)
        .await
        .unwrap();
    assert_eq!(
        server.sockets(),
        [asyncio::StreamAddr::Unix(Some(path.clone()))]
    );
    let (mut r, w) = asyncio::open_unix_connection(&path).await.unwrap();
    assert_eq!(r.readline().await.unwrap(), b"hello\n");
    assert!(w.socket_fd().is_some());
    server.close();
    server.wait_closed().await;
    assert!(path.exists(), "the file is the binder's");
    std::fs::remove_file(&path).unwrap();
}

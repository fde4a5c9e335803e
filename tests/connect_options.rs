//! `open_connection` / `create_connection` options: `sock=` (a socket connected already, and
//! the bad ones: listening, unconnected, datagram, not a socket), `family=` and
//! `all_errors=` (every address's failure).

use asyncio::{ConnectErrors, Protocol, StreamReader, StreamWriter, Transport};
use std::cell::RefCell;
use std::io::ErrorKind;
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::OwnedFd;
use std::rc::Rc;

/// An echo server on 127.0.0.1; its port.
async fn echo_server() -> (asyncio::Server, u16) {
    let server = asyncio::start_server(
        |mut r: StreamReader, w: StreamWriter| async move {
            while let Ok(line) = r.readline().await {
                if line.is_empty() {
                    break;
                }
                w.write(&line);
            }
        },
        "127.0.0.1",
        0,
    )
    .await
    .unwrap();
    let port = server.sockets()[0].as_inet().unwrap().port();
    (server, port)
}

/// A port nobody listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[derive(Default)]
struct Collect {
    data: Rc<RefCell<Vec<u8>>>,
}

impl Protocol for Collect {
    fn connection_made(&mut self, t: Transport) {
        t.write(b"hello\n");
    }
    fn data_received(&mut self, data: &[u8]) {
        self.data.borrow_mut().extend_from_slice(data);
    }
}

impl std::fmt::Debug for Collect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Collect")
    }
}

#[asyncio::test]
async fn sock_connected_already_in_every_form() {
    let (_server, port) = echo_server().await;
    // A std TcpStream, for the streams.
    let std = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (mut r, w) = asyncio::open_connection("", 0).sock(std).await.unwrap();
    w.write(b"std\n");
    assert_eq!(r.readline().await.unwrap(), b"std\n");

    // A socket2 socket and a bare OwnedFd, for the protocols.
    let lp = asyncio::get_running_loop();
    let s2 = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    s2.connect(&SocketAddr::from(([127, 0, 0, 1], port)).into())
        .unwrap();
    let fd: OwnedFd = std::net::TcpStream::connect(("127.0.0.1", port))
        .unwrap()
        .into();
    for sock in [OwnedFd::from(s2), fd] {
        let data = Rc::new(RefCell::new(Vec::new()));
        let d = data.clone();
        let (t, _p) = lp
            .create_connection(move || Collect { data: d }, "", 0)
            .sock(sock)
            .await
            .unwrap();
        asyncio::wait_for(
            async {
                while data.borrow().as_slice() != b"hello\n" {
                    asyncio::sleep(0.001).await;
                }
            },
            10.0,
        )
        .await
        .unwrap();
        assert_eq!(t.peername().unwrap().as_inet().unwrap().port(), port);
        t.close();
    }

    // A Unix socket works too.
    let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
    let (_r, w) = asyncio::open_connection("", 0).sock(ours).await.unwrap();
    w.write(b"unix");
    w.drain().await.unwrap();
    let mut buf = [0u8; 4];
    std::io::Read::read_exact(&mut &theirs, &mut buf).unwrap();
    assert_eq!(&buf, b"unix");
}

#[asyncio::test]
async fn bad_socks_give_typed_errors() {
    let lp = asyncio::get_running_loop();
    let err_of = |sock: OwnedFd| {
        let lp = lp.clone();
        async move {
            lp.create_connection(Collect::default, "", 0)
                .sock(sock)
                .await
                .unwrap_err()
        }
    };
    // A listener.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let err = err_of(listener.into()).await;
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(err.to_string().contains("listening"), "{err}");
    // A stream socket never connected.
    let unconnected =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let err = err_of(unconnected.into()).await;
    assert_eq!(err.kind(), ErrorKind::NotConnected, "{err}");
    // A datagram socket.
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let err = err_of(udp.into()).await;
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(
        err.to_string().contains("A Stream Socket was expected"),
        "{err}"
    );
    // Not a socket at all.
    let file = std::fs::File::open("/dev/null").unwrap();
    let err = err_of(file.into()).await;
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");

    // Options that do not go with a socket.
    let (_server, port) = echo_server().await;
    let connected = || std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let err = asyncio::open_connection("127.0.0.1", port)
        .sock(connected())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    let err = asyncio::open_connection("", 0)
        .sock(connected())
        .family(asyncio::AddressFamily::Inet)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    let err = asyncio::open_connection("", 0)
        .sock(connected())
        .local_addr("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
}

#[cfg(feature = "tls")]
#[asyncio::test]
async fn tls_over_a_sock_needs_a_server_hostname() {
    let (ours, _theirs) = std::os::unix::net::UnixStream::pair().unwrap();
    let config = std::sync::Arc::new(
        asyncio::tls::rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            asyncio::tls::rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(asyncio::tls::rustls::RootCertStore::empty())
        .with_no_client_auth(),
    );
    let err = asyncio::open_connection("", 0)
        .sock(ours)
        .ssl(config)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(err.to_string().contains("server_hostname"), "{err}");
}

#[asyncio::test]
async fn family_keeps_only_its_addresses() {
    let (_server, port) = echo_server().await;
    let (mut r, w) = asyncio::open_connection("localhost", port)
        .family(asyncio::AddressFamily::Inet)
        .await
        .unwrap();
    assert!(w.peername().unwrap().as_inet().unwrap().is_ipv4());
    w.write(b"v4\n");
    assert_eq!(r.readline().await.unwrap(), b"v4\n");
    let err = asyncio::open_connection("127.0.0.1", port)
        .family(asyncio::AddressFamily::Inet6)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
}

#[asyncio::test]
async fn all_errors_lists_every_address() {
    let port = closed_port();
    let expected: Vec<SocketAddr> = ("localhost", port).to_socket_addrs().unwrap().collect();
    for delay in [None, Some(std::time::Duration::from_millis(20))] {
        let err = asyncio::open_connection("localhost", port)
            .happy_eyeballs_delay(delay)
            .all_errors(true)
            .await
            .unwrap_err();
        let all = ConnectErrors::of(&err).expect("all_errors gives every failure");
        let mut tried: Vec<SocketAddr> = all.errors().iter().map(|(a, _)| *a).collect();
        tried.sort();
        let mut want = expected.clone();
        want.sort();
        assert_eq!(tried, want);
        assert_eq!(err.kind(), all.errors()[0].1.kind());
        assert!(
            err.to_string().starts_with("create_connection failed"),
            "{err}"
        );
    }
    // Without it: one plain error.
    let err = asyncio::open_connection("127.0.0.1", port)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
    assert!(ConnectErrors::of(&err).is_none());
    // The protocols' builder shares the path.
    let lp = asyncio::get_running_loop();
    let err = lp
        .create_connection(Collect::default, "127.0.0.1", port)
        .all_errors(true)
        .await
        .unwrap_err();
    let all = ConnectErrors::of(&err).unwrap();
    assert_eq!(all.errors().len(), 1);
    assert_eq!(all.errors()[0].1.kind(), ErrorKind::ConnectionRefused);
}

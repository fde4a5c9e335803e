//! TLS handshake timeouts (asyncio's `ssl_handshake_timeout`): a peer that never answers the
//! handshake is given up on after 60 s or the time set, on the client side (`open_connection`,
//! `open_unix_connection`, `start_tls`) and on the server side.
#![cfg(feature = "tls")]

mod tls_certs;

use asyncio::tls::rustls;
use asyncio::{StreamWriter, open_connection, open_unix_connection};
use std::future::IntoFuture;
use std::io::{ErrorKind, Read};
use std::sync::Arc;
use std::time::Duration;

/// `fut`, which must end within an hour of virtual time: without a handshake timeout it would
/// wait forever, and the test fails instead of hanging.
async fn within_an_hour<T>(fut: impl IntoFuture<Output = T>) -> T {
    asyncio::wait_for(fut.into_future(), 3600.0)
        .await
        .expect("still pending after an hour: no handshake timeout")
}

/// Reads what our side sent (its ClientHello) until the connection ends: an end of stream, or
/// a reset from an abort. Our side must have closed its socket for the read to end.
fn assert_closed_by_peer(mut sock: impl Read) {
    let mut buf = [0u8; 4096];
    loop {
        match sock.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return,
            Err(e) => panic!("the connection is still open: {e}"),
        }
    }
}

/// A socket path of its own for each test.
fn sock_path(name: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("asyncio-tls-hs-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

/// A guard against a read that never ends, not a timing assertion.
const READ_GUARD: Option<Duration> = Some(Duration::from_secs(10));

/// Connects with TLS to a TCP listener that never accepts (the kernel completes the
/// connection, nobody answers); returns the error, the virtual seconds it took, and the
/// listener's side of the connection.
async fn tls_to_a_silent_tcp_peer(
    timeout: Option<Duration>,
) -> (std::io::Error, f64, std::net::TcpStream) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let open = open_connection("127.0.0.1", port)
        .ssl(tls_certs::certs().client)
        .server_hostname("localhost");
    let open = match timeout {
        Some(t) => open.ssl_handshake_timeout(t),
        None => open,
    };
    let lp = asyncio::get_running_loop();
    let start = lp.time();
    let err = within_an_hour(open).await.unwrap_err();
    let elapsed = lp.time() - start;
    let (theirs, _) = listener.accept().unwrap();
    theirs.set_read_timeout(READ_GUARD).unwrap();
    (err, elapsed, theirs)
}

/// The same over a Unix socket, with `open_unix_connection`.
async fn tls_to_a_silent_unix_peer(
    name: &str,
    timeout: Option<Duration>,
) -> (std::io::Error, f64, std::os::unix::net::UnixStream) {
    let path = sock_path(name);
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let open = open_unix_connection(&path).ssl(tls_certs::certs().client, "localhost");
    let open = match timeout {
        Some(t) => open.ssl_handshake_timeout(t),
        None => open,
    };
    let lp = asyncio::get_running_loop();
    let start = lp.time();
    let err = within_an_hour(open).await.unwrap_err();
    let elapsed = lp.time() - start;
    let (theirs, _) = listener.accept().unwrap();
    theirs.set_read_timeout(READ_GUARD).unwrap();
    let _ = std::fs::remove_file(&path);
    (err, elapsed, theirs)
}

fn assert_handshake_timed_out(err: &std::io::Error, secs: &str) {
    assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
    assert_eq!(
        err.to_string(),
        format!("SSL handshake is taking longer than {secs} seconds: aborting the connection")
    );
}

#[asyncio::test(virtual_time)]
async fn open_connection_gives_up_on_a_silent_peer_after_sixty_seconds() {
    let (err, elapsed, theirs) = tls_to_a_silent_tcp_peer(None).await;
    assert_handshake_timed_out(&err, "60.0");
    assert_eq!(elapsed, 60.0, "asyncio's ssl_handshake_timeout");
    assert_closed_by_peer(theirs);
}

#[asyncio::test(virtual_time)]
async fn open_unix_connection_gives_up_on_a_silent_peer_after_sixty_seconds() {
    let (err, elapsed, theirs) = tls_to_a_silent_unix_peer("default", None).await;
    assert_handshake_timed_out(&err, "60.0");
    assert_eq!(elapsed, 60.0);
    assert_closed_by_peer(theirs);
}

/// Our writer over one end of a socket pair whose other end never answers.
fn writer_to_a_silent_peer() -> (StreamWriter, std::os::unix::net::UnixStream) {
    let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
    theirs.set_read_timeout(READ_GUARD).unwrap();
    let (_r, w) = asyncio::open_socket(asyncio::net::UnixStream::from_std(ours).unwrap());
    (w, theirs)
}

#[asyncio::test(virtual_time)]
async fn start_tls_gives_up_on_a_silent_peer_after_sixty_seconds() {
    let (w, theirs) = writer_to_a_silent_peer();
    let lp = asyncio::get_running_loop();
    let err = within_an_hour(w.start_tls(tls_certs::certs().client, Some("localhost")))
        .await
        .unwrap_err();
    assert_handshake_timed_out(&err, "60.0");
    assert_eq!(lp.time(), 60.0);
    assert!(w.is_closing());
    assert_closed_by_peer(theirs);
}

#[asyncio::test(virtual_time)]
async fn open_connection_honours_a_custom_ssl_handshake_timeout() {
    let (err, elapsed, theirs) = tls_to_a_silent_tcp_peer(Some(Duration::from_secs(5))).await;
    assert_handshake_timed_out(&err, "5.0");
    assert_eq!(elapsed, 5.0);
    assert_closed_by_peer(theirs);
}

#[asyncio::test(virtual_time)]
async fn open_unix_connection_honours_a_custom_ssl_handshake_timeout() {
    let timeout = Some(Duration::from_millis(2500));
    let (err, elapsed, theirs) = tls_to_a_silent_unix_peer("custom", timeout).await;
    assert_handshake_timed_out(&err, "2.5");
    assert_eq!(elapsed, 2.5);
    assert_closed_by_peer(theirs);
}

#[asyncio::test(virtual_time)]
async fn start_tls_honours_a_custom_ssl_handshake_timeout() {
    let (w, theirs) = writer_to_a_silent_peer();
    let lp = asyncio::get_running_loop();
    let upgrade = w
        .start_tls(tls_certs::certs().client, Some("localhost"))
        .ssl_handshake_timeout(Duration::from_secs(5));
    let err = within_an_hour(upgrade).await.unwrap_err();
    assert_handshake_timed_out(&err, "5.0");
    assert_eq!(lp.time(), 5.0);
    assert_closed_by_peer(theirs);
}

/// A plain client of a TLS server that never sends its ClientHello: the server must end the
/// connection at its handshake timeout, which the client reads as an end (or a reset).
async fn assert_a_silent_client_is_dropped_after(server: &asyncio::Server, secs: f64) {
    let (mut r, _w) = match &server.sockets()[0] {
        asyncio::StreamAddr::Inet(addr) => open_connection("127.0.0.1", addr.port()).await,
        asyncio::StreamAddr::Unix(path) => open_unix_connection(path.clone().unwrap()).await,
    }
    .unwrap();
    let lp = asyncio::get_running_loop();
    let start = lp.time();
    let gone = within_an_hour(r.read(1)).await;
    assert!(
        matches!(&gone, Ok(b) if b.is_empty()) || gone.is_err(),
        "{gone:?}"
    );
    assert_eq!(lp.time() - start, secs);
}

/// A handler that must not run: the handshake never ends.
async fn unreachable_handler(_r: asyncio::StreamReader, _w: StreamWriter) {
    panic!("the handler ran without a handshake");
}

#[asyncio::test(virtual_time)]
async fn start_server_honours_a_custom_ssl_handshake_timeout() {
    let server = asyncio::start_server(unreachable_handler, "127.0.0.1", 0)
        .ssl(tls_certs::certs().server)
        .ssl_handshake_timeout(Duration::from_secs(5))
        .await
        .unwrap();
    assert_a_silent_client_is_dropped_after(&server, 5.0).await;
    server.close();
    server.wait_closed().await;
}

#[asyncio::test(virtual_time)]
async fn start_unix_server_drops_a_silent_client_after_sixty_seconds_or_its_timeout() {
    let path = sock_path("server-default");
    let server = asyncio::start_unix_server(unreachable_handler, &path)
        .ssl(tls_certs::certs().server)
        .await
        .unwrap();
    assert_a_silent_client_is_dropped_after(&server, 60.0).await;
    server.close();
    server.wait_closed().await;
    let path = sock_path("server-custom");
    let server = asyncio::start_unix_server(unreachable_handler, &path)
        .ssl(tls_certs::certs().server)
        .ssl_handshake_timeout(Duration::from_secs(5))
        .await
        .unwrap();
    assert_a_silent_client_is_dropped_after(&server, 5.0).await;
    server.close();
    server.wait_closed().await;
}

/// Awaits each and expects asyncio's `ValueError`: `InvalidInput`, with `message`.
async fn assert_refused<T: std::fmt::Debug>(
    message: &str,
    opens: Vec<std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<T>>>>>,
) {
    for open in opens {
        let err = open.await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        assert_eq!(err.to_string(), message);
    }
}

#[asyncio::test]
async fn an_ssl_handshake_timeout_without_ssl_is_refused() {
    let message = "ssl_handshake_timeout is only meaningful with ssl";
    let t = Duration::from_secs(5);
    // A closed port and a missing path: the refusal comes before any connection attempt.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let missing = sock_path("missing");
    assert_refused(
        message,
        vec![
            open_connection("127.0.0.1", port)
                .ssl_handshake_timeout(t)
                .into_future(),
            open_unix_connection(&missing)
                .ssl_handshake_timeout(t)
                .into_future(),
        ],
    )
    .await;
    let path = sock_path("refused-server");
    assert_refused(
        message,
        vec![
            asyncio::start_server(|_r, _w| async {}, "127.0.0.1", 0)
                .ssl_handshake_timeout(t)
                .into_future(),
            asyncio::start_unix_server(|_r, _w| async {}, &path)
                .ssl_handshake_timeout(t)
                .into_future(),
        ],
    )
    .await;
    assert!(!path.exists(), "nothing bound");
}

#[asyncio::test]
async fn a_zero_ssl_handshake_timeout_is_refused() {
    let message = "ssl_handshake_timeout should be a positive number, got 0.0";
    let c = tls_certs::certs();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let missing = sock_path("missing-zero");
    assert_refused(
        message,
        vec![
            open_connection("127.0.0.1", port)
                .ssl(c.client.clone())
                .ssl_handshake_timeout(Duration::ZERO)
                .into_future(),
            open_unix_connection(&missing)
                .ssl(c.client.clone(), "localhost")
                .ssl_handshake_timeout(Duration::ZERO)
                .into_future(),
        ],
    )
    .await;
    let path = sock_path("zero-server");
    assert_refused(
        message,
        vec![
            asyncio::start_server(|_r, _w| async {}, "127.0.0.1", 0)
                .ssl(c.server.clone())
                .ssl_handshake_timeout(Duration::ZERO)
                .into_future(),
            asyncio::start_unix_server(|_r, _w| async {}, &path)
                .ssl(c.server)
                .ssl_handshake_timeout(Duration::ZERO)
                .into_future(),
        ],
    )
    .await;
    assert!(!path.exists(), "nothing bound");
    let (w, theirs) = writer_to_a_silent_peer();
    theirs.set_nonblocking(true).unwrap();
    let err = w
        .start_tls(c.client, Some("localhost"))
        .ssl_handshake_timeout(Duration::ZERO)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert_eq!(err.to_string(), message);
    let sent = (&theirs).read(&mut [0u8; 1]).map_err(|e| e.kind());
    assert_eq!(sent, Err(ErrorKind::WouldBlock), "no ClientHello was sent");
}

/// More than the socket buffers of both ends hold: a close cannot finish sending it while
/// the peer reads nothing.
const UNREADABLE: usize = 32 << 20;

/// Our TLS server on TCP, whose handler holds its connection and never reads.
async fn never_reading_server(config: Arc<rustls::ServerConfig>) -> asyncio::Server {
    let hold = |r: asyncio::StreamReader, w: StreamWriter| async move {
        let _held = (r, w);
        std::future::pending::<()>().await;
    };
    asyncio::start_server(hold, "127.0.0.1", 0)
        .ssl(config)
        .await
        .unwrap()
}

/// Closes `w` with far more buffered than its peer, which never reads, lets through; returns
/// what `wait_closed` returned and the virtual seconds it took.
async fn close_unread(w: &StreamWriter) -> (std::io::Result<()>, f64) {
    w.write(&vec![7u8; UNREADABLE]);
    let lp = asyncio::get_running_loop();
    let start = lp.time();
    w.close();
    let closed = within_an_hour(w.wait_closed()).await;
    (closed, lp.time() - start)
}

fn port_of(server: &asyncio::Server) -> u16 {
    server.sockets()[0].as_inet().unwrap().port()
}

#[asyncio::test(virtual_time)]
async fn open_connection_honours_a_custom_ssl_shutdown_timeout() {
    let c = tls_certs::certs();
    let server = never_reading_server(c.server).await;
    let (_r, w) = open_connection("127.0.0.1", port_of(&server))
        .ssl(c.client)
        .server_hostname("localhost")
        .ssl_shutdown_timeout(Duration::from_secs(5))
        .await
        .unwrap();
    let (closed, elapsed) = close_unread(&w).await;
    assert_eq!(closed.unwrap_err().kind(), ErrorKind::TimedOut);
    assert_eq!(elapsed, 5.0);
}

#[asyncio::test(virtual_time)]
async fn start_tls_honours_a_custom_ssl_shutdown_timeout() {
    let c = tls_certs::certs();
    let server = never_reading_server(c.server).await;
    let (_r, w) = open_connection("127.0.0.1", port_of(&server))
        .await
        .unwrap();
    w.start_tls(c.client, Some("localhost"))
        .ssl_shutdown_timeout(Duration::from_secs(5))
        .await
        .unwrap();
    let (closed, elapsed) = close_unread(&w).await;
    assert_eq!(closed.unwrap_err().kind(), ErrorKind::TimedOut);
    assert_eq!(elapsed, 5.0);
}

/// A TLS server (at `path`, else on TCP) whose handler closes with more buffered than its
/// client, which never reads, lets through; returns what the handler's `wait_closed`
/// returned and the virtual seconds it took.
async fn server_closes_unread(
    path: Option<&std::path::Path>,
    shutdown_timeout: Duration,
) -> (std::io::Result<()>, f64) {
    let (tx, rx) = async_channel::bounded(1);
    let handler = move |r: asyncio::StreamReader, w: StreamWriter| {
        let tx = tx.clone();
        async move {
            let _r = r;
            tx.send(close_unread(&w).await).await.unwrap();
        }
    };
    let c = tls_certs::certs();
    let (_r, _w, _server);
    match path {
        None => {
            let server = asyncio::start_server(handler, "127.0.0.1", 0)
                .ssl(c.server.clone())
                .ssl_shutdown_timeout(shutdown_timeout)
                .await
                .unwrap();
            (_r, _w) = open_connection("127.0.0.1", port_of(&server))
                .ssl(c.client)
                .server_hostname("localhost")
                .await
                .unwrap();
            _server = server;
        }
        Some(path) => {
            let server = asyncio::start_unix_server(handler, path)
                .ssl(c.server.clone())
                .ssl_shutdown_timeout(shutdown_timeout)
                .await
                .unwrap();
            (_r, _w) = open_unix_connection(path)
                .ssl(c.client, "localhost")
                .await
                .unwrap();
            _server = server;
        }
    }
    within_an_hour(rx.recv()).await.unwrap()
}

#[asyncio::test(virtual_time)]
async fn start_server_honours_a_custom_ssl_shutdown_timeout() {
    let (closed, elapsed) = server_closes_unread(None, Duration::from_secs(5)).await;
    assert_eq!(closed.unwrap_err().kind(), ErrorKind::TimedOut);
    assert_eq!(elapsed, 5.0);
}

#[asyncio::test(virtual_time)]
async fn start_unix_server_honours_a_custom_ssl_shutdown_timeout() {
    let path = sock_path("shutdown-server");
    let (closed, elapsed) = server_closes_unread(Some(&path), Duration::from_secs(5)).await;
    assert_eq!(closed.unwrap_err().kind(), ErrorKind::TimedOut);
    assert_eq!(elapsed, 5.0);
}

//! TLS with rustls: our client and server, a real TLS peer (Python's `ssl` module), start_tls,
//! certificate errors. Certificates are made in the test with rcgen.
#![cfg(feature = "tls")]

mod tls_certs;

use asyncio::tls::rustls;
use asyncio::{StreamReader, StreamWriter, open_connection, start_server};
use std::io::ErrorKind;
use std::process::Command;
use std::sync::Arc;

async fn echo(mut r: StreamReader, w: StreamWriter) {
    while let Ok(data) = r.read(65536).await {
        if data.is_empty() {
            break;
        }
        w.write(&data);
        if w.drain().await.is_err() {
            break;
        }
    }
    w.close();
}

/// `echo` reading with `read_into` a buffer it keeps: TLS records read past the buffer.
async fn echo_into(mut r: StreamReader, w: StreamWriter) {
    let mut buf = vec![0u8; 65536];
    while let Ok(n @ 1..) = r.read_into(&mut buf).await {
        w.write(&buf[..n]);
        if w.drain().await.is_err() {
            break;
        }
    }
    w.close();
}

fn has_python() -> bool {
    Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[asyncio::test]
async fn our_client_and_server() {
    let c = tls_certs::certs();
    let server = start_server(echo, "127.0.0.1", 0)
        .ssl(c.server)
        .await
        .unwrap();
    let port = server.sockets()[0].as_inet().unwrap().port();
    let (mut r, w) = open_connection("127.0.0.1", port)
        .ssl(c.client)
        .server_hostname("localhost")
        .await
        .unwrap();
    assert!(!w.can_write_eof());
    w.write(b"hello over tls\n");
    assert_eq!(r.readline().await.unwrap(), b"hello over tls\n");
    // A large answer crosses many records and fills the socket.
    let big: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
    let expected = big.clone();
    let reading = asyncio::create_task(async move {
        let got = r.readexactly(expected.len()).await.unwrap();
        assert_eq!(got, expected);
        r
    });
    w.write(&big);
    w.drain().await.unwrap();
    let mut r = reading.await.unwrap();
    w.close();
    w.wait_closed().await.unwrap();
    assert_eq!(r.read(10).await.unwrap(), b"");
}

#[asyncio::test]
async fn a_wrong_certificate_is_refused() {
    let c = tls_certs::certs();
    let other = tls_certs::certs();
    let server = start_server(echo, "127.0.0.1", 0)
        .ssl(c.server)
        .await
        .unwrap();
    let port = server.sockets()[0].as_inet().unwrap().port();
    let err = open_connection("127.0.0.1", port)
        .ssl(other.client)
        .server_hostname("localhost")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidData, "{err}");
    // The server goes on serving good clients.
    let (mut r, w) = open_connection("127.0.0.1", port)
        .ssl(c.client)
        .server_hostname("localhost")
        .await
        .unwrap();
    w.write(b"x");
    assert_eq!(r.read(1).await.unwrap(), b"x");
}

#[asyncio::test]
async fn start_tls_upgrades_a_plain_connection() {
    let c = tls_certs::certs();
    let server_ctx = c.server.clone();
    let server = start_server(
        move |mut r: StreamReader, w: StreamWriter| {
            let ctx = server_ctx.clone();
            async move {
                assert_eq!(r.readline().await.unwrap(), b"STARTTLS\n");
                w.write(b"OK\n");
                w.start_tls(ctx, None).await.unwrap();
                let line = r.readline().await.unwrap();
                w.write(&line.to_ascii_uppercase());
                w.close();
            }
        },
        "127.0.0.1",
        0,
    )
    .await
    .unwrap();
    let port = server.sockets()[0].as_inet().unwrap().port();
    let (mut r, w) = open_connection("127.0.0.1", port).await.unwrap();
    w.write(b"STARTTLS\n");
    assert_eq!(r.readline().await.unwrap(), b"OK\n");
    w.start_tls(c.client, Some("localhost")).await.unwrap();
    w.write(b"secret\n");
    assert_eq!(r.readline().await.unwrap(), b"SECRET\n");
}

#[asyncio::test]
async fn python_ssl_client_against_our_server() {
    if !has_python() {
        eprintln!("skipped: no python3");
        return;
    }
    let c = tls_certs::certs();
    let dir = std::env::temp_dir().join(format!("asyncio-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, &c.cert_pem).unwrap();
    let server = start_server(echo, "127.0.0.1", 0)
        .ssl(c.server)
        .await
        .unwrap();
    let port = server.sockets()[0].as_inet().unwrap().port();
    let script = format!(
        r#"
import asyncio, ssl
async def main():
    ctx = ssl.create_default_context(cafile={ca:?})
    r, w = await asyncio.open_connection('127.0.0.1', {port}, ssl=ctx, server_hostname='localhost')
    w.write(b'ping over tls\n')
    print((await r.readline()).decode().strip())
    data = b'z' * 300000
    w.write(data)
    got = await r.readexactly(len(data))
    assert got == data
    w.close()
    await w.wait_closed()
    print('done')
asyncio.run(main())
"#,
        ca = ca.display().to_string()
    );
    let out = asyncio::to_thread(move || Command::new("python3").arg("-c").arg(script).output())
        .await
        .unwrap()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"ping over tls\ndone\n");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[asyncio::test]
async fn our_client_against_a_python_ssl_server() {
    if !has_python() {
        eprintln!("skipped: no python3");
        return;
    }
    let c = tls_certs::certs();
    let dir = std::env::temp_dir().join(format!("asyncio-tls2-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, &c.cert_pem).unwrap();
    std::fs::write(&key, &c.key_pem).unwrap();
    let script = format!(
        r#"
import asyncio, ssl, sys
async def handle(r, w):
    line = await r.readline()
    w.write(line.upper())
    await w.drain()
    w.close()
async def main():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain({cert:?}, {key:?})
    server = await asyncio.start_server(handle, '127.0.0.1', 0, ssl=ctx)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.sleep(20)
asyncio.run(main())
"#,
        cert = cert.display().to_string(),
        key = key.display().to_string()
    );
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(script)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let port: u16 = asyncio::to_thread(move || {
        use std::io::BufRead;
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap();
        line.trim().parse().unwrap()
    })
    .await
    .unwrap();
    let (mut r, w) = open_connection("127.0.0.1", port)
        .ssl(c.client)
        .server_hostname("localhost")
        .await
        .unwrap();
    w.write(b"from rust\n");
    assert_eq!(r.readline().await.unwrap(), b"FROM RUST\n");
    assert_eq!(r.read(10).await.unwrap(), b"");
    child.kill().unwrap();
    child.wait().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[asyncio::test]
async fn tls_over_a_unix_socket() {
    let c = tls_certs::certs();
    let path = std::env::temp_dir().join(format!("asyncio-tls-{}.sock", std::process::id()));
    let server = asyncio::start_unix_server(echo_into, &path)
        .ssl(c.server)
        .await
        .unwrap();
    let (mut r, w) = asyncio::open_unix_connection(&path)
        .ssl(c.client, "localhost")
        .await
        .unwrap();
    w.write(b"unix and tls\n");
    assert_eq!(r.readline().await.unwrap(), b"unix and tls\n");
    let big: Vec<u8> = (0..300_000).map(|i: u32| (i % 251) as u8).collect();
    w.write(&big);
    assert!(r.readexactly(big.len()).await.unwrap() == big);
    server.close();
}

#[asyncio::test(virtual_time)]
async fn a_client_that_never_shakes_hands_is_dropped_after_sixty_seconds() {
    let c = tls_certs::certs();
    let server = start_server(echo, "127.0.0.1", 0)
        .ssl(c.server)
        .await
        .unwrap();
    let port = server.sockets()[0].as_inet().unwrap().port();
    // A plain TCP client that says nothing.
    let (mut r, _w) = open_connection("127.0.0.1", port).await.unwrap();
    let lp = asyncio::get_running_loop();
    let gone = r.read(1).await;
    assert!(
        matches!(&gone, Ok(b) if b.is_empty()) || gone.is_err(),
        "{gone:?}"
    );
    assert_eq!(lp.time(), 60.0, "asyncio's ssl_handshake_timeout");
    server.close();
    server.wait_closed().await;
}

/// Writes to `sock` (a second handle on our side's socket) until the kernel takes no more,
/// so that the next TLS record our side sends finds the socket full; returns how many bytes
/// the peer must skip, raw, before our next record. On a Unix socket the room freed only when
/// the peer reads: nothing drains it behind our back, as TCP's transmit path would.
fn fill(sock: std::os::unix::net::UnixStream) -> usize {
    use std::io::Write;
    sock.set_nonblocking(true).unwrap();
    let chunk = [0u8; 64 * 1024];
    let mut total = 0;
    loop {
        match (&sock).write(&chunk) {
            Ok(n) => total += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return total,
            Err(e) => panic!("{e}"),
        }
    }
}

/// Reads and drops `n` bytes of `sock`: the filler put in by [`fill`].
fn skip(sock: &mut std::os::unix::net::UnixStream, mut n: usize) {
    use std::io::Read;
    let mut buf = vec![0u8; 64 * 1024];
    while n > 0 {
        let got = sock.read(&mut buf[..n.min(64 * 1024)]).unwrap();
        assert!(got > 0, "the filler was cut short");
        n -= got;
    }
}

/// A rustls server's handshake over a blocking socket, its last flight flushed.
fn handshake_as_server(
    config: Arc<rustls::ServerConfig>,
    sock: &mut std::os::unix::net::UnixStream,
) -> rustls::ServerConnection {
    let mut tls = rustls::ServerConnection::new(config).unwrap();
    while tls.is_handshaking() {
        tls.complete_io(sock).unwrap();
    }
    while tls.wants_write() {
        tls.write_tls(sock).unwrap();
    }
    tls
}

/// A rustls server on a blocking socket, in a thread: shakes hands, says so on `ready`, waits
/// for the filler's length, skips the filler, then reads to the end. Its result is the
/// plaintext read, or the error that ended it (`UnexpectedEof` for an end without
/// `close_notify`).
fn rustls_peer(
    config: Arc<rustls::ServerConfig>,
    mut sock: std::os::unix::net::UnixStream,
    ready: async_channel::Sender<()>,
    filler: std::sync::mpsc::Receiver<usize>,
) -> std::thread::JoinHandle<std::io::Result<Vec<u8>>> {
    std::thread::spawn(move || {
        use std::io::Read;
        let mut tls = handshake_as_server(config, &mut sock);
        ready.send_blocking(()).unwrap();
        skip(&mut sock, filler.recv().unwrap());
        let mut plain = Vec::new();
        rustls::Stream::new(&mut tls, &mut sock)
            .read_to_end(&mut plain)
            .map(|_| plain)
    })
}

/// Our TLS client over a Unix socket whose send buffer is full, and the `rustls_peer` at its
/// other end, which reads only once it is sent `skipped` on `filled`.
struct FullSocket {
    w: StreamWriter,
    peer: std::thread::JoinHandle<std::io::Result<Vec<u8>>>,
    filled: std::sync::mpsc::Sender<usize>,
    skipped: usize,
    _r: StreamReader,
}

impl FullSocket {
    /// Lets the peer skip the filler and read what follows.
    fn let_peer_read(&self) {
        self.filled.send(self.skipped).unwrap();
    }

    /// What the peer read after the filler, once it has finished.
    async fn peer_read(self) -> std::io::Result<Vec<u8>> {
        let peer = self.peer;
        asyncio::to_thread(move || peer.join().unwrap())
            .await
            .unwrap()
    }
}

async fn tls_over_a_full_socket() -> FullSocket {
    let c = tls_certs::certs();
    let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
    let filler = ours.try_clone().unwrap();
    let (ready_tx, ready) = async_channel::bounded(1);
    let (filled, filled_rx) = std::sync::mpsc::channel();
    let peer = rustls_peer(c.server, theirs, ready_tx, filled_rx);
    let (_r, w) = asyncio::open_socket(asyncio::net::UnixStream::from_std(ours).unwrap());
    w.start_tls(c.client, Some("localhost")).await.unwrap();
    ready.recv().await.unwrap();
    let skipped = fill(filler);
    FullSocket {
        w,
        peer,
        filled,
        skipped,
        _r,
    }
}

#[asyncio::test]
async fn close_sends_close_notify_once_a_full_socket_has_room() {
    let full = tls_over_a_full_socket().await;
    let w = &full.w;
    // The socket is full, nothing is buffered: close_notify is all that close has to send.
    w.close();
    assert!(w.is_closing());
    // Only now may the peer read: the close must have waited for it.
    full.let_peer_read();
    w.wait_closed().await.unwrap();
    let got = full.peer_read().await;
    assert_eq!(got.unwrap(), b"", "a clean close_notify");
}

#[asyncio::test]
async fn close_sends_buffered_data_then_close_notify_through_a_full_socket() {
    let full = tls_over_a_full_socket().await;
    let w = &full.w;
    let last: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    w.write(&last);
    w.close();
    full.let_peer_read();
    w.wait_closed().await.unwrap();
    let got = full.peer_read().await;
    assert!(
        got.unwrap() == last,
        "all the data, then a clean close_notify"
    );
}

#[asyncio::test]
async fn abort_does_not_wait_for_a_full_socket() {
    let full = tls_over_a_full_socket().await;
    let w = &full.w;
    w.write(b"dropped");
    w.close();
    w.abort();
    // Closed at once, before the peer read anything.
    w.wait_closed().await.unwrap();
    full.let_peer_read();
    let got = full.peer_read().await;
    assert!(got.is_err(), "an abort is no clean close: {got:?}");
}

/// Python's `ssl` as a TLS 1.2 server over a Unix socket, driven by hand through memory BIOs
/// so that it can skip the filler: it asks for a renegotiation (a HelloRequest, through
/// OpenSSL's `SSL_renegotiate` by ctypes: Python has no API for it) and then waits for what
/// only our TLS layer answers, rustls' `no_renegotiation` alert.
const RENEGOTIATING_SERVER: &str = r#"
import ctypes, socket, ssl, sys
path, cert, key = sys.argv[1:4]
sock = socket.socket(socket.AF_UNIX)
sock.connect(path)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
ctx.maximum_version = ssl.TLSVersion.TLSv1_2
ctx.options &= ~ssl.OP_NO_RENEGOTIATION
incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
tls = ctx.wrap_bio(incoming, outgoing, server_side=True)
def send():
    sock.sendall(outgoing.read())
def receive():
    data = sock.recv(65536)
    if data:
        incoming.write(data)
    else:
        incoming.write_eof()
while True:
    try:
        tls.do_handshake()
        break
    except ssl.SSLWantReadError:
        send()
        receive()
send()
# CPython's SSLSocket object: PyObject_HEAD, then the socket weakref, then the SSL pointer.
libssl = ctypes.CDLL(ssl._ssl.__file__)
libssl.SSL_version.argtypes = libssl.SSL_renegotiate.argtypes = [ctypes.c_void_p]
handle = ctypes.c_void_p.from_address(id(tls._sslobj) + 3 * ctypes.sizeof(ctypes.c_void_p)).value
if libssl.SSL_version(handle) != 0x0303:
    print("skip: no SSL pointer where CPython 3.11 keeps it", flush=True)
    sys.exit()
print("ready", flush=True)
filler = int(sys.stdin.readline())
assert libssl.SSL_renegotiate(handle) == 1
tls.do_handshake()  # sends the HelloRequest and returns: a server does not wait for the answer
tls.write(b"after the hello request\n")
send()
assert sys.stdin.readline() == "read\n"
while filler:
    filler -= len(sock.recv(min(filler, 65536)))
# Not a timing assertion: only a guard, so that a lost alert fails the test instead of
# hanging it.
sock.settimeout(60)
try:
    while True:
        try:
            tls.read(65536)
        except ssl.SSLWantReadError:
            receive()
except ssl.SSLError as e:
    print(e.reason, flush=True)
except socket.timeout:
    print("stalled", flush=True)
"#;

#[asyncio::test]
async fn an_alert_made_while_reading_is_sent_once_a_full_socket_has_room() {
    use asyncio::subprocess::PIPE;
    if !has_python() {
        eprintln!("skipped: no python3");
        return;
    }
    let c = tls_certs::certs();
    let dir = std::env::temp_dir().join(format!("asyncio-tls3-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key, path) = (dir.join("cert.pem"), dir.join("key.pem"), dir.join("sock"));
    std::fs::write(&cert, &c.cert_pem).unwrap();
    std::fs::write(&key, &c.key_pem).unwrap();
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let mut python = asyncio::create_subprocess_exec(
        "python3",
        [
            "-c".as_ref(),
            RENEGOTIATING_SERVER.as_ref(),
            path.as_os_str(),
            cert.as_os_str(),
            key.as_os_str(),
        ],
    )
    .stdin(PIPE)
    .stdout(PIPE)
    .await
    .unwrap();
    let (to_python, mut from_python) =
        (python.stdin.take().unwrap(), python.stdout.take().unwrap());
    let (ours, _) = asyncio::to_thread(move || listener.accept())
        .await
        .unwrap()
        .unwrap();
    let filler = ours.try_clone().unwrap();
    let (mut r, w) = asyncio::open_socket(asyncio::net::UnixStream::from_std(ours).unwrap());
    w.start_tls(c.client, Some("localhost")).await.unwrap();
    let line = from_python.readline().await.unwrap();
    if line.starts_with(b"skip") {
        eprintln!("skipped: {}", String::from_utf8_lossy(&line));
        std::fs::remove_dir_all(&dir).unwrap();
        return;
    }
    assert_eq!(line, b"ready\n");
    to_python.write(format!("{}\n", fill(filler)).as_bytes());
    // Reading the line processes the HelloRequest before it: rustls queues its refusal, and
    // the full socket does not take it.
    assert_eq!(r.readline().await.unwrap(), b"after the hello request\n");
    // Only now does Python read, and our side only reads too.
    to_python.write(b"read\n");
    assert_eq!(from_python.readline().await.unwrap(), b"NO_RENEGOTIATION\n");
    assert_eq!(python.wait().await, 0);
    w.close();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A rustls server on a blocking socket, in a thread, that shakes hands and then reads
/// nothing until told to (on `done`), holding the socket open.
fn never_reading_peer(
    config: Arc<rustls::ServerConfig>,
    mut sock: std::os::unix::net::UnixStream,
    ready: async_channel::Sender<()>,
    done: std::sync::mpsc::Receiver<()>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let _tls = handshake_as_server(config, &mut sock);
        ready.send_blocking(()).unwrap();
        let _ = done.recv();
    })
}

/// Closes a TLS connection whose peer never reads, with more buffered than the socket takes;
/// returns when `wait_closed` returned, and what it returned.
async fn close_unread(timeout: Option<std::time::Duration>) -> std::io::Result<()> {
    let c = tls_certs::certs();
    let dir = std::env::temp_dir().join(format!(
        "asyncio-tls-shutdown-{}-{}",
        std::process::id(),
        timeout.map_or(0, |t| t.as_millis())
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("sock");
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let (ready_tx, ready) = async_channel::bounded(1);
    let (done, done_rx) = std::sync::mpsc::channel();
    let server = c.server.clone();
    let peer = std::thread::spawn(move || {
        let (sock, _) = listener.accept().unwrap();
        never_reading_peer(server, sock, ready_tx, done_rx)
            .join()
            .unwrap()
    });
    let open = asyncio::open_unix_connection(&path).ssl(c.client, "localhost");
    let open = match timeout {
        Some(t) => open.ssl_shutdown_timeout(t),
        None => open,
    };
    // The peer shakes hands in its thread, which the virtual clock cannot see: a job out on
    // the blocking pool until the peer is done keeps the clock from jumping to the
    // handshake timeout meanwhile.
    let shaken = asyncio::create_task(asyncio::to_thread(move || ready.recv_blocking()));
    let (_r, w) = open.await.unwrap();
    shaken.await.unwrap().unwrap().unwrap();
    // Far more than the socket buffers hold: the flush cannot end while the peer reads nothing.
    w.write(&vec![7u8; 16 << 20]);
    w.close();
    assert!(w.is_closing());
    let result = w.wait_closed().await;
    done.send(()).unwrap();
    asyncio::to_thread(move || peer.join().unwrap())
        .await
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

#[asyncio::test(virtual_time)]
async fn close_gives_up_on_a_peer_that_never_reads_after_thirty_seconds() {
    let lp = asyncio::get_running_loop();
    let start = lp.time();
    let result = close_unread(None).await;
    let e = result.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TimedOut, "{e}");
    assert_eq!(lp.time() - start, 30.0, "asyncio's ssl_shutdown_timeout");
}

#[asyncio::test(virtual_time)]
async fn close_honours_a_custom_ssl_shutdown_timeout() {
    let lp = asyncio::get_running_loop();
    let start = lp.time();
    let result = close_unread(Some(std::time::Duration::from_secs(5))).await;
    assert_eq!(result.unwrap_err().kind(), ErrorKind::TimedOut);
    assert_eq!(lp.time() - start, 5.0);
}

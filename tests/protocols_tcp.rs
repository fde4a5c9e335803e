//! Transports and protocols over TCP: asyncio's documented echo protocols against their
//! Python originals, the order of callbacks, `eof_received`, flow control both ways, a
//! panicking callback, `connection_lost` exactly once, `connect_accepted_socket`.

mod logs;
mod protocols;

use asyncio::{Event, Protocol, Transport, get_running_loop, wait_for};
use protocols::{Log, Recorder, has_python, python, python_echo_client};
use std::io::{BufRead, BufReader};
use std::process::Stdio;

/// asyncio's documented `EchoServerProtocol` ("TCP Echo Server"), with its prints, and a log
/// of its callbacks.
struct EchoServerProtocol {
    transport: Option<Transport>,
    log: Log,
}

impl Protocol for EchoServerProtocol {
    fn connection_made(&mut self, transport: Transport) {
        let peername = transport.peername().unwrap();
        println!("Connection from {peername}");
        self.log.push("made");
        self.transport = Some(transport);
    }
    fn data_received(&mut self, data: &[u8]) {
        let message = String::from_utf8_lossy(data);
        println!("Data received: {message:?}");
        println!("Send: {message:?}");
        self.log.push(format!("data {message:?}"));
        let t = self.transport.as_ref().unwrap();
        t.write(data);
        println!("Close the client socket");
        t.close();
    }
    fn connection_lost(&mut self, exc: Option<std::io::Error>) {
        self.log.push(format!("lost {}", exc.is_some()));
    }
}

#[asyncio::test]
async fn python_echo_client_protocol_against_our_echo_server_protocol() {
    if !has_python() {
        eprintln!("skipped: no python3");
        return;
    }
    let log = Log::default();
    let server_log = log.clone();
    let server = get_running_loop()
        .create_server(
            move || EchoServerProtocol {
                transport: None,
                log: server_log.clone(),
            },
            "127.0.0.1",
            0,
        )
        .await
        .unwrap();
    let port = server.sockets()[0].as_inet().unwrap().port();
    let client = python_echo_client(&format!("connection(FACTORY, '127.0.0.1', {port}"));
    let output = wait_for(asyncio::to_thread(move || python(&client).output()), 10.0)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "Data sent: 'Hello World!'\nData received: 'Hello World!'\nThe server closed the connection\n"
    );
    server.close();
    wait_for(server.wait_closed(), 10.0).await.unwrap();
    assert_eq!(log.get(), ["made", "data \"Hello World!\"", "lost false"]);
}

/// asyncio's documented `EchoClientProtocol` in Rust.
struct EchoClientProtocol {
    message: &'static str,
    log: Log,
    on_con_lost: Event,
}

impl Protocol for EchoClientProtocol {
    fn connection_made(&mut self, transport: Transport) {
        transport.write(self.message.as_bytes());
        self.log.push(format!("sent {:?}", self.message));
    }
    fn data_received(&mut self, data: &[u8]) {
        self.log
            .push(format!("data {:?}", String::from_utf8_lossy(data)));
    }
    fn connection_lost(&mut self, exc: Option<std::io::Error>) {
        self.log.push(format!("lost {}", exc.is_some()));
        self.on_con_lost.set();
    }
}

#[asyncio::test]
async fn our_echo_client_protocol_against_python_echo_server_protocol() {
    if !has_python() {
        eprintln!("skipped: no python3");
        return;
    }
    let server = r#"
import asyncio

class EchoServerProtocol(asyncio.Protocol):
    def connection_made(self, transport):
        peername = transport.get_extra_info('peername')
        print('Connection from {}'.format(peername))
        self.transport = transport

    def data_received(self, data):
        message = data.decode()
        print('Data received: {!r}'.format(message))
        print('Send: {!r}'.format(message))
        self.transport.write(data)
        print('Close the client socket')
        self.transport.close()

async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: EchoServerProtocol(), '127.0.0.1', 0)
    print(server.sockets[0].getsockname()[1])
    async with server:
        await server.serve_forever()

asyncio.run(main())
"#;
    let mut child = python(server)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (port, mut lines) = asyncio::to_thread(move || {
        let mut lines = BufReader::new(stdout).lines();
        let port: u16 = lines.next().unwrap().unwrap().parse().unwrap();
        (port, lines)
    })
    .await
    .unwrap();

    let log = Log::default();
    let on_con_lost = Event::new();
    let client = EchoClientProtocol {
        message: "Hello World!",
        log: log.clone(),
        on_con_lost: on_con_lost.clone(),
    };
    let (transport, _proto) = get_running_loop()
        .create_connection(move || client, "127.0.0.1", port)
        .await
        .unwrap();
    wait_for(on_con_lost.wait(), 10.0).await.unwrap();
    transport.close();
    assert_eq!(
        log.get(),
        [
            "sent \"Hello World!\"",
            "data \"Hello World!\"",
            "lost false"
        ]
    );
    let printed: Vec<String> =
        asyncio::to_thread(move || (0..4).map(|_| lines.next().unwrap().unwrap()).collect())
            .await
            .unwrap();
    // Python's repr of our address is what our `Display` of it prints.
    let ours = transport.sockname().unwrap();
    assert_eq!(
        printed,
        [
            format!("Connection from {ours}"),
            "Data received: 'Hello World!'".to_owned(),
            "Send: 'Hello World!'".to_owned(),
            "Close the client socket".to_owned(),
        ]
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

/// A protocol over one end of a socket pair; the other end as plain streams.
async fn pair(
    make: impl FnOnce(&Log, &Event) -> Recorder + 'static,
) -> (
    Transport,
    std::rc::Rc<std::cell::RefCell<Recorder>>,
    Log,
    Event,
    asyncio::StreamReader,
    asyncio::StreamWriter,
) {
    let (a, b) = asyncio::net::UnixStream::pair().unwrap();
    let (log, lost) = (Log::default(), Event::new());
    let proto = make(&log, &lost);
    let (t, p) = get_running_loop()
        .connect_accepted_socket(move || proto, a)
        .await
        .unwrap();
    let (r, w) = asyncio::open_socket(b);
    (t, p, log, lost, r, w)
}

#[asyncio::test]
async fn callbacks_come_in_asyncio_order_and_eof_received_false_closes() {
    let (t, _p, log, lost, mut r, w) = pair(Recorder::new).await;
    assert_eq!(log.get(), ["made"]); // connection_made ran before the await returned
    w.write(b"abc");
    asyncio::sleep(0.05).await;
    w.write_eof();
    wait_for(lost.wait(), 10.0).await.unwrap();
    assert_eq!(log.get(), ["made", "data \"abc\"", "eof", "lost None"]);
    assert!(t.is_closing());
    // The transport closed itself: the peer reads end of stream.
    assert_eq!(wait_for(r.read_to_end(), 10.0).await.unwrap().unwrap(), b"");
}

#[asyncio::test]
async fn eof_received_true_keeps_the_transport_open_for_writing() {
    let (t, _p, log, lost, mut r, w) = pair(|log, lost| Recorder {
        keep_open: true,
        ..Recorder::new(log, lost)
    })
    .await;
    w.write(b"question");
    w.write_eof();
    while log.count("eof") == 0 {
        wait_for(asyncio::sleep(0.01), 10.0).await.unwrap();
    }
    assert!(!t.is_closing());
    t.write(b"answer");
    t.close();
    wait_for(lost.wait(), 10.0).await.unwrap();
    assert_eq!(
        wait_for(r.read_to_end(), 10.0).await.unwrap().unwrap(),
        b"answer"
    );
    assert_eq!(log.get(), ["made", "data \"question\"", "eof", "lost None"]);
}

/// Writes `size` bytes from inside `data_received`, to a peer that does not read.
struct BigWriter {
    log: Log,
    t: Option<Transport>,
    size: usize,
    /// The write buffer's size when `resume_writing` came.
    resumed_at: Option<usize>,
}

impl Protocol for BigWriter {
    fn connection_made(&mut self, t: Transport) {
        t.set_write_buffer_limits(Some(16 * 1024), None);
        self.t = Some(t);
    }
    fn data_received(&mut self, _data: &[u8]) {
        self.log.push("data");
        self.t.as_ref().unwrap().write(&vec![7u8; self.size]);
        self.log.push("wrote");
    }
    fn pause_writing(&mut self) {
        self.log.push("pause");
    }
    fn resume_writing(&mut self) {
        self.resumed_at = Some(self.t.as_ref().unwrap().get_write_buffer_size());
        self.log.push("resume");
    }
}

#[asyncio::test]
async fn write_buffer_limits_call_pause_and_resume_writing_outside_the_write() {
    let (a, b) = asyncio::net::UnixStream::pair().unwrap();
    let log = Log::default();
    let proto = BigWriter {
        log: log.clone(),
        t: None,
        size: 4 << 20,
        resumed_at: None,
    };
    let (t, p) = get_running_loop()
        .connect_accepted_socket(move || proto, a)
        .await
        .unwrap();
    assert_eq!(t.get_write_buffer_limits(), (4096, 16384));
    let (mut r, w) = asyncio::open_socket(b);
    w.write(b"go");
    while log.count("pause") == 0 {
        wait_for(asyncio::sleep(0.01), 10.0).await.unwrap();
    }
    // asyncio calls pause_writing inside write(); here it comes right after the callback
    // that wrote returns, never while the protocol is borrowed.
    assert_eq!(log.get(), ["data", "wrote", "pause"]);
    assert!(t.get_write_buffer_size() > 16 * 1024);
    // The peer reads: the buffer drains and resume_writing follows.
    let mut total = 0;
    let deadline = get_running_loop().time() + 10.0;
    while log.count("resume") == 0 {
        assert!(get_running_loop().time() < deadline, "no resume_writing");
        // A short wait: once everything is read, the next read would wait forever.
        if let Ok(chunk) = wait_for(r.read(1 << 20), 0.05).await {
            total += chunk.unwrap().len();
        }
    }
    assert_eq!(log.get(), ["data", "wrote", "pause", "resume"]);
    assert!(p.borrow().resumed_at.unwrap() <= 4096);
    t.close();
    total += wait_for(r.read_to_end(), 10.0)
        .await
        .unwrap()
        .unwrap()
        .len();
    assert_eq!(total, 4 << 20);
}

#[asyncio::test]
async fn pause_reading_stops_data_received_until_resume_reading() {
    let (t, p, log, _lost, _r, w) = pair(Recorder::new).await;
    t.pause_reading();
    assert!(!t.is_reading());
    w.write(b"held back");
    asyncio::sleep(0.1).await;
    assert_eq!(log.get(), ["made"]);
    t.resume_reading();
    assert!(t.is_reading());
    while p.borrow().got.len() < 9 {
        wait_for(asyncio::sleep(0.01), 10.0).await.unwrap();
    }
    assert_eq!(p.borrow().got, b"held back");
    t.close();
}

/// Echoes, but panics on "boom".
struct Fragile {
    t: Option<Transport>,
    log: Log,
}

impl Protocol for Fragile {
    fn connection_made(&mut self, t: Transport) {
        self.t = Some(t);
    }
    fn data_received(&mut self, data: &[u8]) {
        if data == b"boom" {
            panic!("fragile protocol got boom");
        }
        self.t.as_ref().unwrap().write(data);
    }
    fn connection_lost(&mut self, exc: Option<std::io::Error>) {
        self.log.push(format!(
            "lost {}",
            exc.map_or("None".to_owned(), |e| e.to_string())
        ));
    }
}

#[asyncio::test]
async fn a_panicking_data_received_aborts_its_connection_and_the_server_goes_on() {
    logs::capture();
    let log = Log::default();
    let server_log = log.clone();
    let server = get_running_loop()
        .create_server(
            move || Fragile {
                t: None,
                log: server_log.clone(),
            },
            "127.0.0.1",
            0,
        )
        .await
        .unwrap();
    let port = server.sockets()[0].as_inet().unwrap().port();

    let (mut r1, w1) = asyncio::open_connection("127.0.0.1", port).await.unwrap();
    w1.write(b"boom");
    let err = wait_for(r1.read(10), 10.0).await.unwrap().unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset);
    while log.count("lost") == 0 {
        wait_for(asyncio::sleep(0.01), 10.0).await.unwrap();
    }
    assert_eq!(
        logs::count(&[
            "ERROR",
            "Protocol.data_received",
            "fragile protocol got boom"
        ]),
        1
    );
    // connection_lost came once, after the borrow of the panicking callback ended, with an
    // error that says why.
    assert_eq!(log.count("lost"), 1);
    assert!(
        log.get()[0].contains("Protocol.data_received panicked"),
        "{:?}",
        log.get()
    );

    let (mut r2, w2) = asyncio::open_connection("127.0.0.1", port).await.unwrap();
    w2.write(b"still serving");
    assert_eq!(
        wait_for(r2.read(100), 10.0).await.unwrap().unwrap(),
        b"still serving"
    );
    w2.close();
    server.close();
    server.close_clients();
    wait_for(server.wait_closed(), 10.0).await.unwrap();
}

#[asyncio::test]
async fn a_panicking_factory_closes_only_its_connection() {
    logs::capture();
    let made = std::rc::Rc::new(std::cell::Cell::new(0));
    let count = made.clone();
    let server = get_running_loop()
        .create_server(
            move || {
                count.set(count.get() + 1);
                if count.get() == 1 {
                    panic!("factory fails once");
                }
                EchoServerProtocol {
                    transport: None,
                    log: Log::default(),
                }
            },
            "127.0.0.1",
            0,
        )
        .await
        .unwrap();
    let port = server.sockets()[0].as_inet().unwrap().port();
    // The server closes the first connection at once: the client reads its end, or the
    // connect itself may already see it gone.
    if let Ok((mut r1, _w1)) = asyncio::open_connection("127.0.0.1", port).await {
        let read = wait_for(r1.read(10), 10.0).await.unwrap();
        assert!(read.map_or(true, |d| d.is_empty()));
    }
    assert_eq!(
        logs::count(&["ERROR", "protocol_factory", "factory fails once"]),
        1
    );
    let (mut r2, w2) = asyncio::open_connection("127.0.0.1", port).await.unwrap();
    w2.write(b"hi");
    assert_eq!(wait_for(r2.read(10), 10.0).await.unwrap().unwrap(), b"hi");
}

#[asyncio::test]
async fn connection_lost_comes_once_whatever_closes_the_connection() {
    // close, close again, abort: one connection_lost(None).
    let (t, _p, log, lost, _r, _w) = pair(Recorder::new).await;
    t.close();
    t.close();
    t.abort();
    wait_for(lost.wait(), 10.0).await.unwrap();
    asyncio::sleep(0.05).await;
    assert_eq!(log.get(), ["made", "lost None"]);

    // The peer resets: one connection_lost with the error.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (log, lost) = (Log::default(), Event::new());
    let proto = Recorder::new(&log, &lost);
    let (t, _p) = get_running_loop()
        .create_connection(move || proto, "127.0.0.1", addr.port())
        .await
        .unwrap();
    // The kernel completed the handshake already: this accept does not block.
    let (peer, _) = listener.accept().unwrap();
    socket2::SockRef::from(&peer)
        .set_linger(Some(std::time::Duration::ZERO))
        .unwrap();
    drop(peer);
    wait_for(lost.wait(), 10.0).await.unwrap();
    t.close();
    t.abort();
    asyncio::sleep(0.05).await;
    assert_eq!(log.count("lost"), 1);
    assert!(
        log.get()[1].starts_with("lost Some(ConnectionReset"),
        "{:?}",
        log.get()
    );
}

#[asyncio::test]
async fn close_sends_what_is_buffered_before_connection_lost() {
    let (t, _p, log, lost, mut r, _w) = pair(Recorder::new).await;
    let big = vec![1u8; 2 << 20];
    t.write(&big);
    assert!(t.get_write_buffer_size() > 0);
    t.close();
    assert!(t.is_closing() && !t.is_reading());
    let got = wait_for(r.read_to_end(), 10.0).await.unwrap().unwrap();
    assert_eq!(got.len(), big.len());
    wait_for(lost.wait(), 10.0).await.unwrap();
    // 2 MiB is over the high-water mark. asyncio would also call resume_writing as the last
    // byte goes; here the loss, seen first, ends the callbacks.
    assert_eq!(log.get(), ["made", "pause", "lost None"]);
}

#[asyncio::test]
async fn connect_accepted_socket_runs_a_protocol_on_an_accepted_tcp_socket() {
    let listener = asyncio::net::TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = listener.local_addr().unwrap().port();
    let client = asyncio::create_task(async move {
        let (mut r, w) = asyncio::open_connection("127.0.0.1", port).await.unwrap();
        w.write(b"ping");
        let got = r.read(10).await.unwrap();
        w.close();
        got
    });
    let (sock, peer) = listener.accept().await.unwrap();
    let (log, lost) = (Log::default(), Event::new());
    let proto = Recorder {
        echo: true,
        ..Recorder::new(&log, &lost)
    };
    let (t, _p) = get_running_loop()
        .connect_accepted_socket(move || proto, sock)
        .await
        .unwrap();
    assert_eq!(t.peername().unwrap().as_inet(), Some(peer));
    assert_eq!(wait_for(client, 10.0).await.unwrap().unwrap(), b"ping");
    wait_for(lost.wait(), 10.0).await.unwrap();
    assert_eq!(log.get(), ["made", "data \"ping\"", "eof", "lost None"]);
}

#[test]
fn a_connection_open_when_the_loop_ends_is_closed_without_connection_lost() {
    use std::io::Read;
    let (ours, mut peer) = std::os::unix::net::UnixStream::pair().unwrap();
    let log = Log::default();
    let kept = log.clone();
    asyncio::run(async move {
        let sock = asyncio::net::UnixStream::from_std(ours).unwrap();
        let proto = Recorder::new(&kept, &Event::new());
        let (_t, _p) = get_running_loop()
            .connect_accepted_socket(move || proto, sock)
            .await
            .unwrap();
    });
    // The driver was cancelled with the loop: the socket is closed (the peer reads its end),
    // and the protocol was not called again.
    let mut rest = Vec::new();
    assert_eq!(peer.read_to_end(&mut rest).unwrap(), 0);
    assert_eq!(log.get(), ["made"]);
}

#[asyncio::test]
async fn a_write_from_another_task_wakes_the_driver_for_pause_and_resume_writing() {
    let (t, _p, log, _lost, mut r, _w) = pair(Recorder::new).await;
    t.set_write_buffer_limits(Some(1024), None);
    t.write(&vec![3u8; 4 << 20]); // not from a callback: the driver must be woken
    while log.count("pause") == 0 {
        wait_for(asyncio::sleep(0.01), 10.0).await.unwrap();
    }
    let mut total = 0;
    let deadline = get_running_loop().time() + 10.0;
    while log.count("resume") == 0 {
        assert!(get_running_loop().time() < deadline, "no resume_writing");
        if let Ok(chunk) = wait_for(r.read(1 << 20), 0.05).await {
            total += chunk.unwrap().len();
        }
    }
    assert!(total > 0);
    assert_eq!(log.get(), ["made", "pause", "resume"]);
    t.close();
}

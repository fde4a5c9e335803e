//! `BufferedProtocol`: reads straight into the protocol's own buffer, against asyncio's
//! documented echo client in Python and with buffers smaller than what arrives.

mod logs;
mod protocols;

use asyncio::{Buffered, BufferedProtocol, Event, Transport, get_running_loop, wait_for};
use protocols::{Log, has_python, python, python_echo_client};

/// An echo server over a 16-byte buffer of its own: what arrives comes in 16-byte reads.
struct SmallEcho {
    buf: [u8; 16],
    t: Option<Transport>,
    log: Log,
}

impl BufferedProtocol for SmallEcho {
    fn connection_made(&mut self, t: Transport) {
        self.log.push("made");
        self.t = Some(t);
    }
    fn get_buffer(&mut self, size_hint: usize) -> &mut [u8] {
        assert_eq!(size_hint, 64 * 1024);
        &mut self.buf
    }
    fn buffer_updated(&mut self, nbytes: usize) {
        self.log.push(format!("updated {nbytes}"));
        self.t.as_ref().unwrap().write(&self.buf[..nbytes]);
    }
    fn eof_received(&mut self) -> bool {
        self.log.push("eof");
        false
    }
    fn connection_lost(&mut self, exc: Option<std::io::Error>) {
        self.log.push(format!("lost {}", exc.is_some()));
    }
}

#[asyncio::test]
async fn python_echo_client_protocol_against_our_buffered_echo_server() {
    if !has_python() {
        eprintln!("skipped: no python3");
        return;
    }
    let log = Log::default();
    let server_log = log.clone();
    let server = get_running_loop()
        .create_server(
            move || {
                Buffered(SmallEcho {
                    buf: [0; 16],
                    t: None,
                    log: server_log.clone(),
                })
            },
            "127.0.0.1",
            0,
        )
        .await
        .unwrap();
    let port = server.sockets()[0].as_inet().unwrap().port();
    // The documented client waits for the server to close; ours closes when the client
    // does, so the client here closes once it has its echo.
    let client = python_echo_client(&format!("connection(FACTORY, '127.0.0.1', {port}"))
        .replace(
            "print('Data received: {!r}'.format(data.decode()))",
            "print('Data received: {!r}'.format(data.decode())); self.transport.close()",
        )
        .replace(
            "transport.write(self.message.encode())",
            "self.transport = transport; transport.write(self.message.encode())",
        );
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
    assert_eq!(log.get(), ["made", "updated 12", "eof", "lost false"]);
}

#[asyncio::test]
async fn a_small_buffer_takes_a_large_message_in_pieces() {
    let (a, b) = asyncio::net::UnixStream::pair().unwrap();
    let log = Log::default();
    let proto = Buffered(SmallEcho {
        buf: [0; 16],
        t: None,
        log: log.clone(),
    });
    let (_t, _p) = get_running_loop()
        .connect_accepted_socket(move || proto, a)
        .await
        .unwrap();
    let (mut r, w) = asyncio::open_socket(b);
    let message: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    w.write(&message);
    w.write_eof();
    let echoed = wait_for(r.read_to_end(), 10.0).await.unwrap().unwrap();
    assert_eq!(echoed, message);
    let reads = log.count("updated");
    assert!(reads >= 100_000 / 16, "{reads} reads");
}

struct NoRoom {
    lost: Event,
    exc: Option<String>,
}

impl BufferedProtocol for NoRoom {
    fn get_buffer(&mut self, _size_hint: usize) -> &mut [u8] {
        &mut []
    }
    fn buffer_updated(&mut self, _nbytes: usize) {
        unreachable!("nothing can be read into no room");
    }
    fn connection_lost(&mut self, exc: Option<std::io::Error>) {
        self.exc = exc.map(|e| e.to_string());
        self.lost.set();
    }
}

#[asyncio::test]
async fn an_empty_buffer_from_get_buffer_aborts_the_connection() {
    logs::capture();
    let (a, b) = asyncio::net::UnixStream::pair().unwrap();
    let lost = Event::new();
    let proto = Buffered(NoRoom {
        lost: lost.clone(),
        exc: None,
    });
    let (t, p) = get_running_loop()
        .connect_accepted_socket(move || proto, a)
        .await
        .unwrap();
    let (_r, w) = asyncio::open_socket(b);
    w.write(b"data");
    wait_for(lost.wait(), 10.0).await.unwrap();
    assert!(t.is_closing());
    let exc = p.borrow().0.exc.clone().unwrap();
    assert!(exc.contains("Protocol.get_buffer panicked"), "{exc}");
    assert_eq!(
        logs::count(&["ERROR", "Protocol.get_buffer", "empty buffer"]),
        1
    );
}

//! `create_datagram_endpoint`, `DatagramProtocol` and `DatagramTransport` on real sockets,
//! and against CPython's asyncio. Awaits that could hang on a regression run under
//! `wait_for(.., 10.0)`.

mod logs;

use asyncio::net::UdpSocket;
use asyncio::{AddressFamily, DatagramProtocol, DatagramTransport, wait_for};
use std::cell::RefCell;
use std::io::{self, ErrorKind};
use std::net::SocketAddr;
use std::rc::Rc;

type Events = Rc<RefCell<Vec<String>>>;

/// Records every callback; echoes datagrams back when `echo`; panics on a datagram equal to
/// `panic_on`.
struct Recorder {
    t: Option<DatagramTransport>,
    events: Events,
    echo: bool,
    panic_on: Option<&'static [u8]>,
}

impl Recorder {
    fn new(events: &Events, echo: bool) -> Recorder {
        Recorder {
            t: None,
            events: events.clone(),
            echo,
            panic_on: None,
        }
    }
}

impl DatagramProtocol for Recorder {
    fn connection_made(&mut self, t: DatagramTransport) {
        self.events.borrow_mut().push("made".into());
        self.t = Some(t);
    }
    fn datagram_received(&mut self, data: &[u8], addr: SocketAddr) {
        if self.panic_on == Some(data) {
            panic!("boom-datagram");
        }
        self.events
            .borrow_mut()
            .push(format!("data {}", String::from_utf8_lossy(data)));
        if self.echo {
            self.t.as_ref().unwrap().sendto(data, Some(addr));
        }
    }
    fn error_received(&mut self, err: io::Error) {
        self.events
            .borrow_mut()
            .push(format!("error {:?}", err.kind()));
    }
    fn connection_lost(&mut self, exc: Option<io::Error>) {
        let what = match exc {
            None => "lost None".to_string(),
            Some(e) => format!("lost {e}"),
        };
        self.events.borrow_mut().push(what);
    }
}

/// Lets the loop run until `cond` holds (a few real milliseconds at most per try).
async fn until(mut cond: impl FnMut() -> bool) {
    wait_for(
        async {
            while !cond() {
                asyncio::sleep(0.001).await;
            }
        },
        10.0,
    )
    .await
    .expect("condition not reached in 10 s");
}

#[asyncio::test]
async fn echo_server_with_a_rust_client() {
    let events = Events::default();
    let lp = asyncio::get_running_loop();
    let ev = events.clone();
    let (transport, proto) = lp
        .create_datagram_endpoint(move || Recorder::new(&ev, true))
        .local_addr(("127.0.0.1", 0))
        .await
        .unwrap();
    // asyncio returns after connection_made has run.
    assert_eq!(*events.borrow(), ["made"]);
    assert!(proto.borrow().t.is_some());
    let server = transport.sockname().unwrap();
    assert!(transport.peername().is_none());

    let client = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let mut buf = vec![0; 65536];
    for msg in [&b"one"[..], b"two", b""] {
        client.send_to(msg, server).await.unwrap();
        let (n, from) = wait_for(client.recv_from(&mut buf), 10.0)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((&buf[..n], from), (msg, server));
    }
    // A 60 KB datagram is received whole and echoed whole.
    let big: Vec<u8> = (0..60_000u32).map(|i| (i % 251) as u8).collect();
    client.send_to(&big, server).await.unwrap();
    let (n, _) = wait_for(client.recv_from(&mut buf), 10.0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf[..n], &big[..]);

    transport.close();
    until(|| events.borrow().last().map(String::as_str) == Some("lost None")).await;
    assert_eq!(
        events.borrow()[..4],
        ["made", "data one", "data two", "data "]
    );
    assert_eq!(events.borrow().len(), 6, "{:?}", events.borrow());
    assert!(
        transport.with_socket(|_| ()).is_none(),
        "the socket is closed"
    );
}

/// `connection_lost` is called once, last, whatever mix of close and abort asked for it;
/// sends after that are dropped.
#[asyncio::test]
async fn connection_lost_once() {
    let events = Events::default();
    let ev = events.clone();
    let (t, _p) = asyncio::get_running_loop()
        .create_datagram_endpoint(move || Recorder::new(&ev, false))
        .local_addr(("127.0.0.1", 0))
        .await
        .unwrap();
    t.close();
    t.abort();
    t.close();
    assert!(t.is_closing());
    until(|| events.borrow().len() == 2).await;
    for _ in 0..10 {
        t.sendto(b"late", Some("127.0.0.1:9".parse().unwrap()));
        t.abort();
        asyncio::sleep(0).await;
    }
    assert_eq!(*events.borrow(), ["made", "lost None"]);
    assert_eq!(t.get_write_buffer_size(), 0);
}

/// asyncio's `_read_ready` model: an ICMP port-unreachable on a connected endpoint is
/// `error_received(ConnectionRefused)`, and the endpoint stays open.
#[asyncio::test]
async fn error_received_from_port_unreachable() {
    let closed = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let closed_addr = closed.local_addr().unwrap();
    drop(closed);
    let events = Events::default();
    let ev = events.clone();
    let (t, _p) = asyncio::get_running_loop()
        .create_datagram_endpoint(move || Recorder::new(&ev, false))
        .remote_addr(closed_addr)
        .await
        .unwrap();
    assert_eq!(t.peername(), Some(closed_addr));
    t.sendto(b"anyone?", None);
    until(|| events.borrow().len() >= 2).await;
    assert_eq!(events.borrow()[1], "error ConnectionRefused");
    assert!(!t.is_closing());
    t.close();
    until(|| events.borrow().last().map(String::as_str) == Some("lost None")).await;
}

/// A panicking `datagram_received` closes its endpoint only: the panic is logged, the
/// protocol gets `connection_lost` with the panic, its `RefCell` is free, and another
/// endpoint goes on serving.
#[asyncio::test]
async fn panicking_callback_closes_only_its_endpoint() {
    logs::capture();
    let lp = asyncio::get_running_loop();
    let events = Events::default();
    let ev = events.clone();
    let (bad, bad_proto) = lp
        .create_datagram_endpoint(move || Recorder {
            panic_on: Some(b"boom"),
            ..Recorder::new(&ev, true)
        })
        .local_addr(("127.0.0.1", 0))
        .await
        .unwrap();
    let good_events = Events::default();
    let ev = good_events.clone();
    let (good, _) = lp
        .create_datagram_endpoint(move || Recorder::new(&ev, true))
        .local_addr(("127.0.0.1", 0))
        .await
        .unwrap();

    let client = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    client
        .send_to(b"boom", bad.sockname().unwrap())
        .await
        .unwrap();
    until(|| events.borrow().len() == 2).await;
    assert_eq!(events.borrow()[0], "made");
    assert!(
        events.borrow()[1].starts_with("lost "),
        "{:?}",
        events.borrow()
    );
    assert!(events.borrow()[1].contains("boom-datagram"));
    assert!(bad.is_closing());
    assert!(
        bad_proto.try_borrow_mut().is_ok(),
        "the protocol is not left borrowed"
    );
    assert_eq!(
        logs::count(&["ERROR", "datagram_received", "boom-datagram"]),
        1
    );

    client
        .send_to(b"still", good.sockname().unwrap())
        .await
        .unwrap();
    let mut buf = [0; 16];
    let (n, _) = wait_for(client.recv_from(&mut buf), 10.0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf[..n], b"still");
    good.close();
}

#[asyncio::test]
async fn existing_socket_and_bad_options() {
    #[derive(Debug)]
    struct Quiet;
    impl DatagramProtocol for Quiet {}
    let lp = asyncio::get_running_loop();
    let sock = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = sock.local_addr().unwrap();
    let (t, _) = lp
        .create_datagram_endpoint(|| Quiet)
        .sock(sock)
        .await
        .unwrap();
    assert_eq!(t.sockname(), Some(addr));

    let sock = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let err = lp
        .create_datagram_endpoint(|| Quiet)
        .sock(sock)
        .reuse_port(true)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);

    let err = lp.create_datagram_endpoint(|| Quiet).await.unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::InvalidInput,
        "no address and no family"
    );

    let err = lp
        .create_datagram_endpoint(|| Quiet)
        .local_addr(("127.0.0.1", 0))
        .remote_addr(("::1", 9))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "no family in common");

    let (t, _) = lp
        .create_datagram_endpoint(|| Quiet)
        .family(AddressFamily::Inet)
        .await
        .unwrap();
    assert!(t.sockname().unwrap().is_ipv4());

    // A name is resolved (on the blocking pool).
    let (t, _) = lp
        .create_datagram_endpoint(|| Quiet)
        .local_addr(("localhost", 0))
        .family(AddressFamily::Inet)
        .await
        .unwrap();
    assert!(t.sockname().unwrap().ip().is_loopback());

    // Taken by someone else without SO_REUSEPORT: AddrInUse.
    let err = lp
        .create_datagram_endpoint(|| Quiet)
        .local_addr(t.sockname().unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AddrInUse);
}

#[asyncio::test]
async fn reuse_port_and_broadcast() {
    #[derive(Debug)]
    struct Quiet;
    impl DatagramProtocol for Quiet {}
    let lp = asyncio::get_running_loop();
    let (a, _) = lp
        .create_datagram_endpoint(|| Quiet)
        .local_addr(("127.0.0.1", 0))
        .reuse_port(true)
        .await
        .unwrap();
    let (b, _) = lp
        .create_datagram_endpoint(|| Quiet)
        .local_addr(a.sockname().unwrap())
        .reuse_port(true)
        .await
        .unwrap();
    assert_eq!(a.sockname(), b.sockname());
    let (c, _) = lp
        .create_datagram_endpoint(|| Quiet)
        .local_addr(("0.0.0.0", 0))
        .allow_broadcast(true)
        .await
        .unwrap();
    assert!(c.with_socket(|s| s.broadcast().unwrap()).unwrap());
}

/// Python's asyncio: a `DatagramProtocol` client against our echo endpoint.
#[asyncio::test]
async fn python_client_against_our_echo_endpoint() {
    if !has_python() {
        eprintln!("skipped: no python3");
        return;
    }
    let events = Events::default();
    let ev = events.clone();
    let (t, _p) = asyncio::get_running_loop()
        .create_datagram_endpoint(move || Recorder::new(&ev, true))
        .local_addr(("127.0.0.1", 0))
        .await
        .unwrap();
    let port = t.sockname().unwrap().port();
    let client = format!(
        r#"
import asyncio
class Client(asyncio.DatagramProtocol):
    def __init__(self, done): self.done = done
    def connection_made(self, t):
        self.t = t
        t.sendto(b"Hello World!")
    def datagram_received(self, data, addr):
        print("Received:", data.decode())
        self.t.close()
    def connection_lost(self, exc): self.done.set_result(True)
async def main():
    done = asyncio.get_running_loop().create_future()
    await asyncio.get_running_loop().create_datagram_endpoint(
        lambda: Client(done), remote_addr=("127.0.0.1", {port}))
    await asyncio.wait_for(done, 10)
asyncio.run(main())
"#
    );
    let out = asyncio::to_thread(move || python(&client).output())
        .await
        .unwrap()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "Received: Hello World!\n"
    );
    assert_eq!(events.borrow()[1], "data Hello World!");
    t.close();
}

/// Our endpoint as a client of Python's asyncio echo server.
#[asyncio::test]
async fn our_client_against_python_echo_server() {
    if !has_python() {
        eprintln!("skipped: no python3");
        return;
    }
    let server = r#"
import asyncio, sys
class Echo(asyncio.DatagramProtocol):
    def connection_made(self, t): self.t = t
    def datagram_received(self, data, addr): self.t.sendto(data.upper(), addr)
async def main():
    t, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        Echo, local_addr=("127.0.0.1", 0))
    print(t.get_extra_info("sockname")[1], flush=True)
    await asyncio.sleep(30)
asyncio.run(main())
"#;
    let mut child = python(server)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let port: u16 = asyncio::to_thread(move || {
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).unwrap();
        line.trim().parse().unwrap()
    })
    .await
    .unwrap();

    let events = Events::default();
    let ev = events.clone();
    let (t, _p) = asyncio::get_running_loop()
        .create_datagram_endpoint(move || Recorder::new(&ev, false))
        .remote_addr(("127.0.0.1", port))
        .await
        .unwrap();
    t.sendto(b"hello", None);
    t.sendto(b"again", None);
    let outcome = wait_for(until(|| events.borrow().len() == 3), 10.0).await;
    child.kill().unwrap();
    child.wait().unwrap();
    outcome.unwrap();
    assert_eq!(*events.borrow(), ["made", "data HELLO", "data AGAIN"]);
    t.close();
}

fn has_python() -> bool {
    std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn python(source: &str) -> std::process::Command {
    let mut cmd = std::process::Command::new("python3");
    cmd.arg("-u").arg("-c").arg(source);
    cmd
}

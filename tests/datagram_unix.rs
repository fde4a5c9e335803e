//! `create_unix_datagram_endpoint`: the datagram protocol and transport over Unix-domain
//! sockets, with path addresses; flow control (a Unix datagram waits for a full receiver,
//! so the transport's buffer really fills); and CPython's
//! `create_datagram_endpoint(family=socket.AF_UNIX)` on the other side. Awaits that could
//! hang on a regression run under `wait_for(.., 10.0)`.

use asyncio::net::UnixDatagram;
use asyncio::{DatagramProtocol, DatagramTransport, wait_for};
use std::cell::RefCell;
use std::io::{self, ErrorKind};
use std::os::unix::net::SocketAddr;
use std::path::PathBuf;
use std::rc::Rc;

type Events = Rc<RefCell<Vec<String>>>;

/// Records every callback; echoes datagrams back when `echo`.
#[derive(Debug)]
struct Recorder {
    t: Option<DatagramTransport<SocketAddr>>,
    events: Events,
    echo: bool,
}

impl Recorder {
    fn new(events: &Events, echo: bool) -> Recorder {
        Recorder {
            t: None,
            events: events.clone(),
            echo,
        }
    }
}

impl DatagramProtocol<SocketAddr> for Recorder {
    fn connection_made(&mut self, t: DatagramTransport<SocketAddr>) {
        self.events.borrow_mut().push("made".into());
        self.t = Some(t);
    }
    fn datagram_received(&mut self, data: &[u8], addr: SocketAddr) {
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
        self.events.borrow_mut().push(format!("lost {exc:?}"));
    }
    fn pause_writing(&mut self) {
        self.events.borrow_mut().push("pause".into());
    }
    fn resume_writing(&mut self) {
        self.events.borrow_mut().push("resume".into());
    }
}

/// A fresh directory for this test's socket files, removed when dropped.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let dir = std::env::temp_dir().join(format!("asyncio-dgu-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Dir(dir)
    }
    fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Lets the loop run until `cond` holds.
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
async fn echo_endpoint_on_a_path() {
    let dir = Dir::new("echo");
    let (server, client_path) = (dir.path("server.sock"), dir.path("client.sock"));
    // A socket file left by an earlier run is replaced, as asyncio does.
    drop(std::os::unix::net::UnixDatagram::bind(&server).unwrap());
    let events = Events::default();
    let ev = events.clone();
    let (t, _p) = asyncio::get_running_loop()
        .create_unix_datagram_endpoint(move || Recorder::new(&ev, true))
        .local_addr(&server)
        .await
        .unwrap();
    assert_eq!(*events.borrow(), ["made"]);
    assert_eq!(t.sockname().unwrap().as_pathname(), Some(server.as_path()));
    assert!(t.peername().is_none());

    let client = UnixDatagram::bind(&client_path).unwrap();
    let mut buf = vec![0; 300 * 1024];
    // 200 KB is more than UDP allows: received whole into the Unix endpoint's 256 KiB.
    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    for msg in [&b"one"[..], b"", &big[..]] {
        client.send_to(msg, &server).await.unwrap();
        let (n, from) = wait_for(client.recv_from(&mut buf), 10.0)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&buf[..n], msg);
        assert_eq!(from.as_pathname(), Some(server.as_path()));
    }
    t.close();
    until(|| events.borrow().last().map(String::as_str) == Some("lost None")).await;
    assert_eq!(events.borrow()[..3], ["made", "data one", "data "]);
    assert!(t.with_socket(|_| ()).is_none(), "the socket is closed");
}

/// A receiver that does not read fills up: the datagrams wait in the transport's buffer in
/// order, the protocol is told to pause past the high-water mark and to resume once the
/// receiver drained them, and every datagram arrives.
#[asyncio::test]
async fn a_full_receiver_pauses_and_resumes_writing() {
    let (ours, peer) = UnixDatagram::pair().unwrap();
    let events = Events::default();
    let ev = events.clone();
    let (t, _p) = asyncio::get_running_loop()
        .create_unix_datagram_endpoint(move || Recorder::new(&ev, false))
        .sock(ours)
        .await
        .unwrap();
    t.set_write_buffer_limits(Some(4096), Some(1024));
    let msg = [7u8; 1000];
    let mut sent = 0u32;
    while t.get_write_buffer_size() <= 4096 {
        let mut m = msg;
        m[..4].copy_from_slice(&sent.to_be_bytes());
        t.sendto(&m, None);
        sent += 1;
        assert!(sent < 100_000, "the receiver's queue never filled");
    }
    until(|| events.borrow().contains(&"pause".to_string())).await;
    assert!(!events.borrow().contains(&"resume".to_string()));

    let mut buf = [0u8; 2048];
    for i in 0..sent {
        let n = wait_for(peer.recv(&mut buf), 10.0).await.unwrap().unwrap();
        assert_eq!(n, 1000);
        assert_eq!(buf[..4], i.to_be_bytes(), "datagram {i} out of order");
    }
    until(|| events.borrow().contains(&"resume".to_string())).await;
    assert_eq!(t.get_write_buffer_size(), 0);
    assert_eq!(*events.borrow(), ["made", "pause", "resume"]);
    t.close();
}

/// The events the loop's epoll asks for `fd` (from `/proc/self/fdinfo`), if one watches it.
#[cfg(target_os = "linux")]
fn epoll_events_of(fd: std::os::fd::RawFd) -> Option<u32> {
    for entry in std::fs::read_dir("/proc/self/fdinfo").ok()?.flatten() {
        let Ok(info) = std::fs::read_to_string(entry.path()) else {
            continue;
        };
        for line in info.lines().filter(|l| l.starts_with("tfd:")) {
            let words: Vec<&str> = line.split_whitespace().collect();
            if words.get(1) == Some(&fd.to_string().as_str()) && words.get(2) == Some(&"events:") {
                return u32::from_str_radix(words[3], 16).ok();
            }
        }
    }
    None
}

/// The endpoint asks the poller for writability only while datagrams wait in its buffer: a
/// datagram socket is writable again after each send, and those edges would wake the loop
/// for nothing (the UDP echo's extra CPU).
#[cfg(target_os = "linux")]
#[asyncio::test]
async fn writability_is_watched_only_while_datagrams_wait() {
    use std::os::fd::AsRawFd;
    const EPOLLOUT: u32 = libc::EPOLLOUT as u32;
    const EPOLLIN: u32 = libc::EPOLLIN as u32;
    let (ours, peer) = UnixDatagram::pair().unwrap();
    let fd = ours.as_raw_fd();
    let events = Events::default();
    let ev = events.clone();
    let (t, _p) = asyncio::get_running_loop()
        .create_unix_datagram_endpoint(move || Recorder::new(&ev, false))
        .sock(ours)
        .await
        .unwrap();
    let watched = epoll_events_of(fd).expect("the loop's epoll watches the socket");
    assert_eq!(watched & (EPOLLIN | EPOLLOUT), EPOLLIN, "{watched:#x}");
    // Fill the receiver: datagrams wait, and writability is watched.
    let mut sent = 0;
    while t.get_write_buffer_size() == 0 {
        t.sendto(&[1u8; 1000], None);
        sent += 1;
        assert!(sent < 100_000, "the receiver's queue never filled");
    }
    until(|| epoll_events_of(fd).is_some_and(|e| e & EPOLLOUT != 0)).await;
    let mut buf = [0u8; 2048];
    for _ in 0..sent {
        wait_for(peer.recv(&mut buf), 10.0).await.unwrap().unwrap();
    }
    until(|| t.get_write_buffer_size() == 0).await;
    until(|| epoll_events_of(fd).is_some_and(|e| e & EPOLLOUT == 0)).await;

    // The same for a UDP endpoint, which sends without ever waiting on loopback.
    let (u, _p) = asyncio::get_running_loop()
        .create_datagram_endpoint(|| Udp)
        .local_addr(("127.0.0.1", 0))
        .await
        .unwrap();
    let to = u.sockname().unwrap();
    for _ in 0..10 {
        u.sendto(b"to myself", Some(to));
    }
    asyncio::sleep(0.01).await;
    let ufd = u.with_socket(|s| s.as_raw_fd()).unwrap();
    let watched = epoll_events_of(ufd).expect("the loop's epoll watches the socket");
    assert_eq!(watched & (EPOLLIN | EPOLLOUT), EPOLLIN, "{watched:#x}");
    t.close();
    u.close();
}

#[cfg(target_os = "linux")]
struct Udp;

#[cfg(target_os = "linux")]
impl DatagramProtocol for Udp {}

/// A send to a path nobody is bound to reaches `error_received`; the endpoint stays open.
#[asyncio::test]
async fn send_to_a_missing_path_reaches_error_received() {
    let dir = Dir::new("missing");
    let events = Events::default();
    let ev = events.clone();
    let (t, _p) = asyncio::get_running_loop()
        .create_unix_datagram_endpoint(move || Recorder::new(&ev, false))
        .local_addr(dir.path("me.sock"))
        .await
        .unwrap();
    let nobody = SocketAddr::from_pathname(dir.path("nobody.sock")).unwrap();
    t.sendto(b"x", Some(nobody));
    until(|| events.borrow().len() == 2).await;
    assert_eq!(events.borrow()[1], "error NotFound");
    assert!(!t.is_closing());
    t.close();
}

#[asyncio::test]
async fn bad_options_and_paths() {
    let dir = Dir::new("bad");
    let lp = asyncio::get_running_loop();
    let (a, _b) = UnixDatagram::pair().unwrap();
    let err = lp
        .create_unix_datagram_endpoint(|| Recorder::new(&Events::default(), false))
        .sock(a)
        .local_addr(dir.path("x.sock"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    // A regular file in the way is not removed.
    let file = dir.path("file");
    std::fs::write(&file, b"keep me").unwrap();
    let err = lp
        .create_unix_datagram_endpoint(|| Recorder::new(&Events::default(), false))
        .local_addr(&file)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AddrInUse);
    assert_eq!(std::fs::read(&file).unwrap(), b"keep me");
    // Connecting to a path nobody is bound to.
    let err = lp
        .create_unix_datagram_endpoint(|| Recorder::new(&Events::default(), false))
        .remote_addr(dir.path("nobody.sock"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

/// CPython's `create_datagram_endpoint(family=socket.AF_UNIX)` client against our echo
/// endpoint, and our connected endpoint against CPython's echo server.
#[asyncio::test]
async fn interop_with_cpython_both_ways() {
    if !has_python() {
        eprintln!("skipped: no python3");
        return;
    }
    let dir = Dir::new("py");
    let ours = dir.path("ours.sock");
    let events = Events::default();
    let ev = events.clone();
    let (t, _p) = asyncio::get_running_loop()
        .create_unix_datagram_endpoint(move || Recorder::new(&ev, true))
        .local_addr(&ours)
        .await
        .unwrap();
    let client = format!(
        r#"
import asyncio, socket
class Client(asyncio.DatagramProtocol):
    def __init__(self, done): self.done = done
    def connection_made(self, t):
        self.t = t
        t.sendto(b"Hello World!")
    def datagram_received(self, data, addr):
        print("Received:", data.decode(), addr)
        self.t.close()
    def connection_lost(self, exc): self.done.set_result(True)
async def main():
    done = asyncio.get_running_loop().create_future()
    await asyncio.get_running_loop().create_datagram_endpoint(
        lambda: Client(done), family=socket.AF_UNIX,
        local_addr={client:?}, remote_addr={server:?})
    await asyncio.wait_for(done, 10)
asyncio.run(main())
"#,
        client = dir.path("py-client.sock"),
        server = ours,
    );
    let out = asyncio::to_thread(move || python(&client).output())
        .await
        .unwrap()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("Received: Hello World! {}\n", ours.display())
    );
    assert_eq!(events.borrow()[1], "data Hello World!");
    t.close();

    let theirs = dir.path("theirs.sock");
    let server = format!(
        r#"
import asyncio, socket
class Echo(asyncio.DatagramProtocol):
    def connection_made(self, t): self.t = t
    def datagram_received(self, data, addr): self.t.sendto(data.upper(), addr)
async def main():
    await asyncio.get_running_loop().create_datagram_endpoint(
        Echo, family=socket.AF_UNIX, local_addr={theirs:?})
    print("ready", flush=True)
    await asyncio.sleep(30)
asyncio.run(main())
"#
    );
    let mut child = python(&server)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    asyncio::to_thread(move || {
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).unwrap();
        assert_eq!(line, "ready\n");
    })
    .await
    .unwrap();
    let events = Events::default();
    let ev = events.clone();
    let (t, _p) = asyncio::get_running_loop()
        .create_unix_datagram_endpoint(move || Recorder::new(&ev, false))
        .local_addr(dir.path("our-client.sock"))
        .remote_addr(&theirs)
        .await
        .unwrap();
    assert_eq!(t.peername().unwrap().as_pathname(), Some(theirs.as_path()));
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

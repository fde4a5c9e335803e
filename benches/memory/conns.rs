//! Bytes per idle TCP connection, server side: `CONNS` connections to a server on 127.0.0.1,
//! each with its handler started and parked in its first read, for asyncio, tokio
//! current-thread and smol.
//!
//! Each child process binds its server, notes its RSS, then opens `CONNS` client connections
//! from a helper thread (blocking std sockets kept in a `Vec`, so client and server share one
//! process and its fd limit). When every handler has started and the helper has finished, it
//! notes the RSS again. That growth includes the runtime's state per connection (I/O
//! registration, task, handler future and whatever the handler allocated before its first
//! read) plus the client side: its `Vec` of sockets and the helper thread's stack. A baseline
//! child with no runtime does the same against a std listener and keeps the accepted sockets
//! in a `Vec`. Its growth is subtracted, so the result is what a server costs beyond holding
//! the accepted socket's fd. Kernel memory (socket structs, socket buffers) is not in RSS and
//! is not counted; it is the same for every server.
//!
//! The handlers are echo handlers as a server would write them, so what they allocate before
//! their first read is what such a server would hold per idle connection:
//! - asyncio: `start_server` + `reader.read(65536)` + `write` + `drain`, as the echo bench;
//! - tokio and smol: a task that reads into a `vec![0u8; 65536]` and `write_all`s it back.
//!
//! A second set of runs parks each handler before it reads anything (it holds its stream and
//! awaits a future that never completes). That isolates the runtime's own state per
//! connection from the read buffer.
//!
//! RSS counts touched pages only, so the buffers count as far as they were written.
//! asyncio's `StreamReader` grows its buffer to 64 KiB with zeros before its first socket
//! read, which writes every page. tokio's and smol's `vec![0; 65536]` is a calloc. glibc's
//! calloc skips the zeroing only for the part of a chunk that is fresh from extending the
//! heap (or for chunks at or above the mmap threshold, 128 KiB by default), so how much of
//! those buffers is resident depends on the allocator's state.

use std::cell::Cell;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::rc::Rc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::rss_bytes;

const CONNS: usize = 5_000;
const READ: usize = 64 * 1024;
/// The clients connect faster than the server accepts; with a short queue the kernel drops
/// SYNs and each retry costs a second.
const BACKLOG: i32 = 4096;
/// How often the server checks whether every handler is parked.
const CHECK: Duration = Duration::from_millis(1);

/// Two fds per connection in one process, the client's and the accepted one.
fn raise_fd_limit() {
    let want = (2 * CONNS + 64) as libc::rlim_t;
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid rlimit for getrlimit to fill.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    if lim.rlim_cur < want {
        assert!(
            lim.rlim_max >= want,
            "RLIMIT_NOFILE hard limit {} < {want}",
            lim.rlim_max
        );
        lim.rlim_cur = want;
        // SAFETY: `lim` is a valid rlimit, read above, with the soft limit raised.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);
    }
}

fn open_clients(addr: SocketAddr) -> JoinHandle<Vec<TcpStream>> {
    std::thread::spawn(move || {
        (0..CONNS)
            .map(|_| TcpStream::connect(addr).expect("connect"))
            .collect()
    })
}

fn std_listener() -> TcpListener {
    use socket2::{Domain, Socket, Type};
    let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    s.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .unwrap();
    s.listen(BACKLOG).unwrap();
    s.into()
}

/// Counts handlers that have reached the point where they park.
#[derive(Clone, Default)]
struct Parked(Rc<Cell<usize>>);

impl Parked {
    fn arrive(&self) {
        self.0.set(self.0.get() + 1);
    }

    fn all(&self, clients: &JoinHandle<Vec<TcpStream>>) -> bool {
        self.0.get() == CONNS && clients.is_finished()
    }
}

/// The baseline: no runtime, accepted sockets kept in a `Vec`.
pub fn bare() -> usize {
    raise_fd_limit();
    let listener = std_listener();
    let before = rss_bytes();
    let clients = open_clients(listener.local_addr().unwrap());
    let accepted: Vec<TcpStream> = (0..CONNS).map(|_| listener.accept().unwrap().0).collect();
    let clients = clients.join().unwrap();
    let after = rss_bytes();
    drop((accepted, clients));
    after - before
}

pub fn ours(read: bool) -> usize {
    raise_fd_limit();
    asyncio::run(async move {
        let parked = Parked::default();
        let p = parked.clone();
        let server = asyncio::start_server(
            move |mut r: asyncio::StreamReader, w: asyncio::StreamWriter| {
                let p = p.clone();
                async move {
                    p.arrive();
                    if !read {
                        let _keep = (r, w);
                        return std::future::pending().await;
                    }
                    while let Ok(data) = r.read(READ).await {
                        if data.is_empty() {
                            break;
                        }
                        w.write(&data);
                        if w.drain().await.is_err() {
                            break;
                        }
                    }
                }
            },
            "127.0.0.1",
            0,
        )
        .backlog(BACKLOG)
        .await
        .expect("start_server");
        let port = server.sockets()[0].as_inet().unwrap().port();
        let before = rss_bytes();
        let clients = open_clients(SocketAddr::from(([127, 0, 0, 1], port)));
        while !parked.all(&clients) {
            asyncio::sleep(CHECK).await;
        }
        let after = rss_bytes();
        drop(clients.join());
        after - before
    })
}

async fn tokio_conn(mut s: tokio::net::TcpStream, parked: Parked, read: bool) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    if !read {
        parked.arrive();
        return std::future::pending().await;
    }
    let mut buf = vec![0u8; READ];
    parked.arrive();
    while let Ok(n @ 1..) = s.read(&mut buf).await {
        if s.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
}

pub fn tokio_ct(read: bool) -> usize {
    raise_fd_limit();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tokio::task::LocalSet::new().block_on(&rt, async {
        let listener = tokio::net::TcpListener::from_std({
            let l = std_listener();
            l.set_nonblocking(true).unwrap();
            l
        })
        .unwrap();
        let parked = Parked::default();
        let before = rss_bytes();
        let clients = open_clients(listener.local_addr().unwrap());
        for _ in 0..CONNS {
            let (s, _) = listener.accept().await.unwrap();
            tokio::task::spawn_local(tokio_conn(s, parked.clone(), read));
        }
        while !parked.all(&clients) {
            tokio::time::sleep(CHECK).await;
        }
        let after = rss_bytes();
        drop(clients.join());
        after - before
    })
}

async fn smol_conn(mut s: smol::net::TcpStream, parked: Parked, read: bool) {
    use smol::io::{AsyncReadExt, AsyncWriteExt};
    if !read {
        parked.arrive();
        return std::future::pending().await;
    }
    let mut buf = vec![0u8; READ];
    parked.arrive();
    while let Ok(n @ 1..) = s.read(&mut buf).await {
        if s.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
}

pub fn smol(read: bool) -> usize {
    raise_fd_limit();
    let ex = smol::LocalExecutor::new();
    smol::block_on(ex.run(async {
        let listener = smol::net::TcpListener::from(smol::Async::new(std_listener()).unwrap());
        let parked = Parked::default();
        let before = rss_bytes();
        let clients = open_clients(listener.local_addr().unwrap());
        for _ in 0..CONNS {
            let (s, _) = listener.accept().await.unwrap();
            ex.spawn(smol_conn(s, parked.clone(), read)).detach();
        }
        while !parked.all(&clients) {
            smol::Timer::after(CHECK).await;
        }
        let after = rss_bytes();
        drop(clients.join());
        after - before
    }))
}

/// Median of three runs: the growth moves by whole pages and heap extensions.
fn median3(measure: fn(&str) -> usize, kind: &str) -> f64 {
    let mut runs = [measure(kind), measure(kind), measure(kind)];
    runs.sort();
    runs[1] as f64
}

/// Prints the table; `measure` runs one kind in a child process and returns its RSS growth.
pub fn table(measure: fn(&str) -> usize) {
    let n = CONNS as f64;
    let base = median3(measure, "conn-bare");
    println!("| server, {CONNS} idle connections, RSS bytes per connection | handler parked in its first read | handler parked before reading |");
    println!("|---|---|---|");
    println!(
        "| bare std sockets (the baseline, subtracted below) | {:.0} | |",
        base / n
    );
    for (name, kind) in [
        ("asyncio", "conn-asyncio"),
        ("tokio ct", "conn-tokio"),
        ("smol", "conn-smol"),
    ] {
        let read = median3(measure, kind) - base;
        let idle = median3(measure, &format!("{kind}-noread")) - base;
        println!("| {name} | {:.0} | {:.0} |", read / n, idle / n);
    }
}

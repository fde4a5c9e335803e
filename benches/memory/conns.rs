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

/// How the clients and handlers of one run behave.
#[derive(Clone, Copy)]
pub struct Idle {
    /// The handler reads (else it parks before reading).
    pub read: bool,
    /// Each client sends one byte and reads the echo before idling.
    pub ping: bool,
}

const CONNS: usize = 5_000;
const READ: usize = 64 * 1024;
/// The clients connect faster than the server accepts; with a short queue the kernel drops
/// SYNs and each retry costs a second.
const BACKLOG: i32 = 4096;
/// How often the server checks whether every handler is parked.
const CHECK: Duration = Duration::from_millis(1);
/// How long the server waits, once every client has its echo, for every handler to be back
/// in its read.
const SETTLE: Duration = Duration::from_millis(50);

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

/// `CONNS` clients from a helper thread; with `ping`, each sends one byte and reads it back
/// (so the server's handler has read once, and waits to read again).
fn open_clients(addr: SocketAddr, ping: bool) -> JoinHandle<Vec<TcpStream>> {
    use std::io::{Read, Write};
    std::thread::spawn(move || {
        (0..CONNS)
            .map(|_| {
                let mut c = TcpStream::connect(addr).expect("connect");
                if ping {
                    c.write_all(b"x").expect("send");
                    c.read_exact(&mut [0u8]).expect("echo");
                }
                c
            })
            .collect()
    })
}

/// What a server grew by: RSS and live heap bytes (see `heap.rs`).
pub struct Growth {
    pub rss: usize,
    pub heap: usize,
}

struct Before(usize, usize);

impl Before {
    fn now() -> Before {
        Before(rss_bytes(), crate::heap::live_bytes())
    }

    fn growth(self) -> Growth {
        Growth {
            rss: rss_bytes().saturating_sub(self.0),
            heap: crate::heap::live_bytes().saturating_sub(self.1),
        }
    }
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
pub fn bare() -> Growth {
    raise_fd_limit();
    let listener = std_listener();
    let before = Before::now();
    let clients = open_clients(listener.local_addr().unwrap(), false);
    let accepted: Vec<TcpStream> = (0..CONNS).map(|_| listener.accept().unwrap().0).collect();
    let clients = clients.join().unwrap();
    let growth = before.growth();
    drop((accepted, clients));
    growth
}

pub fn ours(idle: Idle) -> Growth {
    let Idle { read, ping } = idle;
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
        let before = Before::now();
        let clients = open_clients(SocketAddr::from(([127, 0, 0, 1], port)), ping);
        while !parked.all(&clients) {
            asyncio::sleep(CHECK).await;
        }
        // Every handler waits to read again.
        asyncio::sleep(SETTLE).await;
        let growth = before.growth();
        drop(clients.join());
        growth
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

pub fn tokio_ct(idle: Idle) -> Growth {
    let Idle { read, ping } = idle;
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
        let before = Before::now();
        let clients = open_clients(listener.local_addr().unwrap(), ping);
        for _ in 0..CONNS {
            let (s, _) = listener.accept().await.unwrap();
            tokio::task::spawn_local(tokio_conn(s, parked.clone(), read));
        }
        while !parked.all(&clients) {
            tokio::time::sleep(CHECK).await;
        }
        tokio::time::sleep(SETTLE).await;
        let growth = before.growth();
        drop(clients.join());
        growth
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

pub fn smol(idle: Idle) -> Growth {
    let Idle { read, ping } = idle;
    raise_fd_limit();
    let ex = smol::LocalExecutor::new();
    smol::block_on(ex.run(async {
        let listener = smol::net::TcpListener::from(smol::Async::new(std_listener()).unwrap());
        let parked = Parked::default();
        let before = Before::now();
        let clients = open_clients(listener.local_addr().unwrap(), ping);
        for _ in 0..CONNS {
            let (s, _) = listener.accept().await.unwrap();
            ex.spawn(smol_conn(s, parked.clone(), read)).detach();
        }
        while !parked.all(&clients) {
            smol::Timer::after(CHECK).await;
        }
        smol::Timer::after(SETTLE).await;
        let growth = before.growth();
        drop(clients.join());
        growth
    }))
}

/// Medians of three runs, of RSS and of heap growth: the growth moves by whole pages and
/// heap extensions.
fn median3(measure: fn(&str) -> Growth, kind: &str) -> (f64, f64) {
    let runs = [measure(kind), measure(kind), measure(kind)];
    let median = |pick: fn(&Growth) -> usize| {
        let mut v = runs.iter().map(pick).collect::<Vec<_>>();
        v.sort();
        v[1] as f64
    };
    (median(|g| g.rss), median(|g| g.heap))
}

/// The runtimes' rows: name and child kind.
const SERVERS: [(&str, &str); 3] = [
    ("asyncio", "conn-asyncio"),
    ("tokio ct", "conn-tokio"),
    ("smol", "conn-smol"),
];

/// Prints the tables; `measure` runs one kind in a child process and returns its growth.
pub fn table(measure: fn(&str) -> Growth) {
    let n = CONNS as f64;
    let (base, bare_heap) = median3(measure, "conn-bare");
    println!(
        "| server, {CONNS} idle connections, RSS bytes per connection | handler parked in its first read | handler parked before reading |"
    );
    println!("|---|---|---|");
    println!(
        "| bare std sockets (the baseline, subtracted below) | {:.0} | |",
        base / n
    );
    for (name, kind) in SERVERS {
        let read = median3(measure, kind).0 - base;
        let idle = median3(measure, &format!("{kind}-noread")).0 - base;
        println!("| {name} | {:.0} | {:.0} |", read / n, idle / n);
    }
    println!();
    println!(
        "| server, {CONNS} idle connections that each sent one byte and got it back | heap bytes per connection | RSS bytes per connection |"
    );
    println!("|---|---|---|");
    for (name, kind) in SERVERS {
        let (rss, heap) = median3(measure, &format!("{kind}-ping"));
        let (rss, heap) = (rss - base, heap - bare_heap);
        println!("| {name} | {:.0} | {:.0} |", heap / n, rss / n);
    }
    python_rows();
}

/// CPython's asyncio, and uvloop if installed, in the same scenario (`idle_conns.py`); the
/// heap column is what `tracemalloc` traces.
fn python_rows() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/memory/idle_conns.py");
    let venv = concat!(env!("CARGO_MANIFEST_DIR"), "/target/pyvenv/bin/python");
    for (name, python, lp) in [
        ("CPython 3 asyncio", "python3", "asyncio"),
        ("uvloop", venv, "uvloop"),
    ] {
        let out = std::process::Command::new(python)
            .args([script, lp, &CONNS.to_string()])
            .output();
        match out {
            Ok(o) if o.status.success() => {
                let text = String::from_utf8_lossy(&o.stdout);
                let mut v = text
                    .split_whitespace()
                    .map(|x| x.parse::<f64>().unwrap_or(0.0));
                let (heap, rss) = (v.next().unwrap_or(0.0), v.next().unwrap_or(0.0));
                println!("| {name} | {heap:.0} (tracemalloc) | {rss:.0} |");
            }
            _ => println!("| {name} | not run ({python} {lp} unavailable) | |"),
        }
    }
}

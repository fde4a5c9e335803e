//! The echo servers under test, each run as `echo server KIND` in a process of its own. Each
//! prints its port on stdout, then echoes every read back until the peer closes. All of them
//! read up to 64 KiB at a time, as the Python servers do.

use std::io::Write;
use std::sync::mpsc;

const READ: usize = 64 * 1024;

fn announce(port: u16) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{port}").unwrap();
    out.flush().unwrap();
}

/// Our streams: `start_server` + `read(n)` + `write` + `drain`, the Python echo pattern.
async fn echo_read(mut r: asyncio::StreamReader, w: asyncio::StreamWriter) {
    while let Ok(data) = r.read(READ).await {
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

/// The same with `read_into` one buffer the connection keeps: no allocation per read, as
/// the tokio, smol and epoll servers read.
async fn echo_read_into(mut r: asyncio::StreamReader, w: asyncio::StreamWriter) {
    let mut buf = vec![0u8; READ];
    while let Ok(n @ 1..) = r.read_into(&mut buf).await {
        w.write(&buf[..n]);
        if w.drain().await.is_err() {
            break;
        }
    }
    w.close();
}

async fn ours_serve<H, F>(handler: H, port: u16, reuse_port: bool, bound: mpsc::Sender<u16>)
where
    H: Fn(asyncio::StreamReader, asyncio::StreamWriter) -> F + 'static,
    F: std::future::Future<Output = ()> + 'static,
{
    let server = asyncio::start_server(handler, "127.0.0.1", port)
        .backlog(1024)
        .reuse_port(reuse_port)
        .await
        .expect("start_server");
    bound
        .send(server.sockets()[0].as_inet().unwrap().port())
        .unwrap();
    server.serve_forever().await.unwrap();
}

/// One loop: `asyncio::run`, its connections read with `read_into` or with `read(n)`.
pub fn ours(into: bool) {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        if into {
            asyncio::run(ours_serve(echo_read_into, 0, false, tx))
        } else {
            asyncio::run(ours_serve(echo_read, 0, false, tx))
        }
    });
    announce(rx.recv().unwrap());
    std::thread::park();
}

/// asyncio's `EchoServerProtocol` pattern on our transports: `data_received` writes back.
struct EchoProtocol {
    transport: Option<asyncio::Transport>,
}

impl asyncio::Protocol for EchoProtocol {
    fn connection_made(&mut self, t: asyncio::Transport) {
        self.transport = Some(t);
    }
    fn data_received(&mut self, data: &[u8]) {
        if let Some(t) = &self.transport {
            t.write(data);
        }
    }
}

/// One loop: `create_server` with [`EchoProtocol`].
pub fn protocol() {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        asyncio::run(async move {
            let lp = asyncio::get_running_loop();
            let server = lp
                .create_server(|| EchoProtocol { transport: None }, "127.0.0.1", 0)
                .backlog(1024)
                .await
                .expect("create_server");
            tx.send(server.sockets()[0].as_inet().unwrap().port())
                .unwrap();
            server.serve_forever().await.unwrap();
        })
    });
    announce(rx.recv().unwrap());
    std::thread::park();
}

/// `loops` loops of one `Runtime`, one server per loop sharing the port by `SO_REUSEPORT`.
pub fn ours_multi(loops: usize) {
    let runtime = asyncio::Runtime::builder().loops(loops).build().unwrap();
    let mut port = 0;
    let mut serving = Vec::new(); // kept, so nothing is dropped while the loops serve
    for lp in runtime.loops() {
        let (tx, rx) = mpsc::channel();
        serving.push(runtime.spawn_on(lp, move || ours_serve(echo_read, port, true, tx)));
        port = rx.recv().unwrap();
    }
    announce(port);
    loop {
        std::thread::park();
    }
}

async fn tokio_conn(mut s: tokio::net::TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    s.set_nodelay(true).unwrap();
    let mut buf = vec![0u8; READ];
    while let Ok(n @ 1..) = s.read(&mut buf).await {
        if s.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
}

/// tokio's current-thread runtime, connections on a `LocalSet`.
pub fn tokio_ct() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        announce(listener.local_addr().unwrap().port());
        loop {
            let (s, _) = listener.accept().await.unwrap();
            tokio::task::spawn_local(tokio_conn(s));
        }
    });
}

/// tokio's multi-thread runtime with `workers` workers.
pub fn tokio_mt(workers: usize) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_io()
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        announce(listener.local_addr().unwrap().port());
        loop {
            let (s, _) = listener.accept().await.unwrap();
            tokio::spawn(tokio_conn(s));
        }
    });
}

async fn smol_conn(mut s: smol::net::TcpStream) {
    use smol::io::{AsyncReadExt, AsyncWriteExt};
    s.set_nodelay(true).unwrap();
    let mut buf = vec![0u8; READ];
    while let Ok(n @ 1..) = s.read(&mut buf).await {
        if s.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
}

/// smol on one thread: a `LocalExecutor` run by `smol::block_on`, which polls the reactor
/// itself while it waits (async-io's fallback "async-io" thread still exists; its CPU counts).
pub fn smol() {
    let ex = smol::LocalExecutor::new();
    smol::block_on(ex.run(async {
        let listener = smol::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        announce(listener.local_addr().unwrap().port());
        loop {
            let (s, _) = listener.accept().await.unwrap();
            ex.spawn(smol_conn(s)).detach();
        }
    }));
}

/// `server KIND`
pub fn main(kind: &str) {
    use crate::epoll::{self, Variant};
    match kind {
        "asyncio" => ours(false),
        "asyncio-into" => ours(true),
        "protocol" => protocol(),
        "asyncio2" => ours_multi(2),
        "tokio-ct" => tokio_ct(),
        "tokio-mt2" => tokio_mt(2),
        "smol" => smol(),
        "epoll" => epoll::serve(announce, Variant::default()),
        "epoll-perconn" => epoll::serve(
            announce,
            Variant {
                per_conn: true,
                ..Variant::default()
            },
        ),
        "epoll-et" => epoll::serve(
            announce,
            Variant {
                edge: true,
                ..Variant::default()
            },
        ),
        "epoll-cold" => epoll::serve(
            announce,
            Variant {
                cold_lines: 15,
                ..Variant::default()
            },
        ),
        other => panic!("unknown server {other}"),
    }
}

//! 64-byte ping-pong over 100 connections: our streams echo server against the same server on
//! tokio's current-thread runtime, driven by one load client, in one run. Not a test.
//!
//! `cargo bench --bench streams_pingpong` (`-- SECONDS CONNECTIONS` to change the defaults).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

const MSG: usize = 64;

/// Our server: read 64 bytes, write them back, on one loop thread.
fn ours(ready: mpsc::Sender<SocketAddr>) {
    asyncio::run(async move {
        let server = asyncio::start_server(
            |mut r: asyncio::StreamReader, w: asyncio::StreamWriter| async move {
                while let Ok(data) = r.readexactly(MSG).await {
                    w.write(&data);
                    if w.drain().await.is_err() {
                        break;
                    }
                }
            },
            "127.0.0.1",
            0,
        )
        .backlog(1024)
        .await
        .unwrap();
        ready.send(server.sockets()[0].as_inet().unwrap()).unwrap();
        server.serve_forever().await.unwrap();
    });
}

/// The same server on tokio's current-thread runtime.
fn tokio_server(ready: mpsc::Sender<SocketAddr>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        ready.send(listener.local_addr().unwrap()).unwrap();
        loop {
            let (mut s, _) = listener.accept().await.unwrap();
            s.set_nodelay(true).unwrap();
            tokio::task::spawn_local(async move {
                let mut buf = [0u8; MSG];
                while s.read_exact(&mut buf).await.is_ok() {
                    if s.write_all(&buf).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
}

/// Round trips per second over `conns` connections for `secs` seconds (one thread each).
fn load(addr: SocketAddr, conns: usize, secs: f64) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..conns)
        .map(|_| {
            let (stop, count) = (stop.clone(), count.clone());
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(addr).unwrap();
                s.set_nodelay(true).unwrap();
                let msg = [7u8; MSG];
                let mut buf = [0u8; MSG];
                while !stop.load(Ordering::Relaxed) {
                    s.write_all(&msg).unwrap();
                    s.read_exact(&mut buf).unwrap();
                    count.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200)); // warm up
    let start_count = count.load(Ordering::Relaxed);
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs_f64(secs));
    let done = count.load(Ordering::Relaxed) - start_count;
    let rate = done as f64 / start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    rate
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let secs: f64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(3.0);
    let conns: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(100);

    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || ours(tx));
    let ours_addr = rx.recv().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || tokio_server(tx));
    let tokio_addr = rx.recv().unwrap();

    // Alternate, so drift in machine load hits both alike.
    let (mut a, mut b) = (0.0, 0.0);
    for _ in 0..2 {
        a += load(ours_addr, conns, secs / 2.0);
        b += load(tokio_addr, conns, secs / 2.0);
    }
    let (a, b) = (a / 2.0, b / 2.0);
    println!("64 B ping-pong, {conns} connections, {secs} s each:");
    println!("  asyncio streams: {a:>10.0} round trips/s");
    println!("  tokio (current-thread): {b:>10.0} round trips/s");
    println!("  ratio asyncio/tokio: {:.2}x", a / b);
    std::process::exit(0);
}

//! The load client: plain blocking std sockets, one thread per connection, none of the
//! runtimes under test. It runs in its own process (pinned by the parent with `taskset`) and
//! talks to the parent on stdout: `start` when the measured window opens, then
//! `done OPS SECONDS` when it closes, so the parent can sample the server's CPU time at both.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").unwrap();
    out.flush().unwrap();
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_nodelay(true).unwrap();
    s
}

/// Ping-pong: every connection writes `size` bytes and reads them back, in a loop.
fn pingpong(addr: SocketAddr, conns: usize, size: usize, secs: f64) {
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..conns)
        .map(|_| {
            let (stop, count) = (stop.clone(), count.clone());
            let mut s = connect(addr);
            std::thread::spawn(move || {
                let msg = vec![7u8; size];
                let mut buf = vec![0u8; size];
                while !stop.load(Ordering::Relaxed) {
                    s.write_all(&msg).unwrap();
                    s.read_exact(&mut buf).unwrap();
                    count.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200)); // warm up
    say("start");
    let (c0, t0) = (count.load(Ordering::Relaxed), Instant::now());
    std::thread::sleep(Duration::from_secs_f64(secs));
    let done = count.load(Ordering::Relaxed) - c0;
    say(&format!("done {done} {}", t0.elapsed().as_secs_f64()));
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
}

/// Churn: `total` connections, `par` at a time; each sends one byte, reads its echo, closes.
fn churn(addr: SocketAddr, total: usize, par: usize) {
    say("start");
    let t0 = Instant::now();
    let threads: Vec<_> = (0..par)
        .map(|_| {
            std::thread::spawn(move || {
                for _ in 0..total / par {
                    let mut s = connect(addr);
                    s.write_all(b"x").unwrap();
                    let mut b = [0u8; 1];
                    s.read_exact(&mut b).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let ops = total / par * par;
    say(&format!("done {ops} {}", t0.elapsed().as_secs_f64()));
}

/// Bulk: `bytes` through one connection in 64 KiB writes, echoed back and read on a second
/// thread. One op is one 64 KiB chunk.
fn bulk(addr: SocketAddr, bytes: u64) {
    const CHUNK: usize = 64 * 1024;
    let mut s = connect(addr);
    let mut r = s.try_clone().unwrap();
    say("start");
    let t0 = Instant::now();
    let reader = std::thread::spawn(move || {
        let mut buf = vec![0u8; CHUNK];
        let mut got = 0u64;
        while got < bytes {
            match r.read(&mut buf).unwrap() {
                0 => panic!("server closed early at {got} bytes"),
                n => got += n as u64,
            }
        }
    });
    let chunk = vec![7u8; CHUNK];
    for _ in 0..bytes / CHUNK as u64 {
        s.write_all(&chunk).unwrap();
    }
    reader.join().unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    say(&format!(
        "done {} {}",
        bytes / CHUNK as u64,
        t0.elapsed().as_secs_f64()
    ));
}

/// `client pingpong ADDR CONNS SIZE SECS` | `client churn ADDR TOTAL PAR` | `client bulk ADDR BYTES`
pub fn main(args: &[String]) {
    let addr: SocketAddr = args[1].parse().expect("address");
    let n = |i: usize| -> u64 { args[i].parse().expect("number") };
    match args[0].as_str() {
        "pingpong" => pingpong(addr, n(2) as usize, n(3) as usize, args[4].parse().unwrap()),
        "churn" => churn(addr, n(2) as usize, n(3) as usize),
        "bulk" => bulk(addr, n(2)),
        other => panic!("unknown client mode {other}"),
    }
}

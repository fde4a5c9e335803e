//! UDP echo over 127.0.0.1: our `create_datagram_endpoint` echo protocol against a raw
//! epoll loop (non-blocking std socket, level-triggered `epoll_wait`, `recvfrom`/`sendto`).
//! Each server runs on a thread of its own; one blocking client thread keeps `inflight`
//! 64-byte datagrams in flight for `secs` seconds. Each row reports the client's rate and the
//! server thread's CPU time per datagram echoed. A smaller, single-process cousin of
//! `benches/echo` (no pinning; run it on a quiet machine).
//!
//! `cargo bench --bench udp_echo [-- secs=2 inflight=1 reps=3 only=asyncio|epoll]`
//!
//! For instructions per datagram, run one server under callgrind with a thread per file
//! (`valgrind --tool=callgrind --separate-threads=yes target/release/deps/udp_echo-* secs=5
//! reps=1 only=asyncio`): the server thread's `Ir` divided by the datagram count printed.

use asyncio::{DatagramProtocol, DatagramTransport};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

/// CPU time of the calling thread, in nanoseconds.
fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec for the call to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

struct Echo(Option<DatagramTransport>);

impl DatagramProtocol for Echo {
    fn connection_made(&mut self, t: DatagramTransport) {
        self.0 = Some(t);
    }
    fn datagram_received(&mut self, data: &[u8], addr: SocketAddr) {
        self.0.as_ref().unwrap().sendto(data, Some(addr));
    }
}

/// Our server: reports its address, echoes until `stop`, returns its CPU time.
fn ours(addr: mpsc::Sender<SocketAddr>, stop: Arc<AtomicBool>) -> u64 {
    asyncio::run(async move {
        let lp = asyncio::get_running_loop();
        let (t, _p) = lp
            .create_datagram_endpoint(|| Echo(None))
            .local_addr(("127.0.0.1", 0))
            .await
            .unwrap();
        addr.send(t.sockname().unwrap()).unwrap();
        let start = thread_cpu_ns();
        while !stop.load(Ordering::Relaxed) {
            asyncio::sleep(0.01).await;
        }
        t.close();
        thread_cpu_ns() - start
    })
}

/// The reference: a raw epoll loop.
fn epoll(addr: mpsc::Sender<SocketAddr>, stop: Arc<AtomicBool>) -> u64 {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_nonblocking(true).unwrap();
    addr.send(sock.local_addr().unwrap()).unwrap();
    // SAFETY: plain syscall; the fd is checked below.
    let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    assert!(ep >= 0);
    let mut ev = libc::epoll_event {
        events: libc::EPOLLIN as u32,
        u64: 0,
    };
    // SAFETY: `ep` is our epoll fd, the socket's fd is open, `ev` outlives the call.
    let rc = unsafe { libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, sock.as_raw_fd(), &mut ev) };
    assert_eq!(rc, 0);
    let mut events = [libc::epoll_event { events: 0, u64: 0 }; 16];
    let mut buf = vec![0u8; 65536];
    let start = thread_cpu_ns();
    while !stop.load(Ordering::Relaxed) {
        // SAFETY: `events` is writable for its length.
        let n = unsafe { libc::epoll_wait(ep, events.as_mut_ptr(), 16, 10) };
        if n <= 0 {
            continue;
        }
        while let Ok((len, from)) = sock.recv_from(&mut buf) {
            let _ = sock.send_to(&buf[..len], from);
        }
    }
    let cpu = thread_cpu_ns() - start;
    // SAFETY: `ep` is ours and closed once.
    unsafe { libc::close(ep) };
    cpu
}

/// Runs one server against the client: (datagrams per second, server CPU ns per datagram).
fn sample(
    server: fn(mpsc::Sender<SocketAddr>, Arc<AtomicBool>) -> u64,
    secs: f64,
    inflight: usize,
) -> (f64, f64, u64) {
    let (tx, rx) = mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let handle = std::thread::spawn(move || server(tx, s));
    let to = rx.recv().unwrap();
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    client.connect(to).unwrap();
    client
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let msg = [7u8; 64];
    let mut buf = [0u8; 128];
    for _ in 0..inflight {
        client.send(&msg).unwrap();
    }
    let started = Instant::now();
    let mut done = 0u64;
    while started.elapsed().as_secs_f64() < secs {
        // On a time-out a datagram was lost (the kernel may drop under load): another is
        // put in flight in its place.
        if client.recv(&mut buf).is_ok() {
            done += 1;
        }
        client.send(&msg).unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let cpu = handle.join().unwrap();
    (done as f64 / elapsed, cpu as f64 / done.max(1) as f64, done)
}

fn main() {
    let mut secs = 2.0;
    let mut inflight = 1;
    let mut reps = 3;
    let mut only = String::new();
    for arg in std::env::args().skip(1) {
        if let Some(v) = arg.strip_prefix("secs=") {
            secs = v.parse().unwrap();
        } else if let Some(v) = arg.strip_prefix("inflight=") {
            inflight = v.parse().unwrap();
        } else if let Some(v) = arg.strip_prefix("reps=") {
            reps = v.parse().unwrap();
        } else if let Some(v) = arg.strip_prefix("only=") {
            only = v.to_owned();
        }
    }
    type Server = fn(mpsc::Sender<SocketAddr>, Arc<AtomicBool>) -> u64;
    let servers: [(&str, Server); 2] = [("asyncio endpoint", ours), ("raw epoll", epoll)];
    if !only.is_empty() {
        let (_, server) = servers
            .iter()
            .find(|(name, _)| name.contains(only.as_str()))
            .expect("only=asyncio or only=epoll");
        let (rate, cpu, done) = sample(*server, secs, inflight);
        println!("{only}: {done} datagrams echoed, {rate:.0}/s, server CPU {cpu:.0} ns each");
        return;
    }
    let mut best = [(0.0f64, f64::MAX); 2];
    for _ in 0..reps {
        for (i, (_, server)) in servers.iter().enumerate() {
            let (rate, cpu, _) = sample(*server, secs, inflight);
            best[i].0 = best[i].0.max(rate);
            best[i].1 = best[i].1.min(cpu);
        }
    }
    println!("UDP echo, 64-byte datagrams, {inflight} in flight, best of {reps} x {secs} s");
    println!(
        "{:<18} {:>12} {:>16}",
        "server", "datagrams/s", "server CPU ns/op"
    );
    for (i, (name, _)) in servers.iter().enumerate() {
        println!("{:<18} {:>12.0} {:>16.0}", name, best[i].0, best[i].1);
    }
    println!(
        "ratio (epoll / ours): rate {:.2}, CPU per datagram (ours / epoll) {:.2}",
        best[1].0 / best[0].0,
        best[0].1 / best[1].1
    );
}

//! `sendfile` throughput over 127.0.0.1 TCP: our `StreamWriter::sendfile` (`sendfile(2)`)
//! against our read+write (the file read in 256 KiB chunks, `write` + `drain`), with the
//! same two done by blocking std code as the reference. The file (in the page cache after
//! the first pass) goes to a receiver thread that reads and discards it. Each row reports
//! the rate and the sending thread's CPU time per MiB; the variants alternate, `reps` times.
//!
//! `cargo bench --bench sendfile [-- mib=256 reps=3]`

use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::time::Instant;

const CHUNK: usize = 256 * 1024;

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

/// A connected loopback pair whose far end a thread drains; the thread gives the byte count.
fn pair() -> (TcpStream, std::thread::JoinHandle<u64>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let a = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (mut b, _) = l.accept().unwrap();
    let sink = std::thread::spawn(move || {
        let mut buf = vec![0u8; 1 << 20];
        let mut total = 0;
        loop {
            match b.read(&mut buf) {
                Ok(0) | Err(_) => return total,
                Ok(n) => total += n as u64,
            }
        }
    });
    (a, sink)
}

fn ours_sendfile(sock: TcpStream, file: &File) -> u64 {
    let file = file.try_clone().unwrap();
    asyncio::run(async move {
        let (_r, w) = asyncio::open_socket(asyncio::net::TcpStream::from_std(sock).unwrap());
        let n = w.sendfile(&file, 0, None).await.unwrap();
        w.close();
        w.wait_closed().await.unwrap();
        n
    })
}

fn ours_read_write(sock: TcpStream, file: &File) -> u64 {
    let file = file.try_clone().unwrap();
    asyncio::run(async move {
        let (_r, w) = asyncio::open_socket(asyncio::net::TcpStream::from_std(sock).unwrap());
        let mut buf = vec![0u8; CHUNK];
        let mut pos = 0;
        loop {
            let n = file.read_at(&mut buf, pos).unwrap();
            if n == 0 {
                break;
            }
            w.write(&buf[..n]);
            w.drain().await.unwrap();
            pos += n as u64;
        }
        w.close();
        w.wait_closed().await.unwrap();
        pos
    })
}

fn std_sendfile(sock: TcpStream, file: &File) -> u64 {
    let mut off: libc::off_t = 0;
    loop {
        // SAFETY: both fds are open for the call; `off` is a live off_t the kernel updates.
        let n = unsafe { libc::sendfile(sock.as_raw_fd(), file.as_raw_fd(), &mut off, 1 << 30) };
        assert!(n >= 0, "{}", std::io::Error::last_os_error());
        if n == 0 {
            return off as u64;
        }
    }
}

fn std_read_write(mut sock: TcpStream, file: &File) -> u64 {
    let mut buf = vec![0u8; CHUNK];
    let mut pos = 0;
    loop {
        let n = file.read_at(&mut buf, pos).unwrap();
        if n == 0 {
            return pos;
        }
        sock.write_all(&buf[..n]).unwrap();
        pos += n as u64;
    }
}

fn arg(name: &str, default: usize) -> usize {
    std::env::args()
        .filter_map(|a| a.strip_prefix(&format!("{name}=")).map(str::to_owned))
        .next_back()
        .map_or(default, |v| v.parse().unwrap())
}

fn main() {
    let (mib, reps) = (arg("mib", 256), arg("reps", 3));
    let path = std::env::temp_dir().join(format!("asyncio_bench_sendfile_{}", std::process::id()));
    {
        let mut f = File::create(&path).unwrap();
        let chunk: Vec<u8> = (0..1 << 20).map(|i| (i * 7 + 3) as u8).collect();
        for _ in 0..mib {
            f.write_all(&chunk).unwrap();
        }
    }
    let file = File::open(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    type Variant = (&'static str, fn(TcpStream, &File) -> u64);
    let variants: [Variant; 4] = [
        ("asyncio sendfile", ours_sendfile),
        ("asyncio read+write", ours_read_write),
        ("std sendfile (blocking)", std_sendfile),
        ("std read+write (blocking)", std_read_write),
    ];
    // A first pass puts the file in the page cache.
    let (sock, sink) = pair();
    std_read_write(sock, &file);
    sink.join().unwrap();
    println!("{mib} MiB over 127.0.0.1 TCP, {reps} reps, variants alternating");
    println!("{:<28} {:>10} {:>16}", "variant", "MiB/s", "CPU ms per GiB");
    let mut results = vec![(0f64, 0u64); variants.len()];
    for _ in 0..reps {
        for (i, (_, run)) in variants.iter().enumerate() {
            let (sock, sink) = pair();
            let (start, cpu) = (Instant::now(), thread_cpu_ns());
            let sent = run(sock, &file);
            let cpu = thread_cpu_ns() - cpu;
            let secs = start.elapsed().as_secs_f64();
            assert_eq!(sink.join().unwrap(), sent);
            assert_eq!(sent, (mib << 20) as u64);
            results[i].0 += secs;
            results[i].1 += cpu;
        }
    }
    for ((name, _), (secs, cpu)) in variants.iter().zip(results) {
        let total_mib = (mib * reps) as f64;
        println!(
            "{name:<28} {:>10.0} {:>16.1}",
            total_mib / secs,
            cpu as f64 / 1e6 / (total_mib / 1024.0)
        );
    }
}

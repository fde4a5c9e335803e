//! `sendfile` on transports and stream writers: a 200 MiB file checked on the receiving side,
//! a peer that goes away half way, TLS (the read-and-write fallback), and what the transport
//! does meanwhile (writes refused, a close that waits, reading paused).

mod protocols;

use asyncio::net::TcpStream;
use asyncio::{Event, Transport, get_running_loop, wait_for};
use protocols::{Log, Recorder};
use std::fs::File;
use std::io::{Seek, Write};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::OnceLock;

const MIB: usize = 1 << 20;
const BIG: usize = 200 * MIB;

/// A position-sensitive checksum of whole 8-byte words.
fn checksum(mut h: u64, chunk: &[u8]) -> u64 {
    for w in chunk.chunks_exact(8) {
        let w = u64::from_le_bytes(w.try_into().unwrap());
        h = (h.rotate_left(5) ^ w).wrapping_mul(0x100_0000_01b3);
    }
    h
}

/// A file of `len` pseudo-random bytes (a multiple of 1 MiB) and its checksum.
fn make_file(name: &str, len: usize) -> (PathBuf, u64) {
    let path = std::env::temp_dir().join(format!("asyncio_{name}_{}", std::process::id()));
    let mut f = File::create(&path).unwrap();
    let (mut x, mut h) = (0x9e37_79b9_7f4a_7c15_u64, 0);
    let mut chunk = vec![0u8; MIB];
    for _ in 0..len / MIB {
        for w in chunk.chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            w.copy_from_slice(&x.to_le_bytes());
        }
        h = checksum(h, &chunk);
        f.write_all(&chunk).unwrap();
    }
    (path, h)
}

/// The 200 MiB file, made once for the tests that share it, and removed at once: it lives
/// while this process holds it open, and is opened again through `/proc/self/fd`.
fn big_file() -> (PathBuf, u64) {
    static FILE: OnceLock<(File, u64)> = OnceLock::new();
    let (file, sum) = FILE.get_or_init(|| {
        let (path, sum) = make_file("sendfile_big", BIG);
        let file = File::open(&path).unwrap();
        std::fs::remove_file(path).unwrap();
        (file, sum)
    });
    (format!("/proc/self/fd/{}", file.as_raw_fd()).into(), *sum)
}

/// A connected pair of loopback TCP sockets on the running loop.
fn tcp_pair() -> (TcpStream, TcpStream) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let a = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let b = l.accept().unwrap().0;
    (
        TcpStream::from_std(a).unwrap(),
        TcpStream::from_std(b).unwrap(),
    )
}

/// What `/proc/self/fd/FD` names (`socket:[inode]`), to tell whether that socket is closed.
fn fd_target(fd: i32) -> Option<PathBuf> {
    std::fs::read_link(format!("/proc/self/fd/{fd}")).ok()
}

async fn recorder_on(sock: TcpStream) -> (Transport, Log, Event) {
    let (log, lost) = (Log::default(), Event::new());
    let proto = Recorder::new(&log, &lost);
    let lp = get_running_loop();
    let (t, _p) = lp
        .connect_accepted_socket(move || proto, sock)
        .await
        .unwrap();
    (t, log, lost)
}

#[asyncio::test]
async fn a_200_mib_file_arrives_whole_after_what_was_written_before() {
    let (path, sum) = big_file();
    let (a, b) = tcp_pair();
    let (t, log, lost) = recorder_on(a).await;
    let receiving = asyncio::create_task(async move {
        let (mut r, _w) = asyncio::open_socket(b);
        let head = r.readexactly(8).await.unwrap();
        let mut h = 0;
        for _ in 0..BIG / MIB {
            h = checksum(h, &r.readexactly(MIB).await.unwrap());
        }
        let rest = r.read_to_end().await.unwrap();
        (head, h, rest)
    });
    let mut file = File::open(path).unwrap();
    t.write(b"sendfile");
    let lp = get_running_loop();
    let sent = wait_for(lp.sendfile(&t, &file, 0, None), 120.0)
        .await
        .unwrap();
    assert_eq!(sent.unwrap(), BIG as u64);
    assert_eq!(file.stream_position().unwrap(), BIG as u64);
    assert!(t.is_reading(), "reading resumes after the file");
    t.close();
    let (head, h, rest) = wait_for(receiving, 120.0).await.unwrap().unwrap();
    assert_eq!(head, b"sendfile");
    assert_eq!(h, sum, "the checksum of what arrived");
    assert!(rest.is_empty());
    wait_for(lost.wait(), 10.0).await.unwrap();
    assert_eq!(log.get(), ["made", "lost None"]);
}

#[asyncio::test]
async fn a_peer_gone_half_way_fails_the_sendfile_and_closes_the_socket() {
    let (path, _) = big_file();
    let (a, b) = tcp_pair();
    let fd = a.as_raw_fd();
    let before = fd_target(fd).expect("the socket's fd");
    let (t, log, lost) = recorder_on(a).await;
    let receiving = asyncio::create_task(async move {
        let (mut r, w) = asyncio::open_socket(b);
        for _ in 0..BIG / MIB / 2 {
            r.readexactly(MIB).await.unwrap();
        }
        w.abort(); // goes away with a full receive buffer: the sender gets a reset
    });
    let file = File::open(path).unwrap();
    let sent = wait_for(t.sendfile(&file, 0, None), 120.0).await.unwrap();
    let err = sent.expect_err("the peer went away");
    assert!(
        matches!(
            err.kind(),
            std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
        ),
        "{err:?}"
    );
    wait_for(receiving, 10.0).await.unwrap().unwrap();
    wait_for(lost.wait(), 10.0).await.unwrap();
    assert!(t.is_closing());
    let log = log.get();
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(log[1].starts_with("lost Some("), "{log:?}");
    assert_ne!(fd_target(fd), Some(before), "the socket is closed");
}

#[asyncio::test]
async fn writes_are_refused_and_a_close_waits_while_the_file_goes() {
    let (path, sum) = make_file("sendfile_close", 8 * MIB);
    let (a, b) = tcp_pair();
    let (t, log, lost) = recorder_on(a).await;
    let file = File::open(&path).unwrap();
    let sending = {
        let t = t.clone();
        asyncio::create_task(async move { t.sendfile(&file, 0, None).await })
    };
    // The socket's buffer fills long before 8 MiB: the sendfile waits for the reader.
    asyncio::sleep(0.0).await;
    asyncio::sleep(0.0).await;
    assert!(!sending.done());
    assert!(!t.is_reading(), "reading pauses while the file goes");
    t.write(b"refused");
    t.close();
    let (mut r, _w) = asyncio::open_socket(b);
    let got = wait_for(r.read_to_end(), 60.0).await.unwrap().unwrap();
    assert_eq!(got.len(), 8 * MIB);
    assert_eq!(checksum(0, &got), sum);
    assert_eq!(sending.await.unwrap().unwrap(), 8 * MIB as u64);
    wait_for(lost.wait(), 10.0).await.unwrap();
    assert_eq!(log.get(), ["made", "lost None"]);
    std::fs::remove_file(path).unwrap();
}

#[asyncio::test]
async fn bad_arguments_and_files_leave_the_connection_usable() {
    let (a, b) = tcp_pair();
    let (t, _log, _lost) = recorder_on(a).await;
    let path = std::env::temp_dir().join(format!("asyncio_sendfile_wo_{}", std::process::id()));
    let write_only = File::create(&path).unwrap();
    let err = t.sendfile(&write_only, 0, Some(0)).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    let err = t.sendfile(&write_only, 0, None).await.unwrap_err();
    assert!(!t.is_closing(), "{err:?} before anything was sent");
    // Past the end of a file: nothing to send.
    let empty = File::open(&path).unwrap();
    assert_eq!(t.sendfile(&empty, 10, None).await.unwrap(), 0);
    t.write(b"still here");
    t.close();
    let err = t.sendfile(&empty, 0, None).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::NotConnected);
    let (mut r, _w) = asyncio::open_socket(b);
    assert_eq!(r.read_to_end().await.unwrap(), b"still here");
    std::fs::remove_file(path).unwrap();
}

#[cfg(feature = "tls")]
mod tls_certs;

#[cfg(feature = "tls")]
#[asyncio::test]
async fn over_tls_the_file_is_read_and_written_without_telling_the_protocol() {
    use std::cell::Cell;
    use std::rc::Rc;
    let (path, sum) = make_file("sendfile_tls", 4 * MIB);
    let c = tls_certs::certs();
    let got = Rc::new(Cell::new(None));
    let server = {
        let got = got.clone();
        asyncio::start_server(
            move |mut r: asyncio::StreamReader, w: asyncio::StreamWriter| {
                let got = got.clone();
                async move {
                    // What the server sends (its TLS session tickets first) is read before
                    // the file: closing on unread bytes would reset the connection.
                    w.write(b"ready");
                    let data = r.read_to_end().await.unwrap();
                    got.set(Some((data.len(), checksum(0, &data))));
                }
            },
            "127.0.0.1",
            0,
        )
        .ssl(c.server)
        .await
        .unwrap()
    };
    let port = server.sockets()[0].as_inet().unwrap().port();
    let (log, lost) = (Log::default(), Event::new());
    let proto = Recorder::new(&log, &lost);
    let lp = get_running_loop();
    let (t, p) = lp
        .create_connection(move || proto, "127.0.0.1", port)
        .ssl(c.client)
        .server_hostname("localhost")
        .await
        .unwrap();
    while p.borrow().got.is_empty() {
        wait_for(asyncio::sleep(0.01), 10.0).await.unwrap();
    }
    let file = File::open(&path).unwrap();
    let sent = wait_for(t.sendfile(&file, 0, None), 120.0).await.unwrap();
    assert_eq!(sent.unwrap(), 4 * MIB as u64);
    t.close();
    wait_for(lost.wait(), 60.0).await.unwrap();
    let arrived = async {
        while got.get().is_none() {
            asyncio::sleep(0.01).await;
        }
    };
    wait_for(arrived, 60.0).await.unwrap();
    assert_eq!(got.get(), Some((4 * MIB, sum)));
    let log = log.get();
    assert_eq!(
        log,
        ["made", "data \"ready\"", "lost None"],
        "no pause_writing for the file"
    );
    server.close();
    std::fs::remove_file(path).unwrap();
}

#[asyncio::test]
async fn a_stream_writer_sends_part_of_a_file() {
    let (path, _) = make_file("sendfile_writer", MIB);
    let whole = std::fs::read(&path).unwrap();
    let (a, b) = tcp_pair();
    let (_r, w) = asyncio::open_socket(a);
    let mut file = File::open(&path).unwrap();
    w.write(b"<");
    assert_eq!(w.sendfile(&file, 1000, Some(5000)).await.unwrap(), 5000);
    assert_eq!(file.stream_position().unwrap(), 6000);
    w.write(b">");
    w.close();
    let (mut r, _w) = asyncio::open_socket(b);
    let got = r.read_to_end().await.unwrap();
    assert_eq!(got[0], b'<');
    assert_eq!(&got[1..5001], &whole[1000..6000]);
    assert_eq!(got[5001..], *b">");
    std::fs::remove_file(path).unwrap();
}

//! `loop.sock_*` against real peers on loopback.

use asyncio::{get_running_loop, sleep, wait_for};
use socket2::{Domain, Socket, Type};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::Duration;

/// FNV-1a, to compare what was sent with what arrived.
fn checksum(data: &[u8], mut h: u64) -> u64 {
    for &b in data {
        h = (h ^ b as u64).wrapping_mul(0x100_0000_01b3);
    }
    h
}
const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 1000) as u8).collect()
}

/// A connected TCP pair: (ours, non-blocking; the peer's, blocking).
fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let ours = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (peer, _) = listener.accept().unwrap();
    ours.set_nonblocking(true).unwrap();
    (ours, peer)
}

/// A reader on another thread that reads everything slowly, then gives back the length and
/// checksum of what it read; with `stop_after`, it closes once it has read that much.
fn slow_reader(
    mut peer: TcpStream,
    stop_after: Option<usize>,
) -> std::thread::JoinHandle<(usize, u64)> {
    std::thread::spawn(move || {
        let (mut total, mut h) = (0, FNV_START);
        let mut buf = vec![0; 64 * 1024];
        loop {
            let n = match peer.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            total += n;
            h = checksum(&buf[..n], h);
            if stop_after.is_some_and(|s| total >= s) {
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        (total, h)
    })
}

#[asyncio::test]
async fn sock_recv_and_recv_into_wait_for_data() {
    let lp = get_running_loop();
    let (ours, mut peer) = tcp_pair();
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        peer.write_all(b"hello").unwrap();
        std::thread::sleep(Duration::from_millis(20));
        peer.write_all(b"world").unwrap();
        peer
    });
    let first = wait_for(lp.sock_recv(&ours, 100), 10.0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first, b"hello");
    let mut buf = [0; 100];
    let n = wait_for(lp.sock_recv_into(&ours, &mut buf), 10.0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf[..n], b"world");
    drop(writer.join().unwrap());
    let eof = wait_for(lp.sock_recv(&ours, 100), 10.0)
        .await
        .unwrap()
        .unwrap();
    assert!(eof.is_empty(), "end of stream is an empty read");
}

#[asyncio::test]
async fn sock_recvfrom_recvfrom_into_and_sendto_on_udp() {
    let lp = get_running_loop();
    let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());
    let receiver = asyncio::create_task(async move {
        let lp = get_running_loop();
        let (data, from) = lp.sock_recvfrom(&a, 100).await.unwrap();
        let mut buf = [0; 100];
        let (n, from2) = lp.sock_recvfrom_into(&a, &mut buf).await.unwrap();
        (data, from.as_socket(), buf[..n].to_vec(), from2.as_socket())
    });
    sleep(0.01).await;
    assert_eq!(lp.sock_sendto(&b, b"one", a_addr).await.unwrap(), 3);
    assert_eq!(lp.sock_sendto(&b, b"two", a_addr).await.unwrap(), 3);
    let got = wait_for(receiver, 10.0).await.unwrap().unwrap();
    assert_eq!(
        got,
        (b"one".to_vec(), Some(b_addr), b"two".to_vec(), Some(b_addr))
    );
}

#[asyncio::test]
async fn sock_sendall_of_several_megabytes_to_a_slow_reader() {
    let lp = get_running_loop();
    let (ours, peer) = tcp_pair();
    let reader = slow_reader(peer, None);
    let data = payload(8 << 20);
    wait_for(lp.sock_sendall(&ours, &data), 60.0)
        .await
        .unwrap()
        .unwrap();
    drop(ours);
    let (total, h) = reader.join().unwrap();
    assert_eq!(total, data.len());
    assert_eq!(h, checksum(&data, FNV_START));
}

#[asyncio::test]
async fn sock_accept_and_sock_connect() {
    let lp = get_running_loop();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let client = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    client.set_nonblocking(true).unwrap();
    let accepting = asyncio::create_task(async move {
        let accepted = get_running_loop().sock_accept(&listener).await;
        (accepted, listener)
    });
    sleep(0.01).await; // the accept waits first
    let connected = wait_for(lp.sock_connect(&client, addr), 10.0)
        .await
        .unwrap();
    let (accepted, _listener) = wait_for(accepting, 10.0).await.unwrap().unwrap();
    connected.unwrap();
    let (conn, peer) = accepted.unwrap();
    assert_eq!(peer.as_socket(), client.local_addr().unwrap().as_socket());
    assert!(
        conn.nonblocking().unwrap(),
        "accepted sockets are non-blocking"
    );
    lp.sock_sendall(&client, b"ping").await.unwrap();
    assert_eq!(lp.sock_recv(&conn, 10).await.unwrap(), b"ping");
}

#[asyncio::test]
async fn sock_connect_to_a_refused_port_is_connection_refused() {
    let lp = get_running_loop();
    let addr: SocketAddr = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let sock = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    sock.set_nonblocking(true).unwrap();
    let e = wait_for(lp.sock_connect(&sock, addr), 10.0)
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{e}");
}

#[asyncio::test]
async fn blocking_sockets_are_refused_where_no_flag_keeps_them_from_blocking() {
    let lp = get_running_loop();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let e = lp.sock_accept(&listener).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    let sock = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    let e = lp
        .sock_connect(&sock, listener.local_addr().unwrap())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    // Sends and receives pass MSG_DONTWAIT: a blocking socket works and never blocks.
    let (ours, mut peer) = tcp_pair();
    ours.set_nonblocking(false).unwrap();
    let task =
        asyncio::create_task(async move { get_running_loop().sock_recv(&ours, 10).await.unwrap() });
    sleep(0.01).await;
    peer.write_all(b"late").unwrap();
    assert_eq!(wait_for(task, 10.0).await.unwrap().unwrap(), b"late");
}

fn temp_file(name: &str, data: &[u8]) -> (std::path::PathBuf, std::fs::File) {
    let path = std::env::temp_dir().join(format!("{name}_{}", std::process::id()));
    std::fs::write(&path, data).unwrap();
    let file = std::fs::File::open(&path).unwrap();
    (path, file)
}

#[asyncio::test]
async fn sock_sendfile_of_megabytes_arrives_intact() {
    let lp = get_running_loop();
    let data = payload(6 << 20);
    let (path, file) = temp_file("sock_sendfile_whole", &data);
    let (ours, peer) = tcp_pair();
    let reader = slow_reader(peer, None);
    let offset = 1000;
    let sent = wait_for(lp.sock_sendfile(&ours, &file, offset, None), 60.0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sent, data.len() as u64 - offset);
    use std::io::Seek;
    assert_eq!((&file).stream_position().unwrap(), data.len() as u64);
    drop(ours);
    let (total, h) = reader.join().unwrap();
    assert_eq!(total as u64, sent);
    assert_eq!(h, checksum(&data[offset as usize..], FNV_START));
    std::fs::remove_file(path).unwrap();
}

#[asyncio::test]
async fn sock_sendfile_with_a_count_sends_that_many() {
    let lp = get_running_loop();
    let data = payload(100_000);
    let (path, file) = temp_file("sock_sendfile_count", &data);
    let (ours, peer) = tcp_pair();
    let reader = slow_reader(peer, None);
    let sent = lp
        .sock_sendfile(&ours, &file, 10, Some(50_000))
        .await
        .unwrap();
    assert_eq!(sent, 50_000);
    drop(ours);
    let (total, h) = reader.join().unwrap();
    assert_eq!(total, 50_000);
    assert_eq!(h, checksum(&data[10..50_010], FNV_START));
    std::fs::remove_file(path).unwrap();
}

#[asyncio::test]
async fn sock_sendfile_cut_off_by_the_peer_is_an_error_not_a_hang() {
    let lp = get_running_loop();
    let data = payload(16 << 20);
    let (path, file) = temp_file("sock_sendfile_cut", &data);
    let (ours, peer) = tcp_pair();
    let reader = slow_reader(peer, Some(1 << 20));
    let e = wait_for(lp.sock_sendfile(&ours, &file, 0, None), 10.0)
        .await
        .expect("no hang")
        .unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::BrokenPipe | ErrorKind::ConnectionReset),
        "{e}"
    );
    let (read, _) = reader.join().unwrap();
    assert!(read >= 1 << 20);
    std::fs::remove_file(path).unwrap();
}

#[asyncio::test]
async fn sock_sendfile_falls_back_to_reads_where_sendfile_cannot_read_the_file() {
    let lp = get_running_loop();
    // sendfile refuses a pipe as its source at an offset (EINVAL), so the fallback runs;
    // its pread then fails with ESPIPE, which must come back as the error: that error can
    // only come from the fallback.
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two fds pipe2 writes.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    use std::os::fd::FromRawFd;
    // SAFETY: pipe2 just opened both fds, owned by nobody else.
    let (rx, mut tx) = unsafe {
        (
            std::fs::File::from_raw_fd(fds[0]),
            std::fs::File::from_raw_fd(fds[1]),
        )
    };
    tx.write_all(b"data").unwrap();
    let (ours, _peer) = tcp_pair();
    let e = wait_for(lp.sock_sendfile(&ours, &rx, 0, Some(4)), 10.0)
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::ESPIPE), "{e}");
}

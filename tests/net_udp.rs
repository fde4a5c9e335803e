//! `net::UdpSocket` and `net::UnixDatagram` on real sockets. Awaits that could hang on a
//! regression run under `wait_for(.., 10.0)`, so they fail instead.

use asyncio::net::{UdpSocket, UnixDatagram};
use asyncio::wait_for;
use std::io::ErrorKind;
use std::net::{Ipv4Addr, SocketAddr};

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

#[asyncio::test]
async fn send_to_and_recv_from() {
    let a = UdpSocket::bind(loopback()).unwrap();
    let b = UdpSocket::bind(loopback()).unwrap();
    let mut buf = [0; 64];
    // Before anything is sent, a receive waits (the task is woken by the datagram).
    let b_addr = b.local_addr().unwrap();
    let recv = asyncio::create_task(async move {
        let mut buf = [0; 64];
        let (n, from) = b.recv_from(&mut buf).await.unwrap();
        (buf[..n].to_vec(), from, b)
    });
    asyncio::sleep(0).await;
    assert_eq!(a.send_to(b"hello", b_addr).await.unwrap(), 5);
    let (got, from, b) = wait_for(recv, 10.0).await.unwrap().unwrap();
    assert_eq!(got, b"hello");
    assert_eq!(from, a.local_addr().unwrap());

    // Boundaries are kept: two sends are two receives.
    b.send_to(b"one", a.local_addr().unwrap()).await.unwrap();
    b.send_to(b"three", a.local_addr().unwrap()).await.unwrap();
    let (n, _) = wait_for(a.recv_from(&mut buf), 10.0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf[..n], b"one");
    let (n, _) = wait_for(a.recv_from(&mut buf), 10.0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf[..n], b"three");
    assert_eq!(
        a.try_recv_from(&mut buf).unwrap_err().kind(),
        ErrorKind::WouldBlock
    );
}

#[asyncio::test]
async fn connected_send_and_recv() {
    let a = UdpSocket::bind(loopback()).unwrap();
    let b = UdpSocket::bind(loopback()).unwrap();
    a.connect(b.local_addr().unwrap()).unwrap();
    b.connect(a.local_addr().unwrap()).unwrap();
    assert_eq!(a.peer_addr().unwrap(), b.local_addr().unwrap());
    a.send(b"ping").await.unwrap();
    let mut buf = [0; 16];
    let n = wait_for(b.recv(&mut buf), 10.0).await.unwrap().unwrap();
    assert_eq!(&buf[..n], b"ping");

    // A connected socket takes only its peer's datagrams.
    let stranger = UdpSocket::bind(loopback()).unwrap();
    stranger
        .send_to(b"noise", b.local_addr().unwrap())
        .await
        .unwrap();
    a.send(b"pong").await.unwrap();
    let n = wait_for(b.recv(&mut buf), 10.0).await.unwrap().unwrap();
    assert_eq!(&buf[..n], b"pong");
}

#[asyncio::test]
async fn unconnected_peer_addr_is_not_connected() {
    let a = UdpSocket::bind(loopback()).unwrap();
    assert_eq!(a.peer_addr().unwrap_err().kind(), ErrorKind::NotConnected);
}

/// A datagram sent to a closed port comes back as ICMP port-unreachable, which a connected
/// socket reports as `ConnectionRefused` on its next call.
#[asyncio::test]
async fn connected_socket_gets_connection_refused() {
    let closed = UdpSocket::bind(loopback()).unwrap();
    let closed_addr = closed.local_addr().unwrap();
    drop(closed);
    let s = UdpSocket::bind(loopback()).unwrap();
    s.connect(closed_addr).unwrap();
    s.send(b"anyone?").await.unwrap();
    let mut buf = [0; 16];
    let err = wait_for(s.recv(&mut buf), 10.0).await.unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
    // The error was taken by the receive.
    assert!(s.take_error().unwrap().is_none());
}

#[asyncio::test]
async fn large_datagram_arrives_whole() {
    let a = UdpSocket::bind(loopback()).unwrap();
    let b = UdpSocket::bind(loopback()).unwrap();
    let big: Vec<u8> = (0..60_000u32).map(|i| i as u8).collect();
    a.send_to(&big, b.local_addr().unwrap()).await.unwrap();
    let mut buf = vec![0; 65536];
    let (n, _) = wait_for(b.recv_from(&mut buf), 10.0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf[..n], &big[..]);
}

#[asyncio::test]
async fn peek_leaves_the_datagram() {
    let a = UdpSocket::bind(loopback()).unwrap();
    let b = UdpSocket::bind(loopback()).unwrap();
    a.send_to(b"twice", b.local_addr().unwrap()).await.unwrap();
    let mut buf = [0; 16];
    let (n, from) = wait_for(b.peek_from(&mut buf), 10.0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((&buf[..n], from), (&b"twice"[..], a.local_addr().unwrap()));
    let (n, _) = b.try_recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"twice");
}

#[asyncio::test]
async fn options() {
    let s = UdpSocket::options()
        .broadcast(true)
        .bind("0.0.0.0:0".parse().unwrap())
        .unwrap();
    assert!(s.broadcast().unwrap());
    s.set_broadcast(false).unwrap();
    assert!(!s.broadcast().unwrap());
    s.set_ttl(9).unwrap();
    assert_eq!(s.ttl().unwrap(), 9);
    s.set_multicast_loop_v4(false).unwrap();
    assert!(!s.multicast_loop_v4().unwrap());
    s.set_multicast_ttl_v4(2).unwrap();
}

#[asyncio::test]
async fn reuse_port_shares_a_port() {
    let a = UdpSocket::options()
        .reuse_port(true)
        .bind(loopback())
        .unwrap();
    let port_addr = a.local_addr().unwrap();
    let b = UdpSocket::options()
        .reuse_port(true)
        .bind(port_addr)
        .unwrap();
    assert_eq!(b.local_addr().unwrap(), port_addr);
    // Without the option on the newcomer, the port is taken.
    let err = UdpSocket::bind(port_addr).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AddrInUse);
}

/// Multicast on loopback: join 239.255.0.1 on 127.0.0.1 and receive our own datagram.
/// Kernels without a multicast route (some containers) refuse; the test then says so.
#[asyncio::test]
async fn multicast_on_loopback() {
    let group = Ipv4Addr::new(239, 255, 0, 1);
    let rx = UdpSocket::options()
        .reuse_address(true)
        .bind("0.0.0.0:0".parse().unwrap())
        .unwrap();
    if let Err(e) = rx.join_multicast_v4(group, Ipv4Addr::LOCALHOST) {
        eprintln!("skipped: the kernel refuses to join a multicast group on loopback: {e}");
        return;
    }
    let port = rx.local_addr().unwrap().port();
    let tx = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    tx.set_multicast_loop_v4(true).unwrap();
    let to = SocketAddr::from((group, port));
    if let Err(e) = tx.send_to(b"to the group", to).await {
        eprintln!("skipped: the kernel refuses to send to a multicast group: {e}");
        return;
    }
    let mut buf = [0; 32];
    match wait_for(rx.recv_from(&mut buf), 2.0).await {
        Ok(Ok((n, _))) => assert_eq!(&buf[..n], b"to the group"),
        Ok(Err(e)) => panic!("{e}"),
        Err(_) => {
            eprintln!("skipped: joined, but no multicast route delivers on loopback here");
            return;
        }
    }
    rx.leave_multicast_v4(group, Ipv4Addr::LOCALHOST).unwrap();
}

#[asyncio::test]
async fn from_std_and_fd() {
    use std::os::fd::{AsFd, AsRawFd};
    let std = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let raw = std.as_raw_fd();
    let s = UdpSocket::from_std(std).unwrap();
    assert_eq!(s.as_raw_fd(), raw);
    assert_eq!(s.as_fd().as_raw_fd(), raw);
}

#[asyncio::test]
async fn unix_datagram_paths() {
    let dir = std::env::temp_dir().join(format!("asyncio-net-udp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let server_path = dir.join("server.sock");
    let client_path = dir.join("client.sock");
    let _ = std::fs::remove_file(&server_path);
    let _ = std::fs::remove_file(&client_path);

    let server = UnixDatagram::bind(&server_path).unwrap();
    let client = UnixDatagram::bind(&client_path).unwrap();
    client.send_to(b"ping", &server_path).await.unwrap();
    let mut buf = [0; 16];
    let (n, from) = wait_for(server.recv_from(&mut buf), 10.0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf[..n], b"ping");
    assert_eq!(from.as_pathname(), Some(client_path.as_path()));
    server
        .send_to(b"pong", from.as_pathname().unwrap())
        .await
        .unwrap();
    let n = wait_for(client.recv(&mut buf), 10.0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf[..n], b"pong");

    // connect, then plain send.
    client.connect(&server_path).unwrap();
    client.send(b"again").await.unwrap();
    let n = wait_for(server.recv(&mut buf), 10.0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf[..n], b"again");

    let err = client
        .send_to(b"x", dir.join("nobody.sock"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[asyncio::test]
async fn unix_datagram_pair_waits_for_room() {
    let (a, b) = UnixDatagram::pair().unwrap();
    // Fill the peer's queue: a Unix datagram is never dropped, the sender waits instead.
    let mut sent = 0;
    while a.try_send(&[7; 1024]).is_ok() {
        sent += 1;
    }
    assert!(sent > 0);
    let sender = asyncio::create_task(async move { a.send(b"last").await.map(|_| a) });
    asyncio::sleep(0).await;
    assert!(!sender.done(), "the sender waits while the queue is full");
    let mut buf = [0; 2048];
    for _ in 0..sent {
        wait_for(b.recv(&mut buf), 10.0).await.unwrap().unwrap();
    }
    let a = wait_for(sender, 10.0).await.unwrap().unwrap().unwrap();
    let n = wait_for(b.recv(&mut buf), 10.0).await.unwrap().unwrap();
    assert_eq!(&buf[..n], b"last");
    drop(b);
    let err = a.send(b"gone").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
}

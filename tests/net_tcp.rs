//! asyncio::net TCP sockets: accept, connect, read, write, shutdown, errors, wakeups.

use asyncio::create_task;
use asyncio::net::{TcpListener, TcpStream};
use std::io::ErrorKind;
use std::net::Shutdown;

fn any_local() -> std::net::SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

async fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind(any_local()).unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, peer) = listener.accept().await.unwrap();
    assert_eq!(peer, client.local_addr().unwrap());
    assert_eq!(server.peer_addr().unwrap(), client.local_addr().unwrap());
    (client, server)
}

async fn read_to_end(s: &TcpStream) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = vec![0; 65536];
    loop {
        match s.read(&mut buf).await? {
            0 => return Ok(out),
            n => out.extend_from_slice(&buf[..n]),
        }
    }
}

#[asyncio::test]
async fn echo_round_trip() {
    let (client, server) = pair().await;
    let echo = create_task(async move {
        let mut buf = [0; 64];
        loop {
            let n = server.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            server.write_all(&buf[..n]).await.unwrap();
        }
    });
    for i in 0..100u32 {
        let msg = format!("message {i}");
        client.write_all(msg.as_bytes()).await.unwrap();
        let mut got = vec![0; msg.len()];
        client.read_exact(&mut got).await.unwrap();
        assert_eq!(got, msg.as_bytes());
    }
    client.shutdown(Shutdown::Write).unwrap();
    echo.await.unwrap();
    assert_eq!(client.read(&mut [0; 8]).await.unwrap(), 0);
}

#[asyncio::test]
async fn large_transfers_both_ways_at_once() {
    // 8 MiB each way fills the kernel buffers, so writers see WouldBlock and must be woken by
    // the edge that the other side's reading makes.
    let (client, server) = pair().await;
    let data: Vec<u8> = (0..8 << 20).map(|i: u32| (i % 251) as u8).collect();
    let expected = data.clone();
    let server_task = create_task(async move {
        let writer = async {
            server.write_all(&data).await.unwrap();
            server.shutdown(Shutdown::Write).unwrap();
        };
        let (_, got) = join(writer, read_to_end(&server)).await;
        got.unwrap()
    });
    let sent: Vec<u8> = (0..8 << 20).map(|i: u32| (i % 13) as u8).collect();
    let writer = async {
        client.write_all(&sent).await.unwrap();
        client.shutdown(Shutdown::Write).unwrap();
    };
    let (_, got) = join(writer, read_to_end(&client)).await;
    assert_eq!(got.unwrap(), expected);
    assert_eq!(server_task.await.unwrap(), sent);
}

/// Polls two futures together (a tiny `join`, so the test needs no other crate).
async fn join<A: std::future::Future, B: std::future::Future>(
    a: A,
    b: B,
) -> (A::Output, B::Output) {
    let mut a = std::pin::pin!(a);
    let mut b = std::pin::pin!(b);
    let (mut ra, mut rb) = (None, None);
    std::future::poll_fn(|cx| {
        if ra.is_none() {
            if let std::task::Poll::Ready(v) = a.as_mut().poll(cx) {
                ra = Some(v);
            }
        }
        if rb.is_none() {
            if let std::task::Poll::Ready(v) = b.as_mut().poll(cx) {
                rb = Some(v);
            }
        }
        if ra.is_some() && rb.is_some() {
            std::task::Poll::Ready((ra.take().unwrap(), rb.take().unwrap()))
        } else {
            std::task::Poll::Pending
        }
    })
    .await
}

#[asyncio::test]
async fn connect_refused_has_its_real_kind() {
    let listener = TcpListener::bind(any_local()).unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let err = TcpStream::connect(addr).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
}

#[asyncio::test]
async fn many_concurrent_connections() {
    let listener = std::rc::Rc::new(TcpListener::bind(any_local()).unwrap());
    let addr = listener.local_addr().unwrap();
    let acceptor = {
        let listener = listener.clone();
        create_task(async move {
            let mut tasks = Vec::new();
            for _ in 0..100 {
                let (s, _) = listener.accept().await.unwrap();
                tasks.push(create_task(async move {
                    let mut buf = [0; 4];
                    s.read_exact(&mut buf).await.unwrap();
                    s.write_all(&buf).await.unwrap();
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
        })
    };
    let clients: Vec<_> = (0..100u32)
        .map(|i| {
            create_task(async move {
                let s = TcpStream::connect(addr).await.unwrap();
                s.write_all(&i.to_be_bytes()).await.unwrap();
                let mut buf = [0; 4];
                s.read_exact(&mut buf).await.unwrap();
                assert_eq!(u32::from_be_bytes(buf), i);
            })
        })
        .collect();
    for c in clients {
        c.await.unwrap();
    }
    acceptor.await.unwrap();
}

#[asyncio::test]
async fn write_to_reset_peer_is_an_error_not_a_signal() {
    let (client, server) = pair().await;
    drop(server);
    let chunk = vec![0u8; 65536];
    let err = loop {
        match client.write(&chunk).await {
            Ok(_) => asyncio::sleep(0.001).await,
            Err(e) => break e,
        }
    };
    assert!(
        matches!(
            err.kind(),
            ErrorKind::BrokenPipe | ErrorKind::ConnectionReset
        ),
        "{err:?}"
    );
}

#[asyncio::test]
async fn try_read_and_try_write_never_wait() {
    let (client, server) = pair().await;
    assert_eq!(
        client.try_read(&mut [0; 8]).unwrap_err().kind(),
        ErrorKind::WouldBlock
    );
    assert_eq!(server.try_write(b"abc").unwrap(), 3);
    let mut buf = [0; 8];
    let n = client.read(&mut buf).await.unwrap();
    assert_eq!(&buf[..n], b"abc");
}

#[asyncio::test]
async fn two_readers_both_wake_and_one_gets_the_bytes() {
    let (client, server) = pair().await;
    let server = std::rc::Rc::new(server);
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let server = server.clone();
            create_task(async move {
                let mut buf = [0; 8];
                server.read(&mut buf).await.unwrap()
            })
        })
        .collect();
    asyncio::sleep(0).await;
    client.write_all(b"one").await.unwrap();
    asyncio::sleep(0.01).await;
    client.write_all(b"two").await.unwrap();
    let mut total = 0;
    for r in readers {
        total += r.await.unwrap();
    }
    assert_eq!(total, 6);
}

#[test]
fn a_socket_from_another_loop_is_refused() {
    let (client, server) = asyncio::run(pair());
    let err = asyncio::run(async move {
        let _keep = server;
        client.read(&mut [0; 8]).await.unwrap_err()
    });
    assert_eq!(err.kind(), ErrorKind::Other);
    assert!(err.to_string().contains("different event loop"), "{err}");
}

#[test]
fn outside_a_loop_binding_fails_cleanly() {
    let err = TcpListener::bind(any_local()).unwrap_err();
    assert!(err.to_string().contains("no running event loop"));
}

#[asyncio::test]
async fn from_std_and_nodelay() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let s = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (peer, _) = l.accept().unwrap();
    let s = TcpStream::from_std(s).unwrap();
    let peer = TcpStream::from_std(peer).unwrap();
    s.set_nodelay(true).unwrap();
    assert!(s.nodelay().unwrap());
    s.write_all(b"z").await.unwrap();
    let mut b = [0; 1];
    peer.read_exact(&mut b).await.unwrap();
    assert_eq!(&b, b"z");
}

//! StreamWriter: buffering, drain and its water marks, half-close, close, errors.

use asyncio::{
    StreamReader, StreamWriter, create_task, open_connection, open_socket, start_server,
};
use std::io::ErrorKind;

fn pair() -> ((StreamReader, StreamWriter), (StreamReader, StreamWriter)) {
    let (a, b) = asyncio::net::UnixStream::pair().unwrap();
    (open_socket(a), open_socket(b))
}

/// Writes until the socket stops taking bytes, so that the writer's own buffer holds more
/// than `above` bytes.
fn fill(w: &StreamWriter, above: usize) {
    let chunk = vec![1u8; 64 * 1024];
    for _ in 0..10_000 {
        if w.get_write_buffer_size() > above {
            return;
        }
        w.write(&chunk);
    }
    panic!("the socket kept taking bytes");
}

#[asyncio::test]
async fn write_never_blocks_and_drain_waits_for_the_low_water_mark() {
    let ((_ra, wa), (mut rb, _wb)) = pair();
    assert_eq!(wa.get_write_buffer_limits(), (16 * 1024, 64 * 1024));
    fill(&wa, 64 * 1024);
    let total_buffered = wa.get_write_buffer_size();
    let drain = {
        let wa = wa.clone();
        create_task(async move {
            wa.drain().await.unwrap();
            wa.get_write_buffer_size()
        })
    };
    asyncio::sleep(0.01).await;
    assert!(!drain.done(), "drain must wait while nobody reads");
    let reader = create_task(async move { rb.read_to_end().await.unwrap().len() });
    let left = drain.await.unwrap();
    assert!(
        left <= 16 * 1024,
        "drain returned with {left} bytes buffered"
    );
    assert!(total_buffered > 64 * 1024);
    wa.close();
    wa.wait_closed().await.unwrap();
    assert!(reader.await.unwrap() > total_buffered);
}

#[asyncio::test]
async fn concurrent_drains_all_return() {
    let ((_ra, wa), (mut rb, _wb)) = pair();
    fill(&wa, 64 * 1024);
    let drains: Vec<_> = (0..5)
        .map(|_| {
            let wa = wa.clone();
            create_task(async move { wa.drain().await })
        })
        .collect();
    asyncio::sleep(0.01).await;
    assert!(drains.iter().all(|d| !d.done()));
    let _reader = create_task(async move { rb.read_to_end().await });
    for d in drains {
        d.await.unwrap().unwrap();
    }
}

#[asyncio::test]
async fn a_reset_peer_wakes_every_drainer_with_the_error() {
    let server = start_server(
        |r: StreamReader, w: StreamWriter| async move {
            asyncio::sleep(0.05).await;
            w.abort();
            drop(r);
        },
        "127.0.0.1",
        0,
    )
    .await
    .unwrap();
    let port = server.sockets()[0].as_inet().unwrap().port();
    let (_r, w) = open_connection("127.0.0.1", port).await.unwrap();
    fill(&w, 64 * 1024);
    let drains: Vec<_> = (0..3)
        .map(|_| {
            let w = w.clone();
            create_task(async move { w.drain().await })
        })
        .collect();
    for d in drains {
        let err = d.await.unwrap().unwrap_err();
        assert!(
            matches!(
                err.kind(),
                ErrorKind::ConnectionReset | ErrorKind::BrokenPipe
            ),
            "{err:?}"
        );
    }
    assert!(w.is_closing());
    assert!(w.wait_closed().await.is_err());
}

#[asyncio::test]
async fn half_close_gets_a_full_answer() {
    // The client writes, then write_eof; the server reads to EOF (exactly once), then
    // answers 1 MiB and closes.
    let server = start_server(
        |mut r: StreamReader, w: StreamWriter| async move {
            let request = r.read_to_end().await.unwrap();
            assert_eq!(request, b"request body");
            assert!(r.at_eof());
            assert_eq!(r.read(10).await.unwrap(), b"");
            let answer: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 256) as u8).collect();
            w.write(&answer);
            w.drain().await.unwrap();
            w.close();
            w.wait_closed().await.unwrap();
        },
        "127.0.0.1",
        0,
    )
    .await
    .unwrap();
    let port = server.sockets()[0].as_inet().unwrap().port();
    let (mut r, w) = open_connection("127.0.0.1", port).await.unwrap();
    assert!(w.can_write_eof());
    w.write(b"request ");
    w.write(b"body");
    w.write_eof();
    assert!(!w.is_closing());
    let answer = r.read_to_end().await.unwrap();
    assert_eq!(answer.len(), 1 << 20);
    assert!(
        answer
            .iter()
            .enumerate()
            .all(|(i, &b)| b == (i % 256) as u8)
    );
    w.close();
    w.wait_closed().await.unwrap();
    server.close();
    server.wait_closed().await;
}

#[asyncio::test]
async fn close_sends_what_is_buffered_first() {
    let ((_ra, wa), (mut rb, _wb)) = pair();
    let data = vec![9u8; 3 << 20];
    wa.write(&data);
    assert!(wa.get_write_buffer_size() > 0);
    wa.close();
    assert!(wa.is_closing());
    let got = create_task(async move { rb.read_to_end().await.unwrap() });
    wa.wait_closed().await.unwrap();
    assert_eq!(got.await.unwrap(), data);
}

#[asyncio::test]
async fn after_close_writes_are_dropped_and_drain_fails() {
    let ((_ra, wa), (mut rb, _wb)) = pair();
    wa.write(b"before");
    wa.close();
    wa.write(b"after");
    let err = wa.drain().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionReset);
    assert_eq!(rb.read_to_end().await.unwrap(), b"before");
}

#[asyncio::test]
async fn dropping_the_last_writer_closes_the_connection() {
    let ((ra, wa), (mut rb, _wb)) = pair();
    let clone = wa.clone();
    drop(wa);
    clone.write(b"still open");
    drop(clone);
    drop(ra);
    assert_eq!(rb.read_to_end().await.unwrap(), b"still open");
}

#[asyncio::test]
async fn write_buffer_limits() {
    let ((_ra, wa), _b) = pair();
    wa.set_write_buffer_limits(Some(1000), None);
    assert_eq!(wa.get_write_buffer_limits(), (250, 1000));
    wa.set_write_buffer_limits(None, Some(100));
    assert_eq!(wa.get_write_buffer_limits(), (100, 400));
    wa.set_write_buffer_limits(Some(0), Some(0));
    assert_eq!(wa.get_write_buffer_limits(), (0, 0));
    wa.set_write_buffer_limits(None, None);
    assert_eq!(wa.get_write_buffer_limits(), (16 * 1024, 64 * 1024));
}

#[test]
#[should_panic(expected = "must be >=")]
fn low_above_high_is_refused() {
    asyncio::run(async {
        let ((_ra, wa), _b) = pair();
        wa.set_write_buffer_limits(Some(1), Some(2));
    });
}

#[asyncio::test]
async fn peername_and_sockname() {
    let server = start_server(
        |_r, w: StreamWriter| async move {
            let text = format!("{}", w.peername().unwrap());
            w.write(text.as_bytes());
        },
        "127.0.0.1",
        0,
    )
    .await
    .unwrap();
    let port = server.sockets()[0].as_inet().unwrap().port();
    let (mut r, w) = open_connection("127.0.0.1", port).await.unwrap();
    let seen = String::from_utf8(r.read_to_end().await.unwrap()).unwrap();
    assert_eq!(seen, w.sockname().unwrap().to_string());
    assert_eq!(w.peername().unwrap().as_inet().unwrap().port(), port);
    assert!(seen.starts_with("('127.0.0.1', "));
}

#[asyncio::test]
async fn bytes_that_arrived_before_close_can_still_be_read() {
    // asyncio's reader has them in its buffer by the time of close; ours must too.
    let ((mut ra, wa), (_rb, wb)) = pair();
    wb.write(b"late reply\n");
    asyncio::sleep(0.001).await;
    wa.close();
    assert_eq!(ra.readline().await.unwrap(), b"late reply\n");
    assert_eq!(ra.read(10).await.unwrap(), b"");
}

#[asyncio::test]
async fn writing_to_a_closed_peer_never_raises_sigpipe() {
    // With SIGPIPE at its default action a plain write(2) would kill the process.
    // SAFETY: changing a signal's disposition has no memory-safety conditions.
    let previous = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let ((_ra, wa), b) = pair();
    drop(b);
    let chunk = vec![0u8; 64 * 1024];
    for _ in 0..64 {
        wa.write(&chunk);
    }
    let err = wa.drain().await.unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::BrokenPipe | ErrorKind::ConnectionReset
        ),
        "{err:?}"
    );
    // SAFETY: as above, restoring the previous disposition.
    unsafe { libc::signal(libc::SIGPIPE, previous) };
}

/// As asyncio's `transport.write`, a write to a socket with room sends at once: the bytes are
/// on the wire before the writer awaits anything, and `drain` then has nothing to wait for.
/// (The peer's read below blocks the loop's thread: had the write only buffered, no task could
/// send it meanwhile.)
#[asyncio::test]
async fn a_write_to_an_idle_socket_is_sent_before_any_await() {
    use std::io::Read;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut peer = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (sock, _) = listener.accept().unwrap();
    let (_r, w) = open_socket(asyncio::net::TcpStream::from_std(sock).unwrap());
    peer.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    for msg in [&b"ping"[..], &[7; 16 * 1024]] {
        w.write(msg);
        assert_eq!(w.get_write_buffer_size(), 0);
        let mut got = vec![0; msg.len()];
        peer.read_exact(&mut got).unwrap();
        assert_eq!(got, msg);
        let mut drain = std::pin::pin!(w.drain());
        let first = std::future::poll_fn(|cx| {
            std::task::Poll::Ready(std::future::Future::poll(drain.as_mut(), cx))
        })
        .await;
        assert!(
            matches!(first, std::task::Poll::Ready(Ok(()))),
            "drain waited"
        );
    }
}

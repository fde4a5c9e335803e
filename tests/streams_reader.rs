//! StreamReader: read, readline, readuntil, readexactly, limits, EOF, over real sockets and
//! fed by hand.

use asyncio::{ReadError, StreamReader, StreamWriter, open_socket};

fn fed(data: &[u8], eof: bool) -> StreamReader {
    let mut r = StreamReader::new();
    r.feed_data(data);
    if eof {
        r.feed_eof();
    }
    r
}

/// Whether `fut` completes within `secs` (the test's own small `wait_for`).
async fn ready_within<F: std::future::Future>(fut: F, secs: f64) -> bool {
    use std::future::Future;
    let mut fut = std::pin::pin!(fut);
    let mut timer = std::pin::pin!(asyncio::sleep(secs));
    std::future::poll_fn(|cx| {
        if fut.as_mut().poll(cx).is_ready() {
            return std::task::Poll::Ready(true);
        }
        timer.as_mut().poll(cx).map(|()| false)
    })
    .await
}

fn pair() -> ((StreamReader, StreamWriter), (StreamReader, StreamWriter)) {
    let (a, b) = asyncio::net::UnixStream::pair().unwrap();
    (open_socket(a), open_socket(b))
}

#[asyncio::test]
async fn read_returns_what_is_there_then_empty_at_eof() {
    let mut r = fed(b"abcdef", true);
    assert_eq!(r.read(0).await.unwrap(), b"");
    assert_eq!(r.read(4).await.unwrap(), b"abcd");
    assert!(!r.at_eof());
    assert_eq!(r.read(4).await.unwrap(), b"ef");
    assert!(r.at_eof());
    assert_eq!(r.read(4).await.unwrap(), b"");
    assert_eq!(r.read_to_end().await.unwrap(), b"");
}

#[asyncio::test]
async fn readline_follows_asyncio() {
    let mut r = fed(b"one\ntwo\n\nlast", true);
    assert_eq!(r.readline().await.unwrap(), b"one\n");
    assert_eq!(r.readline().await.unwrap(), b"two\n");
    assert_eq!(r.readline().await.unwrap(), b"\n");
    assert_eq!(r.readline().await.unwrap(), b"last");
    assert_eq!(r.readline().await.unwrap(), b"");
}

#[asyncio::test]
async fn readline_over_the_limit_drops_the_line() {
    // As asyncio: the separator is in the buffer, so the line and its separator go.
    let mut r = StreamReader::with_limit(4);
    r.feed_data(b"0123456789\nok\n");
    match r.readline().await {
        Err(ReadError::LimitOverrun(e)) => assert_eq!(e.consumed, 10),
        other => panic!("{other:?}"),
    }
    assert_eq!(r.readline().await.unwrap(), b"ok\n");
    // No separator yet: everything buffered goes.
    let mut r = StreamReader::with_limit(4);
    r.feed_data(b"0123456789");
    assert!(matches!(
        r.readline().await,
        Err(ReadError::LimitOverrun(_))
    ));
    assert_eq!(r.buffer(), b"");
}

#[asyncio::test]
async fn readuntil_keeps_the_buffer_on_overrun() {
    let mut r = StreamReader::with_limit(4);
    r.feed_data(b"0123456789");
    match r.readuntil(b"!").await {
        Err(ReadError::LimitOverrun(e)) => {
            assert_eq!(e.consumed, 10);
            assert_eq!(
                e.message,
                "Separator is not found, and chunk exceed the limit"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(r.buffer(), b"0123456789");
    r.feed_data(b"!");
    match r.readuntil(b"!").await {
        Err(ReadError::LimitOverrun(e)) => {
            assert_eq!(e.consumed, 10);
            assert_eq!(
                e.message,
                "Separator is found, but chunk is longer than limit"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(r.readexactly(11).await.unwrap(), b"0123456789!");
}

#[asyncio::test]
async fn readuntil_multibyte_and_sets() {
    let mut r = fed(b"a\r\nb\nc--d", true);
    let seps: [&[u8]; 2] = [b"\r\n", b"\n"];
    assert_eq!(r.readuntil(seps).await.unwrap(), b"a\r\n");
    assert_eq!(r.readuntil(seps).await.unwrap(), b"b\n");
    assert_eq!(r.readuntil("--").await.unwrap(), b"c--");
    match r.readuntil(b"--").await {
        Err(ReadError::IncompleteRead(e)) => {
            assert_eq!(e.partial, b"d");
            assert_eq!(e.expected, None);
        }
        other => panic!("{other:?}"),
    }
}

#[asyncio::test]
async fn readuntil_finds_a_separator_split_across_arrivals() {
    let ((_ra, wa), (mut rb, _wb)) = pair();
    let reading = asyncio::create_task(async move { rb.readuntil(b"END").await.unwrap() });
    for chunk in [&b"xxE"[..], b"N", b"Dyy"] {
        wa.write(chunk);
        asyncio::sleep(0.005).await;
    }
    assert_eq!(reading.await.unwrap(), b"xxEND");
}

#[test]
#[should_panic(expected = "at least one-byte")]
fn an_empty_separator_is_refused() {
    asyncio::run(async {
        let mut r = fed(b"x", true);
        let _ = r.readuntil(b"").await;
    });
}

#[asyncio::test]
async fn readexactly_reports_partial_bytes() {
    let ((_ra, wa), (mut rb, _wb)) = pair();
    wa.write(b"12345");
    wa.write_eof();
    assert_eq!(rb.readexactly(2).await.unwrap(), b"12");
    match rb.readexactly(10).await {
        Err(ReadError::IncompleteRead(e)) => {
            assert_eq!(e.partial, b"345");
            assert_eq!(e.expected, Some(10));
            assert_eq!(
                e.to_string(),
                "3 bytes read on a total of 10 expected bytes"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(rb.at_eof());
}

#[asyncio::test]
async fn lines_iterate_until_eof() {
    let ((_ra, wa), (mut rb, _wb)) = pair();
    wa.writelines(["alpha\n", "beta\n", "gamma"]);
    wa.close();
    let mut lines = Vec::new();
    while let Some(line) = rb.next_line().await.unwrap() {
        lines.push(String::from_utf8(line).unwrap());
    }
    assert_eq!(lines, ["alpha\n", "beta\n", "gamma"]);
}

#[asyncio::test]
async fn at_eof_notices_a_closed_peer_without_reading() {
    let ((mut ra, _wa), (_rb, wb)) = pair();
    assert!(!ra.at_eof());
    wb.close();
    drop(wb);
    drop(_rb);
    asyncio::sleep(0.001).await;
    assert!(ra.at_eof());
}

#[asyncio::test]
async fn a_reader_that_does_not_read_holds_the_sender_back() {
    // Nothing is read: the buffer does not grow, and the writer's buffer fills instead, so
    // drain blocks once the kernel buffers are full.
    let ((_ra, wa), (rb, _wb)) = pair();
    let chunk = vec![0u8; 64 * 1024];
    let mut blocked = false;
    for _ in 0..1000 {
        wa.write(&chunk);
        let drained = ready_within(wa.drain(), 0.05).await;
        if !drained {
            blocked = true;
            break;
        }
    }
    assert!(blocked, "drain never blocked");
    assert!(rb.buffer().len() <= 64 * 1024);
}

#[asyncio::test]
async fn large_lines_within_the_limit() {
    let ((_ra, wa), (rb, _wb)) = pair();
    let mut rb = rb;
    let line: Vec<u8> = std::iter::repeat_n(b'x', 60_000).chain([b'\n']).collect();
    for _ in 0..20 {
        wa.write(&line);
    }
    wa.close();
    for _ in 0..20 {
        assert_eq!(rb.readline().await.unwrap().len(), 60_001);
    }
    assert_eq!(rb.readline().await.unwrap(), b"");
}

#[asyncio::test]
async fn errors_convert_to_io_errors() {
    let mut r = fed(b"ab", true);
    let e: std::io::Error = r.readexactly(3).await.unwrap_err().into();
    assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof);
    let mut r = StreamReader::with_limit(1);
    r.feed_data(b"abc");
    let e: std::io::Error = r.readuntil(b"\n").await.unwrap_err().into();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
}

/// Reads of every size over a real socket, across the size from which a read hands its
/// buffer over instead of copying out of it: nothing is lost or reordered, and what a read
/// returns holds no spare room (a 64 KiB read buffer is never handed out for a few bytes).
#[asyncio::test]
async fn reads_of_every_size_give_back_the_stream_and_no_spare_room() {
    let ((mut r, _w), (_r2, w2)) = pair();
    let sizes = [
        1,
        2047,
        2048,
        2049,
        5000,
        16 * 1024,
        65 * 1024,
        3,
        200_000,
        64 * 1024,
    ];
    let total: usize = sizes.iter().sum();
    let data: Vec<u8> = (0..total).map(|i| (i % 251) as u8).collect();
    let writer = {
        let data = data.clone();
        asyncio::create_task(async move {
            let mut at = 0;
            for n in sizes {
                w2.write(&data[at..at + n]);
                w2.drain().await.unwrap();
                at += n;
            }
            w2.close();
        })
    };
    let mut got = Vec::new();
    let mut turn = 0;
    loop {
        // read(n) with n below, at and above what arrives; readexactly now and then.
        let chunk = match turn % 4 {
            0 => r.read(64 * 1024).await.unwrap(),
            1 => r.read(3000).await.unwrap(),
            2 => r.read(1 << 20).await.unwrap(),
            _ => match r.readexactly(2048).await {
                Ok(c) => c,
                Err(ReadError::IncompleteRead(e)) => e.partial,
                Err(e) => panic!("{e:?}"),
            },
        };
        turn += 1;
        if chunk.is_empty() {
            break;
        }
        assert_eq!(chunk.capacity(), chunk.len());
        got.extend_from_slice(&chunk);
    }
    writer.await.unwrap();
    assert_eq!(got.len(), data.len());
    assert!(got == data, "the stream came back changed");
}

#[asyncio::test]
async fn read_into_takes_what_is_buffered_in_order_then_zero_at_eof() {
    let mut r = fed(b"abcdef", true);
    let mut buf = [0u8; 4];
    assert_eq!(r.read_into(&mut []).await.unwrap(), 0);
    assert_eq!(r.buffer(), b"abcdef", "an empty buffer takes nothing");
    assert_eq!(r.read_into(&mut buf).await.unwrap(), 4);
    assert_eq!(&buf, b"abcd");
    assert_eq!(r.read(1).await.unwrap(), b"e");
    assert_eq!(r.read_into(&mut buf).await.unwrap(), 1);
    assert_eq!(buf[0], b'f');
    assert!(r.at_eof());
    assert_eq!(r.read_into(&mut buf).await.unwrap(), 0);
}

#[asyncio::test]
async fn read_into_waits_for_the_socket_and_a_cancelled_one_loses_nothing() {
    let ((mut r, _w), (_r2, w2)) = pair();
    let mut buf = vec![0u8; 64 * 1024];
    // Nothing has arrived: the read waits, and is cancelled by the timeout.
    assert!(!ready_within(r.read_into(&mut buf), 0.01).await);
    let data: Vec<u8> = (0..200_000).map(|i| (i % 251) as u8).collect();
    let writer = {
        let data = data.clone();
        asyncio::create_task(async move {
            for chunk in data.chunks(7_000) {
                w2.write(chunk);
                w2.drain().await.unwrap();
            }
            w2.close();
        })
    };
    // A large buffer is read into straight from the socket; a small one through the
    // reader's buffer, which then holds the rest: both give the stream back in order.
    let mut small = [0u8; 100];
    let mut got = Vec::new();
    for turn in 0.. {
        let n = if turn % 3 == 2 {
            r.read_into(&mut small).await.unwrap()
        } else {
            r.read_into(&mut buf).await.unwrap()
        };
        if n == 0 {
            break;
        }
        got.extend_from_slice(if turn % 3 == 2 {
            &small[..n]
        } else {
            &buf[..n]
        });
    }
    writer.await.unwrap();
    assert!(got == data, "the stream came back changed");
    assert_eq!(r.read_into(&mut buf).await.unwrap(), 0, "the end stays");
}

#[asyncio::test]
async fn read_into_gives_bytes_that_arrived_before_close() {
    let ((mut ra, wa), (_rb, wb)) = pair();
    wb.write(b"late reply\n");
    asyncio::sleep(0.001).await;
    wa.close();
    let mut buf = vec![0u8; 64 * 1024];
    assert_eq!(ra.read_into(&mut buf).await.unwrap(), 11);
    assert_eq!(&buf[..11], b"late reply\n");
    assert_eq!(ra.read_into(&mut buf).await.unwrap(), 0);
}

#[asyncio::test]
async fn read_into_reports_a_lost_connection_and_keeps_reporting_it() {
    let (a, b) = asyncio::net::UnixStream::pair().unwrap();
    let (mut ra, wa) = open_socket(a);
    // The peer (a bare socket) closes with bytes it never read.
    wa.write(b"unread");
    wa.drain().await.unwrap();
    drop(b);
    let mut buf = vec![0u8; 64 * 1024];
    let first = ra.read_into(&mut buf).await;
    let second = ra.read_into(&mut buf).await;
    // Linux resets a Unix stream closed with unread bytes; the reader keeps the error.
    let (first, second) = (first.unwrap_err(), second.unwrap_err());
    assert_eq!(first.kind(), std::io::ErrorKind::ConnectionReset);
    assert_eq!(second.kind(), first.kind());
}

#[asyncio::test]
async fn a_saved_error_comes_before_buffered_bytes_as_in_asyncio() {
    let mut r = StreamReader::new();
    r.feed_data(b"buffered");
    r.set_exception(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
    let reset = std::io::ErrorKind::ConnectionReset;
    assert_eq!(r.read_into(&mut [0u8; 8]).await.unwrap_err().kind(), reset);
    assert_eq!(r.read_into(&mut []).await.unwrap_err().kind(), reset);
    assert_eq!(r.read(4).await.unwrap_err().kind(), reset);
    assert_eq!(r.read(0).await.unwrap_err().kind(), reset);
    assert_eq!(r.buffer(), b"buffered", "nothing is consumed");
}

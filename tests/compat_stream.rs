//! futures-core `Stream`s and futures-sink `Sink`s on our types (feature `stream`).
#![cfg(feature = "stream")]

use asyncio::net::{TcpListener, TcpStream, UnixStream};
use asyncio::{Queue, ReadError, StreamReader, TaskError, open_socket};
use futures::{SinkExt, StreamExt};
use std::future::Future;
use std::pin::Pin;

type Boxed<T> = Pin<Box<dyn Future<Output = T>>>;

fn after(secs: f64, v: &'static str) -> Boxed<&'static str> {
    Box::pin(async move {
        asyncio::sleep(secs).await;
        v
    })
}

#[asyncio::test(virtual_time)]
async fn as_completed_streams_outcomes_in_finishing_order_then_timeouts() {
    let futs = vec![
        after(3.0, "c"),
        after(1.0, "a"),
        after(2.0, "b"),
        after(9.0, "late"),
    ];
    let got: Vec<_> = StreamExt::collect(asyncio::as_completed(futs).timeout(5.0)).await;
    assert_eq!(got.len(), 4);
    let ok: Vec<_> = got[..3].iter().map(|r| *r.as_ref().unwrap()).collect();
    assert_eq!(ok, ["a", "b", "c"]);
    assert!(matches!(got[3], Err(TaskError::Timeout(_))));
    assert_eq!(asyncio::get_running_loop().time(), 5.0);
}

/// What repeated `readline` gives, to compare `lines()` with.
async fn by_readline(mut r: StreamReader) -> Vec<Result<Vec<u8>, String>> {
    let mut out = Vec::new();
    loop {
        match r.readline().await {
            Ok(l) if l.is_empty() => return out,
            Ok(l) => out.push(Ok(l)),
            Err(e) => out.push(Err(format!("{e:?}"))),
        }
    }
}

fn reader_of(parts: &[&[u8]], limit: usize) -> StreamReader {
    let mut r = StreamReader::with_limit(limit);
    for p in parts {
        r.feed_data(p);
    }
    r.feed_eof();
    r
}

#[asyncio::test]
async fn lines_give_what_readline_gives_even_past_the_limit() {
    let long = vec![b'x'; 40];
    let cases: Vec<Vec<&[u8]>> = vec![
        vec![b"a\nb\n"],
        vec![b"no newline at all"],
        vec![b"short\n", &long, b"\nafter\n"],
        vec![&long, b"tail"],
        vec![b"", b"\n\n", b"x"],
    ];
    for parts in cases {
        let expected = by_readline(reader_of(&parts, 16)).await;
        let got: Vec<_> = reader_of(&parts, 16)
            .lines()
            .map(|r| r.map_err(|e| format!("{e:?}")))
            .collect()
            .await;
        assert_eq!(got, expected, "for {parts:?}");
    }
}

#[asyncio::test]
async fn lines_over_a_socket_cut_anywhere() {
    let (a, b) = UnixStream::pair().unwrap();
    let sending = asyncio::create_task(async move {
        for p in [&b"one\ntw"[..], b"o\n", b"thr", b"ee\nend"] {
            a.write_all(p).await.unwrap();
            asyncio::sleep(0.001).await;
        }
    });
    let (reader, _w) = open_socket(b);
    let mut lines = reader.lines();
    let mut got = Vec::new();
    while let Some(line) = lines.next().await {
        got.push(line.unwrap());
    }
    assert_eq!(got, [&b"one\n"[..], b"two\n", b"three\n", b"end"]);
    assert!(
        lines.next().await.is_none(),
        "a finished Lines stays finished"
    );
    sending.await.unwrap();
}

#[asyncio::test]
async fn a_reset_reaches_lines_as_an_error() {
    let (a, b) = UnixStream::pair().unwrap();
    let (mut reader, _w) = open_socket(b);
    reader.set_exception(std::io::ErrorKind::ConnectionReset.into());
    drop(a);
    let mut lines = reader.lines();
    match lines.next().await {
        Some(Err(ReadError::Io(e))) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset),
        other => panic!("{other:?}"),
    }
}

#[asyncio::test]
async fn incoming_accepts_each_connection() {
    let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    let clients = asyncio::create_task(async move {
        let mut v = Vec::new();
        for i in 0..3u8 {
            let c = TcpStream::connect(addr).await.unwrap();
            c.write_all(&[i]).await.unwrap();
            v.push(c);
        }
        v
    });
    let accepted: Vec<_> = listener.incoming().take(3).collect().await;
    let mut firsts = Vec::new();
    for a in accepted {
        let (s, peer) = a.unwrap();
        assert_eq!(s.peer_addr().unwrap(), peer);
        let mut b = [0];
        s.read_exact(&mut b).await.unwrap();
        firsts.push(b[0]);
    }
    firsts.sort();
    assert_eq!(firsts, [0, 1, 2]);
    drop(clients.await.unwrap());
}

#[asyncio::test]
async fn a_queue_streams_until_shut_down_and_empty() {
    let q = Queue::new(2);
    let producer = {
        let q = q.clone();
        asyncio::create_task(async move {
            for i in 0..10 {
                q.put(i).await.unwrap();
            }
            q.shutdown(false);
        })
    };
    let got: Vec<i32> = q.stream().collect().await;
    assert_eq!(got, (0..10).collect::<Vec<_>>());
    producer.await.unwrap();
}

#[asyncio::test]
async fn a_queue_sink_waits_for_room_and_keeps_order() {
    let q = Queue::new(1);
    let consumer = {
        let q = q.clone();
        asyncio::create_task(async move {
            let mut v = Vec::new();
            while let Ok(x) = q.get().await {
                v.push(x);
                asyncio::sleep(0).await;
            }
            v
        })
    };
    let mut sink = q.sink();
    sink.send_all(&mut futures::stream::iter((0..20).map(Ok)))
        .await
        .unwrap();
    sink.close().await.unwrap();
    assert!(!q.is_shut_down(), "closing the sink leaves the queue open");
    q.shutdown(false);
    assert_eq!(consumer.await.unwrap(), (0..20).collect::<Vec<_>>());
    // Shut down: the item comes back in the error.
    let err = sink.send(99).await.unwrap_err();
    assert_eq!(err.0, 99);
}

#[asyncio::test(virtual_time)]
async fn a_full_queue_holds_a_sink_back() {
    let q = Queue::new(1);
    let mut sink = q.sink();
    sink.send(1).await.unwrap();
    let blocked = asyncio::wait_for(sink.send(2), 1.0).await;
    assert!(
        blocked.is_err(),
        "a send into a full queue nobody reads finished"
    );
    assert_eq!(q.qsize(), 1);
}

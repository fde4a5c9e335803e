//! The ecosystem's I/O traits on our sockets and streams (features `futures-io` and
//! `tokio-io`): codecs from futures and tokio-util run over them.
#![cfg(all(feature = "futures-io", feature = "tokio-io"))]

use asyncio::net::{TcpListener, TcpStream, UnixStream};
use asyncio::{StreamReader, open_socket};
use futures::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, SinkExt, StreamExt, TryStreamExt};
use std::io::{ErrorKind, IoSlice};
use tokio_util::codec::{FramedRead, FramedWrite, LinesCodec};

async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, _) = listener.accept().await.unwrap();
    (client, server)
}

/// Sends `parts` one at a time with a turn of the loop between, so the reader sees lines cut
/// anywhere, then shuts the write half.
async fn send_in_parts(s: &UnixStream, parts: &[&[u8]]) {
    for p in parts {
        s.write_all(p).await.unwrap();
        asyncio::sleep(0.001).await;
    }
    s.shutdown(std::net::Shutdown::Write).unwrap();
}

const PARTS: &[&[u8]] = &[b"one\ntw", b"o\n", b"", b"thr", b"ee\nlast without newline"];
const LINES: &[&str] = &["one", "two", "three", "last without newline"];

#[asyncio::test]
async fn futures_lines_over_tcp_with_cut_lines_and_eof() {
    let (client, server) = tcp_pair().await;
    let writer = asyncio::create_task(async move {
        for p in PARTS {
            server.write_all(p).await.unwrap();
            asyncio::sleep(0.001).await;
        }
        server.shutdown(std::net::Shutdown::Write).unwrap();
        server
    });
    let lines: Vec<String> = futures::io::BufReader::new(&client)
        .lines()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(lines, LINES);
    // End of stream stays end of stream.
    let mut buf = [0; 4];
    assert_eq!(AsyncReadExt::read(&mut &client, &mut buf).await.unwrap(), 0);
    drop(writer.await.unwrap());
}

#[asyncio::test]
async fn futures_write_then_close_reaches_the_peer_whole() {
    let (mut client, server) = tcp_pair().await;
    let big: Vec<u8> = (0..3_000_000u32).map(|i| i as u8).collect();
    let expected = big.clone();
    let reading = asyncio::create_task(async move {
        let mut got = Vec::new();
        (&server).read_to_end(&mut got).await.unwrap();
        got
    });
    client.write_all(&big).await.unwrap();
    let n = client
        .write_vectored(&[IoSlice::new(b"ab"), IoSlice::new(b"cd")])
        .await
        .unwrap();
    assert_eq!(
        n, 4,
        "a vectored write of 4 bytes to an empty socket buffer goes whole"
    );
    client.close().await.unwrap();
    let got = reading.await.unwrap();
    assert_eq!(got.len(), expected.len() + 4);
    assert!(got[..expected.len()] == expected[..]);
    assert_eq!(&got[expected.len()..], b"abcd");
}

#[asyncio::test]
async fn tokio_lines_codec_over_a_unix_socket() {
    let (a, b) = UnixStream::pair().unwrap();
    let sending = asyncio::create_task(async move { send_in_parts(&a, PARTS).await });
    let lines: Vec<String> = FramedRead::new(b, LinesCodec::new())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(lines, LINES);
    sending.await.unwrap();
}

#[asyncio::test]
async fn tokio_framed_write_then_shutdown() {
    let (a, b) = UnixStream::pair().unwrap();
    let mut sink = FramedWrite::new(a, LinesCodec::new());
    for l in LINES {
        sink.send(l.to_string()).await.unwrap();
    }
    SinkExt::<String>::close(&mut sink).await.unwrap(); // poll_shutdown: the peer reads EOF
    let mut got = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut &b, &mut got)
        .await
        .unwrap();
    assert_eq!(got, "one\ntwo\nthree\nlast without newline\n");
    // The write half is shut: the socket still reads, and our side still answers.
    tokio::io::AsyncWriteExt::write_all(&mut &b, b"reply")
        .await
        .unwrap();
    let a = sink.into_inner();
    let mut reply = [0; 5];
    a.read_exact(&mut reply).await.unwrap();
    assert_eq!(&reply, b"reply");
}

#[asyncio::test]
async fn tokio_reads_into_a_small_buffer_in_pieces() {
    let (a, mut b) = UnixStream::pair().unwrap();
    a.write_all(b"0123456789").await.unwrap();
    drop(a);
    let mut small = [0u8; 3];
    let mut got = Vec::new();
    loop {
        let mut rb = tokio::io::ReadBuf::new(&mut small);
        std::future::poll_fn(|cx| {
            tokio::io::AsyncRead::poll_read(std::pin::Pin::new(&mut b), cx, &mut rb)
        })
        .await
        .unwrap();
        if rb.filled().is_empty() {
            break;
        }
        assert!(rb.filled().len() <= 3);
        got.extend_from_slice(rb.filled());
    }
    assert_eq!(got, b"0123456789");
}

#[asyncio::test]
async fn stream_reader_is_a_buffered_reader_for_both() {
    let (a, b) = UnixStream::pair().unwrap();
    let ((mut ra, _wa), (_rb, wb)) = (open_socket(a), open_socket(b));
    wb.write(b"alpha\nbeta\ngamma\n");
    wb.write(b"rest");
    wb.write_eof();
    let mut line = String::new();
    AsyncBufReadExt::read_line(&mut ra, &mut line)
        .await
        .unwrap();
    assert_eq!(line, "alpha\n");
    line.clear();
    tokio::io::AsyncBufReadExt::read_line(&mut ra, &mut line)
        .await
        .unwrap();
    assert_eq!(line, "beta\n");
    // asyncio's own API still sees the same buffer.
    assert_eq!(ra.readline().await.unwrap(), b"gamma\n");
    let mut rest = Vec::new();
    AsyncReadExt::read_to_end(&mut ra, &mut rest).await.unwrap();
    assert_eq!(rest, b"rest");
    assert!(ra.at_eof());
}

#[asyncio::test]
async fn stream_reader_lines_through_futures() {
    let (a, b) = UnixStream::pair().unwrap();
    let sending = asyncio::create_task(async move { send_in_parts(&a, PARTS).await });
    let (reader, _w): (StreamReader, _) = open_socket(b);
    let lines: Vec<String> = AsyncBufReadExt::lines(reader).try_collect().await.unwrap();
    assert_eq!(lines, LINES);
    sending.await.unwrap();
}

#[asyncio::test]
async fn stream_writer_write_all_and_close_with_both_traits() {
    let (a, b) = UnixStream::pair().unwrap();
    let ((_ra, mut wa), (mut rb, _wb)) = (open_socket(a), open_socket(b));
    AsyncWriteExt::write_all(&mut wa, b"futures ")
        .await
        .unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut wa, b"tokio")
        .await
        .unwrap();
    AsyncWriteExt::close(&mut wa).await.unwrap();
    assert_eq!(rb.read_to_end().await.unwrap(), b"futures tokio");
    let err = AsyncWriteExt::write_all(&mut wa, b"late")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BrokenPipe);
}

#[asyncio::test(virtual_time)]
async fn stream_writer_waits_while_over_the_high_water_mark() {
    let (a, _b) = UnixStream::pair().unwrap();
    let (_ra, mut wa) = open_socket(a);
    wa.set_write_buffer_limits(Some(64 * 1024), None);
    let big = vec![7u8; 64 << 20];
    // Nobody reads: the socket and then our buffer fill, and the write must wait.
    let waited = asyncio::wait_for(AsyncWriteExt::write_all(&mut wa, &big), 5.0).await;
    assert!(
        waited.is_err(),
        "write_all of 64 MiB to a peer that never reads finished"
    );
    assert!(wa.get_write_buffer_size() < 16 << 20);
}

#[asyncio::test]
async fn lines_of_a_tcp_stream_reach_tokio_and_futures_alike() {
    let (client, server) = tcp_pair().await;
    let mut sink = FramedWrite::new(&server, LinesCodec::new());
    sink.send("hello").await.unwrap();
    let mut lines = futures::io::BufReader::new(&client).lines();
    assert_eq!(lines.next().await.unwrap().unwrap(), "hello");
}

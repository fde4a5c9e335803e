//! Server: options, close / wait_closed / close_clients / abort_clients, handler isolation.

use asyncio::{Server, StreamReader, StreamWriter, open_connection, start_server};
use std::io::ErrorKind;

fn port_of(server: &Server) -> u16 {
    server.sockets()[0].as_inet().unwrap().port()
}

/// A client of `server`, on its first socket.
async fn connect(server: &Server) -> (StreamReader, StreamWriter) {
    open_connection("127.0.0.1", port_of(server)).await.unwrap()
}

async fn idle(_r: StreamReader, _w: StreamWriter) {
    asyncio::sleep(3600).await;
}

#[asyncio::test]
async fn abort_clients_resets_peers() {
    let server = start_server(idle, "127.0.0.1", 0).await.unwrap();
    let (mut r, _w) = connect(&server).await;
    asyncio::sleep(0.01).await;
    server.abort_clients();
    let err = r.read(10).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionReset);
}

#[asyncio::test]
async fn close_clients_then_wait_closed() {
    let server = start_server(idle, "127.0.0.1", 0).await.unwrap();
    let port = port_of(&server);
    let mut readers = Vec::new();
    for _ in 0..5 {
        readers.push(open_connection("127.0.0.1", port).await.unwrap());
    }
    asyncio::sleep(0.01).await;
    server.close();
    assert!(server.sockets().is_empty());
    assert!(!server.is_serving());
    // Closed, but connections remain: wait_closed waits (asyncio 3.12+).
    let waiting = {
        let server = server.clone();
        asyncio::create_task(async move { server.wait_closed().await })
    };
    asyncio::sleep(0.01).await;
    assert!(!waiting.done());
    // New connections are refused.
    let err = open_connection("127.0.0.1", port).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
    server.close_clients();
    waiting.await.unwrap();
    for (mut r, _w) in readers {
        assert_eq!(r.read(10).await.unwrap(), b"");
    }
}

#[asyncio::test]
async fn start_serving_false_listens_later() {
    let server = start_server(
        |_r, w: StreamWriter| async move { w.write(b"hi") },
        "127.0.0.1",
        0,
    )
    .start_serving(false)
    .await
    .unwrap();
    let port = port_of(&server);
    assert!(!server.is_serving());
    let err = open_connection("127.0.0.1", port).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
    server.start_serving().await.unwrap();
    let (mut r, _w) = open_connection("127.0.0.1", port).await.unwrap();
    assert_eq!(r.read(10).await.unwrap(), b"hi");
}

#[asyncio::test]
async fn a_panicking_handler_ends_only_its_connection() {
    let server = start_server(
        |mut r: StreamReader, w: StreamWriter| async move {
            let line = r.readline().await.unwrap();
            if line == b"panic\n" {
                panic!("handler failed on purpose");
            }
            w.write(&line);
        },
        "127.0.0.1",
        0,
    )
    .await
    .unwrap();
    let port = port_of(&server);
    let (mut r1, w1) = open_connection("127.0.0.1", port).await.unwrap();
    let (mut r2, w2) = open_connection("127.0.0.1", port).await.unwrap();
    w1.write(b"panic\n");
    assert_eq!(r1.read(10).await.unwrap(), b"");
    w2.write(b"fine\n");
    assert_eq!(r2.readline().await.unwrap(), b"fine\n");
    assert!(server.is_serving());
}

#[asyncio::test]
async fn handlers_may_return_results() {
    let server = start_server(
        |mut r: StreamReader, w: StreamWriter| async move {
            let data = r.readexactly(3).await?;
            w.write(&data);
            std::io::Result::Ok(())
        },
        "127.0.0.1",
        0,
    )
    .await
    .unwrap();
    let (mut r, w) = connect(&server).await;
    w.write(b"abc");
    assert_eq!(r.read(10).await.unwrap(), b"abc");
}

#[asyncio::test]
async fn serve_forever_returns_when_closed_and_refuses_twice() {
    let server = start_server(idle, "127.0.0.1", 0).await.unwrap();
    let runner = {
        let server = server.clone();
        asyncio::create_task(async move { server.serve_forever().await })
    };
    asyncio::sleep(0).await;
    let err = server.serve_forever().await.unwrap_err();
    assert!(err.to_string().contains("already"));
    server.close();
    runner.await.unwrap().unwrap();
    assert!(server.serve_forever().await.is_err());
}

#[asyncio::test]
async fn cancelling_serve_forever_closes_the_server() {
    let server = start_server(idle, "127.0.0.1", 0).await.unwrap();
    let port = port_of(&server);
    let runner = {
        let server = server.clone();
        asyncio::create_task(async move { server.serve_forever().await })
    };
    asyncio::sleep(0).await;
    runner.cancel();
    assert!(runner.await.is_err());
    assert!(!server.is_serving());
    let err = open_connection("127.0.0.1", port).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
}

#[asyncio::test]
async fn dropping_the_server_closes_the_listener() {
    let server = start_server(idle, "127.0.0.1", 0).await.unwrap();
    let port = port_of(&server);
    drop(server);
    let err = open_connection("127.0.0.1", port).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
}

#[asyncio::test]
async fn bind_errors_keep_their_kind() {
    let server = start_server(idle, "127.0.0.1", 0).await.unwrap();
    let port = port_of(&server);
    let err = start_server(idle, "127.0.0.1", port)
        .reuse_address(false)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AddrInUse);
    assert!(
        err.to_string().contains("error while attempting to bind"),
        "{err}"
    );
}

#[asyncio::test]
async fn reuse_port_shares_a_port() {
    let a = start_server(idle, "127.0.0.1", 0)
        .reuse_port(true)
        .await
        .unwrap();
    let b = start_server(idle, "127.0.0.1", port_of(&a))
        .reuse_port(true)
        .backlog(10)
        .await
        .unwrap();
    assert_eq!(port_of(&a), port_of(&b));
}

#[asyncio::test]
async fn all_interfaces_when_host_is_none() {
    let server = start_server(|_r, w: StreamWriter| async move { w.write(b"x") }, None, 0)
        .await
        .unwrap();
    let socks = server.sockets();
    assert!(!socks.is_empty());
    assert!(socks[0].as_inet().unwrap().ip().is_unspecified());
    let (mut r, _w) = open_connection("127.0.0.1", socks[0].as_inet().unwrap().port())
        .await
        .unwrap();
    assert_eq!(r.read(1).await.unwrap(), b"x");
}

#[asyncio::test]
async fn the_limit_option_reaches_the_reader() {
    let server = start_server(
        |r: StreamReader, w: StreamWriter| async move { w.write(r.limit().to_string().as_bytes()) },
        "127.0.0.1",
        0,
    )
    .limit(1234)
    .await
    .unwrap();
    let (mut r, _w) = connect(&server).await;
    assert_eq!(r.read(10).await.unwrap(), b"1234");
}

#[asyncio::test]
async fn open_connection_resolves_names() {
    let server = start_server(
        |_r, w: StreamWriter| async move { w.write(b"named") },
        "127.0.0.1",
        0,
    )
    .await
    .unwrap();
    let (mut r, w) = open_connection("localhost", port_of(&server))
        .await
        .unwrap();
    assert_eq!(r.read(10).await.unwrap(), b"named");
    assert!(w.peername().unwrap().as_inet().unwrap().ip().is_loopback());
}

#[asyncio::test]
async fn connection_errors_have_real_kinds() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let err = open_connection("127.0.0.1", port).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
}

/// asyncio's `ValueError`, before connecting: the listener gets no connection.
#[asyncio::test]
async fn open_connection_refuses_a_zero_limit() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let err = open_connection("127.0.0.1", port)
        .limit(0)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(err.to_string(), "Limit cannot be <= 0");
    let accepted = listener.accept().map(drop).map_err(|e| e.kind());
    assert_eq!(accepted, Err(ErrorKind::WouldBlock), "nothing connected");
}

#[asyncio::test(virtual_time)]
async fn streams_work_on_a_virtual_clock() {
    let server = start_server(
        |mut r: StreamReader, w: StreamWriter| async move {
            let line = r.readline().await.unwrap();
            asyncio::sleep(30).await; // virtual: no real wait
            w.write(&line);
        },
        "127.0.0.1",
        0,
    )
    .await
    .unwrap();
    let lp = asyncio::get_running_loop();
    let start = lp.time();
    let (mut r, w) = connect(&server).await;
    w.write(b"tick\n");
    assert_eq!(r.readline().await.unwrap(), b"tick\n");
    assert!(lp.time() - start >= 30.0);
}

#[asyncio::test]
async fn a_handler_that_drops_its_writer_still_reads_everything() {
    let got = std::rc::Rc::new(std::cell::Cell::new(0usize));
    let g = got.clone();
    let server = asyncio::start_server(
        move |mut r: asyncio::StreamReader, _unused_writer: asyncio::StreamWriter| {
            let g = g.clone();
            async move {
                // The writer was dropped before this block ran; the connection stays open.
                let all = r.read_to_end().await.unwrap_or_default();
                g.set(all.len());
            }
        },
        "127.0.0.1",
        0,
    )
    .await
    .unwrap();
    let port = match &server.sockets()[0] {
        asyncio::StreamAddr::Inet(a) => a.port(),
        other => panic!("{other:?}"),
    };
    let (_r, w) = asyncio::open_connection("127.0.0.1", port).await.unwrap();
    w.write(&vec![7u8; 1 << 20]);
    w.close();
    w.wait_closed().await.unwrap();
    for _ in 0..500 {
        if got.get() == 1 << 20 {
            break;
        }
        asyncio::sleep(0.01).await;
    }
    assert_eq!(got.get(), 1 << 20);
}

/// A handler's writer knows both ends of its connection: the client's address (which comes
/// with `accept`) as `peername`, and the server's as `sockname`.
#[asyncio::test]
async fn a_handlers_writer_knows_both_ends() {
    let (ends_tx, ends_rx) = std::sync::mpsc::channel();
    let server = start_server(
        move |_r, w: StreamWriter| {
            ends_tx.send((w.peername(), w.sockname())).unwrap();
            async {}
        },
        "127.0.0.1",
        0,
    )
    .await
    .unwrap();
    let (mut r, w) = connect(&server).await;
    assert_eq!(r.read(10).await.unwrap(), b"", "the handler returned");
    let (peer, local) = ends_rx.try_recv().unwrap();
    assert_eq!(peer, w.sockname());
    assert_eq!(local, w.peername());
}

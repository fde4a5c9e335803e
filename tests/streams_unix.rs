//! Unix-domain streams: open_unix_connection, start_unix_server, socket file cleanup.

use asyncio::{StreamAddr, StreamReader, StreamWriter, open_unix_connection, start_unix_server};
use std::io::ErrorKind;

fn sock_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("asyncio-su-{}-{name}.sock", std::process::id()))
}

#[asyncio::test]
async fn echo_over_a_unix_socket() {
    let path = sock_path("echo");
    let server = start_unix_server(
        |mut r: StreamReader, w: StreamWriter| async move {
            while let Some(line) = r.next_line().await.unwrap() {
                w.write(&line);
            }
        },
        &path,
    )
    .await
    .unwrap();
    assert_eq!(server.sockets(), vec![StreamAddr::Unix(Some(path.clone()))]);
    let (mut r, w) = open_unix_connection(&path).limit(1000).await.unwrap();
    assert_eq!(r.limit(), 1000);
    assert_eq!(w.peername(), Some(StreamAddr::Unix(Some(path.clone()))));
    for i in 0..50 {
        let line = format!("line {i}\n");
        w.write(line.as_bytes());
        assert_eq!(r.readline().await.unwrap(), line.as_bytes());
    }
    w.write_eof();
    assert_eq!(r.read(10).await.unwrap(), b"");
    server.close();
    server.wait_closed().await;
    assert!(!path.exists(), "the socket file is removed on close");
}

#[asyncio::test]
async fn a_stale_socket_file_is_replaced() {
    let path = sock_path("stale");
    let _ = std::fs::remove_file(&path);
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    let server = start_unix_server(|_r, w: StreamWriter| async move { w.write(b"new") }, &path)
        .await
        .unwrap();
    let (mut r, _w) = open_unix_connection(&path).await.unwrap();
    assert_eq!(r.read(10).await.unwrap(), b"new");
    drop(server);
    assert!(!path.exists());
}

#[asyncio::test]
async fn a_regular_file_is_not_replaced() {
    let path = sock_path("regular");
    std::fs::write(&path, b"data").unwrap();
    let err = start_unix_server(|_r, _w| async {}, &path)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AddrInUse);
    assert_eq!(std::fs::read(&path).unwrap(), b"data");
    std::fs::remove_file(&path).unwrap();
}

#[asyncio::test]
async fn connect_errors() {
    let path = sock_path("missing");
    let _ = std::fs::remove_file(&path);
    let err = open_unix_connection(&path).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

/// asyncio's `ValueError`, before connecting: a listener that exists gets no connection.
#[asyncio::test]
async fn open_unix_connection_refuses_a_zero_limit() {
    let path = sock_path("limit0");
    let _ = std::fs::remove_file(&path);
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    listener.set_nonblocking(true).unwrap();
    let err = open_unix_connection(&path).limit(0).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(err.to_string(), "Limit cannot be <= 0");
    let accepted = listener.accept().map(drop).map_err(|e| e.kind());
    assert_eq!(accepted, Err(ErrorKind::WouldBlock), "nothing connected");
    std::fs::remove_file(&path).unwrap();
}

/// The peer address accept gives a unix server is getpeername's: unnamed for an unbound
/// client, the path for a client bound to one.
#[asyncio::test]
async fn unix_server_peername_from_accept_matches_getpeername() {
    let dir = std::env::temp_dir();
    let path = dir.join(format!(
        "asyncio-peer-from-accept-{}.sock",
        std::process::id()
    ));
    let client_path = dir.join(format!(
        "asyncio-peer-from-accept-{}-client.sock",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&client_path);
    let (tx, rx) = std::sync::mpsc::channel();
    let server = start_unix_server(
        move |_r, w: StreamWriter| {
            tx.send(w.peername()).unwrap();
            async {}
        },
        &path,
    )
    .await
    .unwrap();
    // Unbound client.
    let unnamed = std::os::unix::net::UnixStream::connect(&path).unwrap();
    // Client bound to a path first.
    let s = socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::STREAM, None).unwrap();
    s.bind(&socket2::SockAddr::unix(&client_path).unwrap())
        .unwrap();
    s.connect(&socket2::SockAddr::unix(&path).unwrap()).unwrap();
    let mut got = Vec::new();
    for _ in 0..100 {
        asyncio::sleep(0.01).await;
        while let Ok(p) = rx.try_recv() {
            got.push(p);
        }
        if got.len() == 2 {
            break;
        }
    }
    assert_eq!(
        got,
        vec![
            Some(StreamAddr::Unix(None)),
            Some(StreamAddr::Unix(Some(client_path.clone())))
        ]
    );
    drop((unnamed, s));
    server.close();
    server.wait_closed().await;
    let _ = std::fs::remove_file(&client_path);
}

//! Faults found by hostile testing (issue 20): a handler closure that panics, `limit(0)`, a
//! TLS writer dropped after its loop. Each test failed before its fix. (Idle resets: see
//! `streams_idle_reset.rs`.)

mod logs;
#[cfg(feature = "tls")]
mod tls_certs;

use asyncio::{
    StreamReader, StreamWriter, open_connection, open_unix_connection, start_server,
    start_unix_server,
};
use std::cell::Cell;
use std::future::Future;
use std::io::ErrorKind;
use std::pin::Pin;
use std::rc::Rc;

type Served = Pin<Box<dyn Future<Output = ()>>>;

/// A handler closure that panics with `message` when called for the first connection, and
/// echoes one read on every later one.
fn panics_first(message: &'static str) -> impl Fn(StreamReader, StreamWriter) -> Served {
    let calls = Rc::new(Cell::new(0));
    move |mut r: StreamReader, w: StreamWriter| -> Served {
        calls.set(calls.get() + 1);
        if calls.get() == 1 {
            panic!("{message}");
        }
        Box::pin(async move {
            let data = r.read(100).await.unwrap();
            w.write(&data);
            w.close();
        })
    }
}

/// The first client's connection is closed without an answer; the second is served.
async fn first_closed_second_served(
    connect: impl Fn() -> Pin<Box<dyn Future<Output = (StreamReader, StreamWriter)>>>,
) {
    let (mut r1, w1) = connect().await;
    w1.write(b"one");
    let first = asyncio::wait_for(r1.read(100), 10.0)
        .await
        .expect("the first connection is closed, not left hanging");
    assert!(
        matches!(&first, Ok(b) if b.is_empty()) || first.is_err(),
        "the first connection is closed: {first:?}"
    );
    let (mut r2, w2) = connect().await;
    w2.write(b"two");
    // Before the fix, the accept loop had died: the kernel still completed the connection,
    // and the read waited forever.
    let answer = asyncio::wait_for(r2.read(100), 10.0).await;
    assert_eq!(
        answer.expect("the second connection is served").unwrap(),
        b"two"
    );
}

#[asyncio::test]
async fn a_tcp_handler_closure_that_panics_costs_its_connection_only() {
    logs::capture();
    let server = start_server(panics_first("boom-tcp"), "127.0.0.1", 0)
        .await
        .unwrap();
    let port = server.sockets()[0].as_inet().unwrap().port();
    first_closed_second_served(|| {
        Box::pin(async move { open_connection("127.0.0.1", port).await.unwrap() })
    })
    .await;
    assert!(server.is_serving());
    assert_eq!(
        logs::count(&["ERROR", "client_connected_cb", "boom-tcp"]),
        1
    );
}

#[asyncio::test]
async fn a_unix_handler_closure_that_panics_costs_its_connection_only() {
    logs::capture();
    let dir = std::env::temp_dir().join(format!("asyncio-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("panic.sock");
    let server = start_unix_server(panics_first("boom-unix"), &path)
        .await
        .unwrap();
    let p = path.clone();
    first_closed_second_served(move || {
        let p = p.clone();
        Box::pin(async move { open_unix_connection(p).await.unwrap() })
    })
    .await;
    assert!(server.is_serving());
    assert_eq!(
        logs::count(&["ERROR", "client_connected_cb", "boom-unix"]),
        1
    );
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}

#[asyncio::test]
async fn a_server_refuses_limit_zero_when_started() {
    let err = start_server(|_r, _w| async {}, "127.0.0.1", 0)
        .limit(0)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(err.to_string(), "Limit cannot be <= 0");
    let path = std::env::temp_dir().join(format!("asyncio-limit0-{}.sock", std::process::id()));
    let err = start_unix_server(|_r, _w| async {}, &path)
        .limit(0)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(!path.exists(), "nothing is bound");
}

#[cfg(feature = "tls")]
#[asyncio::test]
async fn a_tls_handler_closure_that_panics_costs_its_connection_only() {
    logs::capture();
    let certs = tls_certs::certs();
    let server = start_server(panics_first("boom-tls"), "127.0.0.1", 0)
        .ssl(certs.server.clone())
        .await
        .unwrap();
    let port = server.sockets()[0].as_inet().unwrap().port();
    let client = certs.client.clone();
    first_closed_second_served(move || {
        let client = client.clone();
        Box::pin(async move {
            open_connection("localhost", port)
                .ssl(client)
                .await
                .unwrap()
        })
    })
    .await;
    assert!(server.is_serving());
    assert_eq!(
        logs::count(&["ERROR", "client_connected_cb", "boom-tls"]),
        1
    );
}

/// A TLS writer with unsent data dropped after its loop returned (kept past `run`, or dropped
/// while a panic unwinds out of it): its close cannot flush on a loop that is gone, so the
/// connection is closed at once. Before, starting the shutdown timer panicked ("no running
/// event loop"), which aborts the process when it happens inside a `Drop` during a panic.
#[cfg(feature = "tls")]
#[test]
fn a_tls_writer_dropped_after_its_loop_closes_the_connection() {
    let certs = tls_certs::certs();
    let (server_certs, client) = (certs.server.clone(), certs.client.clone());
    let mut runner = asyncio::Runner::new();
    let (server, kept) = runner.run(async move {
        let server = start_server(|_r, _w| asyncio::sleep(3600), "127.0.0.1", 0)
            .ssl(server_certs)
            .await
            .unwrap();
        let port = server.sockets()[0].as_inet().unwrap().port();
        let (r, w) = open_connection("localhost", port)
            .ssl(client)
            .await
            .unwrap();
        drop(r);
        // More than the socket takes: the close has to wait for a flush.
        w.write(&vec![7u8; 8 << 20]);
        asyncio::sleep(0.05).await;
        (server, w)
    });
    drop(kept);
    drop(server);
    runner.close();
}

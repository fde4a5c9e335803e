//! Faults found by hostile testing (issue 20): a handler closure that panics, `limit(0)`,
//! idle connections reset by their peers. Each test of a fault failed before its fix.

mod logs;
#[cfg(feature = "tls")]
mod tls_certs;

use asyncio::{
    open_connection, open_unix_connection, start_server, start_unix_server, StreamReader,
    StreamWriter,
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
    let first = r1.read(100).await;
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

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

/// Peers that reset their connections while the handlers wait on something else (a sleep,
/// not a read): the server lets go of every fd, as CPython's eager reader does, and each
/// handler's next read, and its drain, return the reset.
#[asyncio::test]
async fn idle_connections_reset_by_their_peers_are_closed() {
    const CLIENTS: usize = 50;
    let outcomes = Rc::new(std::cell::RefCell::new(Vec::new()));
    let resets = asyncio::Event::new();
    let seen = outcomes.clone();
    let go = resets.clone();
    let server = start_server(
        move |mut r: StreamReader, w: StreamWriter| {
            let (seen, go) = (seen.clone(), go.clone());
            async move {
                go.wait().await;
                let read = r.read(10).await.map_err(|e| e.kind());
                w.write(b"late");
                let drained = w.drain().await.map_err(|e| e.kind());
                seen.borrow_mut().push((read, drained));
            }
        },
        "127.0.0.1",
        0,
    )
    .await
    .unwrap();
    let port = server.sockets()[0].as_inet().unwrap().port();
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        clients.push(open_connection("127.0.0.1", port).await.unwrap());
    }
    asyncio::sleep(0.05).await;
    // Both ends of every connection are open; the client ends close below.
    let before = open_fds() - 2 * CLIENTS;
    for (_r, w) in &clients {
        w.abort();
    }
    drop(clients);
    // The resets arrive while every handler waits on the event.
    let mut held = usize::MAX;
    for _ in 0..200 {
        asyncio::sleep(0.01).await;
        held = open_fds() - before;
        if held == 0 {
            break;
        }
    }
    assert_eq!(held, 0, "fds held after the peers reset");
    resets.set();
    for _ in 0..100 {
        if outcomes.borrow().len() == CLIENTS {
            break;
        }
        asyncio::sleep(0.01).await;
    }
    let outcomes = outcomes.borrow();
    assert_eq!(outcomes.len(), CLIENTS);
    for outcome in outcomes.iter() {
        assert_eq!(
            *outcome,
            (
                Err(ErrorKind::ConnectionReset),
                Err(ErrorKind::ConnectionReset)
            )
        );
    }
}

/// A peer that resets while the handler is busy elsewhere, after sending a request: what the
/// handler had already read stays readable; only then the reset is reported.
#[asyncio::test]
async fn buffered_bytes_stay_readable_after_an_idle_reset() {
    let got = Rc::new(std::cell::RefCell::new(None));
    let seen = got.clone();
    let server = start_server(
        move |mut r: StreamReader, _w: StreamWriter| {
            let seen = seen.clone();
            async move {
                let first = r.readexactly(2).await.unwrap();
                // The rest of the request is in the reader's buffer now; the peer resets
                // while this handler sleeps.
                asyncio::sleep(0.2).await;
                let rest = r.read(100).await.map_err(|e| e.kind());
                let after = r.read(100).await.map_err(|e| e.kind());
                *seen.borrow_mut() = Some((first, rest, after));
            }
        },
        "127.0.0.1",
        0,
    )
    .await
    .unwrap();
    let port = server.sockets()[0].as_inet().unwrap().port();
    let (_r, w) = open_connection("127.0.0.1", port).await.unwrap();
    w.write(b"hello");
    asyncio::sleep(0.05).await;
    w.abort();
    asyncio::sleep(0.3).await;
    let got = got.borrow_mut().take().expect("the handler finished");
    assert_eq!(got.0, b"he");
    assert_eq!(got.1, Ok(b"llo".to_vec()));
    assert_eq!(got.2, Err(ErrorKind::ConnectionReset));
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

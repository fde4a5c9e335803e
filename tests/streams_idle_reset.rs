//! Connections reset by their peers while their handlers read nothing (issue 20, point 2):
//! the server lets go of each fd at once, as CPython's eager reader does, and the handler's
//! next reads return what had arrived, then the reset.
//!
//! The tests watch the server's own sockets in /proc/self/fd: counting all the process's fds
//! was flaky on a loaded machine, where the loop and its pool may open one meanwhile.

use asyncio::{StreamReader, StreamWriter, open_connection, start_server};
use std::cell::RefCell;
use std::io::ErrorKind;
use std::os::fd::RawFd;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Mutex;

static ALONE: Mutex<()> = Mutex::new(());

type Sockets = Rc<RefCell<Vec<(RawFd, PathBuf)>>>;

/// What /proc says `fd` is (`socket:[INODE]`), if it is open.
fn fd_target(fd: RawFd) -> Option<PathBuf> {
    std::fs::read_link(format!("/proc/self/fd/{fd}")).ok()
}

/// Notes the server's end of a connection, from its handler.
fn note_socket(sockets: &Sockets, w: &StreamWriter) {
    let fd = w.socket_fd().expect("a connection has its socket");
    let target = fd_target(fd).expect("the socket is open");
    sockets.borrow_mut().push((fd, target));
}

/// Waits (up to 5 s) until none of `sockets` is open any more; returns how many still are.
async fn still_open(sockets: &Sockets) -> usize {
    let open = || {
        sockets
            .borrow()
            .iter()
            .filter(|(fd, target)| fd_target(*fd).as_ref() == Some(target))
            .count()
    };
    for _ in 0..500 {
        if open() == 0 {
            break;
        }
        asyncio::sleep(0.01).await;
    }
    open()
}

/// Waits (up to 10 s) until the server has accepted `n` connections: its end of each is open
/// only once the handler runs, and on a loaded machine that can take a while.
async fn accepted_reaches(sockets: &Sockets, n: usize) {
    for _ in 0..1000 {
        if sockets.borrow().len() >= n {
            return;
        }
        asyncio::sleep(0.01).await;
    }
    panic!(
        "the server accepted {} of {n} connections",
        sockets.borrow().len()
    );
}

/// 50 peers reset their connections while every handler waits on an event, not a read. Before
/// the fix the server held 44–50 of their fds; now none, and each handler's next read, and
/// its drain, return the reset.
#[test]
fn idle_connections_reset_by_their_peers_are_closed() {
    let _alone = ALONE.lock().unwrap_or_else(|e| e.into_inner());
    asyncio::run(async {
        const CLIENTS: usize = 50;
        let outcomes = Rc::new(RefCell::new(Vec::new()));
        let resets = asyncio::Event::new();
        let sockets = Sockets::default();
        let (seen, go, noted) = (outcomes.clone(), resets.clone(), sockets.clone());
        let server = start_server(
            move |mut r: StreamReader, w: StreamWriter| {
                let (seen, go) = (seen.clone(), go.clone());
                note_socket(&noted, &w);
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
        accepted_reaches(&sockets, CLIENTS).await;
        for (_r, w) in &clients {
            w.abort();
        }
        drop(clients);
        assert_eq!(still_open(&sockets).await, 0, "fds held after the resets");
        resets.set();
        while outcomes.borrow().len() < CLIENTS {
            asyncio::sleep(0.01).await;
        }
        for outcome in outcomes.borrow().iter() {
            let reset = ErrorKind::ConnectionReset;
            assert_eq!(*outcome, (Err(reset), Err(reset)));
        }
    });
}

/// A peer sends a request and resets before the handler reads any of it: the server closes
/// the connection at the reset, and the handler still reads the request, then the reset. And
/// bytes the handler had already buffered stay readable.
#[test]
fn what_arrived_before_a_reset_stays_readable() {
    let _alone = ALONE.lock().unwrap_or_else(|e| e.into_inner());
    asyncio::run(async {
        let got = Rc::new(RefCell::new(None));
        let go = asyncio::Event::new();
        let sockets = Sockets::default();
        let (seen, start, noted) = (got.clone(), go.clone(), sockets.clone());
        let server = start_server(
            move |mut r: StreamReader, w: StreamWriter| {
                let (seen, start) = (seen.clone(), start.clone());
                note_socket(&noted, &w);
                async move {
                    start.wait().await;
                    let first = r.read(2).await.map_err(|e| e.kind());
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
        accepted_reaches(&sockets, 1).await;
        w.write(b"hello");
        asyncio::sleep(0.05).await;
        w.abort();
        drop(w);
        assert_eq!(
            still_open(&sockets).await,
            0,
            "the server closed at the reset"
        );
        go.set();
        while got.borrow().is_none() {
            asyncio::sleep(0.01).await;
        }
        let got = got.borrow_mut().take().unwrap();
        assert_eq!(got.0, Ok(b"he".to_vec()));
        assert_eq!(got.1, Ok(b"llo".to_vec()));
        assert_eq!(got.2, Err(ErrorKind::ConnectionReset));
    });
}

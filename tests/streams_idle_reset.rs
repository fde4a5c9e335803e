//! Connections reset by their peers while their handlers read nothing (issue 20, point 2):
//! the server lets go of each fd at once, as CPython's eager reader does, and the handler's
//! next reads return what had arrived, then the reset.
//!
//! The tests count the process's open fds, so they run one at a time.

use asyncio::{open_connection, start_server, StreamReader, StreamWriter};
use std::cell::RefCell;
use std::io::ErrorKind;
use std::rc::Rc;
use std::sync::Mutex;

static ALONE: Mutex<()> = Mutex::new(());

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

/// Waits (up to 2 s) until at most `fds` are open; returns how many are.
async fn settle_to(fds: usize) -> usize {
    let mut open = open_fds();
    for _ in 0..200 {
        if open <= fds {
            break;
        }
        asyncio::sleep(0.01).await;
        open = open_fds();
    }
    open
}

/// Waits (up to 10 s) until `accepted` reaches `n`: the server's end of each connection is
/// open only once its handler runs, and on a loaded machine that can take a while. Sleeps at
/// least once, so that the loop's timer fd is open before anyone counts fds.
async fn accepted_reaches(accepted: &Rc<std::cell::Cell<usize>>, n: usize) {
    for _ in 0..1000 {
        asyncio::sleep(0.01).await;
        if accepted.get() >= n {
            return;
        }
    }
    panic!("the server accepted {} of {n} connections", accepted.get());
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
        let accepted = Rc::new(std::cell::Cell::new(0));
        let (seen, go, count) = (outcomes.clone(), resets.clone(), accepted.clone());
        let server = start_server(
            move |mut r: StreamReader, w: StreamWriter| {
                let (seen, go) = (seen.clone(), go.clone());
                count.set(count.get() + 1);
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
        accepted_reaches(&accepted, CLIENTS).await;
        // Both ends of every connection are open; the client ends close below.
        let before = open_fds() - 2 * CLIENTS;
        for (_r, w) in &clients {
            w.abort();
        }
        drop(clients);
        let open = settle_to(before).await;
        assert_eq!(open.saturating_sub(before), 0, "fds held after the resets");
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
        let accepted = Rc::new(std::cell::Cell::new(0));
        let (seen, start, count) = (got.clone(), go.clone(), accepted.clone());
        let server = start_server(
            move |mut r: StreamReader, _w: StreamWriter| {
                let (seen, start) = (seen.clone(), start.clone());
                count.set(count.get() + 1);
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
        accepted_reaches(&accepted, 1).await;
        let before = open_fds() - 2;
        w.write(b"hello");
        asyncio::sleep(0.05).await;
        w.abort();
        drop(w);
        let open = settle_to(before).await;
        assert_eq!(
            open.saturating_sub(before),
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

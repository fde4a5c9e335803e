//! `asyncio::net::AsyncFd`: awaiting readiness of any fd from Rust.

use asyncio::net::AsyncFd;
use asyncio::{get_running_loop, sleep, wait_for};
use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;

fn pair() -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    (a, b)
}

#[asyncio::test]
async fn readable_waits_for_data_and_try_io_clears_on_would_block() {
    let (mut tx, rx) = pair();
    let rx = AsyncFd::new(rx).unwrap();
    let writer = asyncio::create_task(async move {
        sleep(0.01).await;
        tx.write_all(b"abc").unwrap();
        tx
    });
    let mut buf = [0; 16];
    let mut guard = wait_for(rx.readable(), 10.0).await.unwrap().unwrap();
    let n = guard.try_io(|s| (&*s).read(&mut buf)).unwrap();
    assert_eq!(&buf[..n], b"abc");
    let e = guard.try_io(|s| (&*s).read(&mut buf)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::WouldBlock);
    // Cleared: the next wait really waits.
    let pending = wait_for(rx.readable(), 0.02).await;
    assert!(pending.is_err(), "readiness was cleared");
    let _tx = writer.await.unwrap();
}

#[asyncio::test]
async fn writable_is_ready_at_once_and_clear_ready_forgets_it() {
    let (tx, _rx) = pair();
    let tx = AsyncFd::new(tx).unwrap();
    let mut guard = wait_for(tx.writable(), 10.0).await.unwrap().unwrap();
    assert_eq!(guard.try_io(|s| (&*s).write(b"hi")).unwrap(), 2);
    guard.clear_ready();
    // Still writable in the kernel, but the remembered readiness is gone: the wait needs
    // a new edge, which an idle socket does not make.
    assert!(wait_for(tx.writable(), 0.02).await.is_err());
}

#[asyncio::test]
async fn an_async_fd_and_add_reader_cannot_share_an_fd() {
    let lp = get_running_loop();
    let (a, _b) = pair();
    let a = AsyncFd::new(a).unwrap();
    let e = lp.add_reader(a.as_raw_fd(), || {}).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e}");
    let a = a.into_inner();
    lp.add_reader(a.as_raw_fd(), || {}).unwrap();
    let e = AsyncFd::new(a.try_clone().unwrap()).map(drop);
    assert!(e.is_ok(), "a dup is another fd: {e:?}");
    assert!(lp.remove_reader(a.as_raw_fd()));
}

#[asyncio::test]
async fn an_fd_a_removed_reader_let_go_of_goes_to_an_async_fd_in_the_same_turn() {
    // remove_reader keeps the fd registered until the end of the next turn, in case it is
    // wanted again; the loop's own registration of it must not wait for that.
    let lp = get_running_loop();
    let (a, b) = pair();
    lp.add_reader(a.as_raw_fd(), || {}).unwrap();
    assert!(lp.remove_reader(a.as_raw_fd()));
    let a = AsyncFd::new(a).unwrap();
    (&b).write_all(b"x").unwrap();
    let mut guard = a.readable().await.unwrap();
    let mut buf = [0; 4];
    let n = guard.try_io(|s| (&*s).read(&mut buf)).unwrap();
    assert_eq!(&buf[..n], b"x");
}

//! `add_reader` / `add_writer` / `remove_*`: asyncio's callbacks on file descriptors.

mod logs;

use asyncio::{get_running_loop, sleep};
use std::cell::{Cell, RefCell};
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::rc::Rc;

fn pair() -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    (a, b)
}

fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two fds pipe2 writes.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) };
    assert_eq!(rc, 0);
    // SAFETY: pipe2 just opened both fds, and nothing else owns them.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

fn eventfd() -> OwnedFd {
    // SAFETY: plain syscall; the fd is checked before it is owned.
    let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
    assert!(fd >= 0);
    // SAFETY: just opened, owned by nobody else.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// Adds `n` to an eventfd's counter, making it readable.
fn eventfd_add(fd: std::os::fd::RawFd, n: u64) {
    // SAFETY: writes 8 bytes from a live u64 to an fd the caller keeps open.
    let written = unsafe { libc::write(fd, (&n as *const u64).cast(), 8) };
    assert_eq!(written, 8);
}

fn counter() -> (Rc<Cell<u32>>, impl FnMut() + 'static) {
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    (calls, move || c.set(c.get() + 1))
}

/// Lets the loop turn `n` times with a look at I/O in each: a loop with work always ready
/// polls I/O only every 61 turns, so a short real sleep empties the ready queue instead.
async fn turns(n: usize) {
    for _ in 0..n {
        sleep(0.001).await;
    }
}

#[asyncio::test]
async fn a_pipe_reader_fires_while_ready_and_stops_after_remove() {
    let lp = get_running_loop();
    let (rx, tx) = pipe();
    // Kept outside the callback: dropping the callback must not close the pipe.
    let rx = Rc::new(std::fs::File::from(rx));
    let mut tx = std::fs::File::from(tx);
    let got = Rc::new(RefCell::new(Vec::new()));
    let sink = got.clone();
    let fd = rx.as_raw_fd();
    let reader = rx.clone();
    lp.add_reader(fd, move || {
        let mut buf = [0; 100];
        let n = (&*reader).read(&mut buf).unwrap();
        sink.borrow_mut().extend_from_slice(&buf[..n]);
    })
    .unwrap();
    turns(3).await;
    assert!(got.borrow().is_empty(), "not called while not ready");
    tx.write_all(b"one").unwrap();
    turns(3).await;
    assert_eq!(&got.borrow()[..], b"one");
    assert!(lp.remove_reader(fd));
    tx.write_all(b"two").unwrap();
    turns(3).await;
    assert_eq!(&got.borrow()[..], b"one", "not called after remove");
}

#[asyncio::test]
async fn an_eventfd_reader_is_level_triggered_until_drained() {
    let lp = get_running_loop();
    let efd = eventfd();
    let fd = efd.as_raw_fd();
    let (calls, count) = counter();
    lp.add_reader(fd, count).unwrap();
    eventfd_add(fd, 1);
    turns(5).await;
    // Nobody reads the counter: it stays readable, and the callback runs every turn.
    assert!(calls.get() >= 4, "called {} times", calls.get());
    let mut value = 0u64;
    // SAFETY: reads 8 bytes into a live u64 from an open eventfd.
    let n = unsafe { libc::read(fd, (&mut value as *mut u64).cast(), 8) };
    assert_eq!(n, 8);
    turns(2).await;
    let settled = calls.get();
    turns(5).await;
    assert_eq!(calls.get(), settled, "not called once drained");
    assert!(lp.remove_reader(fd));
}

#[asyncio::test]
async fn a_reader_that_takes_part_of_the_data_is_called_again_next_turn() {
    let lp = get_running_loop();
    let (mut tx, mut rx) = pair();
    let fd = rx.as_raw_fd();
    let got = Rc::new(RefCell::new(Vec::new()));
    let sink = got.clone();
    lp.add_reader(fd, move || {
        let mut byte = [0; 1];
        if rx.read(&mut byte).unwrap_or(0) == 1 {
            sink.borrow_mut().push(byte[0]);
        }
    })
    .unwrap();
    tx.write_all(b"abcde").unwrap();
    asyncio::wait_for(
        async {
            while got.borrow().len() < 5 {
                turns(1).await;
            }
        },
        10.0,
    )
    .await
    .unwrap();
    assert_eq!(&got.borrow()[..], b"abcde");
    assert!(lp.remove_reader(fd));
}

#[asyncio::test]
async fn a_second_add_replaces_and_remove_says_whether_one_was_there() {
    let lp = get_running_loop();
    let (tx, _rx) = pair();
    let fd = tx.as_raw_fd();
    assert!(!lp.remove_reader(fd));
    assert!(!lp.remove_writer(fd));
    let (first, count_first) = counter();
    let (second, count_second) = counter();
    lp.add_writer(fd, count_first).unwrap();
    lp.add_writer(fd, count_second).unwrap();
    turns(3).await;
    assert_eq!(first.get(), 0, "the replaced callback is not called");
    assert!(second.get() > 0);
    assert!(lp.remove_writer(fd));
    assert!(!lp.remove_writer(fd));
}

#[asyncio::test]
async fn a_reader_and_a_writer_on_one_fd_coexist() {
    let lp = get_running_loop();
    let (mut peer, sock) = pair();
    let fd = sock.as_raw_fd();
    let (reads, count_reads) = counter();
    let (writes, count_writes) = counter();
    lp.add_reader(fd, count_reads).unwrap();
    lp.add_writer(fd, count_writes).unwrap();
    turns(3).await;
    assert_eq!(reads.get(), 0);
    assert!(writes.get() > 0);
    assert!(lp.remove_writer(fd));
    peer.write_all(b"x").unwrap();
    let before = writes.get();
    turns(3).await;
    assert!(reads.get() > 0, "the reader survives the writer's removal");
    assert_eq!(writes.get(), before);
    assert!(lp.remove_reader(fd));
    assert!(!lp.remove_reader(fd));
}

#[asyncio::test]
async fn a_closed_fd_a_regular_file_and_our_own_sockets_fd_are_refused() {
    let lp = get_running_loop();
    // Not one just closed: tests run on parallel threads, and another may have reused it.
    let closed = 999_999;
    let e = lp.add_reader(closed, || {}).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput, "{e}");
    assert!(e.to_string().contains("not open"), "{e}");

    let file = std::fs::File::open("Cargo.toml").unwrap();
    let e = lp.add_reader(file.as_raw_fd(), || {}).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied, "{e}");
    assert!(e.to_string().contains("regular files"), "{e}");

    let listener = asyncio::net::TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let stream = asyncio::net::TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let e = lp.add_reader(stream.as_raw_fd(), || {}).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists, "{e}");
    assert!(e.to_string().contains("already registered"), "{e}");
    assert!(!lp.remove_reader(stream.as_raw_fd()));
    assert!(!lp.remove_reader(closed));
}

#[asyncio::test]
async fn a_panicking_callback_is_logged_and_stays_registered() {
    logs::capture();
    let lp = get_running_loop();
    let (tx, _rx) = pair();
    let fd = tx.as_raw_fd();
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    lp.add_writer(fd, move || {
        c.set(c.get() + 1);
        panic!("writer {fd} exploded");
    })
    .unwrap();
    turns(4).await;
    assert!(calls.get() >= 2, "called again after a panic");
    let needle = format!("writer {fd} exploded");
    assert!(logs::count(&["ERROR", "Exception in callback add_writer", &needle]) >= 2);
    assert!(lp.remove_writer(fd));
}

#[asyncio::test]
async fn closing_the_fd_before_remove_is_logged_and_never_hangs() {
    logs::capture();
    let lp = get_running_loop();
    let efd = eventfd();
    let fd = efd.as_raw_fd();
    let (calls, count) = counter();
    lp.add_reader(fd, count).unwrap();
    eventfd_add(fd, 1);
    turns(2).await;
    assert!(calls.get() > 0);
    drop(efd); // closed while watched and ready: the next poll(2) says POLLNVAL
    turns(3).await;
    assert!(logs::count(&["ERROR", &format!("fd {fd} was closed")]) >= 1);
    // The number may be reused; a new watch on it works.
    let (tx, _rx) = pair();
    let (writes, count_writes) = counter();
    lp.add_writer(tx.as_raw_fd(), count_writes).unwrap();
    turns(3).await;
    assert!(writes.get() > 0);
    assert!(lp.remove_writer(tx.as_raw_fd()));
}

#[asyncio::test]
async fn a_callback_may_remove_itself_and_add_again() {
    let lp = get_running_loop();
    let (tx, _rx) = pair();
    let fd = tx.as_raw_fd();
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    lp.add_writer(fd, move || {
        c.set(c.get() + 1);
        let lp = get_running_loop();
        assert!(lp.remove_writer(fd));
    })
    .unwrap();
    turns(4).await;
    assert_eq!(calls.get(), 1, "removed itself at its first call");
    assert!(!lp.remove_writer(fd));
}

#[test]
fn watching_stops_when_the_loop_closes() {
    let (tx, _rx) = pair();
    let fd = tx.as_raw_fd();
    let dropped = Rc::new(Cell::new(false));
    struct OnDrop(Rc<Cell<bool>>);
    impl Drop for OnDrop {
        fn drop(&mut self) {
            self.0.set(true);
        }
    }
    let guard = OnDrop(dropped.clone());
    asyncio::run(async move {
        get_running_loop()
            .add_writer(fd, move || {
                let _ = &guard;
            })
            .unwrap();
        sleep(0).await;
    });
    assert!(dropped.get(), "the callback is dropped with the loop");
    // Another loop can watch the fd: the first loop's registration is gone.
    asyncio::run(async move {
        let lp = get_running_loop();
        lp.add_writer(fd, || {}).unwrap();
        assert!(lp.remove_writer(fd));
    });
}

#[asyncio::test]
async fn a_reader_added_beside_a_waiting_writer_is_called() {
    let lp = get_running_loop();
    let (mut a, mut b) = pair();
    // A full send buffer: the writer waits for room that never comes.
    while a.write(&[0; 4096]).is_ok() {}
    let (writes, on_write) = counter();
    lp.add_writer(a.as_raw_fd(), on_write).unwrap();
    turns(3).await;
    assert_eq!(writes.get(), 0);
    b.write_all(b"ping").unwrap();
    let (reads, on_read) = counter();
    lp.add_reader(a.as_raw_fd(), on_read).unwrap();
    turns(3).await;
    assert!(reads.get() > 0, "the reader was never called");
    assert!(lp.remove_reader(a.as_raw_fd()));
    assert!(lp.remove_writer(a.as_raw_fd()));
    let mut buf = [0; 4];
    a.read_exact(&mut buf).unwrap();
}

#[asyncio::test]
async fn a_removed_reader_lets_go_of_its_fd_by_the_end_of_the_next_turn() {
    let lp = get_running_loop();
    let (a, _b) = pair();
    let before = lp.stats().io_sources;
    lp.add_reader(a.as_raw_fd(), || {}).unwrap();
    assert_eq!(lp.stats().io_sources, before + 1);
    assert!(lp.remove_reader(a.as_raw_fd()));
    // Wanted again before then: the same registration serves.
    lp.add_reader(a.as_raw_fd(), || {}).unwrap();
    assert_eq!(lp.stats().io_sources, before + 1);
    assert!(lp.remove_reader(a.as_raw_fd()));
    turns(2).await;
    assert_eq!(lp.stats().io_sources, before, "deregistered once unused");
}

#[asyncio::test]
async fn a_reader_is_called_once_per_edge_it_drains_and_again_while_data_is_left() {
    // The call on a fresh edge skips the kernel check; the level-triggered recall after it
    // must still see data left behind, and stop once it is gone.
    let lp = get_running_loop();
    let (a, mut b) = pair();
    let a = Rc::new(a);
    let reader = a.clone();
    let got = Rc::new(RefCell::new(Vec::new()));
    let sink = got.clone();
    lp.add_reader(a.as_raw_fd(), move || {
        let mut buf = [0; 2];
        // 0: called while not readable.
        let n = (&*reader).read(&mut buf).unwrap_or(0);
        sink.borrow_mut().push(n);
    })
    .unwrap();
    b.write_all(b"abcde").unwrap();
    turns(6).await;
    assert_eq!(&got.borrow()[..], &[2, 2, 1]);
    b.write_all(b"f").unwrap();
    turns(3).await;
    assert_eq!(&got.borrow()[..], &[2, 2, 1, 1]);
    assert!(lp.remove_reader(a.as_raw_fd()));
}

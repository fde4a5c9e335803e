//! Pseudo-terminals, the other thing besides pipes that programs talk through: the master
//! side of an `openpty` through `connect_read_pipe`, `connect_write_pipe` and `add_reader`.

use asyncio::{get_running_loop, wait_for};
use std::cell::RefCell;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::rc::Rc;

/// `openpty()` with the terminal in raw mode (no echo, no line editing, no `\n` → `\r\n`):
/// (master, slave).
fn openpty() -> (OwnedFd, std::fs::File) {
    let (mut master, mut slave) = (0, 0);
    // SAFETY: the out-pointers are valid; null name, termios and winsize are allowed.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "{}", std::io::Error::last_os_error());
    // SAFETY: openpty succeeded: both are open descriptors nothing else owns.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    // SAFETY: all-zero is a valid termios for tcgetattr to fill.
    let mut tio: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: `slave` is an open terminal and `tio` a valid termios.
    unsafe {
        assert_eq!(libc::tcgetattr(slave.as_raw_fd(), &mut tio), 0);
        libc::cfmakeraw(&mut tio);
        assert_eq!(libc::tcsetattr(slave.as_raw_fd(), libc::TCSANOW, &tio), 0);
    }
    (master, slave.into())
}

#[asyncio::test]
async fn a_pty_master_reads_what_the_terminal_program_writes() {
    let (master, mut slave) = openpty();
    let lp = get_running_loop();
    let (mut reader, _t) = lp.connect_read_pipe(master).await.unwrap();
    slave.write_all(b"prompt> ").unwrap();
    let got = wait_for(reader.readexactly(8), 10.0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, b"prompt> ");
    // The program goes away: the master reads end of file, or EIO as Linux says it
    // (asyncio's pipe transport reports that error); either way the read ends.
    drop(slave);
    match wait_for(reader.read(100), 10.0).await.unwrap() {
        Ok(rest) => assert!(rest.is_empty(), "{rest:?}"),
        Err(e) => assert_eq!(e.raw_os_error(), Some(libc::EIO), "{e:?}"),
    }
}

#[asyncio::test]
async fn a_pty_master_writes_what_the_terminal_program_reads() {
    let (master, mut slave) = openpty();
    let lp = get_running_loop();
    let writer = lp.connect_write_pipe(master).await.unwrap();
    writer.write(b"typed\n");
    writer.drain().await.unwrap();
    let mut buf = [0; 6];
    slave.read_exact(&mut buf).unwrap(); // already there: the write went through
    assert_eq!(&buf, b"typed\n");
}

#[asyncio::test]
async fn add_reader_on_a_pty_master_fires_on_output() {
    let (master, mut slave) = openpty();
    let lp = get_running_loop();
    let master = Rc::new(std::fs::File::from(master));
    let got = Rc::new(RefCell::new(Vec::new()));
    let (m, sink) = (master.clone(), got.clone());
    lp.add_reader(master.as_raw_fd(), move || {
        let mut buf = [0; 64];
        if let Ok(n) = (&*m).read(&mut buf) {
            sink.borrow_mut().extend_from_slice(&buf[..n]);
        }
    })
    .unwrap();
    slave.write_all(b"output").unwrap();
    let arrived = async {
        while got.borrow().len() < 6 {
            asyncio::sleep(0.01).await;
        }
    };
    wait_for(arrived, 10.0).await.unwrap();
    assert_eq!(&got.borrow()[..], b"output");
    assert!(lp.remove_reader(master.as_raw_fd()));
}

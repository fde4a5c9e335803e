//! `LoopHandle::connect_read_pipe` / `connect_write_pipe`: streams over pipes the caller has.

use asyncio::wait_for;
use std::io::{ErrorKind, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::process::{Command, Stdio};

/// An `os.pipe()`: (read end, write end).
fn os_pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe() writes.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: pipe() succeeded, so both are open descriptors that nothing else owns.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

#[asyncio::test]
async fn reads_a_child_stdout_to_eof() {
    let mut child = Command::new("sh")
        .args(["-c", "echo one; echo two"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let lp = asyncio::get_running_loop();
    let (mut reader, transport) = lp
        .connect_read_pipe(child.stdout.take().unwrap())
        .await
        .unwrap();
    assert_eq!(
        wait_for(reader.readline(), 10.0).await.unwrap().unwrap(),
        b"one\n"
    );
    assert_eq!(
        wait_for(reader.readline(), 10.0).await.unwrap().unwrap(),
        b"two\n"
    );
    // The child exited and closed its end: end of file.
    assert_eq!(wait_for(reader.read(10), 10.0).await.unwrap().unwrap(), b"");
    assert!(reader.at_eof());
    assert!(!transport.is_closing());
    transport.close();
    assert!(transport.is_closing());
    child.wait().unwrap();
}

#[asyncio::test]
async fn reads_an_os_pipe_written_from_a_thread() {
    let (rx, tx) = os_pipe();
    let lp = asyncio::get_running_loop();
    let (mut reader, _transport) = lp.connect_read_pipe(rx).await.unwrap();
    let writer = std::thread::spawn(move || {
        let mut tx = std::fs::File::from(tx);
        for i in 0..100 {
            writeln!(tx, "line {i}").unwrap();
            if i % 10 == 0 {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
    });
    for i in 0..100 {
        let line = wait_for(reader.readline(), 10.0).await.unwrap().unwrap();
        assert_eq!(line, format!("line {i}\n").as_bytes());
    }
    assert_eq!(
        wait_for(reader.read_to_end(), 10.0).await.unwrap().unwrap(),
        b""
    );
    writer.join().unwrap();
}

#[asyncio::test]
async fn reads_and_writes_a_fifo() {
    let path = std::env::temp_dir().join(format!("asyncio-fifo-{}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let status = Command::new("mkfifo").arg(&path).status().unwrap();
    assert!(status.success());
    // Opening one end of a FIFO blocks until the other is opened: open the read end
    // non-blocking first, then the write end.
    let rx = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&path)
        .unwrap();
    let tx = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    let lp = asyncio::get_running_loop();
    let (mut reader, _t) = lp.connect_read_pipe(rx).await.unwrap();
    let writer = lp.connect_write_pipe(tx).await.unwrap();
    writer.write(b"through the fifo\n");
    wait_for(writer.drain(), 10.0).await.unwrap().unwrap();
    writer.close();
    wait_for(writer.wait_closed(), 10.0).await.unwrap().unwrap();
    let all = wait_for(reader.read_to_end(), 10.0).await.unwrap().unwrap();
    assert_eq!(all, b"through the fifo\n");
    std::fs::remove_file(&path).unwrap();
}

#[asyncio::test]
async fn writes_to_a_child_stdin_and_reads_it_back() {
    let mut child = Command::new("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let lp = asyncio::get_running_loop();
    let writer = lp
        .connect_write_pipe(child.stdin.take().unwrap())
        .await
        .unwrap();
    let (mut reader, _t) = lp
        .connect_read_pipe(child.stdout.take().unwrap())
        .await
        .unwrap();
    // More than a pipe buffer, so drain has to wait for cat.
    let data: Vec<u8> = (0..256 * 1024).map(|i| (i % 251) as u8).collect();
    let reading = asyncio::create_task(async move { reader.read_to_end().await });
    writer.write(&data);
    wait_for(writer.drain(), 10.0).await.unwrap().unwrap();
    writer.close();
    wait_for(writer.wait_closed(), 10.0).await.unwrap().unwrap();
    let echoed = wait_for(reading, 10.0).await.unwrap().unwrap().unwrap();
    assert_eq!(echoed.len(), data.len());
    assert!(echoed == data);
    assert!(child.wait().unwrap().success());
}

#[asyncio::test]
async fn writing_after_the_reader_left_is_broken_pipe() {
    let (rx, tx) = os_pipe();
    drop(rx);
    let lp = asyncio::get_running_loop();
    let writer = lp.connect_write_pipe(tx).await.unwrap();
    writer.write(b"nobody reads this");
    let err = wait_for(writer.drain(), 10.0).await.unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BrokenPipe);
}

#[asyncio::test]
async fn a_regular_file_is_refused() {
    let path = std::env::temp_dir().join(format!("asyncio-regular-{}", std::process::id()));
    let file = std::fs::File::create(&path).unwrap();
    let lp = asyncio::get_running_loop();
    let err = lp.connect_read_pipe(file).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(err.to_string(), "Pipe transport is for pipes/sockets only.");
    let file = std::fs::File::open(&path).unwrap();
    let err = lp.connect_write_pipe(file).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    std::fs::remove_file(&path).unwrap();
}

#[asyncio::test]
async fn a_socket_pair_is_a_pipe_too() {
    let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    let lp = asyncio::get_running_loop();
    let writer = lp.connect_write_pipe(a).await.unwrap();
    let (mut reader, _t) = lp.connect_read_pipe(b).await.unwrap();
    writer.write(b"hi");
    writer.close();
    assert_eq!(
        wait_for(reader.read_to_end(), 10.0).await.unwrap().unwrap(),
        b"hi"
    );
}

#[test]
#[should_panic(expected = "must be called from the loop's own thread")]
fn another_loops_handle_panics() {
    let other = asyncio::run(async { asyncio::get_running_loop() });
    asyncio::run(async move {
        let (rx, _tx) = os_pipe();
        let _ = other.connect_read_pipe(rx).await;
    });
}

//! asyncio::net Unix-domain sockets.

use asyncio::net::{UnixListener, UnixStream};
use std::io::ErrorKind;

fn sock_path(name: &str) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("asyncio-net-{}-{name}.sock", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}

#[asyncio::test]
async fn bind_connect_accept_echo() {
    let path = sock_path("echo");
    let listener = UnixListener::bind(&path).unwrap();
    let server = asyncio::create_task(async move {
        let (s, _) = listener.accept().await.unwrap();
        let mut buf = [0; 5];
        s.read_exact(&mut buf).await.unwrap();
        s.write_all(&buf).await.unwrap();
    });
    let c = UnixStream::connect(&path).await.unwrap();
    c.write_all(b"hello").await.unwrap();
    let mut buf = [0; 5];
    c.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"hello");
    server.await.unwrap();
    assert_eq!(c.read(&mut [0; 1]).await.unwrap(), 0);
    std::fs::remove_file(&path).unwrap();
}

#[asyncio::test]
async fn connect_errors_have_real_kinds() {
    let path = sock_path("refused");
    let l = std::os::unix::net::UnixListener::bind(&path).unwrap();
    drop(l);
    let err = UnixStream::connect(&path).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
    std::fs::remove_file(&path).unwrap();
    let err = UnixStream::connect(&path).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[asyncio::test]
async fn broken_pipe_without_sigpipe() {
    // With SIGPIPE at its default action, a plain write(2) to a closed peer would kill the test
    // process; our writes use MSG_NOSIGNAL.
    // SAFETY: setting a signal disposition to SIG_DFL has no memory-safety conditions.
    let previous = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let (a, b) = UnixStream::pair().unwrap();
    drop(b);
    let err = a.write_all(&[0; 100_000]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BrokenPipe);
    // SAFETY: as above, restoring the previous disposition.
    unsafe { libc::signal(libc::SIGPIPE, previous) };
}

#[asyncio::test]
async fn big_transfer_over_a_pair() {
    let (a, b) = UnixStream::pair().unwrap();
    let data = vec![7u8; 4 << 20];
    let writer = asyncio::create_task(async move {
        a.write_all(&data).await.unwrap();
        a.shutdown(std::net::Shutdown::Write).unwrap();
        a
    });
    let mut total = 0;
    let mut buf = vec![0; 65536];
    loop {
        let n = b.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        assert!(buf[..n].iter().all(|&x| x == 7));
        total += n;
    }
    assert_eq!(total, 4 << 20);
    writer.await.unwrap();
}

struct NoopWake;

impl std::task::Wake for NoopWake {
    fn wake(self: std::sync::Arc<Self>) {}
}

/// A waker that is not a task's (a combinator's, a hand-written poller's) waits on a socket in
/// one loop, then polls the same socket from another loop: the second loop gets the
/// "different event loop" error, not a wait that no poller will ever end, although the
/// socket kept that waker.
#[test]
fn a_kept_waker_polled_from_another_loop_is_refused() {
    use std::task::{Context, Poll, Waker};
    let waker = Waker::from(std::sync::Arc::new(NoopWake));
    let first = waker.clone();
    let (a, _b) = asyncio::run(async move {
        let (a, b) = UnixStream::pair().unwrap();
        let mut buf = [0u8; 8];
        assert!(
            a.poll_read(&mut Context::from_waker(&first), &mut buf)
                .is_pending()
        );
        (a, b)
    });
    let polled = asyncio::run(async move {
        let mut buf = [0u8; 8];
        a.poll_read(&mut Context::from_waker(&waker), &mut buf)
            .map_err(|e| e.to_string())
    });
    match polled {
        Poll::Ready(Err(e)) => assert!(e.contains("different event loop"), "{e}"),
        other => panic!("expected the different-loop error, got {other:?}"),
    }
}

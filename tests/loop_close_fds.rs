//! A socket that outlives its loop keeps nothing of that loop open. Alone in its binary: it
//! counts the process's fds, which tests running beside it would change.

use asyncio::net::UnixStream;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

/// A task waited on the socket once and was woken, so the socket's source kept that task's
/// waker; the task holds its loop's shared part (an eventfd). Once the loop is closed, the
/// socket must let go of it.
#[test]
fn a_socket_kept_past_its_loop_does_not_keep_the_loops_eventfd() {
    if !std::path::Path::new("/proc/self/fd").exists() {
        eprintln!("skipped: no /proc/self/fd");
        return;
    }
    // Warm up (the blocking pool, lazily made fds).
    drop(asyncio::run(async { UnixStream::pair().unwrap() }));
    let before = open_fds();
    let (a, b) = asyncio::run(async {
        let (a, b) = UnixStream::pair().unwrap();
        let reader = asyncio::create_task(async move {
            let mut buf = [0u8; 8];
            assert_eq!(a.read(&mut buf).await.unwrap(), 1);
            a
        });
        asyncio::sleep(0).await;
        asyncio::sleep(0).await;
        b.write_all(b"x").await.unwrap();
        (reader.await.unwrap(), b)
    });
    let after = open_fds();
    drop((a, b));
    assert_eq!(
        after,
        before + 2,
        "only the pair's two fds, nothing of the closed loop"
    );
}

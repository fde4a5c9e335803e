//! 10,000 cycles of connect / write / close, or reset mid-write, leave no fd and no task
//! behind.

use asyncio::{StreamReader, StreamWriter, create_task, open_connection, start_server};

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

async fn echo(mut r: StreamReader, w: StreamWriter) {
    loop {
        match r.read(65536).await {
            Ok(data) if !data.is_empty() => {
                w.write(&data);
                if w.drain().await.is_err() {
                    return;
                }
            }
            _ => return,
        }
    }
}

#[asyncio::test]
async fn ten_thousand_cycles_leak_nothing() {
    if !std::path::Path::new("/proc/self/fd").exists() {
        eprintln!("skipped: no /proc/self/fd");
        return;
    }
    let server = start_server(echo, "127.0.0.1", 0)
        .backlog(1024)
        .await
        .unwrap();
    let port = server.sockets()[0].as_inet().unwrap().port();
    // Warm up (the blocking pool, the allocator), then count.
    asyncio::sleep(0).await;
    let fds_before = open_fds();
    let tasks_before = asyncio::get_running_loop().stats().tasks;
    let big = vec![7u8; 96 * 1024];
    const CYCLES: usize = 10_000;
    const CONCURRENT: usize = 50;
    let mut workers = Vec::new();
    for worker in 0..CONCURRENT {
        let big = big.clone();
        workers.push(create_task(async move {
            for i in (worker..CYCLES).step_by(CONCURRENT) {
                let (mut r, w) = open_connection("127.0.0.1", port).await.unwrap();
                match i % 4 {
                    // A clean exchange, then close.
                    0 | 1 => {
                        w.write(b"ping");
                        assert_eq!(r.readexactly(4).await.unwrap(), b"ping");
                        w.close();
                        w.wait_closed().await.unwrap();
                    }
                    // Reset in the middle of a large write.
                    2 => {
                        w.write(&big);
                        w.abort();
                    }
                    // Close while the server's answer is still coming.
                    _ => {
                        w.write(&big);
                        let _ = r.read(10).await;
                        w.close();
                    }
                }
            }
        }));
    }
    for w in workers {
        w.await.unwrap();
    }
    // Let the server notice every end of connection.
    server.close();
    server.wait_closed().await;
    for _ in 0..10 {
        asyncio::sleep(0).await;
    }
    let fds_after = open_fds();
    let tasks_after = asyncio::get_running_loop().stats().tasks;
    assert!(
        fds_after <= fds_before,
        "fds: {fds_before} before, {fds_after} after"
    );
    assert!(
        tasks_after <= tasks_before,
        "tasks: {tasks_before} before, {tasks_after} after"
    );
}

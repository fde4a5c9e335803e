//! Uncontended throughput of `Lock` and `Queue` against tokio's `Mutex` and `mpsc`, measured in
//! the same run: `cargo bench --bench sync_queue`.
//!
//! Each side runs the same loop in one task on a single-threaded runtime (ours, and tokio's
//! current-thread runtime, with its cooperative budget off so that it never forces a yield),
//! so the numbers compare the primitives, not the schedulers. Each
//! measurement is repeated and the best run is kept. The aim: at least 1.5x tokio, since ours
//! need no atomics.

use std::hint::black_box;
use std::time::{Duration, Instant};

const LOCK_OPS: u64 = 2_000_000;
const QUEUE_OPS: u64 = 2_000_000;
const BATCH: u64 = 256;
const REPEATS: usize = 7;

/// Runs both sides in turn, `REPEATS` times, and keeps the best time of each: alternating
/// spreads the noise of a shared machine over both.
fn best(ours: fn() -> Duration, theirs: fn() -> Duration) -> (Duration, Duration) {
    let (mut a, mut b) = (Duration::MAX, Duration::MAX);
    for _ in 0..REPEATS {
        a = a.min(ours());
        b = b.min(theirs());
    }
    (a, b)
}

fn ours<F: std::future::Future<Output = Duration> + 'static>(fut: F) -> Duration {
    asyncio::run(fut)
}

fn theirs<F: std::future::Future<Output = Duration>>(fut: F) -> Duration {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(tokio::task::unconstrained(fut))
}

fn lock_asyncio() -> Duration {
    ours(async {
        let lock = asyncio::Lock::new();
        let start = Instant::now();
        for _ in 0..LOCK_OPS {
            let guard = lock.acquire().await;
            black_box(&guard);
        }
        start.elapsed()
    })
}

fn lock_tokio() -> Duration {
    theirs(async {
        let lock = tokio::sync::Mutex::new(());
        let start = Instant::now();
        for _ in 0..LOCK_OPS {
            let guard = lock.lock().await;
            black_box(&guard);
        }
        start.elapsed()
    })
}

fn queue_asyncio() -> Duration {
    ours(async {
        let queue = asyncio::Queue::new(BATCH as usize);
        let start = Instant::now();
        for _ in 0..QUEUE_OPS / BATCH {
            for i in 0..BATCH {
                queue.put(black_box(i)).await.unwrap();
            }
            for _ in 0..BATCH {
                black_box(queue.get().await.unwrap());
            }
        }
        start.elapsed()
    })
}

fn queue_tokio() -> Duration {
    theirs(async {
        let (tx, mut rx) = tokio::sync::mpsc::channel(BATCH as usize);
        let start = Instant::now();
        for _ in 0..QUEUE_OPS / BATCH {
            for i in 0..BATCH {
                tx.send(black_box(i)).await.unwrap();
            }
            for _ in 0..BATCH {
                black_box(rx.recv().await.unwrap());
            }
        }
        start.elapsed()
    })
}

fn unbounded_asyncio() -> Duration {
    ours(async {
        let queue = asyncio::Queue::new(0);
        let start = Instant::now();
        for _ in 0..QUEUE_OPS / BATCH {
            for i in 0..BATCH {
                queue.put_nowait(black_box(i)).unwrap();
            }
            for _ in 0..BATCH {
                black_box(queue.get().await.unwrap());
            }
        }
        start.elapsed()
    })
}

fn unbounded_tokio() -> Duration {
    theirs(async {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let start = Instant::now();
        for _ in 0..QUEUE_OPS / BATCH {
            for i in 0..BATCH {
                tx.send(black_box(i)).unwrap();
            }
            for _ in 0..BATCH {
                black_box(rx.recv().await.unwrap());
            }
        }
        start.elapsed()
    })
}

fn report(what: &str, ops: u64, (ours, theirs): (Duration, Duration), baseline: &str) {
    let per = |d: Duration| d.as_nanos() as f64 / ops as f64;
    let ratio = theirs.as_secs_f64() / ours.as_secs_f64();
    println!(
        "{what:<34} asyncio {:>6.2} ns/op   {baseline:<24} {:>6.2} ns/op   {ratio:>5.2}x",
        per(ours),
        per(theirs),
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without it,
    // and a benchmark is no test, so it does nothing then.
    if !std::env::args().any(|a| a == "--bench") {
        println!("sync_queue: a benchmark; run it with `cargo bench --bench sync_queue`");
        return;
    }
    println!("uncontended throughput, best of {REPEATS} runs; ratio = tokio time / asyncio time");
    report(
        "Lock acquire+release",
        LOCK_OPS,
        best(lock_asyncio, lock_tokio),
        "tokio::sync::Mutex",
    );
    report(
        "Queue(256) put+get",
        QUEUE_OPS,
        best(queue_asyncio, queue_tokio),
        "tokio mpsc::channel(256)",
    );
    report(
        "Queue(0) put_nowait+get",
        QUEUE_OPS,
        best(unbounded_asyncio, unbounded_tokio),
        "tokio unbounded_channel",
    );
}

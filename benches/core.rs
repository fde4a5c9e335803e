//! The loop core against tokio's current-thread runtime, interleaved in one run.
//!
//! `cargo bench --bench core` prints, per workload, the median time per operation over
//! several repetitions, its min–max, and our speed as a ratio of tokio's (>1 is faster).

use std::hint::black_box;
use std::time::{Duration, Instant};

const REPS: usize = 7;

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

struct Workload {
    name: &'static str,
    ops: u64,
    ours: fn(),
    tokio: fn(),
}

fn spawn_many_ours() {
    asyncio::run(async {
        let tasks: Vec<_> = (0..100_000)
            .map(|i| asyncio::create_task(async move { black_box(i) }))
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
}

fn spawn_many_tokio() {
    tokio_rt().block_on(async {
        let tasks: Vec<_> = (0..100_000)
            .map(|i| tokio::spawn(async move { black_box(i) }))
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
}

fn yield_many_ours() {
    asyncio::run(async {
        let tasks: Vec<_> = (0..200)
            .map(|_| {
                asyncio::create_task(async {
                    for _ in 0..1000 {
                        asyncio::sleep(0).await;
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
}

fn yield_many_tokio() {
    tokio_rt().block_on(async {
        let tasks: Vec<_> = (0..200)
            .map(|_| {
                tokio::spawn(async {
                    for _ in 0..1000 {
                        tokio::task::yield_now().await;
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
}

fn chained_spawn_ours() {
    fn link(n: u32) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>> {
        Box::pin(async move {
            if n > 0 {
                asyncio::create_task(link(n - 1)).await.unwrap();
            }
        })
    }
    asyncio::run(link(10_000));
}

fn chained_spawn_tokio() {
    fn link(n: u32) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        Box::pin(async move {
            if n > 0 {
                tokio::spawn(link(n - 1)).await.unwrap();
            }
        })
    }
    tokio_rt().block_on(link(10_000));
}

fn timers_ours() {
    asyncio::run(async {
        let lp = asyncio::get_running_loop();
        let handles: Vec<_> = (0..100_000u64)
            .map(|i| lp.call_later(1.0 + (i % 1000) as f64 / 1000.0, || {}))
            .collect();
        for h in &handles {
            h.cancel();
        }
    });
}

fn timers_tokio() {
    tokio_rt().block_on(async {
        let now = tokio::time::Instant::now();
        let mut sleeps: Vec<_> = (0..100_000u64)
            .map(|i| {
                Box::pin(tokio::time::sleep_until(
                    now + Duration::from_millis(1000 + i % 1000),
                ))
            })
            .collect();
        // Register each with the timer wheel, as arming does, then cancel by dropping.
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        for s in &mut sleeps {
            let _ = s.as_mut().poll(&mut cx);
        }
        drop(sleeps);
    });
}

use std::future::Future;

fn remote_spawn_ours() {
    asyncio::run(async {
        let handle = asyncio::get_running_loop();
        let thread = std::thread::spawn(move || {
            let futs: Vec<_> = (0..1000)
                .map(|i| asyncio::run_coroutine_threadsafe(async move { i }, &handle))
                .collect();
            futs.into_iter()
                .map(|f| f.result(None::<f64>).unwrap())
                .sum::<u64>()
        });
        while !thread.is_finished() {
            asyncio::sleep(0.0005).await;
        }
        black_box(thread.join().unwrap());
    });
}

fn remote_spawn_tokio() {
    let rt = tokio_rt();
    let handle = rt.handle().clone();
    rt.block_on(async {
        let thread = std::thread::spawn(move || {
            let futs: Vec<_> = (0..1000u64)
                .map(|i| handle.spawn(async move { i }))
                .collect();
            futs.into_iter()
                .map(|f| handle.block_on(f).unwrap())
                .sum::<u64>()
        });
        while !thread.is_finished() {
            tokio::time::sleep(Duration::from_micros(500)).await;
        }
        black_box(thread.join().unwrap());
    });
}

fn time_once(f: fn()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

fn main() {
    let filter = std::env::args().nth(1).filter(|a| !a.starts_with('-'));
    let workloads = [
        Workload {
            name: "spawn_many (100k)",
            ops: 100_000,
            ours: spawn_many_ours,
            tokio: spawn_many_tokio,
        },
        Workload {
            name: "yield_many (200x1000)",
            ops: 200_000,
            ours: yield_many_ours,
            tokio: yield_many_tokio,
        },
        Workload {
            name: "chained_spawn (10k)",
            ops: 10_000,
            ours: chained_spawn_ours,
            tokio: chained_spawn_tokio,
        },
        Workload {
            name: "timers arm+cancel (100k)",
            ops: 100_000,
            ours: timers_ours,
            tokio: timers_tokio,
        },
        Workload {
            name: "remote_spawn (1k)",
            ops: 1_000,
            ours: remote_spawn_ours,
            tokio: remote_spawn_tokio,
        },
    ];
    println!("| workload | asyncio ns/op (min–max) | tokio ct ns/op (min–max) | ratio |");
    println!("|---|---|---|---|");
    for w in workloads
        .iter()
        .filter(|w| filter.as_deref().is_none_or(|f| w.name.contains(f)))
    {
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        (w.ours)();
        (w.tokio)();
        for _ in 0..REPS {
            ours.push(time_once(w.ours));
            theirs.push(time_once(w.tokio));
        }
        ours.sort();
        theirs.sort();
        let per_op = |d: Duration| d.as_nanos() as f64 / w.ops as f64;
        let (om, tm) = (per_op(ours[REPS / 2]), per_op(theirs[REPS / 2]));
        println!(
            "| {} | {:.1} ({:.1}–{:.1}) | {:.1} ({:.1}–{:.1}) | {:.2}× |",
            w.name,
            om,
            per_op(ours[0]),
            per_op(ours[REPS - 1]),
            tm,
            per_op(theirs[0]),
            per_op(theirs[REPS - 1]),
            tm / om
        );
    }
}

//! The workloads on smol: a `LocalExecutor` driven by async-io's `block_on`.

use super::timed;
use smol::LocalExecutor;
use std::hint::black_box;
use std::rc::Rc;
use std::time::{Duration, Instant};

thread_local! {
    static EX: Rc<LocalExecutor<'static>> = Rc::new(LocalExecutor::new());
}

fn ex() -> Rc<LocalExecutor<'static>> {
    EX.with(Rc::clone)
}

fn measure<F: std::future::Future<Output = Duration>>(fut: F) -> Duration {
    let ex = ex();
    smol::block_on(ex.run(fut))
}

async fn timed_async(f: impl std::future::Future<Output = ()>) -> Duration {
    let start = Instant::now();
    f.await;
    start.elapsed()
}

pub fn spawn_many() -> Duration {
    measure(timed_async(async {
        let ex = ex();
        let tasks: Vec<_> = (0..100_000)
            .map(|i| ex.spawn(async move { black_box(i) }))
            .collect();
        for t in tasks {
            t.await;
        }
    }))
}

fn chain(n: u32, done: async_channel::Sender<()>) {
    if n == 0 {
        let _ = done.try_send(());
    } else {
        ex().spawn(async move { chain(n - 1, done) }).detach();
    }
}

fn chained(n: u32) -> Duration {
    measure(timed_async(async move {
        let (tx, rx) = async_channel::bounded(1);
        chain(n, tx);
        rx.recv().await.unwrap();
    }))
}

pub fn chained_spawn_1k() -> Duration {
    chained(1_000)
}

pub fn chained_spawn_100k() -> Duration {
    chained(100_000)
}

pub fn yield_many() -> Duration {
    measure(timed_async(async {
        let ex = ex();
        let tasks: Vec<_> = (0..200)
            .map(|_| {
                ex.spawn(async {
                    for _ in 0..1000 {
                        smol::future::yield_now().await;
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await;
        }
    }))
}

pub fn ping_pong() -> Duration {
    measure(timed_async(async {
        let ex = ex();
        for _ in 0..1000 {
            let (ping_tx, ping_rx) = async_channel::bounded::<u32>(1);
            let (pong_tx, pong_rx) = async_channel::bounded::<u32>(1);
            let a = ex.spawn(async move {
                ping_tx.send(1).await.unwrap();
                pong_rx.recv().await.unwrap()
            });
            let b = ex.spawn(async move {
                let v = ping_rx.recv().await.unwrap();
                pong_tx.send(v + 1).await.unwrap();
            });
            black_box(a.await);
            b.await;
        }
    }))
}

fn channel(bounded: bool) -> Duration {
    measure(timed_async(async move {
        let ex = ex();
        let (tx, rx) = if bounded {
            async_channel::bounded(100)
        } else {
            async_channel::unbounded()
        };
        for _ in 0..5 {
            let tx = tx.clone();
            ex.spawn(async move {
                for i in 0..1000u32 {
                    tx.send(i).await.unwrap();
                }
            })
            .detach();
        }
        for _ in 0..5000 {
            black_box(rx.recv().await.unwrap());
        }
    }))
}

pub fn channel_bounded() -> Duration {
    channel(true)
}

pub fn channel_unbounded() -> Duration {
    channel(false)
}

pub fn ring() -> Duration {
    measure(timed_async(async {
        let ex = ex();
        let (txs, rxs): (Vec<_>, Vec<_>) =
            (0..300).map(|_| async_channel::bounded::<u32>(1)).unzip();
        let mut tasks = Vec::new();
        for (i, rx) in rxs.into_iter().enumerate() {
            let tx = txs[(i + 1) % 300].clone();
            tasks.push(ex.spawn(async move {
                for _ in 0..300 {
                    let v = rx.recv().await.unwrap();
                    // The last hand-off may find its receiver finished.
                    let _ = tx.send(v + 1).await;
                }
            }));
        }
        txs[0].send(0).await.unwrap();
        for t in tasks {
            t.await;
        }
    }))
}

pub fn timers_arm_cancel() -> Duration {
    measure(async {
        let start = Instant::now();
        let mut timers: Vec<_> = (0..100_000u64)
            .map(|i| smol::Timer::after(Duration::from_millis(1 + i % 1000)))
            .collect();
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        for t in &mut timers {
            let _ = std::future::Future::poll(std::pin::Pin::new(t), &mut cx);
        }
        let mut kept = Vec::with_capacity(10_000);
        for (i, t) in timers.into_iter().enumerate() {
            if i % 10 == 0 {
                kept.push(t);
            }
        }
        let took = start.elapsed();
        drop(kept);
        took
    })
}

pub fn clock_reads() -> Duration {
    measure(async {
        timed(|| {
            for _ in 0..100_000 {
                black_box(Instant::now());
            }
        })
    })
}

pub fn remote_spawn() -> Duration {
    // smol's LocalExecutor takes no work from other threads; its remote path is an Executor.
    let ex = std::sync::Arc::new(smol::Executor::new());
    let (stop_tx, stop_rx) = async_channel::bounded::<()>(1);
    let driver = {
        let ex = ex.clone();
        std::thread::spawn(move || smol::block_on(ex.run(async move { stop_rx.recv().await.ok() })))
    };
    let start = Instant::now();
    let futs: Vec<_> = (0..1000u64).map(|i| ex.spawn(async move { i })).collect();
    let sum: u64 = futs.into_iter().map(smol::block_on).sum();
    let took = start.elapsed();
    black_box(sum);
    stop_tx.try_send(()).unwrap();
    driver.join().unwrap();
    took
}

pub fn sleep_lateness(tasks: usize, sleeps: usize) -> Vec<f64> {
    use super::lateness::{SLEEP, late_us};
    let ex = ex();
    smol::block_on(ex.run(async {
        let tasks: Vec<_> = (0..tasks)
            .map(|_| {
                ex.spawn(async move {
                    let mut late = Vec::with_capacity(sleeps);
                    for _ in 0..sleeps {
                        let start = Instant::now();
                        smol::Timer::after(SLEEP).await;
                        late.push(late_us(start));
                    }
                    late
                })
            })
            .collect();
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await);
        }
        all
    }))
}

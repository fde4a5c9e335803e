//! The workloads on tokio, current-thread and multi-thread (2 workers).

macro_rules! tokio_workloads {
    ($build:expr) => {
        use super::super::timed;
        use std::hint::black_box;
        use std::time::{Duration, Instant};
        use tokio::sync::{mpsc, oneshot};

        fn rt() -> tokio::runtime::Runtime {
            $build
        }

        fn measure<F: std::future::Future<Output = Duration>>(fut: F) -> Duration {
            rt().block_on(fut)
        }

        async fn timed_async(f: impl std::future::Future<Output = ()>) -> Duration {
            let start = Instant::now();
            f.await;
            start.elapsed()
        }

        pub fn spawn_many() -> Duration {
            measure(timed_async(async {
                let tasks: Vec<_> = (0..100_000)
                    .map(|i| tokio::spawn(async move { black_box(i) }))
                    .collect();
                for t in tasks {
                    t.await.unwrap();
                }
            }))
        }

        fn chain(n: u32, done: oneshot::Sender<()>) {
            if n == 0 {
                let _ = done.send(());
            } else {
                tokio::spawn(async move { chain(n - 1, done) });
            }
        }

        fn chained(n: u32) -> Duration {
            measure(timed_async(async move {
                let (tx, rx) = oneshot::channel();
                chain(n, tx);
                rx.await.unwrap();
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
            }))
        }

        pub fn ping_pong() -> Duration {
            measure(timed_async(async {
                for _ in 0..1000 {
                    let (ping_tx, ping_rx) = oneshot::channel::<u32>();
                    let (pong_tx, pong_rx) = oneshot::channel::<u32>();
                    let a = tokio::spawn(async move {
                        ping_tx.send(1).unwrap();
                        pong_rx.await.unwrap()
                    });
                    let b = tokio::spawn(async move {
                        let v = ping_rx.await.unwrap();
                        pong_tx.send(v + 1).unwrap();
                    });
                    black_box(a.await.unwrap());
                    b.await.unwrap();
                }
            }))
        }

        pub fn channel_bounded() -> Duration {
            measure(timed_async(async {
                let (tx, mut rx) = mpsc::channel(100);
                for _ in 0..5 {
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        for i in 0..1000u32 {
                            tx.send(i).await.unwrap();
                        }
                    });
                }
                for _ in 0..5000 {
                    black_box(rx.recv().await.unwrap());
                }
            }))
        }

        pub fn channel_unbounded() -> Duration {
            measure(timed_async(async {
                let (tx, mut rx) = mpsc::unbounded_channel();
                for _ in 0..5 {
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        for i in 0..1000u32 {
                            tx.send(i).unwrap();
                        }
                    });
                }
                for _ in 0..5000 {
                    black_box(rx.recv().await.unwrap());
                }
            }))
        }

        pub fn ring() -> Duration {
            measure(timed_async(async {
                let (txs, rxs): (Vec<_>, Vec<_>) =
                    (0..300).map(|_| mpsc::channel::<u32>(1)).unzip();
                let mut tasks = Vec::new();
                for (i, mut rx) in rxs.into_iter().enumerate() {
                    let tx = txs[(i + 1) % 300].clone();
                    tasks.push(tokio::spawn(async move {
                        for _ in 0..300 {
                            let v = rx.recv().await.unwrap();
                            // The last hand-off may find its receiver finished.
                            let _ = tx.send(v + 1).await;
                        }
                    }));
                }
                txs[0].send(0).await.unwrap();
                for t in tasks {
                    t.await.unwrap();
                }
            }))
        }

        pub fn timers_arm_cancel() -> Duration {
            measure(async {
                let start = Instant::now();
                let mut sleeps: Vec<_> = (0..100_000u64)
                    .map(|i| Box::pin(tokio::time::sleep(Duration::from_millis(1 + i % 1000))))
                    .collect();
                let waker = std::task::Waker::noop();
                let mut cx = std::task::Context::from_waker(waker);
                for s in &mut sleeps {
                    let _ = std::future::Future::poll(s.as_mut(), &mut cx);
                }
                let mut kept = Vec::with_capacity(10_000);
                for (i, s) in sleeps.into_iter().enumerate() {
                    if i % 10 == 0 {
                        kept.push(s);
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
                        black_box(tokio::time::Instant::now());
                    }
                })
            })
        }

        pub fn remote_spawn() -> Duration {
            let rt = rt();
            let handle = rt.handle().clone();
            rt.block_on(async {
                let thread = std::thread::spawn(move || {
                    let waiter = tokio::runtime::Builder::new_current_thread()
                        .build()
                        .unwrap();
                    let start = Instant::now();
                    let futs: Vec<_> = (0..1000u64)
                        .map(|i| handle.spawn(async move { i }))
                        .collect();
                    let sum = futs
                        .into_iter()
                        .map(|f| waiter.block_on(f).unwrap())
                        .sum::<u64>();
                    black_box(sum);
                    start.elapsed()
                });
                while !thread.is_finished() {
                    tokio::time::sleep(Duration::from_micros(200)).await;
                }
                thread.join().unwrap()
            })
        }

        pub fn sleep_lateness(tasks: usize, sleeps: usize) -> Vec<f64> {
            use super::super::lateness::{SLEEP, late_us};
            rt().block_on(async move {
                let tasks: Vec<_> = (0..tasks)
                    .map(|_| {
                        tokio::spawn(async move {
                            let mut late = Vec::with_capacity(sleeps);
                            for _ in 0..sleeps {
                                let start = Instant::now();
                                tokio::time::sleep(SLEEP).await;
                                late.push(late_us(start));
                            }
                            late
                        })
                    })
                    .collect();
                let mut all = Vec::new();
                for t in tasks {
                    all.extend(t.await.unwrap());
                }
                all
            })
        }
    };
}

pub mod ct {
    tokio_workloads!(
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    );
}

pub mod mt {
    tokio_workloads!(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    );
}

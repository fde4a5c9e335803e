//! The workloads on asyncio.

use super::timed;
use asyncio::{Event, Queue, create_task, get_running_loop, sleep};
use std::hint::black_box;
use std::time::Duration;

fn measure<F: std::future::Future<Output = Duration> + 'static>(fut: F) -> Duration {
    asyncio::run(fut)
}

pub fn spawn_many() -> Duration {
    measure(async {
        timed_async(async {
            let tasks: Vec<_> = (0..100_000)
                .map(|i| create_task(async move { black_box(i) }))
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
        })
        .await
    })
}

async fn timed_async(f: impl std::future::Future<Output = ()>) -> Duration {
    let start = std::time::Instant::now();
    f.await;
    start.elapsed()
}

fn chain(n: u32, done: Event) {
    if n == 0 {
        done.set();
    } else {
        drop(create_task(async move { chain(n - 1, done) }));
    }
}

fn chained(n: u32) -> Duration {
    measure(timed_async(async move {
        let done = Event::new();
        chain(n, done.clone());
        done.wait().await;
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
                create_task(async {
                    for _ in 0..1000 {
                        sleep(0).await;
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
            let (ping, pong) = (Queue::new(1), Queue::new(1));
            let (p2, q2) = (ping.clone(), pong.clone());
            let a = create_task(async move {
                p2.put(1u32).await.unwrap();
                q2.get().await.unwrap()
            });
            let b = create_task(async move {
                let v = ping.get().await.unwrap();
                pong.put(v + 1).await.unwrap();
            });
            black_box(a.await.unwrap());
            b.await.unwrap();
        }
    }))
}

fn channel(maxsize: usize) -> Duration {
    measure(timed_async(async move {
        let q = Queue::new(maxsize);
        for _ in 0..5 {
            let q = q.clone();
            drop(create_task(async move {
                for i in 0..1000u32 {
                    q.put(i).await.unwrap();
                }
            }));
        }
        for _ in 0..5000 {
            black_box(q.get().await.unwrap());
        }
    }))
}

pub fn channel_bounded() -> Duration {
    channel(100)
}

pub fn channel_unbounded() -> Duration {
    channel(0)
}

pub fn ring() -> Duration {
    measure(timed_async(async {
        let queues: Vec<Queue<u32>> = (0..300).map(|_| Queue::new(1)).collect();
        let mut tasks = Vec::new();
        for i in 0..300 {
            let (rx, tx) = (queues[i].clone(), queues[(i + 1) % 300].clone());
            tasks.push(create_task(async move {
                for _ in 0..300 {
                    let v = rx.get().await.unwrap();
                    tx.put(v + 1).await.unwrap();
                }
            }));
        }
        queues[0].put(0).await.unwrap();
        for t in tasks {
            t.await.unwrap();
        }
    }))
}

pub fn timers_arm_cancel() -> Duration {
    measure(async {
        let start = std::time::Instant::now();
        let mut sleeps: Vec<_> = (0..100_000u64)
            .map(|i| Box::pin(sleep(Duration::from_millis(1 + i % 1000))))
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
        let lp = get_running_loop();
        timed(|| {
            for _ in 0..100_000 {
                black_box(lp.time());
            }
        })
    })
}

pub fn remote_spawn() -> Duration {
    // Timed on the submitting thread, from the first submission to the last result, as for
    // the other runtimes; the loop only checks now and then whether the thread is done.
    measure(async {
        let handle = get_running_loop();
        let thread = std::thread::spawn(move || {
            let start = std::time::Instant::now();
            let futs: Vec<_> = (0..1000u64)
                .map(|i| asyncio::run_coroutine_threadsafe(async move { i }, &handle))
                .collect();
            let sum = futs
                .into_iter()
                .map(|f| f.result(None::<f64>).unwrap())
                .sum::<u64>();
            black_box(sum);
            start.elapsed()
        });
        while !thread.is_finished() {
            sleep(0.0002).await;
        }
        thread.join().unwrap()
    })
}

pub fn sleep_lateness(tasks: usize, sleeps: usize) -> Vec<f64> {
    use super::lateness::{SLEEP, late_us};
    asyncio::run(async move {
        let tasks: Vec<_> = (0..tasks)
            .map(|_| {
                create_task(async move {
                    let mut late = Vec::with_capacity(sleeps);
                    for _ in 0..sleeps {
                        let start = std::time::Instant::now();
                        sleep(SLEEP).await;
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

//! The asyncio documentation's queue example (`examples/queue_workers.rs`) on Redis, in four
//! processes: one producer and three workers share a `RedisQueue`. It prints what the
//! one-process version prints.
//!
//! ```sh
//! redis-server --port 6379 --save '' &
//! cargo run --example distributed_workers --features redis
//! ```
//!
//! Redis is at `ASYNCIO_REDIS_URL` (default `redis://127.0.0.1:6379`). Run without
//! arguments, it starts the four processes (itself, as `producer` and `worker N`).

use asyncio::redis::{QueueError, RedisQueue};
use std::process::Command;

const QUEUE: &str = "distributed_workers";

/// A small deterministic PRNG (xorshift64*), so runs are repeatable without a dependency.
struct Rng(u64);

impl Rng {
    fn uniform(&mut self, low: f64, high: f64) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let bits = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
        low + (high - low) * (bits as f64 / (1u64 << 53) as f64)
    }
}

fn url() -> String {
    std::env::var("ASYNCIO_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

async fn connect() -> RedisQueue<f64> {
    match RedisQueue::connect(&url(), QUEUE).await {
        Ok(queue) => queue,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}

async fn worker(name: String) {
    let queue = connect().await;
    loop {
        // Get a "work item" out of the queue; the producer shuts the queue down when done.
        let sleep_for = match queue.get().await {
            Ok(sleep_for) => sleep_for,
            Err(QueueError::Queue(_shut_down)) => break,
            Err(e) => panic!("{e}"),
        };
        // Sleep for the "sleep_for" seconds.
        asyncio::sleep(sleep_for).await;
        // Notify the queue that the "work item" has been processed.
        queue.task_done().unwrap();
        println!("{name} has slept for {sleep_for:.2} seconds");
    }
    queue.flush().await.unwrap();
}

async fn producer() {
    let lp = asyncio::get_running_loop();
    let queue = connect().await;
    queue.delete().await.unwrap(); // a fresh queue: no items or shutdown left from a run before

    // Generate random timings and put them into the queue.
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let mut total_sleep_time = 0.0;
    for _ in 0..20 {
        let sleep_for = rng.uniform(0.05, 1.0);
        total_sleep_time += sleep_for;
        queue.put(sleep_for).await.unwrap();
    }

    // Wait until the queue is fully processed, by the worker processes.
    let started_at = lp.time();
    queue.join().await.unwrap();
    let total_slept_for = lp.time() - started_at;

    // Stop the workers: they see the shutdown once the queue is empty.
    queue.shutdown(false).await.unwrap();

    println!("====");
    println!("3 workers slept in parallel for {total_slept_for:.2} seconds");
    println!("total expected sleep time: {total_sleep_time:.2} seconds");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("producer") => asyncio::run(producer()),
        Some("worker") => asyncio::run(worker(format!("worker-{}", args[1]))),
        _ => {
            // The producer first, so the workers find a fresh queue.
            let exe = std::env::current_exe().unwrap();
            let mut producer = Command::new(&exe).arg("producer").spawn().unwrap();
            std::thread::sleep(std::time::Duration::from_millis(200));
            let workers: Vec<_> = (0..3)
                .map(|i| {
                    Command::new(&exe)
                        .args(["worker", &i.to_string()])
                        .spawn()
                        .unwrap()
                })
                .collect();
            let ok = producer.wait().unwrap().success();
            for mut w in workers {
                w.wait().unwrap();
            }
            std::process::exit(if ok { 0 } else { 1 });
        }
    }
}

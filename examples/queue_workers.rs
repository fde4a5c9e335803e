//! The asyncio documentation's queue example: three workers drain a queue of jobs (random
//! sleeps), `join` waits until every job is done, then the workers are cancelled.

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

async fn worker(name: String, queue: asyncio::Queue<f64>) {
    loop {
        // Get a "work item" out of the queue.
        let sleep_for = queue.get().await.unwrap();
        // Sleep for the "sleep_for" seconds.
        asyncio::sleep(sleep_for).await;
        // Notify the queue that the "work item" has been processed.
        queue.task_done().unwrap();
        println!("{name} has slept for {sleep_for:.2} seconds");
    }
}

#[asyncio::main]
async fn main() {
    let lp = asyncio::get_running_loop();
    // Create a queue that we will use to store our "workload".
    let queue = asyncio::Queue::new(0);

    // Generate random timings and put them into the queue.
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let mut total_sleep_time = 0.0;
    for _ in 0..20 {
        let sleep_for = rng.uniform(0.05, 1.0);
        total_sleep_time += sleep_for;
        queue.put_nowait(sleep_for).unwrap();
    }

    // Create three worker tasks to process the queue concurrently.
    let tasks: Vec<_> = (0..3)
        .map(|i| asyncio::create_task(worker(format!("worker-{i}"), queue.clone())))
        .collect();

    // Wait until the queue is fully processed.
    let started_at = lp.time();
    queue.join().await;
    let total_slept_for = lp.time() - started_at;

    // Cancel our worker tasks, and wait until they are cancelled.
    for task in &tasks {
        task.cancel();
    }
    for task in tasks {
        assert!(task.await.unwrap_err().is_cancelled());
    }

    println!("====");
    println!("3 workers slept in parallel for {total_slept_for:.2} seconds");
    println!("total expected sleep time: {total_sleep_time:.2} seconds");
}

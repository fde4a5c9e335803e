//! A worker that catches its cancellation and carries on, uncancelled; a timeout whose
//! block cleans up before the `TimeoutError` (`tests/oracle/cancel_carry_on.py`): same
//! output, line for line.
//!
//! `cargo run --example cancel_carry_on`

use asyncio::{catch_cancel, create_task, current_task, on_cancel, sleep, timeout};

fn cancelling() -> u32 {
    current_task().expect("inside a task").cancelling()
}

async fn worker() -> &'static str {
    for i in 0..3 {
        println!("worker: step {i}");
        if catch_cancel(sleep(10.0)).await.is_err() {
            // catch_cancel took the cancel back, as `uncancel()` does.
            let left = cancelling();
            println!("worker: step {i} cancelled, carrying on; cancelling() = {left}");
        }
    }
    println!("worker: done, cancelling() = {}", cancelling());
    "finished"
}

async fn slow() {
    on_cancel(sleep(10.0), async {
        println!("slow: cleaning up");
        sleep(0.05).await;
        println!("slow: cleaned up");
    })
    .await
}

#[asyncio::main]
async fn main() {
    let task = create_task(worker());
    for _ in 0..3 {
        sleep(0.1).await;
        task.cancel();
        println!("main: cancel, cancelling() = {}", task.cancelling());
    }
    let out = task.clone().await.expect("the worker carried on");
    let cancelled = if task.cancelled() { "True" } else { "False" };
    println!("main: worker returned {out} cancelled: {cancelled}");
    if timeout(0.1, slow()).await.is_err() {
        println!("main: timed out, cancelling() = {}", cancelling());
    }
}

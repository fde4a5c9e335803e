//! `wait` with `FIRST_COMPLETED`, then with a timeout.

use asyncio::{FIRST_COMPLETED, create_task, sleep, wait};

async fn job(name: &'static str, secs: f64) -> &'static str {
    sleep(secs).await;
    name
}

#[asyncio::main]
async fn main() {
    let tasks = vec![
        create_task(job("fast", 1.0)).with_name("fast"),
        create_task(job("medium", 2.0)).with_name("medium"),
        create_task(job("slow", 3.0)).with_name("slow"),
    ];
    let (done, pending) = wait(tasks).return_when(FIRST_COMPLETED).await;
    for task in &done {
        println!("done: {}", task.result().unwrap());
    }
    println!("pending: {}", pending.len());

    let (done, pending) = wait(pending).timeout(1.5).await;
    println!(
        "after 1.5 s more: {} done, {} pending",
        done.len(),
        pending.len()
    );
    for task in &pending {
        println!("still running: {}", task.name());
        task.cancel();
    }
}

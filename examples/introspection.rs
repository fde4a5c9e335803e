//! Introspection: the current task, every task of the loop with its name and creation site,
//! and cancelling what is left.

use asyncio::{all_tasks, create_task, current_task, sleep};

async fn worker(n: u32) {
    sleep(f64::from(n)).await;
}

#[asyncio::main]
async fn main() {
    let me = current_task().expect("main runs as a task");
    println!("main task: {} (id {})", me.name(), me.id());

    let workers: Vec<_> = (1..=3)
        .map(|n| create_task(worker(n)).with_name(format!("worker-{n}")))
        .collect();
    sleep(0).await;

    let mut tasks = all_tasks();
    tasks.sort_by_key(|t| t.id());
    println!("{} tasks pending:", tasks.len());
    for t in &tasks {
        println!(
            "  {} polled {} time(s), created at line {}",
            t.name(),
            t.poll_count(),
            t.location().line()
        );
    }

    sleep(1.5).await;
    println!("after 1.5 s: {} tasks pending", all_tasks().len());
    for w in &workers {
        w.cancel();
    }
    for w in workers {
        let name = w.name();
        match w.await {
            Ok(()) => println!("{name} finished"),
            Err(e) => println!("{name} {e}"),
        }
    }
}

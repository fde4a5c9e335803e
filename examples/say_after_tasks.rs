//! The seed's two tasks: "hello" at 1 s and "world" at 2 s, running concurrently; about 2 s
//! in all, not 3.

use asyncio::{create_task, sleep};

mod clock {
    include!("support/clock.rs");
}

async fn say_after(delay: f64, what: &str) {
    sleep(delay).await;
    println!("{what}");
}

#[asyncio::main]
async fn main() {
    let task1 = create_task(say_after(1.0, "hello"));
    let task2 = create_task(say_after(2.0, "world"));

    println!("started at {}", clock::strftime_x());

    // Wait until both tasks are completed (should take around 2 seconds.)
    task1.await.unwrap();
    task2.await.unwrap();

    println!("finished at {}", clock::strftime_x());
}

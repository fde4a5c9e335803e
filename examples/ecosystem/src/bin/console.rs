//! Watch asyncio's tasks live with tokio-console.
//!
//! ```sh
//! cd examples/ecosystem
//! cargo run --bin console -- 120     # runs for 120 s (default 60); 0 runs until Ctrl-C
//! tokio-console                      # in another terminal: http://127.0.0.1:6669
//! ```
//!
//! `console_subscriber::init()` installs the console's `tracing` layer as the global
//! subscriber and serves its gRPC API on 127.0.0.1:6669 from a thread of its own. asyncio's
//! `tracing` feature gives each task a `runtime.spawn` span and reports its wakers, so the
//! console lists the tasks below by name, with their polls, busy and idle times and wakes:
//! - `ticker` wakes every 100 ms;
//! - `producer` and `consumer` pass items through a bounded `Queue`;
//! - `slow-poller` blocks its loop for 30 ms in one poll each second (its busy time grows by
//!   30 ms a poll; the task's detail view, Enter, shows the poll-time histogram);
//! - `short-lived` tasks come and go every second (the console keeps completed tasks for a
//!   while, greyed out).

use asyncio::{create_task, sleep, Queue};
use std::time::Duration;

#[asyncio::main]
async fn main() {
    console_subscriber::init();
    let secs: f64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(60.0);
    println!("tasks running; watch them with `tokio-console` (127.0.0.1:6669)");

    let _ticker = create_task(async {
        loop {
            sleep(0.1).await;
        }
    })
    .with_name("ticker");

    let queue: Queue<u64> = Queue::new(4);
    let _producer = create_task({
        let queue = queue.clone();
        async move {
            for i in 0.. {
                queue.put(i).await.unwrap();
                sleep(0.02).await;
            }
        }
    })
    .with_name("producer");
    let _consumer = create_task(async move {
        loop {
            let item = queue.get().await.unwrap();
            std::hint::black_box(item);
        }
    })
    .with_name("consumer");

    let _slow = create_task(async {
        loop {
            sleep(1.0).await;
            // Blocks the loop: a long poll, which the console's busy time and histogram show.
            std::thread::sleep(Duration::from_millis(30));
        }
    })
    .with_name("slow-poller");

    let spawner = create_task(async {
        for n in 0.. {
            create_task(sleep(0.5)).set_name(format!("short-lived-{n}"));
            sleep(1.0).await;
        }
    })
    .with_name("spawner");

    if secs > 0.0 {
        sleep(secs).await;
        spawner.cancel();
    } else {
        let _ = spawner.await;
    }
}

//! The cross-thread door: another thread submits work to the loop with
//! `run_coroutine_threadsafe` and blocks on the result; the loop sends blocking work to its
//! thread pool with `to_thread`.

use asyncio::{get_running_loop, run_coroutine_threadsafe, sleep, to_thread};

#[asyncio::main]
async fn main() {
    let handle = get_running_loop();
    let thread = std::thread::spawn(move || {
        let fut = run_coroutine_threadsafe(
            async {
                sleep(0.5).await;
                3
            },
            &handle,
        );
        let value = fut.result(Some(2.0)).expect("the loop answers within 2 s");
        println!("thread got {value} from the loop");
        handle
            .call_soon_threadsafe(|| println!("callback from the thread ran on the loop"))
            .unwrap();
    });

    let digest = to_thread(|| {
        // Blocking work, off the loop.
        std::thread::sleep(std::time::Duration::from_millis(100));
        (1..=1000u64).sum::<u64>()
    })
    .await
    .unwrap();
    println!("to_thread computed {digest}");

    while !thread.is_finished() {
        sleep(0.05).await;
    }
    thread.join().unwrap();
    sleep(0).await;
}

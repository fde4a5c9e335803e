//! Waits for Ctrl-C, then cleans up: a worker task is cancelled (its `Drop` runs) and the
//! program ends normally.
//!
//! `cargo run --example ctrl_c -- --wait` waits for a real Ctrl-C. Without `--wait` (as in the
//! tour) the program presses Ctrl-C for itself after a moment, by running `kill -INT` on its
//! own pid. With `--no-handler` nobody asks for Ctrl-C: `asyncio::run` cancels the main task,
//! the cleanup runs, and the program ends as Python's does on `KeyboardInterrupt`.

use asyncio::{create_task, signal, sleep};

/// Prints when dropped: cleanup that runs when a task is cancelled.
struct Cleanup(&'static str);

impl Drop for Cleanup {
    fn drop(&mut self) {
        println!("cleanup: {}", self.0);
    }
}

#[asyncio::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let wait = args.iter().any(|a| a == "--wait");
    let no_handler = args.iter().any(|a| a == "--no-handler");

    let worker = create_task(async {
        let _cleanup = Cleanup("worker stopped");
        loop {
            sleep(3600).await;
        }
    });

    // Listen before saying so: a Ctrl-C right after the message is not missed.
    let ctrl_c = (!no_handler).then(signal::ctrl_c);
    // Without a listener, asyncio::run cancels this task at the first Ctrl-C: this runs then.
    let _cleanup = no_handler.then(|| Cleanup("main task cancelled"));
    println!("waiting for Ctrl-C");
    if !wait {
        let pid = std::process::id().to_string();
        sleep(0.2).await;
        asyncio::create_subprocess_exec("kill", ["-INT", &pid])
            .await?
            .wait()
            .await;
    }
    let Some(ctrl_c) = ctrl_c else {
        std::future::pending::<()>().await;
        unreachable!();
    };
    ctrl_c.await?;
    println!("got Ctrl-C, cleaning up");
    worker.cancel();
    let _ = worker.await;
    println!("bye");
    Ok(())
}

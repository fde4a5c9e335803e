//! reqwest, a crate that needs tokio's reactor, awaited from asyncio's tasks through
//! `async-compat`.
//!
//! ```sh
//! cargo run --release --features hyper --example hyper_server   # in the main crate: port 3000
//! cd examples/ecosystem && cargo run --bin reqwest_client -- http://127.0.0.1:3000/
//! ```
//!
//! `Compat::new(fut)` enters a tokio runtime around each poll of `fut`: reqwest's sockets,
//! DNS and timers register with that runtime, whose reactor runs on a thread of its own
//! (async-compat starts one on first use, or uses the tokio runtime the program already
//! runs). When a socket is ready, tokio's thread wakes our task, and the loop polls it again on
//! its own thread: the task, its `Rc`s and its other awaits stay on asyncio's loop.

use async_compat::Compat;

#[asyncio::main]
async fn main() -> Result<(), reqwest::Error> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://127.0.0.1:3000/".to_owned());
    let client = Compat::new(async { reqwest::Client::new() }).await;
    // Three requests on one keep-alive connection, one after another, each awaited on our
    // loop; the `!Send` counter shows they ran in one asyncio task.
    let seen = std::rc::Rc::new(std::cell::Cell::new(0));
    for _ in 0..3 {
        // The future is made inside `Compat` as well: some of reqwest's calls (a request with
        // a timeout) touch tokio when they are called, not only when polled.
        let response = Compat::new(async { client.get(&url).send().await }).await?;
        let status = response.status();
        let hits = response
            .headers()
            .get("x-hits")
            .map(|v| v.to_str().unwrap_or("?").to_owned());
        let body = Compat::new(response.text()).await?;
        seen.set(seen.get() + 1);
        println!(
            "{status} x-hits={hits:?} {body:?} (request {} of 3)",
            seen.get()
        );
    }
    Ok(())
}

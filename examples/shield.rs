//! `shield`: the waiter gives up, the shielded work goes on.

async fn save(what: &'static str) -> &'static str {
    println!("saving {what}...");
    asyncio::sleep(2.0).await;
    println!("saved {what}");
    what
}

#[asyncio::main]
async fn main() {
    let shielded = asyncio::shield(save("report"));
    let inner = shielded.task();
    // The waiter gives up after 1 s: only the wait is cancelled.
    if asyncio::wait_for(shielded, 1.0).await.is_err() {
        println!("stopped waiting; still saving: {}", !inner.done());
    }
    let saved = inner.await.expect("the save was not cancelled");
    println!("done: {saved}");
}

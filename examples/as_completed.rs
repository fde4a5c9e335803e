//! `as_completed`: outcomes in the order they finish, not the order given.

async fn after(secs: f64, what: &'static str) -> &'static str {
    asyncio::sleep(secs).await;
    what
}

#[asyncio::main]
async fn main() {
    let futs = vec![
        after(3.0, "third"),
        after(1.0, "first"),
        after(2.0, "second"),
    ];
    for next in asyncio::as_completed(futs) {
        println!("{}", next.await.unwrap());
    }

    // The stream form, with an overall timeout.
    let mut it =
        asyncio::as_completed(vec![after(1.0, "quick"), after(10.0, "too slow")]).timeout(2.0);
    while let Some(next) = it.next_task().await {
        match next {
            Ok(task) => println!("finished: {}", task.await.unwrap()),
            Err(asyncio::TimeoutError { .. }) => println!("timed out"),
        }
    }
}

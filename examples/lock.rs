//! The seed's `lock.py`: four competitors for one lock get it in the order they asked (FIFO),
//! each holding it for `n` seconds.

async fn lock_competitor(n: u64, lock: asyncio::Lock) {
    println!("competitor{n} try to get lock");
    let _held = lock.acquire().await; // `async with lock:`
    println!("competitor{n} get the lock");
    println!("competitor sleep for {n} seconds...");
    asyncio::sleep(n).await;
    println!("competitor{n} wake up!");
    println!("competitor{n} give up the lock");
}

#[asyncio::main]
async fn main() {
    let lock = asyncio::Lock::new();
    let tasks: Vec<_> = (1..5)
        .map(|n| asyncio::create_task(lock_competitor(n, lock.clone())))
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
}

//! The seed's `gather` program: three factorials computed concurrently.

async fn factorial(name: &'static str, number: u64) {
    let mut f = 1;
    for i in 2..=number {
        println!("Task {name}: Compute factorial({i})...");
        asyncio::sleep(1).await;
        f *= i;
    }
    println!("Task {name}: factorial({number}) = {f}");
}

#[asyncio::main]
async fn main() {
    // Schedule three calls *concurrently*:
    asyncio::gather(vec![
        factorial("A", 2),
        factorial("B", 3),
        factorial("C", 4),
    ])
    .await;
}

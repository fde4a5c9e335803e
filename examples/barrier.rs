//! Three tasks meet at a `Barrier(3)`, as in asyncio's documentation, and then `abort` breaks
//! it for a latecomer.

async fn example_barrier() {
    // barrier with 3 parties
    let b = asyncio::Barrier::new(3);

    // create 2 new waiting tasks
    let tasks: Vec<_> = (0..2).map(|_| asyncio::create_task(b.wait())).collect();
    asyncio::sleep(0).await;
    println!("{b:?}");

    // The third .wait() call passes the barrier
    let index = b.wait().await.unwrap();
    println!("{b:?} (the third arrived as index {index})");
    for task in tasks {
        let index = task.await.unwrap().unwrap();
        println!("a waiting task passed as index {index}");
    }
    println!("barrier passed");

    println!("{b:?}");

    // A latecomer waits for two more parties, but the barrier is aborted.
    let latecomer = asyncio::create_task(b.wait());
    asyncio::sleep(0).await;
    println!("n_waiting = {}", b.n_waiting());
    b.abort();
    match latecomer.await.unwrap() {
        Ok(index) => println!("latecomer passed as {index}?!"),
        Err(e) => println!("latecomer: BrokenBarrierError: {e}"),
    }
    println!("broken = {}", b.broken());
}

#[asyncio::main]
async fn main() {
    example_barrier().await;
}

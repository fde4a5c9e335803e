//! The seed's `event.py`: a task waits for an event that `main` sets a second later.

async fn waiter(event: asyncio::Event) {
    println!("waiting for it ...");
    event.wait().await;
    println!("... got it!");
}

#[asyncio::main]
async fn main() {
    // Create an Event object.
    let event = asyncio::Event::new();

    // Spawn a Task to wait until 'event' is set.
    let waiter_task = asyncio::create_task(waiter(event.clone()));

    // Sleep for 1 second and set the event.
    asyncio::sleep(1).await;
    event.set();

    // Wait until the waiter task is finished.
    waiter_task.await.unwrap();
}

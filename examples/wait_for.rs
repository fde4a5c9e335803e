//! The seed's `wait_for` program: at most one second for an hour-long sleep.

async fn eternity() {
    // Sleep for one hour
    asyncio::sleep(3600).await;
    println!("yay!");
}

#[asyncio::main]
async fn main() {
    // Wait for at most 1 second
    match asyncio::wait_for(eternity(), 1.0).await {
        Ok(()) => {}
        Err(asyncio::TimeoutError { .. }) => println!("timeout!"),
    }
}

//! The seed's first program: `hello`, one second, `world`.

#[asyncio::main]
async fn main() {
    println!("hello");
    asyncio::sleep(1).await;
    println!("world");
}

//! A `BoundedSemaphore` catches a release that has no matching acquire (asyncio's
//! `ValueError`), where a plain `Semaphore` would quietly grow.

#[asyncio::main]
async fn main() {
    let sem = asyncio::BoundedSemaphore::new(2);

    // The explicit style: `await sem.acquire()` ... `sem.release()`.
    sem.acquire().await.forget();
    println!("acquired one permit; locked: {}", sem.locked());
    sem.release().unwrap();
    println!("released it; locked: {}", sem.locked());

    match sem.release() {
        Ok(()) => println!("released a permit never acquired?!"),
        Err(e) => println!("ValueError: {e}"),
    }

    let plain = asyncio::Semaphore::new(2);
    plain.release(); // no error: a plain semaphore now has 3 permits
    let permits: Vec<_> = (0..3).map(|_| plain.try_acquire().unwrap()).collect();
    println!(
        "a plain Semaphore(2) released once gives {} permits",
        permits.len()
    );
}

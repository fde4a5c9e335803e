//! At most two tasks inside a section at once: five tasks share a `Semaphore(2)`.

use std::cell::Cell;
use std::rc::Rc;

async fn visitor(n: u32, sem: asyncio::Semaphore, inside: Rc<Cell<u32>>) {
    let lp = asyncio::get_running_loop();
    let _permit = sem.acquire().await; // `async with sem:`
    inside.set(inside.get() + 1);
    println!(
        "t={:.1} visitor{n} enters ({} inside)",
        lp.time(),
        inside.get()
    );
    asyncio::sleep(0.5).await;
    inside.set(inside.get() - 1);
    println!("t={:.1} visitor{n} leaves", lp.time());
}

#[asyncio::main]
async fn main() {
    let sem = asyncio::Semaphore::new(2);
    let inside = Rc::new(Cell::new(0));
    let start = asyncio::get_running_loop().time();
    let tasks: Vec<_> = (1..=5)
        .map(|n| asyncio::create_task(visitor(n, sem.clone(), inside.clone())))
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let took = asyncio::get_running_loop().time() - start;
    println!("5 visitors, 2 at a time, took {took:.1} seconds");
}

//! The seed's `gather(..., return_exceptions=True)` program.
//!
//! A coroutine that raises returns `Err` here, and `gather` keeps every outcome in its place.
//! Python prints the list `[Exception(), 2, 3]`; each outcome is printed the same way: an `Err`
//! as its exception's repr, an `Ok` as its value.

use std::fmt;

/// Python's bare `Exception()`.
#[derive(Debug)]
struct Exception;

impl fmt::Display for Exception {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Exception()")
    }
}

async fn coro1() -> Result<u64, Exception> {
    Err(Exception)
}

async fn coro_n(num: u64) -> Result<u64, Exception> {
    println!("coro {num}");
    asyncio::sleep(num).await;
    Ok(num)
}

/// A coroutine of this program, boxed.
type Coro = std::pin::Pin<Box<dyn std::future::Future<Output = Result<u64, Exception>>>>;

/// Renders outcomes as Python's `print(results)` renders the list.
fn repr(results: &[Result<u64, Exception>]) -> String {
    let items: Vec<String> = results
        .iter()
        .map(|r| match r {
            Ok(v) => v.to_string(),
            Err(e) => e.to_string(),
        })
        .collect();
    format!("[{}]", items.join(", "))
}

#[asyncio::main]
async fn main() {
    // Boxed so that different `async fn` futures share one type.
    let futs: Vec<Coro> = vec![Box::pin(coro1()), Box::pin(coro_n(2)), Box::pin(coro_n(3))];
    let results = asyncio::gather(futs).await;
    println!("{}", repr(&results));
}

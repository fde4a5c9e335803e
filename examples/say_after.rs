//! The seed's sequential awaits: "hello" after 1 s, "world" 2 s later; about 3 s in all.

use asyncio::sleep;

mod clock {
    include!("support/clock.rs");
}

async fn say_after(delay: f64, what: &str) {
    sleep(delay).await;
    println!("{what}");
}

#[asyncio::main]
async fn main() {
    println!("started at {}", clock::strftime_x());
    say_after(1.0, "hello").await;
    say_after(2.0, "world").await;
    println!("finished at {}", clock::strftime_x());
}

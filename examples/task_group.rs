//! `TaskGroup`: children that end together; one failure cancels the rest.

use asyncio::{TaskGroup, sleep};

async fn worker(name: &'static str, secs: f64, fail: bool) -> Result<&'static str, String> {
    println!("{name}: start");
    sleep(secs).await;
    if fail {
        println!("{name}: failing");
        return Err(format!("{name} failed"));
    }
    println!("{name}: done");
    Ok(name)
}

#[asyncio::main]
async fn main() {
    let (a, b) = TaskGroup::run(|tg| async move {
        let a = tg.create_task(worker("a", 1.0, false));
        let b = tg.create_task(worker("b", 2.0, false));
        Ok::<_, String>((a, b))
    })
    .await
    .unwrap();
    println!("both done: {} {}", a.result().unwrap(), b.result().unwrap());

    let outcome = TaskGroup::run(|tg| async move {
        let _task = tg.create_task(worker("c", 1.0, true));
        let _task = tg.create_task(worker("d", 5.0, false)); // cancelled when c fails
        Ok(())
    })
    .await;
    match outcome {
        Ok(()) => println!("no errors"),
        Err(group) => println!("{group}: {:?}", group.exceptions()),
    }
}

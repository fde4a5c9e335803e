//! The seed's programs of the loop core, on the virtual clock: same lines, same times.

mod support;

use asyncio::{Runner, create_task, get_running_loop, sleep};
use support::Transcript;

async fn say_after(out: Transcript, delay: f64, what: &'static str) {
    sleep(delay).await;
    out.print(what);
}

#[test]
fn hello_prints_world_one_second_later() {
    let out = Transcript::new();
    let o = out.clone();
    Runner::new().virtual_time(true).run(async move {
        o.print("hello");
        sleep(1).await;
        o.print("world");
    });
    assert_eq!(
        out.timed(),
        vec![(0.0, "hello".into()), (1.0, "world".into())]
    );
}

#[asyncio::test(virtual_time)]
async fn sequential_awaits_take_three_seconds() {
    let out = Transcript::new();
    out.print("started");
    say_after(out.clone(), 1.0, "hello").await;
    say_after(out.clone(), 2.0, "world").await;
    out.print("finished");
    assert_eq!(
        out.timed(),
        vec![
            (0.0, "started".into()),
            (1.0, "hello".into()),
            (3.0, "world".into()),
            (3.0, "finished".into())
        ]
    );
}

#[asyncio::test(virtual_time)]
async fn two_tasks_take_two_seconds_not_three() {
    let out = Transcript::new();
    let task1 = create_task(say_after(out.clone(), 1.0, "hello"));
    let task2 = create_task(say_after(out.clone(), 2.0, "world"));
    out.print("started");
    task1.await.unwrap();
    task2.await.unwrap();
    out.print("finished");
    assert_eq!(
        out.timed(),
        vec![
            (0.0, "started".into()),
            (1.0, "hello".into()),
            (2.0, "world".into()),
            (2.0, "finished".into())
        ]
    );
    assert_eq!(get_running_loop().time(), 2.0);
}

#[test]
fn virtual_clock_runs_an_hour_in_no_real_time() {
    let now = Runner::new().virtual_time(true).run(async {
        sleep(3600.0).await;
        get_running_loop().time()
    });
    assert_eq!(now, 3600.0);
}

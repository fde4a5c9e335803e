//! `create_eager_task`.

mod common;

use asyncio::{create_eager_task, create_task, current_task, sleep};
use common::{now, Log};

#[asyncio::test(virtual_time)]
async fn a_task_that_does_not_suspend_is_done_before_create_returns() {
    let lp = asyncio::get_running_loop();
    let ready_before = lp.stats().ready;
    let task = create_eager_task(async { 42 });
    assert!(task.done());
    assert_eq!(lp.stats().ready, ready_before, "never queued");
    assert_eq!(task.poll_count(), 1);
    assert_eq!(task.await.unwrap(), 42);
}

#[asyncio::test(virtual_time)]
async fn the_first_step_runs_inside_the_caller_as_the_new_task() {
    let log = Log::default();
    let l = log.clone();
    let me = current_task().unwrap().id();
    let task = create_eager_task(async move {
        let inside = current_task().unwrap().id();
        l.push(format!("first step, same task as caller: {}", inside == me));
        sleep(1.0).await;
        l.push(format!("resumed at {}", now()));
    });
    log.push("create returned");
    assert_eq!(
        current_task().unwrap().id(),
        me,
        "the caller is current again"
    );
    assert!(!task.done());
    task.clone().await.unwrap();
    assert_eq!(
        log.lines(),
        [
            "first step, same task as caller: false",
            "create returned",
            "resumed at 1"
        ]
    );
}

#[asyncio::test(virtual_time)]
async fn eager_versus_ordinary_order() {
    let log = Log::default();
    let (a, b) = (log.clone(), log.clone());
    let lazy = create_task(async move { a.push("lazy") });
    let eager = create_eager_task(async move { b.push("eager") });
    log.push("caller");
    lazy.await.unwrap();
    eager.await.unwrap();
    assert_eq!(log.lines(), ["eager", "caller", "lazy"]);
}

#[asyncio::test(virtual_time)]
async fn a_panic_in_the_first_step_ends_the_task_not_the_caller() {
    let task = create_eager_task(async { panic!("early") });
    assert!(task.done());
    assert!(task.await.unwrap_err().is_panic());
}

#[asyncio::test(virtual_time)]
async fn a_task_that_wakes_itself_runs_on() {
    let task = create_eager_task(async {
        sleep(0).await;
        sleep(0).await;
        7
    });
    assert!(!task.done());
    assert_eq!(task.await.unwrap(), 7);
}

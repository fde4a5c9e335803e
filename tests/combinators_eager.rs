//! `create_eager_task`.

mod common;

use asyncio::{TaskFactory, create_eager_task, create_task, current_task, sleep};
use common::{Log, now};

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

// The loop-wide switch: `set_task_factory(TaskFactory::Eager)`, asyncio's
// `loop.set_task_factory(asyncio.eager_task_factory)`.

#[asyncio::test(virtual_time)]
async fn the_eager_factory_makes_create_task_eager_until_set_back() {
    let lp = asyncio::get_running_loop();
    assert_eq!(lp.task_factory(), TaskFactory::Default);
    lp.set_task_factory(TaskFactory::Eager);
    assert_eq!(lp.task_factory(), TaskFactory::Eager);
    let log = Log::default();
    let (a, b) = (log.clone(), log.clone());
    let ready_before = lp.stats().ready;
    let first = create_task(async move { a.push("first step") });
    assert!(first.done(), "finished inside create_task");
    assert_eq!(lp.stats().ready, ready_before, "never queued");
    log.push("caller");
    lp.set_task_factory(TaskFactory::Default);
    let second = create_task(async move { b.push("lazy again") });
    assert!(!second.done());
    log.push("caller again");
    second.await.unwrap();
    assert_eq!(
        log.lines(),
        ["first step", "caller", "caller again", "lazy again"]
    );
}

#[asyncio::test(virtual_time)]
async fn combinators_that_make_tasks_follow_the_factory() {
    asyncio::get_running_loop().set_task_factory(TaskFactory::Eager);
    let log = Log::default();
    let step = |name: &'static str| {
        let log = log.clone();
        async move {
            log.push(name);
            sleep(1.0).await;
            name
        }
    };
    let gathered = asyncio::gather([step("gather a"), step("gather b")]);
    log.push("gather made");
    let shielded = asyncio::shield(step("shield"));
    log.push("shield made");
    let group = asyncio::TaskGroup::run(|tg| {
        let log = log.clone();
        async move {
            let child = tg.create_task(async { Ok::<_, String>(5) });
            log.push(format!("child done at once: {}", child.done()));
            Ok(())
        }
    });
    group.await.unwrap();
    assert_eq!(gathered.await, ["gather a", "gather b"]);
    assert_eq!(shielded.await.unwrap(), "shield");
    assert_eq!(
        log.lines(),
        [
            "gather a",
            "gather b",
            "gather made",
            "shield",
            "shield made",
            "child done at once: true"
        ]
    );
}

#[asyncio::test(virtual_time)]
async fn a_task_made_eager_by_the_factory_is_current_in_its_first_step() {
    asyncio::get_running_loop().set_task_factory(TaskFactory::Eager);
    let me = current_task().unwrap().id();
    let task = create_task(async move { current_task().unwrap().id() });
    let inside = task.await.unwrap();
    assert_ne!(inside, me);
    assert_eq!(current_task().unwrap().id(), me);
}

#[test]
fn the_factory_belongs_to_one_loop() {
    asyncio::run(async {
        asyncio::get_running_loop().set_task_factory(TaskFactory::Eager);
    });
    asyncio::run(async {
        assert_eq!(
            asyncio::get_running_loop().task_factory(),
            TaskFactory::Default
        );
    });
}

/// The loop's own tasks (the accept loop, the connection handlers) still start at the next
/// turn, and a server works as before under the eager factory.
#[asyncio::test]
async fn a_server_works_under_the_eager_factory() {
    asyncio::get_running_loop().set_task_factory(TaskFactory::Eager);
    async fn echo(mut r: asyncio::StreamReader, w: asyncio::StreamWriter) {
        let line = r.readline().await.unwrap();
        w.write(&line);
        w.drain().await.unwrap();
        w.close();
    }
    let server = asyncio::start_server(echo, "127.0.0.1", 0).await.unwrap();
    let port = server.sockets()[0].as_inet().unwrap().port();
    let client = create_task(async move {
        let (mut r, w) = asyncio::open_connection("127.0.0.1", port).await.unwrap();
        w.write(b"hello\n");
        r.readline().await.unwrap()
    });
    assert_eq!(client.await.unwrap(), b"hello\n");
    server.close();
    server.wait_closed().await;
}

/// asyncio 3.12: an eager TaskGroup child that fails in its first step aborts the group at
/// once (`create_task` runs `_on_task_done` for a task already done), so a sibling created
/// after it never starts.
#[asyncio::test(virtual_time)]
async fn a_group_child_failing_in_its_first_step_stops_later_siblings() {
    asyncio::get_running_loop().set_task_factory(TaskFactory::Eager);
    let log = Log::default();
    let l = log.clone();
    let result = asyncio::TaskGroup::run(|tg| async move {
        let _bad = tg.create_task(async { Err::<(), String>("bad".into()) });
        let _later = tg.create_task(async move {
            l.push("later sibling ran");
            Ok(())
        });
        sleep(0.5).await;
        Ok(())
    })
    .await;
    assert_eq!(result.unwrap_err().exceptions(), ["bad"]);
    assert!(log.lines().is_empty(), "{:?}", log.lines());
}

/// A child that makes a sibling in its first step, then panics: the group re-raises that
/// child's own panic (each child keeps its own place in the group, made before it runs).
#[asyncio::test(virtual_time)]
async fn a_group_child_that_makes_a_sibling_then_panics_keeps_its_panic() {
    asyncio::get_running_loop().set_task_factory(TaskFactory::Eager);
    let run = create_task(asyncio::TaskGroup::run(|tg| async move {
        let tg2 = tg.clone();
        let _outer = tg.create_task(async move {
            let _inner = tg2.create_task(async {
                sleep(10.0).await;
                Ok::<(), String>(())
            });
            panic!("outer child panicked");
            #[allow(unreachable_code)]
            Ok::<(), String>(())
        });
        Ok(())
    }));
    let err = run.await.unwrap_err();
    assert!(err.to_string().contains("outer child panicked"), "{err}");
}

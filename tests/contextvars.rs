//! Context variables as asyncio users rely on them: a task sees a copy of its creator's
//! context and never leaks into it; callbacks, done callbacks and timers run in a copy of
//! their scheduler's; a `Runner` keeps one context for its runs; nothing strands a context as
//! current after a panic.

use asyncio::contextvars::{Context, ContextVar, copy_context};
use asyncio::{Runner, TaskGroup, create_eager_task, create_task, sleep};
use std::cell::RefCell;
use std::rc::Rc;

static ID: ContextVar<u32> = ContextVar::new("id");
static NAME: ContextVar<String> = ContextVar::with_default("name", || "anon".into());

fn run<F: std::future::Future + 'static>(f: F) -> F::Output {
    Runner::new().virtual_time(true).run(f)
}

#[test]
fn sibling_tasks_each_see_their_own_values() {
    run(async {
        ID.set(1);
        let a = create_task(async {
            ID.set(10);
            sleep(1.0).await;
            ID.get()
        });
        let b = create_task(async {
            sleep(0.5).await;
            let before = ID.get();
            ID.set(20);
            sleep(1.0).await;
            (before, ID.get())
        });
        assert_eq!(a.await.unwrap(), Some(10));
        assert_eq!(b.await.unwrap(), (Some(1), Some(20)));
        assert_eq!(ID.get(), Some(1), "children never write into the parent");
    });
}

#[test]
fn a_task_of_a_creator_that_set_nothing_sets_its_own_without_leaking() {
    run(async {
        let t = create_task(async {
            NAME.set("worker".into());
            let child = create_task(async { NAME.get() });
            sleep(0).await;
            (NAME.get(), child.await.unwrap())
        });
        let (own, child) = t.await.unwrap();
        assert_eq!(
            (own.as_deref(), child.as_deref()),
            (Some("worker"), Some("worker"))
        );
        assert_eq!(NAME.get().as_deref(), Some("anon"));
        // The next task of the loop starts empty too.
        assert_eq!(
            create_task(async { NAME.get() }).await.unwrap().as_deref(),
            Some("anon")
        );
    });
}

#[test]
fn a_callback_runs_in_a_copy_of_its_schedulers_context() {
    run(async {
        let seen = Rc::new(RefCell::new(Vec::new()));
        let lp = asyncio::get_running_loop();
        ID.set(5);
        let s = seen.clone();
        lp.call_soon(move || {
            s.borrow_mut().push(("soon", ID.get()));
            ID.set(6);
        });
        let s = seen.clone();
        lp.call_later(1.0, move || s.borrow_mut().push(("later", ID.get())));
        ID.set(7);
        let s = seen.clone();
        lp.call_soon(move || s.borrow_mut().push(("soon after set", ID.get())));
        sleep(2.0).await;
        assert_eq!(
            *seen.borrow(),
            vec![
                ("soon", Some(5)),
                ("soon after set", Some(7)),
                ("later", Some(5))
            ]
        );
        assert_eq!(ID.get(), Some(7), "the callback's set stayed in its copy");
    });
}

#[test]
fn a_callback_scheduled_with_no_context_leaves_nothing_behind() {
    run(async {
        let lp = asyncio::get_running_loop();
        lp.call_soon(|| {
            ID.set(1);
        });
        sleep(0).await;
        let later = Rc::new(RefCell::new(None));
        let l = later.clone();
        lp.call_soon(move || *l.borrow_mut() = Some(ID.get()));
        sleep(0).await;
        assert_eq!(*later.borrow(), Some(None));
        assert_eq!(ID.get(), None);
    });
}

#[test]
fn a_done_callback_runs_in_the_context_it_was_added_in() {
    run(async {
        let seen = Rc::new(RefCell::new(None));
        let task = create_task(sleep(1.0));
        ID.set(42);
        let s = seen.clone();
        task.add_done_callback(move |_| *s.borrow_mut() = Some(ID.get()));
        ID.set(43);
        task.await.unwrap();
        sleep(0).await;
        assert_eq!(*seen.borrow(), Some(Some(42)));
    });
}

#[test]
fn a_task_given_a_context_writes_into_that_context() {
    run(async {
        let ctx = Context::new();
        ctx.run(|| ID.set(1));
        let t = create_task(async {
            let before = ID.get();
            ID.set(2);
            before
        })
        .with_context(ctx.clone());
        assert_eq!(t.await.unwrap(), Some(1));
        assert_eq!(ctx.get(&ID), Some(2));
        assert_eq!(ID.get(), None);
    });
}

#[test]
fn eager_and_task_group_children_copy_the_creators_context() {
    run(async {
        ID.set(8);
        let eager = create_eager_task(async {
            let first = ID.get();
            ID.set(9);
            sleep(0).await;
            (first, ID.get())
        });
        assert_eq!(ID.get(), Some(8), "the eager first step did not leak");
        assert_eq!(eager.await.unwrap(), (Some(8), Some(9)));
        let got = TaskGroup::run(|tg| async move {
            let a = tg.create_task(async { Ok::<_, ()>(ID.get()) });
            ID.set(3);
            let b = tg.create_task(async { Ok::<_, ()>(ID.get()) });
            Ok::<_, ()>((a, b))
        })
        .await
        .unwrap();
        let (a, b) = (got.0.await.unwrap(), got.1.await.unwrap());
        assert_eq!((a, b), (Some(8), Some(3)));
    });
}

#[test]
fn a_runner_keeps_one_context_for_its_runs_and_the_caller_keeps_its_own() {
    std::thread::spawn(|| {
        ID.set(1);
        let mut runner = Runner::new();
        let first = runner.run(async {
            let seen = ID.get();
            ID.set(2);
            seen
        });
        let second = runner.run(async { ID.get() });
        assert_eq!((first, second), (Some(1), Some(2)));
        assert_eq!(ID.get(), Some(1));
        // A new runner copies the caller's context again.
        assert_eq!(Runner::new().run(async { ID.get() }), Some(1));
    })
    .join()
    .unwrap();
}

#[test]
fn to_thread_sees_a_copy_and_run_in_executor_does_not() {
    run(async {
        ID.set(11);
        let copied = asyncio::to_thread(|| {
            let seen = ID.get();
            ID.set(12);
            seen
        })
        .await
        .unwrap();
        let bare = asyncio::get_running_loop()
            .run_in_executor(|| ID.get())
            .await
            .unwrap();
        assert_eq!((copied, bare), (Some(11), None));
        assert_eq!(ID.get(), Some(11));
    });
}

#[test]
fn a_panicking_step_or_callback_strands_no_context() {
    run(async {
        let t = create_task(async {
            ID.set(1);
            panic!("boom");
        });
        assert!(t.await.is_err());
        asyncio::get_running_loop().call_soon(|| {
            ID.set(2);
            panic!("callback boom");
        });
        sleep(0).await;
        sleep(0).await;
        assert_eq!(ID.get(), None);
        assert_eq!(create_task(async { ID.get() }).await.unwrap(), None);
    });
}

#[test]
fn tokens_reset_only_their_own_variable_in_their_own_context() {
    let ctx = copy_context();
    let token = ctx.run(|| NAME.set("x".into()));
    assert_eq!(
        NAME.reset(token).map_err(|e| e.to_string()),
        Err("Token was created in a different Context".into())
    );
    let token = ctx.run(|| ID.set(1));
    assert_eq!(ctx.run(|| ID.reset(token)).map(|()| ctx.get(&ID)), Ok(None));
    let other = ContextVar::<u32>::new("other");
    let token = ctx.run(|| other.set(1));
    assert_eq!(
        ctx.run(|| ID.reset(token)).map_err(|e| e.to_string()),
        Err("Token was created by a different ContextVar".into())
    );
    assert_eq!(ctx.get(&other), Some(1), "a refused reset changes nothing");
}

#[test]
#[should_panic(expected = "is already entered")]
fn a_context_cannot_be_entered_twice() {
    let ctx = Context::new();
    ctx.run(|| ctx.run(|| ()));
}

#[test]
fn a_runner_keeps_what_its_first_main_set_when_the_caller_set_nothing() {
    std::thread::spawn(|| {
        let mut runner = Runner::new();
        runner.run(async {
            NAME.set("first".into());
        });
        let seen = runner.run(async { NAME.get() });
        assert_eq!(seen.as_deref(), Some("first"));
        assert_eq!(NAME.get().as_deref(), Some("anon"));
    })
    .join()
    .unwrap();
}

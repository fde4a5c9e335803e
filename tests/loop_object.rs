//! The loop object, `new_event_loop()`: asyncio's `run_until_complete`, `run_forever`, `stop`
//! and `close`, with the errors asyncio raises for a closed, running or nested loop.

mod logs;

use asyncio::{EventLoop, RunError, create_task, get_running_loop, new_event_loop, sleep};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

fn runtime_msg(e: RunError) -> String {
    match e {
        RunError::Runtime(e) => e.to_string(),
        other => panic!("not a RuntimeError: {other:?}"),
    }
}

#[test]
fn run_until_complete_returns_the_output_and_pending_tasks_carry_on_in_the_next_run() {
    let lp = EventLoop::with_virtual_time();
    let ticks = Rc::new(Cell::new(0));
    let t = ticks.clone();
    let background = lp.create_task(async move {
        loop {
            sleep(1.0).await;
            t.set(t.get() + 1);
        }
    });
    assert_eq!(lp.run_until_complete(sleep(2.5)).unwrap(), ());
    assert_eq!(ticks.get(), 2);
    lp.run_until_complete(sleep(2.0)).unwrap();
    assert_eq!(ticks.get(), 4);
    assert!(!background.done());
    background.cancel();
    assert!(lp.run_until_complete(background).unwrap().is_err());
    lp.close().unwrap();
}

#[test]
fn run_forever_runs_until_stop_is_called() {
    let lp = EventLoop::with_virtual_time();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s = seen.clone();
    let _worker = lp.create_task(async move {
        for i in 0..3 {
            s.borrow_mut().push(i);
            sleep(1.0).await;
        }
        get_running_loop().stop();
    });
    lp.run_forever().unwrap();
    assert_eq!(*seen.borrow(), [0, 1, 2]);
    assert_eq!(lp.time(), 3.0);
    assert!(!lp.is_running());
    lp.close().unwrap();
}

#[test]
fn stop_before_run_forever_runs_exactly_one_turn() {
    let lp = new_event_loop();
    let turns = Rc::new(Cell::new(0));
    fn again(turns: Rc<Cell<u32>>) {
        turns.set(turns.get() + 1);
        get_running_loop().call_soon(move || again(turns));
    }
    let t = turns.clone();
    lp.call_soon(move || again(t));
    lp.stop();
    lp.run_forever().unwrap();
    assert_eq!(turns.get(), 1, "one turn runs what was ready when it began");
    lp.stop();
    lp.run_forever().unwrap();
    assert_eq!(turns.get(), 2);
    lp.close().unwrap();
}

#[test]
fn stop_inside_run_until_complete_leaves_the_future_pending_and_says_so() {
    let lp = EventLoop::with_virtual_time();
    let task = lp.create_task(sleep(10.0));
    lp.call_later(1.0, || get_running_loop().stop());
    let err = lp.run_until_complete(sleep(5.0)).unwrap_err();
    assert_eq!(
        runtime_msg(err),
        "Event loop stopped before Future completed."
    );
    assert!(!task.done());
    lp.run_until_complete(task.clone()).unwrap().unwrap();
    assert_eq!(lp.time(), 10.0);
    lp.close().unwrap();
}

#[test]
fn a_closed_loop_refuses_to_run_and_closing_twice_is_fine() {
    let lp = new_event_loop();
    lp.close().unwrap();
    assert!(lp.is_closed());
    lp.close().unwrap();
    assert_eq!(
        runtime_msg(lp.run_until_complete(async {}).unwrap_err()),
        "Event loop is closed"
    );
    assert_eq!(
        lp.run_forever().unwrap_err().to_string(),
        "Event loop is closed"
    );
    assert!(lp.get_loop().is_closed());
    assert!(lp.call_soon_threadsafe(|| {}).is_err());
}

#[test]
fn a_running_loop_cannot_be_closed_nor_run_again_and_another_loop_cannot_run_inside() {
    let lp = Rc::new(new_event_loop());
    let inner = lp.clone();
    let outcome = lp
        .run_until_complete(async move {
            let close = inner.close().unwrap_err().to_string();
            let again = inner.run_forever().unwrap_err().to_string();
            let other = new_event_loop();
            let nested = other.run_until_complete(async {}).unwrap_err().to_string();
            other.close().unwrap();
            (close, again, nested)
        })
        .unwrap();
    assert_eq!(outcome.0, "Cannot close a running event loop");
    assert_eq!(outcome.1, "This event loop is already running");
    assert_eq!(
        outcome.2,
        "Cannot run the event loop while another loop is running"
    );
    assert!(
        asyncio::try_run(async {
            let lp = new_event_loop();
            lp.run_forever().unwrap_err().to_string()
        })
        .unwrap()
        .contains("another loop is running")
    );
    lp.close().unwrap();
}

#[test]
fn inside_the_loop_get_running_loop_is_this_loop_and_is_running_says_so() {
    let lp = new_event_loop();
    let handle = lp.get_loop();
    assert!(!lp.is_running());
    let same = lp
        .run_until_complete(async move {
            let me = get_running_loop();
            (me.same_loop(&handle), me.is_running())
        })
        .unwrap();
    assert_eq!(same, (true, true));
    assert!(!lp.is_running());
}

#[test]
fn a_panic_in_the_future_is_raised_by_run_until_complete_and_the_loop_stays_usable() {
    let lp = new_event_loop();
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        lp.run_until_complete(async { panic!("main broke") })
    }));
    assert!(caught.is_err());
    assert_eq!(lp.run_until_complete(async { 3 }).unwrap(), 3);
    lp.close().unwrap();
}

#[test]
fn stop_from_another_thread_wakes_a_sleeping_loop() {
    let lp = new_event_loop();
    let handle = lp.get_loop();
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(20));
        handle.stop();
    });
    lp.run_forever().unwrap();
    stopper.join().unwrap();
    lp.close().unwrap();
}

#[test]
fn close_does_not_cancel_pending_tasks_but_reports_each_as_destroyed() {
    logs::capture();
    let lp = new_event_loop();
    let reports = Rc::new(RefCell::new(Vec::new()));
    let r = reports.clone();
    lp.set_exception_handler(move |_, ctx| {
        r.borrow_mut().push((
            ctx.message.clone(),
            ctx.task.as_ref().map(|t| t.name.clone()),
        ))
    });
    lp.run_until_complete(async {
        drop(create_task(sleep(100.0)).with_name("left-behind"));
        sleep(0).await;
    })
    .unwrap();
    lp.close().unwrap();
    assert_eq!(
        *reports.borrow(),
        [(
            "Task was destroyed but it is pending!".to_owned(),
            Some("left-behind".to_owned())
        )]
    );
    // Without a handler the default one logs it, as asyncio's does.
    let lp = new_event_loop();
    drop(lp.create_task(sleep(100.0)).with_name("left-behind-logged"));
    drop(lp);
    assert_eq!(
        logs::count(&[
            "ERROR Task was destroyed but it is pending!",
            "left-behind-logged"
        ]),
        1
    );
}

#[test]
fn shutdown_default_executor_waits_for_the_jobs_while_the_loop_turns() {
    let lp = new_event_loop();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let d = done.clone();
    let job = lp.create_task(asyncio::to_thread(move || {
        std::thread::sleep(std::time::Duration::from_millis(20));
        d.store(true, std::sync::atomic::Ordering::SeqCst);
    }));
    lp.run_until_complete(sleep(0)).unwrap();
    lp.shutdown_default_executor(30.0).unwrap();
    assert!(done.load(std::sync::atomic::Ordering::SeqCst));
    assert!(job.done());
    lp.close().unwrap();
    assert_eq!(
        lp.shutdown_default_executor(1.0).unwrap_err().to_string(),
        "Event loop is closed"
    );
}

#[test]
fn the_loop_objects_settings_are_the_running_loops() {
    let lp = new_event_loop();
    lp.set_debug(true);
    lp.set_slow_callback_duration(0.25);
    let seen = lp
        .run_until_complete(async {
            let me = get_running_loop();
            (me.get_debug(), me.slow_callback_duration())
        })
        .unwrap();
    assert_eq!(seen, (true, 0.25));
    assert!(lp.stats().polls >= 1);
}

#[test]
fn a_closure_task_factory_sees_each_task_and_chooses_how_it_starts() {
    use asyncio::{TaskFactory, TaskRef};
    let lp = new_event_loop();
    let made = Rc::new(RefCell::new(Vec::new()));
    let m = made.clone();
    lp.set_task_factory(move |task: &TaskRef| {
        m.borrow_mut().push(task.id());
        task.set_name(format!("made-{}", m.borrow().len()));
        if m.borrow().len() == 3 {
            TaskFactory::Eager
        } else {
            TaskFactory::Default
        }
    });
    assert_eq!(lp.task_factory(), TaskFactory::Custom);
    let names = lp
        .run_until_complete(async {
            let first = create_task(async {});
            assert!(!first.done(), "the default start: next turn");
            let second = create_task(async {});
            assert!(second.done(), "the eager start: inside create_task");
            let group = asyncio::gather(vec![sleep(0), sleep(0)]).await;
            assert_eq!(group.len(), 2);
            first.clone().await.unwrap();
            (first.name(), second.name())
        })
        .unwrap();
    // The main task (run_until_complete makes it with create_task, as asyncio's
    // ensure_future), the two, and gather's two.
    assert_eq!(made.borrow().len(), 5);
    assert_eq!(names, ("made-2".to_owned(), "made-3".to_owned()));
    lp.set_task_factory(TaskFactory::Default);
    assert_eq!(lp.task_factory(), TaskFactory::Default);
    lp.close().unwrap();
}

#[test]
fn a_panicking_task_factory_panics_in_create_task_and_its_task_is_cancelled() {
    let lp = new_event_loop();
    let ok = lp
        .run_until_complete(async {
            let lp = get_running_loop();
            lp.set_task_factory(|_: &asyncio::TaskRef| panic!("factory broke"));
            let caught = std::panic::catch_unwind(|| drop(create_task(async {})));
            lp.set_task_factory(asyncio::TaskFactory::Default);
            sleep(0).await;
            caught.is_err() && asyncio::all_tasks().len() == 1
        })
        .unwrap();
    assert!(ok);
    lp.close().unwrap();
}

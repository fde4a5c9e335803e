//! `run` and `Runner`: results, shutdown, nesting, panics, debug mode, logging.
#![allow(clippy::async_yields_async)] // a run may hand a task out to the next one

mod logs;
mod support;

use asyncio::{Runner, TaskError, create_task, get_running_loop, run, sleep, try_run};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use support::DropFlag;

fn capture_logs() {
    logs::capture();
}

fn logged(needle: &str) -> bool {
    logs::count(&[needle]) > 0
}

#[test]
fn run_returns_the_main_output() {
    assert_eq!(run(async { 40 + 2 }), 42);
}

#[test]
fn run_cancels_leftover_tasks_and_lets_them_clean_up() {
    let drops = Rc::new(RefCell::new(0));
    let started = Rc::new(Cell::new(0));
    let (d, s) = (drops.clone(), started.clone());
    run(async move {
        for _ in 0..3 {
            let flag = DropFlag(d.clone());
            let s = s.clone();
            drop(create_task(async move {
                let _flag = flag;
                s.set(s.get() + 1);
                sleep(3600.0).await;
            }));
        }
        sleep(0).await;
    });
    assert_eq!(started.get(), 3);
    assert_eq!(
        *drops.borrow(),
        3,
        "every leftover task's future was dropped by run"
    );
}

#[test]
fn a_panic_in_main_reraises_after_cleanup() {
    let drops = Rc::new(RefCell::new(0));
    let d = drops.clone();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run(async move {
            let flag = DropFlag(d);
            drop(create_task(async move {
                let _flag = flag;
                sleep(3600.0).await;
            }));
            sleep(0).await;
            panic!("main failed");
        })
    }));
    let payload = result.unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"main failed"));
    assert_eq!(
        *drops.borrow(),
        1,
        "leftovers were cancelled before the panic went on"
    );
}

#[test]
fn a_cancelled_main_task_raises_cancelled_error() {
    let result = std::panic::catch_unwind(|| {
        run(async {
            asyncio::current_task().unwrap().cancel();
            sleep(1.0).await;
        })
    });
    let payload = result.unwrap_err();
    assert!(
        payload
            .downcast_ref::<TaskError>()
            .is_some_and(TaskError::is_cancelled)
    );
}

#[test]
fn run_inside_a_running_loop_is_a_runtime_error_not_a_hang() {
    run(async {
        let Err(asyncio::RunError::Runtime(err)) = try_run(async {}) else {
            panic!("try_run inside a loop must be a RuntimeError");
        };
        assert_eq!(
            err.msg,
            "asyncio.run() cannot be called from a running event loop"
        );
        let nested = std::panic::catch_unwind(|| run(async {}));
        assert!(nested.is_err());
    });
}

#[test]
fn runner_keeps_one_loop_and_its_tasks_across_runs() {
    let mut runner = Runner::new().virtual_time(true);
    let lp = runner.get_loop();
    let background = runner.run(async {
        create_task(async {
            sleep(5.0).await;
            "background"
        })
    });
    assert!(!lp.is_running());
    runner.run(async { sleep(1.0).await });
    assert!(!background.done());
    let out = runner.run(async move { background.await.unwrap() });
    assert_eq!(out, "background");
    assert_eq!(lp.time(), 5.0);
    runner.close();
    assert!(lp.is_closed());
}

#[test]
fn closing_a_runner_cancels_pending_tasks() {
    let drops = Rc::new(RefCell::new(0));
    let mut runner = Runner::new();
    let d = drops.clone();
    let task = runner.run(async move {
        let flag = DropFlag(d);
        create_task(async move {
            let _flag = flag;
            sleep(3600.0).await;
        })
    });
    runner.close();
    assert_eq!(*drops.borrow(), 1);
    assert!(task.cancelled());
}

#[test]
fn loop_handle_reports_running_and_closed() {
    let lp = run(async {
        let lp = get_running_loop();
        assert!(lp.is_running() && !lp.is_closed());
        lp
    });
    assert!(!lp.is_running());
    assert!(lp.is_closed());
    assert!(
        lp.call_soon_threadsafe(|| {}).is_err(),
        "a closed loop refuses work"
    );
}

#[test]
fn get_running_loop_outside_a_loop_is_an_error() {
    assert_eq!(
        asyncio::try_get_running_loop().unwrap_err().msg,
        "no running event loop"
    );
    assert!(std::panic::catch_unwind(get_running_loop).is_err());
    assert!(std::panic::catch_unwind(|| create_task(async {})).is_err());
}

#[test]
fn an_unretrieved_panic_is_logged_when_the_task_goes() {
    capture_logs();
    run(async {
        drop(create_task(async { panic!("nobody looks at me") }));
        sleep(0).await;
        sleep(0).await;
    });
    assert!(logged("Task exception was never retrieved"));
    assert!(logged("nobody looks at me"));
}

#[test]
fn a_retrieved_panic_is_not_logged() {
    capture_logs();
    run(async {
        let task = create_task(async { panic!("seen by the awaiter") });
        assert!(task.await.is_err());
    });
    assert!(!logged("seen by the awaiter"));
}

#[test]
fn debug_mode_warns_about_slow_polls_and_counts_busy_time() {
    capture_logs();
    Runner::new().debug(true).run(async {
        let task = create_task(async {
            std::thread::sleep(std::time::Duration::from_millis(120));
        })
        .with_name("slowpoke");
        let t = task.clone();
        task.await.unwrap();
        assert!(t.busy_time() >= std::time::Duration::from_millis(120));
    });
    assert!(logged(
        "Executing <Task finished name='slowpoke' created at "
    ));
}

#[test]
fn a_panicking_callback_is_logged_and_the_loop_goes_on() {
    capture_logs();
    let after = run(async {
        get_running_loop().call_soon(|| panic!("callback broke"));
        sleep(0).await;
        sleep(0).await;
        "still running"
    });
    assert_eq!(after, "still running");
    assert!(logged("Exception in callback"));
}

//! Debug mode: slow steps logged once above `slow_callback_duration` and never below it,
//! `ASYNCIO_DEBUG`, resources dropped without `close`, and the loop's metrics.
//!
//! The slow step's duration is made with `std::thread::sleep` well above a threshold, the fast
//! one does nothing against a threshold far above it: the assertions are on the log, not on
//! timing.

mod logs;

use asyncio::{Runner, create_task, get_running_loop, sleep};
use std::time::Duration;

fn block_for(ms: u64) {
    std::thread::sleep(Duration::from_millis(ms));
}

#[test]
fn a_slow_task_step_is_logged_once_with_its_name_and_creation_site() {
    logs::capture();
    let stats = Runner::new().debug(true).run(async {
        get_running_loop().set_slow_callback_duration(0.05);
        let slow = create_task(async {
            block_for(150);
            sleep(0).await; // a second, fast step: not logged
        })
        .with_name("slow-step-task");
        slow.await.unwrap();
        get_running_loop().stats()
    });
    let line = format!("created at {}:", file!());
    assert_eq!(
        logs::count(&[
            "WARN Executing <Task ",
            "name='slow-step-task'",
            &line,
            " took 0.",
            " seconds"
        ]),
        1
    );
    assert_eq!(stats.slow_steps, 1);
}

#[test]
fn a_step_far_below_the_threshold_is_not_logged() {
    logs::capture();
    Runner::new().debug(true).run(async {
        get_running_loop().set_slow_callback_duration(30.0);
        let quick = create_task(async {
            block_for(1);
        })
        .with_name("quick-step-task");
        quick.await.unwrap();
    });
    assert_eq!(logs::count(&["quick-step-task"]), 0);
}

/// asyncio's `<Handle cb() created at file.py:12>`: the callback's creation site is the
/// line that scheduled it, through `call_soon` and `call_later` alike.
#[test]
fn a_slow_callback_is_logged_as_asyncio_logs_a_handle_with_its_creation_site() {
    logs::capture();
    let (stats, soon_line, later_line) = Runner::new().debug(true).run(async {
        let lp = get_running_loop();
        lp.set_slow_callback_duration(0.05);
        let soon_line = line!() + 1;
        lp.call_soon(|| block_for(150));
        let later_line = line!() + 1;
        lp.call_later(0.01, || block_for(150));
        sleep(0.05).await;
        (lp.stats(), soon_line, later_line)
    });
    for line in [soon_line, later_line] {
        let site = format!("<Handle callback created at {}:{line}:", file!());
        assert_eq!(
            logs::count(&["WARN Executing ", &site, " took 0.", " seconds"]),
            1,
            "{site}"
        );
    }
    assert_eq!(stats.slow_steps, 2);
}

#[test]
fn without_debug_mode_a_slow_step_is_not_logged() {
    logs::capture();
    let stats = Runner::new().debug(false).run(async {
        let slow = create_task(async { block_for(150) }).with_name("slow-no-debug");
        slow.await.unwrap();
        get_running_loop().stats()
    });
    assert_eq!(logs::count(&["slow-no-debug"]), 0);
    assert_eq!(stats.slow_steps, 0);
}

#[test]
fn debug_mode_can_be_switched_on_while_the_loop_runs() {
    logs::capture();
    Runner::new().debug(false).run(async {
        let lp = get_running_loop();
        assert!(!lp.get_debug());
        lp.set_debug(true);
        lp.set_slow_callback_duration(Duration::from_millis(50));
        create_task(async { block_for(150) })
            .with_name("switched-on")
            .await
            .unwrap();
    });
    assert_eq!(logs::count(&["WARN Executing", "switched-on"]), 1);
}

#[test]
fn a_stream_writer_dropped_without_close_is_reported_in_debug_mode_only() {
    logs::capture();
    for debug in [false, true] {
        Runner::new().debug(debug).run(async {
            let (a, _b) = asyncio::net::UnixStream::pair().unwrap();
            let (_r, w) = asyncio::open_socket(a);
            drop(w);
            let (c, _d) = asyncio::net::UnixStream::pair().unwrap();
            let (_r, w) = asyncio::open_socket(c);
            w.close();
            drop(w);
        });
    }
    assert_eq!(logs::count(&["WARN unclosed <StreamWriter>"]), 1);
}

#[test]
fn a_server_dropped_without_close_is_reported() {
    logs::capture();
    Runner::new().debug(true).run(async {
        let server = asyncio::start_server(
            |_r: asyncio::StreamReader, _w: asyncio::StreamWriter| async {},
            "127.0.0.1",
            0,
        )
        .await
        .unwrap();
        let port = server.sockets()[0].as_inet().unwrap().port();
        drop(server);
        let closed = asyncio::start_server(
            |_r: asyncio::StreamReader, _w: asyncio::StreamWriter| async {},
            "127.0.0.1",
            0,
        )
        .await
        .unwrap();
        closed.close();
        drop(closed);
        assert_eq!(
            logs::count(&["WARN unclosed <Server", &port.to_string()]),
            1
        );
    });
    assert_eq!(logs::count(&["WARN unclosed <Server"]), 1);
}

#[test]
fn the_loop_counts_its_steps_sources_and_busy_time() {
    let (before, after) = Runner::new().run(async {
        let lp = get_running_loop();
        let before = lp.stats();
        let (a, _b) = asyncio::net::UnixStream::pair().unwrap();
        let (_r, _w) = asyncio::open_socket(a);
        for _ in 0..10 {
            sleep(0).await;
        }
        sleep(0.02).await; // waits in the poller: idle time
        (before, lp.stats())
    });
    assert!(after.polls >= before.polls + 11, "{before:?} {after:?}");
    assert!(after.io_sources > before.io_sources);
    assert!(after.uptime > before.uptime);
    assert!(after.busy < after.uptime, "the wait was counted as idle");
    assert!((0.0..1.0).contains(&after.busy_ratio()));
}

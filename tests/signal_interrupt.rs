//! Ctrl-C in `run` and `try_run`: the first one cancels the main task; `run` then ends the
//! program as Python's uncaught KeyboardInterrupt does, `try_run` returns the interrupt to
//! `fn main`. A second Ctrl-C while the first one's cleanup is stuck ends the program at once
//! with either, as Python's KeyboardInterrupt interrupts whatever runs.
//!
//! No test harness: `asyncio::run` arms its Ctrl-C handling on the main thread only, so this
//! binary runs each scenario in a copy of itself (`ASYNCIO_INTERRUPT_SCENARIO` set to its
//! name) on its main thread, and interrupts it from here. The copy says on stdout when it
//! waits for a Ctrl-C.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const SCENARIO: &str = "ASYNCIO_INTERRUPT_SCENARIO";

/// Prints `what` when dropped: the cleanup of a cancelled task.
struct Cleanup(&'static str);

impl Drop for Cleanup {
    fn drop(&mut self) {
        println!("cleanup: {}", self.0);
    }
}

/// The main task's cleanup blocks for a long time.
struct Stuck;

impl Drop for Stuck {
    fn drop(&mut self) {
        println!("cleanup: stuck");
        std::thread::sleep(Duration::from_secs(30));
        println!("cleanup: done");
    }
}

async fn stuck_main() {
    let _stuck = Stuck;
    println!("waiting");
    std::future::pending::<()>().await;
}

/// A main task with a task beside it, each with cleanup to run when cancelled.
async fn main_with_background() -> asyncio::LoopHandle {
    let _main = Cleanup("main");
    let background = asyncio::create_task(async {
        let _background = Cleanup("background");
        std::future::pending::<()>().await;
    });
    asyncio::sleep(0).await;
    assert!(!background.done());
    println!("waiting");
    std::future::pending::<()>().await;
    unreachable!()
}

fn run_scenario(name: &str) {
    match name {
        "run stuck" => asyncio::run(stuck_main()),
        "try_run stuck" => {
            let outcome = asyncio::try_run(stuck_main());
            println!("try_run returned {outcome:?}");
        }
        "try_run" => {
            let lp = std::rc::Rc::new(std::cell::RefCell::new(None));
            let seen = lp.clone();
            let outcome = asyncio::try_run(async move {
                *seen.borrow_mut() = Some(asyncio::get_running_loop());
                main_with_background().await
            });
            let err = outcome.unwrap_err();
            assert!(err.is_interrupted(), "{err:?}");
            println!("try_run: {err}");
            let closed = lp.borrow().as_ref().unwrap().is_closed();
            println!("loop closed: {closed}");
        }
        "Runner::try_run" => {
            let mut runner = asyncio::Runner::new();
            let err = runner.try_run(main_with_background()).unwrap_err();
            println!("Runner::try_run: {err}");
            // The runner stays open and the task beside the main one keeps running, as after
            // Python's `Runner.run` raised KeyboardInterrupt; and Ctrl-C is armed again.
            let pending = runner.run(async { asyncio::all_tasks().len() });
            println!("still pending: {pending}");
            let err = runner
                .try_run(async {
                    let _main = Cleanup("second main");
                    println!("waiting");
                    std::future::pending::<()>().await;
                })
                .unwrap_err();
            println!("Runner::try_run again: {err}");
            runner.close();
            println!("closed");
        }
        other => panic!("no scenario {other}"),
    }
}

fn sigint(pid: u32) {
    // SAFETY: signals our own child, not yet waited for: the pid is still its own.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGINT) }, 0);
}

fn spawn(scenario: &str) -> (Child, BufReader<ChildStdout>) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env(SCENARIO, scenario)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    (child, out)
}

fn read_line(out: &mut BufReader<ChildStdout>) -> String {
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    line
}

/// Waits for the child's end, and reads the rest of its stdout and all its stderr.
fn finish(mut child: Child, mut out: BufReader<ChildStdout>) -> (ExitStatus, String, String) {
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (child.wait().unwrap(), rest, err)
}

fn second_ctrl_c_ends_a_stuck_cleanup(scenario: &str) {
    let (mut child, mut out) = spawn(scenario);
    assert_eq!(read_line(&mut out), "waiting\n");
    sigint(child.id());
    assert_eq!(read_line(&mut out), "cleanup: stuck\n");
    let started = Instant::now();
    sigint(child.id());
    // Not a timing assertion: the cleanup would end by itself after 30 s, so a child still
    // running long after the second Ctrl-C is a failure, not a slow machine.
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(10) {
            child.kill().unwrap();
            panic!("the second Ctrl-C did not end the program");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let (status, rest, err) = finish(child, out);
    assert_eq!(rest, "", "the cleanup was interrupted");
    assert_eq!(err, "KeyboardInterrupt\n");
    assert_eq!(status.signal(), Some(libc::SIGINT), "{status}");
}

fn try_run_returns_the_interrupt_after_cleanup() {
    let (child, mut out) = spawn("try_run");
    assert_eq!(read_line(&mut out), "waiting\n");
    sigint(child.id());
    let (status, rest, err) = finish(child, out);
    assert_eq!(
        rest,
        "cleanup: main\n\
         cleanup: background\n\
         try_run: KeyboardInterrupt\n\
         loop closed: true\n"
    );
    assert_eq!(err, "");
    assert!(status.success(), "{status}");
}

fn runner_try_run_returns_the_interrupt_and_stays_open() {
    let (child, mut out) = spawn("Runner::try_run");
    assert_eq!(read_line(&mut out), "waiting\n");
    sigint(child.id());
    assert_eq!(read_line(&mut out), "cleanup: main\n");
    assert_eq!(read_line(&mut out), "Runner::try_run: KeyboardInterrupt\n");
    // The background task and the one counting.
    assert_eq!(read_line(&mut out), "still pending: 2\n");
    assert_eq!(read_line(&mut out), "waiting\n");
    sigint(child.id());
    let (status, rest, err) = finish(child, out);
    assert_eq!(
        rest,
        "cleanup: second main\n\
         Runner::try_run again: KeyboardInterrupt\n\
         cleanup: background\n\
         closed\n"
    );
    assert_eq!(err, "");
    assert!(status.success(), "{status}");
}

fn main() {
    if let Ok(name) = std::env::var(SCENARIO) {
        return run_scenario(&name);
    }
    let tests: [(&str, &dyn Fn()); 4] = [
        ("second_ctrl_c_ends_a_stuck_cleanup_in_run", &|| {
            second_ctrl_c_ends_a_stuck_cleanup("run stuck")
        }),
        ("second_ctrl_c_ends_a_stuck_cleanup_in_try_run", &|| {
            second_ctrl_c_ends_a_stuck_cleanup("try_run stuck")
        }),
        (
            "try_run_returns_the_interrupt_after_cleanup",
            &try_run_returns_the_interrupt_after_cleanup,
        ),
        (
            "runner_try_run_returns_the_interrupt_and_stays_open",
            &runner_try_run_returns_the_interrupt_and_stays_open,
        ),
    ];
    println!("\nrunning {} tests", tests.len());
    for (name, test) in tests {
        test();
        println!("test {name} ... ok");
    }
    println!(
        "\ntest result: ok. {} passed; 0 failed; 0 ignored; 0 measured; 0 filtered out\n",
        tests.len()
    );
}

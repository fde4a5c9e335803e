//! A second Ctrl-C while the first one's cleanup is stuck ends the program at once, as
//! Python's KeyboardInterrupt interrupts whatever runs.
//!
//! No test harness: `asyncio::run` arms its Ctrl-C handling on the main thread only, so this
//! binary runs the scenario in a copy of itself (`ASYNCIO_INTERRUPT_SCENARIO` set) on its main
//! thread, and interrupts it from here.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SCENARIO: &str = "ASYNCIO_INTERRUPT_SCENARIO";

/// The program under test: its main task's cleanup blocks for a long time.
fn scenario() {
    struct Stuck;
    impl Drop for Stuck {
        fn drop(&mut self) {
            println!("cleanup: stuck");
            std::thread::sleep(Duration::from_secs(30));
            println!("cleanup: done");
        }
    }
    asyncio::run(async {
        let _stuck = Stuck;
        println!("waiting");
        std::future::pending::<()>().await;
    });
}

fn sigint(pid: u32) {
    // SAFETY: signals our own child, not yet waited for: the pid is still its own.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGINT) }, 0);
}

fn second_ctrl_c_ends_a_stuck_cleanup() {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env(SCENARIO, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "waiting\n");
    sigint(child.id());
    line.clear();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "cleanup: stuck\n");
    let started = Instant::now();
    sigint(child.id());
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(10) {
            child.kill().unwrap();
            panic!("the second Ctrl-C did not end the program");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "", "the cleanup was interrupted");
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(err, "KeyboardInterrupt\n");
    assert_eq!(status.signal(), Some(libc::SIGINT), "{status}");
}

fn main() {
    if std::env::var_os(SCENARIO).is_some() {
        return scenario();
    }
    second_ctrl_c_ends_a_stuck_cleanup();
    println!("test second_ctrl_c_ends_a_stuck_cleanup ... ok");
}

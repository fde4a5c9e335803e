//! Ctrl-C: the `ctrl_c` future, and the `ctrl_c` example program interrupted for real, with
//! and without a listener (then `asyncio::run` cancels the main task and the program ends as
//! Python's does on KeyboardInterrupt).

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};

#[path = "built_examples/mod.rs"]
mod built_examples;
use built_examples::example;

/// The example as a terminal starts it: with SIGINT's default action, even when this test
/// runs where SIGINT is ignored (a background job of a non-interactive shell), as a child
/// inherits an ignored signal and a program then rightly leaves it ignored (Python too).
fn ctrl_c_example() -> Command {
    let mut cmd = Command::new(example("ctrl_c"));
    // SAFETY: between fork and exec only `signal(2)`, which is async-signal-safe, runs.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            Ok(())
        });
    }
    cmd
}

/// Runs the example with `args`, sends it SIGINT once it waits, returns (stdout, stderr,
/// status).
fn interrupt(args: &[&str]) -> (String, String, std::process::ExitStatus) {
    let mut child = ctrl_c_example()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    assert_eq!(first, "waiting for Ctrl-C\n");
    // SAFETY: signals our own child, which has not been waited for: its pid is still its own.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    (first + &rest, err, status)
}

#[test]
fn example_waits_for_ctrl_c_then_cleans_up() {
    let (out, err, status) = interrupt(&["--wait"]);
    assert_eq!(
        out,
        "waiting for Ctrl-C\ngot Ctrl-C, cleaning up\ncleanup: worker stopped\nbye\n"
    );
    assert_eq!(err, "");
    assert!(status.success(), "{status}");
}

#[test]
fn run_cancels_the_main_task_and_exits_as_keyboard_interrupt() {
    let (out, err, status) = interrupt(&["--wait", "--no-handler"]);
    assert_eq!(
        out,
        "waiting for Ctrl-C\ncleanup: main task cancelled\ncleanup: worker stopped\n"
    );
    assert_eq!(err, "KeyboardInterrupt\n");
    // Killed by SIGINT, as Python exits on KeyboardInterrupt: a shell shows status 130.
    assert_eq!(status.signal(), Some(libc::SIGINT), "{status}");
}

#[test]
fn example_in_the_tour_interrupts_itself() {
    let out = ctrl_c_example().output().unwrap();
    assert!(out.status.success(), "{}", out.status);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "waiting for Ctrl-C\ngot Ctrl-C, cleaning up\ncleanup: worker stopped\nbye\n"
    );
}

#[test]
fn ctrl_c_future_completes_and_default_comes_back() {
    asyncio::run(async {
        let ctrl_c = asyncio::signal::ctrl_c();
        // SAFETY: SIGINT has our handler while `ctrl_c` exists.
        unsafe { libc::raise(libc::SIGINT) };
        ctrl_c.await.unwrap();
    });
    // SAFETY: a query of the disposition; nothing is changed.
    let default = unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(libc::SIGINT, std::ptr::null(), &mut old);
        old.sa_sigaction == libc::SIG_DFL
    };
    assert!(default, "Ctrl-C ends the program again");
}

//! Differential test: each example of a seed program prints what CPython prints for the
//! seed's Python original (`../shared/seed/programs/`), line for line, and so does each
//! example of catchable cancellation for its original in `tests/oracle/`. Times of day differ
//! between two runs, so `HH:MM:SS` is masked.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[path = "built_examples/mod.rs"]
mod built_examples;
use built_examples::example;

/// (example, seed program)
const PAIRS: &[(&str, &str)] = &[
    ("hello", "hello.py"),
    ("say_after", "say_after.py"),
    ("say_after_tasks", "say_after_tasks.py"),
    ("lock", "lock.py"),
    ("event", "event.py"),
    ("gather_factorial", "gather_factorial.py"),
    ("gather_exceptions", "gather_exceptions.py"),
    ("wait_for", "wait_for.py"),
    ("subprocess", "subprocess_ls.py"),
];

/// (example, Python original in tests/oracle)
const ORACLE_PAIRS: &[(&str, &str)] = &[
    ("cancel_goodbye", "cancel_goodbye.py"),
    ("cancel_carry_on", "cancel_carry_on.py"),
];

fn seed_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/seed/programs");
    dir.is_dir().then_some(dir)
}

fn mask_clock(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let is_clock = i + 8 <= b.len()
            && b[i..i + 8].iter().enumerate().all(|(k, c)| {
                if k == 2 || k == 5 {
                    *c == b':'
                } else {
                    c.is_ascii_digit()
                }
            });
        if is_clock {
            out.push_str("HH:MM:SS");
            i += 8;
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

fn stdout(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    mask_clock(&String::from_utf8(out.stdout).unwrap())
}

#[test]
fn seed_examples_print_what_cpython_prints() {
    let Some(seeds) = seed_dir() else {
        eprintln!("../shared/seed/programs is not beside the repository: nothing to compare");
        return;
    };
    let python = Command::new("python3").arg("--version").output();
    assert!(
        python.is_ok_and(|o| o.status.success()),
        "python3 is needed as the oracle"
    );
    // Start every program at once, ours and CPython's, then compare.
    let running: Vec<_> = PAIRS
        .iter()
        .map(|(name, seed)| {
            let ours = Command::new(example(name)).output_async();
            let theirs = Command::new("python3").arg(seeds.join(seed)).output_async();
            (name, ours, theirs)
        })
        .collect();
    for (name, ours, theirs) in running {
        let ours = stdout(ours.join().unwrap().expect("the example runs"), name);
        let theirs = stdout(theirs.join().unwrap().expect("python3 runs"), "python3");
        assert_eq!(ours, theirs, "example {name} differs from CPython");
    }
}

#[test]
fn catching_cancellation_prints_what_cpython_prints() {
    let oracle = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle");
    for (name, original) in ORACLE_PAIRS {
        let ours = Command::new(example(name)).output();
        let theirs = Command::new("python3").arg(oracle.join(original)).output();
        let ours = stdout(ours.expect("the example runs"), name);
        let theirs = stdout(theirs.expect("python3 runs"), original);
        assert_eq!(ours, theirs, "example {name} differs from CPython");
    }
}

trait OutputAsync {
    fn output_async(&mut self) -> std::thread::JoinHandle<std::io::Result<Output>>;
}

impl OutputAsync for Command {
    fn output_async(&mut self) -> std::thread::JoinHandle<std::io::Result<Output>> {
        let mut cmd = std::mem::replace(self, Command::new(""));
        std::thread::spawn(move || cmd.output())
    }
}

//! Runs every example program of the crate in turn, printing each one's output and elapsed
//! time. Run it with `cargo run --release --example tour`.
//!
//! Servers run briefly: the echo server on a free port against the echo client, the others in
//! their `--demo` form against their own clients; `ctrl_c` sends itself the signal.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// Every example but this one (and the echo pair, run together), with its arguments, in the
/// order of the seed's article.
const EXAMPLES: &[(&str, &[&str])] = &[
    ("hello", &[]),
    ("say_after", &[]),
    ("say_after_tasks", &[]),
    ("threadsafe", &[]),
    ("introspection", &[]),
    ("gather_factorial", &[]),
    ("gather_exceptions", &[]),
    ("shield", &[]),
    ("wait_for", &[]),
    ("wait", &[]),
    ("as_completed", &[]),
    ("task_group", &[]),
    ("lock", &[]),
    ("event", &[]),
    ("condition", &[]),
    ("semaphore", &[]),
    ("bounded_semaphore", &[]),
    ("barrier", &[]),
    ("queue_workers", &[]),
    ("chat_server", &["--demo"]),
    ("http_hello", &["--demo"]),
    ("subprocess", &[]),
    ("subprocess_pipeline", &[]),
    ("ctrl_c", &[]),
];

fn main() {
    let here = std::env::current_exe().expect("the tour knows where it is");
    let dir: PathBuf = here.parent().expect("examples directory").to_path_buf();
    build_examples(&here);
    let mut failed = Vec::new();
    let mut step = |name: &str, run: &mut dyn FnMut() -> Result<(), String>| {
        println!("=== {name}");
        let started = Instant::now();
        let outcome = run();
        let elapsed = started.elapsed().as_secs_f64();
        match outcome {
            Ok(()) => println!("--- {name}: {elapsed:.2} s"),
            Err(e) => {
                println!("--- {name}: FAILED ({e}) after {elapsed:.2} s");
                failed.push(name.to_string());
            }
        }
    };
    for (name, args) in EXAMPLES {
        step(name, &mut || run(&dir, name, args));
    }
    step("echo_server + echo_client", &mut || echo_pair(&dir));
    if !failed.is_empty() {
        eprintln!("failed: {failed:?}");
        std::process::exit(1);
    }
}

fn run(dir: &Path, name: &str, args: &[&str]) -> Result<(), String> {
    let status = Command::new(dir.join(name))
        .args(args)
        .status()
        .map_err(|e| e.to_string())?;
    if status.success() {
        Ok(())
    } else {
        Err(status.to_string())
    }
}

/// The seed's echo server on a free port, the seed's echo client against it, then the
/// server is stopped.
fn echo_pair(dir: &Path) -> Result<(), String> {
    let mut server = Command::new(dir.join("echo_server"))
        .arg("0")
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let mut lines = BufReader::new(server.stdout.take().expect("piped")).lines();
    let first = lines
        .next()
        .and_then(Result::ok)
        .ok_or("the server printed nothing")?;
    println!("{first}");
    let port = first
        .rsplit(|c: char| !c.is_ascii_digit())
        .find(|s| !s.is_empty())
        .ok_or("no port in the server's first line")?
        .to_string();
    let client = run(dir, "echo_client", &[&port]);
    // The server answers one connection: print what it said, then stop it.
    let _ = server.kill();
    for line in lines.map_while(Result::ok) {
        println!("{line}");
    }
    let _ = server.wait();
    client
}

/// Builds the other examples with the profile the tour itself was built with.
fn build_examples(here: &Path) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let release = here.components().any(|c| c.as_os_str() == "release");
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--quiet", "--examples"]);
    if release {
        cmd.arg("--release");
    }
    let status = cmd.status().expect("cargo runs");
    assert!(status.success(), "building the examples failed");
}

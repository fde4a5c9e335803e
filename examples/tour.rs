//! Runs every example program of the crate in turn, printing each one's output and elapsed
//! time. Run it with `cargo run --release --example tour`.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

/// Every example but this one, in the order of the seed's article.
const EXAMPLES: &[&str] = &[
    "hello",
    "say_after",
    "say_after_tasks",
    "threadsafe",
    "introspection",
    "gather_factorial",
    "gather_exceptions",
    "shield",
    "wait_for",
    "wait",
    "as_completed",
    "task_group",
    "subprocess",
    "subprocess_pipeline",
    "ctrl_c",
];

fn main() {
    let here = std::env::current_exe().expect("the tour knows where it is");
    let dir: PathBuf = here.parent().expect("examples directory").to_path_buf();
    build_examples(&here);
    let mut failed = Vec::new();
    for name in EXAMPLES {
        println!("=== {name}");
        let started = Instant::now();
        let status = Command::new(dir.join(name)).status();
        let elapsed = started.elapsed().as_secs_f64();
        match status {
            Ok(s) if s.success() => println!("--- {name}: {elapsed:.2} s"),
            Ok(s) => {
                println!("--- {name}: FAILED ({s}) after {elapsed:.2} s");
                failed.push(*name);
            }
            Err(e) => {
                println!("--- {name}: could not start: {e}");
                failed.push(*name);
            }
        }
    }
    if !failed.is_empty() {
        eprintln!("failed: {failed:?}");
        std::process::exit(1);
    }
}

/// Builds the other examples with the profile the tour itself was built with.
fn build_examples(here: &std::path::Path) {
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

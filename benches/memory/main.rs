//! Memory per idle unit of work, measured as the growth of the process's resident memory
//! (RSS): bytes per idle task (`tasks.rs`) for asyncio, tokio current-thread and smol, and
//! bytes per idle TCP connection (`conns.rs`) for the same three servers.
//!
//! `cargo bench --bench memory [-- tasks|conns]`. Each measurement runs in a child process of
//! its own (this binary run as `memory child KIND`), so one's freed memory does not hide
//! another's.

mod conns;
mod tasks;

use std::process::Command;

pub fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("Linux /proc");
    let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

/// Runs one measurement in this process; `None` for an unknown kind.
fn child(kind: &str) -> Option<usize> {
    Some(match kind {
        "task-asyncio" => tasks::ours(),
        "task-tokio" => tasks::tokio_ct(),
        "task-smol" => tasks::smol(),
        "conn-bare" => conns::bare(),
        "conn-asyncio" => conns::ours(true),
        "conn-tokio" => conns::tokio_ct(true),
        "conn-smol" => conns::smol(true),
        "conn-asyncio-noread" => conns::ours(false),
        "conn-tokio-noread" => conns::tokio_ct(false),
        "conn-smol-noread" => conns::smol(false),
        _ => return None,
    })
}

/// The RSS growth one child reports, in bytes.
fn measure(kind: &str) -> usize {
    let me = std::env::current_exe().unwrap();
    let out = Command::new(me).args(["child", kind]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim().parse().unwrap_or_else(|_| {
        let err = String::from_utf8_lossy(&out.stderr);
        panic!("{kind}: no result ({}): {err}", out.status)
    })
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    if args.first().map(String::as_str) == Some("child") {
        let kind = args.get(1).map_or("", String::as_str);
        let bytes = child(kind).unwrap_or_else(|| panic!("unknown measurement {kind}"));
        return println!("{bytes}");
    }
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without it,
    // and a benchmark is no test, so it does nothing then.
    if !std::env::args().any(|a| a == "--bench") {
        return println!("memory: a benchmark; run it with `cargo bench --bench memory`");
    }
    let want = |g: &str| args.is_empty() || args.iter().any(|a| a == g);
    if want("tasks") {
        println!("| runtime | bytes per idle task |");
        println!("|---|---|");
        for (name, kind) in [
            ("asyncio", "task-asyncio"),
            ("tokio", "task-tokio"),
            ("smol", "task-smol"),
        ] {
            println!("| {name} | {} |", measure(kind) / tasks::TASKS);
        }
        println!();
    }
    if want("conns") {
        conns::table(measure);
    }
}

//! Memory per idle unit of work, measured as the growth of the process's resident memory
//! (RSS): bytes per idle task (`tasks.rs`) for asyncio, tokio current-thread and smol, and
//! bytes per idle TCP connection (`conns.rs`) for the same three servers. For connections,
//! also the growth of the live heap (`heap.rs`: this binary counts what it allocates), which
//! RSS hides where memory is reserved but never touched; and CPython's asyncio and uvloop
//! (`idle_conns.py`).
//!
//! `cargo bench --bench memory [-- tasks|conns]`. Each measurement runs in a child process of
//! its own (this binary run as `memory child KIND`), so one's freed memory does not hide
//! another's.

mod conns;
mod heap;
mod tasks;

use std::process::Command;

pub fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("Linux /proc");
    let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

/// Runs one measurement in this process and prints it (RSS growth; for a connection run,
/// RSS and heap growth); `None` for an unknown kind.
fn child(kind: &str) -> Option<String> {
    use conns::Idle;
    let conns = |run: fn(Idle) -> conns::Growth, read, ping| {
        let g = run(Idle { read, ping });
        format!("{} {}", g.rss, g.heap)
    };
    Some(match kind {
        "task-asyncio" => tasks::ours().to_string(),
        "task-tokio" => tasks::tokio_ct().to_string(),
        "task-smol" => tasks::smol().to_string(),
        "conn-bare" => {
            let g = conns::bare();
            format!("{} {}", g.rss, g.heap)
        }
        "conn-asyncio" => conns(conns::ours, true, false),
        "conn-tokio" => conns(conns::tokio_ct, true, false),
        "conn-smol" => conns(conns::smol, true, false),
        "conn-asyncio-noread" => conns(conns::ours, false, false),
        "conn-tokio-noread" => conns(conns::tokio_ct, false, false),
        "conn-smol-noread" => conns(conns::smol, false, false),
        "conn-asyncio-ping" => conns(conns::ours, true, true),
        "conn-tokio-ping" => conns(conns::tokio_ct, true, true),
        "conn-smol-ping" => conns(conns::smol, true, true),
        _ => return None,
    })
}

/// Runs one measurement in a child process: its growth (RSS, and heap for connections).
fn measure_child(kind: &str) -> (usize, usize) {
    let me = std::env::current_exe().unwrap();
    let out = Command::new(me).args(["child", kind]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let mut numbers = text.split_whitespace().map(str::parse::<usize>);
    match (numbers.next(), numbers.next()) {
        (Some(Ok(rss)), heap) => (rss, heap.and_then(Result::ok).unwrap_or(0)),
        _ => {
            let err = String::from_utf8_lossy(&out.stderr);
            panic!("{kind}: no result ({}): {err}", out.status)
        }
    }
}

/// The RSS growth one child reports, in bytes.
fn measure(kind: &str) -> usize {
    measure_child(kind).0
}

fn measure_conns(kind: &str) -> conns::Growth {
    let (rss, heap) = measure_child(kind);
    conns::Growth { rss, heap }
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
        conns::table(measure_conns);
    }
}

//! Bytes per idle task: 100,000 tasks each parked on a one-shot signal, measured as the
//! growth of the process's resident memory, for asyncio, tokio current-thread and smol.
//!
//! `cargo bench --bench memory`. Each runtime runs in a child process of its own, so one's
//! freed memory does not hide another's.

use std::process::Command;

const TASKS: usize = 100_000;

fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("Linux /proc");
    let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

fn ours() -> usize {
    asyncio::run(async {
        let event = asyncio::Event::new();
        let before = rss_bytes();
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let e = event.clone();
                asyncio::create_task(async move { e.wait().await })
            })
            .collect();
        asyncio::sleep(0).await; // every task runs once and parks
        let after = rss_bytes();
        event.set();
        for t in tasks {
            t.await.unwrap();
        }
        after - before
    })
}

fn tokio_ct() -> usize {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(0));
        let before = rss_bytes();
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let g = gate.clone();
                tokio::spawn(async move { drop(g.acquire().await) })
            })
            .collect();
        tokio::task::yield_now().await;
        let after = rss_bytes();
        gate.close();
        for t in tasks {
            t.await.unwrap();
        }
        after - before
    })
}

fn smol() -> usize {
    let ex = smol::LocalExecutor::new();
    smol::block_on(ex.run(async {
        let (gate, waiting) = async_channel::bounded::<()>(1);
        let before = rss_bytes();
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let w = waiting.clone();
                ex.spawn(async move {
                    let _ = w.recv().await;
                })
            })
            .collect();
        smol::future::yield_now().await;
        let after = rss_bytes();
        gate.close();
        for t in tasks {
            t.await;
        }
        after - before
    }))
}

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with('-'));
    if let Some(which) = args.next() {
        let bytes = match which.as_str() {
            "asyncio" => ours(),
            "tokio" => tokio_ct(),
            "smol" => smol(),
            _ => return,
        };
        println!("{bytes}");
        return;
    }
    let me = std::env::current_exe().unwrap();
    println!("| runtime | bytes per idle task |");
    println!("|---|---|");
    for which in ["asyncio", "tokio", "smol"] {
        let out = Command::new(&me).arg(which).output().unwrap();
        let bytes: usize = String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .unwrap_or(0);
        println!("| {which} | {} |", bytes / TASKS);
    }
}

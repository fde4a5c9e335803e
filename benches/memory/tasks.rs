//! Bytes per idle task: `TASKS` tasks each parked on a one-shot signal, measured as the
//! growth of the process's resident memory, for asyncio, tokio current-thread and smol.

use crate::rss_bytes;

pub const TASKS: usize = 100_000;

pub fn ours() -> usize {
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

pub fn tokio_ct() -> usize {
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

pub fn smol() -> usize {
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

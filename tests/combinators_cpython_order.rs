//! Differential test: the turn in which each combinator resumes is CPython's. A ticker task
//! prints on every turn of the loop; `tests/oracle/combinators_order.py` is the same program
//! in Python, and both must print the same lines in the same order.

mod common;

use asyncio::{FIRST_COMPLETED, TaskGroup, gather, gather_tasks, shield, sleep, try_gather, wait};
use common::Log;

async fn ticker(log: Log, n: u32) {
    for i in 0..n {
        log.push(format!("tick {i}"));
        sleep(0).await;
    }
}

async fn child(log: Log, n: u32, fail: bool, turns: u32, delay: f64) -> Result<u32, u32> {
    for _ in 0..turns {
        sleep(0).await;
    }
    if delay > 0.0 {
        sleep(delay).await;
    }
    log.push(format!("child {n}"));
    if fail { Err(n) } else { Ok(n) }
}

async fn program(log: Log) {
    let c = |n, fail, turns| child(log.clone(), n, fail, turns, 0.0);
    let t = asyncio::create_task(ticker(log.clone(), 60));
    let r: Vec<u32> = gather(vec![c(1, false, 0), c(2, false, 2)])
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    log.push(format!("gather {r:?}"));
    if let Err(e) = try_gather(vec![c(3, true, 0), c(4, false, 3)]).await {
        log.push(format!("gather raised {e}"));
    }
    let r = shield(c(5, false, 0)).await.unwrap().unwrap();
    log.push(format!("shield {r}"));
    let ta = asyncio::create_task(c(16, false, 1));
    let tb = asyncio::create_task(c(17, false, 0));
    let r: Vec<u32> = gather_tasks(vec![ta, tb])
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    log.push(format!("gather tasks {r:?}"));
    let t1 = asyncio::create_task(c(18, false, 2));
    let t2 = asyncio::create_task(c(19, false, 0));
    let (done, _) = wait(vec![t1, t2]).await;
    log.push(format!("wait all {}", done.len()));
    let r = try_gather(vec![c(20, false, 1), c(21, false, 0)])
        .await
        .unwrap();
    log.push(format!("gather ok {r:?}"));
    let (a, b) = asyncio::gather!(c(22, false, 1), c(23, false, 0)).await;
    log.push(format!("gather pair {} {}", a.unwrap(), b.unwrap()));
    let late = asyncio::create_task(c(7, false, 4));
    let six = asyncio::create_task(c(6, false, 1));
    let (done, pending) = wait(vec![six, late.clone()])
        .return_when(FIRST_COMPLETED)
        .await;
    log.push(format!("wait {} {}", done.len(), pending.len()));
    let l = log.clone();
    let r = TaskGroup::run(|tg| async move {
        let _a = tg.create_task(child(l.clone(), 10, true, 1, 0.0));
        let _b = tg.create_task(child(l.clone(), 11, false, 10, 0.0));
        l.push("body waits");
        for i in 0..5 {
            sleep(0).await;
            l.push(format!("body {i}"));
        }
        Ok(())
    })
    .await;
    if let Err(eg) = r {
        log.push(format!("group raised {}", eg.exceptions().len()));
    }
    let l = log.clone();
    TaskGroup::run(|tg| async move {
        let _a = tg.create_task(child(l.clone(), 12, false, 2, 0.0));
        let _b = tg.create_task(child(l.clone(), 13, false, 0, 0.0));
        Ok::<_, u32>(())
    })
    .await
    .unwrap();
    log.push("group done");
    t.await.unwrap();
    match asyncio::wait_for(child(log.clone(), 14, false, 0, 0.5), 0.05).await {
        Ok(r) => log.push(format!("{}", r.unwrap())),
        Err(_) => log.push("wait_for timed out"),
    }
    if asyncio::timeout(0.05, child(log.clone(), 15, false, 0, 0.5))
        .await
        .is_err()
    {
        log.push("timeout expired");
    }
}

#[test]
fn combinators_resume_in_cpythons_turn() {
    let log = Log::default();
    let l = log.clone();
    asyncio::Runner::new()
        .virtual_time(true)
        .run(async move { program(l).await });
    let ours = log.lines();

    let Some(theirs) = common::cpython_lines("combinators_order.py") else {
        return;
    };
    assert_eq!(ours, theirs);
}

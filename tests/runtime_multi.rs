//! Many loops, one per thread: placement, isolation, shutdown.

use asyncio::{Runtime, get_running_loop, sleep};
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

#[test]
fn each_loop_runs_on_its_own_thread() {
    let runtime = Runtime::builder().loops(3).build().unwrap();
    let threads: HashSet<_> = runtime
        .loops()
        .iter()
        .map(|lp| runtime.spawn_on(lp, || async { std::thread::current().id() }))
        .map(|f| f.result(None::<f64>).unwrap())
        .collect();
    assert_eq!(threads.len(), 3);
    assert!(!threads.contains(&std::thread::current().id()));
}

#[test]
fn spawned_futures_see_their_own_loop() {
    let runtime = Runtime::builder().loops(2).build().unwrap();
    for lp in runtime.loops() {
        let expected = lp.clone();
        let same = runtime
            .spawn_on(lp, move || async move {
                get_running_loop().same_loop(&expected)
            })
            .result(None::<f64>)
            .unwrap();
        assert!(same);
    }
}

#[test]
fn shutdown_cancels_what_is_pending_and_closes_every_loop() {
    struct Count(Arc<AtomicUsize>);
    impl Drop for Count {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let dropped = Arc::new(AtomicUsize::new(0));
    let runtime = Runtime::builder().loops(2).build().unwrap();
    let pending: Vec<_> = runtime
        .loops()
        .iter()
        .map(|lp| {
            let count = Count(dropped.clone());
            runtime.spawn_on(lp, move || async move {
                let _count = count;
                sleep(3600.0).await;
            })
        })
        .collect();
    let loops = runtime.loops().to_vec();
    runtime.shutdown();
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        2,
        "both pending futures were dropped"
    );
    assert!(loops.iter().all(|lp| lp.is_closed()));
    for fut in pending {
        assert!(fut.result(None::<f64>).unwrap_err().is_cancelled());
    }
}

#[test]
fn virtual_loops_jump_their_clocks_independently() {
    let runtime = Runtime::builder()
        .loops(2)
        .virtual_time(true)
        .build()
        .unwrap();
    let times: Vec<f64> = runtime
        .loops()
        .iter()
        .zip([5.0, 7.0])
        .map(|(lp, d)| {
            runtime.spawn_on(lp, move || async move {
                sleep(d).await;
                get_running_loop().time()
            })
        })
        .map(|f| f.result(None::<f64>).unwrap())
        .collect();
    assert_eq!(times, vec![5.0, 7.0]);
}

//! `RedisQueue` entries of several items: the puts of one call go into the stream as entries
//! of up to 64 items; each item is delivered, counted and `task_done`'d on its own, and the
//! entry is acked once all its items are done.

mod redis_support;

use asyncio::PutNowaitError;
use asyncio::redis::{QueueError, RedisQueue};
use redis_support::{prefix, redis};

#[test]
fn a_batched_entrys_items_are_all_delivered_and_join_returns_once_all_are_done() {
    let Some(server) = redis("batched_entries") else {
        return;
    };
    let name = prefix("batched");
    asyncio::run(async move {
        let stream = format!("{{{name}}}:stream");
        let unfinished = format!("{{{name}}}:unfinished");
        let xlen = || server.cli(&["XLEN", &stream]).parse::<usize>().unwrap();
        let counter = || server.cli(&["GET", &unfinished]).parse::<i64>().unwrap();
        let connect = || RedisQueue::<u32>::connect(&server.url, &name).maxsize(200);
        let q = connect().await.unwrap();
        // put_all: entries of 64 at most; puts started in one turn: the same.
        q.put_all((0..100).collect()).await.unwrap();
        assert_eq!(xlen(), 2, "100 items in entries of 64 and 36");
        let puts: Vec<_> = (100..200)
            .map(|n| {
                asyncio::create_task({
                    let q = q.clone();
                    async move { q.put(n).await.unwrap() }
                })
            })
            .collect();
        for p in puts {
            p.await.unwrap();
        }
        assert_eq!(xlen(), 4, "the 100 puts of one turn: two entries more");
        // Sizes count items, not entries.
        assert_eq!(q.qsize().await.unwrap(), 200);
        assert!(q.full().await.unwrap());
        assert!(matches!(
            q.put_nowait(200).await,
            Err(QueueError::Queue(PutNowaitError::Full(_)))
        ));
        // One worker reads the first entry (prefetch: one entry): its 64 items.
        let a = connect().await.unwrap();
        assert_eq!(a.get().await.unwrap(), 0);
        assert_eq!(q.qsize().await.unwrap(), 136, "64 items delivered");
        assert!(!q.full().await.unwrap());
        // Another worker gets the next entry, not the rest of the first.
        let b = connect().await.unwrap();
        assert_eq!(b.get().await.unwrap(), 64);
        b.task_done().unwrap();
        // The entry is acked, and its items counted done, when its last item is done.
        a.task_done().unwrap();
        for n in 1..63 {
            assert_eq!(a.get().await.unwrap(), n);
            a.task_done().unwrap();
        }
        a.flush().await.unwrap();
        assert_eq!(counter(), 200, "63 of 64 done: the entry is not acked");
        assert_eq!(a.get().await.unwrap(), 63);
        a.task_done().unwrap();
        a.flush().await.unwrap();
        assert_eq!(counter(), 136, "the entry's 64 items counted done at once");
        // The rest, by both workers; join returns once every item is done.
        let joined = asyncio::create_task({
            let q = q.clone();
            async move { q.join().await.unwrap() }
        });
        let mut seen: Vec<u32> = (0..64).collect();
        seen.push(64);
        loop {
            let (x, y) = (a.get_nowait().await, b.get_nowait().await);
            if x.is_err() && y.is_err() {
                break;
            }
            for (item, worker) in [(x, &a), (y, &b)] {
                if let Ok(n) = item {
                    seen.push(n);
                    worker.task_done().unwrap();
                }
            }
        }
        seen.sort();
        assert_eq!(seen, (0..200).collect::<Vec<_>>(), "every item once");
        asyncio::wait_for(joined, 5.0).await.unwrap().unwrap();
        assert_eq!(counter(), 0);
        q.delete().await.unwrap();
    });
}

#[test]
fn a_bad_item_inside_a_batch_is_dead_lettered_and_the_others_are_served() {
    let Some(server) = redis("batched_bad_item") else {
        return;
    };
    let name = prefix("batched-bad");
    asyncio::run(async move {
        let any = RedisQueue::<serde_json::Value>::connect(&server.url, &name)
            .await
            .unwrap();
        let items = vec![1.into(), "not a number".into(), 3.into()];
        any.put_all(items).await.unwrap();
        let numbers = RedisQueue::<u32>::connect(&server.url, &name)
            .await
            .unwrap();
        assert_eq!(numbers.get().await.unwrap(), 1);
        assert_eq!(numbers.get().await.unwrap(), 3, "the bad item is skipped");
        numbers.task_done().unwrap();
        numbers.task_done().unwrap();
        asyncio::wait_for(numbers.join(), 5.0)
            .await
            .expect("the dead letter counts as done with its entry")
            .unwrap();
        let dead = numbers.dead_letters().await.unwrap();
        assert_eq!(dead.len(), 1, "only the bad item: {dead:?}");
        assert_eq!(dead[0].data, "\"not a number\"");
        assert!(dead[0].error.contains("expected u32"), "{}", dead[0].error);
        assert!(numbers.get_nowait().await.is_err(), "its entry is acked");
        numbers.delete().await.unwrap();
    });
}

#[test]
fn a_batched_entry_is_delivered_again_whole_when_its_worker_dies_mid_batch() {
    let Some(server) = redis("batched_redelivery") else {
        return;
    };
    let name = prefix("batched-redelivery");
    asyncio::run(async move {
        let connect = || {
            RedisQueue::<u32>::connect(&server.url, &name)
                .visibility_timeout(0.05)
                .poll_interval(0.02)
        };
        let q = connect().await.unwrap();
        q.put_all((0..10).collect()).await.unwrap();
        let dies = connect().await.unwrap();
        for n in 0..4 {
            assert_eq!(dies.get().await.unwrap(), n);
            dies.task_done().unwrap();
        }
        dies.flush().await.unwrap();
        drop(dies); // four items done, their entry not acked: it comes back whole
        asyncio::sleep(0.1).await;
        let mut got = Vec::new();
        for _ in 0..10 {
            got.push(asyncio::wait_for(q.get(), 5.0).await.unwrap().unwrap());
            q.task_done().unwrap();
        }
        assert_eq!(got, (0..10).collect::<Vec<_>>(), "the done items again too");
        asyncio::wait_for(q.join(), 5.0).await.unwrap().unwrap();
        let unfinished = format!("{{{name}}}:unfinished");
        assert_eq!(server.cli(&["GET", &unfinished]), "0", "counted once");
        q.delete().await.unwrap();
    });
}

#[test]
fn entries_of_one_item_spread_a_batch_over_the_workers() {
    let Some(server) = redis("entry_items") else {
        return;
    };
    let name = prefix("entry-items");
    asyncio::run(async move {
        let q = RedisQueue::<u32>::connect(&server.url, &name)
            .entry_items(1)
            .await
            .unwrap();
        q.put_all(vec![1, 2, 3]).await.unwrap();
        let stream = format!("{{{name}}}:stream");
        assert_eq!(server.cli(&["XLEN", &stream]), "3", "an entry per item");
        let a = RedisQueue::<u32>::connect(&server.url, &name)
            .await
            .unwrap();
        let b = RedisQueue::<u32>::connect(&server.url, &name)
            .await
            .unwrap();
        assert_eq!(a.get().await.unwrap(), 1);
        assert_eq!(
            b.get_nowait().await.unwrap(),
            2,
            "the next worker gets the next item"
        );
        assert_eq!(q.qsize().await.unwrap(), 1);
        a.task_done().unwrap();
        b.task_done().unwrap();
        assert_eq!(a.get().await.unwrap(), 3);
        a.task_done().unwrap();
        asyncio::wait_for(q.join(), 5.0).await.unwrap().unwrap();
        q.delete().await.unwrap();
    });
}

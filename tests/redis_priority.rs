//! `asyncio::redis::RedisPriorityQueue` against a real redis-server on loopback: priorities,
//! redelivery, `put(..).delay(s)`, and a `get` that waits in Redis instead of polling.

mod redis_support;

use asyncio::redis::{QueueError, RedisPriorityQueue};
use asyncio::{GetNowaitError, PutNowaitError, QueueShutDown};
use redis_support::{prefix, redis};
use std::time::Instant;

#[test]
fn the_priority_queue_serves_the_smallest_first_and_redelivers_what_was_not_done() {
    let Some(server) = redis("priority") else {
        return;
    };
    let name = prefix("priority");
    asyncio::run(async move {
        let connect = || {
            RedisPriorityQueue::<String>::connect(&server.url, &name)
                .visibility_timeout(0.05)
                .poll_interval(0.02)
                .max_deliveries(2)
        };
        let q = connect().maxsize(3).await.unwrap();
        q.put((2.0, "b".into())).await.unwrap();
        q.put((1.0, "a1".into())).await.unwrap();
        q.put_nowait((1.0, "a2".into())).await.unwrap();
        assert!(q.full().await.unwrap());
        assert!(matches!(
            q.put_nowait((0.0, "x".into())).await,
            Err(QueueError::Queue(PutNowaitError::Full(_)))
        ));
        assert_eq!(q.get().await.unwrap(), (1.0, "a1".into()));
        assert_eq!(
            q.get().await.unwrap(),
            (1.0, "a2".into()),
            "equal priorities: FIFO"
        );
        q.task_done().unwrap();
        q.task_done().unwrap();
        // "b" taken and never done: back in the queue after the timeout, then dead.
        let lost = connect().await.unwrap();
        assert_eq!(lost.get().await.unwrap(), (2.0, "b".into()));
        drop(lost);
        assert_eq!(q.get().await.unwrap(), (2.0, "b".into()), "delivered again");
        asyncio::sleep(0.1).await;
        assert!(matches!(
            q.get_nowait().await,
            Err(QueueError::Queue(GetNowaitError::Empty(_)))
        ));
        assert_eq!(q.dead_letters().await.unwrap().len(), 1);
        q.join().await.unwrap();
        q.shutdown(false).await.unwrap();
        assert!(matches!(
            q.get().await,
            Err(QueueError::Queue(QueueShutDown(())))
        ));
        q.delete().await.unwrap();
    });
}

#[test]
fn delayed_items_come_out_by_priority_once_due_and_a_waiting_get_wakes_for_them() {
    let Some(server) = redis("priority_delay") else {
        return;
    };
    let name = prefix("priority-delay");
    asyncio::run(async move {
        // A poll interval far longer than the test: a get that polled would not see them.
        let q = RedisPriorityQueue::<String>::connect(&server.url, &name)
            .poll_interval(60.0)
            .await
            .unwrap();
        let started = Instant::now();
        q.put((1.0, "due later".into())).delay(0.2).await.unwrap();
        q.put((2.0, "in an hour".into()))
            .delay(3600.0)
            .await
            .unwrap();
        q.put((9.0, "now".into())).await.unwrap();
        assert_eq!(
            q.qsize().await.unwrap(),
            1,
            "delayed items are not waiting yet"
        );
        assert_eq!(q.get().await.unwrap(), (9.0, "now".into()));
        let later = asyncio::wait_for(q.get(), 5.0).await.unwrap().unwrap();
        assert_eq!(later, (1.0, "due later".into()), "with its priority");
        assert!(
            started.elapsed().as_secs_f64() >= 0.19,
            "not before it is due"
        );
        assert!(matches!(
            q.get_nowait().await,
            Err(QueueError::Queue(GetNowaitError::Empty(_)))
        ));
        q.task_done().unwrap();
        q.task_done().unwrap();
        q.shutdown(true).await.unwrap(); // drops the delayed one, counted done
        asyncio::wait_for(q.join(), 5.0).await.unwrap().unwrap();
        q.delete().await.unwrap();
    });
}

#[test]
fn a_waiting_get_wakes_when_another_handle_puts() {
    let Some(server) = redis("priority_wakes") else {
        return;
    };
    let name = prefix("priority-wakes");
    asyncio::run(async move {
        let connect = || RedisPriorityQueue::<u32>::connect(&server.url, &name).poll_interval(60.0);
        let worker = connect().await.unwrap();
        let producer = connect().await.unwrap();
        let getters: Vec<_> = (0..2)
            .map(|_| {
                let w = worker.clone();
                asyncio::create_task(async move { w.get().await.map(|(_, n)| n) })
            })
            .collect();
        asyncio::sleep(0.05).await;
        assert!(getters.iter().all(|g| !g.done()), "nothing to take yet");
        producer.put((1.0, 10)).await.unwrap();
        producer.put((1.0, 11)).await.unwrap();
        let mut got = Vec::new();
        for g in getters {
            got.push(asyncio::wait_for(g, 5.0).await.unwrap().unwrap().unwrap());
        }
        got.sort();
        assert_eq!(got, vec![10, 11]);
        producer.delete().await.unwrap();
    });
}

//! `asyncio::redis::RedisQueue` against a real redis-server on loopback: Queue's semantics,
//! bad input, and redelivery after the visibility timeout. The tests with several processes
//! are in `redis_processes.rs`.

mod redis_support;

use asyncio::redis::{QueueError, RedisError, RedisQueue};
use asyncio::{GetNowaitError, PutNowaitError, QueueShutDown};
use redis_support::{own_redis, prefix, redis};

#[test]
fn queue_semantics_match_asyncio_queue() {
    let Some(server) = redis("queue_semantics") else {
        return;
    };
    let name = prefix("semantics");
    asyncio::run(async move {
        let q = RedisQueue::<(u32, String)>::connect(&server.url, &name)
            .maxsize(2)
            .await
            .unwrap();
        assert!(q.empty().await.unwrap());
        assert!(matches!(
            q.get_nowait().await,
            Err(QueueError::Queue(GetNowaitError::Empty(_)))
        ));
        q.put((1, "a".into())).await.unwrap();
        q.put_nowait((2, "b".into())).await.unwrap();
        assert!(q.full().await.unwrap());
        assert_eq!(q.qsize().await.unwrap(), 2);
        let Err(QueueError::Queue(PutNowaitError::Full(full))) =
            q.put_nowait((3, "c".into())).await
        else {
            panic!("a full queue refuses put_nowait")
        };
        assert_eq!(full.0, (3, "c".to_owned()));
        // FIFO, and a waiting put goes in once a get makes room.
        let putter = asyncio::create_task({
            let q = q.clone();
            async move { q.put((3, "c".into())).await.unwrap() }
        });
        assert_eq!(q.get().await.unwrap(), (1, "a".into()));
        putter.await.unwrap();
        assert_eq!(q.get().await.unwrap(), (2, "b".into()));
        assert_eq!(q.get_nowait().await.unwrap(), (3, "c".into()));
        // join waits for the three task_done's.
        let joined = asyncio::create_task({
            let q = q.clone();
            async move { q.join().await.unwrap() }
        });
        asyncio::sleep(0.05).await;
        assert!(!joined.done());
        for _ in 0..3 {
            q.task_done().unwrap();
        }
        assert!(
            q.task_done().is_err(),
            "ValueError: more task_done than gets"
        );
        joined.await.unwrap();
        // Shut down: puts fail with the item back; gets drain, then fail.
        q.put((4, "d".into())).await.unwrap();
        q.shutdown(false).await.unwrap();
        assert!(q.is_shut_down().await.unwrap());
        match q.put((5, "e".into())).await {
            Err(QueueError::Queue(QueueShutDown(item))) => assert_eq!(item.0, 5),
            other => panic!("put after shutdown: {other:?}"),
        }
        assert_eq!(q.get().await.unwrap().0, 4);
        assert!(matches!(
            q.get().await,
            Err(QueueError::Queue(QueueShutDown(())))
        ));
        q.task_done().unwrap();
        q.join().await.unwrap();
        q.delete().await.unwrap();
    });
}

#[test]
fn shutdown_immediate_drops_waiting_items_and_join_returns() {
    let Some(server) = redis("shutdown_immediate") else {
        return;
    };
    let name = prefix("immediate");
    asyncio::run(async move {
        let q = RedisQueue::<u32>::connect(&server.url, &name)
            .await
            .unwrap();
        for n in 0..5 {
            q.put(n).await.unwrap();
        }
        q.put(99).delay(3600.0).await.unwrap();
        assert_eq!(q.get().await.unwrap(), 0);
        q.shutdown(true).await.unwrap();
        assert!(matches!(
            q.get_nowait().await,
            Err(QueueError::Queue(GetNowaitError::ShutDown(_)))
        ));
        q.task_done().unwrap();
        q.join().await.unwrap(); // the dropped items count as done
        q.delete().await.unwrap();
    });
}

#[test]
fn delayed_items_wait_until_due() {
    let Some(server) = redis("delay") else { return };
    let name = prefix("delay");
    asyncio::run(async move {
        let q = RedisQueue::<String>::connect(&server.url, &name)
            .poll_interval(0.02)
            .await
            .unwrap();
        q.put("later".into()).delay(3600.0).await.unwrap();
        q.put("soon".into()).delay(0.05).await.unwrap();
        assert_eq!(
            q.qsize().await.unwrap(),
            0,
            "delayed items are not waiting yet"
        );
        assert_eq!(q.get().await.unwrap(), "soon");
        q.task_done().unwrap();
        assert!(matches!(
            q.get_nowait().await,
            Err(QueueError::Queue(GetNowaitError::Empty(_)))
        ));
        q.delete().await.unwrap();
    });
}

#[test]
fn an_item_never_task_done_is_delivered_again_then_dead_lettered() {
    let Some(server) = redis("redelivery") else {
        return;
    };
    let name = prefix("redelivery");
    asyncio::run(async move {
        let connect = || {
            RedisQueue::<u32>::connect(&server.url, &name)
                .visibility_timeout(0.05)
                .poll_interval(0.02)
                .max_deliveries(2)
        };
        let producer = connect().await.unwrap();
        producer.put(7).await.unwrap();
        let first = connect().await.unwrap();
        assert_eq!(first.get().await.unwrap(), 7);
        drop(first); // a worker that died holding the item
        let second = connect().await.unwrap();
        assert_eq!(
            second.get().await.unwrap(),
            7,
            "delivered again after the timeout"
        );
        drop(second);
        // A third delivery would pass max_deliveries: the item goes to the dead letters.
        let third = connect().await.unwrap();
        assert!(asyncio::wait_for(third.get(), 0.5).await.is_err());
        let dead = third.dead_letters().await.unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!(dead[0].data, "7");
        assert_eq!(dead[0].deliveries, 2);
        assert!(
            dead[0].error.contains("never task_done"),
            "{}",
            dead[0].error
        );
        third.join().await.unwrap(); // dead letters count as done
        third.delete().await.unwrap();
    });
}

#[test]
fn an_item_that_does_not_deserialize_goes_to_the_dead_letters_with_its_error() {
    let Some(server) = redis("bad_item") else {
        return;
    };
    let name = prefix("bad-item");
    asyncio::run(async move {
        let strings = RedisQueue::<String>::connect(&server.url, &name)
            .await
            .unwrap();
        strings.put("not a number".into()).await.unwrap();
        let numbers = RedisQueue::<u32>::connect(&server.url, &name)
            .await
            .unwrap();
        numbers.put(42).await.unwrap();
        assert_eq!(numbers.get().await.unwrap(), 42, "the bad item is skipped");
        numbers.task_done().unwrap();
        numbers.join().await.unwrap();
        let dead = numbers.dead_letters().await.unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!(dead[0].data, "\"not a number\"");
        assert!(dead[0].error.contains("expected u32"), "{}", dead[0].error);
        numbers.delete().await.unwrap();
    });
}

#[test]
fn a_wrong_url_or_a_refused_connection_is_a_clear_error() {
    asyncio::run(async {
        let err = RedisQueue::<u32>::connect("http://127.0.0.1", "q")
            .await
            .unwrap_err();
        assert!(matches!(err, RedisError::BadUrl(_)), "{err}");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port(); // nothing listens there once the listener is dropped
        let url = format!("redis://127.0.0.1:{port}");
        let err = RedisQueue::<u32>::connect(&url, "q").await.unwrap_err();
        assert!(matches!(err, RedisError::Connect { .. }), "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("127.0.0.1:{port}")) && msg.contains("refused"),
            "{msg}"
        );
    });
}

#[test]
fn a_redis_with_a_password_given_none_is_a_clear_error() {
    let Some(server) = own_redis("requirepass", &["--requirepass", "s3cret"]) else {
        return;
    };
    let name = prefix("auth");
    asyncio::run(async move {
        let err = RedisQueue::<u32>::connect(&server.url, &name)
            .await
            .unwrap_err();
        assert!(matches!(err, RedisError::Auth(_)), "{err}");
        assert!(err.to_string().contains("NOAUTH"), "{err}");
        let wrong = server.url.replace("redis://", "redis://:nope@");
        let err = RedisQueue::<u32>::connect(&wrong, &name).await.unwrap_err();
        assert!(matches!(err, RedisError::Auth(_)), "{err}");
        let right = server.url.replace("redis://", "redis://:s3cret@");
        let q = RedisQueue::<u32>::connect(&right, &name).await.unwrap();
        q.put(1).await.unwrap();
        assert_eq!(q.get().await.unwrap(), 1);
    });
}

#[test]
fn put_all_puts_every_item_in_order_or_none_when_there_is_no_room() {
    let Some(server) = redis("put_all") else {
        return;
    };
    let name = prefix("put-all");
    asyncio::run(async move {
        let q = RedisQueue::<u32>::connect(&server.url, &name)
            .maxsize(3)
            .await
            .unwrap();
        q.put_all(vec![1, 2, 3]).await.unwrap();
        let waiting = asyncio::create_task({
            let q = q.clone();
            async move { q.put_all(vec![4, 5]).await.unwrap() }
        });
        asyncio::sleep(0.05).await;
        assert_eq!(
            q.qsize().await.unwrap(),
            3,
            "no room for both: neither is put"
        );
        for expected in 1..=5 {
            assert_eq!(q.get().await.unwrap(), expected);
            q.task_done().unwrap();
        }
        waiting.await.unwrap();
        q.join().await.unwrap();
        q.shutdown(false).await.unwrap();
        match q.put_all(vec![6]).await {
            Err(QueueError::Queue(QueueShutDown(items))) => assert_eq!(items, vec![6]),
            other => panic!("{other:?}"),
        }
        q.delete().await.unwrap();
    });
}

#[test]
fn acked_items_are_trimmed_and_nothing_waiting_or_unacked_is() {
    let Some(server) = redis("trim") else { return };
    let name = prefix("trim");
    asyncio::run(async move {
        let stream = format!("{{{name}}}:stream");
        let xlen = || server.cli(&["XLEN", &stream]).parse::<usize>().unwrap();
        let q = RedisQueue::<u32>::connect(&server.url, &name)
            .prefetch(50)
            .await
            .unwrap();
        // One put at a time: an entry each (put_all would pack 64 items per entry).
        for n in 0..1000 {
            q.put(n).await.unwrap();
        }
        // Item 0 taken by a worker that never acks it: nothing at or after it may go.
        let holder = RedisQueue::<u32>::connect(&server.url, &name)
            .await
            .unwrap();
        assert_eq!(holder.get().await.unwrap(), 0);
        for expected in 1..=600 {
            assert_eq!(q.get().await.unwrap(), expected);
            q.task_done().unwrap();
        }
        q.flush().await.unwrap();
        assert_eq!(q.qsize().await.unwrap(), 399, "601 delivered");
        assert_eq!(xlen(), 1000, "the oldest entry is pending: none trimmed");
        // The holder died; another worker reclaims item 0 and acks it: the acked go.
        drop(holder);
        asyncio::sleep(0.1).await;
        let reclaimer = RedisQueue::<u32>::connect(&server.url, &name)
            .visibility_timeout(0.05)
            .await
            .unwrap();
        assert_eq!(reclaimer.get_nowait().await.unwrap(), 0, "delivered again");
        reclaimer.task_done().unwrap();
        reclaimer.flush().await.unwrap();
        let left = xlen();
        assert!(
            (399..=500).contains(&left),
            "acked entries trimmed, undelivered kept: {left}"
        );
        let mut rest = Vec::new();
        while let Ok(n) = q.get_nowait().await {
            rest.push(n);
            q.task_done().unwrap();
        }
        assert_eq!(
            rest,
            (601..1000).collect::<Vec<_>>(),
            "every waiting item, once"
        );
        q.join().await.unwrap();
        assert!(xlen() <= 100, "all acked: at most the last node stays");
        q.delete().await.unwrap();
    });
}

#[test]
fn puts_started_together_go_together_and_each_gets_its_own_answer() {
    let Some(server) = redis("put_batch") else {
        return;
    };
    let name = prefix("put-batch");
    asyncio::run(async move {
        let q = RedisQueue::<u32>::connect(&server.url, &name)
            .maxsize(5)
            .await
            .unwrap();
        // Twenty put_nowait started in one turn: one script call, five fit.
        let tasks: Vec<_> = (0..20)
            .map(|n| {
                let q = q.clone();
                asyncio::create_task(async move { q.put_nowait(n).await })
            })
            .collect();
        let mut refused = Vec::new();
        for t in tasks {
            match t.await.unwrap() {
                Ok(()) => {}
                Err(QueueError::Queue(PutNowaitError::Full(full))) => refused.push(full.0),
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(refused, (5..20).collect::<Vec<_>>(), "the items come back");
        for n in 0..5 {
            assert_eq!(q.get().await.unwrap(), n, "in the order started");
            q.task_done().unwrap();
        }
        q.join().await.unwrap();
        q.delete().await.unwrap();
    });
}

#[test]
fn join_wakes_when_the_last_item_is_done_without_polling() {
    let Some(server) = redis("join_wakes") else {
        return;
    };
    let name = prefix("join-wakes");
    asyncio::run(async move {
        // A poll interval far longer than the test: only the idle list can wake join.
        let connect = || RedisQueue::<u32>::connect(&server.url, &name).poll_interval(60.0);
        let producer = connect().await.unwrap();
        let worker = connect().await.unwrap();
        producer.put_all(vec![1, 2]).await.unwrap();
        let joined = asyncio::create_task(async move { producer.join().await });
        for _ in 0..2 {
            worker.get().await.unwrap();
            asyncio::sleep(0.02).await;
            assert!(!joined.done(), "an item is not done yet");
            worker.task_done().unwrap();
        }
        asyncio::wait_for(joined, 5.0)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        worker.delete().await.unwrap();
    });
}

#[test]
fn items_read_ahead_and_never_handed_out_are_delivered_again_when_the_worker_dies() {
    let Some(server) = redis("prefetch_lost") else {
        return;
    };
    let name = prefix("prefetch-lost");
    asyncio::run(async move {
        let connect = || {
            RedisQueue::<u32>::connect(&server.url, &name)
                .visibility_timeout(0.05)
                .poll_interval(0.02)
        };
        let q = connect().await.unwrap();
        q.put_all((0..10).collect()).await.unwrap();
        let dies = connect().prefetch(10).await.unwrap();
        assert_eq!(dies.get().await.unwrap(), 0); // and nine more read ahead
        assert_eq!(
            q.qsize().await.unwrap(),
            0,
            "all ten delivered to the one that dies"
        );
        drop(dies);
        asyncio::sleep(0.1).await;
        let mut got = Vec::new();
        for _ in 0..10 {
            got.push(asyncio::wait_for(q.get(), 5.0).await.unwrap().unwrap());
            q.task_done().unwrap();
        }
        got.sort();
        assert_eq!(got, (0..10).collect::<Vec<_>>());
        q.join().await.unwrap();
        q.delete().await.unwrap();
    });
}

//! `sleep_until` and `Sleep::reset`: absolute deadlines on the loop's clock, moved in place.

use asyncio::{get_running_loop, sleep, sleep_until, wait_for};

#[asyncio::test(virtual_time)]
async fn sleep_until_wakes_at_the_deadline_and_a_past_one_yields() {
    let lp = get_running_loop();
    sleep(1.0).await;
    sleep_until(4.25).await;
    assert_eq!(lp.time(), 4.25);
    sleep_until(0.5).await;
    assert_eq!(lp.time(), 4.25, "a past deadline does not move the clock");
}

#[asyncio::test(virtual_time)]
async fn reset_moves_an_armed_sleep_later_and_earlier() {
    let lp = get_running_loop();
    let mut s = sleep(5.0);
    assert!(wait_for(&mut s, 1.0).await.is_err()); // armed for t = 5
    s.reset(8.0);
    assert!(
        wait_for(&mut s, 6.0).await.is_err(),
        "the old deadline (5) still fired"
    );
    assert_eq!(lp.time(), 7.0);
    s.reset(7.5);
    s.await;
    assert_eq!(lp.time(), 7.5);
}

#[asyncio::test(virtual_time)]
async fn reset_before_the_first_poll_and_after_completion() {
    let lp = get_running_loop();
    let mut s = sleep(100.0);
    s.reset(2.0);
    (&mut s).await;
    assert_eq!(lp.time(), 2.0);
    s.reset(3.0); // done: it sleeps again
    (&mut s).await;
    assert_eq!(lp.time(), 3.0);
}

#[asyncio::test(virtual_time)]
async fn many_resets_keep_one_timer() {
    let lp = get_running_loop();
    let mut s = sleep(1.0);
    assert!(wait_for(&mut s, 0.5).await.is_err());
    let before = lp.stats().timers;
    for i in 0..1000 {
        s.reset(10.0 + f64::from(i));
    }
    assert_eq!(
        lp.stats().timers,
        before,
        "a reset moves the timer, it adds none"
    );
    drop(s);
    assert_eq!(lp.stats().timers, before - 1);
}

//! Cancellation of tasks: where the future is dropped, what wins, what it spreads to.

use asyncio::{TaskError, create_task, current_task, sleep};
use std::future::Future;
use std::marker::PhantomPinned;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

/// A `!Unpin` future that notes where it was pinned and counts, when dropped, whether it was
/// dropped elsewhere: what `Pin`'s drop guarantee forbids.
struct StaysPut {
    pinned_at: usize,
    ready: bool,
    moved: Arc<AtomicUsize>,
    _pin: PhantomPinned,
}

impl Future for StaysPut {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        // SAFETY: only a plain field is written; nothing is moved out of the pinned value.
        let this = unsafe { self.get_unchecked_mut() };
        this.pinned_at = this as *const StaysPut as usize;
        if this.ready {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Drop for StaysPut {
    fn drop(&mut self) {
        if self.pinned_at != 0 && self.pinned_at != self as *const StaysPut as usize {
            self.moved.fetch_add(1, Ordering::SeqCst);
        }
    }
}

fn stays_put(ready: bool, moved: &Arc<AtomicUsize>) -> StaysPut {
    StaysPut {
        pinned_at: 0,
        ready,
        moved: moved.clone(),
        _pin: PhantomPinned,
    }
}

#[asyncio::test]
async fn a_pinned_future_is_dropped_where_it_was_pinned() {
    let moved = Arc::new(AtomicUsize::new(0));
    let cancelled = create_task(stays_put(false, &moved));
    sleep(0).await;
    cancelled.cancel();
    assert!(cancelled.await.unwrap_err().is_cancelled());
    create_task(stays_put(true, &moved)).await.unwrap();
    assert_eq!(moved.load(Ordering::SeqCst), 0);
}

#[asyncio::test]
async fn an_intrusive_waiter_in_a_cancelled_task_is_unlinked_in_place() {
    // tokio's Notified links itself into the Notify's list while pinned; dropping it after a
    // move would leave the list pointing at freed memory.
    let notify = Arc::new(tokio::sync::Notify::new());
    let n = notify.clone();
    let task = create_task(async move { n.notified().await });
    sleep(0).await;
    task.cancel();
    assert!(task.await.unwrap_err().is_cancelled());
    let _churn: Vec<Vec<u8>> = (0..64).map(|i| vec![0xAB; 64 + i]).collect();
    notify.notify_waiters();
}

struct PanicsOnDrop;

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        panic!("cleanup failed");
    }
}

#[asyncio::test]
async fn a_panic_in_a_cancelled_tasks_cleanup_ends_that_task_only() {
    let task = create_task(async {
        let _guard = PanicsOnDrop;
        sleep(3600.0).await;
    });
    sleep(0).await;
    task.cancel();
    match task.await {
        Err(TaskError::Panicked(p)) => assert_eq!(p.message(), Some("cleanup failed")),
        other => panic!("expected the cleanup's panic, got {other:?}"),
    }
}

#[asyncio::test]
async fn a_cancel_asked_for_during_the_last_step_wins_over_the_value() {
    let task = create_task(async {
        current_task().unwrap().cancel();
        5
    });
    assert!(matches!(task.await, Err(TaskError::Cancelled(_))));
}

#[asyncio::test]
async fn cancelling_a_task_cancels_the_task_it_awaits() {
    let inner = create_task(sleep(3600.0));
    let awaited = inner.clone();
    let outer = create_task(awaited); // a task whose step awaits the inner task
    sleep(0).await;
    outer.cancel_with("stop");
    assert!(outer.await.unwrap_err().is_cancelled());
    match inner.await {
        Err(TaskError::Cancelled(e)) => assert_eq!(e.msg.as_deref(), Some("stop")),
        other => panic!("{other:?}"),
    }
}

#[asyncio::test]
async fn dropping_an_awaited_handle_does_not_cancel() {
    let inner = create_task(async {
        sleep(0.01).await;
        "finished"
    });
    let waiter = inner.clone();
    // The awaiting future is dropped (not its task cancelled): the inner task runs on.
    let _ = asyncio::wait_for(waiter, 0.001).await;
    assert_eq!(inner.await.unwrap(), "finished");
}

#[asyncio::test]
async fn a_task_awaiting_itself_is_an_error_not_a_hang() {
    let slot: std::rc::Rc<std::cell::RefCell<Option<asyncio::Task<()>>>> = Default::default();
    let me = slot.clone();
    let task = create_task(async move {
        sleep(0).await;
        let own = me.borrow_mut().take().unwrap();
        let _ = own.await;
    });
    *slot.borrow_mut() = Some(task.clone());
    match task.await {
        Err(TaskError::Panicked(p)) => assert_eq!(p.message(), Some("Task cannot await on itself")),
        other => panic!("{other:?}"),
    }
}

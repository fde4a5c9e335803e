//! The one queue behind `Queue`, `LifoQueue` and `PriorityQueue`, and its futures.
//!
//! # Design
//! asyncio's algorithm (3.13): getters and putters wait in FIFOs; each put wakes one getter and
//! each get wakes one putter, and a woken waiter *looks again* (it is not handed the item). A
//! woken waiter that is dropped before it looked passes its wake-up on while the queue still
//! has items (getter) or room (putter), so no item sits unclaimed while a getter sleeps. `join`
//! waits on an [`Event`] set whenever the count of unfinished tasks reaches 0; the event is
//! made by the first `join`, so a queue nobody joins is one allocation.
//!
//! The order of items is the only difference between the three queues: `Store` holds them,
//! and its priority heap's operations are plain function pointers fixed where `T: Ord` is
//! known, so the rest needs no bound on `T`.

use super::error::{GetNowaitError, PutNowaitError, QueueEmpty, QueueFull, QueueShutDown};
use crate::sync::{Event, EventWait, Turn, ValueError, WaitList, Waiter};
use std::cell::{Cell, OnceCell, RefCell};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

type Heap<T> = BinaryHeap<Reverse<T>>;

// An explicit tag: with the niche of `VecDeque`'s capacity as the tag, every match decoded it
// in several instructions, on each put and get.
#[repr(u8)]
pub(crate) enum Store<T> {
    Fifo(VecDeque<T>),
    Lifo(Vec<T>),
    Priority {
        heap: Heap<T>,
        push: fn(&mut Heap<T>, T),
        pop: fn(&mut Heap<T>) -> Option<T>,
    },
}

impl<T> Store<T> {
    pub(crate) fn fifo() -> Self {
        Store::Fifo(VecDeque::new())
    }

    pub(crate) fn lifo() -> Self {
        Store::Lifo(Vec::new())
    }

    pub(crate) fn priority() -> Self
    where
        T: Ord,
    {
        Store::Priority {
            heap: BinaryHeap::new(),
            push: |heap, item| heap.push(Reverse(item)),
            pop: |heap| heap.pop().map(|Reverse(item)| item),
        }
    }

    fn len(&self) -> usize {
        match self {
            Store::Fifo(items) => items.len(),
            Store::Lifo(items) => items.len(),
            Store::Priority { heap, .. } => heap.len(),
        }
    }

    fn push(&mut self, item: T) {
        match self {
            Store::Fifo(items) => items.push_back(item),
            Store::Lifo(items) => items.push(item),
            Store::Priority { heap, push, .. } => push(heap, item),
        }
    }

    fn pop(&mut self) -> Option<T> {
        match self {
            Store::Fifo(items) => items.pop_front(),
            Store::Lifo(items) => items.pop(),
            Store::Priority { heap, pop, .. } => pop(heap),
        }
    }
}

pub(crate) struct Core<T> {
    maxsize: usize,
    items: RefCell<Store<T>>,
    getters: RefCell<WaitList>,
    putters: RefCell<WaitList>,
    unfinished: Cell<usize>,
    /// Once the first `join` made it: set while `unfinished` is 0.
    finished: OnceCell<Event>,
    shut_down: Cell<bool>,
}

impl<T> Core<T> {
    pub(crate) fn new(maxsize: usize, items: Store<T>) -> Rc<Self> {
        Rc::new(Core {
            maxsize,
            items: RefCell::new(items),
            getters: RefCell::new(WaitList::labelled(crate::task::waiting::Waiting::QueueGet)),
            putters: RefCell::new(WaitList::labelled(crate::task::waiting::Waiting::QueuePut)),
            unfinished: Cell::new(0),
            finished: OnceCell::new(),
            shut_down: Cell::new(false),
        })
    }

    pub(crate) fn maxsize(&self) -> usize {
        self.maxsize
    }

    pub(crate) fn qsize(&self) -> usize {
        self.items.borrow().len()
    }

    pub(crate) fn full(&self) -> bool {
        self.maxsize > 0 && self.qsize() >= self.maxsize
    }

    #[inline]
    pub(crate) fn put_nowait(&self, item: T) -> Result<(), PutNowaitError<T>> {
        let mut items = self.items.borrow_mut();
        if self.shut_down.get() || (self.maxsize > 0 && items.len() >= self.maxsize) {
            drop(items);
            return Err(self.refused(item));
        }
        items.push(item);
        drop(items);
        let unfinished = self.unfinished.get();
        if unfinished == 0 {
            if let Some(finished) = self.finished.get() {
                finished.clear();
            }
        }
        self.unfinished.set(unfinished + 1);
        self.getters.borrow_mut().notify_one();
        Ok(())
    }

    /// Why a put found no place: kept out of line, so that the put that succeeds stays small
    /// enough to inline into the task that awaits it.
    #[cold]
    fn refused(&self, item: T) -> PutNowaitError<T> {
        if self.shut_down.get() {
            PutNowaitError::ShutDown(QueueShutDown(item))
        } else {
            PutNowaitError::Full(QueueFull(item))
        }
    }

    /// The next item, if any; a taken item makes room for one putter.
    #[inline]
    fn take(&self) -> Option<T> {
        let item = self.items.borrow_mut().pop();
        // Only a bounded queue ever has putters waiting.
        if item.is_some() && self.maxsize > 0 {
            self.putters.borrow_mut().notify_one();
        }
        item
    }

    #[inline]
    pub(crate) fn get_nowait(&self) -> Result<T, GetNowaitError> {
        match self.take() {
            Some(item) => Ok(item),
            None if self.shut_down.get() => Err(GetNowaitError::ShutDown(QueueShutDown(()))),
            None => Err(GetNowaitError::Empty(QueueEmpty)),
        }
    }

    /// Every item put was marked done: wakes the joiners.
    fn all_done(&self) {
        if let Some(finished) = self.finished.get() {
            finished.set();
        }
    }

    pub(crate) fn task_done(&self) -> Result<(), ValueError> {
        let unfinished = self.unfinished.get();
        if unfinished == 0 {
            return Err(ValueError {
                msg: "task_done() called too many times",
            });
        }
        self.unfinished.set(unfinished - 1);
        if unfinished == 1 {
            self.all_done();
        }
        Ok(())
    }

    pub(crate) fn shutdown(&self, immediate: bool) {
        self.shut_down.set(true);
        if immediate {
            let mut drained = Vec::new();
            while let Some(item) = self.items.borrow_mut().pop() {
                drained.push(item);
            }
            let unfinished = self.unfinished.get().saturating_sub(drained.len());
            self.unfinished.set(unfinished);
            if unfinished == 0 {
                self.all_done();
            }
            // Items may run code when dropped; the queue is consistent again by now.
            drop(drained);
        }
        self.getters.borrow_mut().notify_all();
        self.putters.borrow_mut().notify_all();
    }

    pub(crate) fn is_shut_down(&self) -> bool {
        self.shut_down.get()
    }

    pub(crate) fn waiting_getters(&self) -> usize {
        self.getters.borrow().len()
    }

    pub(crate) fn waiting_putters(&self) -> usize {
        self.putters.borrow().len()
    }

    pub(crate) fn unfinished(&self) -> usize {
        self.unfinished.get()
    }

    pub(crate) fn join(&self) -> Join {
        Join {
            wait: self
                .finished
                .get_or_init(|| {
                    let finished = Event::new();
                    if self.unfinished.get() == 0 {
                        finished.set();
                    }
                    finished
                })
                .wait(),
        }
    }
}

/// The future of `get` on a [`Queue`](crate::Queue), [`LifoQueue`](crate::LifoQueue) or
/// [`PriorityQueue`](crate::PriorityQueue): the next item, or [`QueueShutDown`] once the queue
/// is shut down and empty.
///
/// # Cancel safety
/// Dropping it loses no item: an item is only taken when the future completes. A wake-up it
/// had received is passed to the next getter while items remain.
#[must_use = "a get does nothing until awaited"]
pub struct Get<T> {
    pub(crate) core: Rc<Core<T>>,
    pub(crate) waiter: Option<Rc<Waiter>>,
}

impl<T> Future for Get<T> {
    type Output = Result<T, QueueShutDown>;

    /// The item at hand is taken inline; waiting is out of line.
    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        // Notified or not, a getter looks again.
        if let Turn::Queued = WaitList::turn(&this.core.getters, &mut this.waiter, cx.waker()) {
            return Poll::Pending;
        }
        match this.core.take() {
            Some(item) => Poll::Ready(Ok(item)),
            None => this.wait(cx),
        }
    }
}

impl<T> Get<T> {
    /// Found the queue empty: fails if it is shut down, waits otherwise.
    #[inline(never)]
    fn wait(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, QueueShutDown>> {
        if self.core.shut_down.get() {
            return Poll::Ready(Err(QueueShutDown(())));
        }
        self.waiter = Some(self.core.getters.borrow_mut().push(cx.waker()));
        Poll::Pending
    }

    /// A dropped getter leaves the list, or passes on the wake-up it was given.
    #[cold]
    fn leave(&self, waiter: Rc<Waiter>) {
        let mut getters = self.core.getters.borrow_mut();
        if !waiter.notified() {
            getters.remove(&waiter);
        } else if self.core.qsize() > 0 {
            getters.notify_one();
        }
    }
}

impl<T> Drop for Get<T> {
    #[inline]
    fn drop(&mut self) {
        if let Some(waiter) = self.waiter.take() {
            self.leave(waiter);
        }
    }
}

impl<T> std::fmt::Debug for Get<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Get")
            .field("waiting", &self.waiter.is_some())
            .finish()
    }
}

/// The future of `put` on a [`Queue`](crate::Queue), [`LifoQueue`](crate::LifoQueue) or
/// [`PriorityQueue`](crate::PriorityQueue): waits for room, then puts the item.
///
/// # Errors
/// [`QueueShutDown`] holding the item, once the queue is shut down.
///
/// # Cancel safety
/// Dropping it before it completes drops the item, which was never put. A wake-up it had
/// received is passed to the next putter while the queue has room.
#[must_use = "a put does nothing until awaited: the item is not in the queue"]
pub struct Put<T> {
    pub(crate) core: Rc<Core<T>>,
    pub(crate) item: Option<T>,
    pub(crate) waiter: Option<Rc<Waiter>>,
}

// The item is moved, never pinned.
impl<T> Unpin for Put<T> {}

impl<T> Future for Put<T> {
    type Output = Result<(), QueueShutDown<T>>;

    /// A put that finds room is done inline; waiting is out of line.
    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        // Notified or not, a putter tries again.
        if let Turn::Queued = WaitList::turn(&this.core.putters, &mut this.waiter, cx.waker()) {
            return Poll::Pending;
        }
        let item = this.item.take().expect("Put polled after completion");
        match this.core.put_nowait(item) {
            Ok(()) => Poll::Ready(Ok(())),
            Err(refused) => this.refused(refused, cx),
        }
    }
}

impl<T> Put<T> {
    /// A full queue queues the putter; a shut-down one gives the item back.
    #[inline(never)]
    fn refused(
        &mut self,
        refused: PutNowaitError<T>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), QueueShutDown<T>>> {
        match refused {
            PutNowaitError::ShutDown(e) => Poll::Ready(Err(e)),
            PutNowaitError::Full(QueueFull(item)) => {
                self.item = Some(item);
                self.waiter = Some(self.core.putters.borrow_mut().push(cx.waker()));
                Poll::Pending
            }
        }
    }

    /// A dropped putter leaves the list, or passes on the wake-up it was given.
    #[cold]
    fn leave(&self, waiter: Rc<Waiter>) {
        let mut putters = self.core.putters.borrow_mut();
        if !waiter.notified() {
            putters.remove(&waiter);
        } else if !self.core.full() {
            putters.notify_one();
        }
    }
}

impl<T> Drop for Put<T> {
    #[inline]
    fn drop(&mut self) {
        if let Some(waiter) = self.waiter.take() {
            self.leave(waiter);
        }
    }
}

impl<T> std::fmt::Debug for Put<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Put")
            .field("waiting", &self.waiter.is_some())
            .finish()
    }
}

/// The future of `join` on a queue: completes once every item put has been marked done with
/// `task_done`.
///
/// # Cancel safety
/// Dropping it loses nothing.
#[must_use = "a join does nothing until awaited"]
#[derive(Debug)]
pub struct Join {
    wait: EventWait,
}

impl Future for Join {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let polled = Pin::new(&mut self.wait).poll(cx);
        if polled.is_pending() {
            crate::task::waiting::note(cx.waker(), crate::task::waiting::Waiting::QueueJoin);
        }
        polled
    }
}

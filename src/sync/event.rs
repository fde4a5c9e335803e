//! `Event`: a flag that tasks can wait to see set.

use super::waiters::{Turn, WaitList, Waiter};
use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

struct Inner {
    flag: Cell<bool>,
    waiters: RefCell<WaitList>,
}

/// A flag that tasks wait on (asyncio's `Event`): [`set`](Event::set) wakes every waiter,
/// [`clear`](Event::clear) lowers the flag again. Clones are handles to the same event.
///
/// # Examples
/// ```
/// # asyncio::Runner::new().virtual_time(true).run(async {
/// async fn waiter(event: asyncio::Event) {
///     println!("waiting for it ...");
///     event.wait().await;
///     println!("... got it!");
/// }
///
/// let event = asyncio::Event::new();
/// let waiter_task = asyncio::create_task(waiter(event.clone()));
/// asyncio::sleep(1.0).await;
/// event.set();
/// waiter_task.await.unwrap();
/// # });
/// ```
#[derive(Clone)]
pub struct Event {
    inner: Rc<Inner>,
}

impl Event {
    /// A new event, not set.
    ///
    /// # Examples
    /// ```
    /// assert!(!asyncio::Event::new().is_set());
    /// ```
    pub fn new() -> Event {
        Event {
            inner: Rc::new(Inner {
                flag: Cell::new(false),
                waiters: RefCell::new(WaitList::labelled(crate::task::waiting::Waiting::EventWait)),
            }),
        }
    }

    /// Whether the flag is set.
    ///
    /// # Examples
    /// ```
    /// let event = asyncio::Event::new();
    /// event.set();
    /// assert!(event.is_set());
    /// ```
    #[inline]
    pub fn is_set(&self) -> bool {
        self.inner.flag.get()
    }

    /// Sets the flag and wakes every task waiting for it. Tasks that wait later return at once,
    /// until [`clear`](Event::clear).
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let event = asyncio::Event::new();
    /// let waiters: Vec<_> = (0..3).map(|_| asyncio::create_task(event.wait())).collect();
    /// asyncio::sleep(0).await;
    /// event.set();
    /// for w in waiters {
    ///     w.await.unwrap();
    /// }
    /// # });
    /// ```
    pub fn set(&self) {
        if !self.inner.flag.replace(true) {
            self.inner.waiters.borrow_mut().notify_all();
        }
    }

    /// Lowers the flag: tasks that wait from now on block until the next [`set`](Event::set).
    /// Tasks already woken by a `set` still return.
    ///
    /// # Examples
    /// ```
    /// let event = asyncio::Event::new();
    /// event.set();
    /// event.clear();
    /// assert!(!event.is_set());
    /// ```
    #[inline]
    pub fn clear(&self) {
        self.inner.flag.set(false);
    }

    /// Waits until the flag is set; returns at once if it is set already.
    ///
    /// The future holds its own handle to the event, so it can be given to `create_task`
    /// as it is.
    ///
    /// # Cancel safety
    /// Dropping the future loses nothing. See [`EventWait`].
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let event = asyncio::Event::new();
    /// event.set();
    /// event.wait().await;
    /// # });
    /// ```
    pub fn wait(&self) -> EventWait {
        EventWait {
            event: self.clone(),
            waiter: None,
        }
    }
}

impl Default for Event {
    fn default() -> Self {
        Event::new()
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("set", &self.is_set())
            .field("waiters", &self.inner.waiters.borrow().len())
            .finish()
    }
}

/// The future of [`Event::wait`].
///
/// # Cancel safety
/// Dropping it loses nothing: a `set` wakes every waiter, so there is no wake-up to pass on.
#[must_use = "an Event's wait does nothing until awaited"]
pub struct EventWait {
    event: Event,
    waiter: Option<Rc<Waiter>>,
}

impl Future for EventWait {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        match WaitList::turn(&this.event.inner.waiters, &mut this.waiter, cx.waker()) {
            Turn::Notified => Poll::Ready(()),
            Turn::Queued => Poll::Pending,
            Turn::Idle if this.event.is_set() => Poll::Ready(()),
            Turn::Idle => {
                this.waiter = Some(this.event.inner.waiters.borrow_mut().push(cx.waker()));
                Poll::Pending
            }
        }
    }
}

impl Drop for EventWait {
    fn drop(&mut self) {
        if let Some(waiter) = self.waiter.take() {
            self.event.inner.waiters.borrow_mut().remove(&waiter);
        }
    }
}

impl fmt::Debug for EventWait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventWait")
            .field("waiting", &self.waiter.is_some())
            .finish()
    }
}

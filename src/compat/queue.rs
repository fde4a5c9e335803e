//! A queue's two sides for the futures ecosystem (feature `stream`): the consumer side a
//! `futures_core::Stream`, the producer side a `futures_sink::Sink`.

use crate::queue::core::{Core, Get, Put};
use crate::{LifoQueue, PriorityQueue, PutNowaitError, Queue, QueueShutDown};
use futures_core::{FusedStream, Stream};
use futures_sink::Sink;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, ready};

/// A queue's consumer side as a `futures_core::Stream`: each item is a
/// [`get`](Queue::get); the stream ends once the queue is shut down and empty. Made by
/// `stream()` on [`Queue`], [`LifoQueue`] and [`PriorityQueue`].
///
/// # Cancel safety
/// Dropping it (or a `next` on it) loses no item.
#[derive(Debug)]
pub struct QueueStream<T> {
    get: Get<T>,
    done: bool,
}

impl<T> Stream for QueueStream<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        let got = ready!(Pin::new(&mut this.get).poll(cx));
        // A finished get is not polled again: the next item needs a fresh one.
        this.get = Get {
            core: this.get.core.clone(),
            waiter: None,
        };
        this.done = got.is_err();
        Poll::Ready(got.ok())
    }
}

impl<T> FusedStream for QueueStream<T> {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

/// A queue's producer side as a `futures_sink::Sink`: `send` is a [`put`](Queue::put),
/// waiting while the queue is full. The error, [`QueueShutDown`], gives the item back once
/// the queue is shut down. Made by `sink()` on [`Queue`], [`LifoQueue`] and
/// [`PriorityQueue`]. Closing the sink does not shut the queue down.
///
/// # Cancel safety
/// An item `start_send` took and could not put at once waits in the sink; dropping the sink
/// before a flush drops that item.
pub struct QueueSink<T> {
    core: Rc<Core<T>>,
    /// The item waiting for room.
    pending: Option<Put<T>>,
}

impl<T> std::fmt::Debug for QueueSink<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueueSink")
            .field("pending", &self.pending.is_some())
            .finish()
    }
}

impl<T> Sink<T> for QueueSink<T> {
    type Error = QueueShutDown<T>;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let this = self.get_mut();
        if let Some(put) = &mut this.pending {
            let done = ready!(Pin::new(put).poll(cx));
            this.pending = None;
            done?;
        }
        Poll::Ready(Ok(()))
    }

    fn start_send(self: Pin<&mut Self>, item: T) -> Result<(), Self::Error> {
        let this = self.get_mut();
        debug_assert!(this.pending.is_none(), "start_send without poll_ready");
        match this.core.put_nowait(item) {
            Ok(()) => Ok(()),
            Err(PutNowaitError::ShutDown(e)) => Err(e),
            Err(PutNowaitError::Full(full)) => {
                this.pending = Some(Put {
                    core: this.core.clone(),
                    item: Some(full.0),
                    waiter: None,
                });
                Ok(())
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.poll_ready(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.poll_ready(cx)
    }
}

macro_rules! queue_sides {
    ($name:ident $(, $bound:path)?) => {
        impl<T $(: $bound)?> $name<T> {
            /// The consumer side as a `futures_core::Stream` (feature `stream`): see
            /// [`QueueStream`].
            ///
            /// # Examples
            /// ```
            /// use futures_core::Stream;
            /// # asyncio::run(async {
            #[doc = concat!("let queue = asyncio::", stringify!($name), "::new(0);")]
            /// queue.put_nowait(1).unwrap();
            /// queue.shutdown(false);
            /// let mut items = queue.stream();
            /// let next = std::future::poll_fn(|cx| std::pin::Pin::new(&mut items).poll_next(cx));
            /// assert_eq!(next.await, Some(1));
            /// let next = std::future::poll_fn(|cx| std::pin::Pin::new(&mut items).poll_next(cx));
            /// assert_eq!(next.await, None); // shut down and empty
            /// # });
            /// ```
            pub fn stream(&self) -> QueueStream<T> {
                QueueStream {
                    get: self.get(),
                    done: false,
                }
            }

            /// The producer side as a `futures_sink::Sink` (feature `stream`): see
            /// [`QueueSink`].
            ///
            /// # Examples
            /// ```
            /// use futures_sink::Sink;
            /// use std::pin::Pin;
            /// # asyncio::run(async {
            #[doc = concat!("let queue = asyncio::", stringify!($name), "::new(1);")]
            /// let mut sink = queue.sink();
            /// std::future::poll_fn(|cx| Pin::new(&mut sink).poll_ready(cx)).await.unwrap();
            /// Pin::new(&mut sink).start_send(7).unwrap();
            /// assert_eq!(queue.get_nowait(), Ok(7));
            /// # });
            /// ```
            pub fn sink(&self) -> QueueSink<T> {
                QueueSink {
                    core: self.get().core.clone(),
                    pending: None,
                }
            }
        }
    };
}

queue_sides!(Queue);
queue_sides!(LifoQueue);
queue_sides!(PriorityQueue, Ord);

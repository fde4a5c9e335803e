//! `gather!`: [`gather`](crate::gather()) for futures of different output types, giving a tuple.

use super::notify::{Watch, failed, reraise};
use crate::error::{CancelledError, TaskError};
use crate::task::{CancelScope, Task, TaskRef};
use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

/// Runs futures of different output types concurrently as tasks and gives their outputs as a
/// tuple, in argument order (asyncio's `gather(a, b, c)`).
///
/// Everything [`gather`](crate::gather()) says holds: the tasks are created at once, every
/// outcome is kept (an `Err` output is just a value), dropping the future cancels the tasks
/// that have not finished, and a panic in one of them is raised again while the others run on.
///
/// # Panics
/// Outside a running loop, and when a child panics.
///
/// # Examples
/// ```
/// # asyncio::Runner::new().virtual_time(true).run(async {
/// async fn count(n: u64) -> u64 { asyncio::sleep(1.0).await; n }
/// async fn name() -> String { asyncio::sleep(2.0).await; "asyncio".to_string() }
/// let (n, s) = asyncio::gather!(count(2), name()).await;
/// assert_eq!((n, s.as_str()), (2, "asyncio"));
/// assert_eq!(asyncio::get_running_loop().time(), 2.0);
/// # });
/// ```
#[macro_export]
macro_rules! gather {
    ($($fut:expr),+ $(,)?) => {
        $crate::GatherTuple::new(($($crate::create_task($fut),)+))
    };
}

/// A tuple of tasks that [`gather!`](crate::gather!) can wait for: implemented for tuples of
/// one to twelve [`Task`]s.
pub trait TaskTuple: 'static {
    /// The tuple of the tasks' outputs.
    type Output;

    #[doc(hidden)]
    fn __into_join(self) -> Join<Self::Output>;
}

/// The future of [`gather!`](crate::gather!): the tuple of its tasks' outputs.
///
/// # Cancel safety
/// Dropping it before it finishes cancels every task it made that has not finished.
#[must_use = "the tasks run anyway, but their outputs are only collected by awaiting"]
pub struct GatherTuple<P: TaskTuple> {
    join: Join<P::Output>,
}

impl<P: TaskTuple> GatherTuple<P> {
    /// Waits for a tuple of tasks. [`gather!`](crate::gather!) calls this with the tasks it
    /// creates.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let a = asyncio::create_task(async { 1 });
    /// let b = asyncio::create_task(async { "two" });
    /// assert_eq!(asyncio::GatherTuple::new((a, b)).await, (1, "two"));
    /// # });
    /// ```
    pub fn new(tasks: P) -> Self {
        GatherTuple {
            join: tasks.__into_join(),
        }
    }
}

impl<P: TaskTuple> Future for GatherTuple<P> {
    type Output = P::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<P::Output> {
        Pin::new(&mut self.join).poll(cx)
    }
}

/// Starts watching one task of the tuple under the given index.
type WatchFn = Box<dyn Fn(&Watch, usize)>;

/// One task of the tuple, with its output type erased.
struct Member {
    task: TaskRef,
    watch: WatchFn,
    /// Moves the finished task's output into its slot of the tuple.
    take: Box<dyn FnMut() -> Result<(), TaskError>>,
}

impl Member {
    fn new<T: 'static>(task: Task<T>, slot: Rc<Cell<Option<T>>>) -> Member {
        let watched = task.clone();
        Member {
            task: task.as_ref(),
            watch: Box::new(move |watch, index| {
                let _ = watch.watch(index, &watched, failed);
            }),
            take: Box::new(move || {
                slot.set(Some(task.result()?));
                Ok(())
            }),
        }
    }
}

#[doc(hidden)]
pub struct Join<Out> {
    members: Vec<Member>,
    remaining: usize,
    watch: Watch,
    started: bool,
    finished: bool,
    ready: Vec<usize>,
    assemble: Option<Box<dyn FnOnce() -> Out>>,
    /// The gather catches its task's cancellation, to wait for the children it cancels.
    scope: CancelScope,
    /// The cancellation that reached the gather: raised again once every child has ended.
    cancelled: Option<CancelledError>,
}

impl<Out> Future for Join<Out> {
    type Output = Out;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Out> {
        let this = self.get_mut();
        if this.finished {
            // The cancellation went on up from here: nothing comes after it.
            return Poll::Pending;
        }
        this.scope.enter();
        this.watch.set_waiter(cx.waker());
        if !this.started {
            this.started = true;
            for (index, member) in this.members.iter().enumerate() {
                (member.watch)(&this.watch, index);
            }
        }
        if this.scope.catch_into(&mut this.cancelled) {
            // As `gather`'s: the children are cancelled, and it ends once they all have.
            this.cancel_pending();
        }
        this.watch.take_ready(&mut this.ready);
        for index in std::mem::take(&mut this.ready) {
            if this.cancelled.is_some() {
                this.remaining -= 1;
                continue;
            }
            if let Err(error) = (this.members[index].take)() {
                // As asyncio raises the first exception: the others run on.
                this.finished = true;
                reraise(error);
            }
            this.remaining -= 1;
        }
        if this.remaining > 0 {
            return Poll::Pending;
        }
        this.finished = true;
        if let Some(error) = this.cancelled.take() {
            this.scope.raise_again(error);
            return Poll::Pending;
        }
        this.scope.exit();
        let assemble = this
            .assemble
            .take()
            .expect("GatherTuple polled after it finished");
        Poll::Ready(assemble())
    }
}

impl<Out> Join<Out> {
    fn cancel_pending(&self) {
        for member in &self.members {
            if !member.task.done() {
                member.task.cancel();
            }
        }
    }
}

impl<Out> Drop for Join<Out> {
    fn drop(&mut self) {
        if !self.finished {
            self.cancel_pending();
        }
    }
}

macro_rules! task_tuple {
    ($($t:ident $task:ident $slot:ident),+) => {
        impl<$($t: 'static),+> TaskTuple for ($(Task<$t>,)+) {
            type Output = ($($t,)+);

            fn __into_join(self) -> Join<Self::Output> {
                let ($($task,)+) = self;
                $(let $slot = Rc::new(Cell::new(None::<$t>));)+
                let members = vec![$(Member::new($task, $slot.clone())),+];
                Join {
                    remaining: members.len(),
                    members,
                    watch: Watch::new(),
                    started: false,
                    finished: false,
                    ready: Vec::new(),
                    scope: CancelScope::new(),
                    cancelled: None,
                    assemble: Some(Box::new(move || {
                        ($($slot.take().expect("every task finished"),)+)
                    })),
                }
            }
        }
    };
}

task_tuple!(A a sa);
task_tuple!(A a sa, B b sb);
task_tuple!(A a sa, B b sb, C c sc);
task_tuple!(A a sa, B b sb, C c sc, D d sd);
task_tuple!(A a sa, B b sb, C c sc, D d sd, E e se);
task_tuple!(A a sa, B b sb, C c sc, D d sd, E e se, F f sf);
task_tuple!(A a sa, B b sb, C c sc, D d sd, E e se, F f sf, G g sg);
task_tuple!(A a sa, B b sb, C c sc, D d sd, E e se, F f sf, G g sg, H h sh);
task_tuple!(A a sa, B b sb, C c sc, D d sd, E e se, F f sf, G g sg, H h sh, I i si);
task_tuple!(A a sa, B b sb, C c sc, D d sd, E e se, F f sf, G g sg, H h sh, I i si, J j sj);
task_tuple!(A a sa, B b sb, C c sc, D d sd, E e se, F f sf, G g sg, H h sh, I i si, J j sj, K k sk);
task_tuple!(A a sa, B b sb, C c sc, D d sd, E e se, F f sf, G g sg, H h sh, I i si, J j sj, K k sk, L l sl);

impl<P: TaskTuple> fmt::Debug for GatherTuple<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatherTuple")
            .field("tasks", &self.join.members.len())
            .field("remaining", &self.join.remaining)
            .finish()
    }
}

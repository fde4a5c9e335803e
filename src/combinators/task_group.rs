//! `TaskGroup`: structured concurrency (asyncio 3.11), and `ExceptionGroup`, its error.

use super::exception_group::ExceptionGroup;
use crate::error::{CancelledError, PanicError};
use crate::task::{CancelScope, Task, TaskRef, create_task};
use std::cell::RefCell;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};

/// A group of tasks that ends together (asyncio's `TaskGroup`, the `async with` form).
///
/// [`TaskGroup::run`] runs a body that gets the group and [`create_task`](TaskGroup::create_task)s
/// children in it; the run ends once the body *and* every child have finished. A child's future
/// returns `Result<T, E>`: the first `Err` (from a child or from the body) cancels every other
/// child and the body (at the loop's next turn, when asyncio's done callback would), and once
/// they have all ended the run returns every error together as an
/// [`ExceptionGroup`]. Dropping the run (cancelling the task that awaits it) cancels the
/// children. A child that panics cancels the others too, and its panic is raised again from the
/// run once they have ended (as asyncio re-raises `KeyboardInterrupt` instead of grouping it).
///
/// With a catching scope inside the body ([`on_cancel`](crate::on_cancel),
/// [`catch_cancel`](crate::catch_cancel)), a failure cancels the body as asyncio does, by
/// cancelling the task: the scope sees it (an `on_cancel` runs its cleanup) and the group
/// takes its own cancel back. A cancellation from outside that comes up out of the body
/// cancels the children, and goes on up once they have ended, unless a child failed (errors
/// win, as in asyncio).
///
/// `TaskGroup` is a cheap `Clone` handle: children may hold it to start siblings.
///
/// # Examples
/// ```
/// # asyncio::Runner::new().virtual_time(true).run(async {
/// async fn fetch(n: u32) -> Result<u32, String> {
///     asyncio::sleep(f64::from(n)).await;
///     Ok(n * 10)
/// }
/// let (a, b) = asyncio::TaskGroup::run(|tg| async move {
///     let a = tg.create_task(fetch(1));
///     let b = tg.create_task(fetch(2));
///     Ok((a, b))
/// })
/// .await
/// .unwrap();
/// // Both children are done once the group is.
/// assert_eq!((a.result().unwrap(), b.result().unwrap()), (10, 20));
/// assert_eq!(asyncio::get_running_loop().time(), 2.0);
/// # });
/// ```
pub struct TaskGroup<E: 'static> {
    inner: Rc<RefCell<Inner<E>>>,
}

impl<E: 'static> Clone for TaskGroup<E> {
    fn clone(&self) -> Self {
        TaskGroup {
            inner: self.inner.clone(),
        }
    }
}

struct Child {
    task: TaskRef,
    /// Takes the panic out of the child's task, if it panicked.
    take_panic: Box<dyn Fn() -> Option<PanicError>>,
}

struct Inner<E> {
    children: Vec<Option<Child>>,
    /// Children not done yet, as their done callbacks have reported.
    live: usize,
    errors: Vec<E>,
    /// The first child that panicked.
    panicked: Option<usize>,
    aborting: bool,
    finished: bool,
    /// The run's waker, woken when it must act: an abort, or the last child ending.
    waker: Option<Waker>,
}

type Group<E> = Weak<RefCell<Inner<E>>>;

impl<E> Inner<E> {
    /// How many children have failed: errors, and a panic.
    fn failures(&self) -> usize {
        self.errors.len() + usize::from(self.panicked.is_some())
    }

    /// Starts shutting down: every child still running is cancelled.
    fn abort(&mut self) {
        if !self.aborting {
            self.aborting = true;
            for child in self.children.iter().flatten() {
                if !child.task.done() {
                    child.task.cancel();
                }
            }
        }
    }
}

/// Calls `f` on the group, then wakes the run if `f` says so; nothing if the group is gone.
fn update<E>(group: &Group<E>, f: impl FnOnce(&mut Inner<E>) -> bool) {
    let Some(group) = group.upgrade() else {
        return;
    };
    let waker = {
        let Ok(mut inner) = group.try_borrow_mut() else {
            // Only reachable if a child ends while the group itself is being updated, which
            // the group never lets happen; never panic here, this may run while unwinding.
            return;
        };
        if f(&mut inner) {
            inner.waker.clone()
        } else {
            None
        }
    };
    if let Some(waker) = waker {
        waker.wake();
    }
}

/// Aborts the group at the loop's next turn, as asyncio's done callback of the failed task
/// does: siblings that finish in this same turn still report their outcome.
fn abort_soon<E: 'static>(group: Group<E>) {
    match crate::try_get_running_loop() {
        Ok(lp) => {
            lp.call_soon(move || {
                update(&group, |inner| {
                    inner.abort();
                    true
                })
            });
        }
        Err(_) => update(&group, |inner| {
            inner.abort();
            true
        }),
    }
}

/// Lives inside a child's future: hands the child's error, or its panic, to the group.
struct ChildGuard<E: 'static> {
    group: Group<E>,
    index: usize,
}

impl<E: 'static> ChildGuard<E> {
    fn fail(&self, error: E) {
        update(&self.group, |inner| {
            inner.errors.push(error);
            false
        });
        abort_soon(self.group.clone());
    }
}

impl<E: 'static> Drop for ChildGuard<E> {
    fn drop(&mut self) {
        // Dropped while unwinding: the child's future panicked (a cancelled or finished child
        // drops its future outside any panic).
        if std::thread::panicking() {
            let index = self.index;
            update(&self.group, |inner| {
                inner.panicked.get_or_insert(index);
                false
            });
            abort_soon(self.group.clone());
        }
    }
}

impl<E: 'static> TaskGroup<E> {
    /// Runs `body` with a new group (the body of `async with asyncio.TaskGroup() as tg:`), and
    /// waits until the body and every child have finished.
    ///
    /// The body returns `Result<R, E>`; an `Err` counts as a failure, as an exception leaving
    /// an `async with` block does.
    ///
    /// # Examples
    /// ```
    /// # asyncio::Runner::new().virtual_time(true).run(async {
    /// async fn work(n: u64, fail: bool) -> Result<u64, String> {
    ///     asyncio::sleep(n as f64).await;
    ///     if fail { Err(format!("task {n} failed")) } else { Ok(n) }
    /// }
    /// let slow = std::rc::Rc::new(std::cell::RefCell::new(None));
    /// let keep = slow.clone();
    /// let outcome = asyncio::TaskGroup::run(|tg| async move {
    ///     *keep.borrow_mut() = Some(tg.create_task(work(10, false)));
    ///     let _task = tg.create_task(work(1, true));
    ///     Ok(())
    /// })
    /// .await;
    /// let errors = outcome.unwrap_err();
    /// assert_eq!(errors.exceptions(), ["task 1 failed"]);
    /// // The failure cancelled the slow sibling at once.
    /// assert!(slow.borrow().as_ref().unwrap().cancelled());
    /// assert_eq!(asyncio::get_running_loop().time(), 1.0);
    /// # });
    /// ```
    pub fn run<B, Fut, R>(body: B) -> TaskGroupRun<Fut::IntoFuture, R, E>
    where
        B: FnOnce(TaskGroup<E>) -> Fut,
        Fut: IntoFuture<Output = Result<R, E>>,
    {
        let group = TaskGroup {
            inner: Rc::new(RefCell::new(Inner {
                children: Vec::new(),
                live: 0,
                errors: Vec::new(),
                panicked: None,
                aborting: false,
                finished: false,
                waker: None,
            })),
        };
        TaskGroupRun {
            body: Some(Box::pin(body(group.clone()).into_future())),
            output: None,
            group,
            done: false,
            scope: CancelScope::new(),
            parent_cancel_requested: false,
            reraise: None,
            passed_on: false,
        }
    }

    /// Starts `fut` as a child task of the group.
    ///
    /// Its `Ok` value is the task's output. Its `Err` goes to the group's [`ExceptionGroup`],
    /// cancels the other children and the body, and the failed task itself ends as cancelled
    /// (its error has moved into the group). Once the group is shutting down or finished, the
    /// task is created already cancelled and never runs (asyncio raises `RuntimeError`).
    ///
    /// # Panics
    /// Outside a running loop.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let out = asyncio::TaskGroup::run(|tg| async move {
    ///     let t = tg.create_task(async { Ok::<_, String>(5) });
    ///     Ok(t)
    /// })
    /// .await
    /// .unwrap();
    /// assert_eq!(out.await.unwrap(), 5);
    /// # });
    /// ```
    #[track_caller]
    pub fn create_task<F, T>(&self, fut: F) -> Task<T>
    where
        F: IntoFuture<Output = Result<T, E>> + 'static,
        T: 'static,
    {
        self.spawn_child(fut, false)
    }

    /// [`create_task`](TaskGroup::create_task) with eager start: the child runs at once up to
    /// its first suspension (see [`create_eager_task`](crate::create_eager_task)).
    ///
    /// # Panics
    /// Outside a running loop.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let r = asyncio::TaskGroup::run(|tg| async move {
    ///     let t = tg.create_eager_task(async { Ok::<_, String>(1) });
    ///     assert!(t.done()); // finished without a turn of the loop
    ///     Ok(t.result().unwrap())
    /// })
    /// .await;
    /// assert_eq!(r, Ok(1));
    /// # });
    /// ```
    #[track_caller]
    pub fn create_eager_task<F, T>(&self, fut: F) -> Task<T>
    where
        F: IntoFuture<Output = Result<T, E>> + 'static,
        T: 'static,
    {
        self.spawn_child(fut, true)
    }

    #[track_caller]
    fn spawn_child<F, T>(&self, fut: F, eager: bool) -> Task<T>
    where
        F: IntoFuture<Output = Result<T, E>> + 'static,
        T: 'static,
    {
        let (closed, failures_before) = {
            let inner = self.inner.borrow();
            (inner.aborting || inner.finished, inner.failures())
        };
        if closed {
            let task = crate::task::create_lazy_task(std::future::pending::<T>());
            task.cancel_with("TaskGroup is shutting down");
            return task;
        }
        // Reserve the child's index now: an eager child may create siblings in its first step.
        let index = {
            let mut inner = self.inner.borrow_mut();
            inner.live += 1;
            inner.children.push(None);
            inner.children.len() - 1
        };
        let guard = ChildGuard {
            group: Rc::downgrade(&self.inner),
            index,
        };
        // Converted here, not at the first poll: a builder is made into its future when the
        // task is created, as a Python coroutine object exists before its task runs.
        let fut = fut.into_future();
        // No borrow is held while spawning: an eager child runs (and may end) inside `spawn`.
        let child = async move {
            let guard = guard;
            match fut.await {
                Ok(value) => value,
                Err(error) => {
                    guard.fail(error);
                    // The group cancels this task with the others when it aborts.
                    std::future::pending().await
                }
            }
        };
        let task = if eager {
            crate::create_eager_task(child)
        } else {
            create_task(child)
        };
        // The group learns that a child ended from its done callback, a turn after, as
        // asyncio's `_on_task_done`: the run resumes when asyncio's `__aexit__` would.
        let group = Rc::downgrade(&self.inner);
        task.add_done_callback(move |_| {
            update(&group, |inner| {
                inner.live -= 1;
                inner.live == 0 || inner.aborting
            })
        });
        let live = Rc::downgrade(&self.inner);
        crate::task::call_graph::note_awaited_by(&task, live);
        let watched = task.clone();
        let mut inner = self.inner.borrow_mut();
        inner.children[index] = Some(Child {
            task: task.as_ref(),
            take_panic: Box::new(move || match watched.result() {
                Err(crate::TaskError::Panicked(p)) => Some(p),
                _ => None,
            }),
        });
        // An eager child that failed in its first step aborts the group now, as asyncio's
        // TaskGroup.create_task calls _on_task_done at once for a task done eagerly.
        if inner.failures() > failures_before {
            inner.abort();
        }
        drop(inner);
        task
    }
}

/// The future of [`TaskGroup::run`]: the body's value, or every failure.
///
/// # Cancel safety
/// Dropping it before it finishes drops the body and cancels every child still running,
/// without waiting for them. Cancelling the task that awaits it waits for them instead, as
/// asyncio's `__aexit__` does (see [`TaskGroup`]).
#[must_use = "futures do nothing unless awaited"]
pub struct TaskGroupRun<Fut, R, E: 'static> {
    body: Option<Pin<Box<Fut>>>,
    output: Option<R>,
    group: TaskGroup<E>,
    done: bool,
    /// The group is a catching scope of the task running the block (see `crate::catch_cancel`):
    /// a cancel of that task comes here, and the group waits for its children before it goes
    /// on up.
    scope: CancelScope,
    /// The group cancelled its task to stop a body with a catching scope inside (asyncio's
    /// `_parent_cancel_requested`).
    parent_cancel_requested: bool,
    /// A cancellation reached the group: raised again once the children have ended.
    reraise: Option<CancelledError>,
    passed_on: bool,
}

// The body is boxed and the output only stored: nothing here is pinned in place.
impl<Fut, R, E: 'static> Unpin for TaskGroupRun<Fut, R, E> {}

impl<Fut, R, E> Future for TaskGroupRun<Fut, R, E>
where
    Fut: Future<Output = Result<R, E>>,
    E: 'static,
{
    /// # Errors
    /// Every `Err` of the children and the body, in the order they came.
    type Output = Result<R, ExceptionGroup<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // Every field is Unpin (the body is boxed).
        let this = self.get_mut();
        if this.done && this.passed_on {
            // A cancellation went on up from here: nothing comes after it.
            return Poll::Pending;
        }
        assert!(!this.done, "TaskGroupRun polled after it finished");
        this.scope.enter();
        this.group.inner.borrow_mut().waker = Some(cx.waker().clone());
        if this.scope.innermost_delivery() {
            // The task was cancelled with no scope inside the body (or while the group waits
            // for its children): asyncio throws into the body, or into `__aexit__`'s wait.
            this.cancelled();
        }
        if let Some(body) = this.body.as_mut() {
            if !this.group.inner.borrow().aborting || this.parent_cancel_requested {
                // Polled with no borrow held: the body creates children.
                match body.as_mut().poll(cx) {
                    Poll::Pending if this.scope.delivery() => this.cancelled(),
                    Poll::Pending => {}
                    Poll::Ready(Ok(value)) => {
                        this.output = Some(value);
                        this.body = None;
                        this.take_back_parent_cancel();
                    }
                    Poll::Ready(Err(error)) => {
                        this.body = None;
                        this.take_back_parent_cancel();
                        let mut inner = this.group.inner.borrow_mut();
                        inner.errors.push(error);
                        inner.abort();
                    }
                }
            }
        }
        if this.body.is_some()
            && !this.parent_cancel_requested
            && this.group.inner.borrow().aborting
        {
            // A failure cancels the body too (asyncio cancels the task running the block):
            // with a catching scope inside, by cancelling the task, so that the scope sees it;
            // with none, by dropping the body, which nobody can tell apart.
            match this.scope.task().filter(|_| this.scope.has_inner()) {
                Some(task) => {
                    this.parent_cancel_requested = true;
                    task.cancel();
                }
                None => this.body = None,
            }
        }
        let mut inner = this.group.inner.borrow_mut();
        if this.body.is_some() || inner.live > 0 {
            return Poll::Pending;
        }
        inner.finished = true;
        inner.waker = None;
        this.done = true;
        if let Some(index) = inner.panicked {
            let payload = inner.children[index]
                .as_ref()
                .and_then(|c| (c.take_panic)());
            drop(inner);
            this.scope.exit();
            match payload {
                Some(p) => std::panic::resume_unwind(p.into_panic()),
                None => panic!("a TaskGroup child panicked"),
            }
        }
        if !inner.errors.is_empty() {
            // Errors have priority over a cancellation, as in asyncio.
            let errors = std::mem::take(&mut inner.errors);
            drop(inner);
            this.scope.exit();
            return Poll::Ready(Err(ExceptionGroup::new(errors)));
        }
        drop(inner);
        if let Some(error) = this.reraise.take() {
            // The children have ended: the cancellation goes on up.
            this.scope.raise_again(error);
            this.passed_on = true;
            return Poll::Pending;
        }
        this.scope.exit();
        Poll::Ready(Ok(this.output.take().expect("the body returned Ok")))
    }
}

impl<Fut, R, E: 'static> TaskGroupRun<Fut, R, E> {
    /// A cancellation reached the group, at its start or out of the body (from a catching
    /// scope inside that raised it again). The body goes, the children are cancelled, and
    /// unless it was the group's own cancel, it goes on up once they have ended (asyncio's
    /// `__aexit__`).
    fn cancelled(&mut self) {
        let error = self.scope.take();
        self.body = None;
        let ours = std::mem::take(&mut self.parent_cancel_requested)
            && self.scope.task().is_some_and(|t| t.uncancel() == 0);
        if !ours && self.reraise.is_none() {
            self.reraise = Some(error);
        }
        self.group.inner.borrow_mut().abort();
    }

    /// The body ended while the group's cancel of its task was out: take it back.
    fn take_back_parent_cancel(&mut self) {
        if std::mem::take(&mut self.parent_cancel_requested) {
            if let Some(task) = self.scope.task() {
                task.uncancel();
            }
        }
    }
}

impl<Fut, R, E: 'static> Drop for TaskGroupRun<Fut, R, E> {
    fn drop(&mut self) {
        self.body = None;
        self.take_back_parent_cancel();
        if self.done {
            return;
        }
        let Ok(mut inner) = self.group.inner.try_borrow_mut() else {
            return;
        };
        inner.finished = true;
        inner.abort();
        inner.waker = None;
    }
}

impl<E: 'static> fmt::Debug for TaskGroup<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Ok(inner) = self.inner.try_borrow() else {
            return f.write_str("TaskGroup { .. }");
        };
        f.debug_struct("TaskGroup")
            .field("tasks", &inner.children.len())
            .field("running", &inner.live)
            .field("errors", &inner.errors.len())
            .field("aborting", &inner.aborting)
            .field("finished", &inner.finished)
            .finish()
    }
}

impl<Fut, R, E: 'static> fmt::Debug for TaskGroupRun<Fut, R, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskGroupRun")
            .field("group", &self.group)
            .field("body_running", &self.body.is_some())
            .finish()
    }
}

//! asyncio's `Task.get_stack` and `Task.print_stack`: the chain a task waits along.
//!
//! A Python coroutine keeps its frames, so asyncio can list the lines a task is suspended at.
//! A Rust future is a state machine with no frames to walk, so what can be shown is what the
//! loop records: where each task was created, which task it awaits (by its handle, or through
//! `gather`, `wait`, `shield`, `as_completed` or a `TaskGroup`), and the primitive it is
//! parked on (`Queue.get`, `Lock.acquire`, ..., under `wait_for`/`timeout`). The lines inside
//! an `async fn` between those points cannot be shown.

use super::call_graph::{awaited, waiting_on};
use super::{Task, TaskRef};
use crate::runtime::TaskInfo;
use std::collections::HashSet;
use std::fmt::Write as _;

/// One link of a task's chain ([`TaskRef::get_stack`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StackFrame {
    /// The task, with its creation site.
    pub task: TaskInfo,
    /// The primitive it is parked on, named as in
    /// [`FutureCallGraph::waiting_on`](crate::FutureCallGraph::waiting_on).
    pub waiting_on: Option<String>,
    /// The tasks it waits on: the next frame is the first, followed when it is the only one.
    pub awaits: Vec<TaskInfo>,
}

impl TaskRef {
    /// The chain this task waits along, outermost first (asyncio's `Task.get_stack`): the task,
    /// the task it awaits, the one that one awaits, and so on down to the one parked on a
    /// primitive (or running, or waiting on something the loop cannot name). Where a task
    /// waits on several tasks at once (a `gather`), the chain stops at it and its frame lists
    /// them. A cycle ends the chain at the first task seen twice. Empty for a task that is done.
    ///
    /// Each frame is a task's creation site, not a line inside its future: a Rust future keeps
    /// no frames.
    ///
    /// # Panics
    /// Outside its loop's thread, as every look at a task's state.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let queue = asyncio::Queue::<u32>::new(0);
    /// let consumer = asyncio::create_task({
    ///     let queue = queue.clone();
    ///     async move { queue.get().await }
    /// })
    /// .with_name("consumer");
    /// let waiter = asyncio::create_task({
    ///     let consumer = consumer.clone();
    ///     async move { consumer.await }
    /// })
    /// .with_name("waiter");
    /// asyncio::sleep(0).await;
    /// let stack = waiter.as_ref().get_stack();
    /// assert_eq!(stack[0].task.name, "waiter");
    /// assert_eq!(stack[1].task.name, "consumer");
    /// assert_eq!(stack[1].waiting_on.as_deref(), Some("Queue.get"));
    /// queue.put_nowait(1).unwrap();
    /// # waiter.await.unwrap().unwrap().unwrap();
    /// # });
    /// ```
    pub fn get_stack(&self) -> Vec<StackFrame> {
        let mut frames = Vec::new();
        if self.done() {
            return frames;
        }
        let tasks = crate::all_tasks();
        let mut seen = HashSet::new();
        let mut next = Some(self.clone());
        while let Some(task) = next.take() {
            if !seen.insert(task.id()) {
                break;
            }
            let below = awaited(&task, &tasks);
            if let [only] = below.as_slice() {
                next = Some((*only).clone());
            }
            frames.push(StackFrame {
                task: TaskInfo::of(&task),
                waiting_on: waiting_on(&task),
                awaits: below.into_iter().map(TaskInfo::of).collect(),
            });
        }
        frames
    }

    /// Prints [`get_stack`](Self::get_stack) to standard output (asyncio's
    /// `Task.print_stack`), one line per task of the chain:
    ///
    /// ```text
    /// Stack for <Task name='waiter' created at src/main.rs:9:18> (most recent call last):
    ///   File 'src/main.rs', line 9, in Task(name='waiter', id=0x2)
    ///   File 'src/main.rs', line 5, in Task(name='consumer', id=0x1) awaiting Queue.get
    /// ```
    ///
    /// Only creation sites can be shown: a Rust future keeps no frames, so the line an
    /// `async fn` is suspended at is not known.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let task = asyncio::create_task(asyncio::sleep(1.0));
    /// asyncio::sleep(0).await;
    /// task.as_ref().print_stack();
    /// # task.cancel();
    /// # });
    /// ```
    pub fn print_stack(&self) {
        print!("{}", format_stack(self, &self.get_stack()));
    }
}

impl<T: 'static> Task<T> {
    /// See [`TaskRef::get_stack`].
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let task = asyncio::create_task(asyncio::sleep(1.0)).with_name("nap");
    /// asyncio::sleep(0).await;
    /// assert_eq!(task.get_stack()[0].waiting_on.as_deref(), Some("sleep"));
    /// # task.cancel();
    /// # });
    /// ```
    pub fn get_stack(&self) -> Vec<StackFrame> {
        self.as_ref().get_stack()
    }

    /// See [`TaskRef::print_stack`].
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let task = asyncio::create_task(asyncio::sleep(1.0));
    /// asyncio::sleep(0).await;
    /// task.print_stack();
    /// # task.cancel();
    /// # });
    /// ```
    pub fn print_stack(&self) {
        self.as_ref().print_stack()
    }
}

fn format_stack(task: &TaskRef, frames: &[StackFrame]) -> String {
    let mut out = String::new();
    let info = TaskInfo::of(task);
    if frames.is_empty() {
        let _ = writeln!(out, "No stack for {info}");
        return out;
    }
    let _ = writeln!(out, "Stack for {info} (most recent call last):");
    for frame in frames {
        let site = frame.task.location;
        let _ = write!(
            out,
            "  File '{}', line {}, in Task(name='{}', id={:#x})",
            site.file(),
            site.line(),
            frame.task.name,
            frame.task.id
        );
        if let Some(what) = &frame.waiting_on {
            let _ = write!(out, " awaiting {what}");
        }
        if frame.awaits.len() > 1 {
            let names: Vec<&str> = frame.awaits.iter().map(|t| t.name.as_str()).collect();
            let _ = write!(out, " awaiting {} tasks: {}", names.len(), names.join(", "));
        }
        out.push('\n');
    }
    out
}

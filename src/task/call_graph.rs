//! The async call graph (asyncio 3.14's `capture_call_graph`, `format_call_graph`,
//! `print_call_graph`): a task, the task it awaits, and the tasks that await it, up to the
//! top.
//!
//! The edges are the ones the loop records: a task awaiting another task's handle (the await
//! graph the loop keeps for cancellation), and a task waiting on tasks through a combinator
//! that watches them (`gather`, `wait`, `as_completed`, `shield`, a `TaskGroup`'s children),
//! an edge that lasts while the combinator waits. A Rust future keeps no frames, so a task's
//! call stack is the one place known of it: where it was created.

use super::{Task, TaskRef};
use crate::runtime::TaskInfo;
use std::any::Any;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::panic::Location;
use std::rc::Weak;

/// A task in the call graph (asyncio's `FutureCallGraph`).
///
/// # Examples
/// ```
/// # asyncio::run(async {
/// let child = asyncio::create_task(asyncio::sleep(0.01)).with_name("child");
/// asyncio::sleep(0).await;
/// let graph = asyncio::capture_call_graph(&child.as_ref());
/// assert_eq!(graph.task.name, "child");
/// assert!(graph.awaited_by.is_empty()); // nobody awaits it yet
/// # child.await.unwrap();
/// # });
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FutureCallGraph {
    /// The task.
    pub task: TaskInfo,
    /// What is known of its stack: where it was created.
    pub call_stack: Vec<&'static Location<'static>>,
    /// The task it is waiting on now, when it awaits a task's handle directly.
    pub awaiting: Option<TaskInfo>,
    /// The primitive it is parked on now, if it is: `"Queue.get"`, `"Lock.acquire"`,
    /// `"Event.wait"`, `"Condition.wait"`, `"Semaphore.acquire"`, `"Barrier.wait"`,
    /// `"Queue.put"`, `"Queue.join"`, `"Future"`, `"sleep"`, `"I/O read"`, `"I/O write"`
    /// (a socket, pipe or file descriptor), `"to_thread"` (an executor job), each wrapped as
    /// `wait_for(..)` or `timeout(..)` under a time limit (`"?"` inside for a wait the loop
    /// cannot name, such as a `run_coroutine_threadsafe` future's).
    pub waiting_on: Option<String>,
    /// The tasks waiting on it, each with those waiting on it in turn. A task already on the
    /// path (a cycle) appears once more with nothing under it.
    pub awaited_by: Vec<FutureCallGraph>,
}

/// The call graph of `task` on the running loop (asyncio 3.14's `capture_call_graph`).
///
/// # Examples
/// ```
/// # asyncio::run(async {
/// let leaf = asyncio::create_task(asyncio::sleep(0.05)).with_name("leaf");
/// let waiter = asyncio::create_task({
///     let leaf = leaf.clone();
///     async move { leaf.await.unwrap() }
/// })
/// .with_name("waiter");
/// asyncio::sleep(0).await;
/// let graph = asyncio::capture_call_graph(&leaf.as_ref());
/// assert_eq!(graph.awaited_by[0].task.name, "waiter");
/// # waiter.await.unwrap();
/// # });
/// ```
pub fn capture_call_graph(task: &TaskRef) -> FutureCallGraph {
    let tasks = crate::all_tasks();
    let mut path = HashSet::new();
    build(task, &tasks, &mut path)
}

fn build(task: &TaskRef, tasks: &[TaskRef], path: &mut HashSet<u64>) -> FutureCallGraph {
    let info = TaskInfo::of(task);
    let mut graph = FutureCallGraph {
        task: info,
        call_stack: vec![task.location()],
        awaiting: awaited_task(task, tasks).map(TaskInfo::of),
        waiting_on: waiting_on(task),
        awaited_by: Vec::new(),
    };
    if !path.insert(task.id()) {
        return graph;
    }
    for other in awaiters(task, tasks) {
        graph.awaited_by.push(build(other, tasks, path));
    }
    path.remove(&task.id());
    graph
}

/// The task `task` awaits by its handle, if it is pending among `tasks`.
pub(crate) fn awaited_task<'a>(task: &TaskRef, tasks: &'a [TaskRef]) -> Option<&'a TaskRef> {
    let key = task.common().awaiting();
    (key != 0)
        .then(|| tasks.iter().find(|t| t.slab_key() == key))
        .flatten()
}

/// The tasks among `tasks` that wait on `task`: by its handle, or through a combinator.
pub(crate) fn awaiters<'a>(task: &TaskRef, tasks: &'a [TaskRef]) -> Vec<&'a TaskRef> {
    let key = task.slab_key();
    let through_combinators = task.common().awaited_by();
    tasks
        .iter()
        .filter(|other| {
            other.id() != task.id()
                && (other.common().awaiting() == key || through_combinators.contains(&other.id()))
        })
        .collect()
}

/// The tasks among `tasks` that `task` waits on: the one it awaits by its handle, and those
/// it watches through a combinator.
pub(crate) fn awaited<'a>(task: &TaskRef, tasks: &'a [TaskRef]) -> Vec<&'a TaskRef> {
    let key = task.common().awaiting();
    let id = task.id();
    tasks
        .iter()
        .filter(|other| {
            other.id() != id
                && ((key != 0 && other.slab_key() == key)
                    || other.common().awaited_by().contains(&id))
        })
        .collect()
}

/// For each task among `tasks` that waits on others, the ids of those (as [`awaited`] gives
/// them), found in one pass: a snapshot of many tasks stays linear.
pub(crate) fn awaited_ids(tasks: &[TaskRef]) -> HashMap<u64, Vec<u64>> {
    let by_key: HashMap<u64, u64> = tasks.iter().map(|t| (t.slab_key(), t.id())).collect();
    let mut edges: HashMap<u64, Vec<u64>> = HashMap::new();
    for task in tasks {
        let key = task.common().awaiting();
        if let Some(&awaited) = by_key.get(&key).filter(|_| key != 0) {
            if awaited != task.id() {
                edges.entry(task.id()).or_default().push(awaited);
            }
        }
        for awaiter in task.common().awaited_by() {
            let list = edges.entry(awaiter).or_default();
            if awaiter != task.id() && !list.contains(&task.id()) {
                list.push(task.id());
            }
        }
    }
    edges
}

/// What `task` is parked on in its current step, named (see [`FutureCallGraph::waiting_on`]).
pub(crate) fn waiting_on(task: &TaskRef) -> Option<String> {
    super::waiting::describe(super::waiting::of(task))
}

/// The call graph of `task` as text, in asyncio 3.14's layout.
///
/// # Examples
/// ```
/// # asyncio::run(async {
/// let task = asyncio::create_task(asyncio::sleep(0.01)).with_name("alone");
/// let text = asyncio::format_call_graph(&task.as_ref());
/// assert!(text.starts_with(&format!("* Task(name='alone', id={:#x})\n  + Call stack:\n", task.id())));
/// # task.await.unwrap();
/// # });
/// ```
pub fn format_call_graph(task: &TaskRef) -> String {
    let mut out = String::new();
    render(&capture_call_graph(task), 0, &mut out);
    out.pop();
    out
}

/// Prints [`format_call_graph`] to standard output (asyncio 3.14's `print_call_graph`).
///
/// # Examples
/// ```
/// # asyncio::run(async {
/// let task = asyncio::create_task(asyncio::sleep(0.01));
/// asyncio::print_call_graph(&task.as_ref());
/// # task.await.unwrap();
/// # });
/// ```
pub fn print_call_graph(task: &TaskRef) {
    println!("{}", format_call_graph(task));
}

fn render(graph: &FutureCallGraph, level: usize, out: &mut String) {
    let indent = "    ".repeat(level);
    let task = &graph.task;
    let _ = writeln!(
        out,
        "{indent}* Task(name='{}', id={:#x})",
        task.name, task.id
    );
    let _ = writeln!(out, "{indent}  + Call stack:");
    for site in &graph.call_stack {
        let _ = writeln!(
            out,
            "{indent}  |   File '{}', line {}, in <task created here>",
            site.file(),
            site.line()
        );
    }
    if let Some(awaiting) = &graph.awaiting {
        let _ = writeln!(
            out,
            "{indent}  |   awaiting Task(name='{}', id={:#x})",
            awaiting.name, awaiting.id
        );
    }
    if let Some(what) = &graph.waiting_on {
        let _ = writeln!(out, "{indent}  |   awaiting {what}");
    }
    if !graph.awaited_by.is_empty() {
        let _ = writeln!(out, "{indent}  + Awaited by:");
        for parent in &graph.awaited_by {
            render(parent, level + 1, out);
        }
    }
}

/// Records that the running task waits on `child` while `live` is alive: the call graph's edge
/// for a combinator that watches tasks rather than awaiting their handles.
pub(crate) fn note_awaited_by<T: 'static>(child: &Task<T>, live: Weak<dyn Any>) {
    if let Some(current) = crate::current_task() {
        if current.id() != child.id() {
            child.as_ref().common().add_awaited_by(current.id(), live);
        }
    }
}

//! Running tasks together: `gather`, `shield`, `wait_for`, `timeout`, `wait`, `as_completed`,
//! `TaskGroup`, and eager start.
//!
//! # How they are built
//! Work that must run concurrently runs as tasks (`gather`, `shield`, `as_completed`,
//! `TaskGroup`), created when the combinator is called, as asyncio schedules them. Waiting on
//! many tasks goes through [`notify::Watch`]: one done callback per task records which task
//! finished, so each wake-up costs O(1) whatever the number of tasks, and the waiter resumes in
//! the same turn as asyncio's (checked against CPython in `tests/combinators_cpython_order.rs`).
//! Time limits
//! (`wait_for`, `timeout`, `wait`, `as_completed`) use [`deadline::Deadline`], a timer at an
//! absolute loop time in the loop's wheel.
//!
//! In Rust, cancelling an await is dropping it. So a combinator that made tasks cancels the
//! unfinished ones when it is dropped before finishing, and `wait_for`/`timeout` drop the inner
//! future before they return `TimeoutError`. Tasks the caller made and passed in (`wait`) are
//! the caller's: nothing here cancels them.

mod as_completed;
pub(crate) mod deadline;
mod eager;
mod exception_group;
mod gather;
mod gather_tuple;
mod notify;
mod shield;
mod task_group;
mod timeout;
mod try_gather;
mod wait;
mod wait_for;

pub use as_completed::{AsCompleted, NextCompleted, NextTask, as_completed};
pub use deadline::IntoTimeout;
pub use eager::{TaskFactory, create_eager_task};
pub use exception_group::ExceptionGroup;
pub use gather::{Gather, gather, gather_tasks};
pub use gather_tuple::{GatherTuple, TaskTuple};
pub use shield::{Shield, shield};
pub use task_group::{TaskGroup, TaskGroupRun};
pub use timeout::{Timeout, WithTimeout, timeout, timeout_at};
pub use try_gather::{TryGather, try_gather};
pub use wait::{
    ALL_COMPLETED, FIRST_COMPLETED, FIRST_EXCEPTION, ReturnWhen, Wait, WaitFuture, wait,
};
pub use wait_for::{WaitFor, wait_for};

//! Seeing inside a live process: the endpoint that `asyncio-ps PID` and
//! `asyncio-ps --tree PID` read (Python's `python -m asyncio ps|pstree PID`).
//!
//! A process opts in: in debug mode (`Runner::debug(true)`, `set_debug(true)`,
//! `ASYNCIO_DEBUG=1`) or by calling [`serve`]. Its loops then answer on a Unix socket named
//! after the process's id, [`socket_path`]: `$XDG_RUNTIME_DIR/asyncio-PID.sock`, or
//! `/tmp/asyncio-PID.sock` without that variable, with mode 0600 so that only its user can
//! connect. A helper thread accepts; for each request it asks every loop, through the loop's
//! cross-thread door, for a snapshot of its tasks, and a loop answers between two steps. A loop
//! stuck in a step does not answer within a second and is reported so. The socket file is
//! removed when the last loop serving it ends.
//!
//! Each task is shown with its loop thread, id, name, state, what it is parked on (as in
//! [`FutureCallGraph::waiting_on`](crate::FutureCallGraph::waiting_on)), age (since its first
//! step), polls and busy time (both measured from when its loop began serving), and
//! the tasks it waits on, which give the await tree.
//!
//! # Wire format
//! A client connects, writes `ps\n`, and reads lines to the end, fields separated by tabs
//! (a tab, newline or backslash inside a field is written `\t`, `\n`, `\\`):
//!
//! ```text
//! asyncio-ps 1
//! loop    LOOP  THREAD
//! task    LOOP  ID  NAME  STATE  WAITING_ON|-  AGE_S|-  POLLS  BUSY_S|-  SITE  AWAITED_IDS
//! silent  LOOP  THREAD
//! end
//! ```
//!
//! `AWAITED_IDS` lists, comma-separated, the ids of the tasks this one waits on; `silent` is a
//! loop that did not answer.

mod endpoint;
mod snapshot;

pub(crate) use endpoint::{join, leave, serving_all};
pub use endpoint::{serve, socket_path};

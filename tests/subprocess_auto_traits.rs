//! Which subprocess and signal types cross threads: checked at compile time. A `Command` can
//! be built anywhere and sent to a loop; a started `Process`, with pipes registered in one
//! loop's reactor, belongs to that loop, as `CtrlC` does.
#![allow(dead_code)]

#[macro_use]
#[path = "support/auto_traits.rs"]
mod auto_traits;
use asyncio::signal::CtrlC;
use asyncio::subprocess::{Command, Process, Spawn, Stdio};
use auto_traits::{is_send, is_sync};

#[test]
fn builders_are_send() {
    is_send::<Command>();
    is_send::<Spawn>();
    is_send::<Stdio>();
    is_sync::<Stdio>();
}

#[test]
fn loop_bound_objects_are_not_send() {
    assert_not_send!(Process);
    assert_not_send!(CtrlC);
}

//! Which subprocess and signal types cross threads: checked at compile time. A `Command` can
//! be built anywhere and sent to a loop; a started `Process`, with pipes registered in one
//! loop's reactor, belongs to that loop, as `CtrlC` does.
#![allow(dead_code)]

use asyncio::signal::CtrlC;
use asyncio::subprocess::{Command, Process, Spawn, Stdio};

fn is_send<T: Send>() {}
fn is_sync<T: Sync>() {}

/// Compiles only if `T` is not `Send`: with a `Send` type both impls apply and inference fails.
trait AmbiguousIfSend<A> {
    fn some_item() {}
}
impl<T: ?Sized> AmbiguousIfSend<()> for T {}
impl<T: ?Sized + Send> AmbiguousIfSend<u8> for T {}

macro_rules! assert_not_send {
    ($t:ty) => {
        let _ = <$t as AmbiguousIfSend<_>>::some_item;
    };
}

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

//! Readiness over mio: sources registered with the loop's poller, and the tasks waiting on
//! them. (The loop hands every I/O event here; sockets and pipes build on it.)

/// The loop's table of I/O sources. Lives in the loop's core; touched on the loop thread only.
pub(crate) struct Reactor {}

impl Reactor {
    pub(crate) fn new() -> Self {
        Reactor {}
    }

    /// Delivers one readiness event from the poller to whoever waits on its token.
    pub(crate) fn dispatch(&self, event: &mio::event::Event) {
        let _ = event;
    }
}

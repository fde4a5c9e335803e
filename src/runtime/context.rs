//! Which loop, and which task, are running on this thread.

use super::core::Core;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

thread_local! {
    static CORE: RefCell<Option<Rc<Core>>> = const { RefCell::new(None) };
    /// The running loop's id, or 0: read on every wake to choose the local path.
    static LOOP_ID: Cell<usize> = const { Cell::new(0) };
}

/// The running loop's id on this thread, 0 when none runs.
pub(crate) fn current_loop_id() -> usize {
    LOOP_ID.try_with(Cell::get).unwrap_or(0)
}

/// The core of the loop running on this thread.
pub(crate) fn current_core() -> Option<Rc<Core>> {
    CORE.try_with(|c| c.borrow().clone()).ok().flatten()
}

/// Calls `f` with the running loop's core, if there is one, without cloning the `Rc`.
pub(crate) fn with_core<R>(f: impl FnOnce(&Core) -> R) -> Option<R> {
    CORE.try_with(|c| c.borrow().as_deref().map(f))
        .ok()
        .flatten()
}

/// Marks `core` as running on this thread until the guard drops.
pub(crate) struct Enter {
    prev: Option<Rc<Core>>,
    prev_id: usize,
}

impl Enter {
    pub(crate) fn new(core: &Rc<Core>) -> Enter {
        let prev = CORE.with(|c| c.borrow_mut().replace(core.clone()));
        let prev_id = LOOP_ID.with(|id| id.replace(core.shared.id));
        Enter { prev, prev_id }
    }
}

impl Drop for Enter {
    fn drop(&mut self) {
        let prev = self.prev.take();
        let _ = CORE.try_with(|c| *c.borrow_mut() = prev);
        let _ = LOOP_ID.try_with(|id| id.set(self.prev_id));
    }
}

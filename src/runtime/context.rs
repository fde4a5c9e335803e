//! Which loop, and which task, are running on this thread.

use super::core::Core;
use std::cell::RefCell;
use std::rc::Rc;

thread_local! {
    static CORE: RefCell<Option<Rc<Core>>> = const { RefCell::new(None) };
}

/// The running loop's id on this thread, 0 when none runs.
pub(crate) fn current_loop_id() -> usize {
    with_core(|core| core.shared.id).unwrap_or(0)
}

/// Calls `f` with the running loop's core if it is the loop `loop_id`: one thread-local
/// access, as every wake pays it.
pub(crate) fn with_core_of<R>(loop_id: usize, f: impl FnOnce(&Core) -> R) -> Option<R> {
    CORE.try_with(|c| match &*c.borrow() {
        Some(core) if core.shared.id == loop_id => Some(f(core)),
        _ => None,
    })
    .ok()
    .flatten()
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
}

impl Enter {
    pub(crate) fn new(core: &Rc<Core>) -> Enter {
        let prev = CORE.with(|c| c.borrow_mut().replace(core.clone()));
        Enter { prev }
    }
}

impl Drop for Enter {
    fn drop(&mut self) {
        let prev = self.prev.take();
        let _ = CORE.try_with(|c| *c.borrow_mut() = prev);
    }
}

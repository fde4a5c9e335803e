//! Which loop, and which task, are running on this thread.

use super::core::Core;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

thread_local! {
    static CORE: RefCell<Option<Rc<Core>>> = const { RefCell::new(None) };
    /// The same core as a plain pointer (null when none runs): every wake looks it up, and a
    /// `Cell` of a pointer needs no lazy initialisation, destructor check or borrow flag.
    static CURRENT: Cell<*const Core> = const { Cell::new(std::ptr::null()) };
}

/// The running loop's core, borrowed for the duration of `f`.
#[inline]
fn with_current<R>(f: impl FnOnce(Option<&Core>) -> R) -> R {
    let ptr = CURRENT.with(Cell::get);
    // SAFETY: `CURRENT` is non-null only while an `Enter` guard is alive on this thread, and
    // that guard's `Rc` (in `CORE`) keeps the core alive; a nested `Enter` keeps the outer
    // core in its `prev` and puts its pointer back when it drops. `f` cannot drop the guard,
    // which lives in a caller's frame.
    f(unsafe { ptr.as_ref() })
}

/// The running loop's id on this thread, 0 when none runs.
pub(crate) fn current_loop_id() -> usize {
    with_core(|core| core.shared.id).unwrap_or(0)
}

/// Calls `f` with the running loop's core if it is the loop `loop_id`: one thread-local
/// access, as every wake pays it.
#[inline]
pub(crate) fn with_core_of<R>(loop_id: usize, f: impl FnOnce(&Core) -> R) -> Option<R> {
    with_current(|core| match core {
        Some(core) if core.shared.id == loop_id => Some(f(core)),
        _ => None,
    })
}

/// Whether `core` is the running loop's core: a pointer compare, with no dereference.
#[inline]
pub(crate) fn is_current(core: *const Core) -> bool {
    CURRENT.with(Cell::get) == core
}

/// The core of the loop running on this thread.
pub(crate) fn current_core() -> Option<Rc<Core>> {
    CORE.try_with(|c| c.borrow().clone()).ok().flatten()
}

/// Calls `f` with the running loop's core, if there is one, without cloning the `Rc`.
#[inline]
pub(crate) fn with_core<R>(f: impl FnOnce(&Core) -> R) -> Option<R> {
    with_current(|core| core.map(f))
}

/// Marks `core` as running on this thread until the guard drops.
pub(crate) struct Enter {
    prev: Option<Rc<Core>>,
    /// The thread's context variables outside the loop: the loop's own machinery runs in none.
    outer_context: Option<Option<crate::contextvars::Context>>,
}

impl Enter {
    pub(crate) fn new(core: &Rc<Core>) -> Enter {
        let prev = CORE.with(|c| c.borrow_mut().replace(core.clone()));
        CURRENT.with(|p| p.set(Rc::as_ptr(core)));
        let outer_context = Some(crate::contextvars::enter(None));
        Enter {
            prev,
            outer_context,
        }
    }
}

impl Drop for Enter {
    fn drop(&mut self) {
        if let Some(outer) = self.outer_context.take() {
            drop(crate::contextvars::leave(outer));
        }
        let mut prev = Some(self.prev.take());
        let ptr = prev
            .as_ref()
            .and_then(Option::as_ref)
            .map_or(std::ptr::null(), Rc::as_ptr);
        // The pointer is set with the `Rc` that keeps it valid in place (wakes made while the
        // inner core drops see the outer one); if `CORE` is gone already, it is cleared
        // before `prev` drops.
        let restored = CORE.try_with(|c| {
            CURRENT.with(|p| p.set(ptr));
            *c.borrow_mut() = prev.take().flatten();
        });
        if restored.is_err() {
            CURRENT.with(|p| p.set(std::ptr::null()));
        }
        drop(prev);
    }
}

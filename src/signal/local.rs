//! The per-loop half of signal handling: each loop's callbacks, `ctrl_c` waiters and the
//! runner's Ctrl-C hook, kept on the loop's thread (they are not `Send`).
//!
//! `deliver` runs on the loop's thread as a `call_soon_threadsafe` callback sent by the
//! dispatcher thread. For `SIGINT`, the runner's hook (cancel the main task) runs only when
//! the loop has no handler and no `ctrl_c` waiter for it: code that asks for Ctrl-C gets it.
//!
//! Borrows of the table never span a call into user code (a callback, a waker, a drop).

use super::{global, interrupt};
use crate::runtime::LoopHandle;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::io;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::task::Waker;

type Callback = Rc<RefCell<Box<dyn FnMut()>>>;

#[derive(Default)]
struct LoopSignals {
    handlers: HashMap<i32, Callback>,
    waiters: HashMap<i32, Vec<Rc<Slot>>>,
    interrupt: Option<Rc<dyn Fn()>>,
    /// A hidden task whose drop, when the loop closes, removes the loop's handlers (asyncio's
    /// `loop.close()` removes them too). Made with the first handler.
    has_closer: bool,
}

thread_local! {
    /// Loop id → its signal state.
    static LOOPS: RefCell<HashMap<usize, LoopSignals>> = RefCell::new(HashMap::new());
}

impl LoopSignals {
    fn is_empty(&self) -> bool {
        self.handlers.is_empty()
            && self.waiters.is_empty()
            && self.interrupt.is_none()
            && !self.has_closer
    }
}

/// Runs `f` on loop `id`'s entry; an entry left empty is removed. `f` must not call user code.
fn with<R>(id: usize, f: impl FnOnce(&mut LoopSignals) -> R) -> R {
    LOOPS.with(|t| {
        let mut t = t.borrow_mut();
        let ls = t.entry(id).or_default();
        let r = f(ls);
        if ls.is_empty() {
            t.remove(&id);
        }
        r
    })
}

/// Registers a listener of the user (a handler or a waiter); for `SIGINT` the count tells the
/// runner's Ctrl-C handling that someone else takes the signal.
fn acquire(sig: i32, lp: &LoopHandle) -> io::Result<()> {
    global::acquire(sig, lp)?;
    if sig == libc::SIGINT {
        interrupt::USER_LISTENERS.fetch_add(1, Ordering::SeqCst);
    }
    Ok(())
}

fn release(sig: i32, id: usize) {
    if sig == libc::SIGINT {
        interrupt::USER_LISTENERS.fetch_sub(1, Ordering::SeqCst);
    }
    global::release(sig, id);
}

/// One waiting `ctrl_c` (or any one-shot signal future).
#[derive(Default)]
pub(crate) struct Slot {
    pub(crate) fired: Cell<bool>,
    pub(crate) waker: RefCell<Option<Waker>>,
}

impl Slot {
    fn fire(&self) {
        self.fired.set(true);
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }
}

pub(crate) fn add_handler(lp: &LoopHandle, sig: i32, f: Box<dyn FnMut()>) -> io::Result<()> {
    global::check(sig)?;
    let id = lp.shared.id;
    let existed = with(id, |ls| ls.handlers.contains_key(&sig));
    if !existed {
        acquire(sig, lp)?;
    }
    let (old, need_closer) = with(id, |ls| {
        let old = ls.handlers.insert(sig, Rc::new(RefCell::new(f)));
        (old, !std::mem::replace(&mut ls.has_closer, true))
    });
    drop(old);
    if need_closer {
        drop(crate::task::create_lazy_task(closer(id)).with_name("signal handlers of the loop"));
    }
    Ok(())
}

pub(crate) fn remove_handler(id: usize, sig: i32) -> bool {
    let old = with(id, |ls| ls.handlers.remove(&sig));
    let removed = old.is_some();
    drop(old);
    if removed {
        release(sig, id);
    }
    removed
}

/// Removes every handler of loop `.0` when dropped.
struct Closer(usize);

impl Drop for Closer {
    fn drop(&mut self) {
        let handlers = with(self.0, |ls| {
            ls.has_closer = false;
            std::mem::take(&mut ls.handlers)
        });
        for sig in handlers.keys() {
            release(*sig, self.0);
        }
        drop(handlers);
    }
}

/// A task body that never ends; its drop (the loop closing) removes the loop's handlers. The
/// guard is made before the first poll: a task cancelled before it ran drops it too.
fn closer(id: usize) -> impl std::future::Future<Output = ()> {
    let closer = Closer(id);
    async move {
        let _closer = closer;
        std::future::pending::<()>().await;
    }
}

pub(crate) fn add_waiter(lp: &LoopHandle, sig: i32) -> io::Result<Rc<Slot>> {
    acquire(sig, lp)?;
    let slot = Rc::new(Slot::default());
    with(lp.shared.id, |ls| {
        ls.waiters.entry(sig).or_default().push(slot.clone())
    });
    Ok(slot)
}

pub(crate) fn remove_waiter(id: usize, sig: i32, slot: &Rc<Slot>) {
    with(id, |ls| {
        if let Some(list) = ls.waiters.get_mut(&sig) {
            list.retain(|s| !Rc::ptr_eq(s, slot));
            if list.is_empty() {
                ls.waiters.remove(&sig);
            }
        }
    });
    release(sig, id);
}

pub(crate) fn set_interrupt(id: usize, hook: Option<Rc<dyn Fn()>>) {
    let old = with(id, |ls| std::mem::replace(&mut ls.interrupt, hook));
    drop(old);
}

/// Signal `sig` arrived for loop `id`: run what this loop registered for it.
pub(crate) fn deliver(sig: i32, id: usize) {
    let (handler, slots, hook) = with(id, |ls| {
        (
            ls.handlers.get(&sig).cloned(),
            ls.waiters.get(&sig).cloned().unwrap_or_default(),
            ls.interrupt.clone(),
        )
    });
    for slot in &slots {
        slot.fire();
    }
    match handler {
        Some(h) => (h.borrow_mut())(),
        None if slots.is_empty() && sig == libc::SIGINT => {
            if let Some(hook) = hook {
                hook();
            }
        }
        None => {}
    }
}

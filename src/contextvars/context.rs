//! `Context`: the mapping of context variables to values that code runs in, and the thread's
//! current one.
//!
//! A context's values sit in one shared, copy-on-write vector: `copy_context` is a reference
//! count, and the first `set` after a copy clones the vector (contexts hold a handful of
//! variables, so a vector beats a tree). The thread's current context is `None` until some
//! code enters one or sets a variable, which is what keeps tasks that never use context
//! variables at the cost of one thread-local read per step.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;
use std::sync::Arc;

/// A variable's value, shared between contexts that copied it.
pub(super) type Value = Arc<dyn Any + Send + Sync>;

/// The variables of one context, by variable id.
pub(super) type Vars = Arc<Vec<(usize, Value)>>;

thread_local! {
    /// The context code on this thread runs in; `None` is the empty one nobody entered.
    static CURRENT: Cell<Option<Context>> = const { Cell::new(None) };
    /// Whether `CURRENT` is `Some`: a plain flag, cheaper to read than a cell whose value
    /// has a destructor, for the paths that find it unset nearly always.
    static ENTERED: Cell<bool> = const { Cell::new(false) };
}

/// Whether some context is current on this thread.
#[inline]
pub(crate) fn entered() -> bool {
    ENTERED.with(Cell::get)
}

/// A mapping of context variables to their values (Python's `contextvars.Context`).
///
/// Each task runs in its own context, copied from its creator's by
/// [`create_task`](crate::create_task) (or the one given by
/// [`Task::with_context`](crate::Task::with_context)); callbacks of `call_soon` and
/// `call_later` run in a copy of their scheduler's. A clone of a `Context` is the same
/// context (as a second Python reference to one object is); [`copy_context`] makes a new one.
///
/// # Examples
/// ```
/// use asyncio::contextvars::{copy_context, ContextVar};
///
/// static USER: ContextVar<&str> = ContextVar::new("user");
///
/// let ctx = copy_context();
/// ctx.run(|| USER.set("ada"));
/// assert_eq!(ctx.get(&USER), Some("ada"));
/// assert_eq!(USER.get(), None); // the set stayed inside `ctx`
/// ```
#[derive(Clone)]
pub struct Context(Rc<Inner>);

struct Inner {
    vars: RefCell<Vars>,
    entered: Cell<bool>,
}

impl Context {
    /// An empty context (Python's `Context()`).
    ///
    /// # Examples
    /// ```
    /// let ctx = asyncio::contextvars::Context::new();
    /// assert!(ctx.is_empty());
    /// ```
    pub fn new() -> Context {
        Context::with_vars(Vars::default())
    }

    fn with_vars(vars: Vars) -> Context {
        Context(Rc::new(Inner {
            vars: RefCell::new(vars),
            entered: Cell::new(false),
        }))
    }

    /// A new context with this one's values (Python's `Context.copy()`).
    ///
    /// # Examples
    /// ```
    /// use asyncio::contextvars::{Context, ContextVar};
    ///
    /// static N: ContextVar<u32> = ContextVar::new("n");
    /// let a = Context::new();
    /// a.run(|| N.set(1));
    /// let b = a.copy();
    /// b.run(|| N.set(2));
    /// assert_eq!((a.get(&N), b.get(&N)), (Some(1), Some(2)));
    /// ```
    pub fn copy(&self) -> Context {
        Context::with_vars(self.0.vars.borrow().clone())
    }

    /// Calls `f` with this context entered: variables read and set inside `f` are this
    /// context's (Python's `Context.run`).
    ///
    /// # Panics
    /// If this context is entered already, on this thread, further up the stack (Python's
    /// `RuntimeError: cannot enter context: ... is already entered`).
    ///
    /// # Examples
    /// ```
    /// use asyncio::contextvars::{Context, ContextVar};
    ///
    /// static ID: ContextVar<u64> = ContextVar::new("id");
    /// let ctx = Context::new();
    /// let seen = ctx.run(|| {
    ///     ID.set(7);
    ///     ID.get()
    /// });
    /// assert_eq!(seen, Some(7));
    /// assert_eq!(ID.get(), None);
    /// ```
    pub fn run<R>(&self, f: impl FnOnce() -> R) -> R {
        assert!(
            !self.0.entered.get(),
            "cannot enter context: {self:?} is already entered"
        );
        let _leave = Leave(Some(enter(Some(self.clone()))));
        f()
    }

    /// This context's value of `var`, or `var`'s default (Python's `ctx.get(var)`).
    ///
    /// # Examples
    /// ```
    /// use asyncio::contextvars::{Context, ContextVar};
    ///
    /// static DEPTH: ContextVar<u32> = ContextVar::with_default("depth", || 0);
    /// assert_eq!(Context::new().get(&DEPTH), Some(0));
    /// ```
    pub fn get<T: Clone + Send + Sync + 'static>(&self, var: &super::ContextVar<T>) -> Option<T> {
        var.get_in(self)
    }

    /// Whether `var` has a value of its own in this context (Python's `var in ctx`); a default
    /// does not count.
    ///
    /// # Examples
    /// ```
    /// use asyncio::contextvars::{copy_context, ContextVar};
    ///
    /// static FLAG: ContextVar<bool> = ContextVar::new("flag");
    /// let ctx = copy_context();
    /// assert!(!ctx.contains(&FLAG));
    /// ctx.run(|| FLAG.set(true));
    /// assert!(ctx.contains(&FLAG));
    /// ```
    pub fn contains<T: Clone + Send + Sync + 'static>(&self, var: &super::ContextVar<T>) -> bool {
        self.lookup(var.id()).is_some()
    }

    /// How many variables have a value in this context (Python's `len(ctx)`).
    ///
    /// # Examples
    /// ```
    /// assert_eq!(asyncio::contextvars::Context::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.0.vars.borrow().len()
    }

    /// Whether no variable has a value in this context.
    ///
    /// # Examples
    /// ```
    /// assert!(asyncio::contextvars::copy_context().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(super) fn lookup(&self, id: usize) -> Option<Value> {
        let vars = self.0.vars.borrow();
        vars.iter().find(|(k, _)| *k == id).map(|(_, v)| v.clone())
    }

    /// Sets or (with `None`) removes a variable; returns its value before.
    pub(super) fn store(&self, id: usize, value: Option<Value>) -> Option<Value> {
        let mut vars = self.0.vars.borrow_mut();
        let vars = Arc::make_mut(&mut vars);
        let at = vars.iter().position(|(k, _)| *k == id);
        match (at, value) {
            (Some(i), Some(v)) => Some(std::mem::replace(&mut vars[i].1, v)),
            (Some(i), None) => Some(vars.swap_remove(i).1),
            (None, Some(v)) => {
                vars.push((id, v));
                None
            }
            (None, None) => None,
        }
    }

    pub(super) fn same(&self, other: &Context) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }

    /// A new context, on this thread, with the values of a [`snapshot`].
    pub(crate) fn from_snapshot(vars: Snapshot) -> Context {
        Context::with_vars(vars.0)
    }
}

impl Default for Context {
    fn default() -> Self {
        Context::new()
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "<Context at {:p} with {} vars>",
            Rc::as_ptr(&self.0),
            self.len()
        )
    }
}

/// A copy of the current context (Python's `contextvars.copy_context()`).
///
/// # Examples
/// ```
/// use asyncio::contextvars::{copy_context, ContextVar};
///
/// static REQUEST_ID: ContextVar<u64> = ContextVar::new("request_id");
/// let token = REQUEST_ID.set(7);
/// let ctx = copy_context();
/// REQUEST_ID.reset(token).unwrap();
/// assert_eq!((ctx.get(&REQUEST_ID), REQUEST_ID.get()), (Some(7), None));
/// ```
pub fn copy_context() -> Context {
    match current() {
        Some(ctx) => ctx.copy(),
        None => Context::new(),
    }
}

/// The current context's values, to carry to another thread.
pub(crate) struct Snapshot(Vars);

/// The current context's values, if any, for a call on another thread.
pub(crate) fn snapshot() -> Option<Snapshot> {
    current().map(|ctx| Snapshot(ctx.0.vars.borrow().clone()))
}

/// The current context, if code entered one or set a variable.
pub(super) fn current() -> Option<Context> {
    if !entered() {
        return None;
    }
    CURRENT.with(|c| {
        let ctx = c.take();
        c.set(ctx.clone());
        ctx
    })
}

/// The current context, made (empty) and entered for the rest of the current step if there
/// is none: a first `set` outside any context.
pub(super) fn current_or_enter() -> Context {
    current().unwrap_or_else(|| {
        let ctx = crate::runtime::context::with_core(|core| core.note_context_made())
            .flatten()
            .unwrap_or_default();
        ctx.0.entered.set(true);
        CURRENT.with(|c| c.set(Some(ctx.clone())));
        ENTERED.with(|e| e.set(true));
        ctx
    })
}

/// What a new task or callback runs in: a copy of the current context, or `None` (an empty
/// one, made when first needed) when nothing is current, which is free.
#[inline]
pub(crate) fn capture() -> Option<Context> {
    if !entered() {
        return None;
    }
    copy_current()
}

/// A copy of an empty context is as good as none, and none costs a task nothing.
#[inline(never)]
fn copy_current() -> Option<Context> {
    current()
        .filter(|ctx| !ctx.is_empty())
        .map(|ctx| ctx.copy())
}

/// Makes `ctx` current, returning what was; the step's end gives it back to [`leave`].
#[inline]
pub(crate) fn enter(ctx: Option<Context>) -> Option<Context> {
    if let Some(ctx) = &ctx {
        ctx.0.entered.set(true);
    }
    ENTERED.with(|e| e.set(ctx.is_some()));
    CURRENT.with(|c| c.replace(ctx))
}

/// Restores `outer` as current and returns the context the step ran in (made by a `set` if
/// the step had none).
#[inline]
pub(crate) fn leave(outer: Option<Context>) -> Option<Context> {
    ENTERED.with(|e| e.set(outer.is_some()));
    let ran_in = CURRENT.with(|c| c.replace(outer));
    if let Some(ctx) = &ran_in {
        ctx.0.entered.set(false);
    }
    ran_in
}

/// Runs `callback` in `ctx` (its own copy, or the empty context), leaving the thread's
/// current context as it found it.
pub(crate) fn bind(ctx: Option<Context>, callback: impl FnOnce() + 'static) -> impl FnOnce() {
    move || {
        let outer = enter(ctx);
        let _leave = Leave(Some(outer));
        callback();
    }
}

/// Leaves on drop, so that a panic does not strand a context as current.
struct Leave(Option<Option<Context>>);

impl Drop for Leave {
    fn drop(&mut self) {
        if let Some(outer) = self.0.take() {
            leave(outer);
        }
    }
}

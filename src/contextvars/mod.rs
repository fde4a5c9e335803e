//! Context variables (Python's `contextvars`): values that follow the flow of a program
//! through tasks and callbacks, as a request id or a tracing context should.
//!
//! ```
//! use asyncio::contextvars::ContextVar;
//!
//! static REQUEST_ID: ContextVar<u64> = ContextVar::new("request_id");
//!
//! async fn handle(id: u64) {
//!     REQUEST_ID.set(id);
//!     asyncio::sleep(0.01).await;
//!     log_line("done").await; // any task or callback started from here sees the id
//! }
//!
//! async fn log_line(what: &str) {
//!     let id = asyncio::create_task(async { REQUEST_ID.get() }).await.unwrap();
//!     println!("[{}] {what}", id.unwrap());
//! }
//!
//! # asyncio::Runner::new().virtual_time(true).run(async {
//! asyncio::gather!(handle(1), handle(2)).await;
//! # });
//! ```
//!
//! As in asyncio, [`create_task`](crate::create_task) runs the new task in a copy of the
//! current context ([`Task::with_context`](crate::Task::with_context) gives another), and
//! `call_soon`, `call_later` and `call_at` run their callback in a copy of the context they
//! were called in ([`LoopHandle::call_soon_in_context`](crate::LoopHandle::call_soon_in_context)
//! and its siblings give another). A variable set inside a task is seen by the tasks and
//! callbacks it starts afterwards, never by its parent. [`to_thread`](crate::to_thread)
//! carries a copy of the context to the worker thread, as asyncio's does; `run_in_executor`
//! does not, as asyncio's does not.
//!
//! What differs from Python: values are Rust values of one type per variable, `Clone + Send +
//! Sync` (so that a copy can reach a worker thread), and `get` clones the value out.
//! `call_soon_threadsafe`'s callback runs in an empty context.
//!
//! Cheap when unused: a task whose creator never set a variable carries no context, and each
//! of its steps costs one thread-local read and write.

mod context;

pub use context::{Context, copy_context};
pub(crate) use context::{bind, capture, enter, entered, leave, snapshot};

use context::Value;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A context variable (Python's `contextvars.ContextVar`): one value per [`Context`].
///
/// Usually a `static`. `T` is cloned out by [`get`](ContextVar::get); put an `Arc` in it for a
/// value that is costly to clone.
///
/// # Examples
/// ```
/// use asyncio::contextvars::ContextVar;
///
/// static REQUEST_ID: ContextVar<u64> = ContextVar::new("request_id");
///
/// # asyncio::run(async {
/// let token = REQUEST_ID.set(7);
/// let seen = asyncio::create_task(async { REQUEST_ID.get() }).await.unwrap();
/// assert_eq!(seen, Some(7));
/// REQUEST_ID.reset(token).unwrap();
/// assert_eq!(REQUEST_ID.get(), None);
/// # });
/// ```
pub struct ContextVar<T> {
    name: &'static str,
    default: Option<fn() -> T>,
    /// Given on first use; 0 until then.
    id: AtomicUsize,
    _value: PhantomData<fn() -> T>,
}

static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

impl<T: Clone + Send + Sync + 'static> ContextVar<T> {
    /// A variable with no default: [`get`](ContextVar::get) gives `None` where it is not set.
    ///
    /// # Examples
    /// ```
    /// static USER: asyncio::contextvars::ContextVar<String> =
    ///     asyncio::contextvars::ContextVar::new("user");
    /// assert_eq!(USER.get(), None);
    /// ```
    pub const fn new(name: &'static str) -> Self {
        ContextVar {
            name,
            default: None,
            id: AtomicUsize::new(0),
            _value: PhantomData,
        }
    }

    /// A variable whose [`get`](ContextVar::get) gives `default()` where it is not set
    /// (Python's `ContextVar(name, default=...)`).
    ///
    /// # Examples
    /// ```
    /// use asyncio::contextvars::ContextVar;
    ///
    /// static DEPTH: ContextVar<u32> = ContextVar::with_default("depth", || 0);
    /// assert_eq!(DEPTH.get(), Some(0));
    /// ```
    pub const fn with_default(name: &'static str, default: fn() -> T) -> Self {
        ContextVar {
            name,
            default: Some(default),
            id: AtomicUsize::new(0),
            _value: PhantomData,
        }
    }

    /// The variable's name.
    ///
    /// # Examples
    /// ```
    /// static V: asyncio::contextvars::ContextVar<u8> = asyncio::contextvars::ContextVar::new("v");
    /// assert_eq!(V.name(), "v");
    /// ```
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The value in the current context, else the default, else `None` (where Python raises
    /// `LookupError`).
    ///
    /// # Examples
    /// ```
    /// static V: asyncio::contextvars::ContextVar<u8> = asyncio::contextvars::ContextVar::new("v");
    /// V.set(3);
    /// assert_eq!(V.get(), Some(3));
    /// ```
    pub fn get(&self) -> Option<T> {
        match context::current() {
            Some(ctx) => self.get_in(&ctx),
            None => self.default.map(|f| f()),
        }
    }

    /// The value in the current context, else `default` (Python's `var.get(default)`).
    ///
    /// # Examples
    /// ```
    /// static V: asyncio::contextvars::ContextVar<u8> = asyncio::contextvars::ContextVar::new("v");
    /// assert_eq!(V.get_or(9), 9);
    /// ```
    pub fn get_or(&self, default: T) -> T {
        match context::current().and_then(|ctx| ctx.lookup(self.id())) {
            Some(value) => downcast(value),
            None => default,
        }
    }

    /// Sets the value in the current context; the [`Token`] can [`reset`](ContextVar::reset)
    /// it to what it was.
    ///
    /// Outside any task, callback or [`Context::run`], this sets the thread's own context.
    ///
    /// # Examples
    /// ```
    /// static V: asyncio::contextvars::ContextVar<u8> = asyncio::contextvars::ContextVar::new("v");
    /// let token = V.set(1);
    /// assert_eq!(token.old_value(), None);
    /// ```
    pub fn set(&self, value: T) -> Token<T> {
        let ctx = context::current_or_enter();
        let old = ctx.store(self.id(), Some(Arc::new(value)));
        Token {
            var: self.id(),
            ctx,
            old,
            _value: PhantomData,
        }
    }

    /// Puts the variable back to what it was before the `set` that gave `token` (Python's
    /// `var.reset(token)`).
    ///
    /// # Errors
    /// [`TokenError`] if `token` came from another variable, or from a `set` in another
    /// context (Python's `ValueError`s).
    ///
    /// # Examples
    /// ```
    /// static V: asyncio::contextvars::ContextVar<u8> = asyncio::contextvars::ContextVar::new("v");
    /// V.set(1);
    /// let token = V.set(2);
    /// V.reset(token).unwrap();
    /// assert_eq!(V.get(), Some(1));
    /// ```
    pub fn reset(&self, token: Token<T>) -> Result<(), TokenError> {
        if token.var != self.id() {
            return Err(TokenError {
                msg: "Token was created by a different ContextVar",
            });
        }
        match context::current() {
            Some(ctx) if ctx.same(&token.ctx) => {
                ctx.store(self.id(), token.old);
                Ok(())
            }
            _ => Err(TokenError {
                msg: "Token was created in a different Context",
            }),
        }
    }

    pub(crate) fn get_in(&self, ctx: &Context) -> Option<T> {
        match ctx.lookup(self.id()) {
            Some(value) => Some(downcast(value)),
            None => self.default.map(|f| f()),
        }
    }

    fn id(&self) -> usize {
        match self.id.load(Ordering::Relaxed) {
            0 => {
                let fresh = NEXT_ID.fetch_add(1, Ordering::Relaxed);
                match self
                    .id
                    .compare_exchange(0, fresh, Ordering::Relaxed, Ordering::Relaxed)
                {
                    Ok(_) => fresh,
                    Err(raced) => raced,
                }
            }
            id => id,
        }
    }
}

fn downcast<T: Clone + 'static>(value: Value) -> T {
    value
        .downcast_ref::<T>()
        .expect("a context variable's id holds values of its own type")
        .clone()
}

impl<T> fmt::Debug for ContextVar<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<ContextVar name={:?}>", self.name)
    }
}

/// What [`ContextVar::set`] returns: enough to undo that `set` (Python's `contextvars.Token`).
///
/// # Examples
/// ```
/// static V: asyncio::contextvars::ContextVar<u8> = asyncio::contextvars::ContextVar::new("v");
/// V.set(1);
/// let token = V.set(2);
/// assert_eq!(token.old_value(), Some(1));
/// ```
pub struct Token<T> {
    var: usize,
    ctx: Context,
    old: Option<Value>,
    _value: PhantomData<fn() -> T>,
}

impl<T: Clone + 'static> Token<T> {
    /// The variable's value before the `set`, `None` if it had none (Python's
    /// `Token.MISSING`).
    ///
    /// # Examples
    /// ```
    /// static V: asyncio::contextvars::ContextVar<u8> = asyncio::contextvars::ContextVar::new("v");
    /// assert_eq!(V.set(1).old_value(), None);
    /// ```
    pub fn old_value(&self) -> Option<T> {
        self.old.clone().map(downcast)
    }
}

impl<T> fmt::Debug for Token<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<Token var={} used=False>", self.var)
    }
}

/// A [`Token`] given to the wrong [`ContextVar::reset`] (Python's `ValueError`).
///
/// # Examples
/// ```
/// use asyncio::contextvars::{Context, ContextVar};
///
/// static V: ContextVar<u8> = ContextVar::new("v");
/// let token = Context::new().run(|| V.set(1));
/// let err = V.reset(token).unwrap_err();
/// assert_eq!(err.to_string(), "Token was created in a different Context");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenError {
    msg: &'static str,
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.msg)
    }
}

impl std::error::Error for TokenError {}

//! The loop's exception handler: where every error that nobody else can catch goes (asyncio's
//! `set_exception_handler` / `call_exception_handler` / `default_exception_handler`).
//!
//! A panicking callback, a task error nobody retrieved, a server handler's panic, a protocol
//! callback's panic: each is reported here as an [`ExceptionContext`] with asyncio's keys.
//! Without a handler of the user's, the default one logs it at error level, with the same
//! one-line wording the loop has always logged. A handler that itself panics is reported by
//! the default handler, and the loop goes on (asyncio's rule).

use super::context;
use super::handle::LoopHandle;
use crate::error::PanicError;
use std::cell::RefCell;
use std::error::Error;
use std::fmt;
use std::panic::{AssertUnwindSafe, Location, catch_unwind};
use std::rc::Rc;
use std::sync::Arc;

/// What a task was, for a report: its id, name and creation site (asyncio puts the task
/// itself in the context; a report may be made while the task is being freed, so here it is
/// a snapshot).
///
/// # Examples
/// ```
/// # asyncio::run(async {
/// let task = asyncio::create_task(async {}).with_name("worker");
/// let info = asyncio::TaskInfo::of(&task.as_ref());
/// assert_eq!(info.name, "worker");
/// assert!(info.to_string().starts_with("<Task name='worker' created at "));
/// # task.await.unwrap();
/// # });
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TaskInfo {
    /// The task's id ([`TaskRef::id`](crate::TaskRef::id)).
    pub id: u64,
    /// The task's name.
    pub name: String,
    /// Where the task was created.
    pub location: &'static Location<'static>,
}

impl TaskInfo {
    /// A snapshot of `task`.
    pub fn of(task: &crate::TaskRef) -> TaskInfo {
        TaskInfo {
            id: task.id(),
            name: task.name(),
            location: task.location(),
        }
    }
}

impl fmt::Display for TaskInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "<Task name='{}' created at {}>",
            self.name, self.location
        )
    }
}

/// An error reported to the loop's exception handler, with asyncio's context keys: only
/// `message` is always there.
///
/// # Examples
/// ```
/// let ctx = asyncio::ExceptionContext::new("Something broke").with_handle("<Handle tick>");
/// assert_eq!(ctx.message, "Something broke");
/// assert_eq!(ctx.handle.as_deref(), Some("<Handle tick>"));
/// assert!(ctx.exception.is_none());
/// ```
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct ExceptionContext {
    /// What happened (asyncio's `message`).
    pub message: String,
    /// The error or panic (asyncio's `exception`).
    pub exception: Option<Arc<dyn Error + Send + Sync>>,
    /// The task concerned (asyncio's `task`).
    pub task: Option<TaskInfo>,
    /// The future concerned, described (asyncio's `future`).
    pub future: Option<String>,
    /// The callback concerned, described (asyncio's `handle`).
    pub handle: Option<String>,
    /// The transport concerned, described (asyncio's `transport`).
    pub transport: Option<String>,
    /// The protocol concerned, described (asyncio's `protocol`).
    pub protocol: Option<String>,
    /// The socket concerned, described (asyncio's `socket`).
    pub socket: Option<String>,
    /// The line the default handler logs for the loop's own reports: the wording they have
    /// always been logged with (asyncio's default handler builds its text from the keys).
    line: Option<String>,
}

impl ExceptionContext {
    /// A context with only a message.
    pub fn new(message: impl Into<String>) -> Self {
        ExceptionContext {
            message: message.into(),
            ..ExceptionContext::default()
        }
    }

    /// With `exception` set.
    pub fn with_exception(mut self, exception: impl Error + Send + Sync + 'static) -> Self {
        self.exception = Some(Arc::new(exception));
        self
    }

    /// With `task` set.
    pub fn with_task(mut self, task: TaskInfo) -> Self {
        self.task = Some(task);
        self
    }

    /// With `handle` set.
    pub fn with_handle(mut self, handle: impl Into<String>) -> Self {
        self.handle = Some(handle.into());
        self
    }

    /// With `future` set.
    pub fn with_future(mut self, future: impl Into<String>) -> Self {
        self.future = Some(future.into());
        self
    }

    /// With `transport` set.
    pub fn with_transport(mut self, transport: impl Into<String>) -> Self {
        self.transport = Some(transport.into());
        self
    }

    /// With `protocol` set.
    pub fn with_protocol(mut self, protocol: impl Into<String>) -> Self {
        self.protocol = Some(protocol.into());
        self
    }

    /// With `socket` set.
    pub fn with_socket(mut self, socket: impl Into<String>) -> Self {
        self.socket = Some(socket.into());
        self
    }

    /// A panic, as the loop reports one: `message` and the panic as `exception`, logged by the
    /// default handler as `"{message}: panicked: ..."`.
    pub(crate) fn panic(message: impl Into<String>, panic: PanicError) -> Self {
        let message = message.into();
        let line = format!("{message}: {panic}");
        ExceptionContext {
            message,
            exception: Some(Arc::new(panic)),
            line: Some(line),
            ..ExceptionContext::default()
        }
    }

    /// With the exact line the default handler logs.
    pub(crate) fn logged_as(mut self, line: String) -> Self {
        self.line = Some(line);
        self
    }

    /// The text the default handler logs.
    fn text(&self) -> String {
        if let Some(line) = &self.line {
            return line.clone();
        }
        let mut text = if self.message.is_empty() {
            "Unhandled exception in event loop".to_owned()
        } else {
            self.message.clone()
        };
        // asyncio's order: the keys sorted, one a line.
        let keys: [(&str, Option<String>); 7] = [
            ("exception", self.exception.as_ref().map(|e| e.to_string())),
            ("future", self.future.clone()),
            ("handle", self.handle.clone()),
            ("protocol", self.protocol.clone()),
            ("socket", self.socket.clone()),
            ("task", self.task.as_ref().map(TaskInfo::to_string)),
            ("transport", self.transport.clone()),
        ];
        for (key, value) in keys {
            if let Some(value) = value {
                text.push_str(&format!("\n{key}: {value}"));
            }
        }
        text
    }
}

impl fmt::Debug for ExceptionContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExceptionContext")
            .field("message", &self.message)
            .field("exception", &self.exception.as_ref().map(|e| e.to_string()))
            .field("task", &self.task)
            .field("future", &self.future)
            .field("handle", &self.handle)
            .field("transport", &self.transport)
            .field("protocol", &self.protocol)
            .field("socket", &self.socket)
            .finish()
    }
}

/// A loop's exception handler, as [`LoopHandle::get_exception_handler`] gives it back.
///
/// # Examples
/// ```
/// # asyncio::run(async {
/// let lp = asyncio::get_running_loop();
/// lp.set_exception_handler(|_, ctx| println!("{}", ctx.message));
/// let handler = lp.get_exception_handler().unwrap();
/// handler.call(&lp, &asyncio::ExceptionContext::new("by hand"));
/// # });
/// ```
#[derive(Clone)]
pub struct ExceptionHandler(HandlerFn);

/// A handler as the loop keeps it.
pub(crate) type HandlerFn = Rc<dyn Fn(&LoopHandle, &ExceptionContext)>;

impl ExceptionHandler {
    /// Calls the handler.
    pub fn call(&self, lp: &LoopHandle, context: &ExceptionContext) {
        (self.0)(lp, context);
    }
}

impl fmt::Debug for ExceptionHandler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ExceptionHandler")
    }
}

/// Where a loop keeps its handler.
#[derive(Default)]
pub(crate) struct HandlerSlot(RefCell<Option<ExceptionHandler>>);

impl HandlerSlot {
    pub(crate) fn set(&self, handler: Option<HandlerFn>) {
        let old = self.0.replace(handler.map(ExceptionHandler));
        drop(old);
    }

    pub(crate) fn get(&self) -> Option<ExceptionHandler> {
        self.0.borrow().clone()
    }

    /// Calls the handler, or the default one; a panic in the handler is reported by the
    /// default handler and goes no further.
    pub(crate) fn call(&self, lp: &LoopHandle, context: &ExceptionContext) {
        let Some(handler) = self.get() else {
            return default_exception_handler(context);
        };
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| handler.call(lp, context))) {
            let panic = PanicError::new(panic);
            let line = format!(
                "Unhandled error in exception handler: {panic}\ncontext: {}",
                context.text()
            );
            let report = ExceptionContext::new("Unhandled error in exception handler")
                .with_exception(panic)
                .logged_as(line);
            default_exception_handler(&report);
        }
    }
}

/// The loop's default handler (asyncio's `default_exception_handler`): logs the context at
/// error level. A handler of the user's can call it for what it does not handle itself.
///
/// # Examples
/// ```
/// # asyncio::run(async {
/// asyncio::get_running_loop().set_exception_handler(|_, ctx| {
///     if !ctx.message.contains("expected") {
///         asyncio::default_exception_handler(ctx);
///     }
/// });
/// # });
/// ```
pub fn default_exception_handler(context: &ExceptionContext) {
    log::error!("{}", context.text());
}

/// Reports `context` to the running loop's exception handler, or to the default one outside
/// a loop (a value dropped after its loop closed).
pub(crate) fn report(context: ExceptionContext) {
    let core = context::current_core();
    match core {
        Some(core) => {
            let lp = LoopHandle {
                shared: core.shared.clone(),
            };
            core.exceptions.call(&lp, &context);
        }
        None => default_exception_handler(&context),
    }
}

/// Reports a panic of user code: `"{message}: panicked: ..."` by default.
#[cold]
pub(crate) fn report_panic(message: impl Into<String>, panic: PanicError) {
    report(ExceptionContext::panic(message, panic));
}

impl LoopHandle {
    /// Sets the loop's exception handler (asyncio's `loop.set_exception_handler`): it is
    /// called with the loop and an [`ExceptionContext`] for every error nobody else can catch.
    ///
    /// # Panics
    /// If called from another thread than the running loop's.
    ///
    /// # Examples
    /// ```
    /// use std::{cell::RefCell, rc::Rc};
    ///
    /// # asyncio::run(async {
    /// let seen = Rc::new(RefCell::new(Vec::new()));
    /// let s = seen.clone();
    /// let lp = asyncio::get_running_loop();
    /// lp.set_exception_handler(move |_, ctx| s.borrow_mut().push(ctx.message.clone()));
    /// lp.call_soon(|| panic!("broken callback"));
    /// asyncio::sleep(0).await;
    /// assert_eq!(*seen.borrow(), ["Exception in callback"]);
    /// # });
    /// ```
    pub fn set_exception_handler(
        &self,
        handler: impl Fn(&LoopHandle, &ExceptionContext) + 'static,
    ) {
        self.local_core("set_exception_handler")
            .exceptions
            .set(Some(Rc::new(handler)));
    }

    /// Goes back to the default handler (asyncio's `set_exception_handler(None)`).
    ///
    /// # Panics
    /// If called from another thread than the running loop's.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let lp = asyncio::get_running_loop();
    /// lp.set_exception_handler(|_, _| {});
    /// lp.reset_exception_handler();
    /// assert!(lp.get_exception_handler().is_none());
    /// # });
    /// ```
    pub fn reset_exception_handler(&self) {
        self.local_core("reset_exception_handler")
            .exceptions
            .set(None);
    }

    /// The handler set, or `None` for the default (asyncio's `loop.get_exception_handler`).
    ///
    /// # Panics
    /// If called from another thread than the running loop's.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// assert!(asyncio::get_running_loop().get_exception_handler().is_none());
    /// # });
    /// ```
    pub fn get_exception_handler(&self) -> Option<ExceptionHandler> {
        self.local_core("get_exception_handler").exceptions.get()
    }

    /// Reports `context` to the loop's exception handler, or the default one (asyncio's
    /// `loop.call_exception_handler`). A panic in the handler is logged and goes no further.
    ///
    /// # Panics
    /// If called from another thread than the running loop's.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let lp = asyncio::get_running_loop();
    /// lp.call_exception_handler(&asyncio::ExceptionContext::new("lost a message"));
    /// # });
    /// ```
    pub fn call_exception_handler(&self, context: &ExceptionContext) {
        self.local_core("call_exception_handler")
            .exceptions
            .call(self, context);
    }
}

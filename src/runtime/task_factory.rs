//! The loop's task factory (asyncio's `loop.set_task_factory`): the default, the eager one,
//! or a closure of the user's that sees each new task and says how it starts.
//!
//! `create_task` tests one flag: while the factory is the default it goes straight to
//! [`Core::spawn`]; otherwise it comes here.

use super::core::Core;
use super::handle::LoopHandle;
use crate::TaskFactory;
use crate::task::cell::RawTask;
use crate::task::{Task, TaskRef};
use std::cell::RefCell;
use std::future::Future;
use std::panic::{AssertUnwindSafe, Location, catch_unwind};
use std::ptr::NonNull;
use std::rc::Rc;
use std::sync::atomic::Ordering;

type FactoryFn = Rc<dyn Fn(&TaskRef) -> TaskFactory>;

/// What a loop's `create_task` makes (public only to name it in [`IntoTaskFactory`], from a
/// private module).
#[derive(Clone, Default)]
#[doc(hidden)]
pub enum Setting {
    #[default]
    Default,
    Eager,
    Custom(FactoryFn),
}

/// What [`LoopHandle::set_task_factory`] takes: a [`TaskFactory`], or a closure called with
/// each task `create_task` makes (named, not started yet) that returns how it starts,
/// [`TaskFactory::Default`] or [`TaskFactory::Eager`]. asyncio's factory builds the task
/// itself; here the loop builds it and the closure may name it, count it, add done callbacks.
pub trait IntoTaskFactory {
    #[doc(hidden)]
    fn into_setting(self) -> Setting;
}

impl IntoTaskFactory for TaskFactory {
    fn into_setting(self) -> Setting {
        match self {
            TaskFactory::Default | TaskFactory::Custom => Setting::Default,
            TaskFactory::Eager => Setting::Eager,
        }
    }
}

impl<F: Fn(&TaskRef) -> TaskFactory + 'static> IntoTaskFactory for F {
    fn into_setting(self) -> Setting {
        Setting::Custom(Rc::new(self))
    }
}

#[derive(Default)]
pub(crate) struct FactorySlot(RefCell<Setting>);

impl Core {
    pub(crate) fn set_task_factory(&self, setting: Setting) {
        let custom = !matches!(setting, Setting::Default);
        let old = self.task_factory.0.replace(setting);
        self.shared.custom_factory.store(custom, Ordering::Relaxed);
        drop(old);
    }

    pub(crate) fn task_factory(&self) -> TaskFactory {
        match &*self.task_factory.0.borrow() {
            Setting::Default => TaskFactory::Default,
            Setting::Eager => TaskFactory::Eager,
            Setting::Custom(_) => TaskFactory::Custom,
        }
    }

    /// `create_task` when the factory is not the default.
    pub(crate) fn spawn_by_factory<F: Future + 'static>(
        &self,
        future: F,
        location: &'static Location<'static>,
    ) -> Task<F::Output> {
        let setting = self.task_factory.0.borrow().clone();
        let factory = match setting {
            Setting::Default => return self.spawn(future, location),
            Setting::Eager => return self.spawn_eager(future, location),
            Setting::Custom(factory) => factory,
        };
        let cell = self.insert_task(future, location);
        let task = TaskRef::new(cell.clone().map(|p| p as NonNull<dyn RawTask>));
        match catch_unwind(AssertUnwindSafe(|| factory(&task))) {
            // SAFETY: `cell` is held for the run, and the pointer is its own.
            Ok(TaskFactory::Eager) => unsafe { cell.run(self, cell.header_ptr()) },
            Ok(_) => self.schedule_task(cell.header()),
            Err(panic) => {
                // As asyncio's create_task raises what its factory raised; the task made is
                // cancelled rather than left pending forever.
                task.cancel();
                self.schedule_task(cell.header());
                std::panic::resume_unwind(panic);
            }
        }
        Task::from_cell(cell)
    }
}

impl LoopHandle {
    /// Sets what [`create_task`](crate::create_task) makes on this loop (asyncio's
    /// `loop.set_task_factory`): [`TaskFactory::Eager`] for asyncio's `eager_task_factory`,
    /// [`TaskFactory::Default`] to go back, or a closure (see [`IntoTaskFactory`]).
    ///
    /// It applies to `create_task` and to the tasks the combinators make for the futures they
    /// are given (`gather`, `shield`, `as_completed`, `TaskGroup::create_task`, ...), as in
    /// asyncio. Tasks the loop makes for itself (accept loops, child reapers) and those sent
    /// from other threads ([`run_coroutine_threadsafe`](crate::run_coroutine_threadsafe))
    /// still start at the next turn.
    ///
    /// # Panics
    /// If called from another thread than the running loop's. A panic in a closure factory
    /// comes out of the `create_task` that called it (the task it was given is cancelled).
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let lp = asyncio::get_running_loop();
    /// lp.set_task_factory(asyncio::TaskFactory::Eager);
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// let task = asyncio::create_task(async move { tx.send("first step").unwrap() });
    /// assert_eq!(rx.try_recv(), Ok("first step")); // before create_task returned
    /// assert!(task.done());
    ///
    /// // A closure: names each task, and starts it at the next turn.
    /// lp.set_task_factory(|task: &asyncio::TaskRef| {
    ///     task.set_name(format!("worker-{}", task.id()));
    ///     asyncio::TaskFactory::Default
    /// });
    /// let task = asyncio::create_task(async {});
    /// assert!(task.name().starts_with("worker-"));
    /// assert_eq!(lp.task_factory(), asyncio::TaskFactory::Custom);
    /// lp.set_task_factory(asyncio::TaskFactory::Default);
    /// # });
    /// ```
    pub fn set_task_factory(&self, factory: impl IntoTaskFactory) {
        self.local_core("set_task_factory")
            .set_task_factory(factory.into_setting());
    }

    /// What [`create_task`](crate::create_task) makes on this loop (asyncio's
    /// `loop.get_task_factory`): [`TaskFactory::Custom`] for a closure.
    ///
    /// # Panics
    /// If called from another thread than the running loop's.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// assert_eq!(asyncio::get_running_loop().task_factory(), asyncio::TaskFactory::Default);
    /// # });
    /// ```
    pub fn task_factory(&self) -> TaskFactory {
        self.local_core("task_factory").task_factory()
    }
}

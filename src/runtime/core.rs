//! The loop's engine: the ready queue, the task slab, the timers, and one turn of the loop.
//!
//! # A turn
//! As asyncio's `_run_once`: wait for I/O (not at all if something is ready, until the next
//! timer otherwise), take what other threads sent, move due timers to the ready queue, then run
//! exactly the callbacks and tasks that were ready when the run began. What they make ready runs
//! next turn, so `sleep(0)` yields one turn to every other ready task.
//!
//! With something always ready the loop still looks at I/O every [`IO_INTERVAL`] turns, so a
//! busy loop does not starve sockets, and a zero-timeout poll is not paid on every turn.
//!
//! The wait for the next timer is planned by [`time::wait`](crate::time::wait): a near one
//! with a timerfd in the poller (made on first need), for precision below epoll's
//! milliseconds; a turn without timers pays nothing for it.
//!
//! # Ownership
//! Everything here is touched only on the loop's thread, through `RefCell`s whose borrows never
//! span a call into user code (a poll, a callback, a waker, a drop).

use super::blocking::Pool;
use super::clock::Clock;
use super::remote::RemoteItem;
use super::shared::Shared;
use crate::reactor::TimerFd;
use crate::task::cell::{RawTask, TaskCell};
use crate::task::common::Common;
use crate::task::header::Header;
use crate::task::local::LocalRef;
use crate::task::{Task, TaskRef};
use crate::time::wait::{self, Wait};
use crate::time::wheel::Wheel;
use crate::util::slab::{Key, Slab};
use std::cell::{Cell, OnceCell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::panic::{AssertUnwindSafe, Location, catch_unwind};
use std::ptr::NonNull;
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Waker;
use std::time::Duration;

/// Turns between looks at I/O while the ready queue never empties (tokio's `event_interval`).
const IO_INTERVAL: u64 = 61;
/// Turns between looks at whether the ready queue's capacity is far above what it held lately.
const SHRINK_INTERVAL: u64 = 1024;
/// Ready-queue capacity always kept: below this, a shrink would save too little to pay for
/// the regrowth.
const READY_KEEP: usize = 1024;
const WAKER_TOKEN: mio::Token = mio::Token(usize::MAX);
const TIMER_TOKEN: mio::Token = mio::Token(usize::MAX - 1);

pub(crate) type Callback = Box<dyn FnOnce()>;

enum Ready {
    Task(u64),
    /// A callback, and its handle's cancelled flag if it has a handle.
    Call(Callback, Option<Rc<Cell<bool>>>),
    /// An embedding's callback, a word its [`Dispatch`] runs (see `embed`): no box to
    /// allocate per call.
    Token(usize),
}

/// How an embedding runs its [`Ready::Token`]s: `(token, true)` to run one, `(token, false)`
/// to drop one the loop will not run (the loop closed first).
pub(crate) type Dispatch = Box<dyn Fn(usize, bool)>;

/// What a timer does when it fires.
pub(crate) enum TimerAction {
    Wake(Waker),
    Call(Callback, Rc<Cell<bool>>),
    /// An embedding's token, queued as a [`Ready::Token`] when due (see `embed`).
    Token(usize),
}

pub(crate) struct Core {
    pub(crate) shared: Arc<Shared>,
    pub(crate) debug: super::debug::DebugState,
    pub(crate) exceptions: super::exception_handler::HandlerSlot,
    pub(crate) metrics: super::metrics::Metrics,
    pub(crate) task_factory: super::task_factory::FactorySlot,
    this: Weak<Core>,
    ready: RefCell<VecDeque<Ready>>,
    /// The embedding's runner of tokens, set once (see `embed`).
    pub(crate) dispatch: OnceCell<Dispatch>,
    /// The most the ready queue held at the start of a run since the last shrink check.
    ready_peak: Cell<usize>,
    /// The contexts of the tasks that have one (see `contextvars`), kept out of the task so
    /// that tasks that never use context variables carry nothing for them.
    task_contexts: RefCell<std::collections::HashMap<u64, crate::contextvars::Context>>,
    /// A `Runner`'s context, empty, for its main task (see `set_lazy_main_context`).
    lazy_main_context: RefCell<Option<(u64, crate::contextvars::Context)>>,
    tasks: RefCell<Slab<LocalRef<dyn RawTask>>>,
    pub(crate) timers: RefCell<Wheel<TimerAction>>,
    /// The timerfd for precise waits, made the first time one is needed (real clock only);
    /// `None` inside if it could not be made.
    timerfd: OnceCell<Option<TimerFd>>,
    poll: RefCell<mio::Poll>,
    /// A second handle on the poller's registry, usable while `poll` is borrowed.
    #[allow(dead_code)] // used by the sockets built on the reactor
    pub(crate) registry: mio::Registry,
    pub(crate) reactor: crate::reactor::Reactor,
    events: RefCell<mio::Events>,
    remote_buf: RefCell<Vec<RemoteItem>>,
    timer_buf: RefCell<Vec<TimerAction>>,
    current: Cell<Option<u64>>,
    turns: Cell<u64>,
    /// A signal interrupted a wait for I/O since [`take_interrupted`](Self::take_interrupted)
    /// last looked: an embedding runs the interpreter's signal handlers then.
    interrupted: Cell<bool>,
    pub(crate) pool: RefCell<Option<Pool>>,
}

impl Core {
    pub(crate) fn new(virtual_time: bool, debug: bool) -> std::io::Result<Rc<Core>> {
        let poll = mio::Poll::new()?;
        let waker = mio::Waker::new(poll.registry(), WAKER_TOKEN)?;
        let registry = poll.registry().try_clone()?;
        let shared = Arc::new(Shared::new(waker, virtual_time));
        let core = Rc::new_cyclic(|this| Core {
            shared,
            debug: super::debug::DebugState::new(debug),
            exceptions: Default::default(),
            metrics: super::metrics::Metrics::new(),
            task_factory: Default::default(),
            this: this.clone(),
            ready: RefCell::new(VecDeque::new()),
            dispatch: OnceCell::new(),
            ready_peak: Cell::new(0),
            task_contexts: RefCell::default(),
            lazy_main_context: RefCell::default(),
            tasks: RefCell::new(Slab::new()),
            timers: RefCell::new(Wheel::new()),
            timerfd: OnceCell::new(),
            poll: RefCell::new(poll),
            registry,
            reactor: crate::reactor::Reactor::new(),
            events: RefCell::new(mio::Events::with_capacity(1024)),
            remote_buf: RefCell::new(Vec::new()),
            timer_buf: RefCell::new(Vec::new()),
            current: Cell::new(None),
            turns: Cell::new(0),
            interrupted: Cell::new(false),
            pool: RefCell::new(None),
        });
        if debug || crate::introspection::serving_all() {
            crate::introspection::join(&core);
        }
        Ok(core)
    }

    pub(crate) fn clock(&self) -> &Clock {
        &self.shared.clock
    }

    /// Makes a task and puts it in the slab, without scheduling it.
    #[inline]
    pub(super) fn insert_task<F: Future + 'static>(
        &self,
        future: F,
        location: &'static Location<'static>,
    ) -> LocalRef<TaskCell<F>> {
        let id = next_task_id();
        let mut made = None;
        self.tasks.borrow_mut().insert_with(|key| {
            let cell = TaskCell::allocate(
                key.to_u64(),
                self.shared.clone(),
                id,
                self.this.clone(),
                future,
                location,
            );
            made = Some(cell.clone());
            cell.map(|p| p as NonNull<dyn RawTask>)
        });
        let made = made.expect("insert_with calls its closure");
        if crate::contextvars::entered() {
            self.copy_context_into(made.header().key, made.common());
        }
        made
    }

    #[inline]
    pub(crate) fn spawn<F: Future + 'static>(
        &self,
        future: F,
        location: &'static Location<'static>,
    ) -> Task<F::Output> {
        let cell = self.insert_task(future, location);
        self.schedule_task(cell.header());
        Task::from_cell(cell)
    }

    pub(crate) fn remove_task(&self, key: u64) {
        let task = self.tasks.borrow_mut().remove(Key::from_u64(key));
        drop(task);
    }

    /// Puts a task of this loop in the ready queue, unless it is there already or finished.
    #[inline]
    pub(crate) fn schedule_task(&self, header: &Header) {
        if header.queued.claim() {
            self.ready.borrow_mut().push_back(Ready::Task(header.key));
        }
    }

    pub(crate) fn call_soon(&self, callback: Callback, cancelled: Option<Rc<Cell<bool>>>) {
        self.ready
            .borrow_mut()
            .push_back(Ready::Call(callback, cancelled));
    }

    /// Queues an embedding's token (run by its [`Dispatch`]).
    #[inline]
    pub(crate) fn call_soon_token(&self, token: usize) {
        self.ready.borrow_mut().push_back(Ready::Token(token));
    }

    pub(crate) fn enter_task(&self, key: u64) -> Option<u64> {
        self.current.replace(Some(key))
    }

    pub(crate) fn leave_task(&self, previous: Option<u64>) {
        self.current.set(previous);
    }

    /// The running task found the task `awaited` pending: record the edge of the await graph
    /// (so cancelling the one cancels the other, as in asyncio).
    ///
    /// # Panics
    /// When a task awaits itself, which would wait forever (asyncio's `RuntimeError`).
    pub(crate) fn note_await(&self, awaited: u64) {
        let Some(current) = self.current.get() else {
            return;
        };
        assert!(current != awaited, "Task cannot await on itself");
        if let Some(task) = self.tasks.borrow().get(Key::from_u64(current)) {
            task.common().set_awaiting(awaited);
        }
    }

    /// The running task parks: its byte of what it waits on keeps `keep` and adds `add`
    /// (`task::waiting`, for a waker that is not the task's own).
    pub(crate) fn note_waiting(&self, keep: u8, add: u8) {
        let Some(current) = self.current.get() else {
            return;
        };
        if let Some(task) = self.tasks.borrow().get(Key::from_u64(current)) {
            task.header().update_waiting(keep, add);
        }
    }

    /// The context of a task that has one (its `IN_CONTEXT` flag is set), out of its place.
    pub(crate) fn take_task_context(&self, key: u64) -> Option<crate::contextvars::Context> {
        self.task_contexts.borrow_mut().remove(&key)
    }

    /// Holds `ctx` in the task's place without touching its flag: during a step, the context
    /// the task's replaced.
    pub(crate) fn keep_task_context(&self, key: u64, ctx: crate::contextvars::Context) {
        self.task_contexts.borrow_mut().insert(key, ctx);
    }

    /// Gives a task a context of its own, or (with `None`) takes it away.
    pub(crate) fn set_task_context(
        &self,
        key: u64,
        common: &Common,
        ctx: Option<crate::contextvars::Context>,
    ) {
        common.set_in_context(ctx.is_some());
        match ctx {
            Some(ctx) => self.keep_task_context(key, ctx),
            None => drop(self.take_task_context(key)),
        }
    }

    /// A task made where a non-empty context is current runs in a copy of it.
    #[cold]
    #[inline(never)]
    fn copy_context_into(&self, key: u64, common: &Common) {
        if let Some(ctx) = crate::contextvars::capture() {
            self.set_task_context(key, common, Some(ctx));
        }
    }

    /// A variable was set with no context current: if a task's step is running, the context
    /// made for it becomes the task's.
    /// The context to make current is the one a `Runner` keeps for its main task, when that
    /// task is the one running; else a new one.
    pub(crate) fn note_context_made(&self) -> Option<crate::contextvars::Context> {
        let current = self.current.get()?;
        if let Some(task) = self.tasks.borrow().get(Key::from_u64(current)) {
            task.common().mark_in_context();
        }
        match &*self.lazy_main_context.borrow() {
            Some((key, ctx)) if *key == current => Some(ctx.clone()),
            _ => None,
        }
    }

    /// The main task runs in `ctx`, which is empty: it starts with none (so that its steps
    /// and children cost nothing for it) and takes `ctx` at its first `set`.
    pub(crate) fn set_lazy_main_context(&self, main: Option<(u64, crate::contextvars::Context)>) {
        *self.lazy_main_context.borrow_mut() = main;
    }

    pub(crate) fn current_task(&self) -> Option<TaskRef> {
        let key = Key::from_u64(self.current.get()?);
        self.tasks
            .borrow()
            .get(key)
            .map(|raw| TaskRef::new(raw.clone()))
    }

    pub(crate) fn task_by_key(&self, key: Key) -> Option<TaskRef> {
        self.tasks
            .borrow()
            .get(key)
            .map(|raw| TaskRef::new(raw.clone()))
    }

    pub(crate) fn all_tasks(&self) -> Vec<TaskRef> {
        self.tasks
            .borrow()
            .iter()
            .map(|(_, raw)| TaskRef::new(raw.clone()))
            .collect()
    }

    pub(crate) fn stats(&self) -> super::handle::LoopStats {
        let timers = self.timers.borrow();
        let (uptime, busy) = self.metrics.uptime_and_busy();
        super::handle::LoopStats {
            tasks: self.tasks.borrow().len(),
            ready: self.ready.borrow().len(),
            timers: timers.len(),
            timer_capacity: timers.capacity(),
            blocking_in_flight: self.shared.remote.in_flight(),
            remote_wakeups: self
                .shared
                .remote
                .notifier()
                .wakeups
                .load(Ordering::Relaxed),
            polls: self.metrics.polls(),
            slow_steps: self.metrics.slow_steps(),
            io_sources: self.reactor.len(),
            busy,
            uptime,
        }
    }

    /// Arms a timer that fires at the first tick at or after `deadline_ns`, or at the next
    /// turn if that deadline is reached already.
    pub(crate) fn add_timer(&self, deadline_ns: u64, action: TimerAction) -> Key {
        let tick = self.clock().tick_due_at(deadline_ns);
        self.timers.borrow_mut().insert(tick, action)
    }

    /// [`add_timer`](Core::add_timer) for a deadline known to be after now (the caller just
    /// read the clock), which rounds up without a second look at the clock.
    #[inline]
    pub(crate) fn add_timer_ahead(&self, deadline_ns: u64, action: TimerAction) -> Key {
        let tick = self.clock().tick_at_or_after(deadline_ns);
        self.timers.borrow_mut().insert(tick, action)
    }

    /// One turn of the loop.
    pub(crate) fn turn(&self) {
        let turn = self.turns.get().wrapping_add(1);
        self.turns.set(turn);
        if self.ready.borrow().is_empty() {
            self.wait_for_work();
        } else if turn % IO_INTERVAL == 0 {
            self.poll_io(Some(Duration::ZERO));
        }
        if self.shared.remote.is_notified() {
            self.drain_remote();
        }
        self.fire_timers();
        self.run_ready();
        if !self.reactor.idle_watches.is_empty() {
            self.reactor.idle_watches.end_turn();
        }
        if turn % SHRINK_INTERVAL == 0 {
            self.shrink_ready();
        }
    }

    /// Gives back the ready queue's memory after a burst: a `VecDeque` never shrinks by
    /// itself, and 100k tasks spawned at once leave megabytes behind. The queue is shrunk only
    /// when the last [`SHRINK_INTERVAL`] turns used less than a quarter of its capacity, and
    /// then to twice what they used: a loop that is steadily busy keeps its room, so the
    /// queue does not shrink and regrow turn after turn.
    #[cold]
    fn shrink_ready(&self) {
        let mut ready = self.ready.borrow_mut();
        let peak = self.ready_peak.replace(ready.len());
        let capacity = ready.capacity();
        if capacity > READY_KEEP && peak.saturating_mul(4) <= capacity {
            ready.shrink_to(peak.saturating_mul(2).max(READY_KEEP));
        }
    }

    /// Blocks until something can run: I/O, a message from another thread, or a timer. On a
    /// virtual clock, a timer is reached by jumping the clock once nothing else can happen.
    fn wait_for_work(&self) {
        let clock = self.clock();
        if clock.is_virtual() {
            self.poll_io(Some(Duration::ZERO));
            if self.shared.remote.is_notified() || !self.ready.borrow().is_empty() {
                return;
            }
            if self.shared.remote.is_quiet() {
                let next = self.timers.borrow().next_deadline();
                if let Some(tick) = next {
                    clock.jump_to_tick(tick);
                    return;
                }
            }
            self.poll_io(None);
        } else {
            let timeout = if self.shared.remote.is_notified() {
                Some(Duration::ZERO)
            } else {
                let next = self.timers.borrow().next_wake();
                next.map(|tick| self.timer_wait(tick))
            };
            self.poll_io(timeout);
        }
    }

    /// The poll timeout for a wait until the timer tick `tick` on the real clock, having armed
    /// the timerfd if the tick is near (see [`wait`]).
    fn timer_wait(&self, tick: u64) -> Duration {
        let clock = self.clock();
        let deadline = super::clock::tick_start_ns(tick);
        // Precise unless the timerfd could not be made.
        let precise = self.timerfd.get().is_none_or(Option::is_some);
        match wait::plan(clock.now_ns(), deadline, precise) {
            Wait::Timeout(timeout) => timeout,
            Wait::Precise { at_ns, backstop } => {
                let timerfd = self.timerfd.get_or_init(|| {
                    TimerFd::new(&self.registry, TIMER_TOKEN)
                        .inspect_err(|e| log::debug!("no timerfd, timers keep ms precision: {e}"))
                        .ok()
                });
                if let Some(timerfd) = timerfd {
                    if let Err(e) = timerfd.arm_at(clock.monotonic_at(at_ns)) {
                        log::error!("arming the loop's timerfd failed: {e}");
                    }
                }
                backstop
            }
        }
    }

    /// Whether a signal interrupted a wait for I/O since the last call.
    pub(crate) fn take_interrupted(&self) -> bool {
        self.interrupted.replace(false)
    }

    pub(crate) fn poll_io(&self, timeout: Option<Duration>) {
        let mut events = self.events.borrow_mut();
        // A wait that may sleep is timed, for the busy ratio and debug mode's log of it.
        let waits = timeout != Some(Duration::ZERO);
        // The counter-based clock, not `Instant`: two `clock_gettime` cost as much as the
        // rest of a turn that waits; the real clock either way, even on a virtual one.
        let started = waits.then(super::tsc::now_ns);
        // An embedding (the Python front) may wrap a wait that can block: see `embed`.
        let polled = super::embed::around_wait(timeout, || {
            self.poll.borrow_mut().poll(&mut events, timeout)
        });
        if let Some(started) = started {
            let waited_ns = super::tsc::now_ns().saturating_sub(started);
            self.metrics.add_idle_ns(waited_ns);
            if self.debug.on() {
                let waited = Duration::from_nanos(waited_ns);
                super::debug::poll_took(timeout, waited, events.iter().count());
            }
        }
        if let Err(e) = polled {
            if e.kind() == std::io::ErrorKind::Interrupted {
                self.interrupted.set(true);
            } else {
                log::error!("event loop poll failed: {e}");
            }
            return;
        }
        for event in events.iter() {
            match event.token() {
                WAKER_TOKEN => {}
                TIMER_TOKEN => {
                    if let Some(Some(timerfd)) = self.timerfd.get() {
                        timerfd.fired();
                    }
                }
                _ => self.reactor.dispatch(event),
            }
        }
    }

    pub(crate) fn drain_remote(&self) {
        let mut items = std::mem::take(&mut *self.remote_buf.borrow_mut());
        self.shared.remote.take(&mut items);
        for item in items.drain(..) {
            match item {
                RemoteItem::Wake(key) => {
                    // A task that finished since is gone, and so is its wake; one polled since
                    // took the wake already.
                    if let Some(task) = self.tasks.borrow().get(Key::from_u64(key)) {
                        if task.header().state.take_remote() {
                            self.schedule_task(task.header());
                        }
                    }
                }
                RemoteItem::Call(f) => self.call_soon(f, None),
            }
        }
        *self.remote_buf.borrow_mut() = items;
    }

    fn fire_timers(&self) {
        // Without timers, the clock is not read: a turn that runs one task should not pay
        // for `Instant::now`.
        let Some(next) = self.timers.borrow().next_deadline() else {
            return;
        };
        let now = self.clock().now_tick();
        if next > now {
            return;
        }
        let mut due = std::mem::take(&mut *self.timer_buf.borrow_mut());
        self.timers.borrow_mut().advance(now, &mut due);
        for action in due.drain(..) {
            match action {
                TimerAction::Wake(waker) => waker.wake(),
                TimerAction::Call(f, cancelled) => self.call_soon(f, Some(cancelled)),
                TimerAction::Token(token) => self.call_soon_token(token),
            }
        }
        *self.timer_buf.borrow_mut() = due;
    }

    fn run_ready(&self) {
        let n = self.ready.borrow().len();
        // What runs in a turn was queued since the last one began, so the queue never holds
        // more than two of these lengths.
        if n > self.ready_peak.get() {
            self.ready_peak.set(n);
        }
        for _ in 0..n {
            let item = self.ready.borrow_mut().pop_front();
            match item {
                Some(Ready::Task(key)) => {
                    let task = self.tasks.borrow().get(Key::from_u64(key)).cloned();
                    if let Some(task) = task {
                        self.metrics.count_poll();
                        // SAFETY: `task` is held for the run, and the pointer is its own.
                        unsafe { task.run(self, task.header_ptr()) };
                        release_task(task);
                    }
                }
                Some(Ready::Call(f, cancelled)) => self.run_call(f, cancelled),
                Some(Ready::Token(token)) => self.run_token(token, true),
                None => break,
            }
        }
    }

    /// Runs a `call_soon` callback. Not inlined into `run_ready`: there the compiler would
    /// look up the context's thread-locals before the loop, at every turn, even a turn of
    /// tasks and tokens alone (two `__tls_get_addr` calls where the crate is a shared
    /// library, as in the Python front).
    #[inline(never)]
    fn run_call(&self, f: Callback, cancelled: Option<Rc<Cell<bool>>>) {
        if cancelled.is_some_and(|c| c.get()) {
            drop_logged(f, "a cancelled callback");
            return;
        }
        if self.debug.on() {
            self.run_callback_timed(f);
        } else {
            run_callback(f);
        }
        // A callback scheduled with no context that set a variable: Python ran it in a copy
        // of the loop's context, so the value goes with it.
        if crate::contextvars::entered() {
            drop(crate::contextvars::leave(None));
        }
    }

    /// Runs (`run`) or drops an embedding's token; a panic is reported as a callback's.
    #[inline]
    fn run_token(&self, token: usize, run: bool) {
        if let Some(dispatch) = self.dispatch.get() {
            if let Err(p) = catch_unwind(AssertUnwindSafe(|| dispatch(token, run))) {
                let p = crate::error::PanicError::new(p);
                super::exception_handler::report_panic("Exception in callback", p);
            }
        }
    }

    #[cold]
    fn run_callback_timed(&self, f: Callback) {
        let started = std::time::Instant::now();
        run_callback(f);
        let name = super::debug::take_callback_name();
        super::debug::step_took(self, started.elapsed(), || name);
    }

    /// Reports `context` to this loop's exception handler (running or not).
    #[cold]
    pub(crate) fn report(&self, context: super::exception_handler::ExceptionContext) {
        let lp = super::handle::LoopHandle {
            shared: self.shared.clone(),
        };
        self.exceptions.call(&lp, &context);
    }

    /// Whether anything is queued to run.
    pub(crate) fn has_ready(&self) -> bool {
        !self.ready.borrow().is_empty()
    }

    /// Cancels every task and runs until all are gone, as asyncio's `_cancel_all_tasks`; then
    /// one more turn runs the callbacks their ends scheduled. (A callback that keeps
    /// rescheduling itself does not hold the loop open.) Each task is cancelled once, as
    /// asyncio does: a task that catches its cancellation (`on_cancel`) finishes its cleanup.
    pub(crate) fn cancel_all_and_drain(&self) {
        if self.shared.remote.is_notified() {
            self.drain_remote();
        }
        let mut cancelled = std::collections::HashSet::new();
        loop {
            let pending = self.all_tasks();
            if pending.is_empty() {
                break;
            }
            for task in &pending {
                if cancelled.insert(task.id()) {
                    task.cancel();
                }
            }
            self.turn();
            for task in pending {
                release_task(task.into_raw());
            }
        }
        if self.has_ready() {
            self.turn();
        }
    }

    /// Shuts the default executor down while the loop keeps turning, so that a job waiting on
    /// the loop (a `run_coroutine_threadsafe(..).result()` from the pool) can finish, as
    /// asyncio's `shutdown_default_executor` runs the loop while it waits.
    pub(crate) fn shutdown_default_executor(&self) {
        self.shutdown_default_executor_within(super::blocking::SHUTDOWN_TIMEOUT);
    }

    /// [`shutdown_default_executor`](Core::shutdown_default_executor), giving up on the
    /// threads after `timeout` (asyncio 3.12's `timeout`).
    pub(crate) fn shutdown_default_executor_within(&self, timeout: Duration) {
        let Some(pool) = self.pool.borrow_mut().take() else {
            return;
        };
        pool.begin_shutdown();
        let deadline = std::time::Instant::now().checked_add(timeout);
        while !pool.wait_exited(Duration::ZERO) {
            if deadline.is_some_and(|d| std::time::Instant::now() >= d) {
                log::warn!(
                    "the default executor did not finish joining its threads within {} seconds",
                    timeout.as_secs_f64()
                );
                return;
            }
            if self.shared.remote.in_flight() > 0 || self.has_ready() {
                // A job's end is pushed through the door, which wakes this turn.
                self.turn();
            } else {
                pool.wait_exited(Duration::from_millis(10));
            }
        }
    }

    /// Ends the loop: other threads are refused (what they had sent is dropped, which ends a
    /// `run_coroutine_threadsafe` future as cancelled), timers are dropped.
    pub(crate) fn shut_down(&self) {
        if self.debug.served() {
            crate::introspection::leave(self.shared.id);
        }
        for task in self.all_tasks() {
            let info = super::exception_handler::TaskInfo::of(&task);
            let line = format!("Task was destroyed but it is pending!\ntask: {info}");
            self.report(
                super::exception_handler::ExceptionContext::new(
                    "Task was destroyed but it is pending!",
                )
                .with_task(info)
                .logged_as(line),
            );
        }
        for item in self.shared.remote.close() {
            drop_logged(item, "a callback the loop closed before running");
        }
        let timers = std::mem::replace(&mut *self.timers.borrow_mut(), Wheel::new());
        for action in timers.into_values() {
            match action {
                TimerAction::Token(token) => self.run_token(token, false),
                action => drop_logged(action, "a timer callback the loop closed before running"),
            }
        }
        let ready = std::mem::take(&mut *self.ready.borrow_mut());
        for item in ready {
            match item {
                Ready::Token(token) => self.run_token(token, false),
                item => drop_logged(item, "a callback the loop closed before running"),
            }
        }
    }
}

// Hook for eager start (`asyncio::create_eager_task`, 3.12's `eager_task_factory`).
impl Core {
    /// Creates a task and runs its first step at once, inside the caller, with the new task as
    /// the current one. A task that finishes in that step is never run from the ready queue;
    /// one that suspends is scheduled from then on by its waker, as any task.
    pub(crate) fn spawn_eager<F: Future + 'static>(
        &self,
        future: F,
        location: &'static Location<'static>,
    ) -> Task<F::Output> {
        // Never queued: its first step runs now. A wake during that step queues it as usual.
        let cell = self.insert_task(future, location);
        // SAFETY: `cell` is held for the run, and the pointer is its own.
        unsafe { cell.run(self, cell.header_ptr()) };
        Task::from_cell(cell)
    }
}

/// Runs a callback, reporting a panic to the exception handler.
#[inline]
fn run_callback(f: Callback) {
    if let Err(p) = catch_unwind(AssertUnwindSafe(f)) {
        let p = crate::error::PanicError::new(p);
        super::exception_handler::report_panic("Exception in callback", p);
    }
}

/// Drops a value the loop held for user code (a callback it will not run, a task's output
/// nobody took), logging a panic from its `Drop`: as an exception in a callback, it must not
/// unwind the loop.
fn drop_logged<T>(value: T, what: &str) {
    if let Err(p) = catch_unwind(AssertUnwindSafe(move || drop(value))) {
        let p = crate::error::PanicError::new(p);
        super::exception_handler::report_panic(format!("Exception while dropping {what}"), p);
    }
}

/// Gives back the loop's reference to a task it ran. When it is the last one (the task is
/// done and every handle is gone), the task's output is dropped with it, and a panic in that
/// `Drop` is logged instead of unwinding the loop; the loop's reference is seldom the last,
/// so this costs a compare.
#[inline]
fn release_task(task: LocalRef<dyn RawTask>) {
    if !task.is_last() {
        return drop(task);
    }
    release_last(task);
}

#[cold]
fn release_last(task: LocalRef<dyn RawTask>) {
    let common = task.common();
    let (id, location) = (common.id(), common.location());
    if let Err(p) = catch_unwind(AssertUnwindSafe(move || drop(task))) {
        let p = crate::error::PanicError::new(p);
        super::exception_handler::report_panic(
            format!("Exception while dropping the output of Task-{id} created at {location}"),
            p,
        );
    }
}

/// A new task id, unique in the process (asyncio's one counter behind `Task-N` names). Each
/// thread takes ids from the shared counter in blocks, so a spawn pays no atomic operation;
/// one loop's tasks still count up one by one.
fn next_task_id() -> u64 {
    const BLOCK: u64 = 1024;
    static SHARED: AtomicU64 = AtomicU64::new(1);
    thread_local! {
        static BLOCK_LEFT: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
    }
    BLOCK_LEFT.with(|block| {
        let (mut next, mut end) = block.get();
        if next == end {
            next = SHARED.fetch_add(BLOCK, Ordering::Relaxed);
            end = next + BLOCK;
        }
        block.set((next + 1, end));
        next
    })
}

#[cfg(test)]
mod tests {
    use super::super::context;
    use super::{READY_KEEP, SHRINK_INTERVAL};
    use crate::{Runner, create_task, get_running_loop, sleep, to_thread};

    /// Whether the running loop has made its timerfd.
    fn has_timerfd() -> bool {
        context::with_core(|core| core.timerfd.get().is_some()).expect("a running loop")
    }

    fn ready_capacity() -> usize {
        context::with_core(|core| core.ready.borrow().capacity()).expect("a running loop")
    }

    #[test]
    fn the_ready_queue_gives_its_room_back_after_a_burst_but_keeps_what_steady_work_uses() {
        Runner::new().run(async {
            let burst: Vec<_> = (0..100_000)
                .map(|i| create_task(async move { i }))
                .collect();
            for task in burst {
                task.await.unwrap();
            }
            assert!(ready_capacity() >= 100_000);
            // Steady work, a few hundred tasks ready every turn: the queue shrinks once, to
            // room for them, and then neither shrinks nor grows again.
            let steady = 500;
            let workers: Vec<_> = (0..steady)
                .map(|_| {
                    create_task(async {
                        for _ in 0..3 * SHRINK_INTERVAL {
                            sleep(0).await;
                        }
                    })
                })
                .collect();
            let mut capacities = vec![ready_capacity()];
            for _ in 0..3 * SHRINK_INTERVAL - 10 {
                sleep(0).await;
                if capacities.last() != Some(&ready_capacity()) {
                    capacities.push(ready_capacity());
                }
            }
            assert_eq!(capacities.len(), 2, "capacities seen: {capacities:?}");
            assert!(capacities[1] > steady && capacities[1] <= 4 * steady.max(READY_KEEP));
            for worker in workers {
                worker.await.unwrap();
            }
            // Quiet: the room goes back to the floor.
            for _ in 0..2 * SHRINK_INTERVAL {
                sleep(0).await;
            }
            assert!(ready_capacity() <= 2 * READY_KEEP, "{}", ready_capacity());
        });
    }

    #[test]
    fn the_timerfd_is_made_for_a_near_timer_on_the_real_clock_only() {
        Runner::new().run(async {
            // Turns without timers make none, nor does a wait for a far timer (here while a
            // job runs on the blocking pool).
            for _ in 0..3 {
                sleep(0).await;
            }
            let far = get_running_loop().call_later(3600.0, || {});
            to_thread(|| std::thread::sleep(std::time::Duration::from_millis(5)))
                .await
                .unwrap();
            assert!(!has_timerfd());
            far.cancel();
            // The wait for a near timer makes it (unless the thread was held up past the
            // deadline before it could wait, so this tries a few times).
            for _ in 0..100 {
                sleep(0.003).await;
                if has_timerfd() {
                    break;
                }
            }
            assert!(has_timerfd());
        });
        Runner::new().virtual_time(true).run(async {
            sleep(0.001).await;
            sleep(5.0).await;
            assert!(!has_timerfd(), "a virtual clock jumps instead of waiting");
        });
    }
}

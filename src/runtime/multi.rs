//! Many loops for many cores: one event loop per thread, as nginx, glommio and monoio do,
//! instead of one scheduler stealing work across threads.
//!
//! Each loop keeps its own tasks, timers and reactor; nothing is shared but the cross-thread
//! door of each [`LoopHandle`]. Work is placed on a loop explicitly with
//! [`Runtime::spawn_on`] (a `Send` closure that makes the future there, so the future itself
//! need not be `Send`), and servers spread connections over the loops by binding one listener
//! per loop with `SO_REUSEPORT`.

use super::handle::LoopHandle;
use super::runner::Runner;
use super::threadsafe::{ConcurrentFuture, spawn_threadsafe};
use std::future::IntoFuture;
use std::sync::{Arc, Mutex, mpsc};
use std::task::{Poll, Waker};
use std::thread::JoinHandle;

/// Builds a [`Runtime`].
///
/// # Examples
/// ```
/// let runtime = asyncio::Runtime::builder().loops(2).build().unwrap();
/// assert_eq!(runtime.loops().len(), 2);
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    loops: usize,
    virtual_time: bool,
    name: String,
}

/// N event loops, each on its own thread.
///
/// Dropping the runtime (or calling [`shutdown`](Runtime::shutdown)) stops every loop: each
/// one cancels its pending tasks, as [`run`](crate::run) does, and its thread is joined.
///
/// # Examples
/// ```
/// let runtime = asyncio::Runtime::builder().loops(2).build().unwrap();
/// let results: Vec<usize> = runtime
///     .loops()
///     .iter()
///     .enumerate()
///     .map(|(i, lp)| runtime.spawn_on(lp, move || async move { i * 10 }))
///     .map(|fut| fut.result(None::<f64>).unwrap())
///     .collect();
/// assert_eq!(results, vec![0, 10]);
/// runtime.shutdown();
/// ```
pub struct Runtime {
    loops: Vec<LoopHandle>,
    threads: Vec<JoinHandle<()>>,
    stops: Vec<Arc<StopSignal>>,
}

/// Tells a loop's main task to return: a flag and the task's waker, set from any thread.
/// (Not a blocking job on the pool: a virtual clock must stay free to jump while it waits.)
#[derive(Default)]
struct StopSignal {
    state: Mutex<(bool, Option<Waker>)>,
}

impl StopSignal {
    fn stop(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.0 = true;
        if let Some(waker) = state.1.take() {
            waker.wake();
        }
    }

    async fn stopped(&self) {
        std::future::poll_fn(|cx| {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            if state.0 {
                Poll::Ready(())
            } else {
                state.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            loops: std::thread::available_parallelism().map_or(1, |n| n.get()),
            virtual_time: false,
            name: "asyncio-loop".into(),
        }
    }
}

impl Builder {
    /// How many loops (threads) to start; the default is the number of cores.
    ///
    /// # Examples
    /// ```
    /// let runtime = asyncio::Runtime::builder().loops(1).build().unwrap();
    /// assert_eq!(runtime.loops().len(), 1);
    /// ```
    pub fn loops(mut self, n: usize) -> Self {
        self.loops = n.max(1);
        self
    }

    /// Runs every loop on its own virtual clock (see [`Runner::virtual_time`]).
    ///
    /// # Examples
    /// ```
    /// let runtime = asyncio::Runtime::builder().loops(1).virtual_time(true).build().unwrap();
    /// let lp = &runtime.loops()[0];
    /// let t = runtime.spawn_on(lp, || async { asyncio::sleep(60.0).await; asyncio::get_running_loop().time() });
    /// assert_eq!(t.result(None::<f64>).unwrap(), 60.0);
    /// ```
    pub fn virtual_time(mut self, on: bool) -> Self {
        self.virtual_time = on;
        self
    }

    /// The name prefix of the loops' threads (`asyncio-loop-0`, …).
    ///
    /// # Examples
    /// ```
    /// let runtime = asyncio::Runtime::builder().loops(1).thread_name("worker").build().unwrap();
    /// let name = runtime
    ///     .spawn_on(&runtime.loops()[0], || async { std::thread::current().name().map(String::from) })
    ///     .result(None::<f64>)
    ///     .unwrap();
    /// assert_eq!(name.as_deref(), Some("worker-0"));
    /// ```
    pub fn thread_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Starts the loops, each on its own thread, and waits until all of them run.
    ///
    /// # Errors
    /// When a thread cannot be started; the loops already started are stopped.
    ///
    /// # Examples
    /// ```
    /// let runtime = asyncio::Runtime::builder().build().unwrap();
    /// assert!(!runtime.loops().is_empty());
    /// ```
    pub fn build(self) -> std::io::Result<Runtime> {
        let mut runtime = Runtime {
            loops: Vec::new(),
            threads: Vec::new(),
            stops: Vec::new(),
        };
        for i in 0..self.loops {
            let (handle_tx, handle_rx) = mpsc::channel();
            let stop = Arc::new(StopSignal::default());
            let stopped = stop.clone();
            let virtual_time = self.virtual_time;
            let thread = std::thread::Builder::new()
                .name(format!("{}-{i}", self.name))
                .spawn(move || {
                    let mut runner = Runner::new().virtual_time(virtual_time);
                    let _ = handle_tx.send(runner.get_loop());
                    runner.run(async move { stopped.stopped().await });
                })?;
            runtime.threads.push(thread);
            runtime.stops.push(stop);
            match handle_rx.recv() {
                Ok(handle) => runtime.loops.push(handle),
                Err(_) => return Err(std::io::Error::other("an event loop thread died at start")),
            }
        }
        Ok(runtime)
    }
}

impl Runtime {
    /// A builder with the defaults: one loop per core.
    ///
    /// # Examples
    /// ```
    /// let runtime = asyncio::Runtime::builder().loops(2).build().unwrap();
    /// assert_eq!(runtime.loops().len(), 2);
    /// ```
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// Handles to every loop, in start order.
    ///
    /// # Examples
    /// ```
    /// let runtime = asyncio::Runtime::builder().loops(2).build().unwrap();
    /// assert!(runtime.loops().iter().all(|lp| !lp.is_closed()));
    /// ```
    pub fn loops(&self) -> &[LoopHandle] {
        &self.loops
    }

    /// Runs `make()`'s future as a task on `on`: the closure is sent to the loop's thread and
    /// called there, so the future it makes need not be `Send`.
    ///
    /// # Examples
    /// ```
    /// let runtime = asyncio::Runtime::builder().loops(1).build().unwrap();
    /// let fut = runtime.spawn_on(&runtime.loops()[0], || async {
    ///     let local = std::rc::Rc::new(5); // not Send: fine, it never leaves the loop
    ///     asyncio::sleep(0).await;
    ///     *local
    /// });
    /// assert_eq!(fut.result(None::<f64>).unwrap(), 5);
    /// ```
    pub fn spawn_on<M, F>(&self, on: &LoopHandle, make: M) -> ConcurrentFuture<F::Output>
    where
        M: FnOnce() -> F + Send + 'static,
        F: IntoFuture + 'static,
        F::Output: Send + 'static,
    {
        spawn_threadsafe(make, on)
    }

    /// Stops every loop (each cancels its pending tasks) and joins their threads.
    ///
    /// # Examples
    /// ```
    /// let runtime = asyncio::Runtime::builder().loops(2).build().unwrap();
    /// let loops = runtime.loops().to_vec();
    /// runtime.shutdown();
    /// assert!(loops.iter().all(|lp| lp.is_closed()));
    /// ```
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        for stop in self.stops.drain(..) {
            stop.stop();
        }
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.stop();
    }
}

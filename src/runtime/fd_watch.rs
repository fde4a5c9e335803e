//! `add_reader` / `add_writer` and their removal: callbacks on any file descriptor, as in
//! asyncio's selector event loop. The machinery is in
//! [`reactor::watch`](crate::reactor::watch) and [`reactor::watch_driver`](crate::reactor::watch_driver).

use super::context;
use super::handle::LoopHandle;
use crate::reactor::{Direction, watch_driver};
use std::io;
use std::os::fd::RawFd;

impl LoopHandle {
    /// The loop's id, checking the call is made on the loop's own thread while it runs.
    pub(crate) fn watch_loop_id(&self, what: &str) -> usize {
        match context::current_core() {
            Some(core) if core.shared.id == self.shared.id => core.shared.id,
            _ => panic!(
                "{what} must be called from the loop's own thread while it runs \
                 (Non-thread-safe operation invoked on an event loop other than the current one)"
            ),
        }
    }

    /// Calls `callback` at each turn of the loop while `fd` is readable (asyncio's
    /// `loop.add_reader`); a second call for the same fd replaces the callback.
    ///
    /// Readable means what asyncio's selector means: data to read, end of file, a hang-up or
    /// an error, so a reader of a pipe whose writer closed is called until it removes itself.
    /// The callback is called only when a zero-timeout `poll(2)` has just said the fd is
    /// ready, and again at the next turn while it still is: a callback that reads part of
    /// what is there is called again, as with asyncio's level-triggered selector.
    ///
    /// `fd` is a raw fd (`sock.as_raw_fd()`), as asyncio takes a number: the loop neither
    /// owns nor borrows it past the call. [`remove_reader`](LoopHandle::remove_reader) before closing it, as
    /// asyncio asks. Closing it first is safe (the watch is dropped with a
    /// logged error when noticed, and the poller entry of whatever file takes the number is
    /// left alone). A callback that panics is logged ("Exception in callback ...") and stays
    /// registered. Watching ends when the loop closes.
    ///
    /// # Errors
    /// `InvalidInput` when `fd` is not open (`EBADF`) or negative; `PermissionDenied` when it
    /// cannot be polled (a regular file or directory: `EPERM`); `AlreadyExists` when one of
    /// this loop's own sockets, streams or [`AsyncFd`](crate::net::AsyncFd)s has it
    /// registered already (`EEXIST`).
    ///
    /// # Panics
    /// If called from another thread than the running loop's.
    ///
    /// # Examples
    /// ```
    /// use std::io::{Read, Write};
    /// use std::os::unix::net::UnixStream;
    /// # asyncio::run(async {
    /// let lp = asyncio::get_running_loop();
    /// let (mut tx, mut rx) = UnixStream::pair()?;
    /// rx.set_nonblocking(true)?;
    /// let fd = std::os::fd::AsRawFd::as_raw_fd(&rx);
    /// let got = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    /// let sink = got.clone();
    /// lp.add_reader(fd, move || {
    ///     let mut buf = [0; 64];
    ///     if let Ok(n) = rx.read(&mut buf) {
    ///         sink.borrow_mut().extend_from_slice(&buf[..n]);
    ///     }
    /// })?;
    /// tx.write_all(b"hello")?;
    /// while got.borrow().len() < 5 {
    ///     asyncio::sleep(0.001).await;
    /// }
    /// assert!(lp.remove_reader(fd));
    /// assert_eq!(&got.borrow()[..], b"hello");
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn add_reader(&self, fd: RawFd, callback: impl FnMut() + 'static) -> io::Result<()> {
        let id = self.watch_loop_id("add_reader");
        watch_driver::set_callback(id, fd, Direction::Read, Box::new(callback))
    }

    /// Stops watching `fd` for reading; whether a reader was registered (asyncio's
    /// `loop.remove_reader`). A writer on the same fd stays.
    ///
    /// # Panics
    /// If called from another thread than the running loop's.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let lp = asyncio::get_running_loop();
    /// let (_tx, rx) = std::os::unix::net::UnixStream::pair()?;
    /// let fd = std::os::fd::AsRawFd::as_raw_fd(&rx);
    /// assert!(!lp.remove_reader(fd));
    /// lp.add_reader(fd, || {})?;
    /// assert!(lp.remove_reader(fd));
    /// assert!(!lp.remove_reader(fd));
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn remove_reader(&self, fd: RawFd) -> bool {
        let id = self.watch_loop_id("remove_reader");
        watch_driver::remove_callback(id, fd, Direction::Read)
    }

    /// Calls `callback` at each turn of the loop while `fd` is writable (asyncio's
    /// `loop.add_writer`); a second call for the same fd replaces the callback. A reader and
    /// a writer of one fd coexist.
    ///
    /// Writable includes a hang-up or an error, as in asyncio. Everything said of
    /// [`add_reader`](LoopHandle::add_reader) holds.
    ///
    /// # Errors
    /// As [`add_reader`](LoopHandle::add_reader).
    ///
    /// # Panics
    /// If called from another thread than the running loop's.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let lp = asyncio::get_running_loop();
    /// let (tx, _rx) = std::os::unix::net::UnixStream::pair()?;
    /// let fd = std::os::fd::AsRawFd::as_raw_fd(&tx);
    /// let calls = std::rc::Rc::new(std::cell::Cell::new(0));
    /// let count = calls.clone();
    /// lp.add_writer(fd, move || count.set(count.get() + 1))?;
    /// asyncio::sleep(0.01).await;
    /// assert!(calls.get() > 0); // an empty socket buffer is writable
    /// assert!(lp.remove_writer(fd));
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn add_writer(&self, fd: RawFd, callback: impl FnMut() + 'static) -> io::Result<()> {
        let id = self.watch_loop_id("add_writer");
        watch_driver::set_callback(id, fd, Direction::Write, Box::new(callback))
    }

    /// Stops watching `fd` for writing; whether a writer was registered (asyncio's
    /// `loop.remove_writer`). A reader on the same fd stays.
    ///
    /// # Panics
    /// If called from another thread than the running loop's.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let lp = asyncio::get_running_loop();
    /// let (tx, _rx) = std::os::unix::net::UnixStream::pair()?;
    /// let fd = std::os::fd::AsRawFd::as_raw_fd(&tx);
    /// lp.add_writer(fd, || {})?;
    /// assert!(lp.remove_writer(fd));
    /// assert!(!lp.remove_writer(fd));
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn remove_writer(&self, fd: RawFd) -> bool {
        let id = self.watch_loop_id("remove_writer");
        watch_driver::remove_callback(id, fd, Direction::Write)
    }
}

//! A per-thread stock of empty read buffers, shared by the connections of the loop on that
//! thread: a reader that waits for its socket gives its buffer back, and the next reader to
//! read takes one, so idle connections hold none (see the parent module).
//!
//! A thread-local rather than a field of the loop: a reader may be dropped outside any loop
//! (after `run` returned it), and a buffer is plain memory that any loop on the thread can
//! use. The stock is small and bounded, so it costs at most [`KEEP`] × [`MAX`] bytes a
//! thread.

use std::cell::RefCell;

/// How many buffers the stock keeps.
const KEEP: usize = 8;

/// The largest buffer kept: larger ones (a bulk reader's) are freed.
const MAX: usize = super::READ_CHUNK;

thread_local! {
    static STOCK: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// An empty buffer of at most `at_most` bytes of capacity from the stock, if it has one: a
/// bulk reader's 64 KiB buffer would otherwise let a small read fill far more than it asked
/// for, and a buffer handed over by `take` would then be shrunk (a `realloc`) every time.
#[inline]
pub(super) fn take(at_most: usize) -> Option<Vec<u8>> {
    STOCK
        .try_with(|s| {
            let mut stock = s.borrow_mut();
            match stock.last() {
                Some(buf) if buf.capacity() <= at_most => stock.pop(),
                _ => None,
            }
        })
        .ok()
        .flatten()
}

/// Keeps `buf` for the next reader, or frees it if the stock is full or `buf` is too large.
/// Its bytes are kept as they are: they are initialised room for the next reader's reads into
/// `&mut [u8]` (TLS, pipes), which would otherwise zero it again after every wait, and no
/// reader ever shows bytes it did not read.
#[inline]
pub(super) fn give(buf: Vec<u8>) {
    if buf.capacity() > MAX {
        return;
    }
    // Past the thread's end (a reader dropped by a thread-local's destructor), `buf` is
    // simply freed.
    let _ = STOCK.try_with(|s| {
        let mut stock = s.borrow_mut();
        if stock.len() < KEEP {
            stock.push(buf);
        }
    });
}

#[cfg(test)]
pub(super) fn len() -> usize {
    STOCK.with(|s| s.borrow().len())
}

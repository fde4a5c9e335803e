//! `LocalRef`, the loop thread's counted pointer to a task: what the slab and every `Task`
//! handle hold.
//!
//! It is an `Rc` whose count lives in the task's [`Common`] and whose last drop empties the
//! task body and gives the loop's one reference back to the [`Header`], which frees the
//! allocation when no waker holds it either (see the header's "Two reference counts").

use super::cell::Base;
use super::common::Common;
use super::header::Header;
use std::marker::PhantomData;
use std::ops::Deref;
use std::ptr::NonNull;
use std::rc::Rc;

/// A counted pointer to a task allocation, seen as `T` (the task cell itself, or one of the
/// traits the loop and the handles use). Not `Send`: the count is a plain `Cell`.
pub(crate) struct LocalRef<T: ?Sized> {
    ptr: NonNull<T>,
    _not_send: PhantomData<Rc<()>>,
}

impl<T: ?Sized> LocalRef<T> {
    /// Adopts the reference made with a new task allocation.
    ///
    /// # Safety
    /// `ptr` points to a task allocation (one that starts with a [`Base`]) and carries one
    /// local reference, which this handle now owns.
    pub(crate) unsafe fn adopt(ptr: NonNull<T>) -> Self {
        LocalRef {
            ptr,
            _not_send: PhantomData,
        }
    }

    /// The same reference, seen as another type of the same allocation (`f` is an unsizing
    /// coercion such as `|p| p as NonNull<dyn RawTask>`).
    pub(crate) fn map<U: ?Sized>(self, f: impl FnOnce(NonNull<T>) -> NonNull<U>) -> LocalRef<U> {
        let ptr = f(self.ptr);
        assert_eq!(ptr.cast::<u8>(), self.ptr.cast::<u8>(), "same allocation");
        std::mem::forget(self);
        LocalRef {
            ptr,
            _not_send: PhantomData,
        }
    }

    pub(crate) fn base(&self) -> &Base {
        // SAFETY: every task allocation starts with its `Base` (`#[repr(C)]`), and this
        // handle's reference keeps it alive.
        unsafe { self.ptr.cast::<Base>().as_ref() }
    }

    /// The header, as a pointer with the allocation's own provenance (wakers are made from
    /// it, and one of them may free the task).
    pub(crate) fn header_ptr(&self) -> NonNull<Header> {
        self.ptr.cast()
    }

    pub(crate) fn header(&self) -> &Header {
        &self.base().header
    }

    pub(crate) fn common(&self) -> &Common {
        &self.base().common
    }

    /// Whether this is the last local reference: dropping it empties the task's body.
    pub(crate) fn is_last(&self) -> bool {
        self.common().local_refs() == 1
    }
}

impl<T: ?Sized> Deref for LocalRef<T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: this handle's reference keeps the allocation, and its body, alive.
        unsafe { self.ptr.as_ref() }
    }
}

impl<T: ?Sized> Clone for LocalRef<T> {
    fn clone(&self) -> Self {
        self.common().local_ref_inc();
        LocalRef {
            ptr: self.ptr,
            _not_send: PhantomData,
        }
    }
}

impl<T: ?Sized> Drop for LocalRef<T> {
    fn drop(&mut self) {
        if !self.common().local_ref_dec() {
            return;
        }
        let header = self.ptr.cast::<Header>();
        // SAFETY: that was the last local reference, and local references are only made on
        // the loop's thread, so nothing else can reach the body; wakers reach only the
        // header. After emptying the body the loop's reference to the header is given back.
        let panicked = unsafe {
            let drop_body = header.as_ref().vtable.drop_body;
            let panicked = drop_body(header);
            Header::release(header);
            panicked
        };
        // A `Drop` in the body panicked: the task is freed all the same, then the panic goes
        // on to whoever dropped the last handle.
        if let Some(payload) = panicked {
            std::panic::resume_unwind(payload);
        }
    }
}

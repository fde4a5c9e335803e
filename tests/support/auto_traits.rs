//! Compile-time checks of auto traits, shared by the `*_auto_traits` tests.
#![allow(dead_code)]

pub fn is_send<T: Send>() {}
pub fn is_sync<T: Sync>() {}
pub fn is_clone<T: Clone>() {}

/// Implemented twice for `Send` types, once for the rest: naming `check` for a `Send` type is
/// ambiguous and does not compile (the trick of the static_assertions crate).
pub trait AmbiguousIfSend<A> {
    fn check() {}
}
impl<T: ?Sized> AmbiguousIfSend<()> for T {}
impl<T: ?Sized + Send> AmbiguousIfSend<u8> for T {}

/// Compiles only if none of the types is `Send`.
macro_rules! assert_not_send {
    ($($t:ty),* $(,)?) => {$(
        let _ = <$t as $crate::auto_traits::AmbiguousIfSend<_>>::check;
    )*};
}

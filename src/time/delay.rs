//! Delays given as Python gives them: seconds as a number, or a `Duration`.

use std::time::Duration;

/// A length of time: a [`Duration`], or seconds as `f64`/`f32`/integer as in Python
/// (`sleep(1)`, `sleep(0.5)`).
///
/// Negative seconds count as zero (as asyncio treats them); infinite seconds mean "never".
///
/// # Panics
/// Converting NaN panics: asyncio raises `ValueError` for a NaN delay, and a delay that is not a
/// number is a bug at the call site.
///
/// # Examples
/// ```
/// use asyncio::IntoDelay;
/// use std::time::Duration;
/// assert_eq!(1.5.into_delay(), Some(Duration::from_millis(1500)));
/// assert_eq!(2.into_delay(), Some(Duration::from_secs(2)));
/// assert_eq!((-1.0).into_delay(), Some(Duration::ZERO));
/// assert_eq!(f64::INFINITY.into_delay(), None);
/// ```
pub trait IntoDelay {
    /// The delay, or `None` for an infinite one.
    fn into_delay(self) -> Option<Duration>;
}

impl IntoDelay for Duration {
    fn into_delay(self) -> Option<Duration> {
        Some(self)
    }
}

impl IntoDelay for f64 {
    fn into_delay(self) -> Option<Duration> {
        assert!(!self.is_nan(), "invalid delay: NaN (not a number)");
        if self <= 0.0 {
            Some(Duration::ZERO)
        } else {
            Duration::try_from_secs_f64(self).ok()
        }
    }
}

impl IntoDelay for f32 {
    fn into_delay(self) -> Option<Duration> {
        f64::from(self).into_delay()
    }
}

macro_rules! int_delay {
    ($($t:ty),*) => {$(
        impl IntoDelay for $t {
            #[allow(unused_comparisons)]
            fn into_delay(self) -> Option<Duration> {
                if self <= 0 {
                    Some(Duration::ZERO)
                } else {
                    Some(Duration::from_secs(self as u64))
                }
            }
        }
    )*};
}

int_delay!(i32, i64, u32, u64, usize);

//! A value kept in a few words inside a task record, or boxed there when it does
//! not fit: how group tasks and spawned tasks hold their closures (and results)
//! without an allocation of their own.

use std::mem::{align_of, size_of, MaybeUninit};

/// Room for one value of up to `WORDS` words. It does not know what it holds: its
/// owner keeps the type (usually in a function pointer made with it) and takes the
/// value out exactly once.
pub(crate) struct InPlace<const WORDS: usize>(MaybeUninit<[usize; WORDS]>);

impl<const WORDS: usize> InPlace<WORDS> {
    pub(crate) const fn empty() -> Self {
        InPlace(MaybeUninit::uninit())
    }

    const fn fits<X>() -> bool {
        size_of::<X>() <= size_of::<[usize; WORDS]>() && align_of::<X>() <= align_of::<usize>()
    }

    /// Puts `value` here, in place if it fits, else boxed.
    ///
    /// # Safety
    /// `this` is valid for writes and holds no live value.
    pub(crate) unsafe fn put<X>(this: *mut Self, value: X) {
        let words = this.cast::<MaybeUninit<[usize; WORDS]>>();
        // SAFETY (both arms): `words` is valid for WORDS words, aligned for usize,
        // which `fits` checked is enough for X; a box pointer is one word.
        if Self::fits::<X>() {
            unsafe { words.cast::<X>().write(value) }
        } else {
            unsafe { words.cast::<*mut X>().write(Box::into_raw(Box::new(value))) }
        }
    }

    /// Takes the value back out.
    ///
    /// # Safety
    /// `this` holds an X put by `put::<X>` and not taken since.
    pub(crate) unsafe fn take<X>(this: *mut Self) -> X {
        let words = this.cast::<MaybeUninit<[usize; WORDS]>>();
        // SAFETY (both arms): as `put` left it.
        if Self::fits::<X>() {
            unsafe { words.cast::<X>().read() }
        } else {
            *unsafe { Box::from_raw(words.cast::<*mut X>().read()) }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn small_and_large_values_come_back_intact_and_are_dropped_once() {
        let marker = Arc::new(());
        let mut small = InPlace::<2>::empty();
        let mut large = InPlace::<2>::empty();
        let big = [7u64; 8];
        // SAFETY: each slot is empty when put into and taken from once.
        unsafe {
            InPlace::put(&mut small, Arc::clone(&marker));
            InPlace::put(&mut large, (Arc::clone(&marker), big));
            assert_eq!(Arc::strong_count(&marker), 3);
            let (back, array) = InPlace::take::<(Arc<()>, [u64; 8])>(&mut large);
            assert_eq!(array, big);
            drop(back);
            drop(InPlace::take::<Arc<()>>(&mut small));
        }
        assert_eq!(Arc::strong_count(&marker), 1);
    }
}

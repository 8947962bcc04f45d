//! Cache prefetch hints for walks that chase ids through gigabytes of records.
//! A walk knows a node's children before it visits them; asking for their cache
//! lines early lets those misses overlap instead of being paid one after another.
//!
//! The one `unsafe` here is the prefetch instruction: it never faults and has no
//! architectural effect, and it is only given addresses inside a live slice.
#![allow(unsafe_code)]

/// Asks the CPU to start loading the cache line holding the start of `value`
/// (nothing on targets without a prefetch instruction).
#[inline(always)]
pub fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: the pointer comes from a valid reference, and a prefetch is a
        // hint that neither faults nor changes memory.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(value).cast::<i8>()) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefetching_changes_nothing() {
        let data = vec![3u8; 256];
        prefetch(&data[0]);
        prefetch(&data[255]);
        prefetch(&data);
        assert!(data.iter().all(|b| *b == 3));
    }
}

//! Software prefetch of a call's state. A scheduler visits thousands of calls per ptime, each once, so every
//! call's state has left the cache by its next visit and each visit would stall on its loads one after another.
//! Knowing the visit order ahead (a wheel slot lists its calls), the scheduler asks for the state of a call a few
//! places ahead while it works on the current one, so the loads overlap.

/// Starts loading every cache line of `value` into the cache (a hint: no effect on other architectures).
#[inline(always)]
pub(crate) fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let p: *const u8 = std::ptr::from_ref(value).cast();
        for offset in (0..size_of::<T>()).step_by(64) {
            // SAFETY: SSE is part of the x86_64 baseline, and a prefetch is a hint that never faults or reads
            // into the program: any address is allowed (these all lie inside `value`).
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(offset).cast()) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

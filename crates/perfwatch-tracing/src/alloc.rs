//! [`CountingAlloc`]: a global allocator wrapper that counts allocations per thread, so the
//! layer can charge each span the allocations made while it was entered.
//!
//! ```no_run
//! #[global_allocator]
//! static ALLOC: perfwatch_tracing::CountingAlloc = perfwatch_tracing::CountingAlloc::system();
//! ```
//!
//! Counters are thread-local `Cell`s with constant initialisers: no lazy initialisation, no
//! destructor, nothing that could itself allocate inside the allocator. The layer pauses
//! counting while its own callbacks run ([`Paused`]), so its bookkeeping is never charged
//! to the program.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};

thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
    static BYTES: Cell<u64> = const { Cell::new(0) };
    static PAUSED: Cell<bool> = const { Cell::new(false) };
}

/// Set once a [`CountingAlloc`] has counted anything: without one installed, the layer
/// reports no allocation figures rather than zeros.
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// A global allocator that forwards to `A` and counts, per thread, the allocations and the
/// bytes requested (reallocations count as one allocation of the new size).
#[derive(Debug, Default)]
pub struct CountingAlloc<A = System>(A);

impl CountingAlloc<System> {
    /// Counting over the system allocator.
    pub const fn system() -> Self {
        CountingAlloc(System)
    }
}

impl<A> CountingAlloc<A> {
    /// Counting over `inner` (another global allocator, e.g. jemalloc).
    pub const fn new(inner: A) -> Self {
        CountingAlloc(inner)
    }
}

#[inline]
fn count(size: usize) {
    // `try_with`: during thread teardown the slots may be gone; such allocations are not
    // counted.
    let _ = PAUSED.try_with(|paused| {
        if !paused.get() {
            let _ = ALLOCS.try_with(|a| a.set(a.get() + 1));
            let _ = BYTES.try_with(|b| b.set(b.get() + size as u64));
        }
    });
    if !ACTIVE.load(Ordering::Relaxed) {
        ACTIVE.store(true, Ordering::Relaxed);
    }
}

// SAFETY: every method forwards to `A` unchanged; counting touches only thread-local cells.
unsafe impl<A: GlobalAlloc> GlobalAlloc for CountingAlloc<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { self.0.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: as above.
        unsafe { self.0.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { self.0.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        // SAFETY: as above.
        unsafe { self.0.realloc(ptr, layout, new_size) }
    }
}

/// This thread's allocation count and bytes so far.
pub fn thread_counts() -> (u64, u64) {
    (ALLOCS.try_with(Cell::get).unwrap_or(0), BYTES.try_with(Cell::get).unwrap_or(0))
}

/// Whether a [`CountingAlloc`] is installed and has counted something.
pub fn is_counting() -> bool {
    ACTIVE.load(Ordering::Relaxed)
}

/// While alive, this thread's allocations are not counted (the layer's own work).
pub(crate) struct Paused {
    was: bool,
}

impl Paused {
    pub(crate) fn new() -> Self {
        Paused { was: PAUSED.try_with(|p| p.replace(true)).unwrap_or(true) }
    }
}

impl Drop for Paused {
    fn drop(&mut self) {
        let _ = PAUSED.try_with(|p| p.set(self.was));
    }
}

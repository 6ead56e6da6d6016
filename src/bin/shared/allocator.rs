//! The global allocator of every binary (and of the benchmarks that run
//! the library in process): mimalloc, called the cheap way, and told to
//! hand freed memory back to the system at once.
//!
//! Each program includes this one file (`#[path = "shared/allocator.rs"]
//! mod allocator;`), which declares the `#[global_allocator]` itself: the
//! library forbids unsafe code, and a program linking `doi` chooses its
//! own allocator. Evaluating jq allocates and frees small blocks all the
//! time (jaq boxes every iterator; a profile of planning showed 40% of
//! the instructions in glibc's malloc and free), and mimalloc halves that.
//!
//! Not `mimalloc::MiMalloc`: it sends every request through
//! `mi_malloc_aligned`, which costs more instructions than `mi_malloc`
//! and, when the size class has no free block at hand and the class size
//! is not a power of two, over-allocates `size + align - 1` bytes: the
//! 40- and 48-byte boxes jaq allocates most come from the 48- and 64-byte
//! classes. Every mimalloc block is aligned to at least the machine word
//! (to 16 bytes from 16 bytes up on 64-bit targets), so requests that
//! need no more go to `mi_malloc`. Measured with callgrind on jaq's
//! benchmarks: `ack` 4081 -> 3748 M instructions, `pyramid` 2981 -> 2687,
//! `range-prop` 2880 -> 2663; `pyramid`'s peak RSS 198 -> 182 MiB.
//!
//! Purge delay 0, for `doi-jq` alone ([`return_freed_pages_at_once`]):
//! mimalloc keeps freed pages for a second before giving them back (its
//! default, 1000 ms), so every buffer a growing array or string left
//! behind still counted in the peak: `repeat`, `from` and `reduce` over a
//! million numbers peaked at 35-37 MiB against jq 1.7.1's 25, and at
//! 21 MiB with pages returned at once. The planner pays for it in page
//! faults (`deploy --plan` of plan_bench's 7 MB input: 37 ms with the
//! default, 47 ms with delay 0, best of 15, quiet machine), so the other
//! binaries keep the default. `MIMALLOC_PURGE_DELAY` in the environment
//! still wins.

use libmimalloc_sys::{
    mi_free, mi_malloc, mi_malloc_aligned, mi_option_set_default, mi_realloc, mi_realloc_aligned,
    mi_zalloc, mi_zalloc_aligned,
};
use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

#[global_allocator]
static ALLOCATOR: Allocator = Allocator;

/// The alignment every mimalloc block has.
const WORD: usize = std::mem::size_of::<usize>();

/// `mi_option_purge_delay`: its place in `mi_option_t` (the 16th, after
/// `mi_option_deprecated_eager_commit_delay`, 14) in both the v2 and the
/// v3 `mimalloc.h` libmimalloc-sys 0.1.49 builds; its Rust bindings name
/// 14 and 16 but not 15.
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

struct Allocator;

// SAFETY: each method forwards to the mimalloc function for the same job;
// the plain calls only where the layout asks for no more than the word
// alignment every mimalloc block has, the `_aligned` ones otherwise (and
// `realloc` keeps to the kind `alloc` chose, as the layout is the same).
// mi_free takes a block from either kind.
unsafe impl GlobalAlloc for Allocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= WORD {
            mi_malloc(layout.size()).cast()
        } else {
            mi_malloc_aligned(layout.size(), layout.align()).cast()
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= WORD {
            mi_zalloc(layout.size()).cast()
        } else {
            mi_zalloc_aligned(layout.size(), layout.align()).cast()
        }
    }

    #[inline]
    unsafe fn dealloc(&self, pointer: *mut u8, _layout: Layout) {
        mi_free(pointer.cast::<c_void>());
    }

    #[inline]
    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.align() <= WORD {
            mi_realloc(pointer.cast::<c_void>(), new_size).cast()
        } else {
            mi_realloc_aligned(pointer.cast::<c_void>(), new_size, layout.align()).cast()
        }
    }
}

/// Sets mimalloc's purge delay to 0 (see the file's doc); called from an
/// ELF constructor of `doi-jq`, before `main`. mimalloc's own constructor
/// runs first (priority 101) and marks the options it did not find in the
/// environment as defaulted, which `mi_option_set_default` still
/// overrides; one found in the environment is marked initialized, which
/// it leaves alone.
#[allow(dead_code)] // only doi-jq trades speed for peak memory
pub fn return_freed_pages_at_once() {
    // SAFETY: only sets an option's default value; mimalloc reads the
    // purge delay afresh each time it purges.
    unsafe { mi_option_set_default(PURGE_DELAY, 0) };
}

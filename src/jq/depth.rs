//! Keeps deep programs and values from overflowing the stack.
//!
//! jaq evaluates by recursion: every nested call, pipe and path step of a
//! program takes stack, and so do dropping and comparing deeply nested
//! values. jq keeps its own heap stack; a Rust stack overflow would kill the
//! process by a signal. So every evaluation (and compilation) runs on a
//! large stack of its own, switched to on the same thread when the caller's
//! has less left (values are not `Send`), and the evaluator checks the room
//! left at every step (jaq asks for its lookup table at each step, see
//! [`super::Globals`]): with less than [`RED_ZONE`] left it unwinds to
//! [`guarded`], which turns that into an error.

use std::cell::Cell;

/// The stack an evaluation gets: reserved, committed only as it is used.
const LARGE_STACK: usize = 1 << 30;
/// Below this much room, a fresh large stack is switched to first.
const ENOUGH: usize = 256 << 20;
/// The room kept for what runs between two checks (natives, drops).
const RED_ZONE: usize = 64 << 20;

/// The error an evaluation ends with when it would go deeper.
pub(super) const TOO_DEEP: &str = "Exceeds depth limit for evaluation";

thread_local! {
    /// The lowest stack address evaluation may reach on this thread (0
    /// when no guarded evaluation runs).
    static FLOOR: Cell<usize> = const { Cell::new(0) };
}

/// Why an evaluation unwound: it reached the floor.
struct DepthExceeded;

fn stack_address() -> usize {
    let marker = 0u8;
    std::ptr::addr_of!(marker) as usize
}

/// Runs `f` with at least [`ENOUGH`] stack.
pub(super) fn on_large_stack<R>(f: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(ENOUGH, LARGE_STACK, f)
}

/// Runs `f` with the depth guard armed; `Err` when it went too deep.
pub(super) fn guarded<R>(f: impl FnOnce() -> R) -> Result<R, ()> {
    let remaining = stacker::remaining_stack().unwrap_or(ENOUGH);
    let floor = stack_address().saturating_sub(remaining.saturating_sub(RED_ZONE));
    let previous = FLOOR.with(|cell| cell.replace(floor));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    FLOOR.with(|cell| cell.set(previous));
    match outcome {
        Ok(result) => Ok(result),
        Err(payload) if payload.is::<DepthExceeded>() => Err(()),
        Err(payload) => std::panic::resume_unwind(payload),
    }
}

/// Unwinds to [`guarded`] when the stack has reached the floor.
#[inline]
pub(super) fn check() {
    if stack_address() < FLOOR.with(Cell::get) {
        // resume_unwind skips the panic hook: nothing is printed.
        std::panic::resume_unwind(Box::new(DepthExceeded));
    }
}

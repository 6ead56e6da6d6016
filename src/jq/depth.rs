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

/// The deepest program the engine takes: jaq parses, compiles and runs a
/// program by recursion over its syntax tree, so a chain of operators or
/// brackets this deep must fit in [`LARGE_STACK`]. jq's own parser stops
/// at 10,000 (bison's stack, "memory exhausted").
const MAX_PROGRAM_DEPTH: usize = 10_000;

/// jq's message for a program too deep for its parser.
pub(super) const PROGRAM_TOO_DEEP: &str = "memory exhausted";

/// Whether `code` may be deeper than [`MAX_PROGRAM_DEPTH`]: an upper bound
/// of its syntax tree's depth, from one pass over the bytes (so a program
/// too deep for a recursive lexer is caught before it is lexed). Each
/// operator and keyword counts one level, brackets one more, `;` ends a
/// definition's count; strings and comments count nothing.
pub(super) fn program_too_deep(code: &str) -> bool {
    const KEYWORDS: &[&[u8]] = &[
        b"and", b"or", b"as", b"if", b"elif", b"reduce", b"foreach", b"try", b"label", b"def",
    ];
    let bytes = code.as_bytes();
    // Per open level: its kind (`(`, `[`, `{`, `"` or `i` for `\(`) and
    // the operators counted in it so far.
    let mut levels: Vec<(u8, usize)> = vec![(b' ', 0)];
    let mut total = 0;
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        let in_string = levels.last().is_some_and(|(kind, _)| *kind == b'"');
        index += 1;
        if in_string {
            match byte {
                b'\\' if bytes.get(index) == Some(&b'(') => {
                    index += 1;
                    levels.push((b'i', 0));
                    total += 1;
                }
                b'\\' => index += 1,
                b'"' => {
                    levels.pop();
                    total -= 1;
                }
                _ => {}
            }
            continue;
        }
        match byte {
            b'#' => {
                while index < bytes.len() && bytes[index] != b'\n' {
                    index += 1;
                }
            }
            b'"' | b'(' | b'[' | b'{' => {
                levels.push((byte, 0));
                total += 1;
            }
            b')' | b']' | b'}' if levels.len() > 1 => {
                if let Some((_, counted)) = levels.pop() {
                    total -= counted + 1;
                }
            }
            b';' => {
                if let Some((_, counted)) = levels.last_mut() {
                    total -= *counted;
                    *counted = 0;
                }
            }
            b'|' | b',' | b'+' | b'-' | b'*' | b'/' | b'%' | b'=' | b'<' | b'>' | b'?' => {
                if let Some((_, counted)) = levels.last_mut() {
                    *counted += 1;
                    total += 1;
                }
            }
            b'a'..=b'z' if index == 1 || !bytes[index - 2].is_ascii_alphanumeric() => {
                let start = index - 1;
                let mut end = start;
                while end < bytes.len()
                    && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_')
                {
                    end += 1;
                }
                if KEYWORDS.contains(&&bytes[start..end]) {
                    if let Some((_, counted)) = levels.last_mut() {
                        *counted += 1;
                        total += 1;
                    }
                }
                index = end;
            }
            _ => {}
        }
        if total > MAX_PROGRAM_DEPTH {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_and_deep_programs_are_measured() {
        assert!(!program_too_deep(&vec!["1"; 6000].join("+")));
        assert!(!program_too_deep(&vec!["."; 6000].join("|")));
        assert!(program_too_deep(&vec!["."; 20_000].join("|")));
        assert!(program_too_deep(&"[".repeat(20_000)));
        // Definitions one after another do not add up.
        let module: String = (0..5000)
            .map(|n| format!("def f{n}: . + 1 | . * 2;"))
            .collect();
        assert!(!program_too_deep(&module));
        // Strings and comments count nothing.
        assert!(!program_too_deep(&format!(
            "\"{}\" # {}",
            "|".repeat(20_000),
            "+".repeat(20_000)
        )));
    }
}

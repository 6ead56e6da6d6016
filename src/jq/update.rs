//! `l |= r` as jq 1.7.1 means it: `_modify(l; r)`.
//!
//! jaq updates path by path as it goes, so when `r` yields nothing for
//! several paths into one array (`.[1,4,2,3] |= empty`), each deletion
//! shifts the indices of the next. jq 1.7.1 collects those paths and
//! deletes them together at the end. The source is rewritten so that every
//! `|=` calls our native `_modify` (see `compat::modify`), which does what
//! jq's does.
//!
//! The rewrite works on jaq's token tree, where brackets and string
//! interpolations are nested blocks, so each level is a flat sequence.
//! `|=` binds looser than `or`, `and`, comparisons and arithmetic and
//! tighter than `//`, `,` and `|` (jq's grammar): an operand runs to the
//! nearest of those (or `;`, `:`, `then`, `else`, `elif`, `end`) on its
//! side, an `if ... end` counting as one term.

use jaq_core::load::lex::{StrPart, Tok, Token};
use jaq_core::load::parse::Term;
use jaq_core::load::Lexer;
use std::borrow::Cow;
use std::ops::Range;

pub(super) fn rewrite(code: &str) -> Cow<'_, str> {
    if !code.contains("|=") {
        return Cow::Borrowed(code);
    }
    // What jaq cannot lex, jaq reports.
    let Ok(tokens) = Lexer::new(code).lex() else {
        return Cow::Borrowed(code);
    };
    let mut out = String::with_capacity(code.len() + 32);
    level(code, &tokens, 0..code.len(), &mut out);
    Cow::Owned(out)
}

fn span(code: &str, part: &str) -> Range<usize> {
    let start = part.as_ptr() as usize - code.as_ptr() as usize;
    start..start + part.len()
}

fn is_sym(token: &Token<&str>, symbols: &[&str]) -> bool {
    matches!(token, Token(text, Tok::Sym) if symbols.contains(text))
}

fn is_word(token: &Token<&str>, words: &[&str]) -> bool {
    matches!(token, Token(text, Tok::Word) if words.contains(text))
}

/// Operators that bind looser than `|=` (or as loose), and separators.
/// A block's closing bracket is the last token of its level.
const LOOSER: &[&str] = &[
    "|", ",", "//", ";", ":", "=", "|=", "+=", "-=", "*=", "/=", "%=", "//=", "?//", ")", "]", "}",
];

/// Where the left operand of the `|=` at `at` starts.
fn left_start(tokens: &[Token<&str>], at: usize) -> usize {
    let mut index = at;
    while index > 0 {
        let token = &tokens[index - 1];
        if is_sym(token, LOOSER) || is_word(token, &["then", "else", "elif", "if", "def"]) {
            return index;
        }
        if is_word(token, &["end"]) {
            // Step over the whole `if ... end`.
            let mut depth = 0;
            while index > 0 {
                index -= 1;
                if is_word(&tokens[index], &["end"]) {
                    depth += 1;
                } else if is_word(&tokens[index], &["if"]) {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
            }
            continue;
        }
        index -= 1;
    }
    0
}

/// Where the right operand of the `|=` at `at` ends (exclusive).
fn right_end(tokens: &[Token<&str>], at: usize) -> usize {
    let mut index = at + 1;
    // `reduce` and `foreach` whose `as` has not come yet.
    let mut folds = 0usize;
    // After `t as $x |`: one operand in jq's grammar, whose body runs to
    // the end of the expression (a closing bracket, `;`, `then`, ...).
    let mut binding = false;
    while index < tokens.len() {
        let token = &tokens[index];
        if is_word(token, &["if"]) {
            let mut depth = 0;
            while index < tokens.len() {
                if is_word(&tokens[index], &["if"]) {
                    depth += 1;
                } else if is_word(&tokens[index], &["end"]) {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                index += 1;
            }
            index += 1;
            continue;
        }
        if is_word(token, &["reduce", "foreach"]) {
            folds += 1;
        } else if is_word(token, &["as"]) {
            if folds == 0 {
                binding = true;
            }
            folds = folds.saturating_sub(1);
        }
        if binding {
            if is_sym(token, &[")", "]", "}", ";"])
                || is_word(token, &["then", "else", "elif", "end"])
            {
                return index;
            }
            index += 1;
            continue;
        }
        if is_sym(token, LOOSER) || is_word(token, &["then", "else", "elif", "end"]) {
            return index;
        }
        index += 1;
    }
    tokens.len()
}

/// Writes `code[range]`, which holds `tokens` (one level), with every `|=`
/// of the level and of the levels inside it rewritten.
fn level(code: &str, tokens: &[Token<&str>], range: Range<usize>, out: &mut String) {
    let Some(at) = tokens.iter().position(|token| is_sym(token, &["|="])) else {
        nested(code, tokens, range, out);
        return;
    };
    let (start, end) = (left_start(tokens, at), right_end(tokens, at));
    if start == at || end == at + 1 {
        // Not an update jq would read; leave it to jaq's parser.
        let cut = span(code, tokens[at].0).end;
        nested(code, &tokens[..=at], range.start..cut, out);
        level(code, &tokens[at + 1..], cut..range.end, out);
        return;
    }
    let left = span(code, tokens[start].0).start;
    let operator = span(code, tokens[at].0);
    let right = span(code, tokens[at + 1].0).start;
    let stop = span(code, tokens[end - 1].0).end;
    nested(code, &tokens[..start], range.start..left, out);
    out.push_str("_modify(");
    nested(code, &tokens[start..at], left..operator.start, out);
    out.push_str("; ");
    // Keep line numbers: a comment or line break after `|=` stays a break.
    let skipped = code[operator.end..right].matches('\n').count();
    out.push_str(&"\n".repeat(skipped));
    level(code, &tokens[at + 1..end], right..stop, out);
    out.push(')');
    level(code, &tokens[end..], stop..range.end, out);
}

/// Writes `code[range]` with the blocks and interpolations among `tokens`
/// rewritten.
fn nested(code: &str, tokens: &[Token<&str>], range: Range<usize>, out: &mut String) {
    let mut at = range.start;
    for token in tokens {
        let place = span(code, token.0);
        match &token.1 {
            Tok::Block(inner) => {
                out.push_str(&code[at..place.start]);
                block(code, inner, place.clone(), out);
                at = place.end;
            }
            Tok::Str(parts) => {
                for part in parts {
                    if let StrPart::Term(Token(text, Tok::Block(inner))) = part {
                        let interpolation = span(code, text);
                        out.push_str(&code[at..interpolation.start]);
                        block(code, inner, interpolation.clone(), out);
                        at = interpolation.end;
                    }
                }
            }
            _ => {}
        }
    }
    out.push_str(&code[at..range.end]);
}

/// A bracketed block: its opening bracket, then its tokens (the closing
/// bracket is the last of them) rewritten.
fn block(code: &str, inner: &[Token<&str>], place: Range<usize>, out: &mut String) {
    out.push_str(&code[place.start..place.start + 1]);
    level(code, inner, place.start + 1..place.end, out);
}

/// The value an assignment sets, bound before its paths are found.
const ASSIGNED: &str = "$__jq_assigned";

/// Updates whose left side recurses (`..`, `recurse`), rewritten to
/// `_jq_modify_paths` (see `compat::modify_each`): jq finds every path on
/// the value as it was and updates from the root down, so
/// `{"d":1} | .. |= tostream` fails on the second path, where jaq's own
/// update walks from the leaves up. `l = r`, `l op= r` and `l //= r` are
/// jq's `r as $x | _modify(l; $x)` (`. op $x`, `. // $x`) there too.
pub(super) fn recursive<'s>(term: Term<&'s str>, changed: &mut bool) -> Term<&'s str> {
    use jaq_core::load::parse::{BinaryOp, Pattern};
    let term = super::tree::children(term, &mut |inner| recursive(inner, changed));
    match term {
        Term::Call("_modify", args) if args.len() == 2 && recurses(&args[0]) => {
            *changed = true;
            Term::Call("_jq_modify_paths", args)
        }
        Term::BinOp(left, op, right)
            if matches!(
                op,
                BinaryOp::Assign | BinaryOp::UpdateMath(_) | BinaryOp::UpdateAlt
            ) && recurses(&left) =>
        {
            *changed = true;
            let assigned = Box::new(Term::Var(ASSIGNED));
            let update = match op {
                BinaryOp::UpdateMath(math) => {
                    Term::BinOp(Box::new(Term::Id), BinaryOp::Math(math), assigned)
                }
                BinaryOp::UpdateAlt => Term::BinOp(Box::new(Term::Id), BinaryOp::Alt, assigned),
                _ => *assigned,
            };
            let modify = Term::Call("_jq_modify_paths", vec![*left, update]);
            Term::BinOp(
                right,
                BinaryOp::Pipe(Some(Pattern::Var(ASSIGNED))),
                Box::new(modify),
            )
        }
        other => other,
    }
}

/// Whether `term` recurses through a value (`..` or `recurse`).
fn recurses(term: &Term<&str>) -> bool {
    if matches!(term, Term::Recurse | Term::Call("recurse", _)) {
        return true;
    }
    let mut inner = Vec::new();
    super::header::children(term, &mut inner);
    inner.into_iter().any(recurses)
}

#[cfg(test)]
mod tests {
    use super::rewrite;

    #[test]
    fn updates_become_modify_calls() {
        for (code, expected) in [
            (".a |= 1", "_modify(.a ; 1)"),
            (".a, .b |= . + 1 | .c", ".a, _modify(.b ; . + 1) | .c"),
            ("(.a |= 1) // 2", "(_modify(.a ; 1)) // 2"),
            (
                "if .x then .a |= f else . end",
                "if .x then _modify(.a ; f) else . end",
            ),
            (
                "reduce .[] as $x (.; .[$x] |= 2)",
                "reduce .[] as $x (.; _modify(.[$x] ; 2))",
            ),
            ("\"\\(.a |= 1)\"", "\"\\(_modify(.a ; 1))\""),
            (
                ".a |= if . then 1 else 2 end | .b",
                "_modify(.a ; if . then 1 else 2 end) | .b",
            ),
            (".a |= (.b |= 1)", "_modify(.a ; (_modify(.b ; 1)))"),
            (".a == 1", ".a == 1"),
        ] {
            assert_eq!(rewrite(code), expected, "{code}");
        }
    }
}

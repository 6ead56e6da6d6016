//! `if C then` rewritten as `if C | _jq_truthy then`, so a condition holds
//! no reference into the value its branch updates.
//!
//! jaq keeps the condition's output alive while the chosen branch runs. In
//! the accumulation users write, `.[$k] |= (if . then .refs += [$x] else
//! {refs: [$x]} end)`, that output is the very value being updated, so the
//! update finds it shared and copies it, and `.refs` with it: every step
//! costs the length of the list, and the loop is quadratic. Piped into
//! `_jq_truthy` (a native answering the condition's truth as a boolean,
//! see `builtins.rs`), the condition's value is dropped before the branch
//! runs and the branch updates in place. The outputs are the same: each
//! output of `C` still picks a branch by its truth, errors and all.
//!
//! The rewrite works on jaq's tokens, so strings, comments, `.then`,
//! `$then` and `{then: ...}` keys are left alone; it inserts no newline,
//! so line numbers stay.

use jaq_core::load::lex::{StrPart, Tok, Token};
use jaq_core::load::Lexer;
use std::borrow::Cow;

/// What goes before each `then`.
const TRUTHY: &str = "| _jq_truthy ";

pub(super) fn rewrite(code: &str) -> Cow<'_, str> {
    if !code.contains("then") {
        return Cow::Borrowed(code);
    }
    // What jaq cannot lex, jaq reports, from the code as written.
    let Ok(tokens) = Lexer::new(code).lex() else {
        return Cow::Borrowed(code);
    };
    // Only valid code is rewritten, so syntax errors are reported on the
    // code as written. (A program or module with a header is not parsed
    // here and keeps its conditions as they are.)
    let parses = jaq_core::load::parse(code, |parser| parser.term()).is_some()
        || jaq_core::load::parse(code, |parser| parser.defs()).is_some();
    if !parses {
        return Cow::Borrowed(code);
    }
    let mut offsets = Vec::new();
    keywords(code, &tokens, &mut offsets);
    if offsets.is_empty() {
        return Cow::Borrowed(code);
    }
    Cow::Owned(super::lexemes::inserted(code, &offsets, TRUTHY))
}

/// The offsets of the `then` keywords among `tokens` (and in the blocks
/// and string interpolations inside them), in order.
fn keywords(code: &str, tokens: &[Token<&str>], offsets: &mut Vec<usize>) {
    for (index, Token(text, kind)) in tokens.iter().enumerate() {
        match kind {
            Tok::Word if *text == "then" => {
                // An object key (`{then: 1}`, `{then}`) is followed by one
                // of these; the keyword never is.
                let key = matches!(
                    tokens.get(index + 1),
                    Some(Token(next, Tok::Sym)) if [":", ",", "}"].contains(next)
                );
                if !key && !yields_booleans(&tokens[..index]) {
                    offsets.push(text.as_ptr() as usize - code.as_ptr() as usize);
                }
            }
            Tok::Block(inner) => keywords(code, inner, offsets),
            Tok::Str(parts) => {
                for part in parts {
                    if let StrPart::Term(Token(_, Tok::Block(inner))) = part {
                        keywords(code, inner, offsets);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Whether the condition that ends `before` (at the `if` or `elif` before
/// it) already gives fresh booleans, so piping it changes nothing: its
/// last `|` part is a comparison, `and` or `or` with nothing that binds
/// looser (`,`, `//`, assignments) beside it. An `if ... end` inside the
/// condition (at its level) makes it unknown, and it is rewritten.
fn yields_booleans(before: &[Token<&str>]) -> bool {
    let mut last_part = Vec::new();
    for token in before.iter().rev() {
        match token {
            Token("if" | "elif", Tok::Word) => break,
            Token("end", Tok::Word) => return false,
            Token("|", Tok::Sym) => {
                if last_part.is_empty() {
                    return false;
                }
                // Only the last part's outputs are the condition's.
                return judge(&last_part);
            }
            other => last_part.push(other),
        }
    }
    judge(&last_part)
}

fn judge(part: &[&Token<&str>]) -> bool {
    const LOOSER: &[&str] = &[
        ",", "//", "?//", "=", "|=", "+=", "-=", "*=", "/=", "%=", "//=", "as",
    ];
    const BOOLEAN: &[&str] = &["==", "!=", "<", "<=", ">", ">=", "and", "or"];
    let looser = part
        .iter()
        .any(|Token(text, kind)| matches!(kind, Tok::Sym | Tok::Word) && LOOSER.contains(text));
    let boolean = part
        .iter()
        .any(|Token(text, kind)| matches!(kind, Tok::Sym | Tok::Word) && BOOLEAN.contains(text));
    boolean && !looser
}

#[cfg(test)]
mod tests {
    use super::rewrite;

    #[test]
    fn conditions_are_piped_into_their_truth() {
        assert_eq!(
            rewrite("if . then 1 elif .a then 2 else 3 end"),
            "if . | _jq_truthy then 1 elif .a | _jq_truthy then 2 else 3 end"
        );
        assert_eq!(
            rewrite(r#""\(if . then "a" else "b" end)" | [.[] | if . then 1 end]"#),
            r#""\(if . | _jq_truthy then "a" else "b" end)" | [.[] | if . | _jq_truthy then 1 end]"#
        );
    }

    #[test]
    fn comparisons_and_logic_are_booleans_already() {
        for code in [
            "if . < 3 then 1 else 2 end",
            "if .a == 1 and .b then 1 elif . as $x | $x > 2 then 2 else 3 end",
            r#"if (.a | length) >= 2 or .b != "x" then 1 end"#,
        ] {
            assert_eq!(rewrite(code), code);
        }
        // A value, or a value beside a comparison, is piped.
        assert_eq!(
            rewrite("if .a == 1 | .b then 1 end"),
            "if .a == 1 | .b | _jq_truthy then 1 end"
        );
        assert_eq!(
            rewrite("if .a // .b == 1 then 1 end"),
            "if .a // .b == 1 | _jq_truthy then 1 end"
        );
        assert_eq!(
            rewrite("if if . then .a else .b end == 1 then 1 end"),
            "if if . | _jq_truthy then .a else .b end == 1 | _jq_truthy then 1 end"
        );
    }

    #[test]
    fn other_thens_are_left_alone() {
        for code in [
            r#"{then: 1, a: .then, b: $then, then}"#,
            r#""then" # then"#,
            "def then_x: 1; then_x",
            // Invalid code keeps its own syntax error.
            "if then",
            "if . then 1",
            "1 + \"unclosed then",
        ] {
            assert_eq!(rewrite(code), code);
        }
        assert_eq!(
            rewrite("def f: if . then 1 else 2 end;"),
            "def f: if . | _jq_truthy then 1 else 2 end;"
        );
    }
}

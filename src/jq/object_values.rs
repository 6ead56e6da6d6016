//! jq's grammar for the values of an object construction, narrower than
//! jaq's: a value is terms joined by `|`, each perhaps negated. So
//! `{a: 1 + 2}` and `{a: if . then 1 end}` are syntax errors to jq (it
//! wants `{a: (1 + 2)}`), where jaq takes any expression. A program that
//! works with doi-jq must work with jq, so these are refused as jq refuses
//! them.

use super::header::Problem;
use super::lexemes::{lexemes, Kind, Lexeme};

/// Keywords that start what jq's grammar has as an expression, not a term.
const EXPRESSIONS: &[&str] = &["if", "try", "reduce", "foreach", "label", "def"];

/// Operators that join expressions, not terms (`-` only between terms).
const OPERATORS: &[&str] = &[
    "+", "-", "*", "/", "%", "==", "!=", "<", "<=", ">", ">=", "//", "=", "|=", "+=", "-=", "*=",
    "/=", "%=", "//=", "?//", ",", "and", "or", "as",
];

enum Frame {
    /// Inside `{ ... }`: reading a key, or a value.
    Object(Entry),
    /// Inside `( ... )`, `[ ... ]` or an interpolation; whether a `[` is
    /// an index (`.a[0]`, after which `?` may follow).
    Other { index: bool },
}

enum Entry {
    Key,
    /// `start`: where a term may start (after `:`, `|` or a unary `-`);
    /// `optional`: whether a `?` may follow what was read last.
    Value {
        start: bool,
        optional: bool,
    },
}

/// The first object value of `code` that jq's grammar refuses, with
/// bison's message at the token it stops at.
pub(super) fn problem(code: &str) -> Option<Problem> {
    let lexemes: Vec<Lexeme> = lexemes(code)
        .into_iter()
        .filter(|lexeme| !matches!(lexeme.kind, Kind::Skipped | Kind::Text | Kind::Escapes))
        .collect();
    let text = |lexeme: &Lexeme| &code[lexeme.start..lexeme.end];
    let mut frames: Vec<Frame> = vec![Frame::Other { index: false }];
    // Per open string: the frame depth it belongs to.
    let mut strings: Vec<usize> = Vec::new();
    // Whether the previous token ends a term (a `[` after it is an index).
    let mut after_term = false;
    for (position, lexeme) in lexemes.iter().enumerate() {
        let token = text(lexeme);
        let in_string = strings.last() == Some(&frames.len());
        let previous = position.checked_sub(1).map(|at| text(&lexemes[at]));
        let refused = |expecting: bool| {
            let name = match lexeme.kind {
                Kind::Name => token.to_string(),
                _ if token.chars().count() == 1 => format!("'{token}'"),
                _ => token.to_string(),
            };
            let expecting = expecting.then_some("'}'");
            Some(Problem {
                message: super::compat::syntax_problem(&name, expecting),
                at: lexeme.start,
            })
        };
        // A string is one term; only its interpolations hold code.
        if in_string {
            match token {
                "\"" => {
                    strings.pop();
                    // `."a"?` is an optional path; `"a"?` is not.
                    let field = lexemes[..position]
                        .iter()
                        .rev()
                        .find(|open| text(open) == "\"")
                        .and_then(|open| code[..open.start].trim_end().chars().last())
                        == Some('.');
                    read_term(&mut frames, field);
                    after_term = true;
                }
                "\\(" => {
                    frames.push(Frame::Other { index: false });
                    after_term = false;
                }
                _ => {}
            }
            continue;
        }
        if let Some(Frame::Object(Entry::Value { start, optional })) = frames.last() {
            let (start, optional) = (*start, *optional);
            if start && EXPRESSIONS.contains(&token) && lexeme.kind == Kind::Name {
                return refused(false);
            }
            let unary = start && token == "-";
            let binary = OPERATORS.contains(&token)
                && (lexeme.kind == Kind::Symbol || matches!(token, "and" | "or" | "as"));
            if binary && !unary && token != "," {
                return refused(true);
            }
            if token == "?" && !optional {
                return refused(true);
            }
        }
        match (lexeme.kind, token) {
            (Kind::Symbol, "\"") => {
                strings.push(frames.len());
                continue;
            }
            (Kind::Symbol, "{") => {
                read_term(&mut frames, false);
                frames.push(Frame::Object(Entry::Key));
            }
            (Kind::Symbol, "(") => {
                read_term(&mut frames, false);
                frames.push(Frame::Other { index: false });
            }
            (Kind::Symbol, "[") => {
                let index = after_term || previous == Some(".");
                read_term(&mut frames, false);
                frames.push(Frame::Other { index });
            }
            (Kind::Symbol | Kind::InterpolationEnd, ")" | "]" | "}") => {
                let index = matches!(frames.pop(), Some(Frame::Other { index: true }));
                if frames.is_empty() {
                    frames.push(Frame::Other { index: false });
                }
                if lexeme.kind == Kind::InterpolationEnd {
                    after_term = false;
                    continue;
                }
                read_term(&mut frames, index && token == "]");
            }
            _ => match frames.last_mut() {
                Some(Frame::Object(entry @ Entry::Key)) if token == ":" => {
                    *entry = Entry::Value {
                        start: true,
                        optional: false,
                    };
                }
                Some(Frame::Object(entry @ Entry::Value { .. })) if token == "," => {
                    *entry = Entry::Key;
                }
                Some(Frame::Object(Entry::Value { start, optional })) => {
                    let starts = token == "|" || (*start && token == "-");
                    *start = starts;
                    // `.a?` and `.a?.b` are paths; `.a??` is not.
                    *optional = lexeme.kind == Kind::Name && token.starts_with('.');
                }
                _ => {}
            },
        }
        after_term = lexeme.kind == Kind::Number
            || (lexeme.kind == Kind::Name && !EXPRESSIONS.contains(&token))
            || matches!(token, ")" | "]" | "}" | "." | ".." | "?" | "\"");
    }
    None
}

/// A term (bracketed, or a string) was read in the innermost frame;
/// `optional`: whether a `?` may follow it.
fn read_term(frames: &mut [Frame], optional: bool) {
    if let Some(Frame::Object(Entry::Value {
        start,
        optional: may_follow,
    })) = frames.last_mut()
    {
        *start = false;
        *may_follow = optional;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(code: &str) -> Option<(String, usize)> {
        problem(code).map(|problem| (problem.message, problem.at))
    }

    #[test]
    fn values_are_terms_joined_by_pipes() {
        for code in [
            "{a: 1}",
            "{a: 1 | 2}",
            "{a: - - 1 | -2}",
            "{a: .b?, c: .d[0]?, e: .\"f\"?, g: .h?.i}",
            "{a: [1 + 2], b: (1 + 2), c: f(1 + 2), \"d\\(1 + 2)\": 3}",
            "{(1 + 2 | tostring): 3, $x, @base64: 1}",
            ". as {a: [$x, $y]} | {a: .. | 1}",
            "{a: \"x\\(1 + 2)y\"}",
            "1 + 2, {a: 1} + {b: 2}",
        ] {
            assert_eq!(refused(code), None, "{code}");
        }
    }

    #[test]
    fn operators_and_expressions_are_refused_where_jq_refuses_them() {
        let expecting = |token: &str| {
            format!("syntax error, unexpected {token}, expecting '}}' (Unix shell quoting issues?)")
        };
        assert_eq!(refused("{a: 1 + 2}"), Some((expecting("'+'"), 6)));
        assert_eq!(refused("{a: 1, b: 2 * 3}"), Some((expecting("'*'"), 12)));
        assert_eq!(refused("{a: .b // 1}"), Some((expecting("//"), 7)));
        assert_eq!(refused("{a: 1 as $x | 2}"), Some((expecting("as"), 6)));
        assert_eq!(refused("{a: {b: 1 and 2}}"), Some((expecting("and"), 10)));
        assert_eq!(refused("{a: (1)?}"), Some((expecting("'?'"), 7)));
        assert_eq!(refused("{a: .b??}"), Some((expecting("'?'"), 7)));
        assert_eq!(
            refused("{a: if 1 then 2 end}").map(|(message, _)| message),
            Some("syntax error, unexpected if (Unix shell quoting issues?)".to_string())
        );
    }
}

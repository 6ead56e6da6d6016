//! jq's destructuring alternatives (`E as P1 ?// P2 | body`), which jaq's
//! parser lacks, rewritten into what they mean before parsing.
//!
//! jq binds `E`'s value with the first pattern and runs the body; if the
//! destructuring or the body fails, it tries the next pattern, and an error
//! of the last one propagates. Every variable of every pattern is bound,
//! `null` where the current pattern has none. The body sees the original
//! input. So `E as P1 ?// P2 | B` becomes
//!
//! ```text
//! E as $v | . as $d | try ($v as P1 | null as $only_in_P2 | B)
//!                     catch ($d | $v as P2 | null as $only_in_P1 | B)
//! ```
//!
//! Only programs containing `?//` are touched; one whose shape this does
//! not recognise is left as written (jaq then reports the syntax error).

use super::compat;
use super::header::Problem;
use super::lexemes;
use std::borrow::Cow;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Open,
    Close,
    Word,
    Variable,
    Alternative,
    Pipe,
    Semicolon,
    Other,
}

#[derive(Clone, Copy, Debug)]
struct Token {
    kind: Kind,
    start: usize,
    end: usize,
}

/// jq's tokens as this rewrite sees them ([`lexemes`] reads them): string
/// text, fields, formats, numbers and other operators are `Other`; an
/// interpolation's `\(` is an `Open` closed by its `)`, so what it holds is
/// code (jq takes `"\(. as [$a] ?// $a | $a)"`).
fn tokenize(code: &str) -> Vec<Token> {
    lexemes::lexemes(code)
        .into_iter()
        .filter(|lexeme| lexeme.kind != lexemes::Kind::Skipped)
        .map(|lexeme| {
            let text = &code[lexeme.start..lexeme.end];
            let kind = match (lexeme.kind, text) {
                (lexemes::Kind::InterpolationEnd, _) => Kind::Close,
                (lexemes::Kind::Symbol, "(" | "[" | "{" | "\\(") => Kind::Open,
                (lexemes::Kind::Symbol, ")" | "]" | "}") => Kind::Close,
                (lexemes::Kind::Symbol, "?//") => Kind::Alternative,
                (lexemes::Kind::Symbol, "|") => Kind::Pipe,
                (lexemes::Kind::Symbol, ";") => Kind::Semicolon,
                (lexemes::Kind::Name, name) if name.starts_with('$') => Kind::Variable,
                (lexemes::Kind::Name, name) if !name.starts_with(['.', '@']) => Kind::Word,
                _ => Kind::Other,
            };
            Token {
                kind,
                start: lexeme.start,
                end: lexeme.end,
            }
        })
        .collect()
}

/// Variables a pattern binds: `$name` outside the parentheses of computed
/// keys.
fn bound_variables<'c>(code: &'c str, tokens: &[Token]) -> Vec<&'c str> {
    let mut depth_in_parentheses = 0;
    let mut names = Vec::new();
    for token in tokens {
        let text = &code[token.start..token.end];
        match (token.kind, text) {
            (Kind::Open, "(" | "\\(") => depth_in_parentheses += 1,
            (Kind::Close, ")") => depth_in_parentheses -= 1,
            (Kind::Variable, name) if depth_in_parentheses == 0 && !names.contains(&name) => {
                names.push(name)
            }
            _ => {}
        }
    }
    names
}

/// A `?//` outside any `as P1 ?// P2` (which [`rewrite`] leaves) is no
/// operator in jq, so `.a?//1` fails to compile, where jaq would read `?`
/// and `//`. The problem names what jq's grammar expected there, which is
/// what it expects in place of a token that can neither follow nor start a
/// term: `end` or `:` stands in for each `?//` and jaq's parser says what
/// it expected. `None` where there is no such `?//`, or where an
/// earlier syntax error comes first (jaq reports that one).
pub(super) fn stray(code: &str) -> Option<Problem> {
    let tokens = tokenize(code);
    // Each `?//` and whether it separates the patterns of an `as`.
    let alternatives: Vec<(usize, bool)> = (0..tokens.len())
        .filter(|&index| tokens[index].kind == Kind::Alternative)
        .map(|index| {
            let separates = opening_as(code, &tokens, index)
                .and_then(|as_index| patterns(&tokens, as_index))
                .is_some_and(|(_, pipe)| index < pipe);
            (tokens[index].start, separates)
        })
        .collect();
    if alternatives.iter().all(|(_, separates)| *separates) {
        return None;
    }
    // Where a term starts, jaq reads `end` as a call: `:` is no term.
    ["end", ":"]
        .into_iter()
        .find_map(|stand_in| stray_as(code, &alternatives, stand_in))
}

/// [`stray`] with `stand_in` in place of each stray `?//`, and `|` in
/// place of those between patterns (a pattern parses as a term).
fn stray_as(code: &str, alternatives: &[(usize, bool)], stand_in: &str) -> Option<Problem> {
    use jaq_core::load::lex::{Lexer, Tok};
    use jaq_core::load::parse::Parser;
    // Spaced, so that `.a?//b` does not glue into the name `.aendb`.
    let mut substituted = String::with_capacity(code.len() + 2 * alternatives.len());
    let mut places = Vec::with_capacity(alternatives.len());
    let mut copied = 0;
    for &(at, separates) in alternatives {
        substituted.push_str(&code[copied..at]);
        substituted.push(' ');
        if separates {
            substituted.push('|');
        } else {
            places.push((substituted.len(), at));
            substituted.push_str(stand_in);
        }
        substituted.push(' ');
        copied = at + 3;
    }
    substituted.push_str(&code[copied..]);
    let tokens = Lexer::new(&substituted).lex().ok()?;
    // The header (`module`, `import`, `include` up to their `;`) is no term.
    let mut body = &tokens[..];
    while let [first, ..] = body {
        if !(matches!(first.1, Tok::Word) && ["module", "import", "include"].contains(&first.0)) {
            break;
        }
        let end = body.iter().position(|token| token.0 == ";")?;
        body = &body[end + 1..];
    }
    let offset = |token: &str| token.as_ptr() as usize - substituted.as_ptr() as usize;
    let main = Parser::new(body).parse(|parser| parser.term()).err();
    let module = || Parser::new(body).parse(|parser| parser.defs()).err();
    let problem = [main, module()].into_iter().flatten().find_map(|errors| {
        let (expected, found) = errors.first()?;
        let found = offset(found.as_ref()?.0);
        let (_, at) = places.iter().find(|(place, _)| *place == found)?;
        Some(Problem {
            message: compat::syntax_problem("?//", compat::bison_expecting(expected)),
            at: *at,
        })
    });
    problem
}

/// Rewrites every `as P1 ?// ... ?// Pn | body` of `code`.
pub(super) fn rewrite(code: &str) -> Cow<'_, str> {
    if !code.contains("?//") {
        return Cow::Borrowed(code);
    }
    let mut current = code.to_string();
    // One construct per round, innermost last; bounded by the count.
    for round in 0..code.matches("?//").count() {
        match rewrite_first(&current, round) {
            Some(next) => current = next,
            None => break,
        }
    }
    Cow::Owned(current)
}

/// Rewrites the first `as P1 ?// ... ?// Pn | body` of `code`, in phases:
/// find the construct's `as`, its patterns up to the `|`, where its body
/// ends, then write the `try` chain in its place. `None` when there is
/// nothing (left) to rewrite.
fn rewrite_first(code: &str, round: usize) -> Option<String> {
    let tokens = tokenize(code);
    let first_alternative = tokens
        .iter()
        .position(|token| token.kind == Kind::Alternative)?;
    let as_index = opening_as(code, &tokens, first_alternative)?;
    let (patterns, pipe) = patterns(&tokens, as_index)?;
    let body_end = body_end(code, &tokens[pipe + 1..]);
    let texts: Vec<&str> = patterns
        .iter()
        .map(|(from, to)| {
            let start = tokens[*from].start;
            let end = tokens[to - 1].end;
            &code[start..end]
        })
        .collect();
    if texts.len() < 2 || patterns.iter().any(|(from, to)| from >= to) {
        return None;
    }
    let variables: Vec<Vec<&str>> = patterns
        .iter()
        .map(|(from, to)| bound_variables(code, &tokens[*from..*to]))
        .collect();
    let body = &code[tokens[pipe].end..body_end];
    let replacement = alternatives(round, &texts, &variables, body);
    let mut out = String::with_capacity(code.len() + replacement.len());
    out.push_str(&code[..tokens[as_index].start]);
    out.push_str(&replacement);
    out.push_str(&code[body_end..]);
    Some(out)
}

/// The `as` that opens the patterns: the nearest one before the first
/// `?//`, at the same bracket depth.
fn opening_as(code: &str, tokens: &[Token], first_alternative: usize) -> Option<usize> {
    let mut depth = 0i32;
    for position in (0..first_alternative).rev() {
        let token = tokens[position];
        match token.kind {
            Kind::Close => depth += 1,
            Kind::Open => depth -= 1,
            Kind::Word if depth == 0 && &code[token.start..token.end] == "as" => {
                return Some(position);
            }
            _ => {}
        }
        if depth < 0 {
            return None;
        }
    }
    None
}

/// The patterns after the `as` (token ranges), which end at the `|` at
/// depth 0, and that `|`'s position.
fn patterns(tokens: &[Token], as_index: usize) -> Option<(Vec<(usize, usize)>, usize)> {
    let mut patterns: Vec<(usize, usize)> = Vec::new();
    let mut pattern_start = as_index + 1;
    let mut depth = 0i32;
    for (position, token) in tokens.iter().enumerate().skip(as_index + 1) {
        match token.kind {
            Kind::Open => depth += 1,
            Kind::Close => depth -= 1,
            Kind::Alternative if depth == 0 => {
                patterns.push((pattern_start, position));
                pattern_start = position + 1;
            }
            Kind::Pipe if depth == 0 => {
                patterns.push((pattern_start, position));
                return Some((patterns, position));
            }
            _ => {}
        }
        if depth < 0 {
            return None;
        }
    }
    None
}

/// Where the body (the tokens after the `|`) ends: at the end of the
/// enclosing scope. The body's own `if ... end`, `try ... catch` and
/// `def ...;` do not end it; the enclosing construct's keywords and
/// separators do.
fn body_end(code: &str, body: &[Token]) -> usize {
    let (mut depth, mut ifs, mut tries, mut defs) = (0i32, 0usize, 0usize, 0usize);
    for token in body {
        let text = &code[token.start..token.end];
        let ends_body = match token.kind {
            Kind::Open => {
                depth += 1;
                false
            }
            Kind::Close if depth == 0 => true,
            Kind::Close => {
                depth -= 1;
                false
            }
            _ if depth > 0 => false,
            Kind::Semicolon if defs > 0 => {
                defs -= 1;
                false
            }
            Kind::Semicolon => true,
            Kind::Word => match text {
                "if" => {
                    ifs += 1;
                    false
                }
                "then" | "elif" | "else" => ifs == 0,
                "end" if ifs > 0 => {
                    ifs -= 1;
                    false
                }
                "end" => true,
                "try" => {
                    tries += 1;
                    false
                }
                "catch" if tries > 0 => {
                    tries -= 1;
                    false
                }
                "catch" => true,
                "def" => {
                    defs += 1;
                    false
                }
                _ => false,
            },
            _ => false,
        };
        if ends_body {
            return token.start;
        }
    }
    code.len()
}

/// What replaces `as P1 ?// ... ?// Pn | body`: each pattern tried in
/// turn on the same value and input, every variable of any pattern bound
/// (to null where its pattern does not bind it), the last error kept.
fn alternatives(round: usize, texts: &[&str], variables: &[Vec<&str>], body: &str) -> String {
    let mut all: Vec<&str> = Vec::new();
    for name in variables.iter().flatten() {
        if !all.contains(name) {
            all.push(name);
        }
    }
    let value = format!("$__doi_alternative_{round}");
    let dot = format!("$__doi_input_{round}");
    let branch = |index: usize| {
        let nulls: String = all
            .iter()
            .filter(|name| !variables[index].contains(name))
            .map(|name| format!("null as {name} | "))
            .collect();
        format!("{value} as {} | {nulls}{body}", texts[index])
    };
    let mut expression = format!("({dot} | {})", branch(texts.len() - 1));
    for index in (0..texts.len() - 1).rev() {
        expression = format!("(try ({dot} | {}) catch {expression})", branch(index));
    }
    format!("as {value} | . as {dot} | {expression} ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_without_alternatives_are_untouched() {
        assert!(matches!(rewrite(". as [$a] | $a"), Cow::Borrowed(_)));
        assert!(matches!(
            rewrite("\"?//\""),
            Cow::Owned(_) | Cow::Borrowed(_)
        ));
    }

    #[test]
    fn the_body_keeps_its_own_if_try_and_def() {
        let rewritten =
            rewrite("[.[] as [$a] ?// $a | if $a then def f: 1; try f catch 0 else 2 end]");
        assert!(
            rewritten.ends_with("else 2 end) ]") || rewritten.contains("else 2 end"),
            "{rewritten}"
        );
        assert_eq!(rewritten.matches("else 2 end").count(), 2, "{rewritten}");
    }

    #[test]
    fn interpolations_are_code() {
        let rewritten = rewrite(r#""<\("\(1)" as [$a] ?// $a | "\($a)")>""#);
        assert!(!rewritten.contains("?//"), "{rewritten}");
        assert!(rewritten.ends_with(r#""\($a)")) )>""#), "{rewritten}");
        // Only the `)` of an interpolation resumes its string.
        assert!(matches!(rewrite(r#""?//""#), Cow::Owned(ref code) if code == r#""?//""#));
        assert!(stray(r#""\((1) ?// 2)""#).is_some());
        assert!(stray(r#""\(. as [$a] ?// $a | $a)""#).is_none());
    }

    #[test]
    fn every_pattern_variable_is_bound() {
        let rewritten = rewrite(".[] as [$a] ?// [$b] | {$a, $b}");
        assert!(!rewritten.contains("?//"), "{rewritten}");
        assert!(rewritten.contains("null as $b"), "{rewritten}");
        assert!(rewritten.contains("null as $a"), "{rewritten}");
    }
}

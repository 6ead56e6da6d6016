//! jq's lexer as far as its syntax errors show it: where each match of
//! its flex rules starts, and what jq's string parser says of a run of
//! escapes. jaq's lexer cuts a program differently (it skips blanks and
//! comments, reads `1.` as an error, checks escapes itself), so where jq's
//! error names a place or a string, it is worked out here.

use super::header::Problem;

/// What one match of jq's lexer is, as far as errors tell them apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// Blanks (`[ \n\t]+`) or a comment.
    Skipped,
    /// A string's text between escapes.
    Text,
    /// A run of escapes inside a string (jq's lexer takes them as one).
    Escapes,
    /// A name, keyword, field, variable or format.
    Name,
    Number,
    /// An operator, bracket or quote.
    Symbol,
    /// The `)` that closes an interpolation.
    InterpolationEnd,
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Lexeme {
    pub(super) kind: Kind,
    pub(super) start: usize,
    pub(super) end: usize,
}

const OPERATORS: &[&str] = &[
    "?//", "//=", "|=", "+=", "-=", "*=", "/=", "%=", "==", "!=", "<=", ">=", "//", "..",
];

/// The matches of jq's lexer over `code`. Only where each starts matters
/// to the errors, so names, numbers and operators are read just well
/// enough to find their starts.
pub(super) fn lexemes(code: &str) -> Vec<Lexeme> {
    let bytes = code.as_bytes();
    let is_name = |byte: u8| byte.is_ascii_alphanumeric() || byte == b'_';
    let starts_name =
        |byte: Option<&u8>| byte.is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_');
    // A name with its `::` qualifiers, from `index`.
    let name_end = |mut index: usize| loop {
        while index < bytes.len() && is_name(bytes[index]) {
            index += 1;
        }
        if code[index..].starts_with("::") && starts_name(bytes.get(index + 2)) {
            index += 2;
        } else {
            return index;
        }
    };
    let digits_end = |mut index: usize| {
        while index < bytes.len() && bytes[index].is_ascii_digit() {
            index += 1;
        }
        index
    };
    let mut lexemes = Vec::new();
    // The bracket depth at each open interpolation, innermost last.
    let mut interpolations: Vec<usize> = Vec::new();
    let (mut depth, mut in_string) = (0, false);
    let mut index = 0;
    while index < bytes.len() {
        let start = index;
        let byte = bytes[index];
        let rest = &code[index..];
        let (kind, end) = if in_string {
            match byte {
                b'"' => {
                    in_string = false;
                    (Kind::Symbol, index + 1)
                }
                b'\\' if rest.starts_with("\\(") => {
                    interpolations.push(depth);
                    depth += 1;
                    in_string = false;
                    (Kind::Symbol, index + 2)
                }
                b'\\' => (Kind::Escapes, escapes_end(code, index)),
                _ => {
                    let end = rest.find(['\\', '"']).map_or(bytes.len(), |at| index + at);
                    (Kind::Text, end)
                }
            }
        } else {
            match byte {
                b' ' | b'\t' | b'\n' => {
                    let blanks = rest.find(|c| !matches!(c, ' ' | '\t' | '\n'));
                    (Kind::Skipped, index + blanks.unwrap_or(rest.len()))
                }
                b'#' => (
                    Kind::Skipped,
                    rest.find('\n').map_or(bytes.len(), |at| index + at),
                ),
                b'"' => {
                    in_string = true;
                    (Kind::Symbol, index + 1)
                }
                b'(' | b'[' | b'{' => {
                    depth += 1;
                    (Kind::Symbol, index + 1)
                }
                b')' if depth > 0 && interpolations.last() == Some(&(depth - 1)) => {
                    interpolations.pop();
                    depth -= 1;
                    in_string = true;
                    (Kind::InterpolationEnd, index + 1)
                }
                b')' | b']' | b'}' => {
                    depth = depth.saturating_sub(1);
                    (Kind::Symbol, index + 1)
                }
                b'$' | b'@' | b'.' if starts_name(bytes.get(index + 1)) => {
                    (Kind::Name, name_end(index + 1))
                }
                _ if starts_name(Some(&byte)) => (Kind::Name, name_end(index)),
                _ if byte.is_ascii_digit()
                    || byte == b'.' && bytes.get(index + 1).is_some_and(u8::is_ascii_digit) =>
                {
                    let mut end = digits_end(index);
                    if bytes.get(end) == Some(&b'.') {
                        end = digits_end(end + 1);
                    }
                    let sign = usize::from(matches!(bytes.get(end + 1), Some(b'+' | b'-')));
                    if matches!(bytes.get(end), Some(b'e' | b'E'))
                        && bytes.get(end + 1 + sign).is_some_and(u8::is_ascii_digit)
                    {
                        end = digits_end(end + 1 + sign);
                    }
                    (Kind::Number, end)
                }
                _ => {
                    let length = OPERATORS
                        .iter()
                        .find(|operator| rest.starts_with(**operator))
                        .map_or_else(
                            || rest.chars().next().map_or(1, char::len_utf8),
                            |o| o.len(),
                        );
                    (Kind::Symbol, index + length)
                }
            }
        };
        lexemes.push(Lexeme { kind, start, end });
        index = end;
    }
    lexemes
}

/// `code` with `text` inserted at each of `offsets` (ascending): how the
/// text rewrites mark the places they found.
pub(super) fn inserted(code: &str, offsets: &[usize], text: &str) -> String {
    let mut out = String::with_capacity(code.len() + offsets.len() * text.len());
    let mut copied = 0;
    for &offset in offsets {
        out.push_str(&code[copied..offset]);
        out.push_str(text);
        copied = offset;
    }
    out.push_str(&code[copied..]);
    out
}

/// The end of the run of escapes starting at `index` (a `\`): jq's rule
/// `(\\[^u(]|\\u[a-zA-Z0-9]{0,4})+`.
fn escapes_end(code: &str, index: usize) -> usize {
    let bytes = code.as_bytes();
    let mut end = index;
    while bytes.get(end) == Some(&b'\\') && bytes.get(end + 1) != Some(&b'(') {
        let Some(escaped) = code[end + 1..].chars().next() else {
            break;
        };
        end += 1 + escaped.len_utf8();
        if escaped == 'u' {
            end += code[end..]
                .bytes()
                .take(4)
                .take_while(u8::is_ascii_alphanumeric)
                .count();
        }
    }
    end.max(index + 1)
}

/// Where jq's lexer stands when it meets the end of `code`: at the start
/// of its last match, since flex moves the location at every match (blanks
/// and comments too) but not at the end. So `1 + ` fails at the blank,
/// `1 +` at the `+`.
pub(super) fn end_of_file_place(code: &str) -> usize {
    lexemes(code).last().map_or(0, |lexeme| lexeme.start)
}

/// The first carriage return outside strings and comments, which jq's
/// lexer (blanks are `[ \n\t]`) takes for an invalid character, so that a
/// program with CRLF line ends does not compile; jaq's takes it for a
/// blank.
pub(super) fn carriage_return(code: &str) -> Option<Problem> {
    if !code.contains('\r') {
        return None;
    }
    let at = lexemes(code)
        .into_iter()
        .find(|lexeme| lexeme.kind == Kind::Symbol && &code[lexeme.start..lexeme.end] == "\r")?
        .start;
    let expecting = (nothing_before(code, at) || ends_term(code, at)).then_some("end of file");
    Some(Problem {
        message: super::compat::syntax_problem("INVALID_CHARACTER", expecting),
        at,
    })
}

/// Whether the `)` at `offset` closes an interpolation.
pub(super) fn closes_interpolation(code: &str, offset: usize) -> bool {
    lexemes(code)
        .iter()
        .any(|lexeme| lexeme.start == offset && lexeme.kind == Kind::InterpolationEnd)
}

/// Whether only blanks and comments come before `at`.
pub(super) fn nothing_before(code: &str, at: usize) -> bool {
    lexemes(&code[..at.min(code.len())])
        .iter()
        .all(|lexeme| lexeme.kind == Kind::Skipped)
}

/// Whether the code before `at` ends in something that completes a term,
/// so that bison, meeting a token that cannot follow it, says it expected
/// the end (`1 ^` is "expecting end of file", `1 + ^` expects nothing).
pub(super) fn ends_term(code: &str, at: usize) -> bool {
    const OPENING: &[&str] = &[
        "and", "or", "as", "if", "then", "elif", "else", "reduce", "foreach", "try", "catch",
        "label", "def", "import", "include",
    ];
    let code = &code[..at.min(code.len())];
    let Some(last) = lexemes(code)
        .into_iter()
        .rev()
        .find(|lexeme| lexeme.kind != Kind::Skipped)
    else {
        return false;
    };
    let text = &code[last.start..last.end];
    match last.kind {
        Kind::Number => true,
        Kind::Name => !OPENING.contains(&text),
        Kind::Symbol => matches!(text, "\"" | ")" | "]" | "}" | "." | ".." | "?"),
        Kind::Text | Kind::Escapes | Kind::Skipped | Kind::InterpolationEnd => false,
    }
}

/// The `if` or `try` whose error rule catches a syntax error at `offset`,
/// and where it starts: jq's grammar recovers from an error after an
/// open `if ... then` (or right after a `catch`) by reporting "Possibly
/// unterminated 'if' statement" there as a second error. bison unwinds to
/// the innermost such construct; an open bracket, whose own error rule
/// takes the error, stops it.
pub(super) fn unterminated(code: &str, offset: usize) -> Option<(&'static str, usize)> {
    enum Open {
        Bracket,
        If { start: usize, then: bool },
    }
    let code = &code[..offset.min(code.len())];
    let lexemes: Vec<Lexeme> = lexemes(code)
        .into_iter()
        .filter(|lexeme| lexeme.kind != Kind::Skipped)
        .collect();
    let text = |lexeme: &Lexeme| &code[lexeme.start..lexeme.end];
    if let Some(last) = lexemes.last() {
        if last.kind == Kind::Name && text(last) == "catch" {
            let start = lexemes
                .iter()
                .rev()
                .find(|lexeme| lexeme.kind == Kind::Name && text(lexeme) == "try")?
                .start;
            return Some(("try", start));
        }
    }
    let mut open = Vec::new();
    for lexeme in &lexemes {
        match (lexeme.kind, text(lexeme)) {
            (Kind::Symbol, "(" | "[" | "{" | "\\(") => open.push(Open::Bracket),
            (Kind::Symbol, ")" | "]" | "}") | (Kind::InterpolationEnd, _) => {
                while let Some(Open::If { .. }) = open.last() {
                    open.pop();
                }
                open.pop();
            }
            (Kind::Name, "if") => open.push(Open::If {
                start: lexeme.start,
                then: false,
            }),
            (Kind::Name, "then") => {
                if let Some(Open::If { then, .. }) = open.last_mut() {
                    *then = true;
                }
            }
            (Kind::Name, "end") => {
                if let Some(Open::If { .. }) = open.last() {
                    open.pop();
                }
            }
            _ => {}
        }
    }
    open.iter().rev().find_map(|construct| match construct {
        Open::Bracket => Some(None),
        Open::If { start, then: true } => Some(Some(("if", *start))),
        Open::If { then: false, .. } => None,
    })?
}

/// The run of escapes around `offset` and what jq's string parser says of
/// it (jq hands the run, quoted, to its JSON parser), as jq words it:
/// `Invalid escape at line 1, column 4 (while parsing '"\x"')`. `None`
/// where jq finds nothing wrong there.
pub(super) fn escape_problem(code: &str, offset: usize) -> Option<(String, usize)> {
    let run = lexemes(code).into_iter().find(|lexeme| {
        lexeme.kind == Kind::Escapes && lexeme.start <= offset && offset <= lexeme.end
    })?;
    let text = &code[run.start..run.end];
    let problem = json_escapes_problem(text)?;
    let quoted = format!("\"{text}\"");
    let message = format!(
        "{problem} at line 1, column {} (while parsing '{quoted}')",
        quoted.len()
    );
    Some((message, run.start))
}

/// jq's JSON parser on the escapes `text`: its first complaint.
fn json_escapes_problem(text: &str) -> Option<&'static str> {
    let bytes = text.as_bytes();
    let hex4 = |at: usize| -> Option<u32> {
        let digits = text.get(at..at + 4)?;
        digits
            .bytes()
            .all(|b| b.is_ascii_hexdigit())
            .then(|| u32::from_str_radix(digits, 16).ok())
            .flatten()
    };
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] != b'\\' {
            index += text[index..].chars().next().map_or(1, char::len_utf8);
            continue;
        }
        let escaped = text[index + 1..].chars().next()?;
        index += 1 + escaped.len_utf8();
        match escaped {
            '\\' | '"' | '/' | 'b' | 'f' | 'n' | 'r' | 't' => {}
            'u' => {
                if index + 4 > bytes.len() {
                    return Some("Invalid \\uXXXX escape");
                }
                let Some(unit) = hex4(index) else {
                    return Some("Invalid characters in \\uXXXX escape");
                };
                index += 4;
                if (0xD800..0xDC00).contains(&unit) {
                    let low = text[index..]
                        .strip_prefix("\\u")
                        .and_then(|_| hex4(index + 2))
                        .filter(|low| (0xDC00..0xE000).contains(low));
                    if low.is_none() {
                        return Some("Invalid \\uXXXX\\uXXXX surrogate pair escape");
                    }
                    index += 6;
                }
            }
            _ => return Some("Invalid escape"),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_end_of_file_is_where_the_last_match_starts() {
        assert_eq!(end_of_file_place("1 +"), 2);
        assert_eq!(end_of_file_place("1 +  "), 3);
        assert_eq!(end_of_file_place("1 + # c"), 4);
        assert_eq!(end_of_file_place("1 //"), 2);
        assert_eq!(end_of_file_place("\"a\\(1) b"), 6);
        assert_eq!(end_of_file_place("\"a\\n"), 2);
        assert_eq!(end_of_file_place("$__loc__ +"), 9);
        assert_eq!(end_of_file_place("a::b"), 0);
        assert_eq!(end_of_file_place(""), 0);
    }

    #[test]
    fn terms_end_in_values_names_and_closers() {
        for code in [
            "1",
            "1 ",
            ".a",
            "$x",
            "f",
            ")",
            "\"s\"",
            "if 1 then 2 end",
            ".[]?",
        ] {
            assert!(ends_term(code, code.len()), "{code}");
        }
        for code in ["", "1 +", "1 as", "if", "(", "reduce", "1 |", "\"s"] {
            assert!(!ends_term(code, code.len()), "{code}");
        }
    }

    #[test]
    fn escapes_are_judged_as_jq_judges_them() {
        let problem = |code: &str| escape_problem(code, 2);
        assert_eq!(
            problem(r#""\x""#).unwrap().0,
            r#"Invalid escape at line 1, column 4 (while parsing '"\x"')"#
        );
        assert_eq!(
            problem(r#""\u12\n""#).unwrap().0,
            r#"Invalid characters in \uXXXX escape at line 1, column 8 (while parsing '"\u12\n"')"#
        );
        assert_eq!(
            problem(r#""\u00e""#).unwrap().0,
            r#"Invalid \uXXXX escape at line 1, column 7 (while parsing '"\u00e"')"#
        );
        assert!(problem(r#""\ud800""#)
            .unwrap()
            .0
            .starts_with("Invalid \\uXXXX\\uXXXX"));
        assert_eq!(problem(r#""\n\ud83d\ude00""#), None);
        assert_eq!(problem(r#""\udc00""#), None);
    }
}

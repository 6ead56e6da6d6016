//! JSON text to engine values, keeping what jq 1.7 keeps.
//!
//! jaq-json's reader turns the literal `-0` into the integer 0, so
//! `jq .` of `-0` would print `0` where jq prints `-0`. This reader keeps
//! every number's text as jaq does (integers exact at any size, other
//! literals as written) and reads `-0` as negative zero. It is iterative,
//! so deep input cannot overflow the stack, and it stops at jq's depth
//! limit with jq's message.

use jaq_json::{Map, Val};
use std::fmt;

/// jq 1.7.1 refuses input nested deeper than this (`MAX_PARSING_DEPTH`).
const MAX_DEPTH: usize = 256;

/// Where and why a JSON text could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    /// 1-based line of the offending byte.
    pub line: usize,
    /// 1-based column (in bytes) of the offending byte.
    pub column: usize,
    pub message: String,
    /// Byte offset of the offending byte in the text read.
    pub offset: usize,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at line {}, column {}",
            self.message, self.line, self.column
        )
    }
}

impl std::error::Error for ReadError {}

/// Reads exactly one JSON value (surrounding whitespace allowed).
pub fn parse_single(text: &[u8]) -> Result<Val, ReadError> {
    let mut reader = Reader::new(text);
    let value = reader
        .value()?
        .ok_or_else(|| reader.error("expected a JSON value, found the end of the input"))?;
    reader.skip_whitespace();
    if reader.position < text.len() {
        return Err(reader.error("unexpected text after the JSON value"));
    }
    Ok(value)
}

/// Reads a stream of JSON values, as jq reads its inputs. After an error
/// the stream ends.
pub fn parse_many(text: &[u8]) -> impl Iterator<Item = Result<Val, ReadError>> + '_ {
    parse_many_with_ends(text).map(|value| value.map(|(value, _)| value))
}

/// [`parse_many`] with the offset just past each value, so a caller can
/// tell which line (and file) a value ended in.
pub fn parse_many_with_ends(
    text: &[u8],
) -> impl Iterator<Item = Result<(Val, usize), ReadError>> + '_ {
    let mut reader = Reader::new(text);
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed {
            return None;
        }
        let value = reader.value().transpose();
        if matches!(value, Some(Err(_))) {
            failed = true;
        }
        value.map(|value| value.map(|value| (value, reader.position)))
    })
}

struct Reader<'t> {
    text: &'t [u8],
    position: usize,
}

/// A container being filled, with the key awaiting its value for objects.
enum Open {
    Array(Vec<Val>),
    Object(Map, Option<Val>),
}

/// The UTF-8 byte-order mark, which jq skips at the start of its input.
const BOM: &[u8] = b"\xEF\xBB\xBF";

impl<'t> Reader<'t> {
    fn new(text: &'t [u8]) -> Self {
        let position = if text.starts_with(BOM) { BOM.len() } else { 0 };
        Self { text, position }
    }
}

impl Reader<'_> {
    fn error(&self, message: &str) -> ReadError {
        if self.position >= self.text.len() {
            // jq: whatever was open at the end, at the column after it.
            let what = if message.starts_with("unfinished string") {
                "Unfinished string at EOF"
            } else {
                "Unfinished JSON term at EOF"
            };
            let mut error = self.error_at_position(what);
            error.column -= 1;
            return error;
        }
        self.error_at_position(message)
    }

    fn error_at_position(&self, message: &str) -> ReadError {
        let before = &self.text[..self.position.min(self.text.len())];
        let line = before.iter().filter(|&&byte| byte == b'\n').count() + 1;
        let column = before
            .iter()
            .rev()
            .take_while(|&&byte| byte != b'\n')
            .count()
            + 1;
        ReadError {
            offset: before.len(),
            line,
            column,
            message: message.to_string(),
        }
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.text.get(self.position) {
            self.position += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_whitespace();
        self.text.get(self.position).copied()
    }

    /// The next value, or `None` at the end of the input.
    fn value(&mut self) -> Result<Option<Val>, ReadError> {
        let mut stack: Vec<Open> = Vec::new();
        loop {
            // Read one scalar or open one container.
            let Some(byte) = self.peek() else {
                if stack.is_empty() {
                    return Ok(None);
                }
                return Err(self.error("unfinished JSON value at the end of the input"));
            };
            let mut value = match byte {
                b'{' | b'[' => {
                    if stack.len() >= MAX_DEPTH {
                        return Err(self.error("Exceeds depth limit for parsing"));
                    }
                    self.position += 1;
                    let closing = if byte == b'{' { b'}' } else { b']' };
                    if self.peek() == Some(closing) {
                        self.position += 1;
                        if byte == b'{' {
                            Val::obj(Map::default())
                        } else {
                            Val::from_iter(std::iter::empty::<Val>())
                        }
                    } else {
                        stack.push(if byte == b'{' {
                            Open::Object(Map::default(), None)
                        } else {
                            Open::Array(Vec::new())
                        });
                        if byte == b'{' {
                            let key = self.key()?;
                            if let Some(Open::Object(_, pending)) = stack.last_mut() {
                                *pending = Some(key);
                            }
                        }
                        continue;
                    }
                }
                b'"' => Val::utf8_str(self.string()?),
                b']' | b'}' | b',' | b':' => return Err(self.error("expected a JSON value")),
                _ => self.token()?,
            };
            // Hand the value to the containers it completes.
            loop {
                let Some(open) = stack.last_mut() else {
                    return Ok(Some(value));
                };
                let next = self.peek();
                match open {
                    Open::Array(items) => {
                        items.push(value);
                        match next {
                            Some(b',') => {
                                self.position += 1;
                                break;
                            }
                            Some(b']') => {
                                self.position += 1;
                                let Some(Open::Array(items)) = stack.pop() else {
                                    return Err(self.error("internal reader state"));
                                };
                                value = items.into_iter().collect();
                            }
                            _ => return Err(self.error("expected ',' or ']' in an array")),
                        }
                    }
                    Open::Object(map, pending) => {
                        if let Some(key) = pending.take() {
                            map.insert(key, value);
                        }
                        match next {
                            Some(b',') => {
                                self.position += 1;
                                let key = self.key()?;
                                *pending = Some(key);
                                break;
                            }
                            Some(b'}') => {
                                self.position += 1;
                                let Some(Open::Object(map, _)) = stack.pop() else {
                                    return Err(self.error("internal reader state"));
                                };
                                value = Val::obj(map);
                            }
                            _ => return Err(self.error("expected ',' or '}' in an object")),
                        }
                    }
                }
            }
        }
    }

    /// An object key and its colon.
    fn key(&mut self) -> Result<Val, ReadError> {
        if self.peek() != Some(b'"') {
            return Err(self.error("expected a string as object key"));
        }
        let key = Val::utf8_str(self.string()?);
        if self.peek() != Some(b':') {
            return Err(self.error("expected ':' after an object key"));
        }
        self.position += 1;
        Ok(key)
    }

    /// A bare token: `true`, `false`, `null`, a number, or one of the
    /// numbers jq 1.7.1 reads besides JSON's (`nan`, decNumber's `NaN`,
    /// `-NaN`, `nan1234`, `Infinity`, `-Infinity`).
    fn token(&mut self) -> Result<Val, ReadError> {
        let start = self.position;
        let length = self.text[start..]
            .iter()
            .position(|byte| {
                matches!(
                    byte,
                    b' ' | b'\t' | b'\n' | b'\r' | b'[' | b']' | b'{' | b'}' | b',' | b':' | b'"'
                )
            })
            .unwrap_or(self.text.len() - start);
        let token = &self.text[start..start + length];
        let end = start + length;
        let word = match token {
            b"true" => Some(Val::Bool(true)),
            b"false" => Some(Val::Bool(false)),
            b"null" => Some(Val::Null),
            b"nan" => Some(Val::from(f64::NAN)),
            _ => None,
        };
        if let Some(value) = word {
            self.position = end;
            return Ok(value);
        }
        if let Ok(value) = self.number() {
            if self.position == end {
                return Ok(value);
            }
        }
        self.position = end;
        if let Some(special) = special_number(token) {
            return Ok(special);
        }
        let literal = matches!(token.first(), Some(b't' | b'f' | b'n')) && length <= 5;
        Err(self.error(if literal {
            "Invalid literal"
        } else {
            "Invalid numeric literal"
        }))
    }

    /// A number, kept as its literal text (jq 1.7 prints unchanged
    /// literals as written); `-0` becomes negative zero.
    fn number(&mut self) -> Result<Val, ReadError> {
        let start = self.position;
        let digits = |reader: &mut Self| {
            let begin = reader.position;
            while let Some(b'0'..=b'9') = reader.text.get(reader.position) {
                reader.position += 1;
            }
            reader.position > begin
        };
        if self.text.get(self.position) == Some(&b'-') {
            self.position += 1;
        }
        if !digits(self) {
            return Err(self.error("expected digits in a number"));
        }
        let mut integer = true;
        if self.text.get(self.position) == Some(&b'.') {
            integer = false;
            self.position += 1;
            if !digits(self) {
                return Err(self.error("expected digits after a decimal point"));
            }
        }
        if let Some(b'e' | b'E') = self.text.get(self.position) {
            integer = false;
            self.position += 1;
            if let Some(b'+' | b'-') = self.text.get(self.position) {
                self.position += 1;
            }
            if !digits(self) {
                return Err(self.error("expected digits in an exponent"));
            }
        }
        let text = std::str::from_utf8(&self.text[start..self.position]).unwrap_or("0");
        if integer
            && text
                .trim_start_matches('-')
                .trim_start_matches('0')
                .is_empty()
            && text.starts_with('-')
        {
            return Ok(Val::from(-0.0f64));
        }
        <Val as jaq_core::ValT>::from_num(text).map_err(|_| self.error("invalid number"))
    }

    /// A string's content; escapes decoded, UTF-16 surrogate pairs joined,
    /// lone surrogates replaced by U+FFFD as jq does.
    fn string(&mut self) -> Result<Vec<u8>, ReadError> {
        self.position += 1;
        let mut out = Vec::new();
        loop {
            let start = self.position;
            while let Some(&byte) = self.text.get(self.position) {
                if byte == b'"' || byte == b'\\' {
                    break;
                }
                self.position += 1;
            }
            out.extend_from_slice(&self.text[start..self.position]);
            match self.text.get(self.position) {
                None => return Err(self.error("unfinished string at the end of the input")),
                Some(b'"') => {
                    self.position += 1;
                    return Ok(out);
                }
                Some(_) => {
                    self.position += 1;
                    let Some(&escape) = self.text.get(self.position) else {
                        return Err(self.error("unfinished escape at the end of the input"));
                    };
                    self.position += 1;
                    let simple = match escape {
                        b'"' => b'"',
                        b'\\' => b'\\',
                        b'/' => b'/',
                        b'b' => 0x08,
                        b'f' => 0x0C,
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'u' => {
                            let character = self.unicode_escape()?;
                            let mut buffer = [0; 4];
                            out.extend_from_slice(character.encode_utf8(&mut buffer).as_bytes());
                            continue;
                        }
                        _ => {
                            // jq places the error just past the bad character.
                            return Err(self.error("Invalid escape"));
                        }
                    };
                    out.push(simple);
                }
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, ReadError> {
        let digits = self
            .text
            .get(self.position..self.position + 4)
            .and_then(|digits| std::str::from_utf8(digits).ok())
            .and_then(|digits| u32::from_str_radix(digits, 16).ok())
            .ok_or_else(|| self.error("expected four hex digits after \\u"))?;
        self.position += 4;
        Ok(digits)
    }

    fn unicode_escape(&mut self) -> Result<char, ReadError> {
        let unit = self.hex4()?;
        if (0xD800..0xDC00).contains(&unit) && self.text[self.position..].starts_with(b"\\u") {
            let saved = self.position;
            self.position += 2;
            let low = self.hex4()?;
            if (0xDC00..0xE000).contains(&low) {
                let code = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                return Ok(char::from_u32(code).unwrap_or('\u{FFFD}'));
            }
            self.position = saved;
        }
        Ok(char::from_u32(unit).unwrap_or('\u{FFFD}'))
    }
}

/// decNumber's special values, as jq 1.7.1 reads them in JSON text.
fn special_number(token: &[u8]) -> Option<Val> {
    let text = std::str::from_utf8(token).ok()?.to_ascii_lowercase();
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(&text)),
    };
    if unsigned == "inf" || unsigned == "infinity" {
        return Some(Val::from(if negative {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        }));
    }
    let payload = unsigned
        .strip_prefix("nan")
        .or_else(|| unsigned.strip_prefix("snan"))?;
    payload
        .bytes()
        .all(|byte| byte.is_ascii_digit())
        .then(|| Val::from(f64::NAN))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jq::print::{to_vec, PrintOptions};

    fn round_trip(text: &str) -> String {
        let value = parse_single(text.as_bytes()).expect("valid JSON");
        String::from_utf8(to_vec(&value, &PrintOptions::compact())).expect("UTF-8")
    }

    #[test]
    fn numbers_keep_their_text_and_negative_zero() {
        assert_eq!(
            round_trip("[-0, 0, -0.0, 1.000, 1e2, 100000000000000000001, -12]"),
            "[-0,0,-0.0,1.000,1E+2,100000000000000000001,-12]"
        );
    }

    #[test]
    fn strings_decode_escapes_and_surrogates() {
        assert_eq!(
            round_trip(r#""a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00\ud800x""#),
            "\"a\\\"\\\\/\\b\\f\\n\\r\\té😀\u{FFFD}x\""
        );
    }

    #[test]
    fn objects_keep_order_and_last_duplicate_wins() {
        assert_eq!(
            round_trip(r#"{"b":1,"a":{},"c":[],"b":2}"#),
            r#"{"b":2,"a":{},"c":[]}"#
        );
    }

    #[test]
    fn streams_and_errors_name_the_place() {
        let values: Vec<_> = parse_many(b"1 [2]\n{\"a\":3}").collect();
        assert_eq!(values.len(), 3);
        let error = parse_single(b"{\"a\":1,\n \"b\" 2}").expect_err("missing colon");
        assert_eq!((error.line, error.column), (2, 6), "{error}");
        assert!(parse_single(b"[1,]").is_err());
        assert!(parse_single(b"01x").is_err());
        assert!(parse_single(b"1 2").is_err());
        let mut stream = parse_many(b"1 {");
        assert!(matches!(stream.next(), Some(Ok(_))));
        assert!(matches!(stream.next(), Some(Err(_))));
        assert!(stream.next().is_none());
    }

    #[test]
    fn deep_input_is_refused_without_overflowing_the_stack() {
        let deep = "[".repeat(MAX_DEPTH + 1);
        let error = parse_single(deep.as_bytes()).expect_err("too deep");
        assert!(error.message.contains("depth limit"), "{error}");
        let fine = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse_single(fine.as_bytes()).is_ok());
    }
}

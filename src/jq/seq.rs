//! `jq --seq` input (RFC 7464 JSON text sequences), read as jq 1.7.1
//! reads it and as it arrives: a value is run as soon as jq would hand
//! it out, so a producer that writes one record and waits for the answer
//! is answered, and a long sequence is never held in memory at once.
//!
//! jq reads a sequence a byte at a time with a state machine of its own
//! whose habits users meet, so [`Parser`] follows it step for step rather
//! than splitting records and parsing them whole:
//! - What comes before the first record separator (RS) is dropped, and
//!   reported only when no RS comes at all.
//! - A mistake drops what was being read; reading goes on after the byte
//!   that showed it, not at the next RS, whatever the message says. A
//!   number or literal that byte ends is dropped with it (`1}`, not
//!   `"a"}`).
//! - An RS cuts short what it interrupts (`Truncated value`) unless the
//!   byte before it was a space; a number it cuts is reported as
//!   potentially truncated, as one that ends the input is.
//!
//! And habits of jq's reading loop, not of its parser, which [`Records`]
//! follows: jq reads a line (a piece of one, [`PieceEnd`]) at a time,
//! and an RS that ends nothing, in the last piece and before anything was
//! handed out from it, stops the main loop there (`\x1e\x1e[2]` gives
//! nothing; with a newline after it, `[2]`). Where jq says it is after
//! the end depends on whether it read again, and so closed the input.
//!
//! The messages are what jq prints after `jq: ignoring parse error: `.

use super::read::{entries_map, literal, parse_single, Input, PieceEnd, MAX_DEPTH};
use super::{InputPlace, Val};
use std::borrow::Cow;

const RS: u8 = 0x1e;

/// The UTF-8 byte-order mark, which jq strips from the start.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A value of the sequence or a mistake, and the place jq reports for
/// it (`input_line_number`, and the place an error raised by `input`
/// names).
pub type Item = (Result<Val, String>, InputPlace);

/// The values of a `--seq` input, in order, as jq hands them out: each
/// [`Iterator::next`] is a call of jq's `jq_util_input_next_input`, and
/// `None` is its "no value", which ends jq's main loop (and is `input`'s
/// "no more inputs") but not the sequence: a later `input` reads on.
pub struct Records {
    input: Input,
    parser: Parser,
    /// The line piece jq's reader holds and how far its parser has read
    /// it.
    piece: Vec<u8>,
    at: usize,
    /// The piece held is the last: its end is the input's end.
    last_piece: bool,
    /// The reader has found the end; its next read closes the input.
    found_end: bool,
    /// The input is closed, and with it jq forgets where it was.
    closed: bool,
    /// jq's parser has taken in the end.
    parser_ended: bool,
    /// With `-s`, the values so far: jq gathers them until a call finds
    /// the end with nothing left to read (mistakes go out as they come).
    slurped: Option<Vec<Val>>,
    /// The absolute offset of the next byte, the newlines before it and
    /// where the line holding it starts, for the places mistakes name.
    offset: u64,
    lines: u64,
    line_start: u64,
    bom: Bom,
    /// The bytes of a byte-order mark stripped at the start.
    stripped: u64,
}

/// How far the input's start has matched a byte-order mark.
#[derive(Clone, Copy, PartialEq)]
enum Bom {
    Matched(usize),
    Done,
    /// Only a prefix of one: jq then resets its parser at every call, so
    /// a value that spans a line piece or an RS is lost.
    Malformed,
}

impl Records {
    pub fn new(input: Input, slurp: bool) -> Self {
        Self {
            slurped: slurp.then(Vec::new),
            input,
            parser: Parser::default(),
            piece: Vec::new(),
            at: 0,
            last_piece: false,
            found_end: false,
            closed: false,
            parser_ended: false,
            offset: 0,
            lines: 0,
            line_start: 0,
            bom: Bom::Matched(0),
            stripped: 0,
        }
    }

    /// The place once the sequence has given `None`: where jq's reader
    /// stopped, or nowhere once it has closed the input.
    pub fn end_place(&mut self) -> InputPlace {
        if self.closed {
            return InputPlace::default();
        }
        self.input.end_place().unwrap_or_default()
    }

    /// jq's `jq_util_input_read_more`: takes in the next line piece, and
    /// says whether the input has ended.
    fn read_piece(&mut self) -> bool {
        self.at = 0;
        if self.found_end {
            self.closed = true;
            self.piece.clear();
            return true;
        }
        match self.input.next_piece() {
            Some((bytes, ended_by)) => {
                self.piece = bytes;
                self.last_piece = ended_by == PieceEnd::Input;
                self.strip_bom();
            }
            None => {
                self.piece.clear();
                self.last_piece = true;
            }
        }
        self.found_end = self.last_piece;
        self.last_piece
    }

    /// A byte-order mark at the start never reaches jq's parser (nor
    /// counts in its columns).
    fn strip_bom(&mut self) {
        while let (Bom::Matched(matched), Some(&byte)) = (self.bom, self.piece.get(self.at)) {
            if BOM[matched] != byte {
                self.bom = if matched == 0 {
                    Bom::Done
                } else {
                    Bom::Malformed
                };
                return;
            }
            self.bom = if matched + 1 == BOM.len() {
                Bom::Done
            } else {
                Bom::Matched(matched + 1)
            };
            self.stripped += 1;
            self.at += 1;
            self.advance(byte);
        }
    }

    /// A call of jq's `jv_parser_next`: what it hands out, if anything.
    fn parse(&mut self) -> Option<Item> {
        if self.parser_ended {
            return None;
        }
        if self.bom == Bom::Malformed {
            self.parser.reset();
        }
        while let Some(&byte) = self.piece.get(self.at) {
            self.at += 1;
            let step = self.parser.byte(byte);
            self.advance(byte);
            match step {
                Step::Nothing => {}
                Step::Empty => return None,
                step => return self.item(step),
            }
        }
        if !self.last_piece {
            return None;
        }
        self.parser_ended = true;
        let step = self.parser.end();
        self.item(step)
    }

    fn advance(&mut self, byte: u8) {
        self.offset += 1;
        if byte == b'\n' {
            self.lines += 1;
            self.line_start = self.offset;
        }
    }

    /// jq's place once the bytes before `offset` are read: the column
    /// counts the bytes of the line so far (a newline starts the next
    /// line, at column 0), a stripped byte-order mark not among them.
    fn place(&self) -> String {
        let mut column = self.offset - self.line_start;
        if self.lines == 0 {
            column -= self.stripped;
        }
        format!("line {}, column {column}", self.lines + 1)
    }

    /// What the last byte read (or the end) made, and its place.
    fn item(&mut self, step: Step) -> Option<Item> {
        let item = match step {
            Step::Nothing | Step::Empty => return None,
            Step::Value(value) => Ok(value),
            Step::Mistake(message, Cut::Byte) => {
                Err(format!("{message} at {} (need RS to resync)", self.place()))
            }
            Step::Mistake(message, Cut::Separator) => Err(format!("{message} at {}", self.place())),
            Step::Mistake(message, Cut::End) => {
                Err(format!("{message} at EOF at {}", self.place()))
            }
        };
        let place = if self.closed {
            InputPlace::default()
        } else {
            self.input.place_at(self.offset.saturating_sub(1))
        };
        Some((item, place))
    }
}

impl Iterator for Records {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        // jq asks its parser again while it hands out "no value", reading
        // the next piece when the one it holds is used up, until the read
        // that found the end: "no value" then goes back to the caller.
        let mut found_end = false;
        loop {
            if self.at == self.piece.len() {
                found_end = self.read_piece();
            }
            let item = self.parse();
            let Some(slurped) = &mut self.slurped else {
                match item {
                    Some(item) => return Some(item),
                    None if found_end => return None,
                    None => continue,
                }
            };
            match item {
                Some((Ok(value), _)) => slurped.push(value),
                Some(mistake) => return Some(mistake),
                None => {}
            }
            if found_end && self.at == self.piece.len() {
                let all = self.slurped.take()?;
                let place = self.end_place();
                return Some((Ok(all.into_iter().collect()), place));
            }
        }
    }
}

/// What one byte (or the end) made jq's parser do.
enum Step {
    Nothing,
    Value(Val),
    Mistake(Message, Cut),
    /// An RS that ended nothing: jq's parser hands out "no value".
    Empty,
}

/// What showed a mistake, which decides how jq words it.
enum Cut {
    Byte,
    Separator,
    End,
}

#[derive(Default, Clone, Copy, PartialEq)]
enum State {
    /// Before the first RS, and where nothing is read.
    #[default]
    Waiting,
    Normal,
    String,
    Escape,
}

/// jq's parse stack: an object holds the key whose value is being read
/// above it.
enum Open {
    Array(Vec<Val>),
    Object(Vec<(Val, Val)>),
    Key(Val),
}

/// jq 1.7.1's JSON parser in `--seq` mode, a byte at a time.
#[derive(Default)]
struct Parser {
    state: State,
    stack: Vec<Open>,
    /// The value just read, waiting for what comes after it.
    next: Option<Val>,
    /// The bytes of the bare word or string being read.
    token: Vec<u8>,
    last_was_space: bool,
}

/// What jq says of a mistake.
type Message = Cow<'static, str>;

type Outcome = Result<Option<Val>, Message>;

impl Parser {
    /// All but the state, which jq also leaves reading: after a mistake
    /// reading goes on at the next byte.
    fn reset(&mut self) {
        self.state = State::Normal;
        self.stack.clear();
        self.next = None;
        self.token.clear();
    }

    fn byte(&mut self, byte: u8) -> Step {
        match self.state {
            State::Waiting => {
                if byte == RS {
                    self.state = State::Normal;
                }
                Step::Nothing
            }
            _ if byte == RS => self.separator(),
            state => {
                let outcome = if state == State::Normal {
                    self.normal(byte)
                } else {
                    self.in_string(byte)
                };
                match outcome {
                    Ok(Some(value)) => Step::Value(value),
                    Ok(None) => Step::Nothing,
                    Err(message) => {
                        self.reset();
                        Step::Mistake(message, Cut::Byte)
                    }
                }
            }
        }
    }

    fn separator(&mut self) -> Step {
        let cut = !self.stack.is_empty()
            || !self.token.is_empty()
            || matches!(self.next, Some(Val::Num(_)));
        if cut && !self.last_was_space {
            let number = self.stack.is_empty()
                && self.check_literal().is_ok()
                && matches!(self.next, Some(Val::Num(_)));
            self.reset();
            let message = if number {
                "Potentially truncated top-level numeric value"
            } else {
                "Truncated value"
            };
            return Step::Mistake(message.into(), Cut::Separator);
        }
        if let Err(message) = self.check_literal() {
            self.reset();
            return Step::Mistake(message.into(), Cut::Separator);
        }
        let done = if self.state == State::Normal {
            self.check_done()
        } else {
            None
        };
        self.reset();
        done.map_or(Step::Empty, Step::Value)
    }

    fn normal(&mut self, byte: u8) -> Outcome {
        let space = matches!(byte, b' ' | b'\t' | b'\r' | b'\n');
        self.last_was_space = space;
        let structure = matches!(byte, b'[' | b'{' | b':' | b',' | b']' | b'}');
        if !(space || structure || byte == b'"') {
            self.token.push(byte);
            return Ok(None);
        }
        self.check_literal()?;
        let done = self.check_done();
        if byte == b'"' {
            self.state = State::String;
        } else if structure {
            self.structure(byte)?;
        }
        Ok(done.or_else(|| self.check_done()))
    }

    fn in_string(&mut self, byte: u8) -> Outcome {
        self.last_was_space = false;
        if byte == b'"' && self.state == State::String {
            self.found_string()?;
            self.state = State::Normal;
            return Ok(self.check_done());
        }
        self.token.push(byte);
        self.state = if byte == b'\\' && self.state == State::String {
            State::Escape
        } else {
            State::String
        };
        Ok(None)
    }

    /// The string just closed, its escapes decoded by the one reader.
    fn found_string(&mut self) -> Result<(), Message> {
        let mut text = Vec::with_capacity(self.token.len() + 2);
        text.push(b'"');
        text.extend_from_slice(&self.token);
        text.push(b'"');
        let value = parse_single(&text).map_err(|error| Cow::Owned(error.message))?;
        self.value(value)?;
        self.token.clear();
        Ok(())
    }

    fn check_literal(&mut self) -> Result<(), &'static str> {
        if self.token.is_empty() {
            return Ok(());
        }
        let value = literal(&self.token)?;
        self.value(value)?;
        self.token.clear();
        Ok(())
    }

    fn value(&mut self, value: Val) -> Result<(), &'static str> {
        if self.next.is_some() {
            return Err("Expected separator between values");
        }
        self.next = Some(value);
        Ok(())
    }

    fn check_done(&mut self) -> Option<Val> {
        if self.stack.is_empty() {
            self.next.take()
        } else {
            None
        }
    }

    /// jq's `token()`: a bracket, colon or comma.
    fn structure(&mut self, byte: u8) -> Result<(), &'static str> {
        match byte {
            b'[' | b'{' => {
                if self.stack.len() >= MAX_DEPTH {
                    return Err("Exceeds depth limit for parsing");
                }
                if self.next.is_some() {
                    return Err("Expected separator between values");
                }
                self.stack.push(if byte == b'[' {
                    Open::Array(Vec::new())
                } else {
                    Open::Object(Vec::new())
                });
            }
            b':' => {
                let Some(key) = self.next.take() else {
                    return Err("Expected string key before ':'");
                };
                match (self.stack.last(), key) {
                    (Some(Open::Object(_)), key @ (Val::TStr(_) | Val::BStr(_))) => {
                        self.stack.push(Open::Key(key))
                    }
                    (Some(Open::Object(_)), _) => return Err("Object keys must be strings"),
                    _ => return Err("':' not as part of an object"),
                }
            }
            b',' => {
                let Some(value) = self.next.take() else {
                    return Err("Expected value before ','");
                };
                match self.stack.last_mut() {
                    None => return Err("',' not as part of an object or array"),
                    Some(Open::Array(items)) => items.push(value),
                    Some(Open::Key(_)) => self.set_entry(value),
                    Some(Open::Object(_)) => return Err("Objects must consist of key:value pairs"),
                }
            }
            b']' => {
                let Some(Open::Array(items)) = self.stack.last_mut() else {
                    return Err("Unmatched ']'");
                };
                match self.next.take() {
                    Some(value) => items.push(value),
                    None if !items.is_empty() => return Err("Expected another array element"),
                    None => {}
                }
                if let Some(Open::Array(items)) = self.stack.pop() {
                    self.next = Some(items.into_iter().collect());
                }
            }
            _ => {
                match (self.stack.last(), self.next.take()) {
                    (None, _) => return Err("Unmatched '}'"),
                    (Some(Open::Key(_)), Some(value)) => self.set_entry(value),
                    (Some(_), Some(_)) => return Err("Objects must consist of key:value pairs"),
                    (Some(Open::Object(entries)), None) if !entries.is_empty() => {
                        return Err("Expected another key-value pair")
                    }
                    (Some(Open::Object(_)), None) => {}
                    (Some(_), None) => return Err("Unmatched '}'"),
                }
                if let Some(Open::Object(entries)) = self.stack.pop() {
                    self.next = Some(Val::obj(entries_map(entries)));
                }
            }
        }
        Ok(())
    }

    /// The key on top of the stack takes `value` into its object.
    fn set_entry(&mut self, value: Val) {
        if let Some(Open::Key(key)) = self.stack.pop() {
            if let Some(Open::Object(entries)) = self.stack.last_mut() {
                entries.push((key, value));
            }
        }
    }

    /// The input has ended.
    fn end(&mut self) -> Step {
        let mistake = |message: &'static str| Step::Mistake(message.into(), Cut::End);
        match self.state {
            State::Waiting => return mistake("Unfinished abandoned text"),
            State::String | State::Escape => return mistake("Unfinished string"),
            State::Normal => {}
        }
        if let Err(message) = self.check_literal() {
            return mistake(message);
        }
        if !self.stack.is_empty() {
            return mistake("Unfinished JSON term");
        }
        match self.next.take() {
            Some(Val::Num(_)) => mistake("Potentially truncated top-level numeric value"),
            Some(value) => Step::Value(value),
            None => Step::Nothing,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::value::compact_text;
    use super::*;

    /// Hands out its text `step` bytes at a time, as a pipe might.
    struct Trickle(&'static [u8], usize);

    impl std::io::Read for Trickle {
        fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
            let count = self.0.len().min(self.1).min(buffer.len());
            buffer[..count].copy_from_slice(&self.0[..count]);
            self.0 = &self.0[count..];
            Ok(count)
        }
    }

    fn shown(text: &'static [u8], step: usize) -> Vec<String> {
        let input = Input::from_reader("<stdin>", Box::new(Trickle(text, step)), false);
        Records::new(input, false)
            .map(|(item, place)| match item {
                Ok(value) => {
                    let text = compact_text(&value);
                    format!("{text} {}", place.line)
                }
                Err(message) => message,
            })
            .collect()
    }

    /// jq 1.7.1's `--seq` habits, recorded (`printf ... | jq -c --seq
    /// '[., input_line_number]'`, the errors from stderr); the same whether the text comes whole
    /// or a byte at a time.
    #[test]
    fn seq_records_as_jq_reads_them() {
        let cases: &[(&[u8], &[&str])] = &[
            // An empty record between values, and a value right at the end.
            (b"\x1e[1]\x1e\x1e[2]", &["[1] 0", "[2] 0"]),
            // A text cut short by the next RS is reported, unless a space
            // ends it outside a string.
            (b"\x1e[1]\x1e[1 \x1e[2]", &["[1] 0", "[2] 0"]),
            (
                b"\x1e[1]\x1ex\x1e[2]",
                &["[1] 0", "Truncated value at line 1, column 7", "[2] 0"],
            ),
            (
                b"\x1e[1,\x1e3\n",
                &["Truncated value at line 1, column 5", "3 1"],
            ),
            (b"\x1e{\"a\" \x1e3\n", &["3 1"]),
            (
                b"\x1e\"a \x1e3\n",
                &["Truncated value at line 1, column 5", "3 1"],
            ),
            (
                b"\x1etrue\x1e1\n",
                &["Truncated value at line 1, column 6", "1 1"],
            ),
            // After an empty first record, only values a newline follows.
            (b"\x1e\x1e[2]\x1e[3]\n\x1e[4]", &["[2] 1", "[3] 1"]),
            (b"\x1e\x1e[2]", &[]),
            // A number needs a byte after it to be whole.
            (b"\x1e1\n\x1e[2]\n", &["1 1", "[2] 2"]),
            (
                b"\x1e1\x1e2",
                &[
                    "Potentially truncated top-level numeric value at line 1, column 3",
                    "Potentially truncated top-level numeric value at EOF at line 1, column 4",
                ],
            ),
            // Several values to a record, over lines; after a mistake
            // reading goes on, not from the next RS.
            (
                b"\x1e1 \"a\"\n{\"b\":\n[2]}\x1e[1 2] 3\n\x1e4\n",
                &[
                    "1 1",
                    "\"a\" 1",
                    "{\"b\":[2]} 3",
                    "Expected separator between values at line 3, column 10 (need RS to resync)",
                    "3 3",
                    "4 4",
                ],
            ),
            (
                b"\x1e[1 2\n3] 5\n",
                &[
                    "Expected separator between values at line 2, column 0 (need RS to resync)",
                    "Unmatched ']' at line 2, column 2 (need RS to resync)",
                    "5 2",
                ],
            ),
            (
                b"\x1e1 2]  3\n",
                &[
                    "1 1",
                    "Unmatched ']' at line 1, column 5 (need RS to resync)",
                    "3 1",
                ],
            ),
            (
                b"\x1e\"a\"]\n",
                &[
                    "\"a\" 1",
                    "Unmatched ']' at line 1, column 5 (need RS to resync)",
                ],
            ),
            (
                b"\x1e1,2\n",
                &[
                    "Expected value before ',' at line 1, column 3 (need RS to resync)",
                    "2 1",
                ],
            ),
            (
                b" 1\n",
                &["Unfinished abandoned text at EOF at line 2, column 0"],
            ),
            (
                b"\x1e[1,\n2",
                &["Unfinished JSON term at EOF at line 2, column 1"],
            ),
            (
                b"\x1e\"a ",
                &["Unfinished string at EOF at line 1, column 4"],
            ),
            (
                b"\x1ex",
                &["Invalid numeric literal at EOF at line 1, column 2"],
            ),
            (b"\x1etrue", &["true 0"]),
            // A string's text is checked as a number at a cutting RS; an
            // empty one is not cut.
            (
                b"\x1e\"12\x1e[1]\n",
                &[
                    "Potentially truncated top-level numeric value at line 1, column 5",
                    "[1] 1",
                ],
            ),
            (b"\x1e\"\x1e[1]", &[]),
            (b"\x1e\"\x1e[1]\n", &["[1] 1"]),
            // Colons, in jq's order of complaints.
            (
                b"\x1e:\n",
                &["Expected string key before ':' at line 1, column 2 (need RS to resync)"],
            ),
            (
                b"\x1e[1:2]\n",
                &[
                    "':' not as part of an object at line 1, column 4 (need RS to resync)",
                    "Unmatched ']' at line 1, column 6 (need RS to resync)",
                ],
            ),
            // An empty record stops nothing when a newline ends its piece.
            (
                b"true\x1e\x1e}[a true\n\"2}",
                &[
                    "Unmatched '}' at line 1, column 7 (need RS to resync)",
                    "Invalid numeric literal at line 1, column 10 (need RS to resync)",
                    "true 1",
                    "Unfinished string at EOF at line 2, column 3",
                ],
            ),
            // A byte-order mark is not counted; a broken one resets the
            // parser at every call.
            (
                b"\xef\xbb\xbf\x1ex",
                &["Invalid numeric literal at EOF at line 1, column 2"],
            ),
            (
                b"\xef[1,\n2]\n",
                &["Unmatched ']' at line 2, column 2 (need RS to resync)"],
            ),
        ];
        for (text, expected) in cases {
            let text: &'static [u8] = Box::leak(text.to_vec().into_boxed_slice());
            for step in [1, 3, usize::MAX] {
                assert_eq!(
                    shown(text, step),
                    *expected,
                    "{:?} in steps of {step}",
                    String::from_utf8_lossy(text)
                );
            }
        }
    }

    /// Where jq's main loop stops at "no value", `input` reads on
    /// (`jq --seq -n 'def r: try input catch .; r, r, r,
    /// input_line_number'` gives "break", [2], "break", 0); `-s`
    /// gathers past it, and says where it is once it has closed the input.
    #[test]
    fn no_value_is_not_the_end() {
        let records = |text: &'static [u8], slurp| {
            let input = Input::from_reader("<stdin>", Box::new(Trickle(text, 2)), false);
            Records::new(input, slurp)
        };
        let mut sequence = records(b"\x1e\x1e[2]", false);
        let mut shown = Vec::new();
        for _ in 0..3 {
            shown.push(
                sequence
                    .next()
                    .map(|(item, _)| item.map(|value| compact_text(&value))),
            );
        }
        assert_eq!(shown, [None, Some(Ok("[2]".to_string())), None]);
        assert_eq!(sequence.end_place().line, 0);

        let mut slurped = records(b"\x1e1\n\x1e[2]\n\x1e]", true);
        let (mistake, _) = slurped.next().expect("the mistake");
        assert_eq!(
            mistake,
            Err("Unmatched ']' at line 3, column 2 (need RS to resync)".to_string())
        );
        let (all, place) = slurped.next().expect("the values");
        assert_eq!(compact_text(&all.expect("an array")), "[1,[2]]");
        assert_eq!(place, InputPlace::default());
    }

    /// A record longer than a line piece, read in chunks.
    #[test]
    fn long_records_are_read_whole() {
        let mut text = b"\x1e[".to_vec();
        text.extend(b"\"a\\\"]\", {\"b\": [1, 2]}, ".repeat(20_000));
        text.extend(b"0]\n");
        let text: &'static [u8] = Box::leak(text.into_boxed_slice());
        let values = shown(text, 4096);
        assert_eq!(values.len(), 1);
        assert!(values[0].starts_with("[\"a\\\"]\",{\"b\":[1,2]},"));
    }
}

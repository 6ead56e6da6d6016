//! JSON text to engine values, keeping what jq 1.7 keeps.
//!
//! jaq-json's reader turns the literal `-0` into the integer 0, so
//! `jq .` of `-0` would print `0` where jq prints `-0`. This reader keeps
//! every number's text as jaq does (integers exact at any size, other
//! literals as written) and reads `-0` as negative zero. It is iterative,
//! so deep input cannot overflow the stack, and it stops at jq's depth
//! limit with jq's message.

mod diagnose;
mod stream;

use super::InputPlace;
use crate::jq::val::{Map, Val};
use diagnose::{Frame, Held};
use std::borrow::Cow;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

/// jq 1.7.1 refuses input nested deeper than this (`MAX_PARSING_DEPTH`).
pub(super) const MAX_DEPTH: usize = 256;

/// The depth [`parse_many_deep`] allows: deeper than jq reads, so that a
/// caller that checks depth itself (deploy input) can name the field; the
/// reader is iterative, so this only bounds memory.
const DEEP_MAX_DEPTH: usize = 10_000;

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
    let mut reader = Reader::new(Cow::Borrowed(text), None);
    let value = match reader.value()? {
        Some(value) => value,
        // Nothing but whitespace: jq's words for a text that ends early.
        None => return Err(reader.error_here("Unfinished JSON term")),
    };
    reader.skip_whitespace();
    if reader.position < text.len() {
        return Err(reader.error_at_position("unexpected text after the JSON value"));
    }
    Ok(value)
}

/// Reads a stream of JSON values, as jq reads its inputs. After an error
/// the stream ends.
pub fn parse_many(text: &[u8]) -> impl Iterator<Item = Result<Val, ReadError>> + '_ {
    parse_many_with_ends(text).map(|value| value.map(|(value, _)| value))
}

/// [`parse_many`] allowing values nested up to 10,000 deep (jq stops at
/// 256), for callers that refuse deep values with their own message.
pub fn parse_many_deep(text: &[u8]) -> impl Iterator<Item = Result<Val, ReadError>> + '_ {
    let mut reader = Reader::new(Cow::Borrowed(text), None);
    reader.max_depth = DEEP_MAX_DEPTH;
    values_with_ends(reader).map(|value| value.map(|(value, _)| value))
}

/// [`parse_many`] with the offset just past each value (`jq --seq` needs
/// to know what ends right at a record separator).
pub fn parse_many_with_ends(
    text: &[u8],
) -> impl Iterator<Item = Result<(Val, usize), ReadError>> + '_ {
    values_with_ends(Reader::new(Cow::Borrowed(text), None))
}

/// The values of `reader`, each with the offset just past it, ending
/// after the first error.
fn values_with_ends(
    mut reader: Reader<'_>,
) -> impl Iterator<Item = Result<(Val, usize), ReadError>> + '_ {
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed {
            return None;
        }
        let value = reader.value().transpose();
        failed = matches!(value, Some(Err(_)));
        value.map(|value| value.map(|value| (value, reader.position)))
    })
}

/// How many bytes are read from an input file at a time.
const CHUNK: usize = 1 << 16;

/// The most bytes of a line jq's reader takes in at once: it reads each
/// file with `fgets` into a 4096-byte buffer, so a line longer than that
/// comes in pieces of 4095. The pieces read so far are the lines jq
/// counts (`input_line_number`), a `--stream-errors` mistake throws away
/// the rest of its piece, and a piece without a newline ends at a NUL.
pub(super) const LINE_PIECE: u64 = 4095;

/// What ended a line piece: a newline, the piece's size, the end of a
/// file with more after it, or the end of the input. Only a piece the
/// input's end cuts short is the last one jq's reader knows of while it
/// parses it (`fgets` found the end reading it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PieceEnd {
    Newline,
    Full,
    File,
    Input,
}

/// jq's inputs, read as they are needed: the files in turn (`-` or none
/// for stdin) as one stream of bytes, so a value or a line may run on
/// from one file into the next, as in jq. Only the value being read and
/// one chunk are held, never the whole input (jq streams the same way).
/// Each value comes with the place jq reports for it.
pub struct Input {
    reader: Reader<'static>,
    failed: bool,
    /// Where `--stream` reading is ([`Input::next_event`]).
    streaming: stream::Streaming,
    /// What finished the last value or event handed out, and whether the
    /// values have run out since ([`Input::place_after_values`]).
    finish: Finish,
    ended: bool,
    /// How far jq's parser has taken bytes in: through the byte that
    /// finished a number or literal, the last byte of anything else.
    consumed: u64,
}

/// What finished the last value handed out, as jq's reading loop sees it:
/// whether it made its last read (the one that found the end of the
/// input) for that value decides what asking again does.
#[derive(Debug, Clone, Copy)]
enum Finish {
    Nothing,
    /// A byte of a line piece that ended so.
    InPiece(PieceEnd),
    /// The end of the input (a number or literal, or a raw line without
    /// its newline, that nothing follows).
    AtTheEnd,
}

impl Finish {
    /// Whether jq's last read was made for the value: the value was
    /// finished by the end of the input, or in the piece that found it.
    fn took_last_read(self) -> bool {
        matches!(self, Self::AtTheEnd | Self::InPiece(PieceEnd::Input))
    }
}

/// What an input's file does when it cannot be opened or read: report it
/// (jq goes on with the next file).
pub type ReportError = Box<dyn FnMut(&Path, &std::io::Error)>;

impl Input {
    /// `raw`: the input is read as lines (`jq -R`), not parsed, so NUL
    /// bytes are text ([`NulCut`]).
    pub fn new(files: Vec<PathBuf>, raw: bool, report: ReportError) -> Self {
        let files = if files.is_empty() {
            vec![PathBuf::from("-")]
        } else {
            files
        };
        Self::of(files.into_iter().map(Pending::Path).collect(), raw, report)
    }

    /// An input of one stream (`name` as jq would report it).
    pub fn from_reader(name: &str, reader: Box<dyn Read>, raw: bool) -> Self {
        let pending = vec![Pending::Reader(name.to_string(), reader)];
        Self::of(pending, raw, Box::new(|_, _| {}))
    }

    fn of(pending: Vec<Pending>, raw: bool, report: ReportError) -> Self {
        let source = Files {
            pending: pending.into_iter(),
            current: None,
            scratch: Vec::new(),
            nul_cut: (!raw).then(NulCut::default),
            report,
            unreported: Default::default(),
        };
        Self {
            reader: Reader::new(Cow::Owned(Vec::new()), Some(source)),
            failed: false,
            streaming: stream::Streaming::default(),
            finish: Finish::Nothing,
            ended: false,
            consumed: 0,
        }
    }

    /// The next JSON value and where jq says it was read; `None` at the
    /// end. After an error the stream ends.
    pub fn next_value(&mut self) -> Option<Result<(Val, InputPlace), ReadError>> {
        if self.failed {
            return None;
        }
        self.skip_bom_at_start();
        match self.reader.value() {
            Ok(Some(value)) => {
                let end = self.reader.absolute(self.reader.position);
                // A number or literal is complete once the byte after it
                // is read; anything else at its last byte.
                let scalar = matches!(value, Val::Null | Val::Bool(_) | Val::Num(_));
                let place = if !scalar {
                    self.consumed = end;
                    self.finished_at(end.saturating_sub(1))
                } else if self.reader.ensure(self.reader.position + 1) {
                    self.consumed = end + 1;
                    self.finished_at(end)
                } else {
                    self.consumed = end;
                    self.finished_by_the_end()
                };
                Some(Ok((value, place)))
            }
            Ok(None) => None,
            Err(error) => Some(Err(self.mistake(error))),
        }
    }

    /// The next `--stream` event (`[path, leaf]` or `[path]`) and the
    /// place the reader is at; `None` at the end. After an error the
    /// stream ends; [`Input::event_path`] says where it was.
    pub fn next_event(&mut self) -> Option<Result<(Val, InputPlace), ReadError>> {
        if self.failed {
            return None;
        }
        self.skip_bom_at_start();
        match self.reader.event(&mut self.streaming) {
            Ok(Some(event)) => {
                let reader = &mut self.reader;
                let at = reader.absolute(reader.position);
                let more = reader.at(reader.position).is_some();
                let last = at.saturating_sub(1);
                let in_token = reader
                    .position
                    .checked_sub(1)
                    .and_then(|index| reader.text.get(index))
                    .is_some_and(|byte| byte.is_ascii_alphanumeric() || b".+-".contains(byte));
                let place = if !event.kept && !in_token {
                    self.consumed = at;
                    self.finished_at(last)
                } else if !event.kept && more {
                    // A number or literal, which the byte after finishes.
                    self.consumed = at + 1;
                    self.finished_at(at)
                } else if !event.kept {
                    // A number or literal that only the end finishes.
                    self.consumed = at;
                    self.finished_by_the_end()
                } else if more {
                    let place = reader.place_after_file_end(at);
                    self.finish = Finish::InPiece(reader.cursor_end);
                    self.report_until(at + 1);
                    place
                } else {
                    // jq gives the kept event only after asking for more:
                    // that one read closed the file, and opened the next
                    // if there is one (all that are left are empty or
                    // could not be opened).
                    self.report_until(u64::MAX);
                    let reader = &mut self.reader;
                    let next = reader.files.partition_point(|file| file.offset <= last);
                    self.finish = match reader.files.len() - next {
                        0 | 1 => Finish::AtTheEnd,
                        _ => Finish::InPiece(PieceEnd::File),
                    };
                    reader
                        .files
                        .get(next)
                        .map_or_else(InputPlace::default, |file| InputPlace {
                            file: Some(file.name.clone()),
                            line: 0,
                        })
                };
                Some(Ok((event.value, place)))
            }
            Ok(None) => None,
            Err(error) => Some(Err(self.mistake(error))),
        }
    }

    /// A mistake ends the values until [`Input::resume_after`]; the files
    /// that failed before it were tried on the way.
    fn mistake(&mut self, error: ReadError) -> ReadError {
        self.failed = true;
        self.report_until(error.offset as u64 + 1);
        error
    }

    /// The place of a value the byte at offset `at` finished.
    fn finished_at(&mut self, at: u64) -> InputPlace {
        let place = self.reader.place_at(at);
        self.finish = Finish::InPiece(self.reader.cursor_end);
        self.report_until(self.reader.cursor);
        place
    }

    /// The place of a value only the end of the input finished: jq's
    /// last read found that end, after opening what files were left
    /// (however empty or unopenable), so the place is the end's.
    fn finished_by_the_end(&mut self) -> InputPlace {
        self.finish = Finish::AtTheEnd;
        self.place_at_end()
    }

    /// Reports the files that failed before offset `offset`, which jq's
    /// reader has got to.
    fn report_until(&mut self, offset: u64) {
        if let Some(files) = self.reader.source.as_mut() {
            files.report_until(offset);
        }
    }

    /// jq skips a UTF-8 byte-order mark that starts the input.
    fn skip_bom_at_start(&mut self) {
        if self.reader.absolute(0) == 0 && self.reader.position == 0 {
            self.reader.skip_bom();
        }
    }

    /// The path `--stream` reading is at (`--stream-errors` reports it).
    pub fn event_path(&self) -> Val {
        self.streaming.path()
    }

    /// The place jq reports for `error` (made into an input, or raised
    /// by `input`).
    pub fn error_place(&mut self, error: &ReadError) -> InputPlace {
        let reader = &mut self.reader;
        let at = error.offset as u64;
        let at_end = reader
            .at(at.saturating_sub(reader.dropped) as usize)
            .is_none();
        if at_end {
            // Only the end shows this mistake. jq found it in the bytes
            // it still held, with nothing more to read, or asking for
            // more once the last value (or event) had taken them all.
            if self.consumed < at {
                self.finish = Finish::AtTheEnd;
                return self.place_at_end();
            }
            return self.place_once_ended();
        }
        self.finished_at(at)
    }

    /// Reads on after `error` as `jq --stream-errors` does: the rest of
    /// the line piece it failed in is thrown away unread (its bytes do
    /// not count toward later errors' lines and columns), and the next
    /// piece starts a new text.
    pub fn resume_after(&mut self, error: &ReadError) {
        self.failed = false;
        self.streaming = stream::Streaming::default();
        self.reader.skip_rest_of_piece(error);
    }

    /// The next line (`jq -R`), without its newline, and its place.
    pub fn next_line(&mut self) -> Option<(Vec<u8>, InputPlace)> {
        if !self.more_to_read() {
            return None;
        }
        let reader = &mut self.reader;
        let start = reader.position;
        let mut end = start;
        let found = loop {
            if let Some(offset) = reader.text[end..].iter().position(|b| *b == b'\n') {
                break Some(end + offset);
            }
            end = reader.text.len();
            if !reader.fill() {
                break None;
            }
        };
        let line_end = found.unwrap_or(reader.text.len());
        let line = reader.text[start..line_end].to_vec();
        reader.position = found.map_or(line_end, |newline| newline + 1);
        let place = match found {
            Some(newline) => {
                let newline = self.reader.absolute(newline);
                self.finished_at(newline)
            }
            None => self.finished_by_the_end(),
        };
        Some((line, place))
    }

    /// Whether a byte is left to read (the bytes read before are let go);
    /// at the end, every file that failed has been tried.
    fn more_to_read(&mut self) -> bool {
        self.reader.compact();
        let more = self.reader.ensure(self.reader.position + 1);
        if !more {
            self.report_until(u64::MAX);
        }
        more
    }

    /// The next line piece as jq's reader takes it in (`fgets`, read no
    /// further than its newline), and what ended it; `None` at the end.
    /// `--seq` parses pieces itself, as jq does.
    pub fn next_piece(&mut self) -> Option<(Vec<u8>, PieceEnd)> {
        if !self.more_to_read() {
            return None;
        }
        let at = self.reader.absolute(self.reader.position);
        // The files that failed before this piece were tried on the way.
        self.report_until(at + 1);
        let reader = &mut self.reader;
        let line_start = reader.line_start(reader.position);
        let (end, ended_by) = reader.piece_end(at, line_start);
        let end = (end - reader.dropped) as usize;
        let piece = reader.text[reader.position..end].to_vec();
        reader.position = end;
        Some((piece, ended_by))
    }

    /// The place jq reports for a value whose last byte (the byte after
    /// it for a number or literal) is at offset `last` of the pieces
    /// [`Input::next_piece`] gave out.
    pub fn place_at(&mut self, last: u64) -> InputPlace {
        let last = last.max(self.reader.dropped);
        self.reader.place_at(last)
    }

    /// All the remaining text (`jq -R -s`) and the place after it.
    pub fn rest(&mut self) -> (Vec<u8>, InputPlace) {
        let place = self.place_at_end();
        self.ended = true;
        let reader = &mut self.reader;
        let text = reader.text[reader.position..].to_vec();
        reader.position = reader.text.len();
        (text, place)
    }

    /// The place once all the input is read (what `-s` reports), or
    /// `None` after a mistake: jq reads no further.
    pub fn end_place(&mut self) -> Option<InputPlace> {
        self.ended = true;
        (!self.failed).then(|| self.place_at_end())
    }

    /// The place once the values (lines, events) have run out, as jq's
    /// reading loop leaves it: having found the end it keeps the place
    /// [`Input::end_place`] says, unless it had already made that last
    /// read for the last value, so that asking again closed the file and
    /// forgot it. Every later ask closes it too. Nothing is closed when
    /// the last file could not be opened: jq stays on its name.
    pub fn place_after_values(&mut self) -> InputPlace {
        if self.failed {
            return InputPlace::default();
        }
        self.place_once_ended()
    }

    fn place_once_ended(&mut self) -> InputPlace {
        let end = self.place_at_end();
        let closes = self.ended || self.finish.took_last_read();
        self.ended = true;
        match self.reader.files.last() {
            Some(file) if closes && file.opened => InputPlace::default(),
            _ => end,
        }
    }

    fn place_at_end(&mut self) -> InputPlace {
        let reader = &mut self.reader;
        while reader.fill() {}
        let end = reader.absolute(reader.text.len());
        self.report_until(u64::MAX);
        self.reader.place_at(end)
    }
}

/// An input not opened yet.
enum Pending {
    /// A file, or stdin for `-`.
    Path(PathBuf),
    Reader(String, Box<dyn Read>),
}

/// Where a streaming reader's bytes come from.
struct Files {
    pending: std::vec::IntoIter<Pending>,
    current: Option<(PathBuf, Box<dyn Read>)>,
    /// One read's worth of bytes, before they join the window.
    scratch: Vec<u8>,
    /// What the parser does not see of pieces with a NUL (none when the
    /// input is raw lines).
    nul_cut: Option<NulCut>,
    report: ReportError,
    /// Files that failed, at the offset where they did, not yet
    /// reported: our reader looks ahead of jq's, which opens (and fails)
    /// a file only when it reads on from there, and its main loop stops
    /// at the first failure it has counted ([`Input::report_until`]).
    unreported: std::collections::VecDeque<(u64, PathBuf, std::io::Error)>,
}

impl Files {
    /// Reports the failures at offsets before `offset`.
    fn report_until(&mut self, offset: u64) {
        while self.unreported.front().is_some_and(|(at, ..)| *at < offset) {
            if let Some((_, path, error)) = self.unreported.pop_front() {
                (self.report)(&path, &error);
            }
        }
    }
}

/// jq's parser reads a line piece ([`LINE_PIECE`]) that has no newline
/// only up to its first NUL byte (jq measures such a piece with C's
/// `strlen`), so the rest of that piece never reaches the parser: `1 \0
/// 2` is the one value 1. A piece with a newline is read whole.
#[derive(Default)]
struct NulCut {
    /// Bytes of the current piece passed so far.
    into_piece: u64,
    /// The current piece from its first NUL on, held until the piece
    /// ends: kept if a newline ends it, dropped if not.
    held: Option<Vec<u8>>,
    /// Where, in the bytes the parser sees, each piece cut short ended:
    /// the next piece starts there, not a whole piece on
    /// ([`Reader::piece_end`]).
    cut_ends: Vec<u64>,
}

impl NulCut {
    /// Appends to `out`, which starts at offset `base` of what the parser
    /// sees, what it sees of the file's next `chunk`.
    fn pass(&mut self, chunk: &[u8], out: &mut Vec<u8>, base: u64) {
        if self.held.is_none() && !chunk.contains(&0) {
            self.into_piece = match chunk.iter().rposition(|byte| *byte == b'\n') {
                Some(newline) => (chunk.len() - newline - 1) as u64,
                None => self.into_piece + chunk.len() as u64,
            } % LINE_PIECE;
            out.extend_from_slice(chunk);
            return;
        }
        let mut rest = chunk;
        while !rest.is_empty() {
            let room = (LINE_PIECE - self.into_piece) as usize;
            let window = &rest[..room.min(rest.len())];
            // Whether the piece ends in this segment, and by a newline.
            let (segment, ends) = match window.iter().position(|byte| *byte == b'\n') {
                Some(newline) => (&window[..=newline], Some(true)),
                None if window.len() == room => (window, Some(false)),
                None => (window, None),
            };
            match (&mut self.held, segment.iter().position(|byte| *byte == 0)) {
                (Some(held), _) => held.extend_from_slice(segment),
                (None, Some(nul)) => {
                    out.extend_from_slice(&segment[..nul]);
                    self.held = Some(segment[nul..].to_vec());
                }
                (None, None) => out.extend_from_slice(segment),
            }
            rest = &rest[segment.len()..];
            match ends {
                Some(by_newline) => {
                    match self.held.take() {
                        Some(held) if by_newline => out.extend_from_slice(&held),
                        Some(_) => self.cut_ends.push(base + out.len() as u64),
                        None => {}
                    }
                    self.into_piece = 0;
                }
                None => self.into_piece += segment.len() as u64,
            }
        }
    }

    /// The file ended, and with it a piece without a newline.
    fn end_of_file(&mut self) {
        self.into_piece = 0;
        self.held = None;
    }
}

/// Where a file starts in the stream: its offset, the newlines before
/// it, and its name as jq reports it.
struct FileStart {
    offset: u64,
    lines_before: u64,
    name: String,
    /// False for a file jq could not open: it has no bytes, but jq's
    /// reader is on its name until the next file opens.
    opened: bool,
}

struct Reader<'t> {
    /// The bytes read and not yet dropped (all of them for a slice).
    text: Cow<'t, [u8]>,
    position: usize,
    source: Option<Files>,
    /// How many bytes were dropped before `text[0]`, the newlines among
    /// them, and where the line holding `text[0]` starts.
    dropped: u64,
    dropped_lines: u64,
    dropped_line_start: u64,
    files: Vec<FileStart>,
    /// Newlines before offset `cursor` (for places, which only move on),
    /// and where the line holding it starts.
    cursor: u64,
    cursor_lines: u64,
    cursor_line_start: u64,
    /// How the line piece that `cursor` ends was ended.
    cursor_end: PieceEnd,
    /// Where reading last resumed after a mistake, if it did
    /// ([`Reader::skip_rest_of_piece`]).
    resumed: Option<Resumed>,
    /// How deep containers may nest ([`MAX_DEPTH`] unless a caller allows
    /// more).
    max_depth: usize,
}

/// Where reading resumed after a mistake: errors count lines and columns
/// over the bytes read, not the bytes skipped, as jq counts them.
#[derive(Debug, Clone, Copy)]
struct Resumed {
    /// The offset reading resumed at.
    at: u64,
    /// The column of the byte that failed.
    column: usize,
    /// The newlines skipped over so far, on every resumption.
    skipped_lines: u64,
}

/// A container being filled, with the key awaiting its value for objects.
///
/// An object's entries are gathered in a list and hashed into a map of
/// their number once it closes ([`entries_map`]): a map grown entry by
/// entry reallocates its entries and rehashes its keys at every doubling
/// (`deploy --plan` of plan_bench's input read 36,864 entries with 15,006
/// rehashes, 5.4 M of its instructions).
enum Open {
    Array(Vec<Val>),
    Object(Vec<(Val, Val)>, Option<Val>),
}

/// The map of an object's entries in input order: as jq's objects, a
/// repeated key keeps its first position and takes the last value.
pub(super) fn entries_map(entries: Vec<(Val, Val)>) -> Map {
    entries.into_iter().collect()
}

/// jq's parse stack for the containers the reader has open: an object
/// whose key has been read holds that key above it. (An array's
/// emptiness only matters when nothing is held, and then it is exact.)
fn frames(stack: &[Open]) -> Vec<Frame> {
    let mut frames = Vec::with_capacity(stack.len() * 2);
    for open in stack {
        match open {
            Open::Array(items) => frames.push(Frame::Array {
                empty: items.is_empty(),
            }),
            Open::Object(entries, pending) => {
                frames.push(Frame::Object {
                    empty: entries.is_empty(),
                });
                if pending.is_some() {
                    frames.push(Frame::Key);
                }
            }
        }
    }
    frames
}

/// The UTF-8 byte-order mark, which jq skips at the start of its input.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Counted in byte-wide lanes, 255 bytes at a time (no lane can
/// overflow), which compiles to vector code: a plain count went a byte
/// at a time, a tenth of the work of reading streamed input.
fn newlines(bytes: &[u8]) -> u64 {
    let mut chunks = bytes.chunks_exact(255);
    let mut total = 0;
    for chunk in chunks.by_ref() {
        let count = chunk.iter().fold(0u8, |count, byte| {
            count.wrapping_add(u8::from(*byte == b'\n'))
        });
        total += u64::from(count);
    }
    total
        + chunks
            .remainder()
            .iter()
            .map(|byte| u64::from(*byte == b'\n'))
            .sum::<u64>()
}

impl<'t> Reader<'t> {
    fn new(text: Cow<'t, [u8]>, source: Option<Files>) -> Self {
        let mut reader = Self {
            text,
            position: 0,
            source,
            dropped: 0,
            dropped_lines: 0,
            dropped_line_start: 0,
            files: Vec::new(),
            cursor: 0,
            cursor_lines: 0,
            cursor_line_start: 0,
            cursor_end: PieceEnd::Input,
            resumed: None,
            max_depth: MAX_DEPTH,
        };
        if reader.source.is_none() {
            reader.skip_bom();
        }
        reader
    }
}

impl Reader<'_> {
    /// Reads no further than the bytes that still match the mark: a
    /// value shorter than it (`1` and a newline, typed or piped) must not
    /// wait for a third byte.
    fn skip_bom(&mut self) {
        for (index, byte) in BOM.iter().enumerate() {
            if self.at(index) != Some(*byte) {
                return;
            }
        }
        self.position = BOM.len();
    }

    fn absolute(&self, index: usize) -> u64 {
        self.dropped + index as u64
    }

    /// The byte at `index`, reading more input when it is past the window.
    #[inline]
    fn at(&mut self, index: usize) -> Option<u8> {
        match self.text.get(index) {
            Some(byte) => Some(*byte),
            None => self.at_slow(index),
        }
    }

    #[cold]
    fn at_slow(&mut self, index: usize) -> Option<u8> {
        self.ensure(index + 1).then(|| self.text[index])
    }

    /// Whether the window reaches `end`, reading until it does.
    fn ensure(&mut self, end: usize) -> bool {
        while self.text.len() < end {
            if !self.fill() {
                return false;
            }
        }
        true
    }

    /// Appends the next bytes of input; false at the end of the last file.
    fn fill(&mut self) -> bool {
        let Some(files) = self.source.as_mut() else {
            return false;
        };
        loop {
            if files.current.is_none() {
                let (path, name, opened): (PathBuf, String, std::io::Result<Box<dyn Read>>) =
                    match files.pending.next() {
                        None => return false,
                        Some(Pending::Reader(name, reader)) => {
                            (PathBuf::from(&name), name, Ok(reader))
                        }
                        Some(Pending::Path(path)) if path.as_os_str() == "-" => {
                            (path, "<stdin>".to_string(), Ok(Box::new(std::io::stdin())))
                        }
                        Some(Pending::Path(path)) => {
                            let name = path.display().to_string();
                            let opened = std::fs::File::open(&path)
                                .map(|file| Box::new(file) as Box<dyn Read>);
                            (path, name, opened)
                        }
                    };
                let offset = self.dropped + self.text.len() as u64;
                let unseen = &self.text[(self.cursor - self.dropped) as usize..];
                let lines_before = self.cursor_lines + newlines(unseen);
                self.files.push(FileStart {
                    offset,
                    lines_before,
                    name,
                    opened: opened.is_ok(),
                });
                match opened {
                    Ok(handle) => files.current = Some((path, handle)),
                    Err(error) => {
                        files.unreported.push_back((offset, path, error));
                        continue;
                    }
                }
            }
            let Some((path, handle)) = files.current.as_mut() else {
                continue;
            };
            files.scratch.resize(CHUNK, 0);
            match handle.read(&mut files.scratch) {
                Ok(0) => {
                    files.current = None;
                    if let Some(cut) = files.nul_cut.as_mut() {
                        cut.end_of_file();
                    }
                }
                Ok(count) => {
                    let chunk = &files.scratch[..count];
                    let before = self.text.len();
                    match files.nul_cut.as_mut() {
                        Some(cut) => cut.pass(chunk, self.text.to_mut(), self.dropped),
                        None => self.text.to_mut().extend_from_slice(chunk),
                    }
                    // A chunk the parser sees none of: read on.
                    if self.text.len() > before {
                        return true;
                    }
                }
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                Err(error) => {
                    let offset = self.dropped + self.text.len() as u64;
                    files.unreported.push_back((offset, path.clone(), error));
                    files.current = None;
                    if let Some(cut) = files.nul_cut.as_mut() {
                        cut.end_of_file();
                    }
                }
            }
        }
    }

    /// Drops the bytes before `position` once they are most of the window,
    /// so a streaming reader holds about a chunk (plus the token being
    /// read). Only called between tokens; inline, as it is called at every
    /// value and key and there is nothing to do for a slice.
    #[inline]
    fn compact(&mut self) {
        if self.source.is_some() && self.position >= CHUNK && self.position * 2 >= self.text.len() {
            self.drop_read();
        }
    }

    #[cold]
    fn drop_read(&mut self) {
        // The last byte read stays: jq's places after the end depend on
        // whether the input's last byte was a newline.
        let cut = self.position - 1;
        let gone = &self.text[..cut];
        if let Some(last) = gone.iter().rposition(|byte| *byte == b'\n') {
            self.dropped_line_start = self.dropped + last as u64 + 1;
        }
        self.dropped_lines += newlines(gone);
        let end = self.dropped + cut as u64;
        self.advance_cursor(end);
        self.text.to_mut().drain(..cut);
        self.dropped = end;
        // Of the cut pieces gone, the last still starts a piece.
        if let Some(cut) = self
            .source
            .as_mut()
            .and_then(|files| files.nul_cut.as_mut())
        {
            let gone = cut.cut_ends.partition_point(|cut_end| *cut_end <= end);
            cut.cut_ends.drain(..gone.saturating_sub(1));
        }
        self.position -= cut;
    }

    /// The place jq reports once its reader has taken in the line piece
    /// holding offset `last` ([`LINE_PIECE`]): the file holding it and
    /// the lines of that file read by then. A line counts once the piece
    /// with its newline is in, so the place can run ahead of `last`.
    fn place_at(&mut self, last: u64) -> InputPlace {
        let index = self.files.partition_point(|file| file.offset <= last);
        let Some(file) = index.checked_sub(1) else {
            return InputPlace::default();
        };
        // The cursor ends the piece last asked for, so later asks within
        // it (a document on one line has millions of events) cost nothing.
        if last >= self.cursor {
            self.advance_cursor(last);
            let (end, ended_by) = self.piece_end(last, self.cursor_line_start);
            self.advance_cursor(end);
            self.cursor_end = ended_by;
        }
        let file = &self.files[file];
        InputPlace {
            file: Some(file.name.clone()),
            line: (self.cursor_lines - file.lines_before) as usize,
        }
    }

    /// [`Reader::place_at`] the byte at `at`, except that when a file
    /// ended just before it, jq's reader is in the file opened next,
    /// which is empty if another starts at the same offset.
    fn place_after_file_end(&mut self, at: u64) -> InputPlace {
        let first = self.files.partition_point(|file| file.offset < at);
        match self.files.get(first..first + 2) {
            Some([next, after]) if next.offset == at && after.offset == at => InputPlace {
                file: Some(next.name.clone()),
                line: 0,
            },
            _ => self.place_at(at),
        }
    }

    /// Counts the newlines from the cursor to offset `to` (in the window).
    fn advance_cursor(&mut self, to: u64) {
        if to <= self.cursor {
            return;
        }
        let from = (self.cursor - self.dropped) as usize;
        let passed = &self.text[from..(to - self.dropped) as usize];
        self.cursor_lines += newlines(passed);
        if let Some(newline) = passed.iter().rposition(|byte| *byte == b'\n') {
            self.cursor_line_start = self.cursor + newline as u64 + 1;
        }
        self.cursor = to;
    }

    /// Where the line piece jq's reader holds with the byte at offset `at`
    /// ends ([`LINE_PIECE`]), and how: after the line's newline, after the
    /// piece's 4095th byte (or where [`NulCut`] cut it), or at the end of
    /// the file, whichever comes first. `line_start` is where the line
    /// holding `at` starts.
    fn piece_end(&mut self, at: u64, line_start: u64) -> (u64, PieceEnd) {
        let file = self.files.partition_point(|file| file.offset <= at);
        let file_start = file
            .checked_sub(1)
            .map_or(0, |index| self.files[index].offset);
        let cut_ends = self
            .source
            .as_ref()
            .and_then(|files| files.nul_cut.as_ref())
            .map_or(&[][..], |cut| &cut.cut_ends[..]);
        let cut = cut_ends.partition_point(|end| *end <= at);
        let cut_before = cut.checked_sub(1).map_or(0, |index| cut_ends[index]);
        let cut_after = cut_ends.get(cut).copied().unwrap_or(u64::MAX);
        let origin = line_start.max(file_start).max(cut_before);
        let boundary = (origin + ((at - origin) / LINE_PIECE + 1) * LINE_PIECE).min(cut_after);
        // Read only as far as the newline: from a pipe or a terminal the
        // rest of the piece may not have been written yet, and the value
        // before it must be run now, as jq runs it.
        let mut searched = at;
        loop {
            let mut end = boundary.min(self.absolute(self.text.len()));
            let next_file = self.files.get(file).map(|next| next.offset);
            if let Some(next_file) = next_file {
                end = end.min(next_file);
            }
            let (from, to) = (
                (searched.max(self.dropped) - self.dropped) as usize,
                (end.max(self.dropped) - self.dropped) as usize,
            );
            let rest = self.text.get(from..to).unwrap_or_default();
            if let Some(newline) = rest.iter().position(|byte| *byte == b'\n') {
                return (
                    searched.max(self.dropped) + newline as u64 + 1,
                    PieceEnd::Newline,
                );
            }
            searched = searched.max(end);
            if end == boundary {
                return (end.max(at), PieceEnd::Full);
            }
            if next_file.is_some() {
                return (end.max(at), PieceEnd::File);
            }
            if !self.fill() {
                // Looking on may have opened files with nothing in them:
                // jq's reader is not at the end until it tries them.
                let ended_by = if self.files.len() > file {
                    PieceEnd::File
                } else {
                    PieceEnd::Input
                };
                return (end.max(at), ended_by);
            }
        }
    }

    /// Where the line holding window index `index` starts (an offset).
    fn line_start(&self, index: usize) -> u64 {
        let before = &self.text[..index.min(self.text.len())];
        match before.iter().rposition(|byte| *byte == b'\n') {
            Some(newline) => self.absolute(newline + 1),
            None => self.dropped_line_start,
        }
    }

    fn error_at_position(&self, message: &str) -> ReadError {
        let before = &self.text[..self.position.min(self.text.len())];
        let skipped = self.resumed.map_or(0, |resumed| resumed.skipped_lines);
        let line = (self.dropped_lines + newlines(before)).saturating_sub(skipped) as usize + 1;
        let failing = self.absolute(before.len());
        let line_start = self.line_start(before.len());
        let column = match self.resumed {
            // No newline was read since: the column runs on from the
            // byte that failed.
            Some(resumed) if line_start <= resumed.at => {
                resumed.column + failing.saturating_sub(resumed.at) as usize + 1
            }
            _ => (failing - line_start) as usize + 1,
        };
        // jq counts the byte it fails on before it reports: a newline
        // that ends a bad literal puts it at the start of the next line.
        let (line, column) = if self.text.get(self.position) == Some(&b'\n') {
            (line + 1, 0)
        } else {
            (line, column)
        };
        ReadError {
            offset: self.absolute(before.len()) as usize,
            line,
            column,
            message: message.to_string(),
        }
    }

    /// Moves past the rest of the line piece jq's reader would hold when
    /// it failed at `error` ([`LINE_PIECE`]): up to and with the next
    /// newline, at most to the end of the 4095-byte piece of the line,
    /// and never past the end of the file.
    fn skip_rest_of_piece(&mut self, error: &ReadError) {
        let failed = error.offset as u64;
        let Some(at) = failed.checked_sub(self.dropped).map(|at| at as usize) else {
            return;
        };
        let (end, _) = self.piece_end(failed, self.line_start(at));
        // The newline that ends the piece goes unread unless it failed.
        let newline = end > failed + 1 && self.text[(end - self.dropped) as usize - 1] == b'\n';
        let skipped = self.resumed.map_or(0, |resumed| resumed.skipped_lines);
        self.resumed = Some(Resumed {
            at: end,
            column: error.column,
            skipped_lines: skipped + u64::from(newline),
        });
        self.position = (end - self.dropped) as usize;
    }

    /// Steps over whitespace, a run of the window at a time: pretty-printed
    /// input (builds metadata is tab-indented) is a sixth whitespace, and
    /// a byte at a time through [`Reader::at`] cost twice the instructions.
    fn skip_whitespace(&mut self) {
        loop {
            let rest = self.text.get(self.position..).unwrap_or_default();
            let blank = |byte: &u8| matches!(byte, b' ' | b'\t' | b'\n' | b'\r');
            match rest.iter().position(|byte| !blank(byte)) {
                Some(run) => {
                    self.position += run;
                    return;
                }
                None => {
                    self.position += rest.len();
                    // Past the window: read more, if there is more.
                    if self.at(self.position).is_none() {
                        return;
                    }
                }
            }
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_whitespace();
        self.at(self.position)
    }

    /// The next value, or `None` at the end of the input.
    fn value(&mut self) -> Result<Option<Val>, ReadError> {
        let stack: &mut Vec<Open> = &mut Vec::new();
        // jq's depth: its stack holds each open object's key as well.
        let mut depth = 0;
        loop {
            self.compact();
            // Read one scalar or open one container.
            let Some(byte) = self.peek() else {
                if stack.is_empty() {
                    return Ok(None);
                }
                return Err(self.diagnose(frames(stack), Held::Nothing));
            };
            let mut value = match byte {
                b'{' | b'[' => {
                    if depth >= self.max_depth {
                        return Err(self.error_at_position("Exceeds depth limit for parsing"));
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
                        depth += if byte == b'{' { 2 } else { 1 };
                        stack.push(if byte == b'{' {
                            Open::Object(Vec::new(), None)
                        } else {
                            Open::Array(Vec::new())
                        });
                        if byte == b'{' {
                            let key = self.key(stack)?;
                            if let Some(Open::Object(_, pending)) = stack.last_mut() {
                                *pending = Some(key);
                            }
                        }
                        continue;
                    }
                }
                b'"' => Val::utf8_str(self.string()?),
                b']' | b'}' | b',' | b':' => {
                    return Err(self.diagnose(frames(stack), Held::Nothing));
                }
                _ => {
                    let literal = self.token()?;
                    // jq hands out a top-level literal at the byte after
                    // it, and loses it when that byte is also an error.
                    if stack.is_empty()
                        && matches!(
                            self.text.get(self.position),
                            Some(b',' | b':' | b']' | b'}')
                        )
                    {
                        return Err(self.diagnose(Vec::new(), Held::Nothing));
                    }
                    literal
                }
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
                                depth -= 1;
                                let Some(Open::Array(items)) = stack.pop() else {
                                    return Err(self.error_at_position("internal reader state"));
                                };
                                value = items.into_iter().collect();
                            }
                            _ => return Err(self.diagnose(frames(stack), Held::Value)),
                        }
                    }
                    Open::Object(entries, pending) => {
                        if let Some(key) = pending.take() {
                            entries.push((key, value));
                        }
                        match next {
                            Some(b',') => {
                                self.position += 1;
                                self.compact();
                                let key = self.key(stack)?;
                                if let Some(Open::Object(_, pending)) = stack.last_mut() {
                                    *pending = Some(key);
                                }
                                break;
                            }
                            Some(b'}') => {
                                self.position += 1;
                                depth -= 2;
                                let Some(Open::Object(entries, _)) = stack.pop() else {
                                    return Err(self.error_at_position("internal reader state"));
                                };
                                value = Val::obj(entries_map(entries));
                            }
                            _ => {
                                // jq still holds the value: its key waits.
                                let mut open = frames(stack);
                                open.push(Frame::Key);
                                return Err(self.diagnose(open, Held::Value));
                            }
                        }
                    }
                }
            }
        }
    }

    /// An object key and its colon, in the object on top of `stack`.
    fn key(&mut self, stack: &[Open]) -> Result<Val, ReadError> {
        if self.peek() != Some(b'"') {
            return Err(self.diagnose(frames(stack), Held::Nothing));
        }
        let key = Val::utf8_str(self.string()?);
        if self.peek() != Some(b':') {
            return Err(self.diagnose(frames(stack), Held::Text));
        }
        self.position += 1;
        Ok(key)
    }

    /// A bare token: `true`, `false`, `null`, a number, or one of the
    /// numbers jq 1.7.1 reads besides JSON's (`nan`, decNumber's `NaN`,
    /// `-NaN`, `nan1234`, `Infinity`, `-Infinity`).
    fn token(&mut self) -> Result<Val, ReadError> {
        let word = self.word();
        literal(&self.text[word]).map_err(|message| self.error_here(message))
    }

    /// The bytes of a bare token, which jq ends at whitespace, a bracket,
    /// a colon, a comma or a quote; the reader is left at that delimiter.
    fn word(&mut self) -> std::ops::Range<usize> {
        let start = self.position;
        let mut end = start;
        while let Some(byte) = self.at(end) {
            if matches!(
                byte,
                b' ' | b'\t' | b'\n' | b'\r' | b'[' | b']' | b'{' | b'}' | b',' | b':' | b'"'
            ) {
                break;
            }
            end += 1;
        }
        self.position = end;
        start..end
    }

    /// An error at the byte the reader is at; at the end of the input,
    /// jq's "... at EOF" at the column after the last byte.
    fn error_here(&mut self, message: &str) -> ReadError {
        if self.at(self.position).is_some() {
            return self.error_at_position(message);
        }
        let mut error = self.error_at_position(&format!("{message} at EOF"));
        error.column -= 1;
        error
    }

    /// A string's content; escapes decoded, UTF-16 surrogate pairs joined,
    /// lone surrogates replaced by U+FFFD as jq does. The result is
    /// allocated to its exact length (a string's bytes then need no
    /// second allocation to become a value).
    fn string(&mut self) -> Result<Vec<u8>, ReadError> {
        self.position += 1;
        let mut out: Option<Vec<u8>> = None;
        loop {
            let start = self.position;
            let mut end = start;
            let stop = loop {
                end += plain_run(&self.text[end..]);
                if let Some(byte) = self.text.get(end) {
                    break Some(*byte);
                }
                if !self.fill() {
                    break None;
                }
            };
            self.position = end;
            if stop.is_some_and(|byte| byte < 0x20) {
                return Err(self.escape_error(
                    "Invalid string: control characters from U+0000 through U+001F must be escaped",
                ));
            }
            let run = &self.text[start..end];
            match stop {
                None => return Err(self.error_here("Unfinished string")),
                Some(b'"') => {
                    self.position += 1;
                    return Ok(match out {
                        None => run.to_vec(),
                        Some(mut out) => {
                            out.extend_from_slice(run);
                            out.shrink_to_fit();
                            out
                        }
                    });
                }
                Some(_) => {
                    let out = out.get_or_insert_with(Vec::new);
                    out.extend_from_slice(run);
                    self.position += 1;
                    let Some(escape) = self.at(self.position) else {
                        return Err(self.error_here("Unfinished string"));
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
                            let character = match self.unicode_escape() {
                                Ok(character) => character,
                                Err(message) => return Err(self.escape_error(message)),
                            };
                            let mut buffer = [0; 4];
                            out.extend_from_slice(character.encode_utf8(&mut buffer).as_bytes());
                            continue;
                        }
                        _ => return Err(self.escape_error("Invalid escape")),
                    };
                    out.push(simple);
                }
            }
        }
    }
    /// jq decodes a string's escapes (and looks for raw control
    /// characters) once the string has ended, so a bad one is reported at
    /// the closing quote: the rest of the string is skipped first, by the
    /// rules that find its end.
    fn escape_error(&mut self, message: &str) -> ReadError {
        loop {
            match self.at(self.position) {
                None => return self.error_here("Unfinished string"),
                Some(b'"') => return self.error_at_position(message),
                Some(b'\\') => self.position += 2,
                Some(_) => self.position += 1,
            }
        }
    }

    /// Four hex digits of a `\u` escape, none of them past the string's end.
    fn hex4(&mut self) -> Result<u32, &'static str> {
        if !self.ensure(self.position + 4)
            || self.text[self.position..self.position + 4].contains(&b'"')
        {
            return Err("Invalid \\uXXXX escape");
        }
        let digits = std::str::from_utf8(&self.text[self.position..self.position + 4])
            .ok()
            .filter(|digits| digits.bytes().all(|byte| byte.is_ascii_hexdigit()))
            .and_then(|digits| u32::from_str_radix(digits, 16).ok())
            .ok_or("Invalid characters in \\uXXXX escape")?;
        self.position += 4;
        Ok(digits)
    }

    /// jq 1.7.1 joins a surrogate pair and refuses a high surrogate without
    /// its low half; a lone low surrogate becomes U+FFFD.
    fn unicode_escape(&mut self) -> Result<char, &'static str> {
        const UNPAIRED: &str = "Invalid \\uXXXX\\uXXXX surrogate pair escape";
        let unit = self.hex4()?;
        if (0xD800..0xDC00).contains(&unit) {
            if !(self.ensure(self.position + 2) && self.text[self.position..].starts_with(b"\\u")) {
                return Err(UNPAIRED);
            }
            self.position += 2;
            let low = self.hex4().map_err(|_| UNPAIRED)?;
            if !(0xDC00..0xE000).contains(&low) {
                return Err(UNPAIRED);
            }
            let code = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
            return Ok(char::from_u32(code).unwrap_or('\u{FFFD}'));
        }
        Ok(char::from_u32(unit).unwrap_or('\u{FFFD}'))
    }
}

/// What jq 1.7.1 makes of a bare token: `true`, `false`, `null`, or a
/// number as decNumber reads one, else the message jq checks it with. A
/// token is a literal to jq when it starts with `t`, `f` or `nu`; any
/// other is a number (so `nan`, `na` and `NULL` are numbers, good or bad).
pub(super) fn literal(word: &[u8]) -> Result<Val, &'static str> {
    match word {
        b"true" => return Ok(Val::Bool(true)),
        b"false" => return Ok(Val::Bool(false)),
        b"null" => return Ok(Val::Null),
        b"nan" => return Ok(Val::from(f64::NAN)),
        [b't' | b'f', ..] | [b'n', b'u', ..] => return Err("Invalid literal"),
        _ => {}
    }
    // jq reads a number's token as a C string: a NUL ends it (`1\0` is 1).
    let word = word.split(|byte| *byte == 0).next().unwrap_or_default();
    number(word)
        .or_else(|| special_number(word))
        .ok_or("Invalid numeric literal")
}

/// A number as decNumber reads it (a sign, digits with at most one point
/// and at least one digit, an exponent with digits), kept as its literal
/// text so jq 1.7's printing of unchanged literals holds; the text is
/// first written the way JSON would (`+1` -> `1`, `.5` -> `0.5`, `1.` ->
/// `1`), which decNumber reads as the same number. `-0` becomes
/// negative zero.
fn number(word: &[u8]) -> Option<Val> {
    // Most numbers are plain integers: no sign to drop, no point to mend
    // (negative zero is left to the rule below).
    let unsigned = word.strip_prefix(b"-").unwrap_or(word);
    let plain = !unsigned.is_empty() && unsigned.iter().all(u8::is_ascii_digit);
    let negative_zero = unsigned.len() < word.len() && unsigned.iter().all(|digit| *digit == b'0');
    if plain && !negative_zero {
        return Some(Val::Num(super::val::number_literal(
            std::str::from_utf8(word).ok()?,
        )));
    }
    let (sign, rest) = match word {
        [b'-', rest @ ..] => ("-", rest),
        [b'+', rest @ ..] => ("", rest),
        _ => ("", word),
    };
    let exponent_at = rest.iter().position(|byte| matches!(byte, b'e' | b'E'));
    let (mantissa, exponent) = match exponent_at {
        Some(at) => (&rest[..at], &rest[at..]),
        None => (rest, &rest[rest.len()..]),
    };
    let (whole, fraction) = match mantissa.iter().position(|byte| *byte == b'.') {
        Some(point) => (&mantissa[..point], Some(&mantissa[point + 1..])),
        None => (mantissa, None),
    };
    let all_digits = |digits: &[u8]| digits.iter().all(u8::is_ascii_digit);
    let fraction_digits = fraction.unwrap_or_default();
    if !all_digits(whole)
        || !all_digits(fraction_digits)
        || whole.is_empty() && fraction_digits.is_empty()
    {
        return None;
    }
    if let [_, exponent @ ..] = exponent {
        let digits = match exponent {
            [b'+' | b'-', digits @ ..] => digits,
            digits => digits,
        };
        if digits.is_empty() || !all_digits(digits) {
            return None;
        }
    }
    let integer = fraction_digits.is_empty() && exponent.is_empty();
    if integer && sign == "-" && whole.iter().all(|digit| *digit == b'0') {
        return Some(Val::from(-0.0f64));
    }
    let text = if word[0] != b'+' && !whole.is_empty() && fraction != Some(&[][..]) {
        std::borrow::Cow::Borrowed(std::str::from_utf8(word).ok()?)
    } else {
        let mut text = String::with_capacity(word.len() + 1);
        text.push_str(sign);
        text.push_str(if whole.is_empty() {
            "0"
        } else {
            std::str::from_utf8(whole).ok()?
        });
        if !fraction_digits.is_empty() {
            text.push('.');
            text.push_str(std::str::from_utf8(fraction_digits).ok()?);
        }
        text.push_str(std::str::from_utf8(exponent).ok()?);
        std::borrow::Cow::Owned(text)
    };
    Some(Val::Num(super::val::number_literal(&text)))
}

/// How many bytes of `bytes` a string holds as they are: up to a quote,
/// a backslash, or a control character (which jq refuses raw). Strings
/// are much of what is read, so the scan takes eight bytes at a time: in
/// each word, a byte that is a quote or a backslash (xor-ed to zero) or
/// below 0x20 borrows when 1 or 0x20 is taken from it, which sets its
/// high bit where the byte's own was clear. Borrows only carry upward,
/// so the lowest flagged byte is the first match.
fn plain_run(bytes: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let below = |word: u64, limit: u64| word.wrapping_sub(ONES * limit) & !word;
    let mut words = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in words.by_ref() {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        let quote = word ^ (ONES * u64::from(b'"'));
        let backslash = word ^ (ONES * u64::from(b'\\'));
        let found = (below(quote, 1) | below(backslash, 1) | below(word, 0x20)) & HIGHS;
        if found != 0 {
            return at + (found.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    let tail = words.remainder();
    at + tail
        .iter()
        .position(|byte| matches!(byte, b'"' | b'\\' | 0..=0x1f))
        .unwrap_or(tail.len())
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
            round_trip(r#""a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00\udc00x""#),
            "\"a\\\"\\\\/\\b\\f\\n\\r\\té😀\u{FFFD}x\""
        );
    }

    /// jq 1.7.1 reports a bad escape at the string's closing quote, in
    /// its own words (`printf '"\\ud800x"' | jq .`: column 9).
    #[test]
    fn bad_escapes_are_reported_at_the_closing_quote_as_jq() {
        for (text, expected) in [
            (
                r#""\ud800""#,
                "Invalid \\uXXXX\\uXXXX surrogate pair escape at line 1, column 8",
            ),
            (
                r#"["\ud800x"]"#,
                "Invalid \\uXXXX\\uXXXX surrogate pair escape at line 1, column 10",
            ),
            (
                r#""\ud800\u0041""#,
                "Invalid \\uXXXX\\uXXXX surrogate pair escape at line 1, column 14",
            ),
            (
                r#""\ud800\q""#,
                "Invalid \\uXXXX\\uXXXX surrogate pair escape at line 1, column 10",
            ),
            (
                r#""é\ud800""#,
                "Invalid \\uXXXX\\uXXXX surrogate pair escape at line 1, column 10",
            ),
            (r#""\qabc""#, "Invalid escape at line 1, column 7"),
            (r#""\u12""#, "Invalid \\uXXXX escape at line 1, column 6"),
            (
                r#""\u12xyz""#,
                "Invalid characters in \\uXXXX escape at line 1, column 9",
            ),
            (r#""\ud800"#, "Unfinished string at EOF at line 1, column 7"),
        ] {
            let error = parse_single(text.as_bytes()).expect_err(text);
            assert_eq!(error.to_string(), expected, "{text}");
        }
        assert_eq!(round_trip(r#""\udc00""#), "\"\u{FFFD}\"");
    }

    fn first_error(text: &str) -> String {
        match parse_many(text.as_bytes()).find_map(Result::err) {
            Some(error) => error.to_string(),
            None => String::from("no error"),
        }
    }

    /// jq's tokens are judged at the byte after them, and its stack
    /// holds keys: the rules `diagnose` follows, each as jq 1.7.1 words it.
    #[test]
    fn malformed_text_is_named_as_jq_names_it() {
        for (text, expected) in [
            ("[1 \"a\"]", "Expected separator between values at line 1, column 6"),
            ("{\"a\" 1", "Expected separator between values at EOF at line 1, column 6"),
            ("{\"a\":1,}", "Expected another key-value pair at line 1, column 8"),
            ("[1,\n]", "Expected another array element at line 2, column 1"),
            ("{\"a\":}", "Unmatched '}' at line 1, column 6"),
            ("{\"a\"}", "Objects must consist of key:value pairs at line 1, column 5"),
            ("{{}:1}", "Object keys must be strings at line 1, column 4"),
            ("[1:2]", "':' not as part of an object at line 1, column 3"),
            ("{:1}", "Expected string key before ':' at line 1, column 2"),
            ("[,1]", "Expected value before ',' at line 1, column 2"),
            // A literal is checked at its delimiter, a newline counted first.
            ("[tru\n]", "Invalid literal at line 2, column 0"),
            ("nanx", "Invalid numeric literal at EOF at line 1, column 4"),
            ("NULL", "Invalid numeric literal at EOF at line 1, column 4"),
            // A top-level literal is lost when the byte after it fails.
            ("1,", "Expected value before ',' at line 1, column 2"),
            ("\"a\u{1}\\q\"", "Invalid string: control characters from U+0000 through U+001F must be escaped at line 1, column 6"),
        ] {
            assert_eq!(first_error(text), expected, "{text:?}");
        }
        assert_eq!(parse_many(b"1,").filter(Result::is_ok).count(), 0);
        assert_eq!(parse_many(b"1 ,").filter(Result::is_ok).count(), 1);
    }

    #[test]
    fn plain_runs_end_where_a_byte_at_a_time_scan_ends() {
        let mut state: u32 = 12345;
        for length in 0..80 {
            for _ in 0..50 {
                let bytes: Vec<u8> = (0..length)
                    .map(|_| {
                        state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                        match state >> 28 {
                            0 => b'"',
                            1 => b'\\',
                            2 => (state >> 8) as u8 % 0x20,
                            3 => 0x80 | (state >> 8) as u8,
                            _ => b' ' + (state >> 8) as u8 % 0x5f,
                        }
                    })
                    .collect();
                let expected = bytes
                    .iter()
                    .position(|byte| *byte == b'"' || *byte == b'\\' || *byte < 0x20)
                    .unwrap_or(bytes.len());
                assert_eq!(plain_run(&bytes), expected, "{bytes:?}");
            }
        }
    }

    /// jq 1.7.1 checks a one-byte `n` token against the second byte its
    /// token buffer still holds from an earlier token: after `null`,
    /// `[n]` is an "Invalid literal", on a fresh parser an "Invalid
    /// numeric literal". That is a stale read, not a rule; ours is always
    /// the fresh parser's answer.
    #[test]
    fn a_lone_n_is_a_bad_number_whatever_came_before() {
        assert_eq!(
            first_error("[n]"),
            "Invalid numeric literal at line 1, column 3"
        );
        assert_eq!(
            first_error("null [n]"),
            "Invalid numeric literal at line 1, column 8"
        );
    }

    /// decNumber's number syntax, which jq 1.7.1 reads: a sign, digits
    /// with an optional point on either side, an exponent with digits.
    #[test]
    fn numbers_are_read_as_decnumber_reads_them() {
        for (text, printed) in [
            ("1.", "1"),
            (".5", "0.5"),
            ("+1", "1"),
            ("-.5", "-0.5"),
            ("1.e5", "1E+5"),
            ("+.5e-3", "0.0005"),
            ("-0.", "-0"),
            ("007", "7"),
        ] {
            assert_eq!(round_trip(text), printed, "{text}");
        }
        for text in [".", "+", "-.", ".e5", "1e", "1e+", "1.5.5", "++1", "0x10"] {
            assert_eq!(
                first_error(text),
                format!(
                    "Invalid numeric literal at EOF at line 1, column {}",
                    text.len()
                ),
                "{text}"
            );
        }
    }

    /// jq's depth limit counts an object's key as a level of its own,
    /// and only what is open: a closed container, empty or not, gives its
    /// levels back.
    #[test]
    fn object_keys_count_toward_the_depth_limit() {
        let siblings = format!("[{}1]", "[], {}, [1], {\"a\":{}}, ".repeat(300));
        assert_eq!(
            parse_many(siblings.as_bytes())
                .filter(Result::is_ok)
                .count(),
            1
        );
        let nested = |levels: usize| "{\"a\":".repeat(levels) + "1" + &"}".repeat(levels);
        assert_eq!(
            parse_many(nested(128).as_bytes())
                .filter(Result::is_ok)
                .count(),
            1
        );
        assert_eq!(
            first_error(&nested(129)),
            "Exceeds depth limit for parsing at line 1, column 641"
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
        // jq names the `}` after the `2`, where it finds the colon missing.
        assert_eq!((error.line, error.column), (2, 7), "{error}");
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

    /// Hands out at most `step` bytes per read, as a pipe may.
    struct Trickle {
        text: Vec<u8>,
        at: usize,
        step: usize,
    }

    impl Read for Trickle {
        fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
            let count = self.step.min(buffer.len()).min(self.text.len() - self.at);
            buffer[..count].copy_from_slice(&self.text[self.at..self.at + count]);
            self.at += count;
            Ok(count)
        }
    }

    fn streamed(text: &[u8], step: usize) -> Vec<Result<(Val, InputPlace), ReadError>> {
        let reader = Trickle {
            text: text.to_vec(),
            at: 0,
            step,
        };
        let mut input = Input::from_reader("<stdin>", Box::new(reader), false);
        let mut largest = 0;
        let values = std::iter::from_fn(|| {
            let value = input.next_value();
            largest = largest.max(input.reader.text.len());
            value
        })
        .collect();
        // Only a few chunks are held (and the longest value).
        assert!(largest <= 6 * CHUNK.max(step), "{largest} bytes held");
        values
    }

    #[test]
    fn streaming_reads_what_a_slice_reads() {
        // Several chunks of values, strings with escapes, a long string
        // and numbers cut anywhere by the reads.
        let mut text = String::new();
        for i in 0..20_000 {
            text.push_str(&format!(
                "{{\"n\":{i},\"s\":\"a\\\"b\\u00e9 {i}\",\"f\":{i}.5e-3}}\n"
            ));
        }
        text.push_str(&format!("\"{}\"\n", "x".repeat(3 * CHUNK)));
        text.push_str("[1, 2,\n 3] 4");
        let expected: Vec<Val> = parse_many(text.as_bytes()).map(Result::unwrap).collect();
        for step in [1 << 20, CHUNK, 4093, 7] {
            let values = streamed(text.as_bytes(), step);
            let got: Vec<Val> = values.iter().map(|v| v.clone().unwrap().0).collect();
            assert!(got == expected, "step {step}");
            let lines: Vec<usize> = values.iter().map(|v| v.clone().unwrap().1.line).collect();
            assert_eq!(lines[0], 1);
            assert_eq!(lines[19_999], 20_000);
            assert_eq!(lines[20_000], 20_001);
            // The last line has no newline, so jq has not counted it.
            assert_eq!(&lines[20_001..], [20_002, 20_002], "step {step}");
        }
    }

    #[test]
    fn streaming_errors_name_the_same_place() {
        let mut text = "[1,2]\n".repeat(30_000);
        text.push_str("{\"a\":1,\n \"b\" 2}");
        let expected = parse_many(text.as_bytes())
            .find_map(Result::err)
            .expect("an error");
        for step in [CHUNK, 1000] {
            let error = streamed(text.as_bytes(), step)
                .into_iter()
                .find_map(Result::err)
                .expect("an error");
            assert_eq!(error, expected, "step {step}");
            assert_eq!((error.line, error.column), (30_002, 7));
        }
    }
}

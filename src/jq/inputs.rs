//! `doi-jq`'s inputs, read as jq 1.7.1 reads them: the files (or stdin)
//! are one stream, so a value or a raw line may run on from one file into
//! the next; `-R` gives lines, `-s` one value, `--stream` jq's streaming
//! events, `--seq` ignores record separators. Each value read updates the
//! place (`input_filename`, `input_line_number`, `jq: error (at ...)`),
//! counted as jq counts it: the lines of the current file that jq's
//! line-by-line reader had taken in when the value was complete.

use super::{InputPlace, Val};
use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;

/// `eprintln!`/`println!` without their panic when the stream is closed
/// (jq exits quietly when its output goes away).
macro_rules! stderr_line {
    ($($argument:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($argument)*);
    }};
}

/// How inputs are turned into values.
#[derive(Clone, Copy, Debug, Default)]
pub struct InputMode {
    pub raw: bool,
    pub slurp: bool,
    pub seq: bool,
    /// `--stream-errors`: a parse error becomes the input `[message, path]`.
    pub stream_errors: bool,
    pub stream: bool,
}

/// All input bytes, with where each file starts.
pub struct Sources {
    text: Vec<u8>,
    /// (offset, name) of each file, in order.
    files: Vec<(usize, String)>,
}

impl Sources {
    /// Reads every file (stdin for none or `-`). Files that cannot be read
    /// are reported as jq reports them and skipped.
    pub fn read(files: &[PathBuf], errors: &mut Vec<String>) -> Self {
        use std::io::Read;
        let mut sources = Self {
            text: Vec::new(),
            files: Vec::new(),
        };
        let stdin = [PathBuf::from("-")];
        let files = if files.is_empty() { &stdin[..] } else { files };
        for file in files {
            let start = sources.text.len();
            let (name, read) = if file.as_os_str() == "-" {
                let read = std::io::stdin().read_to_end(&mut sources.text);
                ("<stdin>".to_string(), read.map(|_| ()))
            } else {
                let read = std::fs::File::open(file)
                    .and_then(|mut handle| handle.read_to_end(&mut sources.text));
                (file.display().to_string(), read.map(|_| ()))
            };
            match read {
                Ok(()) => sources.files.push((start, name)),
                Err(error) => {
                    sources.text.truncate(start);
                    errors.push(format!(
                        "jq: error: Could not open {} {}: {}",
                        "file",
                        file.display(),
                        super::cli::io_reason(&error)
                    ));
                }
            }
        }
        sources
    }

    /// The file holding byte `offset`: its start, its end and its name.
    fn file_at(&self, offset: usize) -> (usize, usize, &str) {
        let index = self
            .files
            .partition_point(|(start, _)| *start <= offset)
            .saturating_sub(1);
        let end = self
            .files
            .get(index + 1)
            .map_or(self.text.len(), |(start, _)| *start);
        match self.files.get(index) {
            Some((start, name)) => (*start, end, name),
            None => (0, self.text.len(), "<stdin>"),
        }
    }

    /// The place jq reports once it has read up to `offset`.
    fn place_at(&self, offset: usize) -> InputPlace {
        let (start, end, name) = self.file_at(offset);
        let offset = offset.min(end);
        // jq reads whole lines: the line holding `offset` is read if it
        // ends in a newline.
        let line_end = self.text[offset..end]
            .iter()
            .position(|byte| *byte == b'\n')
            .map_or(offset, |position| offset + position + 1);
        let line = self.text[start..line_end]
            .iter()
            .filter(|byte| **byte == b'\n')
            .count();
        InputPlace {
            file: Some(name.to_string()),
            line,
        }
    }

    /// The inputs of `files` as values, read only when the first is asked
    /// for (`jq -n` reads stdin only if the program calls `input`).
    /// Files that cannot be opened are reported on stderr and counted in
    /// `failed`.
    pub fn lazy(
        files: Vec<PathBuf>,
        mode: InputMode,
        place: Rc<RefCell<InputPlace>>,
        failed: Rc<std::cell::Cell<usize>>,
    ) -> impl Iterator<Item = Result<Val, String>> {
        let mut values: Option<Box<dyn Iterator<Item = Result<Val, String>>>> = None;
        std::iter::from_fn(move || {
            let values = values.get_or_insert_with(|| {
                let mut errors = Vec::new();
                let sources = Rc::new(Sources::read(&files, &mut errors));
                for error in &errors {
                    stderr_line!("{error}");
                }
                failed.set(failed.get() + errors.len());
                sources.values(mode, place.clone())
            });
            let next = values.next();
            if next.is_none() {
                // jq forgets where it was once the inputs are done.
                *place.borrow_mut() = InputPlace::default();
            }
            next
        })
    }

    /// The inputs as values, updating `place` as each is read.
    pub fn values(
        self: Rc<Self>,
        mode: InputMode,
        place: Rc<RefCell<InputPlace>>,
    ) -> Box<dyn Iterator<Item = Result<Val, String>>> {
        if mode.raw {
            return self.raw_values(mode, place);
        }
        let parsed: Vec<Result<(Val, usize), String>> = if mode.seq {
            seq_values(&self.text)
        } else {
            let parsed: Vec<_> = super::read::parse_many_with_ends(&self.text).collect();
            if mode.stream && !mode.slurp {
                let events = stream_values(&self.text, parsed, mode);
                return Box::new(events.into_iter().map(move |(event, end)| {
                    *place.borrow_mut() = self.place_at(end.saturating_sub(1));
                    event
                }));
            }
            parsed
                .into_iter()
                .map(|value| value.map_err(|error| error.to_string()))
                .collect()
        };
        let parsed = parsed.into_iter();
        let values = parsed.map(move |value| {
            value.map(|(value, end)| {
                // A number or literal is complete once the byte after it is
                // read; anything else at its last byte.
                let last = match value {
                    Val::Null | Val::Bool(_) | Val::Num(_) if end < self.text.len() => end,
                    _ => end.saturating_sub(1),
                };
                *place.borrow_mut() = self.place_at(last);
                value
            })
        });
        if mode.slurp {
            let all: Result<Vec<Val>, String> = values.collect();
            let slurped = all.map(|values| {
                if mode.stream {
                    values.iter().flat_map(stream_events).collect()
                } else {
                    values.into_iter().collect()
                }
            });
            return Box::new(std::iter::once(slurped));
        }
        Box::new(values)
    }

    /// `-R`: each line (without its newline) across file boundaries, or
    /// with `-s` all the text as one string.
    fn raw_values(
        self: Rc<Self>,
        mode: InputMode,
        place: Rc<RefCell<InputPlace>>,
    ) -> Box<dyn Iterator<Item = Result<Val, String>>> {
        if mode.slurp {
            let text = &self.text;
            *place.borrow_mut() = self.place_at(text.len());
            let all = Val::from(String::from_utf8_lossy(text).into_owned());
            return Box::new(std::iter::once(Ok(all)));
        }
        let mut start = 0;
        Box::new(std::iter::from_fn(move || {
            let text = &self.text;
            if start >= text.len() {
                return None;
            }
            let end = text[start..]
                .iter()
                .position(|byte| *byte == b'\n')
                .map_or(text.len(), |position| start + position);
            let line = String::from_utf8_lossy(&text[start..end]).into_owned();
            *place.borrow_mut() = self.place_at(end.min(text.len().saturating_sub(1)));
            start = end + 1;
            Some(Ok(Val::from(line)))
        }))
    }
}

/// jq's place of byte `at`: "line L, column C" (C counts the bytes of the
/// line up to and including it).
fn position(text: &[u8], at: usize) -> String {
    let before = &text[..at.min(text.len())];
    let line = before.iter().filter(|byte| **byte == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|byte| *byte == b'\n')
        .map_or(0, |n| n + 1);
    format!(
        "line {line}, column {}",
        at.min(text.len()) + 1 - line_start
    )
}

/// jq's place at the end of the text: the line after a final newline is
/// counted, at column 0.
fn end_position(text: &[u8]) -> String {
    let line = text.iter().filter(|byte| **byte == b'\n').count() + 1;
    let line_start = text
        .iter()
        .rposition(|byte| *byte == b'\n')
        .map_or(0, |n| n + 1);
    format!("line {line}, column {}", text.len() - line_start)
}

/// `--seq`: texts that each follow a record separator (RS), as jq 1.7.1
/// reads them. What comes before the first RS is dropped (reported only
/// when no RS comes at all); a text cut short by the next RS, a number
/// that ends right at one, and anything at the very end not followed by
/// a byte are reported (or quietly dropped, as jq drops a complete value
/// there) as errors jq ignores; any other error skips to the next RS.
/// The errors are the messages after `jq: ignoring parse error: `.
fn seq_values(text: &[u8]) -> Vec<Result<(Val, usize), String>> {
    const RS: u8 = 0x1e;
    let mut out = Vec::new();
    let separators: Vec<usize> = text
        .iter()
        .enumerate()
        .filter(|(_, byte)| **byte == RS)
        .map(|(at, _)| at)
        .collect();
    if separators.is_empty() {
        if !text.iter().all(u8::is_ascii_whitespace) {
            out.push(Err(format!(
                "Unfinished abandoned text at EOF at {}",
                end_position(text)
            )));
        }
        return out;
    }
    let mut starts = separators.iter().map(|at| at + 1).peekable();
    while let Some(start) = starts.next() {
        let end = starts.peek().map_or(text.len(), |next| next - 1);
        let chunk = &text[start..end];
        let at_eof = end == text.len();
        for value in super::read::parse_many_with_ends(chunk) {
            match value {
                Ok((value, stop)) => {
                    let is_number = matches!(value, Val::Num(_));
                    if stop == chunk.len() {
                        // Nothing after the value: jq cannot tell it is whole.
                        if at_eof && is_number {
                            let column = end_position(text);
                            out.push(Err(format!(
                                "Potentially truncated top-level numeric value at EOF at {column}"
                            )));
                        } else if is_number {
                            out.push(Err(format!(
                                "Potentially truncated top-level numeric value at {}",
                                position(text, end)
                            )));
                        } else if !at_eof {
                            out.push(Ok((value, start + stop)));
                        }
                        continue;
                    }
                    out.push(Ok((value, start + stop)));
                }
                Err(error) if error.offset >= chunk.len() => {
                    if at_eof {
                        out.push(Err(format!("{} at {}", error.message, end_position(text))));
                    } else {
                        out.push(Err(format!("Truncated value at {}", position(text, end))));
                    }
                }
                Err(error) => {
                    out.push(Err(format!(
                        "{} at {} (need RS to resync)",
                        error.message,
                        position(text, start + error.offset)
                    )));
                }
            }
        }
    }
    out
}

/// `--stream`: each value's events (with the offset they were read up
/// to); a value cut short by a parse error still gives the events of what
/// was read of it, then the error, or with `--stream-errors` the input
/// `[message, path]`.
fn stream_values(
    text: &[u8],
    parsed: Vec<Result<(Val, usize), super::read::ReadError>>,
    mode: InputMode,
) -> Vec<(Result<Val, String>, usize)> {
    let mut events: Vec<(Result<Val, String>, usize)> = Vec::new();
    let mut start = 0;
    for value in parsed {
        match value {
            Ok((value, end)) => {
                events.extend(
                    stream_events(&value)
                        .into_iter()
                        .map(|event| (Ok(event), end)),
                );
                start = end;
            }
            Err(error) => {
                let (prefix, path) = partial_events(text, start, error.offset);
                events.extend(prefix.into_iter().map(|event| (Ok(event), error.offset)));
                let failure = if mode.stream_errors {
                    Ok([Val::from(error.to_string()), path].into_iter().collect())
                } else {
                    Err(error.to_string())
                };
                events.push((failure, error.offset));
            }
        }
    }
    events
}

/// The `--stream` events of a value that a parse error at `stop` cut
/// short (it started at or after `start`), and the path being read there,
/// as jq's streaming parser has them: only leaves complete before `stop`,
/// `null` for an object key not read yet.
fn partial_events(text: &[u8], start: usize, stop: usize) -> (Vec<Val>, Val) {
    /// An open container: the path key being filled and whether anything
    /// was put in it.
    struct Open {
        key: Val,
        object: bool,
        filled: bool,
        /// In an object, whether the next string is a key.
        want_key: bool,
    }
    let path = |stack: &[Open]| -> Val { stack.iter().map(|open| open.key.clone()).collect() };
    let mut out = Vec::new();
    let mut stack: Vec<Open> = Vec::new();
    let mut at = start;
    let delimiter = |byte: u8| b" \t\r\n,:]}[{\"".contains(&byte);
    while at < stop {
        let byte = text[at];
        match byte {
            b' ' | b'\t' | b'\r' | b'\n' | b':' => at += 1,
            b'[' | b'{' => {
                stack.push(Open {
                    key: if byte == b'[' {
                        Val::from(0usize)
                    } else {
                        Val::Null
                    },
                    object: byte == b'{',
                    filled: false,
                    want_key: byte == b'{',
                });
                at += 1;
            }
            b',' => {
                if let Some(open) = stack.last_mut() {
                    if open.object {
                        open.key = Val::Null;
                        open.want_key = true;
                    } else {
                        let next = jaq_std::ValT::as_isize(&open.key).unwrap_or(0) + 1;
                        open.key = Val::from(next);
                    }
                }
                at += 1;
            }
            b']' | b'}' => {
                let Some(open) = stack.pop() else { break };
                let here = path(&stack);
                if open.filled {
                    let mut last = stack.iter().map(|o| o.key.clone()).collect::<Vec<_>>();
                    last.push(open.key);
                    out.push([last.into_iter().collect::<Val>()].into_iter().collect());
                } else {
                    let empty = if open.object {
                        Val::obj(jaq_json::Map::default())
                    } else {
                        Val::from_iter(std::iter::empty())
                    };
                    out.push([here, empty].into_iter().collect());
                }
                if let Some(parent) = stack.last_mut() {
                    parent.filled = true;
                }
                at += 1;
            }
            _ => {
                let end = if byte == b'"' {
                    let mut end = at + 1;
                    while end < text.len() && text[end] != b'"' {
                        end += if text[end] == b'\\' { 2 } else { 1 };
                    }
                    end + 1
                } else {
                    let mut end = at;
                    while end < text.len() && !delimiter(text[end]) {
                        end += 1;
                    }
                    // jq cannot tell a number at the very end is whole.
                    if end >= stop {
                        break;
                    }
                    end
                };
                if end > stop {
                    break;
                }
                let Ok(value) = super::read::parse_single(&text[at..end]) else {
                    break;
                };
                match stack.last_mut() {
                    Some(open) if open.want_key => {
                        open.key = value;
                        open.want_key = false;
                    }
                    _ => {
                        out.push([path(&stack), value].into_iter().collect());
                        if let Some(open) = stack.last_mut() {
                            open.filled = true;
                        }
                    }
                }
                at = end;
            }
        }
    }
    (out, path(&stack))
}

/// jq's `--stream` events of one value (what `tostream` gives).
pub fn stream_events(value: &Val) -> Vec<Val> {
    fn walk(value: &Val, path: &mut Vec<Val>, out: &mut Vec<Val>) {
        let children: Vec<(Val, &Val)> = match value {
            Val::Arr(items) => items
                .iter()
                .enumerate()
                .map(|(index, item)| (Val::from(index), item))
                .collect(),
            Val::Obj(entries) => entries.iter().map(|(k, v)| (k.clone(), v)).collect(),
            _ => Vec::new(),
        };
        if children.is_empty() {
            let here: Val = path.iter().cloned().collect();
            out.push([here, value.clone()].into_iter().collect());
            return;
        }
        let mut last = Val::Null;
        for (key, child) in children {
            path.push(key.clone());
            walk(child, path, out);
            path.pop();
            last = key;
        }
        let closing: Val = path.iter().cloned().chain([last]).collect();
        out.push([closing].into_iter().collect());
    }
    let mut out = Vec::new();
    walk(value, &mut Vec::new(), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compact(value: &Val) -> String {
        let bytes =
            super::super::print::to_vec(value, &super::super::print::PrintOptions::compact());
        String::from_utf8(bytes).expect("UTF-8")
    }

    #[test]
    fn stream_events_are_jq_tostream() {
        let value = super::super::read::parse_single(br#"[1,{"a":2}]"#).expect("JSON");
        let events: Vec<String> = stream_events(&value).iter().map(compact).collect();
        assert_eq!(
            events,
            [r#"[[0],1]"#, r#"[[1,"a"],2]"#, r#"[[1,"a"]]"#, r#"[[1]]"#]
        );
        let scalar = stream_events(&Val::from(3isize));
        assert_eq!(compact(&scalar[0]), "[[],3]");
    }

    #[test]
    fn lines_are_counted_as_jq_counts_them() {
        let sources = Sources {
            text: b"1\n2\n3".to_vec(),
            files: vec![(0, "<stdin>".to_string())],
        };
        let place = Rc::new(RefCell::new(InputPlace::default()));
        let mut lines = Vec::new();
        for value in Rc::new(sources).values(InputMode::default(), place.clone()) {
            value.expect("valid");
            lines.push(place.borrow().line);
        }
        assert_eq!(lines, [1, 2, 2]);
    }
}

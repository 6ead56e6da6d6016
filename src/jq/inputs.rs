//! `doi-jq`'s inputs, read as jq 1.7.1 reads them: the files (or stdin)
//! are one stream, so a value or a raw line may run on from one file into
//! the next; `-R` gives lines, `-s` one value, `--stream` jq's streaming
//! events, `--seq` ignores record separators. Each value read updates the
//! place (`input_filename`, `input_line_number`, `jq: error (at ...)`),
//! counted as jq counts it: the lines of the current file that jq's
//! line-by-line reader had taken in when the value was complete.

use super::builtins::stream_events;
use super::print::jq_text;
use super::read::{Input, ReportError};
use super::{InputPlace, Val};
use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;

/// How inputs are turned into values.
#[derive(Clone, Copy, Debug, Default)]
pub struct InputMode {
    pub raw: bool,
    pub slurp: bool,
    pub seq: bool,
    pub stream: bool,
    /// `--stream-errors`: a parse error becomes the input `[message, path]`.
    pub stream_errors: bool,
}

/// doi-jq's inputs.
pub struct Sources;

impl Sources {
    /// The inputs of `files` as values, read as they are asked for (`jq
    /// -n` reads stdin only if the program calls `input`), one value at a
    /// time: only the value being read and a chunk of input are held.
    /// Files that cannot be opened are reported on stderr, as jq reports
    /// them, and counted in `failed`.
    pub fn lazy(
        files: Vec<PathBuf>,
        mode: InputMode,
        place: Rc<RefCell<InputPlace>>,
        failed: Rc<std::cell::Cell<usize>>,
    ) -> impl Iterator<Item = Result<Val, String>> {
        let report: ReportError = Box::new(move |file, error| {
            eprintln!(
                "jq: error: Could not open file {}: {}",
                file.display(),
                super::cli::io_reason(error)
            );
            failed.set(failed.get() + 1);
        });
        let mut values = values(Input::new(files, mode.raw, report), mode, place.clone());
        std::iter::from_fn(move || {
            let next = values.next();
            if next.is_none() {
                // jq forgets where it was once the inputs are done.
                *place.borrow_mut() = InputPlace::default();
            }
            next
        })
    }
}

/// The values of `input` as `mode` makes them, updating `place` as each
/// is read.
fn values(
    mut input: Input,
    mode: InputMode,
    place: Rc<RefCell<InputPlace>>,
) -> Box<dyn Iterator<Item = Result<Val, String>>> {
    if mode.raw {
        if mode.slurp {
            return Box::new(std::iter::once_with(move || {
                let (text, end) = input.rest();
                *place.borrow_mut() = end;
                Ok(Val::from(jq_text(&text).into_owned()))
            }));
        }
        return Box::new(std::iter::from_fn(move || {
            let (line, at) = input.next_line()?;
            *place.borrow_mut() = at;
            Some(Ok(Val::from(jq_text(&line).into_owned())))
        }));
    }
    if mode.seq {
        return sequenced(input, mode, place);
    }
    if mode.stream && !mode.slurp {
        return streamed(input, mode, place);
    }
    let values = std::iter::from_fn(move || {
        let Some(next) = input.next_value() else {
            // What `-s` reports: jq has read to the end.
            if let Some(end) = input.end_place() {
                *place.borrow_mut() = end;
            }
            return None;
        };
        Some(match next {
            Ok((value, at)) => {
                *place.borrow_mut() = at;
                Ok(value)
            }
            Err(error) => Err(error.to_string()),
        })
    });
    if mode.slurp {
        return Box::new(std::iter::once_with(move || {
            let mut all = Vec::new();
            for value in values {
                let value = value?;
                if mode.stream {
                    all.extend(stream_events(value));
                } else {
                    all.push(value);
                }
            }
            Ok(all.into_iter().collect())
        }));
    }
    Box::new(values)
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
/// when no RS comes at all); a text cut short by the next RS (quietly
/// when it is an array or object), a number that ends right at one or at
/// the very end are reported as errors jq ignores; any other error skips
/// to the next RS. The errors are the messages after `jq: ignoring parse
/// error: `.
///
/// One more habit of jq 1.7.1's, recorded, not explained: when the first
/// record gives nothing at all (`\x1e\x1e[2]`), a value is given out
/// only once a newline follows it in the input; values after the last
/// newline are lost.
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
        // jq waits for a separator from the start: whatever came, even
        // nothing, was abandoned.
        return vec![Err(format!(
            "Unfinished abandoned text at EOF at {}",
            end_position(text)
        ))];
    }
    let mut starts = separators.iter().map(|at| at + 1).peekable();
    // Where the values that wait for a newline begin in `out`.
    let mut held_from = None;
    while let Some(start) = starts.next() {
        let end = starts.peek().map_or(text.len(), |next| next - 1);
        let chunk = &text[start..end];
        let at_eof = end == text.len();
        let before = out.len();
        // Where the value being read starts, for a text cut short.
        let mut value_start = 0;
        for value in super::read::parse_many_with_ends(chunk) {
            match value {
                Ok((value, stop)) => {
                    value_start = stop;
                    let is_number = matches!(value, Val::Num(_));
                    if stop == chunk.len() {
                        // Nothing after the value: jq cannot tell it is whole.
                        if at_eof && is_number {
                            let column = end_position(text);
                            out.push((
                                Err(format!(
                                    "Potentially truncated top-level numeric value at EOF at {column}"
                                )),
                                text.len(),
                            ));
                        } else if is_number {
                            out.push((
                                Err(format!(
                                    "Potentially truncated top-level numeric value at {}",
                                    position(text, end)
                                )),
                                end,
                            ));
                        } else {
                            out.push((Ok((value, start + stop)), start + stop));
                        }
                        continue;
                    }
                    out.push((Ok((value, start + stop)), start + stop));
                }
                Err(error) if error.offset >= chunk.len() => {
                    let container = chunk[value_start..]
                        .iter()
                        .find(|byte| !byte.is_ascii_whitespace())
                        .is_some_and(|byte| matches!(byte, b'[' | b'{'));
                    if at_eof {
                        let message = format!("{} at {}", error.message, end_position(text));
                        out.push((Err(message), text.len()));
                    } else if !container {
                        out.push((
                            Err(format!("Truncated value at {}", position(text, end))),
                            end,
                        ));
                    }
                }
                Err(error) => {
                    let at = start + error.offset;
                    let message = format!(
                        "{} at {} (need RS to resync)",
                        error.message,
                        position(text, at)
                    );
                    out.push((Err(message), at));
                }
            }
        }
        if start == separators[0] + 1 && out.len() == before {
            held_from = Some(before);
        }
    }
    let last_newline = text.iter().rposition(|byte| *byte == b'\n');
    out.into_iter()
        .enumerate()
        .filter(|(index, (_, at))| {
            held_from.is_none_or(|from| {
                *index < from || last_newline.is_some_and(|newline| newline >= *at)
            })
        })
        .map(|(_, (item, _))| item)
        .collect()
}

/// `--seq` inputs: jq's rules need the separators' places, so the text is
/// read whole (`--seq` streams are small records), then taken apart by
/// [`seq_values`]; each value's place counts the lines before its end.
fn sequenced(
    mut input: Input,
    mode: InputMode,
    place: Rc<RefCell<InputPlace>>,
) -> Box<dyn Iterator<Item = Result<Val, String>>> {
    let (text, end) = input.rest();
    let values = seq_values(&text);
    let mut counted = (0, 0);
    let items = values.into_iter().map(move |value| {
        value.map(|(value, stop)| {
            let (at, lines) = counted;
            let more = text[at..stop].iter().filter(|byte| **byte == b'\n').count();
            counted = (stop, lines + more);
            *place.borrow_mut() = InputPlace {
                file: end.file.clone(),
                line: lines + more,
            };
            value
        })
    });
    if mode.stream {
        return Box::new(items.flat_map(|value| -> Box<dyn Iterator<Item = _>> {
            match value {
                Ok(value) => Box::new(stream_events(value).map(Ok)),
                Err(error) => Box::new(std::iter::once(Err(error))),
            }
        }));
    }
    Box::new(items)
}

/// `--stream`: the events as the reader finds them; a parse error ends
/// them, or with `--stream-errors` is the input `[message, path]` and
/// reading goes on after it as jq's does ([`Input::resume_after`]).
fn streamed(
    mut input: Input,
    mode: InputMode,
    place: Rc<RefCell<InputPlace>>,
) -> Box<dyn Iterator<Item = Result<Val, String>>> {
    Box::new(std::iter::from_fn(move || match input.next_event()? {
        Ok((event, at)) => {
            *place.borrow_mut() = at;
            Some(Ok(event))
        }
        Err(error) if mode.stream_errors => {
            let path = input.event_path();
            *place.borrow_mut() = input.error_place(&error);
            input.resume_after(&error);
            Some(Ok([Val::from(error.to_string()), path]
                .into_iter()
                .collect()))
        }
        Err(error) => Some(Err(error.to_string())),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(text: &'static [u8], mode: InputMode) -> Vec<(String, usize)> {
        let input = Input::from_reader("<stdin>", Box::new(text), false);
        let place = Rc::new(RefCell::new(InputPlace::default()));
        values(input, mode, place.clone())
            .map(|value| {
                let value = value.expect("valid input");
                let text = super::super::value::compact_text(&value);
                (text, place.borrow().line)
            })
            .collect()
    }

    #[test]
    fn lines_are_counted_as_jq_counts_them() {
        let lines: Vec<usize> = lines_of(b"1\n2\n3", InputMode::default())
            .into_iter()
            .map(|(_, line)| line)
            .collect();
        assert_eq!(lines, [1, 2, 2]);
        let raw = InputMode {
            raw: true,
            ..InputMode::default()
        };
        assert_eq!(
            lines_of(b"a\n\nb", raw),
            [
                ("\"a\"".to_string(), 1),
                ("\"\"".to_string(), 2),
                ("\"b\"".to_string(), 2)
            ]
        );
    }

    /// jq 1.7.1's `--seq` habits, recorded (`printf ... | jq -c --seq .`).
    #[test]
    fn seq_records_as_jq_reads_them() {
        let shown = |text: &[u8]| -> Vec<String> {
            seq_values(text)
                .into_iter()
                .map(|item| match item {
                    Ok((value, _)) => super::super::value::compact_text(&value),
                    Err(message) => message,
                })
                .collect()
        };
        // An empty record between values, and a value right at the end.
        assert_eq!(shown(b"\x1e[1]\x1e\x1e[2]"), ["[1]", "[2]"]);
        // An array cut short by the next RS goes quietly; a literal does not.
        assert_eq!(shown(b"\x1e[1]\x1e[1 \x1e[2]"), ["[1]", "[2]"]);
        assert_eq!(
            shown(b"\x1e[1]\x1ex\x1e[2]"),
            ["[1]", "Truncated value at line 1, column 7", "[2]"]
        );
        // After an empty first record, only values a newline follows.
        assert_eq!(shown(b"\x1e\x1e[2]\x1e[3]\n\x1e[4]"), ["[2]", "[3]"]);
        assert!(shown(b"\x1e\x1e[2]").is_empty());
    }

    /// Recorded with `printf TEXT | jq -c --stream-errors '[.,
    /// input_line_number]'` (jq 1.7.1): after a mistake jq throws away
    /// the rest of the line (of its 4095-byte piece of it), unread, so
    /// later columns run on and the skipped newline is not counted; the
    /// place counts the lines of the pieces read, and is lost once jq
    /// has closed the input.
    #[test]
    fn stream_errors_read_on_as_jq_does() {
        let mode = InputMode {
            stream: true,
            stream_errors: true,
            ..InputMode::default()
        };
        let long = format!("[1,}}{}[7] [8]\n[9]", " ".repeat(4090));
        let cases: &[(&str, &[&str])] = &[
            (
                "[1,}\n  [1,}\n[2]\n",
                &[
                    "[[0],1] 1",
                    r#"["Expected another key:value pair at line 1, column 4",[1]] 1"#,
                    "[[0],1] 2",
                    r#"["Expected another key:value pair at line 1, column 10",[1]] 2"#,
                    "[[0],2] 3",
                    "[[0]] 3",
                ],
            ),
            ("[1,\n2]", &["[[0],1] 1", "[[1],2] 1", "[[1]] 0"]),
            (
                "{\"a\":tru}\n{\"b\":[1 2]}\n[3,",
                &[
                    r#"["Invalid literal at line 1, column 9",["a"]] 1"#,
                    r#"["Expected separator between values at line 1, column 19",["b",0]] 2"#,
                    "[[0],3] 2",
                    r#"["Unfinished JSON term at EOF at line 1, column 22",[1]] 0"#,
                ],
            ),
            (
                &long,
                &[
                    "[[0],1] 0",
                    r#"["Expected another key:value pair at line 1, column 4",[1]] 0"#,
                    r#"["Unmatched ']' at the top-level at line 1, column 6",[]] 1"#,
                    "[[0],9] 1",
                    "[[0]] 0",
                ],
            ),
        ];
        for (text, expected) in cases {
            let text: &'static [u8] = Box::leak(text.as_bytes().to_vec().into_boxed_slice());
            let items: Vec<String> = lines_of(text, mode)
                .into_iter()
                .map(|(item, line)| format!("{item} {line}"))
                .collect();
            assert_eq!(items, *expected, "{:?}", String::from_utf8_lossy(text));
        }
    }

    #[test]
    fn stream_and_seq_modes() {
        let stream = InputMode {
            stream: true,
            ..InputMode::default()
        };
        let events: Vec<String> = lines_of(b"[1,{\"a\":2}]", stream)
            .into_iter()
            .map(|(event, _)| event)
            .collect();
        assert_eq!(
            events,
            [r#"[[0],1]"#, r#"[[1,"a"],2]"#, r#"[[1,"a"]]"#, r#"[[1]]"#]
        );
        let seq = InputMode {
            seq: true,
            ..InputMode::default()
        };
        // jq 1.7.1 drops a number that ends right at a separator (it
        // cannot tell it is whole), so the first ends with a newline.
        let values: Vec<String> = lines_of(b"\x1e1\n\x1e[2]\n", seq)
            .into_iter()
            .map(|(value, _)| value)
            .collect();
        assert_eq!(values, ["1", "[2]"]);
    }
}

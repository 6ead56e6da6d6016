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
use super::seq::Records;
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
        values(Input::new(files, mode.raw, report), mode, place)
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
            let mut slurped = false;
            return Box::new(std::iter::from_fn(move || {
                if std::mem::replace(&mut slurped, true) {
                    *place.borrow_mut() = input.place_after_values();
                    return None;
                }
                let (text, end) = input.rest();
                *place.borrow_mut() = end;
                Some(Ok(Val::from(jq_text(&text).into_owned())))
            }));
        }
        return Box::new(std::iter::from_fn(move || {
            let Some((line, at)) = input.next_line() else {
                *place.borrow_mut() = input.place_after_values();
                return None;
            };
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
    let mut ended = false;
    let mut values = std::iter::from_fn(move || {
        let Some(next) = input.next_value() else {
            if !mode.slurp || std::mem::replace(&mut ended, true) {
                *place.borrow_mut() = input.place_after_values();
            } else if let Some(end) = input.end_place() {
                // What `-s` reports: jq has read to the end.
                *place.borrow_mut() = end;
            }
            return None;
        };
        Some(match next {
            Ok((value, at)) => {
                *place.borrow_mut() = at;
                Ok(value)
            }
            Err(error) => {
                *place.borrow_mut() = input.error_place(&error);
                // jq's parser starts again after a mistake, so a program
                // that asks again reads on; `-s` ends at the first.
                if !mode.slurp {
                    input.resume_after(&error);
                }
                Err(error.to_string())
            }
        })
    });
    if mode.slurp {
        let mut slurped = false;
        return Box::new(std::iter::from_fn(move || {
            if std::mem::replace(&mut slurped, true) {
                // Asking again after the one value closes the input.
                return values.next().and(None);
            }
            let mut all = Vec::new();
            for value in values.by_ref() {
                let value = match value {
                    Ok(value) => value,
                    Err(error) => return Some(Err(error)),
                };
                if mode.stream {
                    all.extend(stream_events(value));
                } else {
                    all.push(value);
                }
            }
            Some(Ok(all.into_iter().collect()))
        }));
    }
    Box::new(values)
}

/// `--seq` inputs ([`Records`]), each value updating `place`.
fn sequenced(
    input: Input,
    mode: InputMode,
    place: Rc<RefCell<InputPlace>>,
) -> Box<dyn Iterator<Item = Result<Val, String>>> {
    let mut records = Records::new(input, mode.slurp);
    let items = std::iter::from_fn(move || {
        let Some((item, at)) = records.next() else {
            *place.borrow_mut() = records.end_place();
            return None;
        };
        *place.borrow_mut() = at;
        Some(item)
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

/// `--stream`: the events as the reader finds them. A parse error is an
/// error (with `--stream-errors` the input `[message, path]`), and
/// reading goes on after it as jq's does ([`Input::resume_after`]).
fn streamed(
    mut input: Input,
    mode: InputMode,
    place: Rc<RefCell<InputPlace>>,
) -> Box<dyn Iterator<Item = Result<Val, String>>> {
    Box::new(std::iter::from_fn(move || {
        let Some(next) = input.next_event() else {
            *place.borrow_mut() = input.place_after_values();
            return None;
        };
        match next {
            Ok((event, at)) => {
                *place.borrow_mut() = at;
                Some(Ok(event))
            }
            Err(error) => {
                let path = input.event_path();
                *place.borrow_mut() = input.error_place(&error);
                input.resume_after(&error);
                let message = error.to_string();
                Some(if mode.stream_errors {
                    Ok([Val::from(message), path].into_iter().collect())
                } else {
                    Err(message)
                })
            }
        }
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

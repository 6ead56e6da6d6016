//! `doi-jq`'s inputs, read as jq 1.7.1 reads them: the files (or stdin)
//! are one stream, so a value or a raw line may run on from one file into
//! the next; `-R` gives lines, `-s` one value, `--stream` jq's streaming
//! events, `--seq` ignores record separators. Each value read updates the
//! place (`input_filename`, `input_line_number`, `jq: error (at ...)`),
//! counted as jq counts it: the lines of the current file that jq's
//! line-by-line reader had taken in when the value was complete.

use super::builtins::stream_events;
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
        let mut values = values(Input::new(files, mode.seq, report), mode, place.clone());
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
                Ok(Val::from(String::from_utf8_lossy(&text).into_owned()))
            }));
        }
        return Box::new(std::iter::from_fn(move || {
            let (line, at) = input.next_line()?;
            *place.borrow_mut() = at;
            Some(Ok(Val::from(String::from_utf8_lossy(&line).into_owned())))
        }));
    }
    let values = std::iter::from_fn(move || {
        Some(match input.next_value()? {
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
    if mode.stream {
        return Box::new(values.flat_map(|value| -> Box<dyn Iterator<Item = _>> {
            match value {
                Ok(value) => Box::new(stream_events(value).map(Ok)),
                Err(error) => Box::new(std::iter::once(Err(error))),
            }
        }));
    }
    Box::new(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(text: &'static [u8], mode: InputMode) -> Vec<(String, usize)> {
        let input = Input::from_reader("<stdin>", Box::new(text), mode.seq);
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
        let values: Vec<String> = lines_of(b"\x1e1\x1e[2]\n", seq)
            .into_iter()
            .map(|(value, _)| value)
            .collect();
        assert_eq!(values, ["1", "[2]"]);
    }
}

//! `jq --stream`: events read straight off the text, as jq 1.7.1's
//! streaming parser gives them.
//!
//! jq streams with a machine of its own, not by taking apart the values
//! its value parser builds, and users see the difference: a leaf comes out
//! only at the comma or bracket after it (`[1,2` gives `[[0],1]` and no
//! more), a mistake is worded by that machine (`Unmatched ']' at the
//! top-level`, `Expected string key after '{', not '['`), some texts the
//! value parser refuses go through (`[[1] [2]]`), and nothing limits the
//! depth. It holds only the path to where it is, so a document of any
//! size streams in the memory of its deepest path; so does this reader.

use super::{literal, ReadError, Reader};
use crate::jq::val::{Map, Val};
use std::collections::VecDeque;

/// One step of the path to where the reader is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// In an array, at this index.
    Index(usize),
    /// In an object, at this key.
    Key(Val),
    /// In an object whose next key is not read yet (jq's `null`).
    NoKey,
}

impl Step {
    fn to_val(&self) -> Val {
        match self {
            Step::Index(index) => Val::from(*index),
            Step::Key(key) => key.clone(),
            Step::NoKey => Val::Null,
        }
    }
}

/// What the last token was: jq's streaming machine decides by it alone
/// (with the step on top of the path) what may come next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Last {
    /// Nothing, or a complete top-level value.
    #[default]
    Nothing,
    OpenArray,
    OpenObject,
    Colon,
    Comma,
    /// A value inside a container.
    Value,
}

const SEPARATOR: &str = "Expected separator between values";
/// The wording jq's bracket checks use for the same mistake.
const A_SEPARATOR: &str = "Expected a separator between values";
const PAIRS: &str = "Objects must consist of key:value pairs";

/// jq's streaming machine between two tokens.
#[derive(Debug, Default)]
pub(super) struct Streaming {
    path: Vec<Step>,
    last: Last,
    /// A leaf read and not given out yet: its place is only certain at the
    /// comma or bracket after it.
    held: Option<Val>,
    /// Events ready to give out, in order.
    due: VecDeque<Val>,
    /// Whether an event of the current step was given out already: jq
    /// gives one event per step and keeps the next for its next call.
    gave: bool,
}

/// A `--stream` event, and whether jq would have kept it for a later
/// call because its step made an event before it (its place is then
/// counted after jq's reader has asked for the next byte).
pub(super) struct Event {
    pub(super) value: Val,
    pub(super) kept: bool,
}

impl Streaming {
    /// The path where the reader is, as `--stream-errors` reports it.
    pub(super) fn path(&self) -> Val {
        self.path.iter().map(Step::to_val).collect()
    }

    /// `[path, leaf]`.
    fn leaf(&mut self, value: Val) {
        let event = [self.path(), value].into_iter().collect();
        self.due.push_back(event);
    }

    /// `[path]`: the container holding the end of `path` is closed.
    fn closing(&mut self) {
        let event = std::iter::once(self.path()).collect();
        self.due.push_back(event);
    }

    fn top(&self) -> Option<&Step> {
        self.path.last()
    }

    /// A complete scalar: a literal at its delimiter, a string at its
    /// closing quote. A top-level one is an event at once.
    fn value(&mut self, value: Val) -> Result<(), &'static str> {
        if self.held.is_some() || self.last == Last::Value {
            return Err(SEPARATOR);
        }
        if self.path.is_empty() {
            self.leaf(value);
        } else {
            self.held = Some(value);
            self.last = Last::Value;
        }
        Ok(())
    }

    /// Whether a container may open here; jq checks `[` and `{` a little
    /// differently (after a closed container inside an array, `[` opens
    /// and `{` is refused).
    fn may_open(&self, bracket: u8) -> Result<(), &'static str> {
        let refused = if bracket == b'[' {
            self.held.is_some()
        } else {
            self.last == Last::Value
        };
        if refused {
            return Err(A_SEPARATOR);
        }
        let in_object = match self.last {
            Last::OpenObject => true,
            Last::Comma => !matches!(self.top(), Some(Step::Index(_))),
            _ => false,
        };
        if in_object {
            return Err(match (self.last, bracket) {
                (Last::OpenObject, b'[') => "Expected string key after '{', not '['",
                (Last::OpenObject, _) => "Expected string key after '{', not '{'",
                (_, b'[') => "Expected string key after ',' in object, not '['",
                _ => "Expected string key after ',' in object, not '{'",
            });
        }
        Ok(())
    }

    fn colon(&mut self) -> Result<(), &'static str> {
        if matches!(self.top(), None | Some(Step::Index(_))) {
            return Err("':' not as part of an object");
        }
        let key = match self.held.take() {
            Some(key @ (Val::TStr(_) | Val::BStr(_))) => key,
            Some(_) => return Err("Object keys must be strings"),
            None => return Err("Expected string key before ':'"),
        };
        if let Some(top) = self.path.last_mut() {
            *top = Step::Key(key);
        }
        self.last = Last::Colon;
        Ok(())
    }

    fn comma(&mut self) -> Result<(), &'static str> {
        // A value inside a container: at the top level this is refused.
        if self.last != Last::Value {
            return Err("Expected value before ','");
        }
        let next = match self.top() {
            Some(Step::Index(index)) => Step::Index(index + 1),
            Some(Step::Key(_)) => Step::NoKey,
            Some(Step::NoKey) | None => return Err(PAIRS),
        };
        if let Some(value) = self.held.take() {
            self.leaf(value);
        }
        if let Some(top) = self.path.last_mut() {
            *top = next;
        }
        self.last = Last::Comma;
        Ok(())
    }

    fn close_array(&mut self) -> Result<(), &'static str> {
        if self.path.is_empty() {
            return Err("Unmatched ']' at the top-level");
        }
        if self.last == Last::Comma {
            return Err("Expected another array element");
        }
        if !matches!(self.top(), Some(Step::Index(_))) {
            return Err("Unmatched ']' in the middle of an object");
        }
        self.close(Val::from_iter(std::iter::empty::<Val>()), Last::OpenArray);
        Ok(())
    }

    fn close_object(&mut self) -> Result<(), &'static str> {
        if self.path.is_empty() {
            return Err("Unmatched '}' at the top-level");
        }
        if self.last == Last::Comma {
            return Err("Expected another key:value pair");
        }
        match self.top() {
            Some(Step::Index(_)) => return Err("Unmatched '}' in the middle of an array"),
            Some(Step::NoKey) if self.held.is_some() => return Err(PAIRS),
            _ if self.held.is_none() && self.last == Last::Colon => {
                return Err("Missing value in key:value pair");
            }
            _ => {}
        }
        self.close(Val::obj(Map::default()), Last::OpenObject);
        Ok(())
    }

    /// Closes the container on top: an empty one is a leaf of its parent;
    /// otherwise its last leaf (if held) and its closing are events. What
    /// follows is a value inside the parent, or a new top-level value.
    fn close(&mut self, empty: Val, opened: Last) {
        if self.last == opened {
            self.path.pop();
            self.leaf(empty);
        } else {
            if let Some(value) = self.held.take() {
                self.leaf(value);
            }
            self.closing();
            self.path.pop();
        }
        self.last = if self.path.is_empty() {
            Last::Nothing
        } else {
            Last::Value
        };
    }

    fn structural(&mut self, byte: u8) -> Result<(), &'static str> {
        match byte {
            b'[' | b'{' => {
                self.may_open(byte)?;
                if byte == b'[' {
                    self.path.push(Step::Index(0));
                    self.last = Last::OpenArray;
                } else {
                    self.path.push(Step::NoKey);
                    self.last = Last::OpenObject;
                }
                Ok(())
            }
            b':' => self.colon(),
            b',' => self.comma(),
            b']' => self.close_array(),
            _ => self.close_object(),
        }
    }
}

/// The bytes that are tokens of their own.
const STRUCTURAL: &[u8] = b"[]{}:,";

impl Reader<'_> {
    /// Steps over the bracket, colon or comma the reader is at. A mistake
    /// there also loses the events its step made (a top-level literal
    /// read with it as its delimiter).
    fn structural(&mut self, machine: &mut Streaming, byte: u8) -> Result<(), ReadError> {
        if let Err(message) = machine.structural(byte) {
            machine.due.clear();
            return Err(self.error_at_position(message));
        }
        self.position += 1;
        Ok(())
    }

    /// The next `--stream` event, or `None` at the end of the input.
    pub(super) fn event(&mut self, machine: &mut Streaming) -> Result<Option<Event>, ReadError> {
        loop {
            if let Some(value) = machine.due.pop_front() {
                let kept = std::mem::replace(&mut machine.gave, true);
                return Ok(Some(Event { value, kept }));
            }
            machine.gave = false;
            self.compact();
            self.skip_whitespace();
            let Some(byte) = self.at(self.position) else {
                if machine.path.is_empty() {
                    return Ok(None);
                }
                return Err(self.error_here("Unfinished JSON term"));
            };
            match byte {
                b'"' => {
                    let text = self.string()?;
                    if let Err(message) = machine.value(Val::utf8_str(text)) {
                        self.position -= 1;
                        return Err(self.error_at_position(message));
                    }
                }
                _ if STRUCTURAL.contains(&byte) => self.structural(machine, byte)?,
                _ => {
                    let word = self.word();
                    let read = literal(&self.text[word]).and_then(|value| machine.value(value));
                    if let Err(message) = read {
                        return Err(self.error_here(message));
                    }
                    // jq takes the delimiter in the same step as the
                    // literal it ends.
                    if let Some(delimiter) = self.at(self.position) {
                        if STRUCTURAL.contains(&delimiter) {
                            self.structural(machine, delimiter)?;
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jq::value::compact_text as value_text;
    use std::borrow::Cow;

    /// The events of `text` and the error that ends them, compact.
    fn streamed(text: &str) -> Vec<String> {
        let mut reader = Reader::new(Cow::Borrowed(text.as_bytes()), None);
        let mut machine = Streaming::default();
        let mut out = Vec::new();
        loop {
            match reader.event(&mut machine) {
                Ok(Some(event)) => out.push(value_text(&event.value)),
                Ok(None) => return out,
                Err(error) => {
                    out.push(format!("{error} {}", value_text(&machine.path())));
                    return out;
                }
            }
        }
    }

    /// Recorded with `printf TEXT | jq -c --stream-errors .` (jq 1.7.1).
    #[test]
    fn events_and_mistakes_come_as_jq_streams_them() {
        let cases: &[(&str, &[&str])] = &[
            (
                "[1,2",
                &[
                    "[[0],1]",
                    "Unfinished JSON term at EOF at line 1, column 4 [1]",
                ],
            ),
            (
                "[1 2]",
                &["Expected separator between values at line 1, column 5 [0]"],
            ),
            (
                "[[1] [2]]",
                &["[[0,0],1]", "[[0,0]]", "[[0,0],2]", "[[0,0]]", "[[0]]"],
            ),
            ("1,2", &["Expected value before ',' at line 1, column 2 []"]),
            ("1[2]", &["[[],1]", "[[0],2]", "[[0]]"]),
            (
                "{\"a\":[1,}",
                &[
                    "[[\"a\",0],1]",
                    "Expected another key:value pair at line 1, column 9 [\"a\",1]",
                ],
            ),
            (
                "{\"a\":1,",
                &[
                    "[[\"a\"],1]",
                    "Unfinished JSON term at EOF at line 1, column 7 [null]",
                ],
            ),
            (
                "[{]",
                &["Unmatched ']' in the middle of an object at line 1, column 3 [0,null]"],
            ),
            (
                "{[1]:2}",
                &["Expected string key after '{', not '[' at line 1, column 2 [null]"],
            ),
            (
                "{\"a\":}",
                &["Missing value in key:value pair at line 1, column 6 [\"a\"]"],
            ),
            (
                "[]]",
                &[
                    "[[],[]]",
                    "Unmatched ']' at the top-level at line 1, column 3 []",
                ],
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(streamed(text), *expected, "{text}");
        }
    }

    /// jq's streaming machine has no depth limit: it holds only the path.
    #[test]
    fn depth_is_not_limited() {
        let text = format!("{}{}", "[".repeat(1000), "]".repeat(1000));
        let events = streamed(&text);
        assert_eq!(events.len(), 1000);
        assert!(events[999] == "[[0]]");
    }
}

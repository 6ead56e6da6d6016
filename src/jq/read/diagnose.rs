//! What jq 1.7.1 says of malformed JSON text, word for word and at the
//! column it names.
//!
//! The reader stops at the first byte JSON's grammar forbids. jq reads
//! with a laxer state machine that notices many mistakes later and names
//! them by the token that revealed them: a literal is only checked at the
//! delimiter after it, a missing comma only once the next value is
//! complete (`[1 "a"]` fails at the closing quote), a value where a key
//! belongs only at the `:` or `}` after it. Users match these messages
//! (`try fromjson catch ...`) and read the column, so once the reader
//! fails, [`Reader::diagnose`] takes over in the state jq's machine would
//! be in and reads on by jq's rules until jq would fail.

use super::{ReadError, Reader};

/// One level of jq's parse stack. jq pushes an object's key once its `:`
/// is read, and counts it toward the depth limit like a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Frame {
    Array { empty: bool },
    Object { empty: bool },
    Key,
}

/// The value jq holds between tokens: nothing, or a complete value that
/// the next `,`, `:`, `]` or `}` decides the place of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Held {
    Nothing,
    Value,
    Text,
}

const SEPARATOR: &str = "Expected separator between values";
const PAIRS: &str = "Objects must consist of key:value pairs";

struct Machine {
    frames: Vec<Frame>,
    held: Held,
    max_depth: usize,
}

impl Machine {
    /// A complete value (a literal at its delimiter, a string at its
    /// closing quote, a container at its closing bracket).
    fn value(&mut self, held: Held) -> Result<(), &'static str> {
        if self.held != Held::Nothing {
            return Err(SEPARATOR);
        }
        self.held = held;
        // At the top level jq hands the value out and starts afresh.
        if self.frames.is_empty() {
            self.held = Held::Nothing;
        }
        Ok(())
    }

    fn top(&self) -> Option<Frame> {
        self.frames.last().copied()
    }

    /// Marks the container on top as holding something.
    fn fill_top(&mut self) {
        if let Some(Frame::Array { empty } | Frame::Object { empty }) = self.frames.last_mut() {
            *empty = false;
        }
    }

    fn structural(&mut self, byte: u8) -> Result<(), &'static str> {
        match byte {
            b'[' | b'{' => {
                if self.frames.len() >= self.max_depth {
                    return Err("Exceeds depth limit for parsing");
                }
                if self.held != Held::Nothing {
                    return Err(SEPARATOR);
                }
                self.frames.push(if byte == b'[' {
                    Frame::Array { empty: true }
                } else {
                    Frame::Object { empty: true }
                });
            }
            b':' => {
                if self.held == Held::Nothing {
                    return Err("Expected string key before ':'");
                }
                if !matches!(self.top(), Some(Frame::Object { .. })) {
                    return Err("':' not as part of an object");
                }
                if self.held != Held::Text {
                    return Err("Object keys must be strings");
                }
                self.frames.push(Frame::Key);
                self.held = Held::Nothing;
            }
            b',' => {
                if self.held == Held::Nothing {
                    return Err("Expected value before ','");
                }
                match self.top() {
                    Some(Frame::Array { .. }) => self.fill_top(),
                    Some(Frame::Key) => {
                        self.frames.pop();
                        self.fill_top();
                    }
                    Some(Frame::Object { .. }) => return Err(PAIRS),
                    None => return Err("Expected value before ','"),
                }
                self.held = Held::Nothing;
            }
            b']' => {
                let Some(Frame::Array { empty }) = self.top() else {
                    return Err("Unmatched ']'");
                };
                if self.held == Held::Nothing && !empty {
                    return Err("Expected another array element");
                }
                self.frames.pop();
                self.held = Held::Nothing;
                self.value(Held::Value)?;
            }
            b'}' => {
                if self.frames.is_empty() {
                    return Err("Unmatched '}'");
                }
                if self.held != Held::Nothing {
                    if self.top() != Some(Frame::Key) {
                        return Err(PAIRS);
                    }
                    self.frames.pop();
                    self.fill_top();
                } else {
                    match self.top() {
                        Some(Frame::Object { empty: true }) => {}
                        Some(Frame::Object { empty: false }) => {
                            return Err("Expected another key-value pair");
                        }
                        _ => return Err("Unmatched '}'"),
                    }
                }
                self.frames.pop();
                self.held = Held::Nothing;
                self.value(Held::Value)?;
            }
            _ => {}
        }
        Ok(())
    }
}

impl Reader<'_> {
    /// jq's error for the text from `self.position` on, given the state
    /// jq's machine is in there: `frames` open and `held` between tokens.
    pub(super) fn diagnose(&mut self, frames: Vec<Frame>, held: Held) -> ReadError {
        let mut machine = Machine {
            frames,
            held,
            max_depth: self.max_depth,
        };
        loop {
            self.compact();
            let Some(byte) = self.at(self.position) else {
                // Only reached when the reader stopped on something jq
                // reads on past: whatever is open stays unfinished.
                return self.error_here("Unfinished JSON term");
            };
            match byte {
                b' ' | b'\t' | b'\r' | b'\n' => self.position += 1,
                b'"' => {
                    if let Err(error) = self.string() {
                        return error;
                    }
                    if let Err(message) = machine.value(Held::Text) {
                        self.position -= 1;
                        return self.error_at_position(message);
                    }
                }
                b'[' | b'{' | b':' | b',' | b']' | b'}' => {
                    if let Err(message) = machine.structural(byte) {
                        return self.error_at_position(message);
                    }
                    self.position += 1;
                }
                _ => {
                    let word = self.word();
                    let checked =
                        super::literal(&self.text[word]).and_then(|_| machine.value(Held::Value));
                    if let Err(message) = checked {
                        return self.error_here(message);
                    }
                }
            }
        }
    }
}

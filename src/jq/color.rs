//! `jq -C`: coloured output with jq 1.7.1's escape sequences, in the
//! places jq puts them, and `JQ_COLORS` read as jq reads it.
//!
//! Scalars and keys are printed by [`super::print`] (so their bytes are
//! the plain printer's); this module only walks containers and adds the
//! colour codes around them.

use super::print::{self, Indent, PrintOptions};
use super::Val;
use std::borrow::Cow;

const RESET: &str = "\x1b[0m";

/// The colour of each kind (jq's order: null, false, true, numbers,
/// strings, arrays, objects) and of object keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Colors {
    kinds: [String; 7],
    key: String,
}

impl Default for Colors {
    fn default() -> Self {
        let kinds = ["0;90", "0;39", "0;39", "0;39", "0;32", "1;39", "1;39"];
        Self {
            kinds: kinds.map(escape),
            key: escape("1;34"),
        }
    }
}

fn escape(code: &str) -> String {
    format!("\x1b[{code}m")
}

impl Colors {
    /// `JQ_COLORS`: up to eight `:`-separated fields of digits and `;`
    /// (at most 12 characters each) replace the defaults in order; fields
    /// past the eighth are ignored. `None` when jq would refuse the whole
    /// value ("Failed to set $JQ_COLORS").
    pub fn from_spec(spec: &str) -> Option<Self> {
        let mut colors = Self::default();
        for (index, field) in spec.split(':').take(8).enumerate() {
            if field.len() > 12
                || !field
                    .bytes()
                    .all(|byte| byte.is_ascii_digit() || byte == b';')
            {
                return None;
            }
            match index {
                7 => colors.key = escape(field),
                _ => colors.kinds[index] = escape(field),
            }
        }
        Some(colors)
    }

    fn of(&self, value: &Val) -> &str {
        &self.kinds[usize::from(value.kind_rank())]
    }
}

/// jq's `MAX_PRINT_DEPTH`, as in the plain printer.
const MAX_DEPTH: usize = 256;

/// Writes one value in colour, without a trailing newline.
pub fn write(out: &mut Vec<u8>, value: &Val, options: &PrintOptions, colors: &Colors) {
    Painter {
        out,
        options,
        colors,
    }
    .value(value, 0);
}

struct Painter<'a> {
    out: &'a mut Vec<u8>,
    options: &'a PrintOptions,
    colors: &'a Colors,
}

impl Painter<'_> {
    fn put(&mut self, text: &str) {
        self.out.extend_from_slice(text.as_bytes());
    }

    fn newline(&mut self, level: usize) {
        match self.options.indent {
            Indent::Spaces(0) => {}
            Indent::Tab => {
                self.out.push(b'\n');
                self.out.resize(self.out.len() + level, b'\t');
            }
            Indent::Spaces(width) => {
                self.out.push(b'\n');
                self.out
                    .resize(self.out.len() + level * usize::from(width), b' ');
            }
        }
    }

    fn value(&mut self, value: &Val, level: usize) {
        let color = self.colors.of(value).to_string();
        self.put(&color);
        if level > MAX_DEPTH {
            self.put("<skipped: too deep>");
            self.put(RESET);
            return;
        }
        match value {
            Val::Arr(items) if items.is_empty() => self.put("[]"),
            Val::Arr(items) => {
                self.put("[");
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        self.put(",");
                    }
                    self.newline(level + 1);
                    self.value(item, level + 1);
                    self.put(&color);
                }
                self.newline(level);
                self.put(&color);
                self.put("]");
            }
            Val::Obj(entries) if entries.is_empty() => self.put("{}"),
            Val::Obj(entries) => {
                self.put("{");
                let mut fields: Vec<(Cow<'_, [u8]>, &Val, &Val)> = entries
                    .iter()
                    .map(|(key, value)| (key_bytes(key), key, value))
                    .collect();
                if self.options.sort_keys {
                    fields.sort_by(|left, right| left.0.cmp(&right.0));
                }
                for (index, (_, key, value)) in fields.into_iter().enumerate() {
                    if index > 0 {
                        self.put(",");
                    }
                    self.newline(level + 1);
                    self.put(RESET);
                    let key_color = self.colors.key.clone();
                    self.put(&key_color);
                    print::write(self.out, key, &self.scalar_options());
                    self.put(RESET);
                    self.put(&color);
                    self.put(":");
                    if self.options.indent != Indent::Spaces(0) {
                        self.put(" ");
                    }
                    self.put(RESET);
                    self.value(value, level + 1);
                    self.put(&color);
                }
                self.newline(level);
                self.put(&color);
                self.put("}");
            }
            scalar => print::write(self.out, scalar, &self.scalar_options()),
        }
        self.put(RESET);
    }

    fn scalar_options(&self) -> PrintOptions {
        PrintOptions {
            indent: Indent::Spaces(0),
            ..*self.options
        }
    }
}

fn key_bytes(key: &Val) -> Cow<'_, [u8]> {
    match key {
        Val::TStr(bytes) | Val::BStr(bytes) => Cow::Borrowed(bytes),
        other => Cow::Owned(print::to_vec(other, &PrintOptions::compact())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paint(text: &str, options: &PrintOptions, colors: &Colors) -> String {
        let value = crate::jq::read::parse_single(text.as_bytes()).expect("JSON");
        let mut out = Vec::new();
        write(&mut out, &value, options, colors);
        String::from_utf8(out).expect("UTF-8").replace('\x1b', "~")
    }

    /// Recorded from jq 1.7.1 (`jq -C -c .`, escapes shown as `~`).
    #[test]
    fn compact_colours_match_jq() {
        assert_eq!(
            paint(r#"{"a":[1,null,"x",[],{}]}"#, &PrintOptions::compact(), &Colors::default()),
            "~[1;39m{~[0m~[1;34m\"a\"~[0m~[1;39m:~[0m~[1;39m[~[0;39m1~[0m~[1;39m,~[0;90mnull~[0m~[1;39m,~[0;32m\"x\"~[0m~[1;39m,~[1;39m[]~[0m~[1;39m,~[1;39m{}~[0m~[1;39m~[1;39m]~[0m~[1;39m~[1;39m}~[0m"
        );
    }

    #[test]
    fn jq_colors_replace_defaults_in_order() {
        let colors = Colors::from_spec("0;31:0;32:0;33:0;34:0;35:0;36:0;37:4;31").expect("valid");
        assert_eq!(
            paint(r#"{"a":[null,false]}"#, &PrintOptions::compact(), &colors),
            "~[0;37m{~[0m~[4;31m\"a\"~[0m~[0;37m:~[0m~[0;36m[~[0;31mnull~[0m~[0;36m,~[0;32mfalse~[0m~[0;36m~[0;36m]~[0m~[0;37m~[0;37m}~[0m"
        );
        assert!(Colors::from_spec("garbage").is_none());
        assert!(Colors::from_spec("1;31:xx").is_none());
        assert!(Colors::from_spec("1234567890123").is_none());
        assert!(Colors::from_spec("1;31:0;32:0;33:0;34:0;35:0;36:0;37:4;31:xx").is_some());
    }
}

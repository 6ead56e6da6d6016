//! jq 1.7.1's `_match_impl(re; flags; test)`, which `match`, `test`,
//! `capture`, `scan`, `split` and `sub` are defined on (`compat.jq`).
//!
//! Its match objects are jq's to the byte: a group that did not take part
//! is `{"offset": -1, "string": null, "length": 0, "name": ...}` (so
//! `capture` gives `"name": null` for it), an empty one `{"offset": n,
//! "string": "", "length": 0, ...}` (jq builds those keys in that order),
//! and in a match of nothing every group is such an empty one. A global
//! search steps one byte past an empty match, as jq does. Offsets and
//! lengths count code points.
//!
//! The patterns are jaq's regex dialect (regex-bites), not Oniguruma's:
//! look-around and backreferences are refused, and the wording of a bad
//! pattern's error after `Regex failure: ` is ours.

use super::value::describe;
use super::Val;
use regex_bites::bytes::{Regex, RegexBuilder};

#[derive(Default)]
struct Flags {
    global: bool,
    not_empty: bool,
}

/// `input | _match_impl(re; flags; test)`: the array of matches, or (for
/// `test`) whether there is one.
pub(super) fn match_impl(input: &Val, re: &Val, flags: &Val, test: bool) -> Result<Val, String> {
    let Some(text) = string(input) else {
        return Err(format!(
            "{} cannot be matched, as it is not a string",
            describe(input)
        ));
    };
    let Some(pattern) = string(re) else {
        return Err(format!("{} is not a string", describe(re)));
    };
    let mut builder = RegexBuilder::new(&String::from_utf8_lossy(pattern));
    let mut options = Flags::default();
    match flags {
        Val::Null => {}
        flags => {
            let Some(letters) = string(flags) else {
                return Err(format!("{} is not a string", describe(flags)));
            };
            for letter in letters {
                match letter {
                    b'g' => options.global = true,
                    b'i' => {
                        builder.case_insensitive(true);
                    }
                    b'x' => {
                        builder.ignore_whitespace(true);
                    }
                    b'n' => options.not_empty = true,
                    // Oniguruma's "multiline": `.` matches a line break.
                    b'p' => {
                        builder.dot_matches_new_line(true);
                    }
                    // Single-line anchors are the default; the longest
                    // match has no counterpart here.
                    b's' | b'l' => {}
                    _ => {
                        return Err(format!(
                            "{} is not a valid modifier string",
                            String::from_utf8_lossy(letters)
                        ))
                    }
                }
            }
        }
    }
    let regex = builder
        .build()
        .map_err(|error| format!("Regex failure: {error}"))?;
    let mut matches = Vec::new();
    let mut start = 0;
    while start <= text.len() {
        let Some(captures) = regex.captures_at(text, start) else {
            break;
        };
        let whole = captures.get(0).expect("group 0 is the match");
        let empty = whole.start() == whole.end();
        start = whole.end() + usize::from(empty);
        if empty && options.not_empty {
            // jq's search for a non-empty match goes on past it, global
            // or not.
            continue;
        }
        if test {
            return Ok(Val::Bool(true));
        }
        matches.push(match_object(text, &regex, &captures, empty));
        if !options.global {
            break;
        }
    }
    if test {
        return Ok(Val::Bool(false));
    }
    Ok(matches.into_iter().collect())
}

fn string(value: &Val) -> Option<&[u8]> {
    match value {
        Val::TStr(bytes) | Val::BStr(bytes) => Some(bytes),
        _ => None,
    }
}

/// The code points that start before byte `at` (jq's count of offsets).
fn code_points(text: &[u8], from: usize, at: usize) -> usize {
    let mut index = from;
    let mut count = 0;
    while index < at {
        index += match text.get(index) {
            Some(byte) if *byte >= 0xF0 => 4,
            Some(byte) if *byte >= 0xE0 => 3,
            Some(byte) if *byte >= 0xC0 => 2,
            _ => 1,
        };
        count += 1;
    }
    count
}

fn entry(key: &str, value: Val) -> (Val, Val) {
    (Val::from(key.to_string()), value)
}

fn number(value: isize) -> Val {
    Val::from(value)
}

fn text_value(bytes: &[u8]) -> Val {
    Val::from(String::from_utf8_lossy(bytes).into_owned())
}

fn match_object(
    text: &[u8],
    regex: &Regex,
    captures: &regex_bites::bytes::Captures,
    empty: bool,
) -> Val {
    let whole = captures.get(0).expect("group 0 is the match");
    let offset = code_points(text, 0, whole.start()) as isize;
    let length = code_points(text, whole.start(), whole.end()) as isize;
    let names: Vec<Option<&str>> = regex.capture_names().collect();
    let mut groups = Vec::new();
    for group in 1..captures.len() {
        let name = names
            .get(group)
            .copied()
            .flatten()
            .map_or(Val::Null, |name| Val::from(name.to_string()));
        let fields = match captures.get(group) {
            // In a match of nothing, jq reports every group as empty.
            _ if empty => vec![
                entry("offset", number(offset)),
                entry("string", Val::from(String::new())),
                entry("length", number(0)),
                entry("name", name),
            ],
            None => vec![
                entry("offset", number(-1)),
                entry("string", Val::Null),
                entry("length", number(0)),
                entry("name", name),
            ],
            Some(part) if part.start() == part.end() => vec![
                entry(
                    "offset",
                    number(code_points(text, 0, part.start()) as isize),
                ),
                entry("string", Val::from(String::new())),
                entry("length", number(0)),
                entry("name", name),
            ],
            Some(part) => vec![
                entry(
                    "offset",
                    number(code_points(text, 0, part.start()) as isize),
                ),
                entry(
                    "length",
                    number(code_points(text, part.start(), part.end()) as isize),
                ),
                entry("string", text_value(part.as_bytes())),
                entry("name", name),
            ],
        };
        groups.push(Val::obj(fields.into_iter().collect()));
    }
    let fields = [
        entry("offset", number(offset)),
        entry("length", number(length)),
        entry("string", text_value(whole.as_bytes())),
        entry("captures", groups.into_iter().collect()),
    ];
    Val::obj(fields.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &str, re: &str, flags: Option<&str>) -> String {
        let flags = flags.map_or(Val::Null, |flags| Val::from(flags.to_string()));
        let value = match_impl(
            &Val::from(input.to_string()),
            &Val::from(re.to_string()),
            &flags,
            false,
        )
        .expect("matches");
        String::from_utf8(super::super::print::to_vec(
            &value,
            &super::super::print::PrintOptions::compact(),
        ))
        .expect("UTF-8")
    }

    #[test]
    fn groups_that_did_not_take_part_are_null() {
        assert_eq!(
            run("xz", "(?<a>x)(?<b>q)?", None),
            r#"[{"offset":0,"length":1,"string":"x","captures":[{"offset":0,"length":1,"string":"x","name":"a"},{"offset":-1,"string":null,"length":0,"name":"b"}]}]"#
        );
    }

    #[test]
    fn empty_matches_step_one_byte_as_jq() {
        // jq 1.7.1: [[0,0],[1,0],[1,0],[2,0]] for "éa" (it restarts inside é).
        let all = run("aa", "a*", Some("g"));
        assert!(all.contains(r#""offset":2,"length":0"#), "{all}");
        assert_eq!(run("abc", "", Some("gn")), "[]");
    }

    #[test]
    fn bad_flags_and_inputs_are_jq_errors() {
        let error = match_impl(
            &Val::from("x".to_string()),
            &Val::from("a".to_string()),
            &Val::from("q".to_string()),
            false,
        );
        assert_eq!(error, Err("q is not a valid modifier string".to_string()));
        let error = match_impl(
            &Val::from(1isize),
            &Val::from("a".to_string()),
            &Val::Null,
            true,
        );
        assert_eq!(
            error,
            Err("number (1) cannot be matched, as it is not a string".to_string())
        );
    }
}

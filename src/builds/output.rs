//! JSON bytes exactly as jq prints them.
//!
//! Every byte `builds` prints or hashes goes through these two functions,
//! so that swapping the printer touches nothing else.

use serde_json::Value;

/// `jq --tab .`: the output of `builds` and the cache file.
pub fn tab_json(value: &Value) -> Vec<u8> {
    let mut text = String::new();
    write_tab(value, 0, &mut text);
    text.push('\n');
    text.into_bytes()
}

/// `jq -c .`: the text whose sha256 is a build id.
pub fn compact_json(value: &Value) -> Vec<u8> {
    let mut text = value.to_string();
    text.push('\n');
    text.into_bytes()
}

fn write_tab(value: &Value, depth: usize, text: &mut String) {
    match value {
        Value::Array(items) if !items.is_empty() => {
            text.push('[');
            for (position, item) in items.iter().enumerate() {
                if position > 0 {
                    text.push(',');
                }
                newline(depth + 1, text);
                write_tab(item, depth + 1, text);
            }
            newline(depth, text);
            text.push(']');
        }
        Value::Object(members) if !members.is_empty() => {
            text.push('{');
            for (position, (key, item)) in members.iter().enumerate() {
                if position > 0 {
                    text.push(',');
                }
                newline(depth + 1, text);
                text.push_str(&Value::String(key.clone()).to_string());
                text.push_str(": ");
                write_tab(item, depth + 1, text);
            }
            newline(depth, text);
            text.push('}');
        }
        scalar_or_empty => text.push_str(&scalar_or_empty.to_string()),
    }
}

fn newline(depth: usize, text: &mut String) {
    text.push('\n');
    text.extend(std::iter::repeat_n('\t', depth));
}

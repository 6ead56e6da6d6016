//! JSON bytes exactly as jq prints them.
//!
//! Every byte `builds` prints or hashes goes through these two functions:
//! the build id is a sha256 of printed JSON, so printing must be jq's to the
//! byte (number text, string escapes), which is what [`crate::jq::print`]
//! guarantees.

use serde_json::{Map, Value};

use crate::jq::print::{serde_map_to_vec, serde_to_vec, PrintOptions};

/// `jq --tab .`: the output of `builds` and the cache file.
pub fn tab_json(value: &Value) -> Vec<u8> {
    let mut bytes = serde_to_vec(value, &PrintOptions::tab());
    bytes.push(b'\n');
    bytes
}

/// [`tab_json`] of `Value::Object(map)`, without copying the map into one.
pub fn tab_json_object(map: &Map<String, Value>) -> Vec<u8> {
    let mut bytes = serde_map_to_vec(map, &PrintOptions::tab());
    bytes.push(b'\n');
    bytes
}

/// `jq -c .`: the text whose sha256 is a build id.
pub fn compact_json(value: &Value) -> Vec<u8> {
    let mut bytes = serde_to_vec(value, &PrintOptions::compact());
    bytes.push(b'\n');
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// jq escapes DEL and keeps non-ASCII as is; a general JSON writer
    /// differs on the first, which would change build ids.
    #[test]
    fn strings_are_escaped_as_jq_does() {
        let value = json!({"a": "\u{7f}é\u{1}"});
        assert_eq!(
            compact_json(&value),
            b"{\"a\":\"\\u007f\xc3\xa9\\u0001\"}\n"
        );
    }

    #[test]
    fn tab_layout_and_empty_containers() {
        let value = json!({"a": [1, {}], "b": []});
        assert_eq!(
            String::from_utf8(tab_json(&value)).unwrap(),
            "{\n\t\"a\": [\n\t\t1,\n\t\t{}\n\t],\n\t\"b\": []\n}\n"
        );
        for value in [value, json!({})] {
            let map = value.as_object().unwrap();
            assert_eq!(tab_json_object(map), tab_json(&value));
        }
    }

    /// Holds down number text: with arbitrary_precision, `1.000` stays as
    /// written, as jq 1.7 prints a literal it did not compute on.
    #[test]
    fn number_text_is_kept() {
        let value: Value = serde_json::from_str("[1.000, 100000000000000000001]").unwrap();
        assert_eq!(compact_json(&value), b"[1.000,100000000000000000001]\n");
    }
}

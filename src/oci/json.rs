//! Strict JSON for layout documents.
//!
//! A document's digest names its exact bytes, but two readers that disagree
//! about what those bytes mean (which of two duplicate keys wins, whether
//! text after the value counts) can be made to see different images behind
//! one digest. So every JSON document of a layout must be one value, valid
//! UTF-8, with no duplicate key in any object and nothing but whitespace
//! after it; anything else is refused rather than interpreted.

use std::collections::HashSet;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// The largest JSON document we read (a registry refuses manifests over
/// 4 MiB; image configs are kilobytes), so a hostile multi-gigabyte "config"
/// cannot exhaust memory.
pub const MAX_DOCUMENT_SIZE: u64 = 8 * 1024 * 1024;

/// Why bytes are not strict JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrictJsonError {
    pub message: String,
}

impl fmt::Display for StrictJsonError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "not strict JSON: {}", self.message)
    }
}

impl std::error::Error for StrictJsonError {}

/// Parses `bytes` as exactly one JSON value, refusing invalid UTF-8,
/// trailing bytes and duplicate object keys.
pub fn parse_strict(bytes: &[u8]) -> Result<serde_json::Value, StrictJsonError> {
    if let Err(error) = std::str::from_utf8(bytes) {
        return Err(StrictJsonError {
            message: format!("invalid UTF-8 at byte {}", error.valid_up_to()),
        });
    }
    // serde_json's own deserializer refuses trailing bytes and bad escapes;
    // the first pass only looks for duplicate keys (serde_json's Value keeps
    // the last one silently), the second builds the value.
    let mut checker = serde_json::Deserializer::from_slice(bytes);
    NoDuplicateKeys::deserialize(&mut checker)
        .and_then(|_| checker.end())
        .map_err(|error| StrictJsonError {
            message: error.to_string(),
        })?;
    serde_json::from_slice(bytes).map_err(|error| StrictJsonError {
        message: error.to_string(),
    })
}

/// A JSON value walked only to find an object with a key given twice.
struct NoDuplicateKeys;

impl<'de> Deserialize<'de> for NoDuplicateKeys {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NoDuplicateKeysVisitor)
    }
}

struct NoDuplicateKeysVisitor;

impl<'de> Visitor<'de> for NoDuplicateKeysVisitor {
    type Value = NoDuplicateKeys;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<NoDuplicateKeys, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_i64<E>(self, _: i64) -> Result<NoDuplicateKeys, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_u64<E>(self, _: u64) -> Result<NoDuplicateKeys, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_f64<E>(self, _: f64) -> Result<NoDuplicateKeys, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_str<E>(self, _: &str) -> Result<NoDuplicateKeys, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_unit<E>(self) -> Result<NoDuplicateKeys, E> {
        Ok(NoDuplicateKeys)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<NoDuplicateKeys, A::Error> {
        while items.next_element::<NoDuplicateKeys>()?.is_some() {}
        Ok(NoDuplicateKeys)
    }

    // With serde_json's arbitrary_precision a number also arrives here, as
    // a one-key map; one key cannot be a duplicate.
    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<NoDuplicateKeys, A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = entries.next_key::<String>()? {
            entries.next_value::<NoDuplicateKeys>()?;
            if !seen.insert(key.clone()) {
                return Err(de::Error::custom(format!("duplicate key {key:?}")));
            }
        }
        Ok(NoDuplicateKeys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_one_value_with_whitespace_around() {
        let value = parse_strict(b" {\"a\": [1, 2.50, {\"b\": null}]}\n").unwrap();
        assert_eq!(value["a"][1].to_string(), "2.50");
    }

    #[test]
    fn refuses_duplicate_keys_at_any_depth() {
        for input in [
            &br#"{"a":1,"a":2}"#[..],
            br#"{"x":[{"b":1,"c":2,"b":3}]}"#,
            br#"{"a":{"a":1},"a":{}}"#,
        ] {
            let error = parse_strict(input).unwrap_err();
            assert!(error.message.contains("duplicate key"), "{error}");
        }
        assert!(parse_strict(br#"{"a":{"a":1},"b":{"a":1}}"#).is_ok());
    }

    #[test]
    fn refuses_trailing_bytes_and_bad_utf8() {
        assert!(parse_strict(b"{} {}").is_err());
        assert!(parse_strict(b"{}x").is_err());
        assert!(parse_strict(b"").is_err());
        let error = parse_strict(b"{\"a\":\"\xff\"}").unwrap_err();
        assert_eq!(error.message, "invalid UTF-8 at byte 6");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = "[".repeat(100_000);
        assert!(parse_strict(deep.as_bytes()).is_err());
    }
}

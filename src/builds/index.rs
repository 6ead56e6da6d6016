//! Narrowing a synthesized image index to one bashbrew arch.

use std::fmt;

use serde_json::{Map, Value};

use crate::registry::{Digest, DigestError};
use crate::spec::annotation::BASHBREW_ARCH;

/// What is wrong with an index `builds` was given (by the registry or the
/// cache): the caller names which index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexError {
    NotAnObject,
    NoManifests,
    NoDigest { arch: String },
    BadDigest { arch: String, error: DigestError },
}

impl fmt::Display for IndexError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotAnObject => formatter.write_str("it is not a JSON object"),
            Self::NoManifests => formatter.write_str("it has no \"manifests\" array"),
            Self::NoDigest { arch } => {
                write!(
                    formatter,
                    "its manifest for {arch:?} has no \"digest\" string"
                )
            }
            Self::BadDigest { arch, .. } => {
                write!(formatter, "its manifest for {arch:?} has a bad digest")
            }
        }
    }
}

impl std::error::Error for IndexError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::BadDigest { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// An index narrowed to one arch, known to hold at least one manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct NarrowedIndex {
    /// The index with every other key kept, in place and in order.
    pub index: Value,
    /// The digest of its first manifest: what the build id pins.
    pub first_digest: String,
}

/// Keeps the manifests annotated with `arch` (the annotation `lookup`
/// computes on every manifest, never trusted from the registry, and gives
/// attestations their subject's arch, so an image stays with its
/// attestation); `Ok(None)` when none is left
/// (the image exists, but not for this arch, so nothing can be built on it
/// yet). `Err` names what is wrong with the index itself.
pub fn narrow(index: &Value, arch: &str) -> Result<Option<NarrowedIndex>, IndexError> {
    let Some(object) = index.as_object() else {
        return Err(IndexError::NotAnObject);
    };
    let Some(manifests) = object.get("manifests").and_then(Value::as_array) else {
        return Err(IndexError::NoManifests);
    };
    let mut kept: Vec<Value> = manifests
        .iter()
        .filter(|manifest| {
            manifest
                .get("annotations")
                .and_then(|annotations| annotations.get(BASHBREW_ARCH))
                .and_then(Value::as_str)
                == Some(arch)
        })
        .cloned()
        .collect();
    let Some(first) = kept.first() else {
        return Ok(None);
    };
    let first_digest = match first.get("digest").and_then(Value::as_str) {
        Some(digest) => {
            digest
                .parse::<Digest>()
                .map_err(|error| IndexError::BadDigest {
                    arch: arch.to_string(),
                    error,
                })?;
            digest.to_string()
        }
        None => {
            return Err(IndexError::NoDigest {
                arch: arch.to_string(),
            })
        }
    };
    // Built key by key, not cloned and patched: cloning would copy every
    // manifest of a many-arch index only to throw most away.
    let narrowed: Map<String, Value> = object
        .iter()
        .map(|(key, value)| {
            let value = if key == "manifests" {
                Value::Array(std::mem::take(&mut kept))
            } else {
                value.clone()
            };
            (key.clone(), value)
        })
        .collect();
    Ok(Some(NarrowedIndex {
        index: Value::Object(narrowed),
        first_digest,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn digest(character: char) -> String {
        format!("sha256:{}", character.to_string().repeat(64))
    }

    fn manifest(arch: &str, character: char) -> Value {
        json!({"digest": digest(character), "annotations": {BASHBREW_ARCH: arch}})
    }

    #[test]
    fn keeps_only_this_arch_in_order_and_key_positions() {
        let index = json!({
            "schemaVersion": 2,
            "manifests": [manifest("amd64", 'a'), manifest("arm64v8", 'b'), manifest("amd64", 'c')],
            "annotations": {"x": "y"}
        });
        let narrowed = narrow(&index, "amd64").unwrap().unwrap();
        assert_eq!(narrowed.first_digest, digest('a'));
        let keys: Vec<&String> = narrowed.index.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["schemaVersion", "manifests", "annotations"]);
        assert_eq!(
            narrowed.index["manifests"],
            json!([manifest("amd64", 'a'), manifest("amd64", 'c')])
        );
    }

    #[test]
    fn nothing_for_this_arch_is_none() {
        let index = json!({"manifests": [manifest("amd64", 'a')]});
        assert_eq!(narrow(&index, "s390x").unwrap(), None);
    }

    #[test]
    fn platform_is_not_used_only_the_annotation() {
        let index = json!({"manifests": [{"digest": digest('a'), "platform": {"architecture": "amd64", "os": "linux"}}]});
        assert_eq!(narrow(&index, "amd64").unwrap(), None);
    }

    #[test]
    fn malformed_indexes_are_errors() {
        assert_eq!(narrow(&json!([]), "amd64"), Err(IndexError::NotAnObject));
        assert_eq!(narrow(&json!({}), "amd64"), Err(IndexError::NoManifests));
        let no_digest = json!({"manifests": [{"annotations": {BASHBREW_ARCH: "amd64"}}]});
        assert_eq!(
            narrow(&no_digest, "amd64"),
            Err(IndexError::NoDigest {
                arch: "amd64".to_string()
            })
        );
        let bad_digest = json!({"manifests": [{"digest": "sha256:00", "annotations": {BASHBREW_ARCH: "amd64"}}]});
        let error = narrow(&bad_digest, "amd64").unwrap_err();
        assert_eq!(
            crate::cli::chain(&error),
            "its manifest for \"amd64\" has a bad digest: invalid digest \"sha256:00\": expected 64 hex digits, found 2"
        );
    }
}

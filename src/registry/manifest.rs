//! A manifest to push: its exact bytes and what the registry will check in
//! them (its `mediaType`, which the PUT's Content-Type must equal, and the
//! children that must be present in the same repository).

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use serde_json::Value;

use super::client::Descriptor;
use super::digest::{Digest, DigestError};

/// A manifest to push; see the module documentation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    pub bytes: Arc<[u8]>,
    pub digest: Digest,
    pub media_type: String,
    pub children: Vec<Descriptor>,
}

/// What is wrong with a manifest's bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ManifestError {
    NotJson(String),
    NoMediaType,
    Child(DescriptorError),
}

impl fmt::Display for ManifestError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ManifestError::NotJson(error) => write!(formatter, "is not JSON: {error}"),
            ManifestError::NoMediaType => formatter.write_str("does not name its mediaType"),
            ManifestError::Child(error) => write!(formatter, "{error}"),
        }
    }
}

impl std::error::Error for ManifestError {}

impl Manifest {
    /// Parses the media type and children out of `bytes` (already known to
    /// have `digest`).
    pub fn from_bytes(bytes: Arc<[u8]>, digest: Digest) -> Result<Manifest, ManifestError> {
        Manifest::parse(bytes, digest, None)
    }

    /// [`Manifest::from_bytes`] for a manifest its descriptor names: the
    /// image-spec lets an image manifest leave `mediaType` out of its own
    /// bytes (a layout may hold such a one), and then the descriptor's
    /// type is the one the PUT must carry.
    pub fn from_bytes_described(
        bytes: Arc<[u8]>,
        descriptor: &Descriptor,
    ) -> Result<Manifest, ManifestError> {
        Manifest::parse(
            bytes,
            descriptor.digest.clone(),
            Some(&descriptor.media_type),
        )
    }

    fn parse(
        bytes: Arc<[u8]>,
        digest: Digest,
        described_as: Option<&str>,
    ) -> Result<Manifest, ManifestError> {
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|error| ManifestError::NotJson(error.to_string()))?;
        let media_type = match (value.get("mediaType"), described_as) {
            (Some(Value::String(text)), _) => text.clone(),
            (None, Some(described)) if !described.is_empty() => described.to_string(),
            _ => return Err(ManifestError::NoMediaType),
        };
        let children = manifest_children(&value).map_err(ManifestError::Child)?;
        Ok(Manifest {
            bytes,
            digest,
            media_type,
            children,
        })
    }
}

/// One descriptor of a manifest that is not one: the field (`config`,
/// `layers[3]`, `manifests[0].digest`) and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DescriptorError {
    pub field: String,
    pub problem: DescriptorProblem,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DescriptorProblem {
    /// `layers` or `manifests` is not an array.
    NotAList,
    NotAnObject,
    Missing(&'static str),
    NotAString(&'static str),
    InvalidDigest(DigestError),
    /// `size` is not a non-negative integer (its JSON text).
    InvalidSize(String),
}

impl fmt::Display for DescriptorError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}: {}", self.field, self.problem)
    }
}

impl fmt::Display for DescriptorProblem {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DescriptorProblem::NotAList => formatter.write_str("must be an array of descriptors"),
            DescriptorProblem::NotAnObject => formatter.write_str("must be a descriptor object"),
            DescriptorProblem::Missing(key) => write!(formatter, "{key} is missing"),
            DescriptorProblem::NotAString(key) => write!(formatter, "{key} must be a string"),
            DescriptorProblem::InvalidDigest(error) => write!(formatter, "{error}"),
            DescriptorProblem::InvalidSize(text) => {
                write!(
                    formatter,
                    "size must be a non-negative integer, found {text}"
                )
            }
        }
    }
}

impl std::error::Error for DescriptorError {}

/// The descriptors a manifest references: an image manifest's `config` and
/// `layers`, an index's `manifests`, and `subject` (OCI image-spec 1.1),
/// all of which the registry requires present in the same repository. A
/// digest listed twice is one child (a set, so a manifest of any size is
/// read in one pass).
pub fn manifest_children(value: &Value) -> Result<Vec<Descriptor>, DescriptorError> {
    let mut children: Vec<Descriptor> = Vec::new();
    let Value::Object(map) = value else {
        return Ok(children);
    };
    let mut seen: HashSet<Digest> = HashSet::new();
    let mut add = |field: &dyn Fn() -> String, descriptor: &Value| {
        let child = parse_descriptor(descriptor).map_err(|problem| DescriptorError {
            field: field(),
            problem,
        })?;
        if seen.insert(child.digest.clone()) {
            children.push(child);
        }
        Ok::<(), DescriptorError>(())
    };
    if let Some(config) = map.get("config") {
        add(&|| "config".to_string(), config)?;
    }
    for list in ["layers", "manifests"] {
        match map.get(list) {
            Some(Value::Array(items)) => {
                for (index, item) in items.iter().enumerate() {
                    add(&|| format!("{list}[{index}]"), item)?;
                }
            }
            Some(Value::Null) | None => {}
            Some(_) => {
                return Err(DescriptorError {
                    field: list.to_string(),
                    problem: DescriptorProblem::NotAList,
                });
            }
        }
    }
    if let Some(subject) = map.get("subject") {
        add(&|| "subject".to_string(), subject)?;
    }
    Ok(children)
}

fn parse_descriptor(value: &Value) -> Result<Descriptor, DescriptorProblem> {
    let Value::Object(map) = value else {
        return Err(DescriptorProblem::NotAnObject);
    };
    let text = |key: &'static str| match map.get(key) {
        Some(Value::String(text)) => Ok(text),
        Some(_) => Err(DescriptorProblem::NotAString(key)),
        None => Err(DescriptorProblem::Missing(key)),
    };
    let media_type = text("mediaType")?.clone();
    let digest = text("digest")?
        .parse::<Digest>()
        .map_err(DescriptorProblem::InvalidDigest)?;
    let size = match map.get("size") {
        Some(Value::Number(number)) => number
            .as_u64()
            .ok_or_else(|| DescriptorProblem::InvalidSize(number.to_string()))?,
        Some(other) => return Err(DescriptorProblem::InvalidSize(other.to_string())),
        None => return Err(DescriptorProblem::Missing("size")),
    };
    Ok(Descriptor {
        media_type,
        digest,
        size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:1a51828d59323e0e02522c45652b6a7a44a032b464b06d574f067d2358b0e9f1";

    #[test]
    fn children_of_images_and_indexes() {
        let image: Value = serde_json::from_str(&format!(
            r#"{{"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{DIGEST}","size":3}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{DIGEST}","size":3}}]}}"#
        ))
        .unwrap();
        let children = manifest_children(&image).unwrap();
        assert_eq!(children.len(), 1, "the same digest twice is one child");
        let bad: Value =
            serde_json::from_str(r#"{"manifests":[{"mediaType":"x","digest":"nope","size":1}]}"#)
                .unwrap();
        let error = manifest_children(&bad).unwrap_err();
        assert_eq!(error.field, "manifests[0]");
        assert!(error.to_string().contains("nope"), "{error}");
    }

    #[test]
    fn descriptor_problems_name_their_field() {
        let cases = [
            (
                r#"{"layers":{}}"#,
                "layers: must be an array of descriptors",
            ),
            (r#"{"config":3}"#, "config: must be a descriptor object"),
            (
                r#"{"config":{"digest":"x","size":1}}"#,
                "config: mediaType is missing",
            ),
            (
                r#"{"subject":{"mediaType":1}}"#,
                "subject: mediaType must be a string",
            ),
            (
                &format!(r#"{{"layers":[{{"mediaType":"x","digest":"{DIGEST}","size":-1}}]}}"#),
                "layers[0]: size must be a non-negative integer, found -1",
            ),
            (
                &format!(r#"{{"layers":[{{"mediaType":"x","digest":"{DIGEST}","size":"1"}}]}}"#),
                "layers[0]: size must be a non-negative integer, found \"1\"",
            ),
        ];
        for (json, expected) in cases {
            let value: Value = serde_json::from_str(json).unwrap();
            assert_eq!(
                manifest_children(&value).unwrap_err().to_string(),
                expected,
                "{json}"
            );
        }
    }

    /// Issue 9: deduplicating children rescanned the list, quadratic in
    /// the children of one index.
    #[test]
    fn many_children_are_deduplicated_in_one_pass() {
        let layers: Vec<Value> = (0..50_000u32)
            .map(|index| {
                let digest = Digest::sha256_of(&(index % 25_000).to_le_bytes());
                serde_json::json!({"mediaType": "x", "digest": digest.to_string(), "size": 1})
            })
            .collect();
        let value = serde_json::json!({ "layers": layers });
        assert_eq!(manifest_children(&value).unwrap().len(), 25_000);
    }

    #[test]
    fn a_described_manifest_without_its_own_media_type_takes_the_descriptors() {
        let bytes: Arc<[u8]> = Arc::from(&br#"{"schemaVersion":2,"layers":[]}"#[..]);
        let digest = Digest::sha256_of(&bytes);
        assert_eq!(
            Manifest::from_bytes(bytes.clone(), digest.clone()),
            Err(ManifestError::NoMediaType)
        );
        let described = |media_type: &str| Descriptor {
            media_type: media_type.to_string(),
            digest: digest.clone(),
            size: bytes.len() as u64,
        };
        let manifest = Manifest::from_bytes_described(
            bytes.clone(),
            &described("application/vnd.oci.image.manifest.v1+json"),
        )
        .unwrap();
        assert_eq!(
            manifest.media_type,
            "application/vnd.oci.image.manifest.v1+json"
        );
        assert_eq!(
            Manifest::from_bytes_described(bytes.clone(), &described("")),
            Err(ManifestError::NoMediaType)
        );
        // The document's own type wins over what a descriptor says.
        let typed: Arc<[u8]> = Arc::from(&br#"{"mediaType":"a/b","layers":[]}"#[..]);
        let manifest = Manifest::from_bytes_described(typed.clone(), &described("c/d")).unwrap();
        assert_eq!(manifest.media_type, "a/b");
    }
}

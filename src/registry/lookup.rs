//! The synthesized image index: what `lookup REF` prints and what `builds`
//! records for parents and staging images.
//!
//! Whatever the reference points at (an index, a manifest list, or a single
//! image manifest), the answer is an index whose entries each carry a
//! normalized platform, the bashbrew architecture it serves (computed from
//! the platform, never trusted from the registry), and the reference it was
//! found under. Key order follows the OCI Go types the reference
//! implementation printed (index: schemaVersion, mediaType, artifactType,
//! manifests, subject, annotations; descriptor: mediaType, digest, size,
//! urls, annotations, data, platform, artifactType; platform: architecture,
//! os, os.version, os.features, variant), with annotation keys sorted, as
//! `../shared/conformance/meta-scripts/lookup-test.json` and `builds.json`
//! show.

use std::collections::{BTreeMap, HashSet};

use serde_json::{Map, Value};

use super::client::{Client, Object};
use super::digest::Digest;
use super::error::{ErrorKind, RegistryError};
use super::protocol;
use super::reference::Reference;
use crate::spec::{annotation, media_type};

/// A platform's fields, as strings (absent ones empty).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Platform {
    pub architecture: String,
    pub os: String,
    pub os_version: String,
    pub os_features: Vec<String>,
    pub variant: String,
}

impl Platform {
    /// Reads the platform fields of a descriptor's `platform` object or of
    /// an image config (same field names).
    pub fn from_json(value: &Value) -> Platform {
        let text = |name: &str| {
            value
                .get(name)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        Platform {
            architecture: text("architecture"),
            os: text("os"),
            os_version: text("os.version"),
            os_features: value
                .get("os.features")
                .and_then(Value::as_array)
                .map(|features| {
                    features
                        .iter()
                        .filter_map(|feature| feature.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            variant: text("variant"),
        }
    }

    /// The normalized platform (rules of the lookup issue, as container
    /// runtimes normalize): lowercase os; `i386` -> `386`; `x86_64` and
    /// `x86-64` -> `amd64`, whose variant `v1` is dropped; `aarch64` ->
    /// `arm64`, whose variant `8`, `v8`, `v8.0` or none becomes `v8`;
    /// `armhf` -> arm `v7`; `armel` -> arm `v6`; arm with no variant or `7`
    /// -> `v7`, and a bare number `N` -> `vN`.
    pub fn normalized(&self) -> Platform {
        let mut platform = self.clone();
        platform.os = platform.os.to_ascii_lowercase();
        let architecture = platform.architecture.to_ascii_lowercase();
        match architecture.as_str() {
            "i386" => {
                platform.architecture = "386".into();
                platform.variant.clear();
            }
            "x86_64" | "x86-64" | "amd64" => {
                platform.architecture = "amd64".into();
                if platform.variant == "v1" {
                    platform.variant.clear();
                }
            }
            "aarch64" | "arm64" => {
                platform.architecture = "arm64".into();
                if matches!(platform.variant.as_str(), "" | "8" | "v8" | "v8.0") {
                    platform.variant = "v8".into();
                }
            }
            "armhf" => {
                platform.architecture = "arm".into();
                platform.variant = "v7".into();
            }
            "armel" => {
                platform.architecture = "arm".into();
                platform.variant = "v6".into();
            }
            "arm" => {
                platform.architecture = "arm".into();
                platform.variant = match platform.variant.as_str() {
                    "" | "7" => "v7".into(),
                    number if number.bytes().all(|byte| byte.is_ascii_digit()) => {
                        format!("v{number}")
                    }
                    other => other.to_string(),
                };
            }
            _ => platform.architecture = architecture,
        }
        platform
    }

    /// The platform as JSON, in the OCI Go type's field order.
    pub fn to_json(&self) -> Value {
        let mut object = Map::new();
        object.insert("architecture".into(), self.architecture.clone().into());
        object.insert("os".into(), self.os.clone().into());
        if !self.os_version.is_empty() {
            object.insert("os.version".into(), self.os_version.clone().into());
        }
        if !self.os_features.is_empty() {
            object.insert("os.features".into(), self.os_features.clone().into());
        }
        if !self.variant.is_empty() {
            object.insert("variant".into(), self.variant.clone().into());
        }
        Value::Object(object)
    }

    /// The bashbrew architecture this (normalized) platform serves, if any.
    pub fn bashbrew_arch(&self) -> Option<&'static str> {
        let arch = match (
            self.os.as_str(),
            self.architecture.as_str(),
            self.variant.as_str(),
        ) {
            ("linux", "amd64", "") => "amd64",
            ("linux", "arm", "v5") => "arm32v5",
            ("linux", "arm", "v6") => "arm32v6",
            ("linux", "arm", "v7") => "arm32v7",
            ("linux", "arm64", "v8") => "arm64v8",
            ("linux", "386", "") => "i386",
            ("linux", "mips64le", "") => "mips64le",
            ("linux", "ppc64le", "") => "ppc64le",
            ("linux", "riscv64", "") => "riscv64",
            ("linux", "s390x", "") => "s390x",
            ("windows", "amd64", "") => "windows-amd64",
            _ => return None,
        };
        Some(arch)
    }
}

/// The descriptor of a manifest entry in the output: known fields in the Go
/// order, unknown ones dropped (the reference printed typed descriptors).
struct Entry {
    media_type: Value,
    digest: String,
    size: Value,
    urls: Option<Value>,
    annotations: BTreeMap<String, Value>,
    data: Option<Value>,
    platform: Option<Platform>,
    artifact_type: Option<Value>,
}

impl Entry {
    fn to_json(&self) -> Value {
        let mut object = Map::new();
        object.insert("mediaType".into(), self.media_type.clone());
        object.insert("digest".into(), self.digest.clone().into());
        object.insert("size".into(), self.size.clone());
        if let Some(urls) = &self.urls {
            object.insert("urls".into(), urls.clone());
        }
        if !self.annotations.is_empty() {
            let annotations: Map<String, Value> = self
                .annotations
                .iter()
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect();
            object.insert("annotations".into(), Value::Object(annotations));
        }
        if let Some(data) = &self.data {
            object.insert("data".into(), data.clone());
        }
        if let Some(platform) = &self.platform {
            object.insert("platform".into(), platform.to_json());
        }
        if let Some(artifact_type) = &self.artifact_type {
            object.insert("artifactType".into(), artifact_type.clone());
        }
        Value::Object(object)
    }
}

fn invalid(reference: &Reference, message: String) -> RegistryError {
    RegistryError::new(
        ErrorKind::InvalidResponse,
        format!("{reference}: {message}"),
    )
}

impl Client {
    /// The synthesized image index for `reference` (see the module
    /// documentation), or None when it does not exist.
    pub fn lookup_index(&self, reference: &Reference) -> Result<Option<Value>, RegistryError> {
        let Some(object) = self.get_manifest(reference)? else {
            return Ok(None);
        };
        let manifest = object.json()?;
        let media_type = object.descriptor.media_type.as_str();
        let name = reference.without_digest().to_string();
        let repository = reference.repository_reference();

        let mut index = Map::new();
        index.insert("schemaVersion".into(), 2.into());
        let mut index_annotations: BTreeMap<String, Value> = BTreeMap::new();
        let mut entries: Vec<Entry> = Vec::new();

        if protocol::is_index_media_type(media_type) {
            index.insert("mediaType".into(), media_type.into());
            if let Some(artifact_type) = manifest.get("artifactType") {
                index.insert("artifactType".into(), artifact_type.clone());
            }
            let manifests = manifest
                .get("manifests")
                .and_then(Value::as_array)
                .ok_or_else(|| invalid(reference, "the index has no manifests array".into()))?;
            let mut seen: HashSet<String> = HashSet::new();
            for (position, descriptor) in manifests.iter().enumerate() {
                let entry =
                    self.entry_from_descriptor(reference, &repository, position, descriptor)?;
                if seen.insert(entry.digest.clone()) {
                    entries.push(entry);
                }
            }
            if let Some(Value::Object(annotations)) = manifest.get("annotations") {
                for (key, value) in annotations {
                    index_annotations.insert(key.clone(), value.clone());
                }
            }
        } else {
            let index_media_type = if media_type == media_type::DOCKER_MANIFEST {
                media_type::DOCKER_MANIFEST_LIST
            } else {
                media_type::OCI_INDEX
            };
            index.insert("mediaType".into(), index_media_type.into());
            let platform = self.platform_of_manifest(&repository, &object)?;
            entries.push(Entry {
                media_type: media_type.into(),
                digest: object.descriptor.digest.to_string(),
                size: object.descriptor.size.into(),
                urls: None,
                annotations: BTreeMap::new(),
                data: None,
                platform,
                artifact_type: None,
            });
        }

        annotate(&mut entries, &name);
        let manifests: Vec<Value> = entries.iter().map(Entry::to_json).collect();
        index.insert("manifests".into(), Value::Array(manifests));
        if protocol::is_index_media_type(media_type) {
            if let Some(subject) = manifest.get("subject") {
                index.insert("subject".into(), subject.clone());
            }
        }
        index_annotations.insert(
            annotation::REF_NAME.into(),
            format!("{name}@{}", object.descriptor.digest).into(),
        );
        let annotations: Map<String, Value> = index_annotations.into_iter().collect();
        index.insert("annotations".into(), Value::Object(annotations));
        Ok(Some(Value::Object(index)))
    }

    fn entry_from_descriptor(
        &self,
        reference: &Reference,
        repository: &Reference,
        position: usize,
        descriptor: &Value,
    ) -> Result<Entry, RegistryError> {
        let field = |name: &str| descriptor.get(name).cloned();
        let digest_text = descriptor
            .get("digest")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid(reference, format!("manifests[{position}] has no digest")))?;
        let digest: Digest = digest_text.parse().map_err(|error| {
            invalid(reference, format!("manifests[{position}].digest: {error}"))
        })?;
        let media_type = field("mediaType").unwrap_or(Value::String(String::new()));
        let mut annotations: BTreeMap<String, Value> = BTreeMap::new();
        if let Some(Value::Object(original)) = descriptor.get("annotations") {
            for (key, value) in original {
                annotations.insert(key.clone(), value.clone());
            }
        }
        let platform = match descriptor.get("platform") {
            Some(platform @ Value::Object(_)) => Some(Platform::from_json(platform)),
            _ => {
                let is_image = media_type
                    .as_str()
                    .is_some_and(protocol::is_image_manifest_media_type);
                if is_image {
                    match self.get_manifest(&repository.with_digest(digest.clone()))? {
                        Some(child) => self.platform_of_manifest(repository, &child)?,
                        None => None,
                    }
                } else {
                    None
                }
            }
        };
        Ok(Entry {
            media_type,
            digest: digest.to_string(),
            size: field("size").unwrap_or(Value::from(0)),
            urls: field("urls"),
            annotations,
            data: field("data"),
            platform,
            artifact_type: field("artifactType"),
        })
    }

    /// The platform of an image manifest, read from its config blob.
    fn platform_of_manifest(
        &self,
        repository: &Reference,
        manifest: &Object,
    ) -> Result<Option<Platform>, RegistryError> {
        let value = manifest.json()?;
        let Some(config_digest) = value
            .get("config")
            .and_then(|config| config.get("digest"))
            .and_then(Value::as_str)
            .and_then(|text| text.parse::<Digest>().ok())
        else {
            return Ok(None);
        };
        let Some(config) = self.get_blob(&repository.with_digest(config_digest))? else {
            return Ok(None);
        };
        let Ok(config_json) = serde_json::from_slice::<Value>(&config.bytes) else {
            return Ok(None);
        };
        let platform = Platform::from_json(&config_json);
        if platform.os.is_empty() && platform.architecture.is_empty() {
            return Ok(None);
        }
        Ok(Some(platform))
    }
}

/// Normalizes platforms and sets the computed annotations: `ref.name` on
/// every entry, and the bashbrew arch (attestations take their subject's,
/// and are dropped when the subject is not in the index).
fn annotate(entries: &mut Vec<Entry>, name: &str) {
    let mut arch_by_digest: Vec<(String, Option<&'static str>)> = Vec::new();
    for entry in entries.iter_mut() {
        entry.platform = entry.platform.as_ref().map(Platform::normalized);
        entry.annotations.remove(annotation::BASHBREW_ARCH);
        let arch = entry.platform.as_ref().and_then(Platform::bashbrew_arch);
        arch_by_digest.push((entry.digest.clone(), arch));
    }
    let subject_of = |entry: &Entry| -> Option<String> {
        let is_attestation = entry
            .annotations
            .get(annotation::REFERENCE_TYPE)
            .and_then(Value::as_str)
            == Some(annotation::ATTESTATION_MANIFEST);
        if !is_attestation {
            return None;
        }
        Some(
            entry
                .annotations
                .get(annotation::REFERENCE_DIGEST)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        )
    };
    entries.retain(|entry| match subject_of(entry) {
        Some(subject) => arch_by_digest.iter().any(|(digest, _)| *digest == subject),
        None => true,
    });
    for entry in entries.iter_mut() {
        let arch = match subject_of(entry) {
            Some(subject) => arch_by_digest
                .iter()
                .find(|(digest, _)| *digest == subject)
                .and_then(|(_, arch)| *arch),
            None => arch_by_digest
                .iter()
                .find(|(digest, _)| *digest == entry.digest)
                .and_then(|(_, arch)| *arch),
        };
        if let Some(arch) = arch {
            entry
                .annotations
                .insert(annotation::BASHBREW_ARCH.into(), arch.into());
        }
        entry.annotations.insert(
            annotation::REF_NAME.into(),
            format!("{name}@{}", entry.digest).into(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn platform(architecture: &str, os: &str, variant: &str) -> Platform {
        Platform {
            architecture: architecture.into(),
            os: os.into(),
            variant: variant.into(),
            ..Platform::default()
        }
    }

    #[test]
    fn normalization_table() {
        // (architecture, os, variant) -> (architecture, os, variant, bashbrew arch)
        let cases = [
            (
                ("amd64", "linux", ""),
                ("amd64", "linux", "", Some("amd64")),
            ),
            (
                ("x86_64", "Linux", "v1"),
                ("amd64", "linux", "", Some("amd64")),
            ),
            (("x86-64", "linux", "v2"), ("amd64", "linux", "v2", None)),
            (("i386", "linux", ""), ("386", "linux", "", Some("i386"))),
            (
                ("aarch64", "linux", ""),
                ("arm64", "linux", "v8", Some("arm64v8")),
            ),
            (
                ("arm64", "linux", "8"),
                ("arm64", "linux", "v8", Some("arm64v8")),
            ),
            (
                ("arm64", "linux", "v8.0"),
                ("arm64", "linux", "v8", Some("arm64v8")),
            ),
            (("arm64", "linux", "v9"), ("arm64", "linux", "v9", None)),
            (
                ("armhf", "linux", ""),
                ("arm", "linux", "v7", Some("arm32v7")),
            ),
            (
                ("armel", "linux", ""),
                ("arm", "linux", "v6", Some("arm32v6")),
            ),
            (
                ("arm", "linux", ""),
                ("arm", "linux", "v7", Some("arm32v7")),
            ),
            (
                ("arm", "linux", "7"),
                ("arm", "linux", "v7", Some("arm32v7")),
            ),
            (
                ("arm", "linux", "5"),
                ("arm", "linux", "v5", Some("arm32v5")),
            ),
            (
                ("arm", "linux", "6"),
                ("arm", "linux", "v6", Some("arm32v6")),
            ),
            (("arm", "linux", "8"), ("arm", "linux", "v8", None)),
            (
                ("mips64le", "linux", ""),
                ("mips64le", "linux", "", Some("mips64le")),
            ),
            (
                ("ppc64le", "linux", ""),
                ("ppc64le", "linux", "", Some("ppc64le")),
            ),
            (
                ("riscv64", "linux", ""),
                ("riscv64", "linux", "", Some("riscv64")),
            ),
            (
                ("s390x", "linux", ""),
                ("s390x", "linux", "", Some("s390x")),
            ),
            (
                ("amd64", "windows", ""),
                ("amd64", "windows", "", Some("windows-amd64")),
            ),
            (("unknown", "unknown", ""), ("unknown", "unknown", "", None)),
        ];
        for ((architecture, os, variant), (want_architecture, want_os, want_variant, want_arch)) in
            cases
        {
            let normalized = platform(architecture, os, variant).normalized();
            assert_eq!(
                normalized,
                platform(want_architecture, want_os, want_variant),
                "{architecture}/{os}/{variant}"
            );
            assert_eq!(
                normalized.bashbrew_arch(),
                want_arch,
                "{architecture}/{os}/{variant}"
            );
        }
    }

    #[test]
    fn platform_json_uses_the_oci_field_order() {
        let value: Value = serde_json::from_str(
            r#"{"os.features":["win32k"],"variant":"","os":"windows","os.version":"10.0.20348.2340","architecture":"amd64"}"#,
        )
        .unwrap();
        let text = serde_json::to_string(&Platform::from_json(&value).to_json()).unwrap();
        assert_eq!(
            text,
            r#"{"architecture":"amd64","os":"windows","os.version":"10.0.20348.2340","os.features":["win32k"]}"#
        );
    }

    fn entry(digest: &str, platform: Option<Platform>, annotations: &[(&str, &str)]) -> Entry {
        Entry {
            media_type: media_type::OCI_MANIFEST.into(),
            digest: digest.into(),
            size: 1.into(),
            urls: None,
            annotations: annotations
                .iter()
                .map(|(key, value)| (key.to_string(), Value::from(*value)))
                .collect(),
            data: None,
            platform,
            artifact_type: None,
        }
    }

    #[test]
    fn attestations_take_their_subjects_arch_or_are_dropped() {
        let attestation = |digest: &str, subject: &str| {
            entry(
                digest,
                Some(platform("unknown", "unknown", "")),
                &[
                    (annotation::REFERENCE_TYPE, annotation::ATTESTATION_MANIFEST),
                    (annotation::REFERENCE_DIGEST, subject),
                ],
            )
        };
        let mut entries = vec![
            entry(
                "sha256:a",
                Some(platform("arm64", "linux", "")),
                &[(annotation::BASHBREW_ARCH, "bogus")],
            ),
            attestation("sha256:b", "sha256:a"),
            attestation("sha256:c", "sha256:missing"),
        ];
        annotate(&mut entries, "foo:bar");
        let texts: Vec<String> = entries
            .iter()
            .map(|entry| serde_json::to_string(&entry.to_json()).unwrap())
            .collect();
        assert_eq!(texts.len(), 2);
        assert_eq!(
            texts[0],
            r#"{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:a","size":1,"annotations":{"com.docker.official-images.bashbrew.arch":"arm64v8","org.opencontainers.image.ref.name":"foo:bar@sha256:a"},"platform":{"architecture":"arm64","os":"linux","variant":"v8"}}"#
        );
        assert!(
            texts[1].contains(r#""com.docker.official-images.bashbrew.arch":"arm64v8""#),
            "{}",
            texts[1]
        );
    }
}

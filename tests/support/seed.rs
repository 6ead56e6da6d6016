//! Seeding and inspecting a registry with plain HTTP, independent of the
//! crate's client (OCI distribution spec: POST+PUT blob upload, PUT
//! manifest, GET manifest/blob/tags).
//!
//! Every function takes the registry's base URL, `http://127.0.0.1:PORT`;
//! credentials may ride in it (`http://user:password@127.0.0.1:PORT`, see
//! `Registry::authenticated_url`) and then answer Basic or Bearer challenges.
//! These are test fixtures: they panic with the registry's answer when the
//! registry refuses, since nothing after a failed seed can mean anything.

use sha2::{Digest as _, Sha256};

use doi::registry::protocol::MANIFEST_ACCEPT;
use doi::spec::media_type::{
    DOCKER_CONFIG, DOCKER_LAYER_GZIP, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_CONFIG, OCI_INDEX,
    OCI_LAYER, OCI_MANIFEST,
};

use super::http::{self, HttpUrl, RawResponse};

/// Which media types [`seed_image_as`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFlavor {
    /// OCI image index, manifests, config and (uncompressed) layers.
    Oci,
    /// Docker manifest list and schema 2 manifests, as most images on
    /// Docker Hub still are. The layer is labelled gzip but holds plain
    /// bytes: registries never unpack layers.
    Docker,
}

impl ImageFlavor {
    fn media_types(self) -> (&'static str, &'static str, &'static str, &'static str) {
        match self {
            ImageFlavor::Oci => (OCI_INDEX, OCI_MANIFEST, OCI_CONFIG, OCI_LAYER),
            ImageFlavor::Docker => (
                DOCKER_MANIFEST_LIST,
                DOCKER_MANIFEST,
                DOCKER_CONFIG,
                DOCKER_LAYER_GZIP,
            ),
        }
    }
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let mut out = String::from("sha256:");
    for byte in hash {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

fn send(
    method: &str,
    base_url: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> RawResponse {
    let url = format!("{}{target}", base_url.trim_end_matches('/'));
    match http::request_with_auth(method, &url, None, headers, body) {
        Ok(response) => response,
        Err(error) => panic!("seed: {method} {target} on {}: {error}", redact(base_url)),
    }
}

/// The URL with any password replaced, for panic messages.
fn redact(url: &str) -> String {
    match HttpUrl::parse(url) {
        Ok(parsed) => format!("http://{}", parsed.host),
        Err(_) => "<bad url>".to_string(),
    }
}

/// Uploads `bytes` as a blob of `repository` (POST then PUT, the two-step
/// monolithic upload every registry supports); returns its digest.
pub fn seed_blob(registry_url: &str, repository: &str, bytes: &[u8]) -> String {
    let digest = sha256_digest(bytes);
    let started = send(
        "POST",
        registry_url,
        &format!("/v2/{repository}/blobs/uploads/"),
        &[],
        b"",
    );
    if started.status != 202 {
        panic!(
            "seed: POST blob upload to {repository} answered {}: {}",
            started.status,
            started.text()
        );
    }
    let Some(location) = started.header("Location") else {
        panic!("seed: blob upload to {repository}: 202 without Location");
    };
    // Location may be absolute (distribution builds it from Host) or
    // relative; only its path and query matter, the host is ours.
    let target = match location.strip_prefix("http://") {
        Some(rest) => rest
            .find('/')
            .map(|index| rest[index..].to_string())
            .unwrap_or_else(|| "/".to_string()),
        None => location.to_string(),
    };
    let separator = if target.contains('?') { '&' } else { '?' };
    let target = format!(
        "{target}{separator}digest={}",
        http::percent_encode(&digest)
    );
    let finished = send(
        "PUT",
        registry_url,
        &target,
        &[("Content-Type", "application/octet-stream")],
        bytes,
    );
    if finished.status != 201 {
        panic!(
            "seed: PUT blob {digest} to {repository} answered {}: {}",
            finished.status,
            finished.text()
        );
    }
    digest
}

/// Uploads a manifest under `reference` (tag or digest); returns its digest.
pub fn seed_manifest(
    registry_url: &str,
    repository: &str,
    reference: &str,
    media_type: &str,
    bytes: &[u8],
) -> String {
    let response = send(
        "PUT",
        registry_url,
        &format!("/v2/{repository}/manifests/{reference}"),
        &[("Content-Type", media_type)],
        bytes,
    );
    if response.status != 201 {
        panic!(
            "seed: PUT manifest {repository}:{reference} answered {}: {}",
            response.status,
            response.text()
        );
    }
    sha256_digest(bytes)
}

/// Fetches a manifest; `Some((Content-Type, bytes))`, None on 404.
pub fn fetch_manifest(
    registry_url: &str,
    repository: &str,
    reference: &str,
) -> Option<(String, Vec<u8>)> {
    let response = send(
        "GET",
        registry_url,
        &format!("/v2/{repository}/manifests/{reference}"),
        &[("Accept", MANIFEST_ACCEPT)],
        b"",
    );
    match response.status {
        200 => Some((
            response
                .header("Content-Type")
                .unwrap_or_default()
                .to_string(),
            response.body,
        )),
        404 => None,
        status => panic!(
            "seed: GET manifest {repository}:{reference} answered {status}: {}",
            response.text()
        ),
    }
}

/// Fetches a blob; None on 404.
pub fn fetch_blob(registry_url: &str, repository: &str, digest: &str) -> Option<Vec<u8>> {
    let response = send(
        "GET",
        registry_url,
        &format!("/v2/{repository}/blobs/{digest}"),
        &[],
        b"",
    );
    match response.status {
        200 => Some(response.body),
        404 => None,
        status => panic!(
            "seed: GET blob {repository}@{digest} answered {status}: {}",
            response.text()
        ),
    }
}

/// A repository's tags, sorted (distribution 2.8 answers in storage
/// order, which is not stable); empty for an unknown repository.
pub fn list_tags(registry_url: &str, repository: &str) -> Vec<String> {
    let response = send(
        "GET",
        registry_url,
        &format!("/v2/{repository}/tags/list"),
        &[],
        b"",
    );
    if response.status == 404 {
        return Vec::new();
    }
    if response.status != 200 {
        panic!(
            "seed: GET tags of {repository} answered {}: {}",
            response.status,
            response.text()
        );
    }
    let document: serde_json::Value = match serde_json::from_slice(&response.body) {
        Ok(document) => document,
        Err(error) => panic!("seed: tags of {repository}: not JSON: {error}"),
    };
    document
        .get("tags")
        .and_then(|tags| tags.as_array())
        .map(|tags| {
            let mut tags: Vec<String> = tags
                .iter()
                .filter_map(|tag| tag.as_str().map(str::to_string))
                .collect();
            tags.sort();
            tags
        })
        .unwrap_or_default()
}

/// One platform of a [`SeededImage`], with every byte pushed.
#[derive(Debug, Clone)]
pub struct SeededManifest {
    /// `(os, architecture, variant)`.
    pub platform: (String, String, Option<String>),
    pub manifest_digest: String,
    pub manifest_bytes: Vec<u8>,
    pub config_digest: String,
    pub config_bytes: Vec<u8>,
    pub layer_digest: String,
    pub layer_bytes: Vec<u8>,
}

/// What [`seed_image`] pushed.
#[derive(Debug, Clone)]
pub struct SeededImage {
    pub flavor: ImageFlavor,
    pub repository: String,
    pub tag: String,
    pub index_digest: String,
    pub index_bytes: Vec<u8>,
    /// linux/amd64 first, then linux/arm64/v8.
    pub manifests: Vec<SeededManifest>,
}

impl SeededImage {
    /// Tags the image's index `tag` too (same repository); returns its
    /// digest.
    pub fn tag_again(&self, registry_url: &str, tag: &str) -> String {
        let (index_type, ..) = self.flavor.media_types();
        seed_manifest(
            registry_url,
            &self.repository,
            tag,
            index_type,
            &self.index_bytes,
        )
    }
}

/// Builds and pushes an OCI image index for linux/amd64 and linux/arm64/v8
/// (each: a config blob, one layer blob, an image manifest pushed by digest)
/// and tags the index `tag`. The bytes depend only on `repository` and
/// `tag`, so tests can rebuild them; layers are uncompressed so each layer
/// digest is also its config `diff_id`.
pub fn seed_image(registry_url: &str, repository: &str, tag: &str) -> SeededImage {
    seed_image_as(registry_url, repository, tag, ImageFlavor::Oci)
}

/// [`seed_image`] with Docker or OCI media types; both flavours of one
/// repository and tag differ only in their media types.
pub fn seed_image_as(
    registry_url: &str,
    repository: &str,
    tag: &str,
    flavor: ImageFlavor,
) -> SeededImage {
    let (index_type, manifest_type, config_type, layer_type) = flavor.media_types();
    let mut manifests = Vec::new();
    for (architecture, variant) in [("amd64", None), ("arm64", Some("v8"))] {
        let layer_bytes =
            format!("doi test layer for {repository}:{tag} linux/{architecture}\n").into_bytes();
        let layer_digest = seed_blob(registry_url, repository, &layer_bytes);
        let mut config = serde_json::json!({
            "architecture": architecture,
            "os": "linux",
            "config": { "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"] },
            "rootfs": { "type": "layers", "diff_ids": [layer_digest] },
        });
        if let (Some(variant), Some(object)) = (variant, config.as_object_mut()) {
            object.insert("variant".to_string(), serde_json::json!(variant));
        }
        let config_bytes = config.to_string().into_bytes();
        let config_digest = seed_blob(registry_url, repository, &config_bytes);
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": manifest_type,
            "config": { "mediaType": config_type, "digest": config_digest, "size": config_bytes.len() },
            "layers": [{ "mediaType": layer_type, "digest": layer_digest, "size": layer_bytes.len() }],
        });
        let manifest_bytes = manifest.to_string().into_bytes();
        let manifest_digest = sha256_digest(&manifest_bytes);
        seed_manifest(
            registry_url,
            repository,
            &manifest_digest,
            manifest_type,
            &manifest_bytes,
        );
        manifests.push(SeededManifest {
            platform: (
                "linux".to_string(),
                architecture.to_string(),
                variant.map(str::to_string),
            ),
            manifest_digest,
            manifest_bytes,
            config_digest,
            config_bytes,
            layer_digest,
            layer_bytes,
        });
    }
    let descriptors: Vec<serde_json::Value> = manifests
        .iter()
        .map(|manifest| {
            let mut platform = serde_json::json!({
                "architecture": manifest.platform.1,
                "os": manifest.platform.0,
            });
            if let (Some(variant), Some(object)) = (&manifest.platform.2, platform.as_object_mut())
            {
                object.insert("variant".to_string(), serde_json::json!(variant));
            }
            serde_json::json!({
                "mediaType": manifest_type,
                "digest": manifest.manifest_digest,
                "size": manifest.manifest_bytes.len(),
                "platform": platform,
            })
        })
        .collect();
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": index_type,
        "manifests": descriptors,
    });
    let index_bytes = index.to_string().into_bytes();
    let index_digest = seed_manifest(registry_url, repository, tag, index_type, &index_bytes);
    SeededImage {
        flavor,
        repository: repository.to_string(),
        tag: tag.to_string(),
        index_digest,
        index_bytes,
        manifests,
    }
}

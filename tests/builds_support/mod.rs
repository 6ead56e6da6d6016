//! Multi-arch images for the `builds` registry tests and benchmark.
//!
//! The shared harness seeds two-platform images; `builds` narrows by bashbrew
//! arch, so its tests need images for any set of arches, and its benchmark
//! needs thousands of staging indexes cheaply (one image manifest per arch
//! and repository, then one small index per tag). Included with
//! `#[path = ...] mod builds_support;` next to `mod support;`.
#![allow(dead_code)]

use serde_json::{json, Value};

use crate::support::{seed_blob, seed_manifest, sha256_digest};
use doi::spec::media_type::{OCI_CONFIG, OCI_INDEX, OCI_LAYER, OCI_MANIFEST};

/// The OCI platform of a bashbrew arch (the mapping `lookup` reverses).
pub fn platform(arch: &str) -> Value {
    match arch {
        "amd64" => json!({"architecture": "amd64", "os": "linux"}),
        "arm32v5" => json!({"architecture": "arm", "os": "linux", "variant": "v5"}),
        "arm32v6" => json!({"architecture": "arm", "os": "linux", "variant": "v6"}),
        "arm32v7" => json!({"architecture": "arm", "os": "linux", "variant": "v7"}),
        "arm64v8" => json!({"architecture": "arm64", "os": "linux", "variant": "v8"}),
        "i386" => json!({"architecture": "386", "os": "linux"}),
        "windows-amd64" => json!({"architecture": "amd64", "os": "windows"}),
        other => json!({"architecture": other, "os": "linux"}),
    }
}

/// Pushes a config, a layer and an image manifest for `arch` into
/// `repository` (by digest, untagged) and returns its descriptor with the
/// platform, ready to go into an index.
pub fn push_platform_manifest(
    registry_url: &str,
    repository: &str,
    arch: &str,
    salt: &str,
) -> Value {
    let platform = platform(arch);
    let layer = format!("builds test layer {repository} {arch} {salt}\n").into_bytes();
    let layer_digest = seed_blob(registry_url, repository, &layer);
    let mut config = json!({
        "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
        "config": {}
    });
    if let (Some(config), Some(platform)) = (config.as_object_mut(), platform.as_object()) {
        for (key, value) in platform {
            config.insert(key.clone(), value.clone());
        }
    }
    let config = config.to_string().into_bytes();
    let config_digest = seed_blob(registry_url, repository, &config);
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": OCI_LAYER, "digest": layer_digest, "size": layer.len()}]
    })
    .to_string()
    .into_bytes();
    let digest = seed_manifest(
        registry_url,
        repository,
        &sha256_digest(&manifest),
        OCI_MANIFEST,
        &manifest,
    );
    json!({"mediaType": OCI_MANIFEST, "digest": digest, "size": manifest.len(), "platform": platform})
}

/// Pushes an OCI index of `descriptors` tagged `tag` (an annotation makes
/// its bytes, and so its digest, unique to `repository:tag`) and returns
/// its digest.
pub fn push_index(
    registry_url: &str,
    repository: &str,
    tag: &str,
    descriptors: &[Value],
) -> String {
    let index = json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": descriptors,
        "annotations": {"org.example.builds-test": format!("{repository}:{tag}")}
    })
    .to_string()
    .into_bytes();
    seed_manifest(registry_url, repository, tag, OCI_INDEX, &index)
}

/// An image for every arch of `arches`, tagged `tag`; its index digest.
pub fn push_image(registry_url: &str, repository: &str, tag: &str, arches: &[&str]) -> String {
    let descriptors: Vec<Value> = arches
        .iter()
        .map(|arch| push_platform_manifest(registry_url, repository, arch, tag))
        .collect();
    push_index(registry_url, repository, tag, &descriptors)
}

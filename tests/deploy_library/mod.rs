//! A small library of real images for deploy tests and the benchmark:
//! config and layer blobs, image manifests, BuildKit-style attestation
//! manifests and per-build indexes, seeded into staging repositories
//! (`oisupport/staging-ARCH`, index tagged with the build id) of a local
//! registry, plus the builds metadata that describes them and the deploy
//! objects its plan implies.
//!
//! Everything is deterministic: the same spec gives the same bytes, so
//! `testdata/deploy/builds.json` (written with the host `localhost:3000`,
//! rewritten at test time) stays valid.
#![allow(dead_code)]

use serde_json::{json, Map, Value};

use super::support::{seed_blob, seed_manifest, sha256_digest};

use doi::spec::media_type::{IN_TOTO, OCI_CONFIG, OCI_INDEX, OCI_LAYER, OCI_MANIFEST};
/// The host written in checked-in metadata, as in the conformance files.
pub const PLACEHOLDER_HOST: &str = "localhost:3000";

/// One version of one image: its tags and the architectures built.
#[derive(Clone, Debug)]
pub struct VersionSpec {
    pub name: String,
    pub version: String,
    pub tags: Vec<String>,
    pub arches: Vec<&'static str>,
}

/// One build (one architecture of one version).
#[derive(Clone, Debug)]
pub struct Build {
    pub id: String,
    pub arch: &'static str,
    pub staging_repository: String,
    /// The index descriptors of the image and its attestation, with the
    /// bashbrew arch and the staging `ref.name` annotations.
    pub descriptors: Vec<Value>,
    pub tags: Vec<String>,
    pub arch_tags: Vec<String>,
    pub version: String,
    pub name: String,
}

/// A seeded library.
pub struct Library {
    pub host: String,
    pub builds: Vec<Build>,
}

/// The small library of the end-to-end test: two images, one with two
/// versions, over three architectures.
pub fn small_spec() -> Vec<VersionSpec> {
    let version = |name: &str, version: &str, tags: &[&str], arches: &[&'static str]| VersionSpec {
        name: name.to_string(),
        version: version.to_string(),
        tags: tags.iter().map(|tag| tag.to_string()).collect(),
        arches: arches.to_vec(),
    };
    vec![
        version(
            "hello",
            "1.0",
            &["1.0", "1", "latest"],
            &["amd64", "arm64v8"],
        ),
        version("hello", "0.9", &["0.9"], &["amd64"]),
        version(
            "greet",
            "2.1",
            &["2.1", "2", "latest"],
            &["amd64", "arm32v7", "arm64v8"],
        ),
    ]
}

/// `count` versions with three tags each (the benchmark's library): one,
/// two or three architectures in turn.
pub fn bench_spec(count: usize) -> Vec<VersionSpec> {
    let arch_sets: [&[&'static str]; 3] = [
        &["amd64"],
        &["amd64", "arm64v8"],
        &["amd64", "arm64v8", "arm32v7"],
    ];
    (0..count)
        .map(|index| VersionSpec {
            name: format!("image{}", index / 4),
            version: format!("{index}.0"),
            tags: vec![
                format!("{index}.0"),
                format!("{index}"),
                format!("{index}-stable"),
            ],
            arches: arch_sets[index % 3].to_vec(),
        })
        .collect()
}

fn platform(arch: &str) -> Value {
    match arch {
        "amd64" => json!({"architecture": "amd64", "os": "linux"}),
        "arm64v8" => json!({"architecture": "arm64", "os": "linux", "variant": "v8"}),
        "arm32v7" => json!({"architecture": "arm", "os": "linux", "variant": "v7"}),
        other => json!({"architecture": other, "os": "linux"}),
    }
}

/// `jq --tab`-like bytes are not needed for seeded content: any fixed
/// serialization is fine, it only has to be the same every time.
fn bytes_of(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

fn descriptor(media_type: &str, bytes: &[u8]) -> Value {
    json!({"mediaType": media_type, "digest": sha256_digest(bytes), "size": bytes.len()})
}

/// Seeds every build of `spec` into the staging repositories of the
/// registry at `registry_url` (whose references use `host`).
pub fn seed(registry_url: &str, host: &str, spec: &[VersionSpec]) -> Library {
    let mut builds = Vec::new();
    for version in spec {
        for &arch in &version.arches {
            let id =
                sha256_digest(format!("{}:{} {arch}", version.name, version.version).as_bytes())
                    .trim_start_matches("sha256:")
                    .to_string();
            let staging_repository = format!("oisupport/staging-{arch}");
            let layer =
                format!("layer of {}:{} for {arch}\n", version.name, version.version).into_bytes();
            let mut config_value = platform(arch);
            if let Value::Object(map) = &mut config_value {
                map.insert("config".into(), json!({"Cmd": ["/hello"]}));
                map.insert(
                    "rootfs".into(),
                    json!({"type": "layers", "diff_ids": [sha256_digest(&layer)]}),
                );
            }
            let config = bytes_of(&config_value);
            let image = bytes_of(&json!({
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": descriptor(OCI_CONFIG, &config),
                "layers": [descriptor(OCI_LAYER, &layer)],
            }));
            let image_digest = sha256_digest(&image);
            let statement = bytes_of(&json!({
                "_type": "https://in-toto.io/Statement/v0.1",
                "predicateType": "https://spdx.dev/Document",
                "subject": [{"name": format!("{}:{}", version.name, version.version), "digest": {"sha256": image_digest.trim_start_matches("sha256:")}}],
            }));
            let attestation_config = bytes_of(
                &json!({"architecture": "unknown", "os": "unknown", "config": {}, "rootfs": {"type": "layers", "diff_ids": [sha256_digest(&statement)]}}),
            );
            let attestation = bytes_of(&json!({
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": descriptor(OCI_CONFIG, &attestation_config),
                "layers": [{
                    "mediaType": IN_TOTO,
                    "digest": sha256_digest(&statement),
                    "size": statement.len(),
                    "annotations": {"in-toto.io/predicate-type": "https://spdx.dev/Document"},
                }],
            }));
            let attestation_digest = sha256_digest(&attestation);
            for blob in [&config, &layer, &attestation_config, &statement] {
                seed_blob(registry_url, &staging_repository, blob);
            }
            seed_manifest(
                registry_url,
                &staging_repository,
                &image_digest,
                OCI_MANIFEST,
                &image,
            );
            seed_manifest(
                registry_url,
                &staging_repository,
                &attestation_digest,
                OCI_MANIFEST,
                &attestation,
            );
            let staged = format!("{host}/{staging_repository}:{id}");
            let image_descriptor = json!({
                "mediaType": OCI_MANIFEST,
                "digest": image_digest,
                "size": image.len(),
                "annotations": {
                    "com.docker.official-images.bashbrew.arch": arch,
                    "org.opencontainers.image.ref.name": format!("{staged}@{image_digest}"),
                },
                "platform": platform(arch),
            });
            let attestation_descriptor = json!({
                "mediaType": OCI_MANIFEST,
                "digest": attestation_digest,
                "size": attestation.len(),
                "annotations": {
                    "com.docker.official-images.bashbrew.arch": arch,
                    "org.opencontainers.image.ref.name": format!("{staged}@{attestation_digest}"),
                    "vnd.docker.reference.digest": image_digest,
                    "vnd.docker.reference.type": "attestation-manifest",
                },
                "platform": {"architecture": "unknown", "os": "unknown"},
            });
            let staging_index = bytes_of(&json!({
                "schemaVersion": 2,
                "mediaType": OCI_INDEX,
                "manifests": [strip_ref_name(&image_descriptor), strip_ref_name(&attestation_descriptor)],
            }));
            seed_manifest(
                registry_url,
                &staging_repository,
                &id,
                OCI_INDEX,
                &staging_index,
            );
            let repository = format!("{host}/library/{}", version.name);
            let arch_repository = format!("{host}/{arch}/{}", version.name);
            builds.push(Build {
                id,
                arch,
                staging_repository,
                descriptors: vec![image_descriptor, attestation_descriptor],
                tags: version
                    .tags
                    .iter()
                    .map(|tag| format!("{repository}:{tag}"))
                    .collect(),
                arch_tags: version
                    .tags
                    .iter()
                    .map(|tag| format!("{arch_repository}:{tag}"))
                    .collect(),
                version: version.version.clone(),
                name: version.name.clone(),
            });
        }
    }
    Library {
        host: host.to_string(),
        builds,
    }
}

fn strip_ref_name(descriptor: &Value) -> Value {
    let mut descriptor = descriptor.clone();
    if let Some(Value::Object(annotations)) = descriptor.get_mut("annotations") {
        annotations.remove("org.opencontainers.image.ref.name");
    }
    descriptor
}

impl Library {
    /// Builds metadata (`buildId -> build`) in the shape `builds` writes.
    pub fn builds_metadata(&self) -> Value {
        let mut metadata = Map::new();
        for build in &self.builds {
            let source_id =
                sha256_digest(format!("source {} {}", build.name, build.version).as_bytes())
                    .trim_start_matches("sha256:")
                    .to_string();
            let platform_value = platform(build.arch);
            let platform_string = match (
                platform_value["os"].as_str(),
                platform_value["architecture"].as_str(),
                platform_value["variant"].as_str(),
            ) {
                (Some(os), Some(architecture), Some(variant)) => {
                    format!("{os}/{architecture}/{variant}")
                }
                (Some(os), Some(architecture), None) => format!("{os}/{architecture}"),
                _ => String::new(),
            };
            metadata.insert(
                build.id.clone(),
                json!({
                    "buildId": build.id,
                    "build": {
                        "img": format!("{}/{}:{}", self.host, build.staging_repository, build.id),
                        "resolved": {
                            "schemaVersion": 2,
                            "mediaType": OCI_INDEX,
                            "manifests": build.descriptors,
                        },
                        "sourceId": source_id,
                        "arch": build.arch,
                        "parents": {},
                        "resolvedParents": {},
                    },
                    "source": {
                        "sourceId": source_id,
                        "reproducibleGitChecksum": source_id,
                        "entries": [{
                            "GitRepo": "https://example.invalid/library.git",
                            "GitFetch": "refs/heads/main",
                            "GitCommit": "0000000000000000000000000000000000000000",
                            "Directory": format!("{}/{}", build.name, build.version),
                            "File": "Dockerfile",
                            "Builder": "buildkit",
                            "SOURCE_DATE_EPOCH": 1700000000,
                        }],
                        "arches": {
                            build.arch: {
                                "tags": build.tags,
                                "archTags": build.arch_tags,
                                "froms": ["scratch"],
                                "lastStageFrom": "scratch",
                                "platformString": platform_string,
                                "platform": platform_value,
                                "parents": {},
                            }
                        },
                    },
                }),
            );
        }
        Value::Object(metadata)
    }

    /// The deploy objects the plan of this library implies: per tag, an
    /// index of its builds' manifests (tags with the same manifests share
    /// one object), with `lookup` pointing at the staging repositories.
    /// `with_arch_tags` adds the architecture-specific repositories.
    pub fn deploy_objects(&self, with_arch_tags: bool) -> Vec<Value> {
        let mut by_tag: Vec<(String, Vec<&Build>)> = Vec::new();
        let mut push = |tag: String, build| match by_tag.iter_mut().find(|(known, _)| *known == tag)
        {
            Some((_, builds)) => builds.push(build),
            None => by_tag.push((tag, vec![build])),
        };
        for build in &self.builds {
            for tag in &build.tags {
                push(tag.clone(), build);
            }
        }
        if with_arch_tags {
            for build in &self.builds {
                for tag in &build.arch_tags {
                    push(tag.clone(), build);
                }
            }
        }
        let mut objects: Vec<(Vec<String>, Value)> = Vec::new();
        for (tag, builds) in by_tag {
            let mut manifests = Vec::new();
            let mut lookup = Map::new();
            for build in &builds {
                for descriptor in &build.descriptors {
                    let digest = descriptor["digest"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                    lookup.insert(
                        digest,
                        Value::String(format!(
                            "{}/{}:{}",
                            self.host, build.staging_repository, build.id
                        )),
                    );
                    manifests.push(strip_ref_name(descriptor));
                }
            }
            let digests: Vec<String> = manifests
                .iter()
                .map(|descriptor| {
                    descriptor["digest"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string()
                })
                .collect();
            match objects.iter_mut().find(|(known, _)| *known == digests) {
                Some((_, object)) => {
                    if let Some(Value::Array(refs)) = object.get_mut("refs") {
                        refs.push(Value::String(tag));
                    }
                }
                None => objects.push((
                    digests,
                    json!({
                        "type": "manifest",
                        "refs": [tag],
                        "lookup": lookup,
                        "data": {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests},
                    }),
                )),
            }
        }
        objects.into_iter().map(|(_, object)| object).collect()
    }

    /// Every tag the library's plan pushes.
    pub fn tags(&self, with_arch_tags: bool) -> Vec<String> {
        let mut tags: Vec<String> = Vec::new();
        for build in &self.builds {
            let arch_tags = if with_arch_tags {
                &build.arch_tags[..]
            } else {
                &[]
            };
            for tag in build.tags.iter().chain(arch_tags) {
                if !tags.contains(tag) {
                    tags.push(tag.clone());
                }
            }
        }
        tags
    }
}

/// Deploy objects as a stream of compact JSON lines (deploy's stdin).
pub fn stream(objects: &[Value]) -> String {
    objects.iter().map(|object| format!("{object}\n")).collect()
}

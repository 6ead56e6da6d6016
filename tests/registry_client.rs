//! The registry client against a real registry (Debian's `docker-registry`),
//! with our fault proxy in front where a rule needs faults or request
//! counts. Counts, never timings, prove the cache and single-flight rules.

use crate::support;

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use doi::registry::{Client, ClientConfig, Digest, ErrorKind, ObjectType, RateLimit, Reference};
use serde_json::{json, Value};
use support::fixture::{self, reference, DockerConfig, Proxied};
use support::{Fault, FaultProxy, Match, RegistryAuth};

/// A client of [`fixture::client_config`] with no credentials.
fn client_with(adjust: impl FnOnce(&mut ClientConfig)) -> (DockerConfig, Client) {
    let docker_config = DockerConfig::new();
    let mut config = fixture::client_config(docker_config.path());
    adjust(&mut config);
    (docker_config, Client::new(config))
}

fn client() -> (DockerConfig, Client) {
    client_with(|_| {})
}

/// A plain registry with a counting proxy in front.
fn proxied() -> Option<Proxied> {
    Proxied::start(RegistryAuth::None)
}

#[test]
fn synthesized_index_of_an_oci_index_keeps_platforms_and_adds_annotations() {
    let Some((registry, image)) =
        fixture::registry_with_image(RegistryAuth::None, "test/image", "1.0")
    else {
        return;
    };
    let (_config, client) = client();
    let name = format!("{}/test/image:1.0", registry.host());
    let index = client.lookup_index(&reference(&name)).unwrap().unwrap();
    let manifest = |position: usize, arch: &str, platform: Value| {
        let seeded = &image.manifests[position];
        json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": seeded.manifest_digest,
            "size": seeded.manifest_bytes.len(),
            "annotations": {
                "com.docker.official-images.bashbrew.arch": arch,
                "org.opencontainers.image.ref.name": format!("{name}@{}", seeded.manifest_digest),
            },
            "platform": platform,
        })
    };
    let expected = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            manifest(0, "amd64", json!({"architecture": "amd64", "os": "linux"})),
            manifest(1, "arm64v8", json!({"architecture": "arm64", "os": "linux", "variant": "v8"})),
        ],
        "annotations": {
            "org.opencontainers.image.ref.name": format!("{name}@{}", image.index_digest),
        },
    });
    // Compared as text: key order is part of the contract.
    assert_eq!(
        serde_json::to_string(&index).unwrap(),
        serde_json::to_string(&expected).unwrap()
    );
    // Platforms were in the descriptors: only the index was read.
    assert_eq!(client.stats().get, 1);
}

#[test]
fn a_single_docker_manifest_becomes_a_manifest_list_with_the_config_platform() {
    let Some(registry) = fixture::registry(RegistryAuth::None) else {
        return;
    };
    let image = support::seed_image_as(
        &registry.url(),
        "test/docker",
        "multi",
        support::seed::ImageFlavor::Docker,
    );
    let (_config, client) = client();
    let arm = &image.manifests[1];
    let name = format!("{}/test/docker@{}", registry.host(), arm.manifest_digest);
    let index = client.lookup_index(&reference(&name)).unwrap().unwrap();
    let expected = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
        "manifests": [{
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "digest": arm.manifest_digest,
            "size": arm.manifest_bytes.len(),
            "annotations": {
                "com.docker.official-images.bashbrew.arch": "arm64v8",
                "org.opencontainers.image.ref.name": name,
            },
            "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"},
        }],
        "annotations": {"org.opencontainers.image.ref.name": name},
    });
    assert_eq!(
        serde_json::to_string(&index).unwrap(),
        serde_json::to_string(&expected).unwrap()
    );
    // The manifest, then its config blob for the platform.
    assert_eq!(client.stats().get, 2);
}

/// An index without platforms, with a duplicate entry, a bogus bashbrew
/// annotation, an attestation for a present subject and one for an absent
/// subject: platforms come from config blobs, duplicates and the orphan
/// attestation go, the arch is computed.
#[test]
fn index_without_platforms_reads_configs_dedupes_and_handles_attestations() {
    let Some((registry, image)) =
        fixture::registry_with_image(RegistryAuth::None, "test/attest", "base")
    else {
        return;
    };
    let url = registry.url();
    let amd = &image.manifests[0];
    // An attestation manifest: a config and a layer, platform unknown/unknown.
    let attestation_config = br#"{"architecture":"unknown","os":"unknown"}"#;
    let attestation_config_digest = support::seed_blob(&url, "test/attest", attestation_config);
    let attestation = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": attestation_config_digest, "size": attestation_config.len()},
        "layers": [],
    })
    .to_string();
    let attestation_digest = support::seed_manifest(
        &url,
        "test/attest",
        &support::sha256_digest(attestation.as_bytes()),
        "application/vnd.oci.image.manifest.v1+json",
        attestation.as_bytes(),
    );
    let orphan = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": attestation_config_digest, "size": attestation_config.len()},
        "layers": [],
        "annotations": {"x": "orphan"},
    })
    .to_string();
    let orphan_digest = support::seed_manifest(
        &url,
        "test/attest",
        &support::sha256_digest(orphan.as_bytes()),
        "application/vnd.oci.image.manifest.v1+json",
        orphan.as_bytes(),
    );
    let missing_subject = format!("sha256:{}", "1".repeat(64));
    let index = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": amd.manifest_digest, "size": amd.manifest_bytes.len(),
             "annotations": {"com.docker.official-images.bashbrew.arch": "s390x", "org.opencontainers.image.version": "1.0"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": amd.manifest_digest, "size": amd.manifest_bytes.len()},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": attestation_digest, "size": attestation.len(),
             "annotations": {"vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": amd.manifest_digest},
             "platform": {"architecture": "unknown", "os": "unknown"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": orphan_digest, "size": orphan.len(),
             "annotations": {"vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": missing_subject},
             "platform": {"architecture": "unknown", "os": "unknown"}},
        ],
        "annotations": {"org.opencontainers.image.created": "2024-01-01T00:00:00Z"},
    })
    .to_string();
    let index_digest = support::seed_manifest(
        &url,
        "test/attest",
        "multi",
        "application/vnd.oci.image.index.v1+json",
        index.as_bytes(),
    );
    let (_config, client) = client();
    let name = format!("{}/test/attest:multi", registry.host());
    let synthesized = client.lookup_index(&reference(&name)).unwrap().unwrap();
    let expected = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": amd.manifest_digest, "size": amd.manifest_bytes.len(),
             "annotations": {
                "com.docker.official-images.bashbrew.arch": "amd64",
                "org.opencontainers.image.ref.name": format!("{name}@{}", amd.manifest_digest),
                "org.opencontainers.image.version": "1.0",
             },
             "platform": {"architecture": "amd64", "os": "linux"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": attestation_digest, "size": attestation.len(),
             "annotations": {
                "com.docker.official-images.bashbrew.arch": "amd64",
                "org.opencontainers.image.ref.name": format!("{name}@{attestation_digest}"),
                "vnd.docker.reference.digest": amd.manifest_digest,
                "vnd.docker.reference.type": "attestation-manifest",
             },
             "platform": {"architecture": "unknown", "os": "unknown"}},
        ],
        "annotations": {
            "org.opencontainers.image.created": "2024-01-01T00:00:00Z",
            "org.opencontainers.image.ref.name": format!("{name}@{index_digest}"),
        },
    });
    assert_eq!(
        serde_json::to_string_pretty(&synthesized).unwrap(),
        serde_json::to_string_pretty(&expected).unwrap()
    );
}

#[test]
fn missing_tags_repositories_and_digests_are_not_found() {
    let Some(registry) = fixture::registry(RegistryAuth::None) else {
        return;
    };
    support::seed_image(&registry.url(), "test/present", "yes");
    let (_config, client) = client();
    let host = registry.host();
    let zero = format!("sha256:{}", "0".repeat(64));
    for missing in [
        format!("{host}/test/present:no"),
        format!("{host}/test/absent:yes"),
        format!("{host}/test/present@{zero}"),
    ] {
        let missing = reference(&missing);
        assert!(
            client.lookup_index(&missing).unwrap().is_none(),
            "{missing}"
        );
        assert!(
            client.head_manifest(&missing).unwrap().is_none(),
            "{missing}"
        );
    }
    let blob = reference(&format!("{host}/test/present@{zero}"));
    assert!(client.head_blob(&blob).unwrap().is_none());
    assert!(client.get_blob(&blob).unwrap().is_none());
}

#[test]
fn a_get_answers_later_heads_and_a_tag_answers_its_digest() {
    let Some(Proxied { registry, proxy }) = proxied() else {
        return;
    };
    let image = support::seed_image(&registry.url(), "test/cache", "v1");
    let (_config, client) = client();
    let by_tag = reference(&format!("{}/test/cache:v1", proxy.host()));
    let by_digest = by_tag
        .without_tag()
        .with_digest(image.index_digest.parse().unwrap());
    let object = client.get_manifest(&by_tag).unwrap().unwrap();
    assert_eq!(&object.bytes[..], &image.index_bytes[..]);
    assert_eq!(proxy.count(), 1);
    // Same tag, same digest, HEADs of both, and the full lookup: no request.
    client.get_manifest(&by_tag).unwrap();
    client.get_manifest(&by_digest).unwrap();
    let head = client.head_manifest(&by_tag).unwrap().unwrap();
    assert_eq!(head.digest.to_string(), image.index_digest);
    assert_eq!(head.size, image.index_bytes.len() as u64);
    client.head_manifest(&by_digest).unwrap();
    client.lookup_index(&by_tag).unwrap().unwrap();
    assert_eq!(proxy.count(), 1, "{}", proxy.log());
    // A HEAD first, then the same HEAD again: one request; a GET still
    // needs its own (a HEAD has no bytes).
    let blob = reference(&format!(
        "{}/test/cache@{}",
        proxy.host(),
        image.manifests[0].config_digest
    ));
    assert!(client.head_blob(&blob).unwrap().is_some());
    assert!(client.head_blob(&blob).unwrap().is_some());
    assert_eq!(proxy.count(), 2);
    let config = client.get_blob(&blob).unwrap().unwrap();
    assert_eq!(&config.bytes[..], &image.manifests[0].config_bytes[..]);
    client.get_blob(&blob).unwrap();
    assert_eq!(proxy.count(), 3, "{}", proxy.log());
    // Not found is an answer too, and is kept.
    let missing = reference(&format!("{}/test/cache:missing", proxy.host()));
    assert!(client.head_manifest(&missing).unwrap().is_none());
    assert!(client.get_manifest(&missing).unwrap().is_none());
    assert!(client.head_manifest(&missing).unwrap().is_none());
    assert_eq!(proxy.count(), 4, "{}", proxy.log());
    let stats = client.stats();
    assert_eq!((stats.head, stats.get), (2, 2));
}

#[test]
fn concurrent_asks_for_one_object_send_one_request() {
    let Some(Proxied { registry, proxy }) = proxied() else {
        return;
    };
    support::seed_image(&registry.url(), "test/flight", "v1");
    // Keep the one request in flight long enough for every thread to ask.
    proxy.inject(
        Match::new("GET", "/manifests/v1"),
        Fault::Slow(Duration::from_millis(300)),
        1,
    );
    let (_config, client) = client();
    let by_tag = reference(&format!("{}/test/flight:v1", proxy.host()));
    let threads = 16;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (client, by_tag, barrier) = (client.clone(), by_tag.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                client.lookup_index(&by_tag).unwrap().unwrap()
            })
        })
        .collect();
    let answers: Vec<Value> = handles
        .into_iter()
        .map(|handle| handle.join().unwrap())
        .collect();
    assert!(answers.windows(2).all(|pair| pair[0] == pair[1]));
    assert_eq!(proxy.count(), 1, "{}", proxy.log());
}

#[test]
fn asks_for_different_objects_do_not_wait_for_each_other() {
    let Some(Proxied { registry, proxy }) = proxied() else {
        return;
    };
    support::seed_image(&registry.url(), "test/slow", "slow");
    support::seed_image(&registry.url(), "test/slow", "fast");
    proxy.inject(
        Match::new("GET", "/manifests/slow"),
        Fault::Slow(Duration::from_secs(3)),
        1,
    );
    let (_config, client) = client();
    let slow = reference(&format!("{}/test/slow:slow", proxy.host()));
    let fast = reference(&format!("{}/test/slow:fast", proxy.host()));
    let (sender, receiver) = std::sync::mpsc::channel();
    let slow_sender = sender.clone();
    let slow_client = client.clone();
    let slow_thread = std::thread::spawn(move || {
        slow_client.get_manifest(&slow).unwrap();
        slow_sender.send("slow").unwrap();
    });
    // Wait until the slow request is on the wire.
    while proxy.count() == 0 {
        std::thread::sleep(Duration::from_millis(5));
    }
    client.get_manifest(&fast).unwrap();
    sender.send("fast").unwrap();
    slow_thread.join().unwrap();
    let order: Vec<&str> = receiver.try_iter().collect();
    assert_eq!(order, vec!["fast", "slow"]);
}

#[test]
fn server_errors_are_retried_at_most_three_times() {
    let Some(Proxied { registry, proxy }) = proxied() else {
        return;
    };
    support::seed_image(&registry.url(), "test/retry", "v1");
    let (_config, client) = client();
    // A burst of two: the third try succeeds.
    for status in [500, 502, 503, 504] {
        proxy.reset_counts();
        proxy.inject(Match::new("HEAD", "/manifests/"), Fault::status(status), 2);
        let tag = reference(&format!("{}/test/retry:v1", proxy.host()));
        let fresh = client_with(|_| {}).1;
        assert!(fresh.head_manifest(&tag).unwrap().is_some(), "{status}");
        assert_eq!(proxy.count(), 3, "{status}: {}", proxy.log());
        assert_eq!(fresh.stats().retries, 2);
    }
    // A burst of three: given up, the last answer is the error; the failure
    // is not cached, so the next ask tries again.
    proxy.reset_counts();
    proxy.inject(Match::new("GET", "/manifests/"), Fault::status(503), 3);
    let tag = reference(&format!("{}/test/retry:v1", proxy.host()));
    let error = client.get_manifest(&tag).unwrap_err();
    assert_eq!(error.status(), Some(503));
    assert!(error.is_temporary());
    assert!(error.to_string().starts_with(&format!(
        "GET http://{}/v2/test/retry/manifests/v1: 503 Service Unavailable",
        proxy.host()
    )));
    assert_eq!(proxy.count(), 3);
    assert!(client.get_manifest(&tag).unwrap().is_some());
    assert_eq!(proxy.count(), 4);
}

#[test]
fn rate_limited_requests_wait_for_retry_after_and_empty_the_bucket() {
    let Some(Proxied { registry, proxy }) = proxied() else {
        return;
    };
    support::seed_image(&registry.url(), "test/limited", "v1");
    let (_config, client) = client_with(|config| {
        config.retry.minimum_delay = Duration::from_secs(1);
        config.retry.maximum_delay = Duration::from_secs(5);
        config.rate_limits.insert(
            FaultProxy::host(&proxy),
            RateLimit {
                per_minute: 600.0,
                burst: 100,
            },
        );
    });
    proxy.inject(
        Match::new("GET", "/manifests/"),
        Fault::too_many_requests(Some(2)),
        1,
    );
    proxy.inject(
        Match::new("GET", "/manifests/"),
        Fault::too_many_requests(None),
        1,
    );
    let tag = reference(&format!("{}/test/limited:v1", proxy.host()));
    let started = Instant::now();
    assert!(client.get_manifest(&tag).unwrap().is_some());
    // Retry-After: 2, then the one-second minimum.
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(proxy.count(), 3, "{}", proxy.log());
    assert_eq!(client.stats().retries, 2);
}

#[test]
fn retries_wait_at_least_a_second_by_default() {
    let Some(Proxied { registry, proxy }) = proxied() else {
        return;
    };
    support::seed_image(&registry.url(), "test/second", "v1");
    let config_directory = tempfile::tempdir().unwrap();
    let client = Client::new(ClientConfig {
        docker_config_dir: Some(config_directory.path().to_path_buf()),
        ..ClientConfig::default()
    });
    proxy.inject(Match::new("GET", "/manifests/"), Fault::status(502), 1);
    let started = Instant::now();
    client
        .get_manifest(&reference(&format!("{}/test/second:v1", proxy.host())))
        .unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(proxy.count(), 2);
}

#[test]
fn resets_and_truncated_bodies_are_retried() {
    let Some(Proxied { registry, proxy }) = proxied() else {
        return;
    };
    let image = support::seed_image(&registry.url(), "test/reset", "v1");
    let (_config, client) = client();
    proxy.inject(Match::new("GET", "/manifests/"), Fault::ResetMidBody, 1);
    proxy.inject(Match::new("GET", "/blobs/"), Fault::Truncate, 1);
    let tag = reference(&format!("{}/test/reset:v1", proxy.host()));
    let object = client.get_manifest(&tag).unwrap().unwrap();
    assert_eq!(&object.bytes[..], &image.index_bytes[..]);
    let blob = tag
        .without_tag()
        .with_digest(image.manifests[0].config_digest.parse().unwrap());
    let config = client.get_blob(&blob).unwrap().unwrap();
    assert_eq!(&config.bytes[..], &image.manifests[0].config_bytes[..]);
    assert_eq!(proxy.count(), 4, "{}", proxy.log());
}

#[test]
fn other_bytes_than_the_digest_are_an_error_not_an_answer() {
    let Some(Proxied { registry, proxy }) = proxied() else {
        return;
    };
    let image = support::seed_image(&registry.url(), "test/wrong", "v1");
    let (_config, client) = client();
    proxy.inject(Match::method("GET"), Fault::WrongBytes, 3);
    let by_digest = reference(&format!(
        "{}/test/wrong@{}",
        proxy.host(),
        image.index_digest
    ));
    let error = client.get_manifest(&by_digest).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::DigestMismatch);
    assert!(
        error.to_string().contains("the registry sent other bytes"),
        "{error}"
    );
    // By tag: checked against the Docker-Content-Digest the registry sent.
    let by_tag = reference(&format!("{}/test/wrong:v1", proxy.host()));
    assert_eq!(
        client.get_manifest(&by_tag).unwrap_err().kind(),
        ErrorKind::DigestMismatch
    );
    let blob = by_tag
        .without_tag()
        .with_digest(image.manifests[1].layer_digest.parse().unwrap());
    assert_eq!(
        client.get_blob(&blob).unwrap_err().kind(),
        ErrorKind::DigestMismatch
    );
    // The failures were not cached: with honest bytes, the answer comes.
    assert!(client.get_manifest(&by_tag).unwrap().is_some());
}

#[test]
fn writes_resend_their_bodies_on_retry() {
    let Some(Proxied { registry, proxy }) = proxied() else {
        return;
    };
    let (_config, client) = client();
    let repository = reference(&format!("{}/test/push", proxy.host()));
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    let config_digest = Digest::sha256_of(config);
    proxy.inject(Match::new("PUT", "/blobs/uploads/"), Fault::status(503), 1);
    proxy.inject(Match::new("POST", "/blobs/uploads/"), Fault::status(502), 1);
    client
        .upload_blob(&repository, &config_digest, Arc::from(&config[..]))
        .unwrap();
    assert_eq!(
        support::fetch_blob(&registry.url(), "test/push", config_digest.as_str()).as_deref(),
        Some(&config[..])
    );
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest.to_string(), "size": config.len()},
        "layers": [],
    })
    .to_string();
    proxy.inject(Match::new("PUT", "/manifests/"), Fault::status(500), 2);
    let tag = repository.with_tag("pushed").unwrap();
    let digest = client
        .put_manifest(
            &tag,
            "application/vnd.oci.image.manifest.v1+json",
            Arc::from(manifest.as_bytes()),
        )
        .unwrap();
    assert_eq!(digest, Digest::sha256_of(manifest.as_bytes()));
    let (content_type, stored) =
        support::fetch_manifest(&registry.url(), "test/push", "pushed").unwrap();
    assert_eq!(content_type, "application/vnd.oci.image.manifest.v1+json");
    assert_eq!(stored, manifest.as_bytes());
    // What we pushed is known: reading it back sends nothing.
    let before = proxy.count();
    assert!(client.head_manifest(&tag).unwrap().is_some());
    assert!(client.get_manifest(&tag).unwrap().is_some());
    assert_eq!(proxy.count(), before);
    let stats = client.stats();
    assert_eq!((stats.post, stats.put), (2, 5), "{stats}");
    assert_eq!(stats.retries, 4);
}

#[test]
fn mounts_answer_mounted_or_an_upload_session() {
    let Some((registry, image)) =
        fixture::registry_with_image(RegistryAuth::None, "test/source", "v1")
    else {
        return;
    };
    let (_config, client) = client();
    let host = registry.host();
    let destination = reference(&format!("{host}/test/destination"));
    let source = reference(&format!("{host}/test/source"));
    let layer: Digest = image.manifests[0].layer_digest.parse().unwrap();
    match client.mount_blob(&destination, &layer, &source).unwrap() {
        doi::registry::MountOutcome::Mounted => {}
        other => panic!("expected a mount, got {other:?}"),
    }
    assert!(support::fetch_blob(&registry.url(), "test/destination", layer.as_str()).is_some());
    // A blob the source lacks: 202 with a session, which we can finish.
    let bytes = b"not in the source".to_vec();
    let digest = Digest::sha256_of(&bytes);
    match client.mount_blob(&destination, &digest, &source).unwrap() {
        doi::registry::MountOutcome::UploadRequired(session) => {
            client
                .finish_upload(
                    session,
                    &digest,
                    doi::registry::RequestBody::Bytes(Arc::from(bytes.clone())),
                )
                .unwrap();
        }
        other => panic!("expected an upload session, got {other:?}"),
    }
    assert_eq!(
        support::fetch_blob(&registry.url(), "test/destination", digest.as_str()),
        Some(bytes)
    );
    assert_eq!(client.stats().mount, 2);
}

#[test]
fn blobs_stream_with_verification_and_copy_between_repositories() {
    let Some(registry) = fixture::registry(RegistryAuth::None) else {
        return;
    };
    let big: Vec<u8> = (0..5 * 1024 * 1024u32)
        .map(|index| (index % 251) as u8)
        .collect();
    let digest = support::seed_blob(&registry.url(), "test/big", &big);
    let (_config, client) = client();
    let host = registry.host();
    let source = reference(&format!("{host}/test/big@{digest}"));
    let (descriptor, mut reader) = client.open_blob(&source).unwrap().unwrap();
    assert_eq!(descriptor.size, big.len() as u64);
    let mut read = Vec::new();
    std::io::Read::read_to_end(&mut reader, &mut read).unwrap();
    assert_eq!(read, big);
    // Streamed copy into another repository, reading the source again.
    let destination = reference(&format!("{host}/test/copy"));
    let digest: Digest = digest.parse().unwrap();
    client
        .upload_blob_stream(
            &destination,
            &digest,
            client.blob_source(&source, big.len() as u64),
        )
        .unwrap();
    assert_eq!(
        support::fetch_blob(&registry.url(), "test/copy", digest.as_str()).map(|bytes| bytes.len()),
        Some(big.len())
    );
    // A blob over 4 MiB is read whole but only its descriptor is kept.
    let whole = client.get_blob(&source).unwrap().unwrap();
    assert_eq!(whole.bytes.len(), big.len());
    assert!(client.known_bytes(&source, ObjectType::Blob).is_none());
    let before = client.stats();
    assert!(client.head_blob(&source).unwrap().is_some());
    assert_eq!(client.stats(), before);
}

#[test]
fn a_streamed_blob_with_other_bytes_fails_at_the_end() {
    let Some(Proxied { registry, proxy }) = proxied() else {
        return;
    };
    let bytes = vec![7u8; 100_000];
    let digest = support::seed_blob(&registry.url(), "test/stream", &bytes);
    proxy.inject(Match::new("GET", "/blobs/"), Fault::WrongBytes, 1);
    let (_config, client) = client();
    let source = reference(&format!("{}/test/stream@{digest}", proxy.host()));
    let (_, mut reader) = client.open_blob(&source).unwrap().unwrap();
    let mut read = Vec::new();
    let error = std::io::Read::read_to_end(&mut reader, &mut read).unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
    assert!(
        error.to_string().contains("the registry sent other bytes"),
        "{error}"
    );
}

#[test]
fn docker_hub_reads_go_to_the_public_proxy() {
    let Some(Proxied { registry, proxy }) = proxied() else {
        return;
    };
    let image = support::seed_image(&registry.url(), "library/busybox", "latest");
    support::seed_image(&registry.url(), "tianon/true", "oci");
    let (_config, client) = client_with(|config| config.docker_hub_proxy = Some(proxy.url()));
    for (name, short) in [
        ("busybox:latest", "busybox:latest"),
        ("docker.io/library/busybox:latest", "busybox:latest"),
        ("index.docker.io/busybox:latest", "busybox:latest"),
        ("tianon/true:oci", "tianon/true:oci"),
    ] {
        let index = client.lookup_index(&reference(name)).unwrap().unwrap();
        let ref_name = index["annotations"]["org.opencontainers.image.ref.name"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            ref_name.starts_with(&format!("{short}@sha256:")),
            "{ref_name}"
        );
    }
    assert_eq!(
        client
            .head_manifest(&reference("busybox"))
            .unwrap()
            .unwrap()
            .digest
            .to_string(),
        image.index_digest
    );
    // Three aliases of one image are one cache entry; `busybox` (latest)
    // was answered by the by-tag GET; tianon/true is a second image.
    assert_eq!(proxy.count(), 2, "{}", proxy.log());
    assert!(proxy
        .requests()
        .iter()
        .any(|(_, path)| path == "/v2/library/busybox/manifests/latest"));
}

#[test]
fn many_parallel_lookups_of_distinct_tags_send_one_request_each() {
    let Some(Proxied { registry, proxy }) = proxied() else {
        return;
    };
    let url = registry.url();
    let index = support::seed_image(&url, "test/many", "base");
    for number in 0..50 {
        index.tag_again(&url, &format!("tag{number}"));
    }
    let (_config, client) = client();
    let references: Vec<Reference> = (0..50)
        .map(|number| reference(&format!("{}/test/many:tag{number}", proxy.host())))
        .collect();
    std::thread::scope(|scope| {
        for chunk in references.chunks(7) {
            let client = client.clone();
            scope.spawn(move || {
                for reference in chunk {
                    assert!(client.head_manifest(reference).unwrap().is_some());
                    assert!(client.head_manifest(reference).unwrap().is_some());
                }
            });
        }
    });
    assert_eq!(proxy.count(), 50);
    assert_eq!(client.stats().head, 50);
}

#[test]
fn forbidden_and_unauthorized_answers_read_as_not_found() {
    let Some(Proxied { registry, proxy }) = proxied() else {
        return;
    };
    support::seed_image(&registry.url(), "test/denied", "v1");
    let (_config, client) = client();
    // Docker Hub answers these for repositories that do not exist.
    proxy.inject(Match::new("GET", "/manifests/"), Fault::status(403), 1);
    proxy.inject(Match::new("HEAD", "/manifests/"), Fault::status(401), 1);
    let tag = reference(&format!("{}/test/denied:v1", proxy.host()));
    assert!(client.lookup_index(&tag).unwrap().is_none());
    let other = reference(&format!("{}/test/denied:v2", proxy.host()));
    assert!(client.head_manifest(&other).unwrap().is_none());
    // Neither was retried: they are answers, not failures.
    assert_eq!(proxy.count(), 2, "{}", proxy.log());
}

#[test]
fn a_head_during_a_get_of_the_same_object_waits_for_it() {
    let Some(Proxied { registry, proxy }) = proxied() else {
        return;
    };
    support::seed_image(&registry.url(), "test/overlap", "v1");
    proxy.inject(
        Match::new("GET", "/manifests/v1"),
        Fault::Slow(Duration::from_millis(500)),
        1,
    );
    let (_config, client) = client();
    let tag = reference(&format!("{}/test/overlap:v1", proxy.host()));
    let getter = {
        let (client, tag) = (client.clone(), tag.clone());
        std::thread::spawn(move || client.get_manifest(&tag).unwrap().unwrap())
    };
    while proxy.count() == 0 {
        std::thread::sleep(Duration::from_millis(5));
    }
    let head = client.head_manifest(&tag).unwrap().unwrap();
    let object = getter.join().unwrap();
    assert_eq!(head, object.descriptor);
    assert_eq!(proxy.count(), 1, "{}", proxy.log());
}

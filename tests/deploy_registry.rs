//! `deploy` against the real registry, counted and faulted by the proxy:
//! the request economy from scratch and on a re-run, failures that skip
//! dependants, convergence under 429/5xx/resets/slow answers (with a re-run
//! finishing what a run could not, and no tag ever pointing at an
//! incomplete index), copies across registries, a mount the source cannot
//! serve, and Ctrl-C.

use crate::deploy_library;
use crate::support;
use crate::support::bin;

use std::process::{Command, Output};
use std::time::Duration;

use deploy_library::Library;
use doi::spec::media_type::OCI_MANIFEST;
use serde_json::{json, Value};
use support::fixture::{self, DockerConfig, Proxied};
use support::{Fault, FaultProxy, Match, Registry, RegistryAuth, RequestRecord};

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Requests seen by the proxy, by kind.
#[derive(Debug, Default, PartialEq, Eq)]
struct Counts {
    manifest_head: usize,
    manifest_get: usize,
    manifest_put: usize,
    blob_head: usize,
    blob_get: usize,
    mount: usize,
    upload_post: usize,
    upload_put: usize,
    other: usize,
}

fn count(records: &[RequestRecord]) -> Counts {
    let mut counts = Counts::default();
    for record in records {
        let path = record.path.as_str();
        let slot = match (record.method.as_str(), path) {
            ("HEAD", path) if path.contains("/manifests/") => &mut counts.manifest_head,
            ("GET", path) if path.contains("/manifests/") => &mut counts.manifest_get,
            ("PUT", path) if path.contains("/manifests/") => &mut counts.manifest_put,
            ("HEAD", path) if path.contains("/blobs/sha") => &mut counts.blob_head,
            ("GET", path) if path.contains("/blobs/sha") => &mut counts.blob_get,
            ("POST", path) if path.contains("mount=") => &mut counts.mount,
            ("POST", path) if path.contains("/blobs/uploads/") => &mut counts.upload_post,
            ("PUT", path) if path.contains("/blobs/uploads/") => &mut counts.upload_put,
            _ => &mut counts.other,
        };
        *slot += 1;
    }
    counts
}

fn repository_and_tag<'a>(library: &Library, tag: &'a str) -> (&'a str, &'a str) {
    let without_host = tag
        .strip_prefix(&format!("{}/", library.host))
        .unwrap_or(tag);
    without_host.rsplit_once(':').unwrap_or((without_host, ""))
}

/// The invariant of every state: a tag that exists points at an index
/// whose children (and their blobs) are all present in that repository.
fn assert_no_incomplete_index(registry: &Registry, library: &Library) {
    for tag in library.tags(true) {
        let (repository, tag_name) = repository_and_tag(library, &tag);
        let Some((_, bytes)) = registry.fetch_manifest(repository, tag_name) else {
            continue;
        };
        let index: Value = serde_json::from_slice(&bytes).expect("index JSON");
        for child in index["manifests"].as_array().expect("manifests") {
            let digest = child["digest"].as_str().expect("digest");
            let (_, child_bytes) = registry
                .fetch_manifest(repository, digest)
                .unwrap_or_else(|| panic!("{tag} points at an index missing child {digest}"));
            let manifest: Value = serde_json::from_slice(&child_bytes).expect("manifest JSON");
            let blobs = std::iter::once(&manifest["config"])
                .chain(manifest["layers"].as_array().into_iter().flatten());
            for blob in blobs {
                let blob_digest = blob["digest"].as_str().expect("blob digest");
                assert!(
                    registry.fetch_blob(repository, blob_digest).is_some(),
                    "{tag}: child {digest} lacks blob {blob_digest}"
                );
            }
        }
    }
}

fn assert_all_tags_pushed(registry: &Registry, library: &Library, objects: &[Value]) {
    for object in objects {
        let expected = planned_bytes(&object["data"]);
        for reference in object["refs"].as_array().expect("refs") {
            let tag = reference.as_str().expect("ref");
            let (repository, tag_name) = repository_and_tag(library, tag);
            let (_, bytes) = registry
                .fetch_manifest(repository, tag_name)
                .unwrap_or_else(|| panic!("{tag} was not pushed"));
            assert_eq!(bytes, expected, "{tag}");
        }
    }
}

/// What `deploy` pushes for JSON data: `jq --tab` plus a newline.
fn planned_bytes(data: &Value) -> Vec<u8> {
    let mut bytes = doi::jq::print::serde_to_vec(data, &doi::jq::print::PrintOptions::tab());
    bytes.push(b'\n');
    bytes
}

/// A registry seeded with the small library, a counting fault proxy in
/// front of it (the library's refs name the proxy), and the library's
/// deploy objects with arch tags; `None` when the tools are missing.
fn library_behind_proxy() -> Option<(Registry, FaultProxy, deploy_library::Library, Vec<Value>)> {
    let Proxied { registry, proxy } = Proxied::start(RegistryAuth::None)?;
    let library = deploy_library::seed(
        &registry.url(),
        &proxy.host(),
        &deploy_library::small_spec(),
    );
    let objects = library.deploy_objects(true);
    Some((registry, proxy, library, objects))
}

#[test]
fn from_scratch_one_head_and_put_per_tag_then_one_head_per_tag() {
    let Some((registry, proxy, library, objects)) = library_behind_proxy() else {
        return;
    };
    let tags = library.tags(true).len();
    proxy.reset_counts();

    let output = bin::deploy().run(&["--jobs", "4"], deploy_library::stream(&objects));
    assert!(output.status.success(), "{}", stderr(&output));
    let counts = count(&proxy.records());
    // Children: every build contributes an image and an attestation, each
    // with two blobs, copied into the shared and the per-arch repository.
    let builds = library.builds.len();
    let child_copies = builds * 2 * 2;
    assert_eq!(counts.manifest_head, tags, "{counts:?}");
    // An index is retried once in each repository its tags are in.
    let index_placements: usize = objects
        .iter()
        .map(|object| {
            let mut repositories: Vec<&str> = object["refs"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|reference| reference.as_str())
                .map(|reference| repository_and_tag(&library, reference).0)
                .collect();
            repositories.sort_unstable();
            repositories.dedup();
            repositories.len()
        })
        .sum();
    assert_eq!(
        counts.manifest_put,
        tags + index_placements + child_copies,
        "one PUT per tag, one retried PUT per index, one PUT per child copy: {counts:?}"
    );
    assert_eq!(
        counts.manifest_get,
        builds * 2,
        "each source manifest read once per run: {counts:?}"
    );
    assert_eq!(counts.mount, child_copies * 2, "{counts:?}");
    assert_eq!(
        (
            counts.blob_head,
            counts.blob_get,
            counts.upload_post,
            counts.upload_put,
            counts.other
        ),
        (0, 0, 0, 0, 0),
        "{counts:?}"
    );
    assert_all_tags_pushed(&registry, &library, &objects);
    assert_no_incomplete_index(&registry, &library);

    proxy.reset_counts();
    let again = bin::deploy().run(&["--parallel"], deploy_library::stream(&objects));
    let log = stderr(&again);
    assert!(again.status.success(), "{log}");
    let counts = count(&proxy.records());
    assert_eq!(
        counts,
        Counts {
            manifest_head: tags,
            ..Counts::default()
        },
        "a re-run is exactly one HEAD per tag"
    );
    assert!(
        log.contains(&format!(
            "deploy summary: 0 pushed, {tags} already there, 0 failed"
        )),
        "{log}"
    );
}

#[test]
fn a_failure_skips_its_dependants_and_independent_objects_finish() {
    let Some(Proxied { registry, proxy }) = Proxied::start(RegistryAuth::None) else {
        return;
    };
    let host = proxy.host();
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    let config_digest = support::sha256_digest(config);
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(config);
    let input = format!(
        "{}\n{}\n{}\n",
        json!({"type": "blob", "refs": [format!("{host}/broken")], "data": encoded}),
        json!({"type": "manifest", "refs": [format!("{host}/broken:1")], "data": {
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
            "layers": []}}),
        json!({"type": "blob", "refs": [format!("{host}/fine")], "data": "aW5kZXBlbmRlbnQK"}),
    );
    // Every upload into `broken` is refused.
    proxy.inject(
        Match::new("POST", "/v2/broken/blobs/uploads/"),
        Fault::status(403),
        100,
    );
    let output = bin::deploy().run(&["--parallel"], &input);
    let log = stderr(&output);
    assert!(!output.status.success(), "{log}");
    assert!(
        log.contains(
            "deploy summary: 1 pushed, 0 already there, 1 failed, 1 skipped because of a failure"
        ),
        "{log}"
    );
    assert!(
        log.contains(&format!("FAILED {host}/broken@{config_digest}: POST")),
        "{log}"
    );
    assert!(log.contains(&format!("skipped {host}/broken:1@")), "{log}");
    assert!(
        registry.tags("broken").is_empty(),
        "the dependant must not be pushed"
    );
    assert!(registry
        .fetch_blob("fine", &support::sha256_digest(b"independent\n"))
        .is_some());

    proxy.clear_faults();
    let again = bin::deploy().run(&["--parallel"], &input);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(registry.tags("broken"), vec!["1".to_string()]);
}

#[test]
fn converges_under_rate_limits_server_errors_resets_and_slow_answers() {
    let Some((registry, proxy, library, objects)) = library_behind_proxy() else {
        return;
    };
    let input = deploy_library::stream(&objects);

    proxy.inject(
        Match::method("HEAD"),
        Fault::Slow(Duration::from_millis(300)),
        4,
    );
    proxy.inject(
        Match::new("PUT", "/manifests/"),
        Fault::too_many_requests(Some(1)),
        3,
    );
    proxy.inject(
        Match::new("PUT", "/manifests/"),
        Fault::too_many_requests(None),
        2,
    );
    proxy.inject(Match::new("POST", "mount="), Fault::status(503), 2);
    proxy.inject(Match::new("GET", "/manifests/"), Fault::ResetMidBody, 2);
    proxy.inject(
        Match::new("PUT", "/manifests/sha256:"),
        Fault::status(502),
        2,
    );
    proxy.inject(Match::new("HEAD", "/manifests/"), Fault::status(504), 2);

    let mut runs = 0;
    loop {
        runs += 1;
        let output = bin::deploy().run(&["--jobs", "4"], &input);
        assert_no_incomplete_index(&registry, &library);
        if output.status.success() {
            break;
        }
        let log = stderr(&output);
        assert!(
            log.contains("deploy summary:"),
            "a failed run still summarizes: {log}"
        );
        assert!(runs < 3, "no convergence after {runs} runs: {log}");
    }
    assert_eq!(proxy.pending_faults(), 0, "every fault was exercised");
    assert_all_tags_pushed(&registry, &library, &objects);
}

#[test]
fn a_run_failing_under_a_persistent_outage_is_completed_by_a_re_run() {
    let Some((registry, proxy, library, objects)) = library_behind_proxy() else {
        return;
    };
    let input = deploy_library::stream(&objects);
    // Child copies into library/greet fail for good (3 tries each), so its
    // index PUT is never retried and no greet tag may appear.
    proxy.inject(
        Match::new("PUT", "/v2/library/greet/manifests/sha256:"),
        Fault::status(500),
        1000,
    );
    let output = bin::deploy().run(&["--parallel"], &input);
    let log = stderr(&output);
    assert!(!output.status.success(), "{log}");
    assert!(log.contains("deploy summary:"), "{log}");
    assert!(log.contains("failed: "), "{log}");
    assert!(log.contains("500 Internal Server Error"), "{log}");
    assert!(registry.tags("library/greet").is_empty(), "{log}");
    assert!(
        !registry.tags("library/hello").is_empty(),
        "independent objects finish"
    );
    assert_no_incomplete_index(&registry, &library);

    proxy.clear_faults();
    let again = bin::deploy().run(&["--parallel"], &input);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_all_tags_pushed(&registry, &library, &objects);
    assert_no_incomplete_index(&registry, &library);
}

#[test]
fn copies_across_registries_stream_blobs_with_a_head_for_big_ones() {
    if !support::require_registry() || !support::require_tools(&["skopeo"]) {
        return;
    }
    let source = Registry::start(RegistryAuth::None);
    let destination = Registry::start(RegistryAuth::None);
    let proxy = FaultProxy::start(&destination.host());
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#
            .to_vec();
    let layer: Vec<u8> = (0..100 * 1024).map(|index| (index % 251) as u8).collect();
    let config_digest = source.seed_blob("staging", &config);
    let layer_digest = source.seed_blob("staging", &layer);
    // Over the client's 4 MiB cache: streamed from the source to the upload.
    let huge: Vec<u8> = (0..5 * 1024 * 1024)
        .map(|index| (index % 239) as u8)
        .collect();
    let huge_digest = source.seed_blob("staging", &huge);
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": [
            {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": layer.len()},
            {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": huge_digest, "size": huge.len()},
        ],
    }))
    .expect("manifest");
    let manifest_digest = source.seed_manifest("staging", "built", OCI_MANIFEST, &manifest);
    let input = json!({
        "type": "manifest",
        "refs": [format!("{}/published:1", proxy.host()), format!("{}/published:latest", proxy.host())],
        "lookup": {"": format!("{}/staging@{manifest_digest}", source.host())},
    })
    .to_string();
    let output = bin::deploy().run(&[], &input);
    assert!(output.status.success(), "{}", stderr(&output));
    let counts = count(&proxy.records());
    assert_eq!(
        counts,
        Counts {
            manifest_head: 2,
            manifest_put: 3,
            blob_head: 2,
            upload_post: 3,
            upload_put: 3,
            ..Counts::default()
        },
        "HEAD+PUT per tag, one retried PUT, small blob uploaded blind, big ones after a HEAD"
    );
    assert_eq!(
        destination.fetch_blob("published", &layer_digest),
        Some(layer)
    );
    assert_eq!(
        destination.fetch_blob("published", &huge_digest),
        Some(huge)
    );
    let inspected =
        support::skopeo::inspect_raw(&format!("{}/published:latest", destination.host()), None);
    assert_eq!(inspected, manifest);
}

#[test]
fn a_mount_the_source_cannot_serve_fails_clearly() {
    let Some(registry) = fixture::registry(RegistryAuth::None) else {
        return;
    };
    let host = registry.host();
    let missing = support::sha256_digest(b"never pushed\n");
    let input = json!({
        "type": "blob",
        "refs": [format!("{host}/destination")],
        "lookup": {"": format!("{host}/empty@{missing}")},
    })
    .to_string();
    let output = bin::deploy().run(&[], &input);
    let log = stderr(&output);
    assert!(!output.status.success(), "{log}");
    assert!(
        log.contains(&format!(
            "FAILED {host}/destination@{missing}: blob {host}/empty@{missing} not found at its source"
        )),
        "{log}"
    );
}

#[test]
fn ctrl_c_starts_nothing_new_and_still_prints_the_summary() {
    if !support::require_tools(&["kill"]) {
        return;
    }
    // The registry must outlive the run: bound, not dropped.
    let Some(Proxied {
        registry: _registry,
        proxy,
    }) = Proxied::start(RegistryAuth::None)
    else {
        return;
    };
    let host = proxy.host();
    proxy.inject(Match::any(), Fault::Slow(Duration::from_millis(400)), 1000);
    let input: String = (0..20)
        .map(|index| {
            format!(
                "{}\n",
                json!({"type": "blob", "refs": [format!("{host}/many")], "data": base64_of(format!("blob {index}\n").as_bytes())})
            )
        })
        .collect();
    let (child, _config) = bin::deploy().stdin(&input).spawn();
    std::thread::sleep(Duration::from_millis(1500));
    let signal = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(signal.success());
    let output = child.wait_with_output().expect("deploy output");
    let log = stderr(&output);
    assert!(!output.status.success(), "{log}");
    assert!(log.contains("interrupted"), "{log}");
    assert!(log.contains("not started (interrupted)"), "{log}");
    assert!(log.contains("deploy summary:"), "{log}");
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
/// Issue 14: a re-run uploaded the small blob again and said "1 pushed".
fn blobs_from_data_are_headed_first_so_a_re_run_pushes_nothing() {
    let Some(Proxied { registry, proxy }) = Proxied::start(RegistryAuth::None) else {
        return;
    };
    let host = proxy.host();
    let big: Vec<u8> = (0..70 * 1024).map(|index| (index % 253) as u8).collect();
    let input = format!(
        "{}\n{}\n",
        json!({"type": "blob", "refs": [format!("{host}/blobs")], "data": base64_of(b"small\n")}),
        json!({"type": "blob", "refs": [format!("{host}/blobs")], "data": base64_of(&big)}),
    );
    let first = bin::deploy().run(&[], &input);
    assert!(first.status.success(), "{}", stderr(&first));
    assert_eq!(
        count(&proxy.records()),
        Counts {
            blob_head: 2,
            upload_post: 2,
            upload_put: 2,
            ..Counts::default()
        },
        "a HEAD each, then POST and PUT (docker-registry takes no single-POST upload)"
    );
    proxy.reset_counts();
    let again = bin::deploy().run(&[], &input);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(
        count(&proxy.records()),
        Counts {
            blob_head: 2,
            ..Counts::default()
        },
        "one HEAD per ref, nothing uploaded"
    );
    assert!(
        stderr(&again).contains("0 pushed, 2 already there"),
        "{}",
        stderr(&again)
    );
    assert_eq!(
        registry.fetch_blob("blobs", &support::sha256_digest(&big)),
        Some(big)
    );
}

#[test]
fn token_auth_registry_deploys_with_mounts_and_a_re_run_only_heads() {
    let Some(registry) = fixture::registry(RegistryAuth::Token) else {
        return;
    };
    let host = registry.host();
    let library = deploy_library::seed(
        &registry.authenticated_url(),
        &host,
        &deploy_library::small_spec(),
    );
    let objects = library.deploy_objects(true);
    let input = deploy_library::stream(&objects);
    let (user, password) = registry.credentials().expect("token credentials");
    let docker_config = DockerConfig::new().auth(&host, user, password);
    let run = || {
        bin::deploy()
            .arg("--parallel")
            .docker_config(docker_config.path())
            .stdin(&input)
            .output()
    };
    let first = run();
    let log = stderr(&first);
    assert!(first.status.success(), "{log}");
    assert!(
        !log.contains(password),
        "credentials never appear in output"
    );
    assert_all_tags_pushed(&registry, &library, &objects);
    assert_no_incomplete_index(&registry, &library);
    let again = run();
    let log = stderr(&again);
    assert!(again.status.success(), "{log}");
    assert!(
        log.contains(&format!(
            "deploy summary: 0 pushed, {} already there",
            library.tags(true).len()
        )),
        "{log}"
    );
}

#[test]
fn a_manifest_copied_from_a_tag_is_resolved_when_read_and_dry_runs_agree() {
    let Some(Proxied { registry, proxy }) = Proxied::start(RegistryAuth::None) else {
        return;
    };
    let host = proxy.host();
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#
            .to_vec();
    let config_digest = registry.seed_blob("staging", &config);
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": [],
    }))
    .expect("manifest");
    registry.seed_manifest("staging", "built", OCI_MANIFEST, &manifest);
    let input = json!({
        "type": "manifest",
        "refs": [format!("{host}/published:1")],
        "lookup": {"": format!("{host}/staging:built")},
    })
    .to_string();
    let dry = bin::deploy().run(&["--dry-run"], &input);
    assert!(dry.status.success(), "{}", stderr(&dry));
    assert_eq!(
        String::from_utf8_lossy(&dry.stdout),
        format!(
            "{{\n\t\"type\": \"manifest\",\n\t\"refs\": [\n\t\t\"{host}/published:1\"\n\t],\n\t\"lookup\": {{\n\t\t\"\": \"{host}/staging:built\"\n\t}},\n\t\"copyFrom\": \"{host}/staging:built\"\n}}\n"
        )
    );
    assert!(
        proxy.records().iter().all(|record| record.method == "HEAD"),
        "a dry run only HEADs: {:?}",
        proxy.records()
    );
    let output = bin::deploy().run(&[], &input);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        registry
            .fetch_manifest("published", "1")
            .map(|(_, bytes)| bytes),
        Some(manifest)
    );
    let again = bin::deploy().run(&["--dry-run"], &input);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(String::from_utf8_lossy(&again.stdout), "");
}

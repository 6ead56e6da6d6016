//! `deploy`'s promises of issues 9 and 14 against the real registry,
//! counted by the fault proxy:
//!
//! - nothing is pushed that is not exactly the data: `data` that jq would
//!   print as something else (nested past its depth limit, numbers it
//!   prints as others, strings that are not UTF-8) is refused before any
//!   request, and the registry stays empty;
//! - a re-run of unchanged input costs exactly one request per ref, blobs
//!   included, and pushes nothing; the first run costs at most one request
//!   more per small blob than before (its HEAD);
//! - a registry that takes single-POST uploads gets one request per
//!   missing blob.

use crate::support;
use crate::support::fixture::{self, Proxied};

use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Value};
use support::bounded::run_bounded;
use support::scripted::{owned, Reply, ScriptedServer};
use support::{Registry, RegistryAuth, RequestRecord};

const DEADLINE: Duration = Duration::from_secs(120);

fn deploy(input: &str) -> support::bounded::Finished {
    run_bounded(
        env!("CARGO_BIN_EXE_deploy"),
        &[],
        input.as_bytes(),
        &[],
        DEADLINE,
    )
}

fn base64_of(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn stream(objects: &[Value]) -> String {
    objects.iter().map(|object| format!("{object}\n")).collect()
}

/// The repositories the registry holds.
fn catalog(registry: &Registry) -> Vec<Value> {
    let answer = support::request("GET", &format!("{}/v2/_catalog", registry.url()), &[], b"")
        .expect("catalog");
    let value: Value = serde_json::from_slice(&answer.body).expect("catalog JSON");
    value["repositories"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn data_that_would_not_print_as_itself_is_refused_and_nothing_is_pushed() {
    let Some(Proxied { registry, proxy }) = Proxied::start(RegistryAuth::None) else {
        return;
    };
    let host = proxy.host();
    // Before the fix this manifest was pushed with `<skipped: too deep>` in
    // its annotation, its digest that of the corrupt bytes.
    let mut deep = json!("bottom");
    for _ in 0..300 {
        deep = json!([deep]);
    }
    let index = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [],
        "annotations": {"deep": deep},
    });
    let mut input = stream(&[
        json!({"type": "blob", "refs": [format!("{host}/test/fine")], "data": base64_of(b"fine\n")}),
        json!({"type": "manifest", "refs": [format!("{host}/test/deep:v1")], "data": index}),
    ]);
    // serde_json cannot hold these two; they go in as text.
    input.push_str(&format!(
        "{{\"type\":\"blob\",\"refs\":[\"{host}/test/huge\"],\"data\":{{\"n\":1e1000000000}}}}\n"
    ));
    let mut bytes = input.into_bytes();
    bytes.extend_from_slice(
        format!("{{\"type\":\"blob\",\"refs\":[\"{host}/test/bytes\"],\"data\":{{\"s\":\"")
            .as_bytes(),
    );
    bytes.push(0xff);
    bytes.extend_from_slice(b"\"}}\n");
    let run = run_bounded(env!("CARGO_BIN_EXE_deploy"), &[], &bytes, &[], DEADLINE);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    let stderr = run.stderr();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines,
        vec![
            format!("deploy: error: deploy object 2 ({host}/test/deep:v1): data: nested too deep: a value at depth 302, and jq prints values down to depth 256 only (it writes <skipped: too deep> below), so the pushed bytes would not be the data; nothing was pushed"),
            format!("deploy: error: deploy object 3 ({host}/test/huge): data: at .n: the number 1e1000000000 would be printed as 1.7976931348623157e+308, so the pushed bytes would not be the data; nothing was pushed"),
            format!("deploy: error: deploy object 4 ({host}/test/bytes): data: at .s: a string that is not UTF-8 would be printed with U+FFFD in it, so the pushed bytes would not be the data; nothing was pushed"),
            "deploy: error: 3 invalid deploy object(s); nothing was pushed".to_string(),
        ]
    );
    assert_eq!(proxy.count(), 0, "not one request: {}", proxy.log());
    assert!(catalog(&registry).is_empty(), "{:?}", catalog(&registry));
}

/// How many requests of each kind (`manifest HEAD`, `single POST`, ...)
/// the proxy saw, kinds in name order.
fn tally(records: &[RequestRecord]) -> Vec<(&'static str, usize)> {
    let mut tally: std::collections::BTreeMap<&'static str, usize> = Default::default();
    for record in records {
        let path = record.path.as_str();
        let kind = match record.method.as_str() {
            "HEAD" if path.contains("/manifests/") => "manifest HEAD",
            "PUT" if path.contains("/manifests/") => "manifest PUT",
            "HEAD" if path.contains("/blobs/sha256:") => "blob HEAD",
            "POST" if path.contains("/blobs/uploads/?digest=") => "single POST",
            "POST" if path.contains("/blobs/uploads/") => "upload POST",
            "PUT" if path.contains("/blobs/uploads/") => "upload PUT",
            _ => "other",
        };
        *tally.entry(kind).or_default() += 1;
    }
    tally.into_iter().collect()
}

/// An image from data: config and layer blobs (small), its manifest by
/// digest, an index tagged twice; 5 refs.
fn small_image(host: &str) -> Vec<Value> {
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    let layer = b"a small layer\n";
    let digest = |bytes: &[u8]| support::sha256_digest(bytes);
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(config), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest(layer), "size": layer.len()}],
    });
    let mut manifest_bytes =
        doi::jq::print::serde_to_vec(&manifest, &doi::jq::print::PrintOptions::tab());
    manifest_bytes.push(b'\n');
    let index = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest(&manifest_bytes), "size": manifest_bytes.len(), "platform": {"architecture": "amd64", "os": "linux"}}],
    });
    vec![
        json!({"type": "blob", "refs": [format!("{host}/test/image")], "data": base64_of(config)}),
        json!({"type": "blob", "refs": [format!("{host}/test/image")], "data": base64_of(layer)}),
        json!({"type": "manifest", "refs": [format!("{host}/test/image")], "data": manifest}),
        json!({"type": "manifest", "refs": [format!("{host}/test/image:v1"), format!("{host}/test/image:latest")], "data": index}),
    ]
}

/// Issue 14: re-deploying unchanged input said "5 pushed, 25 already
/// there": blobs from data were uploaded again without a look first.
#[test]
fn a_re_run_of_unchanged_input_is_one_request_per_ref_and_pushes_nothing() {
    let Some(Proxied { registry, proxy }) = Proxied::start(RegistryAuth::None) else {
        return;
    };
    let input = stream(&small_image(&proxy.host()));
    let first = deploy(&input);
    assert_eq!(first.code(), 0, "{}", first.stderr());
    assert_eq!(
        tally(&proxy.records()),
        vec![
            ("blob HEAD", 2),
            ("manifest HEAD", 3),
            ("manifest PUT", 3),
            ("single POST", 1),
            ("upload POST", 1),
            ("upload PUT", 2),
        ],
        "one HEAD more per small blob than before; docker-registry answers the \
         single POST with a session, so the second upload sends an empty one: {}",
        proxy.log()
    );
    assert!(
        first.stderr().contains("5 pushed, 0 already there"),
        "{}",
        first.stderr()
    );
    proxy.reset_counts();
    let again = deploy(&input);
    assert_eq!(again.code(), 0, "{}", again.stderr());
    assert_eq!(
        tally(&proxy.records()),
        vec![("blob HEAD", 2), ("manifest HEAD", 3)],
        "exactly one request per ref: {}",
        proxy.log()
    );
    assert!(
        again.stderr().contains("0 pushed, 5 already there"),
        "{}",
        again.stderr()
    );
    // What we pushed is what an independent client reads.
    let stored = registry
        .fetch_manifest("test/image", "v1")
        .map(|(_, bytes)| bytes);
    assert!(stored.is_some());
    if support::require_tools(&["skopeo"]) {
        assert_eq!(Some(registry.skopeo_inspect_raw("test/image:v1")), stored);
    }
}

/// A registry that takes the spec's single-POST upload (ours: it stores the
/// POSTed bytes in the real registry behind it, then answers 201) gets one
/// request per missing blob, after its HEAD.
#[test]
fn a_registry_taking_single_post_uploads_gets_one_request_per_blob() {
    let Some(registry) = fixture::registry(RegistryAuth::None) else {
        return;
    };
    let front = ScriptedServer::start({
        let upstream = registry.url();
        let upstream_host = registry.host();
        move |seen| {
            let Some((path, digest)) = seen.target.split_once("/blobs/uploads/?digest=") else {
                return Reply::forward(&upstream_host);
            };
            if seen.method != "POST" || seen.body.is_empty() {
                return Reply::forward(&upstream_host);
            }
            let repository = path.trim_start_matches("/v2/");
            support::seed_blob(&upstream, repository, &seen.body);
            Reply::Answer {
                status: 201,
                headers: owned(&[
                    ("Location", &format!("/v2/{repository}/blobs/{digest}")),
                    ("Docker-Content-Digest", digest),
                ]),
                body: Vec::new(),
            }
        }
    });
    let host = front.host();
    let blobs: [&[u8]; 2] = [b"one\n", b"two\n"];
    let objects: Vec<Value> = blobs
        .iter()
        .map(|bytes| json!({"type": "blob", "refs": [format!("{host}/test/single")], "data": base64_of(bytes)}))
        .collect();
    let run = deploy(&stream(&objects));
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let requests: Vec<String> = front
        .seen()
        .iter()
        .map(|seen| {
            format!(
                "{} {}",
                seen.method,
                seen.target.split('?').next().unwrap_or_default()
            )
        })
        .collect();
    let digests: Vec<String> = blobs
        .iter()
        .map(|bytes| support::sha256_digest(bytes))
        .collect();
    assert_eq!(
        requests,
        vec![
            format!("HEAD /v2/test/single/blobs/{}", digests[0]),
            "POST /v2/test/single/blobs/uploads/".to_string(),
            format!("HEAD /v2/test/single/blobs/{}", digests[1]),
            "POST /v2/test/single/blobs/uploads/".to_string(),
        ],
        "{}",
        front.log()
    );
    for (bytes, digest) in blobs.iter().zip(&digests) {
        assert_eq!(
            registry.fetch_blob("test/single", digest).as_deref(),
            Some(*bytes)
        );
    }
}

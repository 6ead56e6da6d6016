//! `deploy` against the real registry with the reference tool's own test
//! input: the objects of `deploy-dry-run-test.in.json` that need no outside
//! registry (raw, JSON and JSON-string blobs; a config and a layer blob; one
//! image manifest to 24 tags across two repositories; a blob mounted into a
//! third repository).
//!
//! Proves: `--dry-run` against an empty registry prints exactly the
//! reference's entries 1-30; a real deploy pushes them; a second `--dry-run`
//! prints nothing; skopeo reads every tag back byte for byte and can copy
//! the image.

use crate::support;
use crate::support::bin;

use std::path::Path;

use support::{Registry, RegistryAuth};

/// The objects that need only the target registry, and the expected
/// entries they produce (README of the conformance folder).
const LOCAL_OBJECTS: usize = 7;
const LOCAL_ENTRIES: usize = 30;

fn conformance(name: &str) -> Option<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/conformance/meta-scripts")
        .join(name);
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(_) => {
            eprintln!("SKIPPED: {} is absent", path.display());
            None
        }
    }
}

/// Splits `jq --tab` output (a stream of objects) into the text of each.
fn split_stream(text: &str) -> Vec<String> {
    let mut objects: Vec<String> = Vec::new();
    for line in text.split_inclusive('\n') {
        if line.starts_with('{') || objects.is_empty() {
            objects.push(String::new());
        }
        if let Some(last) = objects.last_mut() {
            last.push_str(line);
        }
    }
    objects
}

#[test]
fn dry_run_deploy_dry_run_and_skopeo_agree_with_the_reference() {
    if !support::require_registry() || !support::require_tools(&["skopeo"]) {
        return;
    }
    let (Some(input), Some(expected)) = (
        conformance("deploy-dry-run-test.in.json"),
        conformance("deploy-dry-run-test.json"),
    ) else {
        return;
    };
    let registry = Registry::start(RegistryAuth::None);
    let host = registry.host();
    let input: String = split_stream(&input)[..LOCAL_OBJECTS]
        .concat()
        .replace("localhost:3000", &host);
    let expected: String = split_stream(&expected)[..LOCAL_ENTRIES]
        .concat()
        .replace("localhost:3000", &host);

    let first = bin::deploy().run(&["--dry-run"], input.as_bytes());
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&first.stdout), expected);
    assert!(
        registry.tags("true").is_empty(),
        "a dry run must write nothing"
    );

    let pushed = bin::deploy().run(&["--parallel"], input.as_bytes());
    let log = String::from_utf8_lossy(&pushed.stderr);
    assert!(pushed.status.success(), "{log}");
    assert!(
        log.contains("deploy summary: 30 pushed, 0 already there, 0 failed"),
        "{log}"
    );

    let second = bin::deploy().run(&["--dry-run"], input.as_bytes());
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&second.stdout), "");

    // Every manifest tag reads back byte for byte (entries 6-29).
    for entry in split_stream(&expected).iter().skip(5).take(24) {
        let value: serde_json::Value = serde_json::from_str(entry).expect("entry is JSON");
        let reference = value["refs"][0].as_str().expect("ref");
        let tagged = reference.split('@').next().expect("tag part");
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(value["data"].as_str().expect("data"))
            .expect("base64");
        assert_eq!(
            support::skopeo::inspect_raw(tagged, None),
            bytes,
            "{tagged}"
        );
    }
    // The mounted blob is in its new repository.
    assert_eq!(
        registry.fetch_blob(
            "test-mount",
            "sha256:1a51828d59323e0e02522c45652b6a7a44a032b464b06d574f067d2358b0e9f1"
        ),
        Some(b"buffy the vampire slayer\n".to_vec())
    );
    let directory = tempfile::tempdir().expect("temp dir");
    support::skopeo::copy_to_directory(&format!("{host}/foo/true:oci"), directory.path(), false);
}

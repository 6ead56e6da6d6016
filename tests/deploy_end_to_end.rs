//! End to end: a small library of real images seeded into staging
//! repositories, its builds metadata (`testdata/deploy/builds.json`, host
//! `localhost:3000` rewritten to the test registry), `deploy` of the whole
//! plan into the same registry, every tag checked with skopeo, then a
//! re-run that sends exactly one HEAD per tag and writes nothing.
//!
//! `DOI_WRITE_TESTDATA=1` rewrites the builds metadata from the library
//! generator (the test otherwise proves the checked-in file still matches
//! it).

use crate::deploy_library;
use crate::support;
use crate::support::bin;

use std::path::PathBuf;

use deploy_library::PLACEHOLDER_HOST;
use serde_json::Value;
use support::{FaultProxy, Registry, RegistryAuth};

fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/deploy/builds.json")
}

/// Builds metadata as `jq --tab` prints it, with the placeholder host.
fn metadata_text(library: &deploy_library::Library) -> String {
    let mut bytes = doi::jq::print::serde_to_vec(
        &library.builds_metadata(),
        &doi::jq::print::PrintOptions::tab(),
    );
    bytes.push(b'\n');
    String::from_utf8_lossy(&bytes).replace(&library.host, PLACEHOLDER_HOST)
}

/// The plan's objects, parsed (a stream of `jq --tab` objects).
fn plan_objects(plan: &[u8]) -> Vec<Value> {
    serde_json::Deserializer::from_slice(plan)
        .into_iter::<Value>()
        .map(|value| value.expect("plan object"))
        .collect()
}

#[test]
fn the_whole_plan_of_a_seeded_library_deploys_and_a_re_run_only_heads() {
    if !support::require_registry() || !support::require_tools(&["skopeo"]) {
        return;
    }
    let registry = Registry::start(RegistryAuth::None);
    let proxy = FaultProxy::start(&registry.host());
    let host = proxy.host();
    let library = deploy_library::seed(&registry.url(), &host, &deploy_library::small_spec());

    let generated = metadata_text(&library);
    if std::env::var_os("DOI_WRITE_TESTDATA").is_some() {
        std::fs::write(testdata(), &generated).expect("write testdata");
    }
    let checked_in = std::fs::read_to_string(testdata()).expect("testdata/deploy/builds.json");
    assert_eq!(
        checked_in, generated,
        "testdata/deploy/builds.json is stale (DOI_WRITE_TESTDATA=1 rewrites it)"
    );
    let builds = checked_in.replace(PLACEHOLDER_HOST, &host);

    let planned = bin::deploy().run(&["--plan"], builds.as_bytes());
    assert!(
        planned.status.success(),
        "{}",
        String::from_utf8_lossy(&planned.stderr)
    );
    let objects = plan_objects(&planned.stdout);
    let tags: Vec<String> = objects
        .iter()
        .flat_map(|object| object["refs"].as_array().cloned().unwrap_or_default())
        .filter_map(|reference| reference.as_str().map(str::to_string))
        .collect();
    assert_eq!(tags.len(), library.tags(true).len(), "every tag is planned");

    proxy.reset_counts();
    let pushed = bin::deploy().run(&["--parallel"], builds.as_bytes());
    let log = String::from_utf8_lossy(&pushed.stderr);
    assert!(pushed.status.success(), "{log}");
    assert!(
        log.contains(&format!(
            "deploy summary: {} pushed, 0 already there, 0 failed",
            tags.len()
        )),
        "{log}"
    );

    for object in &objects {
        let mut expected =
            doi::jq::print::serde_to_vec(&object["data"], &doi::jq::print::PrintOptions::tab());
        expected.push(b'\n');
        for reference in object["refs"].as_array().into_iter().flatten() {
            let tag = reference.as_str().expect("ref");
            // skopeo talks to the registry itself, not through the proxy.
            let direct = tag.replace(&host, &registry.host());
            assert_eq!(
                support::skopeo::inspect_raw(&direct, None),
                expected,
                "{tag}"
            );
        }
    }
    // One tag is copied out in full: every child and blob is really there.
    let directory = tempfile::tempdir().expect("temp dir");
    let first = tags[0].replace(&host, &registry.host());
    support::skopeo::copy_to_directory(&first, directory.path(), true);

    proxy.reset_counts();
    let again = bin::deploy().run(&["--parallel"], builds.as_bytes());
    let log = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success(), "{log}");
    let records = proxy.records();
    assert_eq!(
        records.len(),
        tags.len(),
        "one request per tag: {records:?}"
    );
    assert!(
        records
            .iter()
            .all(|record| record.method == "HEAD" && record.path.contains("/manifests/")),
        "only manifest HEADs: {records:?}"
    );
    assert!(
        log.contains(&format!(
            "deploy summary: 0 pushed, {} already there",
            tags.len()
        )),
        "{log}"
    );
}

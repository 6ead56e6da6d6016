//! The `builds` command line: the conformance proof and every bad input.

use crate::support::bin;

use std::path::{Path, PathBuf};
use std::process::Output;

use doi::builds::TEMPLATE_VARIABLE;

const CONFORMANCE: &str = "../shared/conformance/meta-scripts";
const TEMPLATE: &str = "oisupport/staging-ARCH:BUILD";

fn conformance() -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(CONFORMANCE);
    if path.is_dir() {
        Some(path)
    } else {
        println!("SKIP: {CONFORMANCE} is absent (conformance data lives outside the crate)");
        None
    }
}

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/builds")
        .join(name)
}

/// `builds ARGUMENTS`, with the staging template set when given.
fn builds(template: Option<&str>, arguments: &[&std::ffi::OsStr]) -> Output {
    let mut run = bin::builds().args(arguments);
    if let Some(template) = template {
        run = run.env(TEMPLATE_VARIABLE, template);
    }
    run.output()
}

/// Asserts a failure with exactly one line on stderr containing `expected`.
fn assert_error(output: &Output, expected: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "should fail: {stderr}");
    assert!(output.stdout.is_empty(), "nothing on stdout on error");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr:?}");
    assert!(stderr.starts_with("builds: error: "), "{stderr:?}");
    assert!(stderr.contains(expected), "{stderr:?} lacks {expected:?}");
}

/// The conformance run: `builds [--offline] --cache CACHE sources.json` of
/// the conformance data, CACHE a copy of its cache file `cache_name` (in a
/// directory that lives as long as the returned handle).
struct ConformanceRun {
    _directory: tempfile::TempDir,
    cache: PathBuf,
    arguments: Vec<std::ffi::OsString>,
}

impl ConformanceRun {
    fn new(data: &Path, cache_name: &str, offline: bool) -> Self {
        let directory = tempfile::tempdir().unwrap();
        let cache = directory.path().join("cache.json");
        std::fs::copy(data.join(cache_name), &cache).unwrap();
        let mut arguments: Vec<std::ffi::OsString> = Vec::new();
        if offline {
            arguments.push("--offline".into());
        }
        arguments.push("--cache".into());
        arguments.push(cache.clone().into());
        arguments.push(data.join("sources.json").into());
        Self {
            _directory: directory,
            cache,
            arguments,
        }
    }

    fn run(&self) -> Output {
        let arguments: Vec<&std::ffi::OsStr> =
            self.arguments.iter().map(|a| a.as_os_str()).collect();
        builds(Some(TEMPLATE), &arguments)
    }
}

/// The central proof of issue 6: with the offline cache, `builds` prints
/// `builds.json` byte for byte, and rewrites the cache to exactly what the
/// reference wrote (`cache-builds.json`: the by-tag parent lookup dropped).
/// With `--offline` nothing can have moved, so every entry is kept (issue
/// 14: the reference's rewrite made the same offline command fail next).
#[test]
fn conformance_builds_json_byte_for_byte_from_the_offline_cache() {
    let Some(data) = conformance() else { return };
    for offline in [false, true] {
        let run = ConformanceRun::new(&data, "cache-builds-offline.json", offline);
        let cache = &run.cache;
        let output = run.run();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            output.stderr.is_empty(),
            "no notes: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let expected = std::fs::read(data.join("builds.json")).unwrap();
        assert!(
            output.stdout == expected,
            "stdout differs from builds.json (offline: {offline})"
        );
        let rewritten = std::fs::read(cache).unwrap();
        let expected_cache = match offline {
            false => "cache-builds.json",
            true => "cache-builds-offline.json",
        };
        assert!(
            rewritten == std::fs::read(data.join(expected_cache)).unwrap(),
            "rewritten cache differs from {expected_cache}"
        );
        if offline {
            let again = run.run();
            assert!(
                again.status.success() && again.stdout == expected,
                "the same offline command works again: {}",
                String::from_utf8_lossy(&again.stderr)
            );
        }
    }
}

/// The rewritten cache no longer holds the by-tag parent, so a run that may
/// not ask a registry fails, naming what is missing and who needed it.
#[test]
fn conformance_rewritten_cache_lacks_the_by_tag_parent() {
    let Some(data) = conformance() else { return };
    let run = ConformanceRun::new(&data, "cache-builds.json", true);
    let cache = &run.cache;
    let output = run.run();
    assert_error(&output, "parent \"golang:1.19-alpine3.16\": golang:1.19-alpine3.16 is not in the cache and no registry may be asked (--offline)");
    let after = std::fs::read(cache).unwrap();
    assert!(
        after == std::fs::read(data.join("cache-builds.json")).unwrap(),
        "a failed run writes nothing"
    );
}

#[test]
fn a_missing_cache_file_is_created() {
    let directory = tempfile::tempdir().unwrap();
    let cache = directory.path().join("new-cache.json");
    let sources = directory.path().join("sources.json");
    std::fs::write(
        &sources,
        r#"{"s": {"sourceId": "s", "arches": {"amd64": {"parents": {"scratch": {}}}}}}"#,
    )
    .unwrap();
    let output = builds(
        Some(TEMPLATE),
        &[
            "--offline".as_ref(),
            "--cache".as_ref(),
            cache.as_os_str(),
            sources.as_os_str(),
        ],
    );
    // The staging image is not in the (empty) cache and no registry may be asked.
    assert_error(
        &output,
        "source \"s\" arch \"amd64\" staging image: oisupport/staging-amd64:",
    );
    assert!(!cache.exists(), "a failed run creates nothing");
    let equals_form = format!("--cache={}", cache.display());
    std::fs::write(&sources, r#"{}"#).unwrap();
    let output = builds(
        Some(TEMPLATE),
        &[
            "--offline".as_ref(),
            equals_form.as_ref(),
            sources.as_os_str(),
        ],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.stdout, b"{}\n");
    assert_eq!(
        std::fs::read_to_string(&cache).unwrap(),
        "{\n\t\"indexes\": {}\n}\n"
    );
}

/// Holds down issue 14: `builds /nonexistent.json` complained about the
/// environment before the file the user named.
#[test]
fn arguments_are_checked_before_the_environment() {
    let directory = tempfile::tempdir().unwrap();
    let missing = directory.path().join("nonexistent.json");
    assert_error(&builds(None, &[missing.as_os_str()]), "cannot read");
    let cache = directory.path().join("cache.json");
    std::fs::write(&cache, "[]").unwrap();
    let sources = directory.path().join("sources.json");
    std::fs::write(&sources, "{}").unwrap();
    assert_error(
        &builds(
            None,
            &["--cache".as_ref(), cache.as_os_str(), missing.as_os_str()],
        ),
        "nonexistent.json",
    );
    assert_error(
        &builds(
            None,
            &["--cache".as_ref(), cache.as_os_str(), sources.as_os_str()],
        ),
        "is corrupt",
    );
}

#[test]
fn help_says_what_the_cache_keeps() {
    let output = builds(None, &["--help".as_ref()]);
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for expected in [
        "images by digest and the staging images",
        "not parents by tag",
        "With --offline it keeps every entry it had",
    ] {
        assert!(help.contains(expected), "{help}");
    }
}

#[test]
fn template_must_be_set_and_contain_build() {
    let sources = testdata("unknown-parent.json");
    assert_error(
        &builds(None, &[sources.as_os_str()]),
        "BASHBREW_STAGING_TEMPLATE is not set",
    );
    assert_error(
        &builds(
            Some("oisupport/staging-ARCH:latest"),
            &[sources.as_os_str()],
        ),
        "BASHBREW_STAGING_TEMPLATE \"oisupport/staging-ARCH:latest\" does not contain BUILD",
    );
}

#[test]
fn unknown_parent_source_id_is_an_error() {
    let sources = testdata("unknown-parent.json");
    assert_error(
        &builds(Some(TEMPLATE), &["--offline".as_ref(), sources.as_os_str()]),
        "source \"child\" arch \"amd64\" parent \"example:parent\": field \"sourceId\": unknown parent sourceId \"not-in-this-file\"",
    );
}

#[test]
fn malformed_sources_are_errors() {
    let sources = testdata("wrong-parents.json");
    assert_error(
        &builds(Some(TEMPLATE), &[sources.as_os_str()]),
        "wrong-parents.json: source \"child\" arch \"amd64\": field \"parents\": expected an object, found an array",
    );
    let directory = tempfile::tempdir().unwrap();
    let not_json = directory.path().join("sources.json");
    std::fs::write(&not_json, "{\"a\": ").unwrap();
    assert_error(
        &builds(Some(TEMPLATE), &[not_json.as_os_str()]),
        "sources.json: not JSON: EOF while parsing",
    );
    let missing = directory.path().join("absent.json");
    assert_error(
        &builds(Some(TEMPLATE), &[missing.as_os_str()]),
        "cannot read",
    );
}

#[test]
fn a_corrupt_cache_is_an_error_and_left_untouched() {
    let directory = tempfile::tempdir().unwrap();
    let cache = directory.path().join("cache.json");
    let corrupt = b"{\"indexes\": {\"alpine:3\": [\"not an index\"]}}".to_vec();
    std::fs::write(&cache, &corrupt).unwrap();
    let sources = directory.path().join("sources.json");
    std::fs::write(&sources, "{}").unwrap();
    assert_error(
        &builds(Some(TEMPLATE), &["--cache".as_ref(), cache.as_os_str(), sources.as_os_str()]),
        "is corrupt (indexes[\"alpine:3\"] is not an image index with a \"manifests\" array); it was left untouched",
    );
    assert_eq!(std::fs::read(&cache).unwrap(), corrupt);
    std::fs::write(&cache, b"\x00garbage").unwrap();
    assert_error(
        &builds(
            Some(TEMPLATE),
            &["--cache".as_ref(), cache.as_os_str(), sources.as_os_str()],
        ),
        "is corrupt (not JSON",
    );
    assert_eq!(std::fs::read(&cache).unwrap(), b"\x00garbage");
}

/// The proof's second half: the plan of our builds output (`deploy --plan`,
/// a stream of objects) is `deploy-all.out.json` (the same objects printed as
/// one array).
#[test]
fn conformance_plan_of_our_builds_equals_deploy_all() {
    let Some(data) = conformance() else { return };
    let output = ConformanceRun::new(&data, "cache-builds-offline.json", true).run();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let planned = bin::deploy().run(&["--plan"], &output.stdout);
    assert!(
        planned.status.success(),
        "{}",
        String::from_utf8_lossy(&planned.stderr)
    );
    let objects: Vec<serde_json::Value> = serde_json::Deserializer::from_slice(&planned.stdout)
        .into_iter()
        .collect::<Result<_, _>>()
        .expect("deploy --plan prints a stream of JSON objects");
    let mut as_array = doi::jq::print::serde_to_vec(
        &serde_json::Value::Array(objects),
        &doi::jq::print::PrintOptions::tab(),
    );
    as_array.push(b'\n');
    let expected = std::fs::read(data.join("deploy-all.out.json")).unwrap();
    assert!(
        as_array == expected,
        "the plan differs from deploy-all.out.json"
    );
}

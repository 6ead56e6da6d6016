//! The `lookup` binary: output shapes byte for byte against
//! `../shared/conformance/meta-scripts/lookup-test.json`, for the content of
//! that file we can recreate in a local registry (the `tianon/true:oci`
//! image, whose every byte the file holds, and one config blob of
//! `tianon/test`), served as Docker Hub through `DOCKERHUB_PUBLIC_PROXY`.

use crate::support;
use crate::support::bin::{self, BinaryRun};

use std::io::Read as _;

use base64::Engine as _;
use doi::jq::print::{serde_to_vec, PrintOptions};
use serde_json::Value;
use support::{Registry, RegistryAuth};

const LOOKUP_TEST: &str = "../shared/conformance/meta-scripts/lookup-test.json";

fn conformance_cases() -> Option<Vec<(Vec<String>, Value)>> {
    let Ok(text) = std::fs::read_to_string(LOOKUP_TEST) else {
        eprintln!("SKIP: {LOOKUP_TEST} is absent");
        return None;
    };
    let cases: Vec<(Vec<String>, Value)> =
        serde_json::from_str(&text).expect("lookup-test.json is a list of [arguments, result]");
    Some(cases)
}

fn base64_decode(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("base64 in lookup-test.json")
}

/// `lookup` with `registry` serving as Docker Hub.
fn lookup_through(registry: &Registry) -> BinaryRun {
    bin::lookup().env("DOCKERHUB_PUBLIC_PROXY", registry.url())
}

/// Recreates, in `registry`, the objects of lookup-test.json whose bytes
/// the file holds.
fn seed_recreatable(registry: &Registry, cases: &[(Vec<String>, Value)]) {
    let url = registry.url();
    let find = |arguments: &[&str]| -> &Value {
        &cases
            .iter()
            .find(|(case_arguments, _)| {
                case_arguments
                    .iter()
                    .map(String::as_str)
                    .eq(arguments.iter().copied())
            })
            .unwrap_or_else(|| panic!("lookup-test.json has no case {arguments:?}"))
            .1
    };
    // tianon/test's config blob.
    let blob = find(&[
        "--type blob",
        "tianon/test@sha256:d2c94e258dcb3c5ac2798d32e1249e42ef01cba4841c2234249495f87264ac5a",
    ]);
    support::seed_blob(
        &url,
        "tianon/test",
        &base64_decode(blob.as_str().expect("base64 string")),
    );
    // tianon/true:oci: its manifest holds its config and layer as `data`;
    // the manifest bytes are what jq --tab prints for it, plus a newline.
    let manifest = find(&[
        "--type manifest",
        "tianon/true:oci@sha256:9ef42f1d602fb423fad935aac1caa0cfdbce1ad7edce64d080a4eb7b13f7cd9d",
    ]);
    let config = base64_decode(manifest["config"]["data"].as_str().expect("config data"));
    support::seed_blob(&url, "tianon/true", &config);
    let layer = base64_decode(manifest["layers"][0]["data"].as_str().expect("layer data"));
    support::seed_blob(&url, "tianon/true", &layer);
    let mut bytes = serde_to_vec(manifest, &PrintOptions::tab());
    bytes.push(b'\n');
    let digest = support::seed_manifest(
        &url,
        "tianon/true",
        "oci",
        "application/vnd.oci.image.manifest.v1+json",
        &bytes,
    );
    assert_eq!(
        digest,
        "sha256:9ef42f1d602fb423fad935aac1caa0cfdbce1ad7edce64d080a4eb7b13f7cd9d"
    );
}

/// Splits lookup-test.json's argument lists (`"--type manifest"` is one
/// word there) into what a shell would pass.
fn shell_words(arguments: &[String]) -> Vec<String> {
    arguments
        .iter()
        .flat_map(|argument| argument.split(' ').map(str::to_string).collect::<Vec<_>>())
        .collect()
}

fn expected_output(results: &[&Value]) -> Vec<u8> {
    let mut expected = Vec::new();
    for result in results {
        expected.extend(serde_to_vec(result, &PrintOptions::tab()));
        expected.push(b'\n');
    }
    expected
}

/// Every case of lookup-test.json that only needs recreatable content, in
/// the file's order, in one process (so `data` appears in a `--head`
/// answer exactly when an earlier case read those bytes).
fn recreatable_cases(cases: &[(Vec<String>, Value)]) -> Vec<(Vec<String>, Value)> {
    cases
        .iter()
        .filter(|(arguments, _)| {
            let reference = arguments.last().map(String::as_str).unwrap_or_default();
            reference.starts_with("tianon/true")
                || reference
                    .contains("d2c94e258dcb3c5ac2798d32e1249e42ef01cba4841c2234249495f87264ac5a")
                || reference.contains(&"0".repeat(64))
                || reference.contains("never-ever-exist")
        })
        .map(|(arguments, result)| {
            // `$RANDOM` is the shell's; any name that does not exist will do.
            let arguments = arguments
                .iter()
                .map(|argument| argument.replace("$RANDOM", "4242"))
                .collect();
            (arguments, result.clone())
        })
        .collect()
}

#[test]
fn output_matches_lookup_test_json_for_recreatable_content() {
    let Some(cases) = conformance_cases() else {
        return;
    };
    if !support::require_registry() {
        return;
    }
    let registry = Registry::start(RegistryAuth::None);
    seed_recreatable(&registry, &cases);
    let selected = recreatable_cases(&cases);
    assert_eq!(
        selected.len(),
        10,
        "cases picked: {:?}",
        selected.iter().map(|case| &case.0).collect::<Vec<_>>()
    );
    for parallel in [false, true] {
        let mut command = lookup_through(&registry);
        if parallel {
            command = command.arg("--parallel");
        }
        for (arguments, _) in &selected {
            command = command.args(shell_words(arguments));
        }
        let output = command.output();
        assert!(
            output.status.success(),
            "lookup failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let results: Vec<&Value> = selected.iter().map(|(_, result)| result).collect();
        if parallel {
            // Concurrent lookups decide differently whether bytes were read
            // "before" a HEAD; compare without `data` in HEAD answers.
            let strip = |value: &Value| {
                let mut value = value.clone();
                if let Some(object) = value.as_object_mut() {
                    if !object.contains_key("schemaVersion") {
                        object.remove("data");
                    }
                }
                value
            };
            let printed: Vec<Value> = serde_json::Deserializer::from_slice(&output.stdout)
                .into_iter::<Value>()
                .map(|value| strip(&value.expect("JSON output")))
                .collect();
            let wanted: Vec<Value> = results.iter().map(|value| strip(value)).collect();
            assert_eq!(printed, wanted);
        } else {
            let expected = expected_output(&results);
            assert_eq!(
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&expected)
            );
        }
    }
}

#[test]
fn parallel_output_keeps_argument_order_and_sends_one_request_per_ref() {
    if !support::require_registry() {
        return;
    }
    let registry = Registry::start(RegistryAuth::None);
    let url = registry.url();
    let image = support::seed_image(&url, "test/order", "base");
    let mut arguments = vec!["--parallel".to_string()];
    let mut expected_digests = Vec::new();
    for number in 0..40 {
        let tag = format!("t{number}");
        if number % 3 == 0 {
            // Every third tag is missing: `null` in its place.
            expected_digests.push(None);
        } else {
            support::seed_manifest(
                &url,
                "test/order",
                &tag,
                "application/vnd.oci.image.index.v1+json",
                &image.index_bytes,
            );
            expected_digests.push(Some(image.index_digest.clone()));
        }
        arguments.push("--head".into());
        arguments.push(format!("{}/test/order:{tag}", registry.host()));
    }
    let output = lookup_through(&registry)
        .args(&arguments)
        .env("LOOKUP_STATS", "1")
        .output();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed: Vec<Option<String>> = serde_json::Deserializer::from_slice(&output.stdout)
        .into_iter::<Value>()
        .map(|value| {
            value
                .expect("JSON output")
                .get("digest")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect();
    assert_eq!(printed, expected_digests);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("lookup: 40 requests (HEAD 40,"), "{stderr}");
}

#[test]
fn bad_arguments_exit_2_with_one_line_and_errors_exit_1() {
    let output = bin::lookup().run(&["--type", "config", "busybox"], b"");
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "lookup: error: --type: expected manifest or blob, got \"config\"\n"
    );
    // A registry that is not there: a connection error, exit 1, and the
    // other references are still answered.
    let closed_port = support::free_port();
    let output = bin::lookup()
        .arg(format!("127.0.0.1:{closed_port}/nothing:here"))
        .output();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with(&format!(
            "lookup: error: 127.0.0.1:{closed_port}/nothing:here: GET http://127.0.0.1:{closed_port}/v2/nothing/manifests/here: "
        )),
        "{stderr}"
    );
}

#[test]
fn a_closed_output_pipe_ends_quietly_with_success() {
    if !support::require_registry() {
        return;
    }
    let registry = Registry::start(RegistryAuth::None);
    support::seed_image(&registry.url(), "test/pipe", "v1");
    let reference = format!("{}/test/pipe:v1", registry.host());
    let (mut child, _config) = lookup_through(&registry)
        .args(std::iter::repeat_n(&reference, 2000))
        .spawn();
    let mut stdout = child.stdout.take().expect("stdout");
    let mut first = [0u8; 16];
    stdout.read_exact(&mut first).expect("some output");
    drop(stdout);
    let status = child.wait().expect("wait");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(status.success(), "{status:?}: {stderr}");
    assert_eq!(stderr, "");
}

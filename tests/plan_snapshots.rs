//! Plans of our own varied builds inputs (`testdata/builds/plan/`, written
//! by its `generate.py`), pinned as insta snapshots of the exact
//! `deploy --plan` stdout, and checked byte for byte against the system jq
//! running the same modules when it is installed.
//!
//! The conformance files cover one real snapshot of builds; these inputs
//! cover what it lacks or has little of: Windows tags over several
//! os.version values, Docker v2 manifest lists, attestations listed before
//! their subjects, unresolved builds, another architecture's manifest in a
//! build's index, two builds claiming one tag, unicode and control
//! characters, numbers beyond 2^53, and an empty input.
//!
//! Snapshots compare with trailing newlines trimmed (insta's rule), so every
//! output is also checked to end in exactly one newline; the jq comparison
//! is byte-exact.

use crate::plan_util;

use crate::support::bin;
use plan_util::{crate_root, success, ALL_TAGS_STREAM_FILTER};
use std::process::Command;

/// What jq 1.6 prints differently from jq 1.7 for our inputs: it parses
/// every number into a double, so integers beyond 2^53 come out rounded
/// (printed with 17 significant digits), where jq 1.7 prints an unchanged
/// literal as written. Each pair is (what we and jq 1.7 print, what jq 1.6
/// prints).
const JQ_1_6_ROUNDING: &[(&str, &str)] = &[
    ("9007199254740993", "9007199254740992"),
    (
        "123456789012345678901234567890",
        "123456789012345680000000000000",
    ),
    ("18446744073709551616", "18446744073709552000"),
];

fn input(file: &str) -> Vec<u8> {
    let path = crate_root().join("testdata/builds/plan").join(file);
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// The system jq's version (`jq-1.6`), or `None` when there is none.
fn system_jq() -> Option<String> {
    let output = Command::new("jq").arg("--version").output().ok()?;
    if !output.status.success() {
        return None;
    }
    let version = String::from_utf8_lossy(&output.stdout).trim().to_string();
    // jq 1.6 prints its version on stdout, some builds on stderr.
    if version.is_empty() {
        Some(String::from_utf8_lossy(&output.stderr).trim().to_string())
    } else {
        Some(version)
    }
}

/// The same plan computed by the system jq with our modules (the filter of
/// `deploy --plan`, or of `--arch ARCH`).
fn jq_plan(file: &str, arch: Option<&str>) -> String {
    let path = crate_root().join("testdata/builds/plan").join(file);
    let filters = crate_root().join("filters");
    let mut command = Command::new("jq");
    command.arg("--tab").arg("-L").arg(&filters);
    match arch {
        Some(arch) => command.args(["--arg", "arch", arch, doi::deploy::plan::ONE_ARCH_FILTER]),
        None => command.arg(ALL_TAGS_STREAM_FILTER),
    };
    let output = command.arg(&path).output().expect("jq runs");
    success("jq", &output)
}

/// Plans `file` (all tags, then each of `arches`), snapshots each plan as
/// `NAME-all` / `NAME-ARCH`, and compares each with the system jq's.
fn check(name: &str, file: &str, arches: &[&str]) {
    let builds = input(file);
    let jq_version = system_jq();
    if jq_version.is_none() {
        println!("SKIPPED the jq comparison: no jq on PATH");
    }
    let mut runs: Vec<Option<&str>> = vec![None];
    runs.extend(arches.iter().copied().map(Some));
    for arch in runs {
        let mut arguments = vec!["--plan"];
        if let Some(arch) = arch {
            arguments.extend(["--arch", arch]);
        }
        let command = format!(
            "deploy {} < testdata/builds/plan/{file}",
            arguments.join(" ")
        );
        let planned = success(&command, &bin::deploy().run(&arguments, &builds));
        assert!(
            planned.is_empty() || (planned.ends_with("}\n") && !planned.ends_with("\n\n")),
            "{command}: the stream must end with one newline"
        );
        let mut settings = insta::Settings::clone_current();
        settings.set_description(command.clone());
        settings.set_omit_expression(true);
        let snapshot = format!("{name}-{}", arch.unwrap_or("all"));
        settings.bind(|| insta::assert_snapshot!(snapshot, planned));

        if let Some(version) = &jq_version {
            let mut ours = planned.clone();
            if version == "jq-1.6" {
                for (exact, rounded) in JQ_1_6_ROUNDING {
                    ours = ours.replace(exact, rounded);
                }
            }
            let theirs = jq_plan(file, arch);
            eqnice!(
                theirs,
                ours,
                format!("{command} and {version} (big integers rounded as jq 1.6 does)")
            );
        }
    }
}

#[test]
fn windows_os_versions() {
    check("windows", "windows.json", &["amd64", "windows-amd64"]);
}

#[test]
fn docker_v2_manifest_lists() {
    check("dockerv2", "dockerv2.json", &["amd64", "arm64v8"]);
}

#[test]
fn attestations_follow_their_subjects() {
    check("attestations", "attestations.json", &["amd64", "riscv64"]);
}

#[test]
fn unresolved_builds_publish_nothing() {
    check("unresolved", "unresolved.json", &["amd64", "arm64v8"]);
}

#[test]
fn other_architectures_do_not_bleed_into_tags() {
    check("other-arch", "other-arch.json", &["amd64", "arm64v8"]);
}

#[test]
fn two_builds_claiming_one_tag() {
    check("shared-tag", "shared-tag.json", &["amd64", "arm64v8"]);
}

#[test]
fn unicode_and_control_characters() {
    check("unicode", "unicode.json", &["amd64"]);
}

#[test]
fn big_sizes_keep_their_digits() {
    check("big-sizes", "big-sizes.json", &["amd64", "arm64v8"]);
    let planned = success(
        "deploy --plan",
        &bin::deploy().run(&["--plan"], input("big-sizes.json")),
    );
    for (exact, _) in JQ_1_6_ROUNDING {
        assert!(
            planned.contains(&format!("\"size\": {exact},\n")),
            "{exact} is printed as written"
        );
    }
}

#[test]
fn empty_builds_plan_nothing() {
    check("empty", "empty.json", &["amd64"]);
}

/// Asserts `deploy ARGUMENTS` refuses `stdin` with one line on stderr that
/// contains each of `expected`, and prints nothing on stdout.
fn assert_refused(arguments: &[&str], stdin: &str, expected: &[&str]) {
    let output = bin::deploy().run(arguments, stdin.as_bytes());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "accepted {stdin}: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(output.stdout.is_empty(), "printed something for {stdin}");
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "one line of error for {stdin}: {stderr}"
    );
    assert!(stderr.ends_with('\n'), "{stderr:?}");
    for fragment in expected {
        assert!(
            stderr.contains(fragment),
            "the error for {stdin} names {fragment:?}: {stderr}"
        );
    }
}

/// A build as builds metadata has it, with `FIELD` spliced in; the id is
/// the map key and `.buildId`.
fn one_build(build_fields: &str, descriptor: &str) -> String {
    format!(
        r#"{{"b0c4": {{"buildId": "b0c4", "build": {{"img": "example/staging-amd64:b0c4", {build_fields}"resolved": {{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [{descriptor}]}}, "sourceId": "5ce1"}}, "source": {{"sourceId": "5ce1", "arches": {{"amd64": {{"tags": ["x:1"], "archTags": ["amd64/x:1"]}}}}}}}}}}"#
    )
}

const GOOD_DESCRIPTOR: &str = r#"{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:0000000000000000000000000000000000000000000000000000000000000001", "size": 1234, "annotations": {"com.docker.official-images.bashbrew.arch": "amd64"}, "platform": {"architecture": "amd64", "os": "linux"}}"#;

#[test]
fn the_bad_input_template_is_good_with_an_arch() {
    // Holds the tests below honest: the same build with its arch plans.
    let good = one_build(r#""arch": "amd64", "#, GOOD_DESCRIPTOR);
    let planned = success(
        "deploy --plan",
        &bin::deploy().run(&["--plan"], good.as_bytes()),
    );
    assert!(planned.contains("\"amd64/x:1\""), "{planned}");
}

#[test]
fn non_json_is_refused() {
    assert_refused(&["--plan"], "builds, please", &["not valid JSON"]);
    assert_refused(&["--plan"], r#"{"b0c4": {"buildId": "#, &["not valid JSON"]);
}

#[test]
fn an_array_is_refused() {
    assert_refused(&["--plan"], "[]", &["builds metadata"]);
    assert_refused(&["--plan", "--arch", "amd64"], "[{}]", &["builds metadata"]);
}

#[test]
fn a_build_without_arch_is_refused() {
    let missing = one_build("", GOOD_DESCRIPTOR);
    assert_refused(&["--plan"], &missing, &["\"b0c4\"", ".build.arch"]);
    assert_refused(
        &["--plan", "--arch", "amd64"],
        &missing,
        &["\"b0c4\"", ".build.arch"],
    );
}

#[test]
fn a_size_of_the_wrong_type_is_refused() {
    let text_size = one_build(
        r#""arch": "amd64", "#,
        &GOOD_DESCRIPTOR.replace("\"size\": 1234", "\"size\": \"1234\""),
    );
    assert_refused(
        &["--plan"],
        &text_size,
        &["\"b0c4\"", ".build.resolved.manifests[0].size"],
    );
    let null_size = one_build(
        r#""arch": "amd64", "#,
        &GOOD_DESCRIPTOR.replace("\"size\": 1234", "\"size\": null"),
    );
    assert_refused(
        &["--plan"],
        &null_size,
        &["\"b0c4\"", ".build.resolved.manifests[0].size"],
    );
}

/// Builds metadata written by hand may lack `.buildId` (the planner never
/// reads it); `--plan` must still treat it as builds and name the field.
#[test]
fn a_build_without_build_id_is_still_builds_metadata() {
    let without_id = one_build("", GOOD_DESCRIPTOR).replace(r#""buildId": "b0c4", "#, "");
    assert_refused(&["--plan"], &without_id, &["\"b0c4\"", ".build.arch"]);
}

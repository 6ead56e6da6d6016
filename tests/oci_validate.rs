//! `oci-validate`: the busybox fixtures pass; every rule has a layout
//! broken in exactly that way (edits re-chained upward by
//! `oci_util::Recipe`), refused with its one-line error; and the Rust
//! descriptor rules agree with the jq `oci` module's validators on one
//! corpus (the proof that the rule has one meaning).

use std::path::Path;

use serde_json::{json, Value};

use crate::oci_util::{self, add_blob, assert_valid, refusal, sha256, Recipe};
use doi::jq::{CompileOptions, ModuleSearch, Program};
use doi::spec::media_type::{OCI_INDEX, OCI_LAYER, OCI_LAYER_ZSTD, OCI_MANIFEST};

fn refused_with(recipe: Recipe, expected: &str) -> String {
    let built = recipe.build();
    let line = refusal(built.path());
    assert!(line.contains(expected), "expected {expected:?} in: {line}");
    line
}

#[test]
fn the_busybox_fixtures_are_valid_as_committed() {
    let Some((_, cache)) = oci_util::seeded_fixtures() else {
        return;
    };
    for name in oci_util::FIXTURE_NAMES {
        let layout = tempfile::tempdir().unwrap();
        oci_util::extract_fixture(cache.path(), name, layout.path());
        assert_valid(layout.path());
        let output = oci_util::oci_validate(&[layout.path().to_str().unwrap()]);
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert_eq!(stdout.lines().count(), 5, "{stdout}");
        assert!(
            stdout.starts_with("ok oci-layout: imageLayoutVersion 1.0.0\n"),
            "{stdout}"
        );
        assert!(
            stdout.contains("ok index.json > manifests[0] > layers[0] (sha256:"),
            "{stdout}"
        );
    }
}

#[test]
fn generated_layouts_pass_in_every_valid_variant() {
    assert_valid(Recipe::default().build().path());
    // Blobs as symlinks to files beside index.json, like the fixtures.
    assert_valid(
        Recipe {
            symlinked_blobs: true,
            ..Recipe::default()
        }
        .build()
        .path(),
    );
    // Uncompressed and zstd layers.
    assert_valid(
        Recipe {
            layer_media_type: OCI_LAYER.to_string(),
            compress: |tar| tar.to_vec(),
            ..Recipe::default()
        }
        .build()
        .path(),
    );
    assert_valid(
        Recipe {
            layer_media_type: OCI_LAYER_ZSTD.to_string(),
            compress: |tar| zstd::encode_all(tar, 3).unwrap(),
            ..Recipe::default()
        }
        .build()
        .path(),
    );
}

#[test]
fn a_correct_data_field_is_accepted_and_a_wrong_one_refused() {
    use base64::Engine as _;
    fn encode(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }
    let built = Recipe::default().build();
    let config = built.config.clone();
    let with_data = Recipe::editing(
        |recipe| &mut recipe.manifest,
        move |manifest| manifest["config"]["data"] = json!(encode(&config)),
    );
    assert_valid(with_data.build().path());
    let line = refused_with(
        Recipe::editing(
            |recipe| &mut recipe.manifest,
            |manifest| manifest["config"]["data"] = json!(encode(b"{}")),
        ),
        "data: decodes to 2 bytes, but size is",
    );
    assert!(
        line.contains("index.json > manifests[0] > config (sha256:"),
        "{line}"
    );
    refused_with(
        Recipe::editing(
            |recipe| &mut recipe.manifest,
            |manifest| manifest["config"]["data"] = json!("a"),
        ),
        "config.data: \"a\" (expected descriptor data: base64 (RFC 4648))",
    );
}

#[test]
fn the_error_names_the_file_and_the_descriptor_path() {
    let recipe = Recipe::editing(
        |recipe| &mut recipe.config,
        |config| config["rootfs"]["diff_ids"] = json!([sha256(b"other")]),
    );
    let built = recipe.build();
    let line = refusal(built.path());
    let layer = sha256(&built.layer);
    let expected = format!(
        "oci-validate: error: {}: blobs/sha256/{}: index.json > manifests[0] > layers[0] ({layer}): uncompressed content has digest ",
        built.path().display(),
        &layer[7..],
    );
    assert!(line.starts_with(&expected), "{line}\n{expected}");
    assert!(
        line.ends_with(&format!("but the config's diff_id is {}", sha256(b"other"))),
        "{line}"
    );
}

#[test]
fn oci_layout_file_rules() {
    let built = Recipe::default().build();
    std::fs::write(
        built.path().join("oci-layout"),
        br#"{"imageLayoutVersion":"1.1.0"}"#,
    )
    .unwrap();
    let line = refusal(built.path());
    assert!(
        line.ends_with(
            "oci-layout: imageLayoutVersion: \"1.1.0\" (expected imageLayoutVersion \"1.0.0\")"
        ),
        "{line}"
    );
    std::fs::remove_file(built.path().join("oci-layout")).unwrap();
    assert!(refusal(built.path()).ends_with("oci-layout: missing: no such file in the layout"));
}

#[test]
fn strict_json_duplicate_keys_trailing_bytes_and_utf8() {
    refused_with(
        Recipe {
            manifest_bytes: Box::new(|bytes| {
                let text = String::from_utf8(bytes.clone()).unwrap();
                *bytes = text
                    .replacen(
                        "\"schemaVersion\": 2,",
                        "\"schemaVersion\": 2, \"schemaVersion\": 2,",
                        1,
                    )
                    .into_bytes();
            }),
            ..Recipe::default()
        },
        "not strict JSON: duplicate key \"schemaVersion\"",
    );
    refused_with(
        Recipe::editing(
            |recipe| &mut recipe.config_bytes,
            |bytes| bytes.extend_from_slice(b"{}"),
        ),
        "not strict JSON: trailing characters",
    );
    let line = refused_with(
        Recipe {
            index_bytes: Box::new(|bytes| {
                // A key that is JSON in every way but its encoding.
                let at = bytes.iter().position(|byte| *byte == b'{').unwrap() + 1;
                bytes.splice(at..at, *b"\"\xff\": 1,");
            }),
            ..Recipe::default()
        },
        "not strict JSON: invalid UTF-8",
    );
    crate::support::assert_contains(&line, ": index.json: ");
}

#[test]
fn descriptor_rules_in_index_json() {
    let cases: [(&str, Value, &str); 9] = [
        ("mediaType", json!("nonsense"), "manifests[0].mediaType: \"nonsense\" (expected descriptor mediaType: a media type (RFC 6838 type/subtype))"),
        ("digest", json!("sha256:ABC"), "(expected a sha256 digest: 64 lowercase hexadecimal digits)"),
        ("digest", json!("nodigest"), "(expected an OCI digest (algorithm:encoded))"),
        ("digest", json!(format!("blake3:{}", "a".repeat(64))), "only sha256 and sha512 blobs can be verified"),
        ("size", json!(-1), "manifests[0].size: -1 (expected descriptor size: a non-negative integer)"),
        ("size", json!(1.5), "manifests[0].size: 1.5 (expected descriptor size: a non-negative integer)"),
        ("annotations", json!({"a": 1}), "manifests[0].annotations.a: 1 (expected an annotation value: a string)"),
        ("urls", json!("http://x"), "(expected descriptor urls: an array of strings)"),
        ("platform", json!({"os": "linux"}), "manifests[0].platform.architecture: null (expected platform architecture: a string)"),
    ];
    for (key, value, expected) in cases {
        let line = refused_with(
            Recipe::editing(
                |recipe| &mut recipe.index,
                move |index| index["manifests"][0][key] = value.clone(),
            ),
            expected,
        );
        crate::support::assert_contains(&line, ": index.json: ");
        crate::support::assert_contains(&line, "manifests[0]");
    }
}

#[test]
fn blobs_must_exist_with_their_size_and_digest() {
    let built = Recipe::default().build();
    let layer = sha256(&built.layer);
    let blob = built.path().join("blobs/sha256").join(&layer[7..]);
    let mut bytes = built.layer.clone();
    bytes[20] ^= 0xff;
    std::fs::write(&blob, &bytes).unwrap();
    let line = refusal(built.path());
    crate::support::assert_contains(
        &line,
        &format!("layers[0] ({layer}): content has digest sha256:"),
    );
    bytes.push(0);
    std::fs::write(&blob, &bytes).unwrap();
    assert!(refusal(built.path()).contains("bytes, but the descriptor's size is"));
    std::fs::remove_file(&blob).unwrap();
    assert!(refusal(built.path()).contains("missing: no such file in the layout"));
}

#[test]
fn nested_documents_must_be_what_their_descriptor_says() {
    refused_with(
        Recipe::editing(|recipe| &mut recipe.manifest, |manifest| manifest["mediaType"] = json!(OCI_INDEX)),
        "mediaType: \"application/vnd.oci.image.index.v1+json\" (expected image manifest mediaType: one of [\"application/vnd.oci.image.manifest.v1+json\"])",
    );
    refused_with(
        Recipe::editing(
            |recipe| &mut recipe.manifest,
            |manifest| manifest["artifactType"] = json!("no type"),
        ),
        "artifactType: \"no type\" (expected image manifest artifactType: a media type",
    );
    refused_with(
        Recipe::editing(
            |recipe| &mut recipe.manifest,
            |manifest| manifest["subject"] = json!({"mediaType": OCI_MANIFEST}),
        ),
        "subject.digest: null (expected an OCI digest (algorithm:encoded))",
    );
    refused_with(
        Recipe::editing(
            |recipe| &mut recipe.manifest,
            |manifest| manifest["schemaVersion"] = json!(1),
        ),
        "schemaVersion: 1 (expected schemaVersion 2)",
    );
}

/// An index inside the index: valid with platforms, refused without.
#[test]
fn nested_indexes_are_walked_and_need_platforms() {
    let nest = |keep_platform: bool| {
        move |index: &mut Value| {
            let mut inner = index.clone();
            if !keep_platform {
                inner["manifests"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("platform");
            }
            let bytes = oci_util::pretty(&inner);
            index["manifests"] = json!([{
                "mediaType": OCI_INDEX,
                "digest": sha256(&bytes),
                "size": bytes.len(),
            }]);
            NESTED.with(|nested| *nested.borrow_mut() = Some(bytes));
        }
    };
    thread_local! {
        static NESTED: std::cell::RefCell<Option<Vec<u8>>> = const { std::cell::RefCell::new(None) };
    }
    for keep_platform in [true, false] {
        let built = Recipe::editing(|recipe| &mut recipe.index, nest(keep_platform)).build();
        let bytes = NESTED.with(|nested| nested.borrow_mut().take()).unwrap();
        add_blob(built.path(), OCI_INDEX, &bytes);
        if keep_platform {
            assert_valid(built.path());
            let output = oci_util::oci_validate(&[built.path().to_str().unwrap()]);
            let stdout = String::from_utf8(output.stdout).unwrap();
            assert!(
                stdout.contains("ok index.json > manifests[0] > manifests[0] > layers[0] ("),
                "{stdout}"
            );
        } else {
            let line = refusal(built.path());
            crate::support::assert_contains(
                &line,
                "platform: required for an image manifest listed in a nested index",
            );
        }
    }
}

/// A BuildKit attestation manifest (in-toto layer, unknown/unknown
/// platform, diff_id = the statement's digest) is accepted.
#[test]
fn attestation_manifests_are_allowed() {
    let built = Recipe::default().build();
    let root = built.path();
    let statement = br#"{"_type":"https://in-toto.io/Statement/v0.1"}"#;
    let layer = add_blob(root, "application/vnd.in-toto+json", statement);
    let config = serde_json::to_vec(&json!({
        "architecture": "unknown",
        "os": "unknown",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": [sha256(statement)]},
    }))
    .unwrap();
    let config = add_blob(root, "application/vnd.oci.image.config.v1+json", &config);
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config,
        "layers": [layer],
    }))
    .unwrap();
    let mut descriptor = add_blob(root, OCI_MANIFEST, &manifest);
    descriptor["platform"] = json!({"architecture": "unknown", "os": "unknown"});
    descriptor["annotations"] = json!({
        "vnd.docker.reference.type": "attestation-manifest",
        "vnd.docker.reference.digest": sha256(&built.manifest),
    });
    let mut index: Value =
        serde_json::from_slice(&std::fs::read(root.join("index.json")).unwrap()).unwrap();
    index["manifests"].as_array_mut().unwrap().push(descriptor);
    std::fs::write(root.join("index.json"), oci_util::pretty(&index)).unwrap();
    assert_valid(root);
}

#[test]
fn image_config_rules() {
    refused_with(
        Recipe::editing(
            |recipe| &mut recipe.config,
            |config| config["os"] = json!("windows"),
        ),
        "os \"windows\" differs from the descriptor's platform os \"linux\"",
    );
    refused_with(
        Recipe::editing(
            |recipe| &mut recipe.config,
            |config| config["architecture"] = json!("arm64"),
        ),
        "architecture \"arm64\" differs from the descriptor's platform architecture \"amd64\"",
    );
    refused_with(
        Recipe::editing(
            |recipe| &mut recipe.config,
            |config| {
                config.as_object_mut().unwrap().remove("architecture");
            },
        ),
        "architecture: null (expected a string)",
    );
    refused_with(
        Recipe::editing(
            |recipe| &mut recipe.config,
            |config| config["rootfs"]["type"] = json!("tarballs"),
        ),
        "rootfs.type: \"tarballs\" (expected \"layers\")",
    );
    refused_with(
        Recipe::editing(
            |recipe| &mut recipe.config,
            |config| {
                let id = config["rootfs"]["diff_ids"][0].clone();
                config["rootfs"]["diff_ids"] = json!([id.clone(), id]);
            },
        ),
        "rootfs.diff_ids has 2 entries for 1 layers",
    );
    refused_with(
        Recipe::editing(
            |recipe| &mut recipe.config_bytes,
            |bytes| *bytes = b"[]".to_vec(),
        ),
        "an image config must be a JSON object",
    );
}

#[test]
fn layers_must_decompress_to_a_complete_tar_whose_digest_is_the_diff_id() {
    // Not gzip at all, though the media type says so.
    refused_with(
        Recipe {
            compress: |tar| tar.to_vec(),
            ..Recipe::default()
        },
        "gzip decompression failed",
    );
    // A gzip stream cut short (re-chained: the digest is the cut bytes').
    refused_with(
        Recipe::editing(
            |recipe| &mut recipe.layer_blob,
            |blob| blob.truncate(blob.len() - 12),
        ),
        "gzip decompression failed",
    );
    // Well-compressed, but the tar inside stops before its end marker.
    let tar = oci_util::tar_of(&[("a", b"hello")]);
    let mut cut = tar[..1024].to_vec();
    let diff_id = sha256(&cut);
    refused_with(
        Recipe {
            layer_tar: std::mem::take(&mut cut),
            config: Box::new(move |config| config["rootfs"]["diff_ids"] = json!([diff_id])),
            ..Recipe::default()
        },
        "not a complete tar stream: tar stream ends at byte 1024 without the end-of-archive marker",
    );
    // A zstd layer whose bytes are gzip.
    refused_with(
        Recipe {
            layer_media_type: OCI_LAYER_ZSTD.to_string(),
            ..Recipe::default()
        },
        "zstd decompression failed",
    );
    // Junk after the end-of-archive marker.
    let mut junk = oci_util::tar_of(&[("a", b"hello")]);
    junk.extend_from_slice(b"hidden");
    let diff_id = sha256(&junk);
    refused_with(
        Recipe {
            layer_tar: junk,
            config: Box::new(move |config| config["rootfs"]["diff_ids"] = json!([diff_id])),
            ..Recipe::default()
        },
        "non-zero data at byte 2048, after the end-of-archive marker",
    );
}

#[test]
fn no_path_may_resolve_outside_the_layout() {
    let outside = tempfile::tempdir().unwrap();
    // A blob symlink pointing outside, at a file with the right bytes.
    let built = Recipe::default().build();
    let config_blob = built
        .path()
        .join("blobs/sha256")
        .join(&sha256(&built.config)[7..]);
    std::fs::write(outside.path().join("config"), &built.config).unwrap();
    std::fs::remove_file(&config_blob).unwrap();
    std::os::unix::fs::symlink(outside.path().join("config"), &config_blob).unwrap();
    let line = refusal(built.path());
    crate::support::assert_contains(&line, "resolves outside the layout");
    assert!(line.contains("> config (sha256:"), "{line}");
    // A relative symlink that leaves and comes back in.
    let name = built
        .path()
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    std::fs::remove_file(&config_blob).unwrap();
    std::fs::write(built.path().join("config.json"), &built.config).unwrap();
    std::os::unix::fs::symlink(format!("../../../{name}/config.json"), &config_blob).unwrap();
    assert!(refusal(built.path()).contains("resolves outside the layout"));
    // The blobs directory itself, and index.json.
    let built = Recipe::default().build();
    std::fs::rename(built.path().join("blobs"), outside.path().join("blobs")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("blobs"), built.path().join("blobs")).unwrap();
    assert!(refusal(built.path()).contains("symlink blobs -> "));
    let built = Recipe::default().build();
    std::fs::rename(
        built.path().join("index.json"),
        outside.path().join("index.json"),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("index.json"),
        built.path().join("index.json"),
    )
    .unwrap();
    assert!(refusal(built.path()).contains(": index.json: symlink index.json -> "));
}

#[test]
fn fifos_and_directories_are_not_blobs_and_do_not_hang() {
    let built = Recipe::default().build();
    let blob = built
        .path()
        .join("blobs/sha256")
        .join(&sha256(&built.layer)[7..]);
    std::fs::remove_file(&blob).unwrap();
    assert!(std::process::Command::new("mkfifo")
        .arg(&blob)
        .status()
        .unwrap()
        .success());
    assert!(refusal(built.path()).contains("not a regular file"));
}

#[test]
fn quiet_prints_nothing_and_usage_errors_exit_2() {
    let built = Recipe::default().build();
    let layout = built.path().to_str().unwrap();
    let loud = oci_util::oci_validate(&[layout]);
    assert!(loud.status.success());
    assert_eq!(String::from_utf8(loud.stdout).unwrap().lines().count(), 5);
    let quiet = oci_util::oci_validate(&["-q", layout]);
    assert!(quiet.status.success() && quiet.stdout.is_empty());
    assert_eq!(oci_util::oci_validate(&[]).status.code(), Some(2));
    let version = oci_util::oci_validate(&["--version"]);
    assert!(String::from_utf8(version.stdout)
        .unwrap()
        .starts_with("oci-validate "));
    let missing = oci_util::oci_validate(&["/nonexistent/layout"]);
    assert_eq!(missing.status.code(), Some(1));
}

// --- one rule, two implementations ---

/// What jq's `validate` prints for a violation (filters/validate.jq).
fn jq_message(violation: &doi::oci::rules::Violation) -> String {
    let mut shown = violation.found.to_string();
    if shown.chars().count() > 256 {
        shown = shown.chars().take(253).collect::<String>() + "...";
    }
    format!(
        "invalid value at {}: {shown} (expected {})",
        violation.jq_path(),
        violation.expected
    )
}

/// Descriptors, indexes and images broken in many ways, one value each.
fn corpus() -> Vec<(&'static str, Value)> {
    let digest = format!("sha256:{}", "a".repeat(64));
    let good = json!({"mediaType": OCI_MANIFEST, "digest": digest, "size": 610});
    let odd_values = [
        json!(null),
        json!(true),
        json!(0),
        json!(-1),
        json!(1.5),
        json!(2),
        json!("x"),
        json!(""),
        json!([]),
        json!({}),
        json!(["a"]),
        json!([1]),
        json!({"a": "b"}),
        json!({"a": 1}),
        json!("sha256:"),
        json!(format!("sha512:{}", "b".repeat(128))),
        json!(format!("sha512:{}", "b".repeat(64))),
        json!(format!("{digest}\n")),
        json!("AB=="),
        json!("A==="),
        json!("a/b"),
        json!(format!("a/{}", "b".repeat(127))),
        json!(format!("a/{}", "b".repeat(126))),
        json!("application/vnd.oci.empty.v1+json"),
        json!({"os": "linux", "architecture": "amd64"}),
        json!({"os": "linux", "architecture": "arm", "variant": 7}),
        json!({"os": "linux", "architecture": "amd64", "os.features": ["a", 1]}),
        json!({"os": "windows", "architecture": "amd64", "os.version": 10}),
        json!({"os": "linux", "architecture": "amd64", "features": "x"}),
        json!(1e3),
        json!(1.0),
    ];
    let fields = [
        "mediaType",
        "digest",
        "size",
        "urls",
        "data",
        "artifactType",
        "platform",
        "annotations",
    ];
    let mut cases = Vec::new();
    for field in fields {
        for value in &odd_values {
            let mut descriptor = good.clone();
            descriptor[field] = value.clone();
            cases.push(("descriptor", descriptor.clone()));
            let mut second = good.clone();
            second["size"] = json!("two");
            cases.push(("index", json!({"schemaVersion": 2, "manifests": [good.clone(), descriptor.clone(), second]})));
            cases.push(("image", json!({"schemaVersion": 2, "config": descriptor.clone(), "layers": [good.clone(), descriptor]})));
        }
        cases.push(("descriptor", {
            let mut descriptor = good.clone();
            descriptor.as_object_mut().unwrap().remove(field);
            descriptor
        }));
    }
    for value in &odd_values {
        for field in [
            "schemaVersion",
            "mediaType",
            "artifactType",
            "manifests",
            "subject",
            "annotations",
        ] {
            let mut index =
                json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [good.clone()]});
            index[field] = value.clone();
            cases.push(("index", index));
        }
        for field in [
            "schemaVersion",
            "mediaType",
            "artifactType",
            "config",
            "layers",
            "subject",
        ] {
            let mut image = json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": good.clone(), "layers": []});
            image[field] = value.clone();
            cases.push(("image", image));
        }
        cases.push(("layout", json!({"imageLayoutVersion": value.clone()})));
        cases.push(("layout", value.clone()));
    }
    cases.push(("image", json!({"schemaVersion": 2, "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": digest, "size": 2}, "layers": []})));
    cases.push(("descriptor", json!("not an object")));
    cases
}

fn rust_verdict(kind: &str, value: &Value) -> String {
    use doi::oci::rules::{self, DocumentOptions};
    let result = match kind {
        "descriptor" => rules::descriptor_at(value),
        "index" => rules::index(
            value,
            &DocumentOptions {
                media_types: &[OCI_INDEX],
                require_media_type: false,
            },
        ),
        "image" => rules::image(
            value,
            &DocumentOptions {
                media_types: &[OCI_MANIFEST],
                require_media_type: false,
            },
        ),
        _ => rules::layout_file(value),
    };
    match result {
        Ok(()) => "ok".to_string(),
        Err(violation) => jq_message(&violation),
    }
}

const VERDICTS: &str = r#"
include "oci";
.[] | .kind as $kind | .value
| [ try (
      if $kind == "descriptor" then validate_oci_descriptor
      elif $kind == "index" then validate_oci_index
      elif $kind == "image" then validate_oci_image
      else validate_oci_layout_file end
      | "ok"
    ) catch . ]
| .[0]
"#;

#[test]
fn rust_rules_agree_with_the_jq_oci_module_on_every_case() {
    let cases = corpus();
    let input: Value = cases
        .iter()
        .map(|(kind, value)| json!({"kind": kind, "value": value}))
        .collect();
    let options = CompileOptions {
        search: ModuleSearch::embedded_only(Vec::new()),
        ..CompileOptions::default()
    };
    let program = Program::compile(VERDICTS, &options).unwrap();
    let outputs = program
        .run_collect(doi::jq::print::from_serde(&input))
        .unwrap();
    let jq: Vec<String> = outputs
        .iter()
        .map(|value| {
            doi::jq::print::to_serde(value)
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(jq.len(), cases.len());
    let mut refused = 0;
    for ((kind, value), jq_verdict) in cases.iter().zip(&jq) {
        let rust = rust_verdict(kind, value);
        assert_eq!(&rust, jq_verdict, "{kind} {value}");
        refused += usize::from(rust != "ok");
    }
    assert!(
        refused > cases.len() / 2,
        "the corpus should be mostly broken: {refused}/{}",
        cases.len()
    );
    assert!(refused < cases.len(), "and some cases valid");
}

/// The same corpus through jq 1.7.1 itself, the engine the module is
/// written for (skipped where the peer binary is absent).
#[test]
fn rust_rules_agree_with_jq_1_7_1_on_every_case() {
    let jq = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/peers/jq-1.7.1/jq");
    if !jq.is_file() {
        crate::support::unavailable(&format!("{} is absent", jq.display()));
        return;
    }
    let cases = corpus();
    let input: Value = cases
        .iter()
        .map(|(kind, value)| json!({"kind": kind, "value": value}))
        .collect();
    let filters = Path::new(env!("CARGO_MANIFEST_DIR")).join("filters");
    let output = crate::support::run_binary(
        jq.to_str().unwrap(),
        &["-c", "-L", filters.to_str().unwrap(), VERDICTS],
        input.to_string().as_bytes(),
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let verdicts: Vec<String> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str::<String>(line).unwrap())
        .collect();
    assert_eq!(verdicts.len(), cases.len());
    for ((kind, value), jq_verdict) in cases.iter().zip(&verdicts) {
        assert_eq!(&rust_verdict(kind, value), jq_verdict, "{kind} {value}");
    }
}

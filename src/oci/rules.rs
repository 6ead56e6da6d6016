//! The shape rules of OCI documents: descriptors, image indexes and image
//! manifests, exactly as our jq `oci` module's validators state them
//! (`filters/oci.jq`: `validate_oci_descriptor`, `validate_oci_index`,
//! `validate_oci_image`, `validate_oci_layout_file`).
//!
//! Why a Rust twin of jq code: `oci-validate` walks layouts of many
//! documents and must run with nothing beside the binary, quickly. The twin
//! checks in the jq module's order and reports the same path and the same
//! "expected" words, so the first failure is the same one;
//! `tests/oci_validate.rs` runs both on one corpus of broken descriptors and
//! compares them, which is what keeps the two from drifting. Rules that need
//! the layout (the blob exists, `data` decodes to it) are not shape rules
//! and live in [`super::validate`].

use std::fmt;

use serde_json::Value;

use crate::spec::media_type::OCI_EMPTY;

/// One step of a JSON path, as jq's `path(...)` prints it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    Key(String),
    Index(usize),
}

/// The first rule a document breaks: where, the value found there, and
/// what was expected (the jq module's words).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub path: Vec<Segment>,
    pub found: Value,
    pub expected: String,
}

impl Violation {
    /// The path as jq prints it (`["manifests",0,"digest"]`), which is what
    /// the jq module's message names.
    pub fn jq_path(&self) -> String {
        let items: Vec<Value> = self
            .path
            .iter()
            .map(|segment| match segment {
                Segment::Key(key) => Value::from(key.as_str()),
                Segment::Index(index) => Value::from(*index),
            })
            .collect();
        Value::Array(items).to_string()
    }

    /// The path in the field-access spelling people read (`manifests[0].digest`).
    pub fn field(&self) -> String {
        let mut text = String::new();
        for segment in &self.path {
            match segment {
                Segment::Key(key) => {
                    if !text.is_empty() {
                        text.push('.');
                    }
                    text.push_str(key);
                }
                Segment::Index(index) => text.push_str(&format!("[{index}]")),
            }
        }
        if text.is_empty() {
            text.push('.');
        }
        text
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = self.found.to_string();
        if shown.len() > 256 {
            let mut end = 253;
            while !shown.is_char_boundary(end) {
                end -= 1;
            }
            shown.truncate(end);
            shown.push_str("...");
        }
        write!(
            formatter,
            "{}: {shown} (expected {})",
            self.field(),
            self.expected
        )
    }
}

pub type RuleResult = Result<(), Violation>;

/// Where in the document a check is, so a violation names the full path.
#[derive(Clone, Debug, Default)]
struct At {
    path: Vec<Segment>,
}

impl At {
    fn key(&self, key: &str) -> At {
        let mut path = self.path.clone();
        path.push(Segment::Key(key.to_string()));
        At { path }
    }

    fn index(&self, index: usize) -> At {
        let mut path = self.path.clone();
        path.push(Segment::Index(index));
        At { path }
    }
}

/// The values one check applies to, with where each is. The jq module's
/// `validate(paths; ...)` runs each check over every value `paths` names
/// before the next check, so the twin does too: with two broken manifests
/// both report the same first failure.
type Targets<'v> = Vec<(At, &'v Value)>;

/// Every target must satisfy `holds`.
fn check(targets: &Targets, holds: impl Fn(&Value) -> bool, expected: &str) -> RuleResult {
    for (at, value) in targets {
        if !holds(value) {
            return Err(Violation {
                path: at.path.clone(),
                found: (*value).clone(),
                expected: expected.to_string(),
            });
        }
    }
    Ok(())
}

/// jq's `.key` on an object: a missing key reads as null.
fn field<'v>(value: &'v Value, key: &str) -> &'v Value {
    value.get(key).unwrap_or(&Value::Null)
}

/// `at | .key` for every target.
fn key<'v>(targets: &Targets<'v>, name: &str) -> Targets<'v> {
    targets
        .iter()
        .map(|(at, value)| (at.key(name), field(value, name)))
        .collect()
}

/// `at | .key | select(. != null)` for every target.
fn optional<'v>(targets: &Targets<'v>, name: &str) -> Targets<'v> {
    let mut found = key(targets, name);
    found.retain(|(_, value)| !value.is_null());
    found
}

/// `at | .[]` over arrays (callers check the type first) or objects.
fn items<'v>(targets: &Targets<'v>) -> Targets<'v> {
    let mut found = Vec::new();
    for (at, value) in targets {
        match value {
            Value::Array(array) => found.extend(
                array
                    .iter()
                    .enumerate()
                    .map(|(index, item)| (at.index(index), item)),
            ),
            Value::Object(object) => {
                found.extend(object.iter().map(|(name, item)| (at.key(name), item)))
            }
            _ => {}
        }
    }
    found
}

fn one(value: &Value) -> Targets<'_> {
    vec![(At::default(), value)]
}

/// The jq module's `_oci_media_type_pattern` (RFC 6838 restricted names).
pub fn is_media_type(text: &str) -> bool {
    fn restricted_name(name: &str) -> bool {
        let bytes = name.as_bytes();
        !bytes.is_empty()
            && bytes.len() <= 127
            && bytes[0].is_ascii_alphanumeric()
            && bytes[1..]
                .iter()
                .all(|byte| byte.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(byte))
    }
    match text.split_once('/') {
        Some((kind, subtype)) => restricted_name(kind) && restricted_name(subtype),
        None => false,
    }
}

/// image-spec's digest grammar: `algorithm:encoded`, the algorithm
/// `[a-z0-9]+` components joined by one of `+._-`, the encoding
/// `[a-zA-Z0-9=_-]+`.
fn is_digest_syntax(text: &str) -> bool {
    let Some((algorithm, encoded)) = text.split_once(':') else {
        return false;
    };
    let component = |part: &str| {
        !part.is_empty()
            && part
                .bytes()
                .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit())
    };
    let components_ok = algorithm.split(['+', '.', '_', '-']).all(component);
    let encoded_ok = !encoded.is_empty()
        && encoded
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"=_-".contains(&byte));
    components_ok && encoded_ok
}

fn is_lower_hex(text: &str, length: usize) -> bool {
    text.len() == length
        && text
            .bytes()
            .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte))
}

/// The jq module's base64 shape check: padded length, the RFC 4648
/// alphabet, at most two `=` at the end.
fn is_base64_shape(text: &str) -> bool {
    let body = text.trim_end_matches('=');
    text.len().is_multiple_of(4)
        && text.len() - body.len() <= 2
        && body
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'+' || byte == b'/')
}

fn media_type(targets: &Targets, what: &str) -> RuleResult {
    check(
        targets,
        |value| value.as_str().is_some_and(is_media_type),
        &format!("{what}: a media type (RFC 6838 type/subtype)"),
    )
}

/// `validate_oci_digest`.
pub fn digest_at(value: &Value) -> RuleResult {
    digest(&one(value))
}

fn digest(targets: &Targets) -> RuleResult {
    check(
        targets,
        |value| value.as_str().is_some_and(is_digest_syntax),
        "an OCI digest (algorithm:encoded)",
    )?;
    let with_prefix = |prefix: &str| -> Targets {
        let mut found = targets.clone();
        found.retain(|(_, value)| value.as_str().is_some_and(|text| text.starts_with(prefix)));
        found
    };
    check(
        &with_prefix("sha256:"),
        |value| {
            value
                .as_str()
                .is_some_and(|text| is_lower_hex(&text[7..], 64))
        },
        "a sha256 digest: 64 lowercase hexadecimal digits",
    )?;
    check(
        &with_prefix("sha512:"),
        |value| {
            value
                .as_str()
                .is_some_and(|text| is_lower_hex(&text[7..], 128))
        },
        "a sha512 digest: 128 lowercase hexadecimal digits",
    )
}

fn string_array(targets: &Targets, what: &str) -> RuleResult {
    check(
        targets,
        Value::is_array,
        &format!("{what}: an array of strings"),
    )?;
    check(
        &items(targets),
        Value::is_string,
        &format!("{what}: a string"),
    )
}

fn annotations_haver(targets: &Targets) -> RuleResult {
    let annotations = optional(targets, "annotations");
    check(
        &annotations,
        Value::is_object,
        "annotations: an object of strings",
    )?;
    check(
        &items(&annotations),
        Value::is_string,
        "an annotation value: a string",
    )
}

/// `_validate_oci_platform_at`.
fn platform(targets: &Targets) -> RuleResult {
    check(targets, Value::is_object, "platform: an object")?;
    check(
        &key(targets, "architecture"),
        Value::is_string,
        "platform architecture: a string",
    )?;
    check(
        &key(targets, "os"),
        Value::is_string,
        "platform os: a string",
    )?;
    check(
        &optional(targets, "os.version"),
        Value::is_string,
        "platform os.version: a string",
    )?;
    string_array(&optional(targets, "os.features"), "platform os.features")?;
    check(
        &optional(targets, "variant"),
        Value::is_string,
        "platform variant: a string",
    )?;
    string_array(&optional(targets, "features"), "platform features")
}

fn is_size(value: &Value) -> bool {
    value
        .as_f64()
        .is_some_and(|number| number >= 0.0 && number == number.floor())
}

/// `validate_oci_descriptor`.
pub fn descriptor_at(value: &Value) -> RuleResult {
    descriptor(&one(value))
}

fn descriptor(targets: &Targets) -> RuleResult {
    check(targets, Value::is_object, "a descriptor object")?;
    media_type(&key(targets, "mediaType"), "descriptor mediaType")?;
    digest(&key(targets, "digest"))?;
    check(
        &key(targets, "size"),
        is_size,
        "descriptor size: a non-negative integer",
    )?;
    string_array(&optional(targets, "urls"), "descriptor urls")?;
    check(
        &optional(targets, "data"),
        |value| value.as_str().is_some_and(is_base64_shape),
        "descriptor data: base64 (RFC 4648)",
    )?;
    media_type(
        &optional(targets, "artifactType"),
        "descriptor artifactType",
    )?;
    platform(&optional(targets, "platform"))?;
    annotations_haver(targets)
}

fn schema_version(targets: &Targets) -> RuleResult {
    check(
        &key(targets, "schemaVersion"),
        |value| value.as_f64() == Some(2.0),
        "schemaVersion 2",
    )
}

/// The options of the jq module's `validate_oci_index`/`validate_oci_image`
/// that the layout checks use: the accepted `mediaType` values of the
/// document, and whether it must be present.
#[derive(Clone, Debug)]
pub struct DocumentOptions<'a> {
    pub media_types: &'a [&'a str],
    pub require_media_type: bool,
}

fn document_media_type(targets: &Targets, options: &DocumentOptions, what: &str) -> RuleResult {
    let mut found = key(targets, "mediaType");
    if !options.require_media_type {
        found.retain(|(_, value)| !value.is_null());
    }
    let listed = Value::from(options.media_types.to_vec()).to_string();
    check(
        &found,
        |value| {
            options
                .media_types
                .iter()
                .any(|accepted| value.as_str() == Some(accepted))
        },
        &format!("{what} mediaType: one of {listed}"),
    )
}

/// `validate_oci_index(options)` (without `manifestMediaTypes`).
pub fn index(value: &Value, options: &DocumentOptions) -> RuleResult {
    let document = one(value);
    check(&document, Value::is_object, "an image index object")?;
    schema_version(&document)?;
    document_media_type(&document, options, "index")?;
    media_type(&optional(&document, "artifactType"), "index artifactType")?;
    let manifests = key(&document, "manifests");
    check(
        &manifests,
        Value::is_array,
        "manifests: an array of descriptors",
    )?;
    descriptor(&items(&manifests))?;
    descriptor(&optional(&document, "subject"))?;
    annotations_haver(&document)
}

/// `validate_oci_image(options)` (without config/layer media type lists).
pub fn image(value: &Value, options: &DocumentOptions) -> RuleResult {
    let document = one(value);
    check(&document, Value::is_object, "an image manifest object")?;
    schema_version(&document)?;
    document_media_type(&document, options, "image manifest")?;
    media_type(
        &optional(&document, "artifactType"),
        "image manifest artifactType",
    )?;
    descriptor(&key(&document, "config"))?;
    let layers = key(&document, "layers");
    check(&layers, Value::is_array, "layers: an array of descriptors")?;
    descriptor(&items(&layers))?;
    if field(field(value, "config"), "mediaType").as_str() == Some(OCI_EMPTY) {
        check(
            &key(&document, "artifactType"),
            Value::is_string,
            "artifactType: required when config is the empty descriptor",
        )?;
    }
    descriptor(&optional(&document, "subject"))?;
    annotations_haver(&document)
}

/// `validate_oci_layout_file`.
pub fn layout_file(value: &Value) -> RuleResult {
    let document = one(value);
    check(&document, Value::is_object, "an oci-layout object")?;
    check(
        &key(&document, "imageLayoutVersion"),
        |value| value.as_str() == Some("1.0.0"),
        "imageLayoutVersion \"1.0.0\"",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn good() -> Value {
        json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": format!("sha256:{}", "a".repeat(64)),
            "size": 610,
        })
    }

    #[test]
    fn a_plain_descriptor_passes() {
        assert_eq!(descriptor_at(&good()), Ok(()));
    }

    #[test]
    fn each_field_is_named_with_the_jq_words() {
        let cases = [
            (
                "mediaType",
                json!("nope"),
                "descriptor mediaType: a media type (RFC 6838 type/subtype)",
            ),
            (
                "digest",
                json!("sha256:ABC"),
                "a sha256 digest: 64 lowercase hexadecimal digits",
            ),
            (
                "digest",
                json!("sha256:a\n"),
                "an OCI digest (algorithm:encoded)",
            ),
            ("digest", json!("md5"), "an OCI digest (algorithm:encoded)"),
            ("size", json!(-1), "descriptor size: a non-negative integer"),
            (
                "size",
                json!(1.5),
                "descriptor size: a non-negative integer",
            ),
            ("data", json!("abc"), "descriptor data: base64 (RFC 4648)"),
            (
                "annotations",
                json!([]),
                "annotations: an object of strings",
            ),
        ];
        for (key, value, expected) in cases {
            let mut broken = good();
            broken[key] = value;
            let violation = descriptor_at(&broken).unwrap_err();
            assert_eq!(violation.path, vec![Segment::Key(key.into())]);
            assert_eq!(violation.expected, expected);
        }
    }

    #[test]
    fn nested_paths_print_like_jq() {
        let mut broken = good();
        broken["platform"] = json!({"os": "linux", "architecture": "amd64", "features": [1]});
        let violation = descriptor_at(&broken).unwrap_err();
        assert_eq!(violation.jq_path(), r#"["platform","features",0]"#);
        assert_eq!(violation.field(), "platform.features[0]");
        assert_eq!(
            violation.to_string(),
            "platform.features[0]: 1 (expected platform features: a string)"
        );
    }

    #[test]
    fn base64_and_media_type_shapes() {
        assert!(is_base64_shape(""));
        assert!(is_base64_shape("AB=="));
        assert!(!is_base64_shape("A==="));
        assert!(!is_base64_shape("AB=A"));
        assert!(is_media_type("application/vnd.oci.image.layer.v1.tar+gzip"));
        assert!(!is_media_type("application/a/b"));
        assert!(!is_media_type(&format!("a/{}", "b".repeat(128))));
        assert!(is_digest_syntax("sha256+b64u.x_y-z:Ab=_-"));
        assert!(!is_digest_syntax("sha256+:ab"));
    }

    /// The empty descriptor's rule reads its media type from `spec`: an image
    /// manifest whose config is the empty descriptor needs an artifactType.
    #[test]
    fn an_empty_config_needs_an_artifact_type() {
        let manifest = |artifact_type: Option<&str>| {
            let mut manifest = json!({
                "schemaVersion": 2,
                "mediaType": crate::spec::media_type::OCI_MANIFEST,
                "config": {
                    "mediaType": OCI_EMPTY,
                    "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
                    "size": 2
                },
                "layers": []
            });
            if let Some(artifact_type) = artifact_type {
                manifest["artifactType"] = json!(artifact_type);
            }
            manifest
        };
        let options = DocumentOptions {
            media_types: &[crate::spec::media_type::OCI_MANIFEST],
            require_media_type: true,
        };
        let error = image(&manifest(None), &options).unwrap_err().to_string();
        assert!(error.contains("artifactType"), "{error}");
        image(&manifest(Some("application/vnd.example+json")), &options).unwrap();
    }
}

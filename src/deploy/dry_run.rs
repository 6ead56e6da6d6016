//! `deploy --dry-run`: what would change, asked with HEAD only.
//!
//! The output is one tab-indented JSON object per ref that would be
//! written, in input order, as the reference tool prints it
//! (`deploy-dry-run-test.json`): the normalized object narrowed to that one
//! ref (digest filled in when known), `lookup` with tags and digests removed
//! from references that carry a digest (a digest-pinned reference is only a
//! repository to look children up in) and with the copy source as fallback,
//! `data` as base64 of the exact bytes, `copyFrom` for copies and
//! `mediaType` for manifests from data.

use base64::Engine as _;
use serde_json::{Map, Value};

use super::input::{Content, DeployObject, Lookup};
use crate::jq::print::{self, PrintOptions};
use crate::registry::Reference;

/// The printed entry (with its trailing newline) for `reference` of
/// `object`.
pub fn entry(object: &DeployObject, reference: &Reference) -> Vec<u8> {
    let mut map = Map::new();
    map.insert("type".into(), Value::String(object.kind.as_str().into()));
    map.insert(
        "refs".into(),
        Value::Array(vec![Value::String(reference.to_string())]),
    );
    if !object.lookup.is_empty() {
        map.insert("lookup".into(), lookup_json(&object.lookup));
    }
    match &object.content {
        Content::Data(data) => {
            map.insert(
                "data".into(),
                Value::String(base64::engine::general_purpose::STANDARD.encode(&data.bytes)),
            );
            if let Some(media_type) = &data.media_type {
                map.insert("mediaType".into(), Value::String(media_type.clone()));
            }
        }
        Content::Copy(source) => {
            map.insert("copyFrom".into(), Value::String(source.to_string()));
        }
    }
    let mut bytes = print::serde_to_vec(&Value::Object(map), &PrintOptions::tab());
    bytes.push(b'\n');
    bytes
}

fn lookup_json(lookup: &Lookup) -> Value {
    let mut map = Map::new();
    for (digest, reference) in lookup.entries() {
        let key = digest.map(|digest| digest.to_string()).unwrap_or_default();
        map.insert(key, Value::String(lookup_reference(reference).to_string()));
    }
    Value::Object(map)
}

/// A lookup reference as printed: a digest-pinned one is reduced to its
/// repository (the key says which digest to read); a tag without digest is
/// kept, since the tag is how the object is found.
fn lookup_reference(reference: &Reference) -> Reference {
    if reference.digest().is_some() {
        reference.repository_reference()
    } else {
        reference.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(input: &str) -> String {
        let objects = super::super::input::parse(input.as_bytes())
            .unwrap_or_else(|errors| panic!("{errors}"));
        let mut out = Vec::new();
        for object in &objects {
            for reference in &object.refs {
                out.extend(entry(object, reference));
            }
        }
        String::from_utf8(out).unwrap_or_default()
    }

    #[test]
    fn a_copied_blob_names_its_source_and_a_repository_fallback() {
        assert_eq!(
            entries(r#"{"type":"blob","refs":["localhost:3000/test-mount"],"lookup":{"":"localhost:3000/test@sha256:1a51828d59323e0e02522c45652b6a7a44a032b464b06d574f067d2358b0e9f1"}}"#),
            "{\n\t\"type\": \"blob\",\n\t\"refs\": [\n\t\t\"localhost:3000/test-mount@sha256:1a51828d59323e0e02522c45652b6a7a44a032b464b06d574f067d2358b0e9f1\"\n\t],\n\t\"lookup\": {\n\t\t\"\": \"localhost:3000/test\"\n\t},\n\t\"copyFrom\": \"localhost:3000/test@sha256:1a51828d59323e0e02522c45652b6a7a44a032b464b06d574f067d2358b0e9f1\"\n}\n"
        );
    }

    #[test]
    fn matches_the_conformance_file_offline() {
        let directory = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/conformance/meta-scripts");
        let (Ok(input), Ok(expected)) = (
            std::fs::read_to_string(directory.join("deploy-dry-run-test.in.json")),
            std::fs::read_to_string(directory.join("deploy-dry-run-test.json")),
        ) else {
            eprintln!("SKIPPED: ../shared/conformance is absent");
            return;
        };
        // Against an empty registry every ref would change, so the whole
        // expected file is the formatting of every ref.
        assert_eq!(entries(&input), expected);
    }
}

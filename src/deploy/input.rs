//! Deploy objects from stdin, normalized into items that are always valid.
//!
//! A deploy object is `{type, refs, lookup, data}` (the shape the planner's
//! `deploy_objects` emits, also written by hand or by other jq). Every rule
//! of the input contract is checked here, for every object, before anything
//! is pushed: a run that would fail half way because object 40 is malformed
//! must not have pushed objects 1 to 39 first. Errors are one line each and
//! name the object by its first ref (or its position when it has none) and
//! the field at fault.
//!
//! After normalization every ref carries the digest that will be pushed when
//! it can be known without the network (data is hashed; a copy takes the
//! digest of its source), so the scheduler can see which objects feed which.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use jaq_json::Val;
use serde_json::Value;

use crate::jq::print::{self, PrintOptions};
use crate::registry::protocol;
use crate::registry::push::{self, ChildSources};
use crate::registry::{Descriptor, Digest, Reference};

/// Whether an object is a manifest (pushed to tags or digests) or a blob
/// (pushed by digest only: the distribution API has no blob tags).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    Manifest,
    Blob,
}

impl ObjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Manifest => "manifest",
            ObjectKind::Blob => "blob",
        }
    }
}

/// The exact bytes to push, already hashed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushData {
    pub bytes: Vec<u8>,
    pub digest: Digest,
    /// The manifest's own `mediaType` (the Content-Type its PUT must carry);
    /// None for blobs.
    pub media_type: Option<String>,
    /// For manifests: the children the registry will check for.
    pub children: Vec<Descriptor>,
}

/// Where the bytes of an object come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Content {
    /// Pushed from the object's `data`.
    Data(PushData),
    /// Copied from another reference: pinned by digest when known (tag
    /// dropped), else by tag (a manifest copied from a tag is resolved when
    /// it is read).
    Copy(Reference),
}

/// `lookup`: where children (or the object to copy) can be found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lookup {
    by_digest: BTreeMap<Digest, Reference>,
    fallback: Option<Reference>,
}

impl Lookup {
    /// A lookup with only a fallback (how a copied manifest's children are
    /// found: in the repository it was read from).
    pub fn with_fallback(fallback: Reference) -> Lookup {
        Lookup {
            by_digest: BTreeMap::new(),
            fallback: Some(fallback),
        }
    }

    /// The listed entry for `digest`, not the fallback.
    pub fn entry(&self, digest: &Digest) -> Option<&Reference> {
        self.by_digest.get(digest)
    }

    pub fn fallback(&self) -> Option<&Reference> {
        self.fallback.as_ref()
    }

    pub fn is_empty(&self) -> bool {
        self.by_digest.is_empty() && self.fallback.is_none()
    }

    /// How many entries, the fallback included.
    pub fn len(&self) -> usize {
        self.by_digest.len() + usize::from(self.fallback.is_some())
    }

    /// Entries in printed order: the fallback (key `""`) first, then by
    /// digest, which is the byte order of the keys.
    pub fn entries(&self) -> impl Iterator<Item = (Option<&Digest>, &Reference)> {
        self.fallback
            .iter()
            .map(|reference| (None, reference))
            .chain(
                self.by_digest
                    .iter()
                    .map(|(digest, reference)| (Some(digest), reference)),
            )
    }

    /// Sets the fallback when there is none (used to make a copy's source
    /// the place its children are looked for).
    pub fn set_fallback_if_absent(&mut self, fallback: Reference) {
        if self.fallback.is_none() {
            self.fallback = Some(fallback);
        }
    }
}

impl ChildSources for Lookup {
    fn listed(&self, digest: &Digest) -> Option<&Reference> {
        self.by_digest.get(digest)
    }
    fn fallback(&self) -> Option<&Reference> {
        self.fallback.as_ref()
    }
}

/// One normalized deploy object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeployObject {
    /// 1-based position in the input, for messages and output order.
    pub position: usize,
    pub kind: ObjectKind,
    /// Destinations, in input order, duplicates removed; each carries the
    /// digest to push when it is known.
    pub refs: Vec<Reference>,
    pub lookup: Lookup,
    pub content: Content,
}

impl DeployObject {
    /// The digest every ref will point at, when known before any request.
    pub fn digest(&self) -> Option<&Digest> {
        match &self.content {
            Content::Data(data) => Some(&data.digest),
            Content::Copy(source) => source.digest(),
        }
    }

    /// How messages name this object: its first ref.
    pub fn name(&self) -> String {
        match self.refs.first() {
            Some(reference) => reference.to_string(),
            None => format!("object {}", self.position),
        }
    }
}

/// One rule broken by one object: `object N (FIRST-REF): FIELD: MESSAGE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputError {
    pub position: usize,
    /// The object's first ref as written, when it has one.
    pub first_ref: Option<String>,
    /// The field at fault (`type`, `refs[2]`, `lookup["sha256:..."]`, `data`).
    pub field: String,
    pub message: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "deploy object {}", self.position)?;
        if let Some(first_ref) = &self.first_ref {
            write!(formatter, " ({first_ref})")?;
        }
        write!(formatter, ": {}: {}", self.field, self.message)
    }
}

impl std::error::Error for InputError {}

/// Every error found in the input (never empty when returned as `Err`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputErrors(pub Vec<InputError>);

impl fmt::Display for InputErrors {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, error) in self.0.iter().enumerate() {
            if index > 0 {
                formatter.write_str("\n")?;
            }
            write!(formatter, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for InputErrors {}

/// What stdin holds.
#[derive(Debug)]
pub enum StdinKind {
    /// Builds metadata (`{buildId: build}`), to be planned first.
    Builds,
    /// Deploy objects (a stream, or arrays of them).
    DeployObjects(Vec<Val>),
}

/// Parses stdin as a stream of JSON values and tells builds metadata from
/// deploy objects. Builds metadata is one object whose every value is a
/// build (an object with `buildId`, `build` and `source`), which a deploy
/// object (with `type` and `refs`) never is.
pub fn classify(input: &[u8]) -> Result<StdinKind, String> {
    let mut values = Vec::new();
    for (index, parsed) in crate::jq::read::parse_many(input).enumerate() {
        match parsed {
            Ok(value) => values.push(value),
            Err(error) => {
                return Err(format!(
                    "stdin: JSON value {} is not valid JSON: {error}",
                    index + 1
                ))
            }
        }
    }
    if let [Val::Obj(map)] = values.as_slice() {
        let is_build = |value: &Val| match value {
            Val::Obj(build) => ["buildId", "build", "source"]
                .iter()
                .all(|key| build.contains_key(&Val::utf8_str(key.as_bytes().to_vec()))),
            _ => false,
        };
        if !map.is_empty() && map.values().all(is_build) {
            return Ok(StdinKind::Builds);
        }
    }
    Ok(StdinKind::DeployObjects(values))
}

/// Parses and normalizes deploy objects: a stream of objects, arrays of
/// objects (a top-level array is flattened one level), or both.
pub fn parse(input: &[u8]) -> Result<Vec<DeployObject>, InputErrors> {
    match classify(input) {
        Ok(StdinKind::DeployObjects(values)) => normalize_values(values),
        Ok(StdinKind::Builds) => Err(InputErrors(vec![InputError {
            position: 1,
            first_ref: None,
            field: "(whole input)".to_string(),
            message: "this is builds metadata, not deploy objects; plan it first".to_string(),
        }])),
        Err(message) => Err(InputErrors(vec![InputError {
            position: 1,
            first_ref: None,
            field: "(whole input)".to_string(),
            message,
        }])),
    }
}

/// Normalizes parsed values (see [`parse`]); all errors are collected.
pub fn normalize_values(values: Vec<Val>) -> Result<Vec<DeployObject>, InputErrors> {
    let mut objects = Vec::new();
    let mut errors = Vec::new();
    let flattened = values.into_iter().flat_map(|value| match value {
        Val::Arr(items) => items.iter().cloned().collect::<Vec<_>>(),
        other => vec![other],
    });
    for (index, value) in flattened.enumerate() {
        match normalize_one(index + 1, &value) {
            Ok(object) => objects.push(object),
            Err(error) => errors.push(error),
        }
    }
    if errors.is_empty() {
        Ok(objects)
    } else {
        Err(InputErrors(errors))
    }
}

/// Reads one object's fields; the first broken rule is its error.
pub fn normalize_one(position: usize, value: &Val) -> Result<DeployObject, InputError> {
    let Val::Obj(map) = value else {
        return Err(InputError {
            position,
            first_ref: None,
            field: "(object)".to_string(),
            message: format!("expected a JSON object, found {}", type_name(value)),
        });
    };
    let get = |name: &str| map.get(&Val::utf8_str(name.as_bytes().to_vec()));
    let refs_value = get("refs").map(to_json);
    let first_ref = match &refs_value {
        Some(Value::Array(items)) => items.first().map(|first| match first {
            Value::String(text) => text.clone(),
            other => describe_json(other),
        }),
        Some(Value::String(text)) => Some(text.clone()),
        _ => None,
    };
    let fail = |field: &str, message: String| InputError {
        position,
        first_ref: first_ref.clone(),
        field: field.to_string(),
        message,
    };

    let kind = match get("type").map(to_json) {
        Some(Value::String(text)) if text == "manifest" => ObjectKind::Manifest,
        Some(Value::String(text)) if text == "blob" => ObjectKind::Blob,
        Some(other) => {
            return Err(fail(
                "type",
                format!(
                    "must be \"manifest\" or \"blob\", found {}",
                    describe_json(&other)
                ),
            ))
        }
        None => {
            return Err(fail(
                "type",
                "missing (\"manifest\" or \"blob\")".to_string(),
            ))
        }
    };

    let mut refs =
        parse_refs(refs_value, kind).map_err(|(field, message)| fail(&field, message))?;
    let refs_digest = common_digest(&refs).map_err(|(field, message)| fail(&field, message))?;
    let mut lookup = match get("lookup").map(to_json) {
        None | Some(Value::Null) => Lookup::default(),
        Some(value) => parse_lookup(&value).map_err(|(field, message)| fail(&field, message))?,
    };

    let content = match get("data") {
        None | Some(Val::Null) => {
            let source = copy_source(kind, &refs, refs_digest.as_ref(), &lookup)
                .map_err(|(field, message)| fail(&field, message))?;
            // A copy's children are found where the copy is read from.
            lookup.set_fallback_if_absent(source.repository_reference());
            Content::Copy(source)
        }
        Some(data) => {
            let bytes = data_bytes(data).map_err(|message| fail("data", message))?;
            let digest = match &refs_digest {
                Some(wanted) => {
                    let actual = Digest::compute(wanted.algorithm(), &bytes);
                    if actual != *wanted {
                        return Err(fail(
                            "data",
                            format!("its digest is {actual}, but refs say {wanted}"),
                        ));
                    }
                    actual
                }
                None => Digest::sha256_of(&bytes),
            };
            let (media_type, children) = match kind {
                ObjectKind::Manifest => {
                    let (media_type, children) =
                        manifest_facts(&bytes).map_err(|(field, message)| fail(&field, message))?;
                    (Some(media_type), children)
                }
                ObjectKind::Blob => (None, Vec::new()),
            };
            Content::Data(PushData {
                bytes,
                digest,
                media_type,
                children,
            })
        }
    };

    let digest = match &content {
        Content::Data(data) => Some(data.digest.clone()),
        Content::Copy(source) => source.digest().cloned(),
    };
    if let Some(digest) = digest {
        for reference in &mut refs {
            if reference.digest().is_none() {
                *reference = reference.with_digest(digest.clone());
            }
        }
    }
    Ok(DeployObject {
        position,
        kind,
        refs,
        lookup,
        content,
    })
}

type FieldError = (String, String);

fn parse_refs(value: Option<Value>, kind: ObjectKind) -> Result<Vec<Reference>, FieldError> {
    let items = match value {
        Some(Value::Array(items)) if !items.is_empty() => items,
        Some(Value::Array(_)) => {
            return Err((
                "refs".to_string(),
                "is empty (at least one reference is needed)".to_string(),
            ))
        }
        Some(Value::String(text)) => vec![Value::String(text)],
        Some(other) => {
            return Err((
                "refs".to_string(),
                format!(
                    "must be an array of references, found {}",
                    describe_json(&other)
                ),
            ))
        }
        None => {
            return Err((
                "refs".to_string(),
                "missing (an array of one or more references)".to_string(),
            ))
        }
    };
    let mut refs: Vec<Reference> = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let field = format!("refs[{index}]");
        let Value::String(text) = item else {
            return Err((
                field,
                format!("must be a reference string, found {}", describe_json(item)),
            ));
        };
        let reference: Reference = text
            .parse()
            .map_err(|error: crate::registry::ReferenceError| (field.clone(), error.to_string()))?;
        if kind == ObjectKind::Blob && reference.tag().is_some() {
            return Err((
                field,
                format!("{text:?}: a blob cannot be pushed to a tag (blobs are addressed by digest only)"),
            ));
        }
        if !refs.contains(&reference) {
            refs.push(reference);
        }
    }
    Ok(refs)
}

/// The one digest the refs agree on, if any carries one.
fn common_digest(refs: &[Reference]) -> Result<Option<Digest>, FieldError> {
    let mut found: Option<(usize, &Digest)> = None;
    for (index, reference) in refs.iter().enumerate() {
        let Some(digest) = reference.digest() else {
            continue;
        };
        match found {
            None => found = Some((index, digest)),
            Some((first_index, first)) if first != digest => {
                return Err((
                    format!("refs[{index}]"),
                    format!("digest {digest} disagrees with refs[{first_index}]'s {first}"),
                ))
            }
            Some(_) => {}
        }
    }
    Ok(found.map(|(_, digest)| digest.clone()))
}

fn parse_lookup(value: &Value) -> Result<Lookup, FieldError> {
    let Value::Object(map) = value else {
        return Err((
            "lookup".to_string(),
            format!(
                "must be an object of digest -> reference, found {}",
                describe_json(value)
            ),
        ));
    };
    let mut lookup = Lookup::default();
    for (key, entry) in map {
        let field = format!("lookup[{key:?}]");
        let Value::String(text) = entry else {
            return Err((
                field,
                format!("must be a reference string, found {}", describe_json(entry)),
            ));
        };
        let reference: Reference = text
            .parse()
            .map_err(|error: crate::registry::ReferenceError| (field.clone(), error.to_string()))?;
        if key.is_empty() {
            lookup.fallback = Some(reference);
            continue;
        }
        let digest: Digest = key.parse().map_err(|error: crate::registry::DigestError| {
            (
                field.clone(),
                format!("the key must be \"\" or a digest: {error}"),
            )
        })?;
        if let Some(own) = reference.digest() {
            if *own != digest {
                return Err((field, format!("{text:?} names digest {own}, not its key")));
            }
        }
        lookup.by_digest.insert(digest, reference);
    }
    Ok(lookup)
}

/// Picks what a copy reads: the lookup entry for the refs' digest; else the
/// single lookup entry; else the fallback pinned to the refs' digest.
fn copy_source(
    kind: ObjectKind,
    refs: &[Reference],
    refs_digest: Option<&Digest>,
    lookup: &Lookup,
) -> Result<Reference, FieldError> {
    let pinned = |reference: &Reference, digest: &Digest| {
        reference.without_tag().with_digest(digest.clone())
    };
    let listed = refs_digest.and_then(|digest| lookup.entry(digest).map(|entry| (digest, entry)));
    let (field, source) = if let Some((digest, entry)) = listed {
        (
            format!("lookup[{:?}]", digest.as_str()),
            pinned(entry, digest),
        )
    } else if lookup.len() == 1 {
        match lookup.entries().next() {
            Some((Some(digest), entry)) => (
                format!("lookup[{:?}]", digest.as_str()),
                pinned(entry, digest),
            ),
            Some((None, entry)) => {
                let source = match (entry.digest(), refs_digest) {
                    (Some(_), _) => entry.without_tag(),
                    (None, Some(digest)) => pinned(entry, digest),
                    (None, None) => entry.clone(),
                };
                ("lookup[\"\"]".to_string(), source)
            }
            None => return Err(no_source(refs)),
        }
    } else if let (Some(fallback), Some(digest)) = (lookup.fallback(), refs_digest) {
        ("lookup[\"\"]".to_string(), pinned(fallback, digest))
    } else {
        return Err(no_source(refs));
    };
    if let (Some(wanted), Some(found)) = (refs_digest, source.digest()) {
        if wanted != found {
            return Err((
                field,
                format!("the copy source {source} has digest {found}, but refs say {wanted}"),
            ));
        }
    }
    if kind == ObjectKind::Blob && source.digest().is_none() {
        return Err((
            field,
            format!("blobs are copied by digest, but the source {source} has none (put the digest in refs or in the lookup reference)"),
        ));
    }
    Ok(source)
}

fn no_source(refs: &[Reference]) -> FieldError {
    let has_digest = refs.iter().any(|reference| reference.digest().is_some());
    (
        "lookup".to_string(),
        if has_digest {
            "no data and nothing to copy: no entry for the refs' digest, no single entry, no \"\" fallback".to_string()
        } else {
            "no data and nothing to copy: without a digest in refs, lookup must have exactly one entry".to_string()
        },
    )
}

/// `data` as the exact bytes to push: a string is base64 of them; any other
/// JSON value is what `jq --tab` prints for it plus a newline.
fn data_bytes(data: &Val) -> Result<Vec<u8>, String> {
    match data {
        Val::TStr(text) | Val::BStr(text) => base64::engine::general_purpose::STANDARD
            .decode(&text[..])
            .map_err(|error| format!("a string must be base64 of the bytes to push: {error}")),
        other => {
            let mut bytes = print::to_vec(other, &PrintOptions::tab());
            bytes.push(b'\n');
            Ok(bytes)
        }
    }
}

/// A manifest's own `mediaType` and its children. The registry takes the
/// PUT's Content-Type from us and checks it against the body, so a manifest
/// without `mediaType` cannot be pushed reliably; children are listed so
/// missing ones can be copied and so dependencies between objects are seen.
pub fn manifest_facts(bytes: &[u8]) -> Result<(String, Vec<Descriptor>), FieldError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|error| {
        (
            "data".to_string(),
            format!("a manifest must be a JSON object: {error}"),
        )
    })?;
    let Value::Object(map) = &value else {
        return Err((
            "data".to_string(),
            format!(
                "a manifest must be a JSON object, found {}",
                describe_json(&value)
            ),
        ));
    };
    let media_type = match map.get("mediaType") {
        Some(Value::String(text)) if protocol::is_manifest_media_type(text) => text.clone(),
        Some(Value::String(text)) => {
            return Err((
                "data.mediaType".to_string(),
                format!(
                    "{text:?} is not a manifest media type (one of {})",
                    protocol::MANIFEST_MEDIA_TYPES.join(", ")
                ),
            ))
        }
        Some(other) => {
            return Err((
                "data.mediaType".to_string(),
                format!("must be a string, found {}", describe_json(other)),
            ))
        }
        None => {
            return Err((
                "data.mediaType".to_string(),
                "missing: a manifest pushed from data must name its mediaType".to_string(),
            ))
        }
    };
    let children = push::manifest_children(&value)
        .map_err(|(field, message)| (format!("data.{field}"), message))?;
    Ok((media_type, children))
}

/// The fields other than `data` as serde_json values, for matching. Keys
/// and strings are taken as UTF-8 (lossily: a reference or digest with
/// invalid UTF-8 is invalid either way); numbers keep jq's text.
fn to_json(value: &Val) -> Value {
    match value {
        Val::Null => Value::Null,
        Val::Bool(bool) => Value::Bool(*bool),
        Val::Num(number) => print::number_text(number)
            .parse()
            .map(Value::Number)
            .unwrap_or(Value::Null),
        Val::TStr(bytes) | Val::BStr(bytes) => {
            Value::String(String::from_utf8_lossy(bytes).into_owned())
        }
        Val::Arr(items) => Value::Array(items.iter().map(to_json).collect()),
        Val::Obj(map) => Value::Object(
            map.iter()
                .map(|(key, value)| {
                    let key = match key {
                        Val::TStr(bytes) | Val::BStr(bytes) => {
                            String::from_utf8_lossy(bytes).into_owned()
                        }
                        other => to_json(other).to_string(),
                    };
                    (key, to_json(value))
                })
                .collect(),
        ),
    }
}

fn type_name(value: &Val) -> &'static str {
    match value {
        Val::Null => "null",
        Val::Bool(_) => "a boolean",
        Val::Num(_) => "a number",
        Val::TStr(_) | Val::BStr(_) => "a string",
        Val::Arr(_) => "an array",
        Val::Obj(_) => "an object",
    }
}

/// A short, one-line rendering of a JSON value for error messages.
fn describe_json(value: &Value) -> String {
    let text = serde_json::to_string(value).unwrap_or_default();
    if text.chars().count() > 60 {
        let short: String = text.chars().take(57).collect();
        format!("{short}...")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST_A: &str =
        "sha256:1a51828d59323e0e02522c45652b6a7a44a032b464b06d574f067d2358b0e9f1";

    fn one(json: &str) -> Result<DeployObject, String> {
        parse(json.as_bytes())
            .map_err(|errors| errors.to_string())
            .and_then(|mut objects| objects.pop().ok_or_else(|| "no object".to_string()))
    }

    #[test]
    fn base64_blob_gets_its_digest() {
        let object = one(r#"{"type":"blob","refs":["localhost:3000/test"],"data":"YnVmZnkgdGhlIHZhbXBpcmUgc2xheWVyCg=="}"#).unwrap();
        assert_eq!(
            object.refs[0].to_string(),
            format!("localhost:3000/test@{DIGEST_A}")
        );
        let Content::Data(data) = &object.content else {
            panic!("expected data")
        };
        assert_eq!(data.bytes, b"buffy the vampire slayer\n");
        assert_eq!(data.media_type, None);
    }

    #[test]
    fn json_data_is_printed_with_tabs_and_a_newline() {
        let object =
            one(r#"{"type":"blob","refs":["localhost:3000/test"],"data":{"foo":"bar","n":1.50}}"#)
                .unwrap();
        let Content::Data(data) = &object.content else {
            panic!("expected data")
        };
        assert_eq!(data.bytes, b"{\n\t\"foo\": \"bar\",\n\t\"n\": 1.50\n}\n");
    }

    #[test]
    fn arrays_and_streams_are_both_accepted() {
        let blob = r#"{"type":"blob","refs":["localhost:3000/test"],"data":""}"#;
        let objects = parse(format!("[{blob},{blob}] {blob}").as_bytes()).unwrap();
        assert_eq!(objects.len(), 3);
        assert_eq!(objects[2].position, 3);
    }

    #[test]
    fn copy_sources_follow_the_documented_order() {
        // The entry for the refs' digest.
        let object = one(&format!(r#"{{"type":"manifest","refs":["localhost:3000/test@{DIGEST_A}"],"lookup":{{"{DIGEST_A}":"tianon/test"}}}}"#)).unwrap();
        assert_eq!(
            object.content,
            Content::Copy(format!("tianon/test@{DIGEST_A}").parse().unwrap())
        );
        // The single entry, its digest given to the refs and its tag dropped.
        let object = one(&format!(r#"{{"type":"manifest","refs":["localhost:3000/test:x"],"lookup":{{"":"tianon/test:y@{DIGEST_A}"}}}}"#)).unwrap();
        assert_eq!(
            object.refs[0].to_string(),
            format!("localhost:3000/test:x@{DIGEST_A}")
        );
        assert_eq!(
            object.content,
            Content::Copy(format!("tianon/test@{DIGEST_A}").parse().unwrap())
        );
        // A single tag entry stays a tag (resolved when read).
        let object = one(r#"{"type":"manifest","refs":["localhost:3000/cirros"],"lookup":{"":"oisupport/staging-amd64:abc"}}"#).unwrap();
        assert_eq!(
            object.content,
            Content::Copy("oisupport/staging-amd64:abc".parse().unwrap())
        );
        assert_eq!(object.refs[0].digest(), None);
        // The fallback pinned to the refs' digest, when there are several.
        let other = "sha256:99b2daa0ab651a28400c9fbba7152fd281cc9a71e1b726bdf070ffa5d1387383";
        let object = one(&format!(r#"{{"type":"blob","refs":["localhost:3000/a@{DIGEST_A}"],"lookup":{{"{other}":"x/y","":"x/z"}}}}"#)).unwrap();
        assert_eq!(
            object.content,
            Content::Copy(format!("x/z@{DIGEST_A}").parse().unwrap())
        );
    }

    #[test]
    fn manifests_list_their_children() {
        let object = one(&format!(r#"{{"type":"manifest","refs":["localhost:3000/x:1"],"data":{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{DIGEST_A}","size":3}}]}}}}"#)).unwrap();
        let Content::Data(data) = &object.content else {
            panic!("expected data")
        };
        assert_eq!(data.children.len(), 1);
        assert!(protocol::is_manifest_media_type(
            &data.children[0].media_type
        ));
        assert_eq!(
            data.media_type.as_deref(),
            Some(crate::spec::media_type::OCI_INDEX)
        );
    }

    #[test]
    fn builds_metadata_is_recognized() {
        let builds = br#"{"abc":{"buildId":"abc","build":{},"source":{}}}"#;
        assert!(matches!(classify(builds), Ok(StdinKind::Builds)));
        let objects = br#"{"type":"blob","refs":["localhost:3000/a"],"data":""}"#;
        assert!(matches!(classify(objects), Ok(StdinKind::DeployObjects(_))));
    }

    #[test]
    fn every_error_is_reported_at_once() {
        let errors =
            parse(br#"{"type":"blub","refs":["a"]} {"refs":["b"],"type":"blob"}"#).unwrap_err();
        assert_eq!(errors.0.len(), 2);
        assert_eq!(
            errors.to_string(),
            "deploy object 1 (a): type: must be \"manifest\" or \"blob\", found \"blub\"\n\
             deploy object 2 (b): lookup: no data and nothing to copy: without a digest in refs, lookup must have exactly one entry"
        );
    }
}

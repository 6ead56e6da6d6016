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

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use crate::jq::Val;
use base64::Engine as _;
use serde_json::Value;

use crate::jq::print::{self, PrintOptions};
use crate::registry::manifest::manifest_children;
use crate::registry::protocol;
use crate::registry::push::ChildSources;
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

impl InputError {
    /// An error about the input as a whole (it is not JSON, or not deploy
    /// objects).
    fn whole_input(message: String) -> InputError {
        InputError {
            position: 1,
            first_ref: None,
            field: "(whole input)".to_string(),
            message,
        }
    }
}

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

/// Stdin is not a stream of JSON values: which one broke, and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotJson {
    /// 1-based position of the value in the stream.
    pub value: usize,
    pub message: String,
}

impl fmt::Display for NotJson {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "stdin: JSON value {} is not valid JSON: {}",
            self.value, self.message
        )
    }
}

impl std::error::Error for NotJson {}

/// What stdin holds.
#[derive(Debug)]
pub enum StdinKind {
    /// Builds metadata (`{buildId: build}`), to be planned first.
    Builds,
    /// Deploy objects (a stream, or arrays of them).
    DeployObjects(Vec<Val>),
}

/// Parses stdin as a stream of JSON values and tells builds metadata from
/// deploy objects ([`crate::deploy::plan::is_builds`] has the rule).
pub fn classify(input: &[u8]) -> Result<StdinKind, NotJson> {
    let mut values = Vec::new();
    for (index, parsed) in crate::jq::read::parse_many_deep(input).enumerate() {
        match parsed {
            Ok(value) => values.push(value),
            Err(error) => {
                return Err(NotJson {
                    value: index + 1,
                    message: error.to_string(),
                })
            }
        }
    }
    if crate::deploy::plan::is_builds(&values) {
        return Ok(StdinKind::Builds);
    }
    Ok(StdinKind::DeployObjects(values))
}

/// Parses and normalizes deploy objects: a stream of objects, arrays of
/// objects (a top-level array is flattened one level), or both.
pub fn parse(input: &[u8]) -> Result<Vec<DeployObject>, InputErrors> {
    match classify(input) {
        Ok(StdinKind::DeployObjects(values)) => normalize_values(values),
        Ok(StdinKind::Builds) => Err(InputErrors(vec![InputError::whole_input(
            "this is builds metadata, not deploy objects; plan it first".to_string(),
        )])),
        Err(error) => Err(InputErrors(vec![InputError::whole_input(
            error.to_string(),
        )])),
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

/// A broken rule inside one object, before it is told which object: the
/// field and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    fn new(field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Reads one object's fields, phase by phase (the object, its `type`, its
/// `refs`, its `lookup`, what it pushes, the digest its refs get); the
/// first broken rule is its error. Every phase is linear in its input.
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
    let refs_value = get("refs").map(print::to_serde);
    let fail = |error: FieldError| InputError {
        position,
        first_ref: first_ref(refs_value.as_ref()),
        field: error.field,
        message: error.message,
    };
    let kind = read_kind(get("type")).map_err(fail)?;
    let mut refs = parse_refs(refs_value.clone(), kind).map_err(fail)?;
    let refs_digest = common_digest(&refs).map_err(fail)?;
    let mut lookup = match get("lookup").map(print::to_serde) {
        None | Some(Value::Null) => Lookup::default(),
        Some(value) => parse_lookup(&value).map_err(fail)?,
    };
    let content =
        read_content(kind, get("data"), refs_digest.as_ref(), &mut lookup).map_err(fail)?;
    pin_refs(&mut refs, &content);
    Ok(DeployObject {
        position,
        kind,
        refs,
        lookup,
        content,
    })
}

/// How messages name an object: its first ref as written.
fn first_ref(refs: Option<&Value>) -> Option<String> {
    match refs {
        Some(Value::Array(items)) => items.first().map(|first| match first {
            Value::String(text) => text.clone(),
            other => describe_json(other),
        }),
        Some(Value::String(text)) => Some(text.clone()),
        _ => None,
    }
}

fn read_kind(value: Option<&Val>) -> Result<ObjectKind, FieldError> {
    match value.map(print::to_serde) {
        Some(Value::String(text)) if text == "manifest" => Ok(ObjectKind::Manifest),
        Some(Value::String(text)) if text == "blob" => Ok(ObjectKind::Blob),
        Some(other) => Err(FieldError::new(
            "type",
            format!(
                "must be \"manifest\" or \"blob\", found {}",
                describe_json(&other)
            ),
        )),
        None => Err(FieldError::new(
            "type",
            "missing (\"manifest\" or \"blob\")",
        )),
    }
}

/// What the object pushes: a copy (no `data`; its source becomes the
/// fallback for children) or the exact bytes of `data`, checked against
/// the refs' digest.
fn read_content(
    kind: ObjectKind,
    data: Option<&Val>,
    refs_digest: Option<&Digest>,
    lookup: &mut Lookup,
) -> Result<Content, FieldError> {
    let Some(data) = data.filter(|data| !matches!(data, Val::Null)) else {
        let source = copy_source(kind, refs_digest, lookup)?;
        // A copy's children are found where the copy is read from.
        lookup.set_fallback_if_absent(source.repository_reference());
        return Ok(Content::Copy(source));
    };
    let bytes = data_bytes(data)?;
    let digest = match refs_digest {
        Some(wanted) => {
            let actual = Digest::compute(wanted.algorithm(), &bytes);
            if actual != *wanted {
                return Err(FieldError::new(
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
            let (media_type, children) = manifest_facts(&bytes)?;
            (Some(media_type), children)
        }
        ObjectKind::Blob => (None, Vec::new()),
    };
    Ok(Content::Data(PushData {
        bytes,
        digest,
        media_type,
        children,
    }))
}

/// Gives every ref without a digest the one that will be pushed, when it
/// is known before any request.
fn pin_refs(refs: &mut [Reference], content: &Content) {
    let digest = match content {
        Content::Data(data) => Some(&data.digest),
        Content::Copy(source) => source.digest(),
    };
    if let Some(digest) = digest {
        for reference in refs.iter_mut() {
            if reference.digest().is_none() {
                *reference = reference.with_digest(digest.clone());
            }
        }
    }
}

/// The refs in input order, duplicates dropped (a set, so 200,000 refs are
/// read in one pass, not compared pairwise).
fn parse_refs(value: Option<Value>, kind: ObjectKind) -> Result<Vec<Reference>, FieldError> {
    let items = match value {
        Some(Value::Array(items)) if !items.is_empty() => items,
        Some(Value::Array(_)) => {
            return Err(FieldError::new(
                "refs",
                "is empty (at least one reference is needed)",
            ))
        }
        Some(Value::String(text)) => vec![Value::String(text)],
        Some(other) => {
            return Err(FieldError::new(
                "refs",
                format!(
                    "must be an array of references, found {}",
                    describe_json(&other)
                ),
            ))
        }
        None => {
            return Err(FieldError::new(
                "refs",
                "missing (an array of one or more references)",
            ))
        }
    };
    let mut refs: Vec<Reference> = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let field = || format!("refs[{index}]");
        let (text, reference) = reference_field(item, field)?;
        if kind == ObjectKind::Blob && reference.tag().is_some() {
            return Err(FieldError::new(
                field(),
                format!("{text:?}: a blob cannot be pushed to a tag (blobs are addressed by digest only)"),
            ));
        }
        refs.push(reference);
    }
    Ok(first_of_each(refs))
}

/// The first of each item, in order: one set lookup per item, so the
/// whole is linear (issue 9: comparing each ref with those before it made
/// 40,000 refs take 5.6 s and 200,000 more than a minute).
fn first_of_each<T: std::hash::Hash + Eq + Clone>(items: Vec<T>) -> Vec<T> {
    let mut seen: HashSet<T> = HashSet::with_capacity(items.len());
    items
        .into_iter()
        .filter(|item| seen.insert(item.clone()))
        .collect()
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
                return Err(FieldError::new(
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
        return Err(FieldError::new(
            "lookup",
            format!(
                "must be an object of digest -> reference, found {}",
                describe_json(value)
            ),
        ));
    };
    let mut lookup = Lookup::default();
    for (key, entry) in map {
        let field = || format!("lookup[{key:?}]");
        let (text, reference) = reference_field(entry, field)?;
        if key.is_empty() {
            lookup.fallback = Some(reference);
            continue;
        }
        let digest: Digest = key.parse().map_err(|error: crate::registry::DigestError| {
            FieldError::new(
                field(),
                format!("the key must be \"\" or a digest: {error}"),
            )
        })?;
        if let Some(own) = reference.digest() {
            if *own != digest {
                return Err(FieldError::new(
                    field(),
                    format!("{text:?} names digest {own}, not its key"),
                ));
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
            None => return Err(no_source(refs_digest.is_some())),
        }
    } else if let (Some(fallback), Some(digest)) = (lookup.fallback(), refs_digest) {
        ("lookup[\"\"]".to_string(), pinned(fallback, digest))
    } else {
        return Err(no_source(refs_digest.is_some()));
    };
    if let (Some(wanted), Some(found)) = (refs_digest, source.digest()) {
        if wanted != found {
            return Err(FieldError::new(
                field,
                format!("the copy source {source} has digest {found}, but refs say {wanted}"),
            ));
        }
    }
    if kind == ObjectKind::Blob && source.digest().is_none() {
        return Err(FieldError::new(
            field,
            format!("blobs are copied by digest, but the source {source} has none (put the digest in refs or in the lookup reference)"),
        ));
    }
    Ok(source)
}

fn no_source(refs_have_digest: bool) -> FieldError {
    FieldError::new(
        "lookup",
        if refs_have_digest {
            "no data and nothing to copy: no entry for the refs' digest, no single entry, no \"\" fallback"
        } else {
            "no data and nothing to copy: without a digest in refs, lookup must have exactly one entry"
        },
    )
}

/// `data` as the exact bytes to push: a string is base64 of them; any other
/// JSON value is what `jq --tab` prints for it plus a newline, and only when
/// that is exactly the value (see [`print::check_lossless`]: jq would print
/// a value nested past its depth limit as `<skipped: too deep>`, and some
/// numbers and strings as others).
fn data_bytes(data: &Val) -> Result<Vec<u8>, FieldError> {
    match data {
        Val::TStr(text) | Val::BStr(text) => base64::engine::general_purpose::STANDARD
            .decode(&text[..])
            .map_err(|error| {
                FieldError::new(
                    "data",
                    format!("a string must be base64 of the bytes to push: {error}"),
                )
            }),
        other => {
            print::check_lossless(other).map_err(|lossy| {
                FieldError::new(
                    "data",
                    format!(
                        "{lossy}, so the pushed bytes would not be the data; nothing was pushed"
                    ),
                )
            })?;
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
        FieldError::new("data", format!("a manifest must be a JSON object: {error}"))
    })?;
    let Value::Object(map) = &value else {
        return Err(FieldError::new(
            "data",
            format!(
                "a manifest must be a JSON object, found {}",
                describe_json(&value)
            ),
        ));
    };
    let media_type = match map.get("mediaType") {
        Some(Value::String(text)) if protocol::is_manifest_media_type(text) => text.clone(),
        Some(Value::String(text)) => {
            return Err(FieldError::new(
                "data.mediaType",
                format!(
                    "{text:?} is not a manifest media type (one of {})",
                    protocol::MANIFEST_MEDIA_TYPES.join(", ")
                ),
            ))
        }
        Some(other) => {
            return Err(FieldError::new(
                "data.mediaType",
                format!("must be a string, found {}", describe_json(other)),
            ))
        }
        None => {
            return Err(FieldError::new(
                "data.mediaType",
                "missing: a manifest pushed from data must name its mediaType",
            ))
        }
    };
    let children = manifest_children(&value).map_err(|error| {
        FieldError::new(format!("data.{}", error.field), error.problem.to_string())
    })?;
    Ok((media_type, children))
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

/// A field that must hold a reference string: its text and the reference
/// parsed; `field` names it in the error.
fn reference_field(
    value: &Value,
    field: impl Fn() -> String,
) -> Result<(&str, Reference), FieldError> {
    let Value::String(text) = value else {
        return Err(FieldError::new(
            field(),
            format!("must be a reference string, found {}", describe_json(value)),
        ));
    };
    let reference = text
        .parse()
        .map_err(|error: crate::registry::ReferenceError| {
            FieldError::new(field(), error.to_string())
        })?;
    Ok((text, reference))
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

    /// Counts the equality comparisons `first_of_each` makes: with a set
    /// it is about one per duplicate; the pairwise scan it replaced made
    /// n * (n - 1) / 2, 2 * 10^10 for these 200,000.
    #[test]
    fn two_hundred_thousand_refs_are_deduplicated_in_one_pass() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static COMPARISONS: AtomicUsize = AtomicUsize::new(0);
        #[derive(Clone)]
        struct Counted(u32);
        impl std::hash::Hash for Counted {
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                self.0.hash(state);
            }
        }
        impl PartialEq for Counted {
            fn eq(&self, other: &Self) -> bool {
                COMPARISONS.fetch_add(1, Ordering::Relaxed);
                self.0 == other.0
            }
        }
        impl Eq for Counted {}
        let items: Vec<Counted> = (0..200_000).map(|index| Counted(index % 150_000)).collect();
        let kept = first_of_each(items);
        assert_eq!(kept.len(), 150_000);
        assert!(kept
            .iter()
            .enumerate()
            .all(|(index, item)| item.0 as usize == index));
        let comparisons = COMPARISONS.load(Ordering::Relaxed);
        assert!(
            comparisons <= 2 * 200_000,
            "{comparisons} comparisons for 200,000 refs"
        );
    }

    /// The object issue 9 timed, through the whole of normalization.
    #[test]
    fn an_object_with_200000_refs_normalizes() {
        let refs: Vec<String> = (0..200_000)
            .map(|index| format!("localhost:5000/repo-{}:tag-{index}", index % 7))
            .chain(std::iter::once("localhost:5000/repo-0:tag-0".to_string()))
            .collect();
        let input = serde_json::json!({"type": "blob", "refs": [], "data": ""}).to_string();
        let input = input.replace(
            "\"refs\":[]",
            &format!(
                "\"refs\":{}",
                serde_json::to_string(&refs).unwrap_or_default()
            ),
        );
        let object = one(&input).unwrap_err();
        // Blobs have no tags: the first ref is the error, found at once.
        assert!(object.contains("refs[0]"), "{object}");
        let input = input.replace("\"blob\"", "\"manifest\"").replace(
            "\"data\":\"\"",
            "\"lookup\":{\"\":\"localhost:5000/source:x\"}",
        );
        let object = one(&input).unwrap();
        assert_eq!(object.refs.len(), 200_000, "the repeated ref is dropped");
    }

    #[test]
    fn data_that_would_not_print_as_itself_is_refused() {
        let deep = format!("{}null{}", "[".repeat(300), "]".repeat(300));
        let cases = [
            (
                format!(r#"{{"type":"blob","refs":["localhost:3000/a"],"data":{deep}}}"#),
                "deploy object 1 (localhost:3000/a): data: nested too deep: a value at depth 300, and jq prints values down to depth 256 only (it writes <skipped: too deep> below), so the pushed bytes would not be the data; nothing was pushed",
            ),
            (
                r#"{"type":"blob","refs":["localhost:3000/a"],"data":{"x":[1,1e1000000000]}}"#.to_string(),
                "deploy object 1 (localhost:3000/a): data: at .x[1]: the number 1e1000000000 would be printed as 1.7976931348623157e+308, so the pushed bytes would not be the data; nothing was pushed",
            ),
            (
                r#"{"type":"blob","refs":["localhost:3000/a"],"data":[1e-2000000000]}"#.to_string(),
                "deploy object 1 (localhost:3000/a): data: at [0]: the number 1e-2000000000 would be printed as 0E-1147483646, so the pushed bytes would not be the data; nothing was pushed",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(one(&input).unwrap_err(), expected);
        }
        let invalid =
            b"{\"type\":\"blob\",\"refs\":[\"localhost:3000/a\"],\"data\":{\"name\":\"\xff\"}}";
        let error = parse(invalid).unwrap_err().to_string();
        assert_eq!(error, "deploy object 1 (localhost:3000/a): data: at .name: a string that is not UTF-8 would be printed with U+FFFD in it, so the pushed bytes would not be the data; nothing was pushed");
        // What jq prints as the same number is fine: 1e1000 is 1E+1000.
        let object = one(r#"{"type":"blob","refs":["localhost:3000/a"],"data":[1e1000]}"#).unwrap();
        let Content::Data(data) = &object.content else {
            panic!("expected data")
        };
        assert_eq!(data.bytes, b"[\n\t1E+1000\n]\n");
    }
}

//! Validating an OCI image layout (image-spec v1.1 image-layout.md) from
//! `oci-layout` and `index.json` down through every descriptor.
//!
//! The shape of each document is [`super::rules`] (our jq `oci` module's
//! rules); what only a layout can show is here: every descriptor's blob is
//! there under `blobs/ALG/HEX`, inside the layout, with the right size and
//! digest (streamed); a `data` field decodes to that same content; nested
//! documents say they are what their descriptor says; an image config
//! agrees with its descriptor's platform and with its layers, each of which
//! is decompressed and walked as a tar stream whose sha256 is its
//! `diff_id`. Each blob is read once however many descriptors name it.
//!
//! Every failure is one [`LayoutError`]: the file at fault, the descriptor
//! path that led there (`index.json > manifests[0] > layers[0]
//! (sha256:...)`), and what is wrong.

use std::collections::HashMap;
use std::fmt;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::Value;

use crate::registry::Digest;
use crate::spec::media_type::{
    DOCKER_CONFIG, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_CONFIG, OCI_INDEX, OCI_MANIFEST,
};

use super::blob::{self, layer_compression, LayerReading};
use super::json::{parse_strict, MAX_DOCUMENT_SIZE};
use super::path::{PathError, Root};
use super::rules::{self, DocumentOptions};

/// Nested indexes deeper than this are refused (real ones nest once).
const MAX_DEPTH: usize = 16;

/// Where a descriptor was reached from: `index.json > manifests[0] >
/// layers[0]`, shown with the last descriptor's digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DescriptorPath {
    steps: Vec<String>,
    digest: Option<String>,
}

impl DescriptorPath {
    pub fn root(file: &str) -> DescriptorPath {
        DescriptorPath {
            steps: vec![file.to_string()],
            digest: None,
        }
    }

    pub fn child(&self, step: String, descriptor: &Value) -> DescriptorPath {
        let mut steps = self.steps.clone();
        steps.push(step);
        DescriptorPath {
            steps,
            digest: descriptor
                .get("digest")
                .and_then(Value::as_str)
                .map(str::to_string),
        }
    }
}

impl fmt::Display for DescriptorPath {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.steps.join(" > "))?;
        if let Some(digest) = &self.digest {
            write!(formatter, " ({digest})")?;
        }
        Ok(())
    }
}

/// One thing wrong with a layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayoutError {
    /// The file at fault, relative to the layout (`index.json`,
    /// `blobs/sha256/...`).
    pub file: String,
    /// How the validation got there, when through descriptors.
    pub at: Option<DescriptorPath>,
    pub message: String,
}

impl fmt::Display for LayoutError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.at {
            Some(at) if at.steps.len() > 1 || at.steps[0] != self.file => {
                write!(formatter, "{}: {at}: {}", self.file, self.message)
            }
            _ => write!(formatter, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for LayoutError {}

/// One object that passed, for the progress lines `oci-validate` prints.
#[derive(Debug, Clone)]
pub struct Checked {
    pub at: DescriptorPath,
    pub summary: String,
}

impl fmt::Display for Checked {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "ok {}: {}", self.at, self.summary)
    }
}

/// What a valid layout holds at its top.
#[derive(Debug, Clone)]
pub struct ValidLayout {
    /// The layout directory with its own symlinks resolved.
    pub root: Root,
    /// `index.json`, parsed.
    pub index: Value,
    /// How many objects were checked.
    pub checked: usize,
}

/// Validates the layout at `layout`; `report` sees every object that
/// passed, in the order checked.
pub fn validate_layout(
    layout: &Path,
    report: &mut dyn FnMut(&Checked),
) -> Result<ValidLayout, LayoutError> {
    let root = Root::new(layout).map_err(|error| LayoutError {
        file: ".".to_string(),
        at: None,
        message: format!("cannot open the layout: {error}"),
    })?;
    let mut validator = Validator {
        root: root.clone(),
        seen: HashMap::new(),
        report,
        checked: 0,
    };
    let index = validator.layout()?;
    Ok(ValidLayout {
        root,
        index,
        checked: validator.checked,
    })
}

/// Validates one more descriptor of a layout already validated (the
/// importer's `File` when it names a manifest rather than `index.json`).
pub fn validate_descriptor(
    root: &Root,
    descriptor: &Value,
    at: &DescriptorPath,
    report: &mut dyn FnMut(&Checked),
) -> Result<(), LayoutError> {
    let mut validator = Validator {
        root: root.clone(),
        seen: HashMap::new(),
        report,
        checked: 0,
    };
    let file = at.steps[0].clone();
    validator.descriptor_shape(descriptor, &file, at)?;
    validator.manifest(descriptor, &file, at, 0)
}

/// What reading a blob showed, kept so a blob named twice is read once.
#[derive(Clone, Debug)]
struct Seen {
    size: u64,
    /// A layer's uncompressed digest.
    diff_id: Option<Digest>,
}

struct Validator<'r> {
    root: Root,
    seen: HashMap<Digest, Seen>,
    report: &'r mut dyn FnMut(&Checked),
    checked: usize,
}

/// A descriptor's blob, found and of the right size (not yet hashed).
struct Blob {
    digest: Digest,
    size: u64,
    file: String,
    handle: std::fs::File,
}

fn is_index_type(media_type: &str) -> bool {
    media_type == OCI_INDEX || media_type == DOCKER_MANIFEST_LIST
}

fn is_image_type(media_type: &str) -> bool {
    media_type == OCI_MANIFEST || media_type == DOCKER_MANIFEST
}

fn is_config_type(media_type: &str) -> bool {
    media_type == OCI_CONFIG || media_type == DOCKER_CONFIG
}

fn media_type_of(descriptor: &Value) -> &str {
    descriptor
        .get("mediaType")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// The size of a descriptor that passed the shape rules (a non-negative
/// integer), or `None` when it is too large to be any file's.
fn size_of(descriptor: &Value) -> Option<u64> {
    let size = descriptor.get("size")?;
    size.as_u64().or_else(|| {
        let number = size.as_f64()?;
        (number < 2f64.powi(63)).then_some(number as u64)
    })
}

impl Validator<'_> {
    /// The jq module's rules of a document (`rules::index` or
    /// `rules::image`), with the media type its descriptor named: a
    /// document may leave its own `mediaType` out, but not contradict it.
    fn document_rules(
        rule: fn(&Value, &DocumentOptions) -> rules::RuleResult,
        document: &Value,
        media_type: &str,
        file: &str,
        at: &DescriptorPath,
    ) -> Result<(), LayoutError> {
        let options = DocumentOptions {
            media_types: &[media_type],
            require_media_type: false,
        };
        rule(document, &options).map_err(|violation| Self::fail(file, at, violation.to_string()))
    }

    fn fail(file: &str, at: &DescriptorPath, message: impl Into<String>) -> LayoutError {
        LayoutError {
            file: file.to_string(),
            at: Some(at.clone()),
            message: message.into(),
        }
    }

    fn passed(&mut self, at: &DescriptorPath, summary: String) {
        self.checked += 1;
        (self.report)(&Checked {
            at: at.clone(),
            summary,
        });
    }

    /// Reads a small file of the layout whole (oci-layout, index.json).
    fn read_top_file(&self, name: &str) -> Result<Vec<u8>, LayoutError> {
        let at = DescriptorPath::root(name);
        let (handle, size) = self
            .root
            .open_file(Path::new(name))
            .map_err(|error| Self::fail(name, &at, describe_path_error(&error)))?;
        if size > MAX_DOCUMENT_SIZE {
            return Err(Self::fail(
                name,
                &at,
                format!("{size} bytes: larger than the {MAX_DOCUMENT_SIZE} bytes a JSON document may have"),
            ));
        }
        let mut bytes = Vec::with_capacity(size as usize);
        handle
            .take(MAX_DOCUMENT_SIZE + 1)
            .read_to_end(&mut bytes)
            .map_err(|error| Self::fail(name, &at, format!("cannot read: {error}")))?;
        Ok(bytes)
    }

    fn parse(file: &str, at: &DescriptorPath, bytes: &[u8]) -> Result<Value, LayoutError> {
        parse_strict(bytes).map_err(|error| Self::fail(file, at, error.to_string()))
    }

    fn layout(&mut self) -> Result<Value, LayoutError> {
        let at = DescriptorPath::root("oci-layout");
        let bytes = self.read_top_file("oci-layout")?;
        let value = Self::parse("oci-layout", &at, &bytes)?;
        rules::layout_file(&value)
            .map_err(|violation| Self::fail("oci-layout", &at, violation.to_string()))?;
        self.passed(&at, "imageLayoutVersion 1.0.0".to_string());

        let at = DescriptorPath::root("index.json");
        let bytes = self.read_top_file("index.json")?;
        let index = Self::parse("index.json", &at, &bytes)?;
        self.index_document(&index, "index.json", &at, OCI_INDEX, 0, true)?;
        Ok(index)
    }

    /// An image index: its own rules, then every manifest it lists.
    fn index_document(
        &mut self,
        index: &Value,
        file: &str,
        at: &DescriptorPath,
        media_type: &str,
        depth: usize,
        top: bool,
    ) -> Result<(), LayoutError> {
        Self::document_rules(rules::index, index, media_type, file, at)?;
        let manifests = index["manifests"].as_array().cloned().unwrap_or_default();
        for (position, manifest) in manifests.iter().enumerate() {
            let child = at.child(format!("manifests[{position}]"), manifest);
            if !top && is_image_type(media_type_of(manifest)) && manifest.get("platform").is_none()
            {
                return Err(Self::fail(
                    file,
                    &child,
                    "platform: required for an image manifest listed in a nested index (only index.json may omit it)",
                ));
            }
            self.manifest(manifest, file, &child, depth)?;
        }
        if top {
            self.passed(at, format!("{} manifests", manifests.len()));
        }
        Ok(())
    }

    /// Rules that every descriptor must meet on its own (shape already
    /// checked by the document's rules): a digest we can verify, a size,
    /// and `data` that is this very content.
    fn descriptor_shape(
        &self,
        descriptor: &Value,
        file: &str,
        at: &DescriptorPath,
    ) -> Result<(Digest, u64), LayoutError> {
        rules::descriptor_at(descriptor)
            .map_err(|violation| Self::fail(file, at, violation.to_string()))?;
        let text = descriptor["digest"].as_str().unwrap_or_default();
        let digest: Digest = text.parse().map_err(|_| {
            Self::fail(
                file,
                at,
                format!("digest {text:?}: only sha256 and sha512 blobs can be verified"),
            )
        })?;
        let size = size_of(descriptor)
            .ok_or_else(|| Self::fail(file, at, "size: larger than any file can be"))?;
        if let Some(data) = descriptor.get("data").and_then(Value::as_str) {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(data)
                .map_err(|error| {
                    Self::fail(file, at, format!("data: not canonical base64: {error}"))
                })?;
            if decoded.len() as u64 != size {
                return Err(Self::fail(
                    file,
                    at,
                    format!(
                        "data: decodes to {} bytes, but size is {size}",
                        decoded.len()
                    ),
                ));
            }
            let actual = Digest::compute(digest.algorithm(), &decoded);
            if actual != digest {
                return Err(Self::fail(
                    file,
                    at,
                    format!("data: its content has digest {actual}, not {digest}"),
                ));
            }
        }
        Ok((digest, size))
    }

    /// Finds a descriptor's blob and checks its size.
    fn open_blob(
        &self,
        descriptor: &Value,
        file: &str,
        at: &DescriptorPath,
    ) -> Result<Blob, LayoutError> {
        let (digest, size) = self.descriptor_shape(descriptor, file, at)?;
        let blob_file = blob::blob_path(&digest);
        let (handle, actual) = self
            .root
            .open_file(&PathBuf::from(&blob_file))
            .map_err(|error| Self::fail(&blob_file, at, describe_path_error(&error)))?;
        if actual != size {
            return Err(Self::fail(
                &blob_file,
                at,
                format!("blob has {actual} bytes, but the descriptor's size is {size}"),
            ));
        }
        Ok(Blob {
            digest,
            size,
            file: blob_file,
            handle,
        })
    }

    /// Reads a JSON document blob whole (it is small: checked against
    /// [`MAX_DOCUMENT_SIZE`]) and verifies its digest.
    fn read_document(&self, blob: Blob, at: &DescriptorPath) -> Result<Value, LayoutError> {
        if blob.size > MAX_DOCUMENT_SIZE {
            return Err(Self::fail(
                &blob.file,
                at,
                format!(
                    "{} bytes: larger than the {MAX_DOCUMENT_SIZE} bytes a JSON document may have",
                    blob.size
                ),
            ));
        }
        let mut bytes = Vec::with_capacity(blob.size as usize);
        blob.handle
            .take(MAX_DOCUMENT_SIZE + 1)
            .read_to_end(&mut bytes)
            .map_err(|error| Self::fail(&blob.file, at, format!("cannot read: {error}")))?;
        let actual = Digest::compute(blob.digest.algorithm(), &bytes);
        if actual != blob.digest || bytes.len() as u64 != blob.size {
            return Err(Self::fail(
                &blob.file,
                at,
                format!("content has digest {actual}, not {}", blob.digest),
            ));
        }
        Self::parse(&blob.file, at, &bytes)
    }

    /// Streams a blob whose content we do not interpret.
    fn verify_blob(&self, blob: Blob, at: &DescriptorPath) -> Result<(), LayoutError> {
        let (actual, size) = blob::hash_stream(blob.handle, blob.digest.algorithm())
            .map_err(|error| Self::fail(&blob.file, at, format!("cannot read: {error}")))?;
        if actual != blob.digest || size != blob.size {
            return Err(Self::fail(
                &blob.file,
                at,
                format!("content has digest {actual}, not {}", blob.digest),
            ));
        }
        Ok(())
    }

    /// Something an index lists: a nested index, an image manifest, or
    /// another blob.
    /// `file` is the document that lists it.
    fn manifest(
        &mut self,
        descriptor: &Value,
        file: &str,
        at: &DescriptorPath,
        depth: usize,
    ) -> Result<(), LayoutError> {
        let blob = self.open_blob(descriptor, file, at)?;
        let media_type = media_type_of(descriptor).to_string();
        let size = blob.size;
        if is_index_type(&media_type) {
            if depth >= MAX_DEPTH {
                return Err(Self::fail(
                    &blob.file,
                    at,
                    format!("indexes nested more than {MAX_DEPTH} deep"),
                ));
            }
            let blob_file = blob.file.clone();
            let index = self.read_document(blob, at)?;
            self.index_document(&index, &blob_file, at, &media_type, depth + 1, false)?;
            let count = index["manifests"].as_array().map_or(0, Vec::len);
            self.passed(at, format!("{media_type}, {size} bytes, {count} manifests"));
        } else if is_image_type(&media_type) {
            let blob_file = blob.file.clone();
            let image = self.read_document(blob, at)?;
            let platform = descriptor.get("platform");
            self.image(&image, &blob_file, at, &media_type, platform)?;
            let layers = image["layers"].as_array().map_or(0, Vec::len);
            self.passed(at, format!("{media_type}, {size} bytes, {layers} layers"));
        } else {
            self.verify_blob(blob, at)?;
            self.passed(at, format!("{media_type}, {size} bytes"));
        }
        Ok(())
    }

    /// An image manifest: its rules, its config, its layers.
    fn image(
        &mut self,
        image: &Value,
        file: &str,
        at: &DescriptorPath,
        media_type: &str,
        platform: Option<&Value>,
    ) -> Result<(), LayoutError> {
        Self::document_rules(rules::image, image, media_type, file, at)?;
        let config_descriptor = &image["config"];
        let config_at = at.child("config".to_string(), config_descriptor);
        let config_type = media_type_of(config_descriptor).to_string();
        let layers = image["layers"].as_array().cloned().unwrap_or_default();
        let config_blob = self.open_blob(config_descriptor, file, &config_at)?;
        let config_size = config_blob.size;
        let diff_ids = if is_config_type(&config_type) {
            let config_file = config_blob.file.clone();
            let config = self.read_document(config_blob, &config_at)?;
            let diff_ids = Self::config(&config, &config_file, &config_at, platform, layers.len())?;
            Some(diff_ids)
        } else {
            self.verify_blob(config_blob, &config_at)?;
            None
        };
        self.passed(&config_at, format!("{config_type}, {config_size} bytes"));
        for (position, layer) in layers.iter().enumerate() {
            let layer_at = at.child(format!("layers[{position}]"), layer);
            let diff_id = diff_ids.as_ref().map(|ids| ids[position].clone());
            self.layer(layer, file, &layer_at, diff_id)?;
        }
        Ok(())
    }

    /// An image config (image-spec config.md): JSON with `os` and
    /// `architecture` (equal to the descriptor's platform when it has one)
    /// and `rootfs` of type `layers` with one `diff_id` per layer.
    fn config(
        config: &Value,
        file: &str,
        at: &DescriptorPath,
        platform: Option<&Value>,
        layer_count: usize,
    ) -> Result<Vec<Digest>, LayoutError> {
        let fail = |message: String| Self::fail(file, at, message);
        if !config.is_object() {
            return Err(fail("an image config must be a JSON object".to_string()));
        }
        for key in ["architecture", "os"] {
            let value = &config[key];
            let Some(text) = value.as_str() else {
                return Err(fail(format!("{key}: {value} (expected a string)")));
            };
            if let Some(wanted) = platform.and_then(|platform| platform[key].as_str()) {
                if wanted != text {
                    return Err(fail(format!(
                        "{key} {text:?} differs from the descriptor's platform {key} {wanted:?}"
                    )));
                }
            }
        }
        let rootfs = &config["rootfs"];
        if rootfs["type"].as_str() != Some("layers") {
            return Err(fail(format!(
                "rootfs.type: {} (expected \"layers\")",
                rootfs["type"]
            )));
        }
        let Some(ids) = rootfs["diff_ids"].as_array() else {
            return Err(fail(format!(
                "rootfs.diff_ids: {} (expected an array of digests)",
                rootfs["diff_ids"]
            )));
        };
        let mut diff_ids = Vec::with_capacity(ids.len());
        for (position, id) in ids.iter().enumerate() {
            let digest = id
                .as_str()
                .and_then(|text| text.parse::<Digest>().ok())
                .ok_or_else(|| {
                    fail(format!(
                        "rootfs.diff_ids[{position}]: {id} (expected a sha256 or sha512 digest)"
                    ))
                })?;
            diff_ids.push(digest);
        }
        if diff_ids.len() != layer_count {
            return Err(fail(format!(
                "rootfs.diff_ids has {} entries for {layer_count} layers",
                diff_ids.len()
            )));
        }
        Ok(diff_ids)
    }

    /// A layer: a tar stream (compressed as its media type says) whose
    /// uncompressed sha256 is its `diff_id`; any other media type is a
    /// blob whose `diff_id` is its own digest.
    fn layer(
        &mut self,
        layer: &Value,
        file: &str,
        at: &DescriptorPath,
        diff_id: Option<Digest>,
    ) -> Result<(), LayoutError> {
        let media_type = media_type_of(layer).to_string();
        let blob = self.open_blob(layer, file, at)?;
        let blob_file = blob.file.clone();
        let (digest, size) = (blob.digest.clone(), blob.size);
        let seen = match self.seen.get(&digest) {
            Some(seen) if seen.size == size => seen.clone(),
            _ => {
                let seen = self.read_layer(blob, at, &media_type)?;
                self.seen.insert(digest.clone(), seen.clone());
                seen
            }
        };
        let uncompressed = seen.diff_id.clone().unwrap_or_else(|| digest.clone());
        if let Some(expected) = &diff_id {
            if *expected != uncompressed {
                return Err(Self::fail(
                    &blob_file,
                    at,
                    format!(
                        "uncompressed content has digest {uncompressed}, but the config's diff_id is {expected}"
                    ),
                ));
            }
        }
        self.passed(
            at,
            format!("{media_type}, {size} bytes, diff_id {uncompressed}"),
        );
        Ok(())
    }

    fn read_layer(
        &self,
        blob: Blob,
        at: &DescriptorPath,
        media_type: &str,
    ) -> Result<Seen, LayoutError> {
        let Some(compression) = layer_compression(media_type) else {
            let size = blob.size;
            self.verify_blob(blob, at)?;
            return Ok(Seen {
                size,
                diff_id: None,
            });
        };
        let algorithm = blob.digest.algorithm();
        let reading: LayerReading = blob::read_layer(blob.handle, algorithm, compression)
            .map_err(|error| Self::fail(&blob.file, at, format!("cannot read: {error}")))?;
        if reading.digest != blob.digest || reading.size != blob.size {
            return Err(Self::fail(
                &blob.file,
                at,
                format!("content has digest {}, not {}", reading.digest, blob.digest),
            ));
        }
        let content = reading
            .content
            .map_err(|error| Self::fail(&blob.file, at, error.to_string()))?;
        Ok(Seen {
            size: blob.size,
            diff_id: Some(content.diff_id),
        })
    }
}

pub(super) fn describe_path_error(error: &PathError) -> String {
    match error {
        PathError::NotFound { .. } => "missing: no such file in the layout".to_string(),
        other => other.to_string(),
    }
}

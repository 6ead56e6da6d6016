//! Pushing a layout (`oci-push LAYOUT REF...`): its one top-level manifest
//! (an index or an image) with everything it references, to each REF,
//! through the registry client's one write path
//! ([`Pusher`](crate::registry::push::Pusher)), replacing `crane push`.
//!
//! The layout is validated in full first ([`validate_layout`]): a broken
//! layout pushes nothing. Then every object reachable from the top manifest
//! is indexed by digest as a [`ChildSources`] whose content is local:
//! manifests and small blobs held as bytes (a manifest's PUT needs its
//! bytes; a small blob can go in one POST where the registry allows),
//! bigger blobs streamed from their file, reopened for each attempt and
//! never held whole.
//!
//! The requests are the pusher's, as for `deploy`: HEAD the REF (a re-push
//! of an unchanged layout ends there, one HEAD per REF), PUT, and only when
//! the registry says children are missing copy them, children before their
//! parents. Once a REF holds the manifest, its repository is known to hold
//! every blob below it, so later REFs in other repositories of that
//! registry mount blobs from it instead of uploading them again.
//!
//! REFs are checked before anything is sent: each is pinned to the top
//! manifest's digest (a REF naming another digest is refused) and
//! duplicates are dropped; a REF without a tag is pushed by digest only, as
//! `deploy` does with such refs.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io::Read as _;
use std::path::Path;
use std::sync::Arc;

use crate::registry::push::{
    manifest_children, BlobContent, ChildSources, Manifest, Pushed, Pusher,
};
use crate::registry::write::SINGLE_POST_MAX_SIZE;
use crate::registry::{
    protocol, BodySource, Descriptor, Digest, ErrorKind, Reference, RegistryError,
};

use super::blob::blob_path;
use super::json::MAX_DOCUMENT_SIZE;
use super::path::Root;
use super::validate::{describe_path_error, validate_layout, Checked, LayoutError};

/// Why a layout cannot be pushed (before any request is sent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushError {
    /// The layout is not valid (what `oci-validate` says).
    Layout(LayoutError),
    /// The layout is valid but is not one manifest to push, or a file
    /// changed after it was validated: the file and what is wrong.
    Content { file: String, message: String },
    /// A REF that cannot take this layout.
    Reference { reference: String, message: String },
}

impl fmt::Display for PushError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PushError::Layout(error) => error.fmt(formatter),
            PushError::Content { file, message } => write!(formatter, "{file}: {message}"),
            PushError::Reference { reference, message } => {
                write!(formatter, "{reference}: {message}")
            }
        }
    }
}

impl std::error::Error for PushError {}

/// How the layout gives the pusher one object.
#[derive(Debug)]
enum Held {
    Bytes(Arc<[u8]>),
    /// Streamed from this file (relative to the layout) of this size.
    File {
        path: String,
        size: u64,
    },
}

/// A validated layout, ready to push: its top manifest and everything
/// below it, by digest.
pub struct LayoutContent {
    root: Root,
    top: Manifest,
    held: HashMap<Digest, Held>,
    /// Every object below the top manifest (and the top one last), each
    /// once, children before their parents.
    descriptors: Vec<Descriptor>,
}

impl fmt::Debug for LayoutContent {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("LayoutContent")
            .field("root", &self.root)
            .field("top", &self.top.digest)
            .field("objects", &self.descriptors.len())
            .finish()
    }
}

/// Validates the layout at `layout` (`report` sees every object checked)
/// and reads what pushing it needs.
pub fn load(layout: &Path, report: &mut dyn FnMut(&Checked)) -> Result<LayoutContent, PushError> {
    let valid = validate_layout(layout, report).map_err(PushError::Layout)?;
    let listed = valid.index["manifests"].as_array().map_or(0, Vec::len);
    if listed != 1 {
        return Err(content_error(
            "index.json",
            format!(
                "lists {listed} manifests; a layout to push has exactly one top-level manifest (an index or an image)"
            ),
        ));
    }
    let top = manifest_children(&valid.index)
        .map_err(|error| content_error("index.json", error.to_string()))?
        .into_iter()
        .next()
        .ok_or_else(|| content_error("index.json", "lists no manifest".to_string()))?;
    if !protocol::is_manifest_media_type(&top.media_type) {
        return Err(content_error(
            "index.json",
            format!(
                "manifests[0] ({}) is a {}, not an image index or manifest",
                top.digest, top.media_type
            ),
        ));
    }
    let mut content = LayoutContent {
        root: valid.root,
        top: Manifest {
            bytes: Arc::from(&[][..]),
            digest: top.digest.clone(),
            media_type: top.media_type.clone(),
            children: Vec::new(),
        },
        held: HashMap::new(),
        descriptors: Vec::new(),
    };
    content.top = content.read_manifest(&top)?;
    Ok(content)
}

fn content_error(file: &str, message: String) -> PushError {
    PushError::Content {
        file: file.to_string(),
        message,
    }
}

impl LayoutContent {
    /// The manifest every REF will point at.
    pub fn manifest(&self) -> &Manifest {
        &self.top
    }

    /// How many objects a push may send (the top manifest included).
    pub fn object_count(&self) -> usize {
        self.descriptors.len()
    }

    /// The REFs to push to, each pinned to the manifest's digest, in order,
    /// duplicates dropped; the first REF naming another digest is refused.
    pub fn destinations(&self, refs: &[Reference]) -> Result<Vec<Reference>, PushError> {
        let digest = &self.top.digest;
        let mut seen = HashSet::with_capacity(refs.len());
        let mut destinations = Vec::with_capacity(refs.len());
        for reference in refs {
            let pinned = match reference.digest() {
                Some(wanted) if Digest::compute(wanted.algorithm(), &self.top.bytes) != *wanted => {
                    return Err(PushError::Reference {
                        reference: reference.to_string(),
                        message: format!(
                            "names digest {wanted}, but the layout's manifest is {digest}"
                        ),
                    });
                }
                Some(_) => reference.clone(),
                None => reference.with_digest(digest.clone()),
            };
            if seen.insert(pinned.clone()) {
                destinations.push(pinned);
            }
        }
        Ok(destinations)
    }

    /// Makes `destination` (a pinned REF) point at the manifest, with
    /// everything below it present in its repository.
    pub fn push(&self, pusher: &Pusher, destination: &Reference) -> Result<Pushed, RegistryError> {
        let pushed = pusher.push_manifest(destination, &self.top, self)?;
        // The registry holds the manifest there, so it holds all below it:
        // later REFs of this registry mount from here.
        for descriptor in &self.descriptors {
            pusher.note_present(destination, descriptor);
        }
        Ok(pushed)
    }

    /// Whether `destination` already points at exactly this manifest (one
    /// HEAD): what `--dry-run` asks.
    pub fn is_current(
        &self,
        pusher: &Pusher,
        destination: &Reference,
    ) -> Result<bool, RegistryError> {
        pusher.manifest_is_current(
            destination,
            &self.top.digest,
            Some(self.top.bytes.len() as u64),
        )
    }

    /// Reads the manifest `descriptor` names, and everything below it.
    fn read_manifest(&mut self, descriptor: &Descriptor) -> Result<Manifest, PushError> {
        let bytes = self.read_whole(descriptor, MAX_DOCUMENT_SIZE)?;
        let manifest = Manifest::from_bytes_described(bytes.clone(), descriptor)
            .map_err(|error| content_error(&blob_path(&descriptor.digest), error.to_string()))?;
        for child in &manifest.children {
            if self.held.contains_key(&child.digest) {
                continue;
            }
            if protocol::is_manifest_media_type(&child.media_type) {
                self.read_manifest(child)?;
                continue;
            }
            let held = if child.size <= SINGLE_POST_MAX_SIZE {
                Held::Bytes(self.read_whole(child, SINGLE_POST_MAX_SIZE)?)
            } else {
                let (path, _, size) = self.open(child)?;
                Held::File { path, size }
            };
            self.held.insert(child.digest.clone(), held);
            self.descriptors.push(child.clone());
        }
        self.held
            .insert(descriptor.digest.clone(), Held::Bytes(bytes));
        self.descriptors.push(descriptor.clone());
        Ok(manifest)
    }

    /// Opens a descriptor's blob, which must still have the descriptor's
    /// size.
    fn open(&self, descriptor: &Descriptor) -> Result<(String, std::fs::File, u64), PushError> {
        let path = blob_path(&descriptor.digest);
        let (file, size) = self.root.open_file(Path::new(&path)).map_err(|error| {
            content_error(
                &path,
                format!(
                    "{} {}: {}",
                    descriptor.media_type,
                    descriptor.digest,
                    describe_path_error(&error)
                ),
            )
        })?;
        if size != descriptor.size {
            return Err(content_error(
                &path,
                format!(
                    "has {size} bytes, but its descriptor says {} (it changed after validation)",
                    descriptor.size
                ),
            ));
        }
        Ok((path, file, size))
    }

    /// A small blob's bytes, which must still have its digest.
    fn read_whole(&self, descriptor: &Descriptor, limit: u64) -> Result<Arc<[u8]>, PushError> {
        let (path, file, size) = self.open(descriptor)?;
        if size > limit {
            return Err(content_error(
                &path,
                format!("{size} bytes: larger than the {limit} bytes read whole"),
            ));
        }
        let mut bytes = Vec::with_capacity(size as usize);
        file.take(limit)
            .read_to_end(&mut bytes)
            .map_err(|error| content_error(&path, format!("cannot read: {error}")))?;
        descriptor.digest.verify(&bytes).map_err(|mismatch| {
            content_error(&path, format!("{mismatch} (it changed after validation)"))
        })?;
        Ok(Arc::from(bytes))
    }

    /// A big blob as a body source: its file, reopened (and its size
    /// checked again) for each attempt.
    fn stream(&self, path: &str, size: u64) -> BodySource {
        let root = self.root.clone();
        let path = path.to_string();
        BodySource::new(size, move || {
            let local = |message: String| {
                RegistryError::new(
                    ErrorKind::InvalidInput,
                    format!("layout file {path}: {message}"),
                )
            };
            let (file, actual) = root
                .open_file(Path::new(&path))
                .map_err(|error| local(error.to_string()))?;
            if actual != size {
                return Err(local(format!(
                    "has {actual} bytes, {size} when it was validated"
                )));
            }
            Ok(Box::new(file.take(size)) as Box<dyn std::io::Read + Send>)
        })
    }
}

impl ChildSources for LayoutContent {
    fn local(&self, digest: &Digest) -> Option<BlobContent> {
        Some(match self.held.get(digest)? {
            Held::Bytes(bytes) => BlobContent::Bytes(bytes.clone()),
            Held::File { path, size } => BlobContent::Stream(self.stream(path, *size)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::media_type::{OCI_CONFIG, OCI_INDEX, OCI_LAYER, OCI_MANIFEST};
    use serde_json::json;

    fn write_blob(root: &Path, media_type: &str, bytes: &[u8]) -> serde_json::Value {
        let digest = Digest::sha256_of(bytes);
        std::fs::write(root.join(blob_path(&digest)), bytes).unwrap();
        json!({"mediaType": media_type, "digest": digest.as_str(), "size": bytes.len()})
    }

    /// A one-image layout whose layer (a plain tar) is too big to be held;
    /// `listed` copies of the manifest in index.json. Returns the image
    /// manifest's descriptor and the layer's.
    fn layout(root: &Path, listed: usize) -> (serde_json::Value, serde_json::Value) {
        std::fs::create_dir_all(root.join("blobs/sha256")).unwrap();
        std::fs::write(
            root.join("oci-layout"),
            br#"{"imageLayoutVersion":"1.0.0"}"#,
        )
        .unwrap();
        let mut builder = ::tar::Builder::new(Vec::new());
        let data = vec![7u8; 100_000];
        let mut header = ::tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append_data(&mut header, "file", &data[..]).unwrap();
        let tar = builder.into_inner().unwrap();
        let layer = write_blob(root, OCI_LAYER, &tar);
        let config = json!({
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": [Digest::sha256_of(&tar).as_str()]},
        });
        let config = write_blob(root, OCI_CONFIG, config.to_string().as_bytes());
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": config,
            "layers": [layer],
        });
        let manifest = write_blob(root, OCI_MANIFEST, manifest.to_string().as_bytes());
        let index = json!({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": vec![manifest.clone(); listed],
        });
        std::fs::write(root.join("index.json"), index.to_string()).unwrap();
        (manifest, layer)
    }

    fn digest_of(descriptor: &serde_json::Value) -> Digest {
        descriptor["digest"].as_str().unwrap().parse().unwrap()
    }

    #[test]
    fn a_layout_is_held_small_and_streamed_big() {
        let directory = tempfile::tempdir().unwrap();
        let (manifest, layer) = layout(directory.path(), 1);
        let content = load(directory.path(), &mut |_| {}).unwrap();
        assert_eq!(content.manifest().digest, digest_of(&manifest));
        assert_eq!(content.manifest().media_type, OCI_MANIFEST);
        assert_eq!(content.object_count(), 3);
        // Children before their parent, the top manifest last.
        let order: Vec<&str> = content
            .descriptors
            .iter()
            .map(|descriptor| descriptor.media_type.as_str())
            .collect();
        assert_eq!(order, [OCI_CONFIG, OCI_LAYER, OCI_MANIFEST]);
        assert!(matches!(
            content.local(&digest_of(&manifest)),
            Some(BlobContent::Bytes(_))
        ));
        let Some(BlobContent::Stream(source)) = content.local(&digest_of(&layer)) else {
            panic!("the layer is streamed");
        };
        let mut streamed = Vec::new();
        source.open().unwrap().read_to_end(&mut streamed).unwrap();
        assert_eq!(Digest::sha256_of(&streamed), digest_of(&layer));
        assert!(content.local(&Digest::sha256_of(b"elsewhere")).is_none());

        // A file that changed after validation fails its upload clearly.
        let file = directory.path().join(blob_path(&digest_of(&layer)));
        std::fs::write(&file, b"short").unwrap();
        let error = source.open().err().unwrap().to_string();
        assert!(
            error.contains("has 5 bytes") && error.contains(&blob_path(&digest_of(&layer))),
            "{error}"
        );
    }

    #[test]
    fn refs_are_pinned_once_each_and_a_wrong_digest_is_refused() {
        let directory = tempfile::tempdir().unwrap();
        let (manifest, layer) = layout(directory.path(), 1);
        let content = load(directory.path(), &mut |_| {}).unwrap();
        let digest = digest_of(&manifest);
        let parse = |text: &str| text.parse::<Reference>().unwrap();
        let refs = [
            parse("localhost:5000/a:1"),
            parse("localhost:5000/b"),
            parse(&format!("localhost:5000/a:1@{digest}")),
        ];
        let pinned: Vec<String> = content
            .destinations(&refs)
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            pinned,
            [
                format!("localhost:5000/a:1@{digest}"),
                format!("localhost:5000/b@{digest}"),
            ]
        );
        let wrong = parse(&format!("localhost:5000/c:1@{}", digest_of(&layer)));
        assert_eq!(
            content.destinations(&[wrong]).unwrap_err().to_string(),
            format!(
                "localhost:5000/c:1@{}: names digest {}, but the layout's manifest is {digest}",
                digest_of(&layer),
                digest_of(&layer)
            )
        );
    }

    #[test]
    fn a_layout_of_several_top_level_manifests_is_not_pushed() {
        let directory = tempfile::tempdir().unwrap();
        layout(directory.path(), 2);
        let error = load(directory.path(), &mut |_| {}).unwrap_err();
        assert_eq!(
            error.to_string(),
            "index.json: lists 2 manifests; a layout to push has exactly one top-level manifest (an index or an image)"
        );
    }
}

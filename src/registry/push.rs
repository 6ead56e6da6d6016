//! Writing to registries with as few requests as possible: the push logic,
//! composed of the primitives of [`super::write`] and the client's cached
//! reads.
//!
//! The economy (what `deploy` promises, and its benchmark checks):
//!
//! - A manifest: HEAD the destination first; if it already has exactly these
//!   bytes (same digest, and same size when known) nothing else is sent.
//!   Otherwise PUT it. Only if the registry refuses because children are
//!   missing (the distribution registry answers 400 `MANIFEST_BLOB_UNKNOWN`
//!   for an index whose children live in another repository) are the
//!   children copied, and the PUT repeated once. Children are not checked
//!   first: for the common case (a new tag of content already present) that
//!   would cost a request per child for nothing.
//! - Copying children into a repository happens once per repository per run
//!   (single-flight per host, repository and digest, shared by all workers),
//!   children first: a child manifest's own blobs are made present before
//!   it is PUT, so a child PUT is never refused and never repeated.
//! - A blob pushed for its own sake (a deploy object of type blob) is
//!   HEADed first, whatever its size, so a re-run of unchanged input costs
//!   one request per ref and says "already there"; a missing one is then
//!   uploaded in as few requests as the registry allows (one POST where it
//!   takes single-POST uploads, else POST and PUT).
//! - Children blobs move by cross-repository mount when source and
//!   destination share a registry (one POST; the registry answers 202 with
//!   an upload session when the source lacks the blob, and then the bytes
//!   are read and uploaded, or the copy fails clearly). Across registries
//!   they are read and uploaded, with a HEAD first for blobs over 64 KiB,
//!   where skipping an upload is worth a request (a missing child is the
//!   usual case: the registry just said so).
//! - Every source object is read at most once per run: reads go through the
//!   client's cache, and blobs too big for it are streamed once per
//!   destination registry, later repositories of that registry mounting
//!   from the first.
//!
//! Sources are a [`ChildSources`]: registry references (a deploy object's
//! `lookup`), or content held locally (an OCI layout), which wins.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::registry::cache::SingleFlight;
use crate::registry::client::{Client, Descriptor, Object, ObjectType};
use crate::registry::digest::Digest;
use crate::registry::error::{ErrorCode, ErrorKind, RegistryError};
pub use crate::registry::manifest::{manifest_children, Manifest};
use crate::registry::protocol;
use crate::registry::reference::Reference;
use crate::registry::transport::{BodySource, RequestBody};
use crate::registry::write::MountOutcome;
use crate::spec::media_type;

/// Blobs over this size get a HEAD before they are copied as a child (the
/// HEAD is cheap next to re-sending bytes; under it, uploading blindly is
/// one request less when the blob is missing, which is the usual case for
/// a child the registry said was missing).
pub const HEAD_FIRST_BLOB_SIZE: u64 = 64 * 1024;

/// Blobs up to this size are read whole through the client's cache (read
/// once, uploaded to any number of registries); bigger ones are streamed.
const BUFFERED_COPY_SIZE: u64 = protocol::MAX_CACHED_BODY_SIZE;

/// How a push ended when it did not fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pushed {
    /// Bytes were written (or a blob was mounted).
    Written,
    /// The destination already had exactly these bytes; nothing was written.
    AlreadyThere,
}

/// A blob's bytes as a source holds them: whole, or a stream opened once
/// per attempt.
#[derive(Clone)]
pub enum BlobContent {
    Bytes(Arc<[u8]>),
    Stream(BodySource),
}

impl BlobContent {
    fn length(&self) -> u64 {
        match self {
            BlobContent::Bytes(bytes) => bytes.len() as u64,
            BlobContent::Stream(source) => source.length,
        }
    }

    fn into_body(self) -> RequestBody {
        match self {
            BlobContent::Bytes(bytes) => RequestBody::Bytes(bytes),
            BlobContent::Stream(source) => RequestBody::Stream(source),
        }
    }
}

/// Where a manifest's children can be found: registry references (a deploy
/// object's `lookup`: entries by digest, and the `""` fallback), and content
/// the source holds itself (an OCI layout's blobs), which wins.
pub trait ChildSources: Sync {
    /// The reference listed for exactly this digest (none by default:
    /// sources that hold their content, or have none, list nothing).
    fn listed(&self, _digest: &Digest) -> Option<&Reference> {
        None
    }
    /// The reference for any digest not listed (none by default).
    fn fallback(&self) -> Option<&Reference> {
        None
    }

    /// The bytes of `digest` when this source holds them (a manifest's
    /// must be [`BlobContent::Bytes`]); None: look in a registry.
    fn local(&self, _digest: &Digest) -> Option<BlobContent> {
        None
    }

    /// Where to read `digest`: its listed repository, else the fallback's,
    /// pinned to `digest`.
    fn source_for(&self, digest: &Digest) -> Option<Reference> {
        self.listed(digest)
            .or_else(|| self.fallback())
            .map(|reference| reference.without_tag().with_digest(digest.clone()))
    }
}

/// The children of a copied manifest: entries listed by the object win, the
/// repository the manifest was read from is the fallback.
struct NestedSources<'a> {
    parent: &'a dyn ChildSources,
    fallback: Reference,
}

impl ChildSources for NestedSources<'_> {
    fn listed(&self, digest: &Digest) -> Option<&Reference> {
        self.parent.listed(digest)
    }
    fn fallback(&self) -> Option<&Reference> {
        Some(&self.fallback)
    }
    fn local(&self, digest: &Digest) -> Option<BlobContent> {
        self.parent.local(digest)
    }
}

/// Sources with nothing listed (a manifest with no lookup).
pub struct NoSources;

impl ChildSources for NoSources {}

/// Where a child comes from.
enum ChildSource {
    Local(BlobContent),
    Registry(Reference),
}

/// `(host, repository, digest)`: one object in one repository.
type PresenceKey = (String, String, Digest);

/// Pushes manifests and blobs; share one per run between all workers (it
/// remembers what each repository was given in this run).
pub struct Pusher {
    client: Client,
    /// Children made present, once per repository per run.
    present: SingleFlight<PresenceKey, (), RegistryError>,
    /// Per host, a repository known to hold each blob we pushed there, so
    /// a second repository of that registry mounts instead of re-reading.
    blob_homes: Mutex<HashMap<(String, Digest), String>>,
}

impl Pusher {
    pub fn new(client: Client) -> Pusher {
        Pusher {
            client,
            present: SingleFlight::new(),
            blob_homes: Mutex::new(HashMap::new()),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Reads a manifest to copy (through the client's cache: each source is
    /// read at most once per run).
    pub fn read_manifest(&self, source: &Reference) -> Result<Manifest, RegistryError> {
        let object = self
            .client
            .get_manifest(source)?
            .ok_or_else(|| not_found(source, "manifest"))?;
        manifest_of(&object)
    }

    /// Whether `destination` (tag or digest) already points at `digest`
    /// (and `size`, when known): one HEAD, answered from the cache when the
    /// run already knows.
    pub fn manifest_is_current(
        &self,
        destination: &Reference,
        digest: &Digest,
        size: Option<u64>,
    ) -> Result<bool, RegistryError> {
        let target = match destination.tag() {
            Some(_) => destination.without_digest(),
            None => destination.clone(),
        };
        Ok(match self.client.head_manifest(&target)? {
            Some(found) => found.digest == *digest && size.is_none_or(|size| size == found.size),
            None => false,
        })
    }

    /// Whether the destination repository has blob `digest` (one HEAD).
    pub fn blob_is_present(
        &self,
        destination: &Reference,
        digest: &Digest,
    ) -> Result<bool, RegistryError> {
        let target = destination.without_tag().with_digest(digest.clone());
        Ok(self.client.head_blob(&target)?.is_some())
    }

    /// Makes `destination` (a tag, a digest, or both) point at `manifest`,
    /// copying missing children from `sources` only when the registry says
    /// some are missing. See the module documentation for the requests.
    pub fn push_manifest(
        &self,
        destination: &Reference,
        manifest: &Manifest,
        sources: &dyn ChildSources,
    ) -> Result<Pushed, RegistryError> {
        let size = manifest.bytes.len() as u64;
        if self.manifest_is_current(destination, &manifest.digest, Some(size))? {
            self.mark_present(destination, &manifest.digest);
            return Ok(Pushed::AlreadyThere);
        }
        match self.put_manifest(destination, manifest) {
            Ok(()) => {}
            Err(error) if children_missing(&error) && !manifest.children.is_empty() => {
                self.ensure_children(destination, &manifest.children, sources)?;
                self.put_manifest(destination, manifest)?;
            }
            Err(error) => return Err(error),
        }
        self.mark_present(destination, &manifest.digest);
        Ok(Pushed::Written)
    }

    /// Pushes blob bytes to the destination's repository by digest: a HEAD
    /// (so a re-run writes nothing), then the upload.
    pub fn push_blob(
        &self,
        destination: &Reference,
        bytes: &[u8],
        digest: &Digest,
    ) -> Result<Pushed, RegistryError> {
        self.push_blob_content(destination, digest, BlobContent::Bytes(Arc::from(bytes)))
    }

    /// [`Pusher::push_blob`] from bytes or a stream.
    pub fn push_blob_content(
        &self,
        destination: &Reference,
        digest: &Digest,
        content: BlobContent,
    ) -> Result<Pushed, RegistryError> {
        if self.blob_is_present(destination, digest)? {
            self.mark_present(destination, digest);
            return Ok(Pushed::AlreadyThere);
        }
        let length = content.length();
        self.client
            .upload(destination, digest, content.into_body(), None)?;
        self.after_blob_written(destination, digest, length);
        Ok(Pushed::Written)
    }

    /// Copies blob `source` (pinned by digest) into the destination's
    /// repository: mount within a registry, else read and upload.
    pub fn copy_blob(
        &self,
        destination: &Reference,
        source: &Reference,
        size: Option<u64>,
    ) -> Result<Pushed, RegistryError> {
        let digest = source_digest(source, "blob source", " (blobs are copied by digest)")?;
        let key = presence_key(destination, &digest);
        self.present.get_or_try_insert_with(&key, || {
            self.copy_blob_now(destination, source, &digest, size)
        })?;
        Ok(Pushed::Written)
    }

    /// Copies a child manifest (read from `source`) into the destination's
    /// repository by digest, its own children first. Blind (no HEAD): it is
    /// only asked for after the registry said children were missing.
    pub fn copy_manifest(
        &self,
        destination: &Reference,
        source: &Reference,
        sources: &dyn ChildSources,
    ) -> Result<(), RegistryError> {
        let digest = source_digest(source, "child manifest source", "")?;
        let key = presence_key(destination, &digest);
        self.present.get_or_try_insert_with(&key, || {
            let manifest = self.read_manifest(source)?;
            let nested = NestedSources {
                parent: sources,
                fallback: source.repository_reference(),
            };
            self.ensure_children(destination, &manifest.children, &nested)?;
            self.put_child(destination, &manifest)
        })
    }

    /// Makes every child present in the destination's repository.
    fn ensure_children(
        &self,
        destination: &Reference,
        children: &[Descriptor],
        sources: &dyn ChildSources,
    ) -> Result<(), RegistryError> {
        for child in children {
            let source = match sources.local(&child.digest) {
                Some(content) => ChildSource::Local(content),
                None => {
                    ChildSource::Registry(sources.source_for(&child.digest).ok_or_else(|| {
                        RegistryError::new(
                            ErrorKind::InvalidInput,
                            format!(
                                "{} is missing child {} and lookup names no place to copy it from",
                                destination.repository_reference(),
                                child.digest
                            ),
                        )
                    })?)
                }
            };
            let is_manifest = protocol::is_manifest_media_type(&child.media_type);
            match (source, is_manifest) {
                (ChildSource::Registry(source), true) => {
                    self.copy_manifest(destination, &source, sources)?
                }
                (ChildSource::Registry(source), false) => {
                    self.copy_blob(destination, &source, Some(child.size))?;
                }
                (ChildSource::Local(content), true) => {
                    self.copy_local_manifest(destination, child, content, sources)?
                }
                (ChildSource::Local(content), false) => {
                    self.copy_local_blob(destination, &child.digest, content)?
                }
            }
        }
        Ok(())
    }

    /// A child manifest held by the source: its children, then a PUT by
    /// digest (once per repository per run).
    fn copy_local_manifest(
        &self,
        destination: &Reference,
        child: &Descriptor,
        content: BlobContent,
        sources: &dyn ChildSources,
    ) -> Result<(), RegistryError> {
        let BlobContent::Bytes(bytes) = content else {
            return Err(RegistryError::new(
                ErrorKind::InvalidInput,
                format!(
                    "child manifest {} must be given as bytes, not a stream",
                    child.digest
                ),
            ));
        };
        let key = presence_key(destination, &child.digest);
        self.present.get_or_try_insert_with(&key, || {
            child.digest.verify(&bytes).map_err(|mismatch| {
                RegistryError::new(
                    ErrorKind::DigestMismatch,
                    format!("child manifest: {mismatch}"),
                )
                .with_source(mismatch)
            })?;
            let manifest =
                Manifest::from_bytes_described(bytes.clone(), child).map_err(|error| {
                    RegistryError::new(
                        ErrorKind::InvalidInput,
                        format!("child manifest {}: {error}", child.digest),
                    )
                    .with_source(error)
                })?;
            self.ensure_children(destination, &manifest.children, sources)?;
            self.put_child(destination, &manifest)
        })
    }

    /// A child blob held by the source (once per repository per run): a
    /// mount when another repository of this registry got it in this run
    /// (no bytes sent; a declined mount uploads into the session it
    /// opened), else a HEAD when it is big, then the upload.
    fn copy_local_blob(
        &self,
        destination: &Reference,
        digest: &Digest,
        content: BlobContent,
    ) -> Result<(), RegistryError> {
        let key = presence_key(destination, digest);
        self.present.get_or_try_insert_with(&key, || {
            let length = content.length();
            let mut session = None;
            match self.blob_home(destination.host(), digest) {
                Some(home) if home == destination.repository() => return Ok(()),
                Some(home) => match self.client.mount_from(destination, digest, &home)? {
                    MountOutcome::Mounted => {
                        self.after_blob_written(destination, digest, length);
                        return Ok(());
                    }
                    MountOutcome::UploadRequired(opened) => session = Some(opened),
                },
                None => {
                    if length > HEAD_FIRST_BLOB_SIZE && self.blob_is_present(destination, digest)? {
                        return Ok(());
                    }
                }
            }
            self.client
                .upload(destination, digest, content.clone().into_body(), session)?;
            self.after_blob_written(destination, digest, length);
            Ok(())
        })
    }

    fn copy_blob_now(
        &self,
        destination: &Reference,
        source: &Reference,
        digest: &Digest,
        size: Option<u64>,
    ) -> Result<(), RegistryError> {
        let same_registry = source.host() == destination.host();
        let mount_from = if same_registry {
            Some(source.repository().to_string())
        } else {
            self.blob_home(destination.host(), digest)
        };
        if let Some(from) = mount_from {
            if from == destination.repository() {
                return Ok(());
            }
            match self.client.mount_from(destination, digest, &from)? {
                MountOutcome::Mounted => {
                    self.after_blob_written(destination, digest, size.unwrap_or(0));
                    return Ok(());
                }
                MountOutcome::UploadRequired(session) => {
                    // The source lacks it (or the registry declined): read
                    // it and upload into the session we were given.
                    let content = self.read_blob(source, digest, size)?;
                    let length = content.length();
                    self.client
                        .upload(destination, digest, content.into_body(), Some(session))?;
                    self.after_blob_written(destination, digest, length);
                    return Ok(());
                }
            }
        }
        if size.is_none_or(|size| size > HEAD_FIRST_BLOB_SIZE)
            && self.blob_is_present(destination, digest)?
        {
            return Ok(());
        }
        let content = self.read_blob(source, digest, size)?;
        let length = content.length();
        self.client
            .upload(destination, digest, content.into_body(), None)?;
        self.after_blob_written(destination, digest, length);
        Ok(())
    }

    /// The bytes of a blob to copy: read whole through the cache when
    /// small (read once per run), else a verified stream opened once per
    /// attempt.
    fn read_blob(
        &self,
        source: &Reference,
        digest: &Digest,
        size: Option<u64>,
    ) -> Result<BlobContent, RegistryError> {
        let pinned = source.without_tag().with_digest(digest.clone());
        if size.is_some_and(|size| size <= BUFFERED_COPY_SIZE) {
            let object = self
                .client
                .get_blob(&pinned)?
                .ok_or_else(|| not_found(&pinned, "blob"))?;
            return Ok(BlobContent::Bytes(object.bytes));
        }
        let length = match size {
            Some(size) => size,
            None => {
                self.client
                    .head_blob(&pinned)?
                    .ok_or_else(|| not_found(&pinned, "blob"))?
                    .size
            }
        };
        Ok(BlobContent::Stream(
            self.client.blob_source(&pinned, length),
        ))
    }

    /// Records that `destination`'s repository holds `child` (a manifest
    /// there lists it, so the registry has it): later copies in this run
    /// skip it there, and other repositories of that registry mount a blob
    /// from there.
    pub fn note_present(&self, destination: &Reference, child: &Descriptor) {
        if !protocol::is_manifest_media_type(&child.media_type) {
            self.after_blob_written(destination, &child.digest, child.size);
        }
        self.mark_present(destination, &child.digest);
    }

    fn blob_home(&self, host: &str, digest: &Digest) -> Option<String> {
        self.blob_homes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&(host.to_string(), digest.clone()))
            .cloned()
    }

    fn after_blob_written(&self, destination: &Reference, digest: &Digest, size: u64) {
        self.blob_homes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry((destination.host().to_string(), digest.clone()))
            .or_insert_with(|| destination.repository().to_string());
        let target = destination
            .repository_reference()
            .with_digest(digest.clone());
        self.client.remember_descriptor(
            &target,
            ObjectType::Blob,
            &Descriptor {
                media_type: media_type::OCTET_STREAM.to_string(),
                digest: digest.clone(),
                size,
            },
        );
    }

    fn mark_present(&self, destination: &Reference, digest: &Digest) {
        let key = presence_key(destination, digest);
        let _ = self.present.get_or_try_insert_with(&key, || Ok(()));
    }

    /// The PUT of `manifest` to `destination`: its tag, or its digest when
    /// it has no tag.
    ///
    /// Not marked present here: `copy_manifest` calls this while it holds
    /// the presence slot of this very digest, and marking would wait on
    /// itself (the deadlock this comment holds down). Callers mark it.
    fn put_manifest(
        &self,
        destination: &Reference,
        manifest: &Manifest,
    ) -> Result<(), RegistryError> {
        let target = match destination.tag() {
            Some(_) => destination.clone(),
            None => destination.with_digest(manifest.digest.clone()),
        };
        self.client
            .put_manifest(&target, &manifest.media_type, manifest.bytes.clone())?;
        Ok(())
    }

    /// A child manifest goes in by digest only.
    fn put_child(&self, destination: &Reference, manifest: &Manifest) -> Result<(), RegistryError> {
        let target = destination
            .repository_reference()
            .with_digest(manifest.digest.clone());
        self.put_manifest(&target, manifest)
    }
}

/// The digest a copy's `source` must name (copies go by digest); else
/// `WHAT SOURCE has no digestWHY`, an input error.
fn source_digest(source: &Reference, what: &str, why: &str) -> Result<Digest, RegistryError> {
    source.digest().cloned().ok_or_else(|| {
        RegistryError::new(
            ErrorKind::InvalidInput,
            format!("{what} {source} has no digest{why}"),
        )
    })
}

fn presence_key(destination: &Reference, digest: &Digest) -> PresenceKey {
    (
        destination.host().to_string(),
        destination.repository().to_string(),
        digest.clone(),
    )
}

fn not_found(reference: &Reference, what: &str) -> RegistryError {
    RegistryError::new(
        ErrorKind::Status,
        format!("{what} {reference} not found at its source"),
    )
}

fn manifest_of(object: &Object) -> Result<Manifest, RegistryError> {
    Manifest::from_bytes(object.bytes.clone(), object.descriptor.digest.clone()).map_err(|error| {
        RegistryError::new(
            ErrorKind::InvalidResponse,
            format!("manifest {} {error}", object.descriptor.digest),
        )
        .with_source(error)
    })
}

/// Whether a refused manifest PUT means "children missing": 400 or 404
/// naming an unknown blob or manifest, or saying nothing more (registries
/// other than distribution are terse).
pub fn children_missing(error: &RegistryError) -> bool {
    if error.kind() != ErrorKind::Status || !matches!(error.status(), Some(400 | 404)) {
        return false;
    }
    error.details().is_empty()
        || [
            ErrorCode::ManifestBlobUnknown,
            ErrorCode::BlobUnknown,
            ErrorCode::ManifestUnknown,
        ]
        .iter()
        .any(|code| error.has_code(code))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::protocol::Method;

    #[test]
    fn only_refusals_about_children_trigger_a_copy() {
        let refused = |status, body: &[u8]| {
            RegistryError::from_status(Method::Put, "http://h/v2/x/manifests/t", status, body)
        };
        assert!(children_missing(&refused(
            400,
            br#"{"errors":[{"code":"MANIFEST_BLOB_UNKNOWN","message":"blob unknown"}]}"#
        )));
        assert!(children_missing(&refused(404, b"")));
        assert!(!children_missing(&refused(
            400,
            br#"{"errors":[{"code":"MANIFEST_INVALID","message":"bad"}]}"#
        )));
        assert!(!children_missing(&refused(401, b"")));
        assert!(!children_missing(&refused(500, b"")));
    }
}

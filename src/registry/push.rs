//! Writing to registries with as few requests as possible.
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
//! - Blobs move by cross-repository mount when source and destination share
//!   a registry (one POST; the registry answers 202 with an upload session
//!   when the source lacks the blob, and then the bytes are read and
//!   uploaded, or the copy fails clearly). Across registries they are read
//!   and uploaded (POST then PUT; the distribution registry's `Location` is
//!   absolute and already carries a query), with a HEAD first for blobs over
//!   64 KiB, where skipping an upload is worth a request.
//! - Every source object is read at most once per run: reads go through the
//!   client's cache, and blobs too big for it are streamed once per
//!   destination registry, later repositories of that registry mounting
//!   from the first.
//!
//! The low-level write primitives (manifest PUT, upload, mount) are here,
//! on top of the client's transport stack (auth, rate limit, retries,
//! counters), since the client itself only reads.

use std::collections::HashMap;
use std::io::Read;
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::Value;

use crate::registry::cache::SingleFlight;
use crate::registry::client::{push_scope, Access, Client, Descriptor, Object, ObjectType};
use crate::registry::digest::Digest;
use crate::registry::error::{ErrorKind, RegistryError};
use crate::registry::protocol::{self, header, Method};
use crate::registry::reference::Reference;
use crate::registry::stats::RequestKind;
use crate::registry::transport::{
    BodySource, Request, RequestBody, ResponseBody, ResponseBodyMode,
};
use crate::spec::media_type;

/// Blobs over this size get a HEAD before an upload (the issue's rule: the
/// HEAD is cheap next to re-sending bytes; under it, uploading blindly is
/// one request less when the blob is missing, which is the usual case).
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

/// A manifest to push: its exact bytes, digest, media type (the PUT's
/// Content-Type must equal it) and the children the registry will look for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    pub bytes: Arc<[u8]>,
    pub digest: Digest,
    pub media_type: String,
    pub children: Vec<Descriptor>,
}

impl Manifest {
    /// Parses the media type and children out of `bytes` (already known to
    /// have `digest`).
    pub fn from_bytes(bytes: Arc<[u8]>, digest: Digest) -> Result<Manifest, String> {
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|error| format!("manifest {digest} is not JSON: {error}"))?;
        let media_type = match value.get("mediaType") {
            Some(Value::String(text)) => text.clone(),
            _ => return Err(format!("manifest {digest} does not name its mediaType")),
        };
        let children = manifest_children(&value)
            .map_err(|(field, message)| format!("manifest {digest}: {field}: {message}"))?;
        Ok(Manifest {
            bytes,
            digest,
            media_type,
            children,
        })
    }
}

/// Where a manifest's children can be read from: the deploy object's
/// `lookup` (entries by digest, and the `""` fallback).
pub trait ChildSources: Sync {
    /// The reference listed for exactly this digest.
    fn listed(&self, digest: &Digest) -> Option<&Reference>;
    /// The reference for any digest not listed.
    fn fallback(&self) -> Option<&Reference>;

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
}

/// Sources with nothing listed (a manifest with no lookup).
pub struct NoSources;

impl ChildSources for NoSources {
    fn listed(&self, _digest: &Digest) -> Option<&Reference> {
        None
    }
    fn fallback(&self) -> Option<&Reference> {
        None
    }
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

    /// Pushes blob bytes to the destination's repository by digest: one
    /// monolithic upload (POST, PUT), after a HEAD when over 64 KiB.
    pub fn push_blob(
        &self,
        destination: &Reference,
        bytes: &[u8],
        digest: &Digest,
    ) -> Result<Pushed, RegistryError> {
        let size = bytes.len() as u64;
        if size > HEAD_FIRST_BLOB_SIZE && self.blob_is_present(destination, digest)? {
            self.mark_present(destination, digest);
            return Ok(Pushed::AlreadyThere);
        }
        let body = RequestBody::Bytes(Arc::from(bytes));
        self.upload(destination, digest, body, None)?;
        self.after_blob_written(destination, digest, size);
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
        let digest = source.digest().cloned().ok_or_else(|| {
            RegistryError::new(
                ErrorKind::InvalidInput,
                format!("blob source {source} has no digest (blobs are copied by digest)"),
            )
        })?;
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
        let digest = source.digest().cloned().ok_or_else(|| {
            RegistryError::new(
                ErrorKind::InvalidInput,
                format!("child manifest source {source} has no digest"),
            )
        })?;
        let key = presence_key(destination, &digest);
        self.present.get_or_try_insert_with(&key, || {
            let manifest = self.read_manifest(source)?;
            let nested = NestedSources {
                parent: sources,
                fallback: source.repository_reference(),
            };
            self.ensure_children(destination, &manifest.children, &nested)?;
            let target = destination
                .repository_reference()
                .with_digest(digest.clone());
            self.put_manifest(&target, &manifest)
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
            let source = sources.source_for(&child.digest).ok_or_else(|| {
                RegistryError::new(
                    ErrorKind::InvalidInput,
                    format!(
                        "{} is missing child {} and lookup names no place to copy it from",
                        destination.repository_reference(),
                        child.digest
                    ),
                )
            })?;
            if protocol::is_manifest_media_type(&child.media_type) {
                self.copy_manifest(destination, &source, sources)?;
            } else {
                self.copy_blob(destination, &source, Some(child.size))?;
            }
        }
        Ok(())
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
            match self.mount(destination, digest, &from)? {
                MountAnswer::Mounted => {
                    self.after_blob_written(destination, digest, size.unwrap_or(0));
                    return Ok(());
                }
                MountAnswer::Declined { location } => {
                    // The source lacks it (or the registry declined): read
                    // it and upload into the session we were given.
                    let body = self.read_blob_body(source, digest, size)?;
                    let length = body_length(&body);
                    self.upload(destination, digest, body, Some(location))?;
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
        let body = self.read_blob_body(source, digest, size)?;
        let length = body_length(&body);
        self.upload(destination, digest, body, None)?;
        self.after_blob_written(destination, digest, length);
        Ok(())
    }

    /// The bytes of a blob to copy: read whole through the cache when
    /// small (read once per run), else a stream opened once per attempt.
    fn read_blob_body(
        &self,
        source: &Reference,
        digest: &Digest,
        size: Option<u64>,
    ) -> Result<RequestBody, RegistryError> {
        let pinned = source.without_tag().with_digest(digest.clone());
        let small = size.is_some_and(|size| size <= BUFFERED_COPY_SIZE);
        if small {
            let object = self
                .client
                .get_blob(&pinned)?
                .ok_or_else(|| not_found(&pinned, "blob"))?;
            return Ok(RequestBody::Bytes(object.bytes));
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
        let client = self.client.clone();
        let opened = pinned.clone();
        let expected = digest.clone();
        Ok(RequestBody::Stream(BodySource::new(length, move || {
            open_blob_stream(&client, &opened, &expected, length)
        })))
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

    /// `PUT /v2/<name>/manifests/<reference>` with Content-Type = the
    /// manifest's media type; the digest answered must be ours.
    pub fn put_manifest(
        &self,
        destination: &Reference,
        manifest: &Manifest,
    ) -> Result<(), RegistryError> {
        let endpoint = self.client.endpoint(destination, Access::Write);
        let target = match destination.tag() {
            Some(tag) => tag.to_string(),
            None => manifest.digest.to_string(),
        };
        let url = protocol::manifest_url(&endpoint.base, destination.repository(), &target);
        let request = Request::new(Method::Put, RequestKind::Put, url.clone())
            .header(header::CONTENT_TYPE, manifest.media_type.clone())
            .body(RequestBody::Bytes(manifest.bytes.clone()))
            .scope(push_scope(destination.repository()));
        let response = self.client.send(&endpoint, &request)?;
        if !response.is_success() {
            return Err(RegistryError::from_status(
                Method::Put,
                &url,
                response.status,
                response.bytes(),
            ));
        }
        if let Some(answered) = response.header(header::DOCKER_CONTENT_DIGEST) {
            let answered = answered.trim();
            if answered != manifest.digest.as_str() {
                return Err(RegistryError::for_request(
                    ErrorKind::DigestMismatch,
                    Method::Put,
                    &url,
                    format!(
                        "the registry stored {answered}, we sent {}",
                        manifest.digest
                    ),
                ));
            }
        }
        let object = Object {
            descriptor: Descriptor {
                media_type: manifest.media_type.clone(),
                digest: manifest.digest.clone(),
                size: manifest.bytes.len() as u64,
            },
            bytes: manifest.bytes.clone(),
        };
        self.client
            .remember(destination, ObjectType::Manifest, &object);
        // Not marked present here: `copy_manifest` calls this while it holds
        // the presence slot of this very digest, and marking would wait on
        // itself (the deadlock this comment holds down). Callers mark it.
        Ok(())
    }

    /// `POST /v2/<name>/blobs/uploads/?mount=<digest>&from=<repository>`.
    fn mount(
        &self,
        destination: &Reference,
        digest: &Digest,
        from: &str,
    ) -> Result<MountAnswer, RegistryError> {
        let endpoint = self.client.endpoint(destination, Access::Write);
        let url = protocol::mount_url(&endpoint.base, destination.repository(), digest, from);
        let scope = format!(
            "{} repository:{from}:pull",
            push_scope(destination.repository())
        );
        let request = Request::new(Method::Post, RequestKind::Mount, url.clone()).scope(scope);
        let response = self.client.send(&endpoint, &request)?;
        match response.status {
            201 => Ok(MountAnswer::Mounted),
            202 => {
                let location = response.header(header::LOCATION).ok_or_else(|| {
                    RegistryError::for_request(
                        ErrorKind::InvalidResponse,
                        Method::Post,
                        &url,
                        "202 without Location",
                    )
                })?;
                Ok(MountAnswer::Declined {
                    location: protocol::resolve_location(&endpoint.base, location),
                })
            }
            status => Err(RegistryError::from_status(
                Method::Post,
                &url,
                status,
                response.bytes(),
            )),
        }
    }

    /// A monolithic upload: POST (unless a session is given), then PUT of
    /// the bytes to the session's Location with `digest=` (the transport
    /// sets Content-Length from the body).
    fn upload(
        &self,
        destination: &Reference,
        digest: &Digest,
        body: RequestBody,
        session: Option<String>,
    ) -> Result<(), RegistryError> {
        let endpoint = self.client.endpoint(destination, Access::Write);
        let scope = push_scope(destination.repository());
        let location = match session {
            Some(location) => location,
            None => {
                let url = protocol::upload_start_url(&endpoint.base, destination.repository());
                let request =
                    Request::new(Method::Post, RequestKind::Post, url.clone()).scope(scope.clone());
                let response = self.client.send(&endpoint, &request)?;
                if response.status != 202 {
                    return Err(RegistryError::from_status(
                        Method::Post,
                        &url,
                        response.status,
                        response.bytes(),
                    ));
                }
                let location = response.header(header::LOCATION).ok_or_else(|| {
                    RegistryError::for_request(
                        ErrorKind::InvalidResponse,
                        Method::Post,
                        &url,
                        "202 without Location",
                    )
                })?;
                protocol::resolve_location(&endpoint.base, location)
            }
        };
        let url = protocol::upload_finish_url(&endpoint.base, &location, digest);
        let request = Request::new(Method::Put, RequestKind::Put, url.clone())
            .header(header::CONTENT_TYPE, media_type::OCTET_STREAM)
            .body(body)
            .scope(scope);
        let response = self.client.send(&endpoint, &request)?;
        if response.status == 201 {
            return Ok(());
        }
        let error =
            RegistryError::from_status(Method::Put, &url, response.status, response.bytes());
        // A retried PUT whose first attempt did land finds its session gone;
        // the blob being there is what counted.
        if response.status == 404 {
            let target = destination
                .repository_reference()
                .with_digest(digest.clone());
            if self.client.head_blob(&target).ok().flatten().is_some() {
                return Ok(());
            }
        }
        Err(error)
    }
}

enum MountAnswer {
    Mounted,
    Declined { location: String },
}

fn body_length(body: &RequestBody) -> u64 {
    match body {
        RequestBody::Empty => 0,
        RequestBody::Bytes(bytes) => bytes.len() as u64,
        RequestBody::Stream(source) => source.length,
    }
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
    Manifest::from_bytes(object.bytes.clone(), object.descriptor.digest.clone())
        .map_err(|message| RegistryError::new(ErrorKind::InvalidResponse, message))
}

/// Whether a refused manifest PUT means "children missing": 400 or 404
/// naming an unknown blob or manifest, or saying nothing more (registries
/// other than distribution are terse).
pub fn children_missing(error: &RegistryError) -> bool {
    if error.kind() != ErrorKind::Status || !matches!(error.status(), Some(400 | 404)) {
        return false;
    }
    error.details().is_empty()
        || ["MANIFEST_BLOB_UNKNOWN", "BLOB_UNKNOWN", "MANIFEST_UNKNOWN"]
            .iter()
            .any(|code| error.has_code(code))
}

/// Opens a blob GET as a stream for one upload attempt, checking the digest
/// as the bytes pass (a wrong byte fails the upload rather than storing
/// garbage; the registry checks too).
fn open_blob_stream(
    client: &Client,
    source: &Reference,
    digest: &Digest,
    length: u64,
) -> Result<Box<dyn Read + Send>, RegistryError> {
    let endpoint = client.endpoint(source, Access::Read);
    let url = protocol::blob_url(&endpoint.base, source.repository(), digest);
    let request = Request::new(Method::Get, RequestKind::Get, url.clone())
        .scope(crate::registry::client::pull_scope(source.repository()))
        .response_body(ResponseBodyMode::Stream);
    let response = client.send(&endpoint, &request)?;
    if !response.is_success() {
        return Err(RegistryError::from_status(
            Method::Get,
            &url,
            response.status,
            response.bytes(),
        ));
    }
    match response.body {
        ResponseBody::Stream(reader) => Ok(Box::new(VerifyingReader {
            inner: reader,
            hasher: Some(digest.hasher()),
            expected: digest.clone(),
            remaining: length,
        })),
        ResponseBody::Bytes(bytes) => {
            digest.verify(&bytes).map_err(|mismatch| {
                RegistryError::for_request(
                    ErrorKind::DigestMismatch,
                    Method::Get,
                    &url,
                    mismatch.to_string(),
                )
            })?;
            Ok(Box::new(std::io::Cursor::new(bytes)))
        }
    }
}

/// Passes bytes through and fails the read at the end when they do not
/// have the expected digest or length.
struct VerifyingReader {
    inner: Box<dyn Read + Send>,
    hasher: Option<crate::registry::digest::DigestHasher>,
    expected: Digest,
    remaining: u64,
}

impl Read for VerifyingReader {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let count = self.inner.read(buffer)?;
        if count > 0 {
            self.remaining = self.remaining.saturating_sub(count as u64);
            if let Some(hasher) = &mut self.hasher {
                hasher.update(&buffer[..count]);
            }
            return Ok(count);
        }
        if let Some(hasher) = self.hasher.take() {
            let actual = hasher.finish();
            if actual != self.expected || self.remaining != 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "blob source sent other bytes: expected {}, got {actual}",
                        self.expected
                    ),
                ));
            }
        }
        Ok(0)
    }
}

/// The descriptors a manifest references: an image manifest's `config` and
/// `layers`, an index's `manifests`, and `subject` (OCI image-spec 1.1),
/// all of which the registry requires present in the same repository.
/// Errors are `(field, message)`.
pub fn manifest_children(value: &Value) -> Result<Vec<Descriptor>, (String, String)> {
    let mut children: Vec<Descriptor> = Vec::new();
    let Value::Object(map) = value else {
        return Ok(children);
    };
    let mut add = |field: String, descriptor: &Value| -> Result<(), (String, String)> {
        let child = parse_descriptor(descriptor).map_err(|message| (field, message))?;
        if !children.iter().any(|known| known.digest == child.digest) {
            children.push(child);
        }
        Ok(())
    };
    if let Some(config) = map.get("config") {
        add("config".to_string(), config)?;
    }
    for list in ["layers", "manifests"] {
        match map.get(list) {
            Some(Value::Array(items)) => {
                for (index, item) in items.iter().enumerate() {
                    add(format!("{list}[{index}]"), item)?;
                }
            }
            Some(Value::Null) | None => {}
            Some(_) => {
                return Err((
                    list.to_string(),
                    "must be an array of descriptors".to_string(),
                ));
            }
        }
    }
    if let Some(subject) = map.get("subject") {
        add("subject".to_string(), subject)?;
    }
    Ok(children)
}

fn parse_descriptor(value: &Value) -> Result<Descriptor, String> {
    let Value::Object(map) = value else {
        return Err("must be a descriptor object".to_string());
    };
    let media_type = match map.get("mediaType") {
        Some(Value::String(text)) => text.clone(),
        Some(_) => return Err("mediaType must be a string".to_string()),
        None => return Err("mediaType is missing".to_string()),
    };
    let digest = match map.get("digest") {
        Some(Value::String(text)) => text.parse::<Digest>().map_err(|error| error.to_string())?,
        Some(_) => return Err("digest must be a string".to_string()),
        None => return Err("digest is missing".to_string()),
    };
    let size = match map.get("size") {
        Some(Value::Number(number)) => number
            .as_u64()
            .ok_or_else(|| format!("size must be a non-negative integer, found {number}"))?,
        Some(_) => return Err("size must be a number".to_string()),
        None => return Err("size is missing".to_string()),
    };
    Ok(Descriptor {
        media_type,
        digest,
        size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:1a51828d59323e0e02522c45652b6a7a44a032b464b06d574f067d2358b0e9f1";

    #[test]
    fn children_of_images_and_indexes() {
        let image: Value = serde_json::from_str(&format!(
            r#"{{"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{DIGEST}","size":3}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{DIGEST}","size":3}}]}}"#
        ))
        .unwrap();
        let children = manifest_children(&image).unwrap();
        assert_eq!(children.len(), 1, "the same digest twice is one child");
        let bad: Value =
            serde_json::from_str(r#"{"manifests":[{"mediaType":"x","digest":"nope","size":1}]}"#)
                .unwrap();
        let (field, message) = manifest_children(&bad).unwrap_err();
        assert_eq!(field, "manifests[0]");
        assert!(message.contains("nope"), "{message}");
    }

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

//! The write primitives: every request that writes, each wire rule in one
//! place. [`super::push`] composes them into the request economy `deploy`
//! (and `oci-push`) promise; anything else that writes uses them too.
//!
//! The distribution-spec steps ("Pushing manifests", "Pushing blobs",
//! "Mounting a blob from another repository") with the behaviour of real
//! registries where the spec leaves room:
//!
//! - A manifest PUT's `Content-Type` must be its `mediaType`; any 2xx is
//!   success (201 is the spec's, some registries answer 200).
//! - A blob upload is tried as one request first where that can work: a
//!   POST with `?digest=` and the bytes (the spec's single-POST monolithic
//!   upload), for bodies up to [`SINGLE_POST_MAX_SIZE`]. A registry that
//!   stores it answers 201; one that does not (the distribution registry
//!   2.8, measured: it ignores the body) answers 202 with a session, which
//!   we finish with the monolithic PUT as usual, and is remembered so
//!   later uploads to it send an empty POST. So a small blob costs one
//!   request where the registry allows, and never more than before.
//! - The PUT goes to the session's `Location` (absolute, with a query
//!   already, so `digest=` is appended with `&`); any 2xx is success. A
//!   PUT answered 404 finds its session gone (the registry restarted, or a
//!   retried PUT whose first attempt landed): the blob is HEADed, and if
//!   it is not there the upload is made again, once.
//! - A mount answers 201 when it linked the blob and 202 with an upload
//!   session when it did not.
//! - A digest the registry answers (`Docker-Content-Digest`) must be a
//!   digest, and of the bytes we sent: compared as digests (so a registry
//!   that answers another algorithm is checked against our bytes in that
//!   algorithm), never as text.
//!
//! Where the two write paths that came before disagreed, the rules above
//! are the ones kept, for these reasons: parsed digests (text comparison
//! failed on a registry answering sha512 for our sha256 bytes, and
//! ignoring an unparsable answer hid a broken registry); any 2xx for PUTs
//! (requiring exactly 201 failed registries that answer 200); a POST is a
//! session only with 202 or another 2xx carrying a `Location`; mount
//! scopes from [`protocol::mount_scope`]; on a lost session, both the HEAD
//! and the one restart.
//!
//! Credentials are the auth layer's business: a `Location` on another
//! origin (blob storage) is sent without them, whoever calls. What is
//! pushed is remembered in the client's cache, so reads later in the
//! process need no request.

use std::sync::Arc;

use super::client::{Access, Client, Descriptor, Endpoint, Object, ObjectType};
use super::digest::Digest;
use super::error::{ErrorKind, RegistryError};
use super::protocol::{self, header, Method, Origin};
use super::reference::Reference;
use super::stats::RequestKind;
use super::transport::{BodySource, Request, RequestBody, Response};
use crate::spec::media_type;

/// Blob bodies up to this size are offered in one POST (see the module
/// documentation); bigger ones, and streams, never are: a registry that
/// ignores the body would have been sent it for nothing.
pub const SINGLE_POST_MAX_SIZE: u64 = 64 * 1024;

/// An open blob upload: where to send the bytes.
#[derive(Clone, Debug)]
pub struct UploadSession {
    repository: Reference,
    /// The absolute `Location` the registry gave (it may carry state in its
    /// query; never shown unredacted).
    location: String,
}

impl UploadSession {
    pub fn repository(&self) -> &Reference {
        &self.repository
    }
}

/// The answer to a cross-repository mount.
#[derive(Clone, Debug)]
pub enum MountOutcome {
    /// 201: the blob is now in the destination repository.
    Mounted,
    /// 202: the registry did not mount (the source lacks the blob, or it
    /// declines) and opened an upload session instead.
    UploadRequired(UploadSession),
}

/// The answer to the POST that opens an upload.
enum Started {
    /// 201 to a single-POST upload: the blob is stored.
    Stored,
    Session(UploadSession),
}

impl Client {
    fn write_endpoint(&self, reference: &Reference) -> Endpoint {
        self.endpoint(reference, Access::Write)
    }

    /// PUTs a manifest to `reference`'s tag (or digest, when it has no tag)
    /// with `Content-Type: media_type`. Returns the digest the registry
    /// answered, which must be the digest of `bytes` (and the reference's
    /// digest, when it has one).
    pub fn put_manifest(
        &self,
        reference: &Reference,
        media_type: &str,
        bytes: Arc<[u8]>,
    ) -> Result<Digest, RegistryError> {
        let ours = Digest::sha256_of(&bytes);
        if let Some(wanted) = reference.digest() {
            if *wanted != Digest::compute(wanted.algorithm(), &bytes) {
                return Err(RegistryError::new(
                    ErrorKind::InvalidInput,
                    format!(
                        "{reference}: the manifest bytes have digest {ours}, not the reference's"
                    ),
                ));
            }
        }
        let endpoint = self.write_endpoint(reference);
        let target = match reference.tag() {
            Some(tag) => tag.to_string(),
            None => reference.manifest_target(),
        };
        let url = protocol::manifest_url(&endpoint.base, reference.repository(), &target);
        let request = Request::new(Method::Put, RequestKind::Put, url.clone())
            .scope(protocol::push_scope(reference.repository()))
            .header(header::CONTENT_TYPE, media_type)
            .body(RequestBody::Bytes(bytes.clone()));
        let response = self.send(&endpoint, &request)?;
        if !response.is_success() {
            return Err(unexpected(Method::Put, &url, &response));
        }
        let stored = stored_digest(&response, Method::Put, &url, &ours, Some(&bytes))?;
        let object = Object {
            descriptor: Descriptor {
                media_type: media_type.to_string(),
                digest: stored.clone(),
                size: bytes.len() as u64,
            },
            bytes,
        };
        self.remember(reference, ObjectType::Manifest, &object);
        Ok(stored)
    }

    /// Opens an upload session in `repository` (POST .../blobs/uploads/).
    pub fn start_upload(&self, repository: &Reference) -> Result<UploadSession, RegistryError> {
        let endpoint = self.write_endpoint(repository);
        let url = protocol::upload_start_url(&endpoint.base, repository.repository());
        let request = Request::new(Method::Post, RequestKind::Post, url.clone())
            .scope(protocol::push_scope(repository.repository()));
        let response = self.send(&endpoint, &request)?;
        match response.status {
            202 => session_from(repository, &url, &response),
            _ if response.is_success() && response.header(header::LOCATION).is_some() => {
                session_from(repository, &url, &response)
            }
            _ => Err(unexpected(Method::Post, &url, &response)),
        }
    }

    /// Opens an upload offering `bytes` in the same POST, when the registry
    /// is not known to refuse that.
    fn start_upload_with(
        &self,
        repository: &Reference,
        digest: &Digest,
        bytes: &Arc<[u8]>,
    ) -> Result<Started, RegistryError> {
        let endpoint = self.write_endpoint(repository);
        if self.single_post_refused(&endpoint.host) {
            return self.start_upload(repository).map(Started::Session);
        }
        let url = protocol::single_post_upload_url(&endpoint.base, repository.repository(), digest);
        let request = Request::new(Method::Post, RequestKind::Post, url.clone())
            .scope(protocol::push_scope(repository.repository()))
            .header(header::CONTENT_TYPE, media_type::OCTET_STREAM)
            .body(RequestBody::Bytes(bytes.clone()));
        let response = self.send(&endpoint, &request)?;
        match response.status {
            201 => {
                stored_digest(&response, Method::Post, &url, digest, Some(bytes))?;
                Ok(Started::Stored)
            }
            202 => {
                self.refuse_single_post(&endpoint.host);
                session_from(repository, &url, &response).map(Started::Session)
            }
            _ => Err(unexpected(Method::Post, &url, &response)),
        }
    }

    /// Asks the registry to mount `digest` from `source` into
    /// `destination` (same registry only).
    pub fn mount_blob(
        &self,
        destination: &Reference,
        digest: &Digest,
        source: &Reference,
    ) -> Result<MountOutcome, RegistryError> {
        if source.host() != destination.host() {
            return Err(RegistryError::new(
                ErrorKind::InvalidInput,
                format!(
                    "cannot mount {digest} from {source} into {destination}: different registries"
                ),
            ));
        }
        let outcome = self.mount_from(destination, digest, source.repository())?;
        if let MountOutcome::Mounted = outcome {
            let known =
                self.cached_descriptor(&source.with_digest(digest.clone()), ObjectType::Blob);
            if let Some(descriptor) = known {
                self.remember_descriptor(
                    &destination.with_digest(digest.clone()),
                    ObjectType::Blob,
                    &descriptor,
                );
            }
        }
        Ok(outcome)
    }

    /// `POST .../blobs/uploads/?mount=DIGEST&from=REPOSITORY`, within
    /// `destination`'s registry.
    pub(crate) fn mount_from(
        &self,
        destination: &Reference,
        digest: &Digest,
        from_repository: &str,
    ) -> Result<MountOutcome, RegistryError> {
        let endpoint = self.write_endpoint(destination);
        let url = protocol::mount_url(
            &endpoint.base,
            destination.repository(),
            digest,
            from_repository,
        );
        let scope = protocol::mount_scope(destination.repository(), from_repository);
        let request = Request::new(Method::Post, RequestKind::Mount, url.clone()).scope(scope);
        let response = self.send(&endpoint, &request)?;
        match response.status {
            201 => Ok(MountOutcome::Mounted),
            202 => Ok(MountOutcome::UploadRequired(session_from(
                destination,
                &url,
                &response,
            )?)),
            _ => Err(unexpected(Method::Post, &url, &response)),
        }
    }

    /// Finishes `session` with one monolithic PUT of `body`, which must have
    /// digest `digest`.
    pub fn finish_upload(
        &self,
        session: UploadSession,
        digest: &Digest,
        body: RequestBody,
    ) -> Result<(), RegistryError> {
        let endpoint = self.write_endpoint(&session.repository);
        let url = protocol::upload_finish_url(&endpoint.base, &session.location, digest);
        let bytes = match &body {
            RequestBody::Bytes(bytes) => Some(bytes.clone()),
            _ => None,
        };
        let request = Request::new(Method::Put, RequestKind::Put, url.clone())
            .scope(protocol::push_scope(session.repository.repository()))
            .header(header::CONTENT_TYPE, media_type::OCTET_STREAM)
            .body(body);
        let response = self.send(&endpoint, &request)?;
        if !response.is_success() {
            return Err(unexpected(Method::Put, &url, &response));
        }
        stored_digest(&response, Method::Put, &url, digest, bytes.as_deref())?;
        Ok(())
    }

    /// Pushes `bytes` as blob `digest` into `repository`: one POST where
    /// the registry takes that, else POST then one PUT (see the module
    /// documentation).
    pub fn upload_blob(
        &self,
        repository: &Reference,
        digest: &Digest,
        bytes: Arc<[u8]>,
    ) -> Result<Descriptor, RegistryError> {
        digest.verify(&bytes).map_err(|mismatch| {
            RegistryError::new(
                ErrorKind::InvalidInput,
                format!("blob for {repository}: {mismatch}"),
            )
            .with_source(mismatch)
        })?;
        let size = bytes.len() as u64;
        self.upload(repository, digest, RequestBody::Bytes(bytes.clone()), None)?;
        let descriptor = blob_descriptor(digest, size);
        self.remember(
            &repository.with_digest(digest.clone()),
            ObjectType::Blob,
            &Object {
                descriptor: descriptor.clone(),
                bytes,
            },
        );
        Ok(descriptor)
    }

    /// Pushes a blob read from `source` (reopened on retry), checked against
    /// `digest` as it streams: POST then PUT.
    pub fn upload_blob_stream(
        &self,
        repository: &Reference,
        digest: &Digest,
        source: BodySource,
    ) -> Result<Descriptor, RegistryError> {
        let size = source.length;
        self.upload(repository, digest, RequestBody::Stream(source), None)?;
        let descriptor = blob_descriptor(digest, size);
        self.remember_descriptor(
            &repository.with_digest(digest.clone()),
            ObjectType::Blob,
            &descriptor,
        );
        Ok(descriptor)
    }

    /// Uploads `body` as blob `digest` into `repository`, into `session`
    /// when one is open already (a declined mount), else from a POST of
    /// our own; a session found gone is handled as the module says.
    pub(crate) fn upload(
        &self,
        repository: &Reference,
        digest: &Digest,
        body: RequestBody,
        session: Option<UploadSession>,
    ) -> Result<(), RegistryError> {
        let session = match session {
            Some(session) => session,
            None => match self.open_upload(repository, digest, &body)? {
                Started::Stored => return Ok(()),
                Started::Session(session) => session,
            },
        };
        match self.finish_upload(session, digest, body.clone()) {
            Err(error) if error.status() == Some(404) => {
                let target = repository
                    .repository_reference()
                    .with_digest(digest.clone());
                if self.head_blob(&target).ok().flatten().is_some() {
                    return Ok(());
                }
                match self.open_upload(repository, digest, &body)? {
                    Started::Stored => Ok(()),
                    Started::Session(session) => self.finish_upload(session, digest, body),
                }
            }
            other => other,
        }
    }

    fn open_upload(
        &self,
        repository: &Reference,
        digest: &Digest,
        body: &RequestBody,
    ) -> Result<Started, RegistryError> {
        match body {
            RequestBody::Bytes(bytes) if bytes.len() as u64 <= SINGLE_POST_MAX_SIZE => {
                self.start_upload_with(repository, digest, bytes)
            }
            _ => self.start_upload(repository).map(Started::Session),
        }
    }
}

fn blob_descriptor(digest: &Digest, size: u64) -> Descriptor {
    Descriptor {
        media_type: media_type::OCTET_STREAM.to_string(),
        digest: digest.clone(),
        size,
    }
}

fn unexpected(method: Method, url: &str, response: &Response) -> RegistryError {
    RegistryError::from_status(method, url, response.status, response.bytes())
}

/// The session a POST's answer opened: its `Location`, resolved against
/// the URL that answered (after redirects).
fn session_from(
    repository: &Reference,
    url: &str,
    response: &Response,
) -> Result<UploadSession, RegistryError> {
    let location = response.header(header::LOCATION).ok_or_else(|| {
        RegistryError::for_request(
            ErrorKind::InvalidResponse,
            Method::Post,
            url,
            format!("the {} answer has no Location", response.status),
        )
    })?;
    let base =
        Origin::of(&response.url).map_or_else(|| response.url.clone(), |origin| origin.base());
    Ok(UploadSession {
        repository: repository.repository_reference(),
        location: protocol::resolve_location(&base, location),
    })
}

/// The digest the registry says it stored, checked against ours: it must
/// parse, and be `expected` (or, in another algorithm, the digest of
/// `bytes` when we have them). No header means the registry says nothing,
/// and `expected` stands.
fn stored_digest(
    response: &Response,
    method: Method,
    url: &str,
    expected: &Digest,
    bytes: Option<&[u8]>,
) -> Result<Digest, RegistryError> {
    let Some(text) = response.header(header::DOCKER_CONTENT_DIGEST) else {
        return Ok(expected.clone());
    };
    let answered: Digest = text.trim().parse().map_err(|error| {
        RegistryError::for_request(
            ErrorKind::InvalidResponse,
            method,
            url,
            format!("Docker-Content-Digest: {error}"),
        )
        .with_source(error)
    })?;
    let matches = if answered.algorithm() == expected.algorithm() {
        answered == *expected
    } else {
        // Another algorithm: only our bytes can tell (a stream's are gone).
        bytes.is_none_or(|bytes| answered == Digest::compute(answered.algorithm(), bytes))
    };
    if !matches {
        return Err(RegistryError::for_request(
            ErrorKind::DigestMismatch,
            method,
            url,
            format!("the registry stored {answered}, we sent {expected}"),
        ));
    }
    Ok(answered)
}

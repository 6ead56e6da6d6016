//! Low-level writes and streaming reads, each wire rule in one place.
//!
//! These are the primitives `deploy` builds on (distribution-spec "Pushing
//! manifests", "Pushing blobs", "Mounting a blob from another repository"),
//! with the distribution registry's behaviour where the spec leaves room:
//! a manifest PUT's `Content-Type` must be its `mediaType`; an upload is a
//! POST then a monolithic PUT to the absolute `Location` (which already has
//! a query, so `digest=` is appended with `&`); a mount answers 201 when it
//! linked the blob and 202 with an upload session when it did not.
//!
//! What we push is remembered in the client's cache, so reads later in the
//! process need no request.

use std::io::{self, Read};
use std::sync::Arc;

use super::client::{
    pull_scope, push_scope, Access, Client, Descriptor, Endpoint, Object, ObjectType,
};
use super::digest::{Digest, DigestHasher};
use super::error::{ErrorKind, RegistryError};
use super::protocol::{self, header, Method};
use super::reference::Reference;
use super::stats::RequestKind;
use super::transport::{
    BodySource, Request, RequestBody, Response, ResponseBody, ResponseBodyMode,
};
use crate::spec::media_type;

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

impl Client {
    fn write_endpoint(&self, reference: &Reference) -> Endpoint {
        self.endpoint(reference, Access::Write)
    }

    fn unexpected(method: Method, url: &str, response: &Response) -> RegistryError {
        RegistryError::from_status(method, url, response.status, response.bytes())
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
            .scope(push_scope(reference.repository()))
            .header(header::CONTENT_TYPE, media_type)
            .body(RequestBody::Bytes(bytes.clone()));
        let response = self.send(&endpoint, &request)?;
        if !response.is_success() {
            return Err(Self::unexpected(Method::Put, &url, &response));
        }
        let answered = match response.header(header::DOCKER_CONTENT_DIGEST) {
            Some(text) => text.trim().parse::<Digest>().map_err(|error| {
                RegistryError::for_request(
                    ErrorKind::InvalidResponse,
                    Method::Put,
                    &url,
                    format!("Docker-Content-Digest: {error}"),
                )
            })?,
            None => ours.clone(),
        };
        if answered != Digest::compute(answered.algorithm(), &bytes) {
            return Err(RegistryError::for_request(
                ErrorKind::DigestMismatch,
                Method::Put,
                &url,
                format!("the registry stored {answered}, but we sent {ours}"),
            ));
        }
        let object = Object {
            descriptor: Descriptor {
                media_type: media_type.to_string(),
                digest: answered.clone(),
                size: bytes.len() as u64,
            },
            bytes,
        };
        self.remember(reference, ObjectType::Manifest, &object);
        Ok(answered)
    }

    /// Opens an upload session in `repository` (POST .../blobs/uploads/).
    pub fn start_upload(&self, repository: &Reference) -> Result<UploadSession, RegistryError> {
        let endpoint = self.write_endpoint(repository);
        let url = protocol::upload_start_url(&endpoint.base, repository.repository());
        let request = Request::new(Method::Post, RequestKind::Post, url.clone())
            .scope(push_scope(repository.repository()));
        let response = self.send(&endpoint, &request)?;
        if response.status != 202 && !response.is_success() {
            return Err(Self::unexpected(Method::Post, &url, &response));
        }
        self.session_from(repository, &endpoint, Method::Post, &url, &response)
    }

    fn session_from(
        &self,
        repository: &Reference,
        endpoint: &Endpoint,
        method: Method,
        url: &str,
        response: &Response,
    ) -> Result<UploadSession, RegistryError> {
        let location = response.header(header::LOCATION).ok_or_else(|| {
            RegistryError::for_request(
                ErrorKind::InvalidResponse,
                method,
                url,
                "the upload answer has no Location",
            )
        })?;
        Ok(UploadSession {
            repository: repository.repository_reference(),
            location: protocol::resolve_location(&endpoint.base, location),
        })
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
        let endpoint = self.write_endpoint(destination);
        let url = protocol::mount_url(
            &endpoint.base,
            destination.repository(),
            digest,
            source.repository(),
        );
        let scope = format!(
            "{} {}",
            push_scope(destination.repository()),
            pull_scope(source.repository())
        );
        let request = Request::new(Method::Post, RequestKind::Mount, url.clone()).scope(scope);
        let response = self.send(&endpoint, &request)?;
        match response.status {
            201 => {
                let known =
                    self.cached_descriptor(&source.with_digest(digest.clone()), ObjectType::Blob);
                if let Some(descriptor) = known {
                    self.remember_descriptor(
                        &destination.with_digest(digest.clone()),
                        ObjectType::Blob,
                        &descriptor,
                    );
                }
                Ok(MountOutcome::Mounted)
            }
            202 => Ok(MountOutcome::UploadRequired(self.session_from(
                destination,
                &endpoint,
                Method::Post,
                &url,
                &response,
            )?)),
            _ => Err(Self::unexpected(Method::Post, &url, &response)),
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
        // A Location on another host (blob storage) gets its own stack, so
        // credentials of the registry never go there.
        let same_host = protocol::url_host(&url) == protocol::url_host(&endpoint.base);
        let request = Request::new(Method::Put, RequestKind::Put, url.clone())
            .scope(push_scope(session.repository.repository()))
            .header(header::CONTENT_TYPE, media_type::OCTET_STREAM)
            .body(body);
        let response = if same_host {
            self.send(&endpoint, &request)?
        } else {
            let other = Endpoint {
                host: protocol::url_host(&url).unwrap_or_default().to_string(),
                base: String::new(),
            };
            self.send(
                &other,
                &Request {
                    scope: None,
                    ..request
                },
            )?
        };
        if !response.is_success() {
            return Err(Self::unexpected(Method::Put, &url, &response));
        }
        if let Some(answered) = response
            .header(header::DOCKER_CONTENT_DIGEST)
            .and_then(|text| text.trim().parse::<Digest>().ok())
        {
            if answered != *digest {
                return Err(RegistryError::for_request(
                    ErrorKind::DigestMismatch,
                    Method::Put,
                    &url,
                    format!("the registry stored {answered}, we uploaded {digest}"),
                ));
            }
        }
        Ok(())
    }

    /// Pushes `bytes` as blob `digest` into `repository`: POST then one PUT.
    /// If the session was lost between the two (the registry restarted), the
    /// whole upload is tried once more.
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
        })?;
        let size = bytes.len() as u64;
        self.upload_with_restart(repository, digest, RequestBody::Bytes(bytes.clone()))?;
        let descriptor = Descriptor {
            media_type: media_type::OCTET_STREAM.to_string(),
            digest: digest.clone(),
            size,
        };
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
    /// `digest` as it streams.
    pub fn upload_blob_stream(
        &self,
        repository: &Reference,
        digest: &Digest,
        source: BodySource,
    ) -> Result<Descriptor, RegistryError> {
        let size = source.length;
        self.upload_with_restart(repository, digest, RequestBody::Stream(source))?;
        let descriptor = Descriptor {
            media_type: media_type::OCTET_STREAM.to_string(),
            digest: digest.clone(),
            size,
        };
        self.remember_descriptor(
            &repository.with_digest(digest.clone()),
            ObjectType::Blob,
            &descriptor,
        );
        Ok(descriptor)
    }

    fn upload_with_restart(
        &self,
        repository: &Reference,
        digest: &Digest,
        body: RequestBody,
    ) -> Result<(), RegistryError> {
        let session = self.start_upload(repository)?;
        match self.finish_upload(session, digest, body.clone()) {
            Err(error) if error.status() == Some(404) => {
                let session = self.start_upload(repository)?;
                self.finish_upload(session, digest, body)
            }
            other => other,
        }
    }

    /// Opens a blob for streaming (not cached, not counted twice): a reader
    /// that checks digest and size as it reaches the end. None when not
    /// found.
    pub fn open_blob(
        &self,
        reference: &Reference,
    ) -> Result<Option<(Descriptor, BlobReader)>, RegistryError> {
        let digest = reference.digest().cloned().ok_or_else(|| {
            RegistryError::new(
                ErrorKind::InvalidInput,
                format!("blob reference {reference} has no digest"),
            )
        })?;
        let endpoint = self.endpoint(reference, Access::Read);
        let url = protocol::blob_url(&endpoint.base, reference.repository(), &digest);
        let request = Request::new(Method::Get, RequestKind::Get, url.clone())
            .scope(pull_scope(reference.repository()))
            .response_body(ResponseBodyMode::Stream);
        let response = self.send(&endpoint, &request)?;
        if matches!(response.status, 401 | 403 | 404) {
            return Ok(None);
        }
        if !response.is_success() {
            return Err(Self::unexpected(Method::Get, &url, &response));
        }
        let size = response
            .header(header::CONTENT_LENGTH)
            .and_then(|length| length.trim().parse::<u64>().ok());
        let media_type = protocol::media_type_of(response.header(header::CONTENT_TYPE));
        let inner: Box<dyn Read + Send> = match response.body {
            ResponseBody::Stream(reader) => reader,
            ResponseBody::Bytes(bytes) => Box::new(io::Cursor::new(bytes)),
        };
        let descriptor = Descriptor {
            media_type,
            digest: digest.clone(),
            size: size.unwrap_or(0),
        };
        Ok(Some((
            descriptor,
            BlobReader {
                inner,
                hasher: Some(digest.hasher()),
                expected: digest,
                expected_size: size,
                read: 0,
            },
        )))
    }

    /// A body source that streams blob `reference` from its registry, with
    /// a fresh GET each time it is opened (so an upload retried by the retry
    /// layer re-reads the source from the start).
    pub fn blob_source(&self, reference: &Reference, size: u64) -> BodySource {
        let client = self.clone();
        let reference = reference.clone();
        BodySource::new(size, move || match client.open_blob(&reference)? {
            Some((_, reader)) => Ok(Box::new(reader) as Box<dyn Read + Send>),
            None => Err(RegistryError::new(
                ErrorKind::InvalidInput,
                format!("blob {reference} is not in its source repository"),
            )),
        })
    }
}

/// A streaming blob body that verifies digest and size at the end: the
/// last read fails (`InvalidData`) if the bytes were not the right ones.
pub struct BlobReader {
    inner: Box<dyn Read + Send>,
    hasher: Option<DigestHasher>,
    expected: Digest,
    expected_size: Option<u64>,
    read: u64,
}

impl Read for BlobReader {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let count = self.inner.read(buffer)?;
        if count > 0 {
            self.read += count as u64;
            if let Some(hasher) = &mut self.hasher {
                hasher.update(&buffer[..count]);
            }
            return Ok(count);
        }
        if buffer.is_empty() {
            return Ok(0);
        }
        if let Some(hasher) = self.hasher.take() {
            if let Some(size) = self.expected_size {
                if size != self.read {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "blob {}: expected {size} bytes, got {}",
                            self.expected, self.read
                        ),
                    ));
                }
            }
            let actual = hasher.finish();
            if actual != self.expected {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "blob {}: the registry sent other bytes (digest {actual})",
                        self.expected
                    ),
                ));
            }
        }
        Ok(0)
    }
}

//! Blobs too big to hold, read as streams: the one reader that checks
//! digest and size as the bytes pass, for `lookup`, for copies between
//! registries, and for whatever else streams a blob.
//!
//! A wrong byte fails the last read (`InvalidData`) instead of handing out
//! garbage; used as an upload body, that fails the upload (the registry
//! checks the digest too).

use std::io::{self, Read};

use super::client::{Access, Client, Descriptor};
use super::digest::{Digest, DigestHasher};
use super::error::{ErrorKind, RegistryError};
use super::protocol::{self, header, Method};
use super::reference::Reference;
use super::stats::RequestKind;
use super::transport::{BodySource, Request, ResponseBody, ResponseBodyMode};

impl Client {
    /// Opens a blob for streaming (not cached): a reader that checks digest
    /// and size as it reaches the end. None when not found.
    pub fn open_blob(
        &self,
        reference: &Reference,
    ) -> Result<Option<(Descriptor, BlobReader)>, RegistryError> {
        self.open_blob_sized(reference, None)
    }

    /// [`Client::open_blob`], holding the blob to `size` when the caller
    /// knows it (else to the answer's `Content-Length`).
    fn open_blob_sized(
        &self,
        reference: &Reference,
        size: Option<u64>,
    ) -> Result<Option<(Descriptor, BlobReader)>, RegistryError> {
        let digest = reference.digest().cloned().ok_or_else(|| {
            RegistryError::new(
                ErrorKind::InvalidInput,
                format!("blob reference {reference} has no digest"),
            )
        })?;
        let endpoint = self.endpoint(reference, Access::Read);
        let url = protocol::blob_url(&endpoint.base, reference.repository(), digest.as_str());
        let request = Request::new(Method::Get, RequestKind::Get, url.clone())
            .scope(protocol::pull_scope(reference.repository()))
            .response_body(ResponseBodyMode::Stream);
        let Some(response) = self.send_read(&endpoint, &request)? else {
            return Ok(None);
        };
        let announced = response
            .header(header::CONTENT_LENGTH)
            .and_then(|length| length.trim().parse::<u64>().ok());
        if let (Some(wanted), Some(announced)) = (size, announced) {
            if wanted != announced {
                return Err(RegistryError::for_request(
                    ErrorKind::SizeMismatch,
                    Method::Get,
                    &url,
                    format!("the blob is {wanted} bytes, the registry announces {announced}"),
                ));
            }
        }
        let expected_size = size.or(announced);
        let media_type = protocol::media_type_of(response.header(header::CONTENT_TYPE));
        let inner: Box<dyn Read + Send> = match response.body {
            ResponseBody::Stream(reader) => reader,
            ResponseBody::Bytes(bytes) => Box::new(io::Cursor::new(bytes)),
        };
        let descriptor = Descriptor {
            media_type,
            digest: digest.clone(),
            size: expected_size.unwrap_or(0),
        };
        Ok(Some((
            descriptor,
            BlobReader {
                inner,
                hasher: Some(digest.hasher()),
                expected: digest,
                expected_size,
                read: 0,
            },
        )))
    }

    /// A body source that streams blob `reference` (pinned by digest, of
    /// `size` bytes) from its registry, with a fresh GET each time it is
    /// opened (so an upload retried by the retry layer re-reads the source
    /// from the start).
    pub fn blob_source(&self, reference: &Reference, size: u64) -> BodySource {
        let client = self.clone();
        let reference = reference.clone();
        BodySource::new(size, move || {
            match client.open_blob_sized(&reference, Some(size))? {
                Some((_, reader)) => Ok(Box::new(reader) as Box<dyn Read + Send>),
                None => Err(RegistryError::new(
                    ErrorKind::InvalidInput,
                    format!("blob {reference} is not in its source repository"),
                )),
            }
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

//! The innermost layer: one ureq agent (connection pool shared by every
//! host), where every request that leaves the process is counted.
//!
//! The agent is configured so nothing happens behind our back: statuses are
//! answers, not errors (the layers above decide); redirects are answers too
//! (the auth layer follows them, since only it may decide which hop sees
//! credentials); no proxy is taken from the environment (traffic goes where
//! the reference says); no automatic User-Agent, Accept or Accept-Encoding
//! (a decompressed blob would not match its digest). Every read and write
//! is bounded by [`Timeouts`] (see [`super::watch`]), and so is resolving
//! a host name, which happens once a minute per host (see
//! [`super::resolve`]).

use std::io::Read;
use std::sync::Arc;

use ureq::config::{AutoHeaderValue, RedirectAuthHeaders};
use ureq::http;

use super::resolve::CachingResolver;
pub use super::watch::Timeouts;
use super::watch::{stall_of, FloorReader, Stall};
use super::{Request, RequestBody, Response, ResponseBody, ResponseBodyMode, Transport};
use crate::registry::error::{ErrorKind, RegistryError};
use crate::registry::protocol::header;
use crate::registry::stats::Counters;

/// Error bodies are read whole (to parse the registry's error codes) up to
/// this size; beyond it the rest is dropped.
const MAX_ERROR_BODY: u64 = 64 * 1024;

pub struct HttpTransport {
    agent: ureq::Agent,
    timeouts: Timeouts,
    counters: Arc<Counters>,
}

impl HttpTransport {
    pub fn new(timeouts: Timeouts, counters: Arc<Counters>) -> HttpTransport {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .proxy(None)
            .user_agent(AutoHeaderValue::None)
            .accept(AutoHeaderValue::None)
            .accept_encoding(AutoHeaderValue::None)
            .redirect_auth_headers(RedirectAuthHeaders::Never)
            .max_redirects(0)
            .max_idle_connections(256)
            .max_idle_connections_per_host(256)
            .timeout_resolve(Some(timeouts.inactivity))
            .timeout_connect(Some(timeouts.inactivity))
            .timeout_per_read(Some(timeouts.inactivity))
            .timeout_per_write(Some(timeouts.inactivity))
            .build();
        HttpTransport {
            agent: ureq::Agent::with_parts(
                config,
                ureq::unversioned::transport::DefaultConnector::default(),
                CachingResolver::default(),
            ),
            timeouts,
            counters,
        }
    }

    fn run(&self, request: &Request) -> Result<http::Response<ureq::Body>, ureq::Error> {
        let mut builder = http::Request::builder()
            .method(request.method.as_str())
            .uri(&request.url);
        for (name, value) in &request.headers {
            builder = builder.header(*name, value);
        }
        match &request.body {
            RequestBody::Empty => {
                // POST and PUT without a body still say so: some registries
                // (and proxies) refuse a request with no length at all.
                if matches!(
                    request.method,
                    crate::registry::protocol::Method::Post
                        | crate::registry::protocol::Method::Put
                ) {
                    self.agent.run(builder.body(&[][..])?)
                } else {
                    self.agent.run(builder.body(())?)
                }
            }
            // Bodies are read through the floor watch, so a peer that
            // takes our bytes a few at a time counts as stalled too.
            RequestBody::Bytes(bytes) => {
                let reader = std::io::Cursor::new(bytes.clone());
                self.run_with_body(builder, bytes.len() as u64, Box::new(reader))
            }
            RequestBody::Stream(source) => {
                let reader = source
                    .open()
                    .map_err(|error| ureq::Error::Io(std::io::Error::other(error)))?;
                self.run_with_body(builder, source.length, reader)
            }
        }
    }

    fn run_with_body(
        &self,
        builder: http::request::Builder,
        length: u64,
        reader: Box<dyn Read + Send>,
    ) -> Result<http::Response<ureq::Body>, ureq::Error> {
        let builder = builder.header(header::CONTENT_LENGTH, length.to_string());
        let watched = FloorReader::new(reader, self.timeouts);
        let body = ureq::SendBody::from_owned_reader(BoxedReader {
            inner: Box::new(watched),
        });
        self.agent.run(builder.body(body)?)
    }
}

/// `SendBody::from_owned_reader` needs a sized `'static + Read`; this wraps
/// the boxed one.
struct BoxedReader {
    inner: Box<dyn Read + Send>,
}

impl Read for BoxedReader {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read(buffer)
    }
}

impl HttpTransport {
    /// What a failure of ureq means to the layers above: a stall (ours or
    /// ureq's timeout) says which limit was hit; the error stays the source.
    fn transport_error(&self, request: &Request, error: ureq::Error) -> RegistryError {
        // A body source that could not be opened or read (a blob streamed
        // from another registry) failed with its own error: that one
        // stands, and says itself whether it is worth retrying.
        if let ureq::Error::Io(io) = &error {
            if let Some(source) = io
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<RegistryError>())
            {
                return source.clone();
            }
        }
        let stall = match &error {
            ureq::Error::Timeout(_) => Some(Stall::Inactive {
                limit: self.timeouts.inactivity,
            }),
            ureq::Error::Io(io) => stall_of(io, &self.timeouts),
            _ => None,
        };
        if let Some(stall) = stall {
            return RegistryError::for_request(
                ErrorKind::Stalled,
                request.method,
                &request.url,
                stall.to_string(),
            )
            .with_source(error);
        }
        let kind = match &error {
            ureq::Error::Io(_)
            | ureq::Error::HostNotFound
            | ureq::Error::ConnectionFailed
            | ureq::Error::Protocol(_) => ErrorKind::Connection,
            ureq::Error::BodyExceedsLimit(_) => ErrorKind::TooLarge,
            _ => ErrorKind::InvalidResponse,
        };
        RegistryError::for_request(kind, request.method, &request.url, error.to_string())
            .with_source(error)
    }

    /// Reads a successful answer's body whole, at most `limit` bytes, held
    /// to the floor rate.
    fn read_whole(
        &self,
        request: &Request,
        body: ureq::Body,
        limit: u64,
    ) -> Result<Vec<u8>, RegistryError> {
        let mut reader =
            FloorReader::new(body.into_with_config().limit(limit).reader(), self.timeouts);
        let mut bytes = Vec::new();
        reader
            .read_to_end(&mut bytes)
            .map_err(|error| match ureq::Error::from(error) {
                ureq::Error::BodyExceedsLimit(_) => RegistryError::for_request(
                    ErrorKind::TooLarge,
                    request.method,
                    &request.url,
                    format!("response body is larger than {limit} bytes"),
                ),
                other => self.transport_error(request, other),
            })?;
        Ok(bytes)
    }
}

impl Transport for HttpTransport {
    fn send(&self, request: &Request) -> Result<Response, RegistryError> {
        self.counters.count(request.kind);
        let response = self
            .run(request)
            .map_err(|error| self.transport_error(request, error))?;
        let status = response.status().as_u16();
        let (parts, body) = response.into_parts();
        let success = (200..300).contains(&status);
        let body = match (success, request.response_body) {
            (true, ResponseBodyMode::Stream) => ResponseBody::Stream(Box::new(StallReader {
                inner: FloorReader::new(body.into_reader(), self.timeouts),
                timeouts: self.timeouts,
            })),
            (true, ResponseBodyMode::Buffer { limit }) => {
                ResponseBody::Bytes(self.read_whole(request, body, limit)?)
            }
            (false, _) => {
                let mut bytes = Vec::new();
                // Error bodies are only an explanation; a failure reading one
                // must not hide the status.
                let _ = body
                    .into_reader()
                    .take(MAX_ERROR_BODY)
                    .read_to_end(&mut bytes);
                ResponseBody::Bytes(bytes)
            }
        };
        Ok(Response {
            status,
            headers: parts.headers,
            body,
            url: request.url.clone(),
        })
    }
}

/// A streamed body whose stalls read as such: a timeout of ureq's becomes a
/// [`Stall`] that names the limit (the floor watch's already is one).
struct StallReader<R> {
    inner: R,
    timeouts: Timeouts,
}

impl<R: Read> Read for StallReader<R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        self.inner
            .read(buffer)
            .map_err(|error| match stall_of(&error, &self.timeouts) {
                Some(stall) => std::io::Error::other(stall),
                None => error,
            })
    }
}

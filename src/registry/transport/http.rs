//! The innermost layer: one ureq agent (connection pool shared by every
//! host), where every request that leaves the process is counted.
//!
//! The agent is configured so nothing happens behind our back: statuses are
//! answers, not errors (the layers above decide); no proxy is taken from the
//! environment (traffic goes where the reference says); no automatic
//! User-Agent, Accept or Accept-Encoding (a decompressed blob would not
//! match its digest); redirects keep `Authorization` only on the same host,
//! so credentials never follow a redirect to blob storage.

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use ureq::config::{AutoHeaderValue, RedirectAuthHeaders};
use ureq::http;

use super::{Request, RequestBody, Response, ResponseBody, ResponseBodyMode, Transport};
use crate::registry::error::{ErrorKind, RegistryError};
use crate::registry::protocol::header;
use crate::registry::stats::Counters;

/// Error bodies are read whole (to parse the registry's error codes) up to
/// this size; beyond it the rest is dropped.
const MAX_ERROR_BODY: u64 = 64 * 1024;

/// Timeouts of the agent; see [`crate::registry::ClientConfig`].
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    pub connect: Duration,
    /// Until the response head arrives (a slow registry fails the attempt,
    /// which is then retried).
    pub response: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(30),
            response: Duration::from_secs(120),
        }
    }
}

pub struct HttpTransport {
    agent: ureq::Agent,
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
            .redirect_auth_headers(RedirectAuthHeaders::SameHost)
            .max_redirects(10)
            .max_idle_connections(256)
            .max_idle_connections_per_host(256)
            .timeout_connect(Some(timeouts.connect))
            .timeout_recv_response(Some(timeouts.response))
            .build();
        HttpTransport {
            agent: ureq::Agent::new_with_config(config),
            counters,
        }
    }

    pub fn counters(&self) -> &Arc<Counters> {
        &self.counters
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
            RequestBody::Bytes(bytes) => self.agent.run(builder.body(&bytes[..])?),
            RequestBody::Stream(source) => {
                let reader = source
                    .open()
                    .map_err(|error| ureq::Error::Io(std::io::Error::other(error.to_string())))?;
                let builder = builder.header(header::CONTENT_LENGTH, source.length.to_string());
                let body = ureq::SendBody::from_owned_reader(BoxedReader { inner: reader });
                self.agent.run(builder.body(body)?)
            }
        }
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

fn transport_error(request: &Request, error: ureq::Error) -> RegistryError {
    let kind = match &error {
        ureq::Error::Io(_)
        | ureq::Error::Timeout(_)
        | ureq::Error::HostNotFound
        | ureq::Error::ConnectionFailed
        | ureq::Error::Protocol(_) => ErrorKind::Connection,
        ureq::Error::BodyExceedsLimit(_) => ErrorKind::TooLarge,
        _ => ErrorKind::InvalidResponse,
    };
    RegistryError::for_request(kind, request.method, &request.url, error.to_string())
}

impl Transport for HttpTransport {
    fn send(&self, request: &Request) -> Result<Response, RegistryError> {
        self.counters.count(request.kind);
        let response = self
            .run(request)
            .map_err(|error| transport_error(request, error))?;
        let status = response.status().as_u16();
        let url = ureq::ResponseExt::get_uri(&response).to_string();
        let (parts, body) = response.into_parts();
        let success = (200..300).contains(&status);
        let body = match (success, request.response_body) {
            (true, ResponseBodyMode::Stream) => ResponseBody::Stream(Box::new(body.into_reader())),
            (true, ResponseBodyMode::Buffer { limit }) => {
                let bytes = body.into_with_config().limit(limit).read_to_vec().map_err(
                    |error| match error {
                        ureq::Error::BodyExceedsLimit(_) => RegistryError::for_request(
                            ErrorKind::TooLarge,
                            request.method,
                            &request.url,
                            format!("response body is larger than {limit} bytes"),
                        ),
                        other => transport_error(request, other),
                    },
                )?;
                ResponseBody::Bytes(bytes)
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
            url,
        })
    }
}

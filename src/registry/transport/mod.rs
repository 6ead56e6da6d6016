//! The HTTP stack, one concern per layer.
//!
//! Each registry host gets its own stack, built by [`build_host_transport`]:
//! `auth` (outermost: redirects, challenges, tokens, and the one rule of
//! who may see credentials) over `retry` (rate limit per host, 429 and 5xx
//! retries within a wait budget) over `user_agent` over `http` (the ureq
//! agent, innermost, where requests are counted and every read is bounded,
//! see [`watch`]). Keeping the layers apart means each rule (who may see
//! credentials, how often and how long we retry, what User-Agent we send,
//! how long we wait for a byte) is written once and tested alone.

pub(crate) mod auth;
pub(crate) mod http;
pub(crate) mod rate_limit;
pub(crate) mod resolve;
pub(crate) mod retry;
pub(crate) mod user_agent;
pub(crate) mod watch;

use std::io::Read;
use std::sync::Arc;

use super::error::RegistryError;
use super::protocol::Method;
use super::stats::RequestKind;

/// A request, complete enough to be sent again on retry (bodies are shared
/// bytes or a source that can be reopened).
#[derive(Clone)]
pub struct Request {
    pub method: Method,
    pub kind: RequestKind,
    pub url: String,
    /// Extra headers (lowercase names from [`super::protocol::header`]).
    pub headers: Vec<(&'static str, String)>,
    pub body: RequestBody,
    pub response_body: ResponseBodyMode,
    /// The token scopes this request needs, space-separated
    /// (`repository:foo:pull`), or None when it needs none.
    pub scope: Option<String>,
    /// The body holds a secret (a token request's refresh token): a
    /// redirect to another origin is then not followed at all, since 307
    /// and 308 would send the body along.
    pub secret_body: bool,
}

impl Request {
    pub fn new(method: Method, kind: RequestKind, url: String) -> Request {
        Request {
            method,
            kind,
            url,
            headers: Vec::new(),
            body: RequestBody::Empty,
            response_body: ResponseBodyMode::Buffer {
                limit: super::protocol::MAX_CACHED_BODY_SIZE,
            },
            scope: None,
            secret_body: false,
        }
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Request {
        self.headers.push((name, value.into()));
        self
    }

    pub fn scope(mut self, scope: impl Into<String>) -> Request {
        self.scope = Some(scope.into());
        self
    }

    pub fn body(mut self, body: RequestBody) -> Request {
        self.body = body;
        self
    }

    pub fn response_body(mut self, mode: ResponseBodyMode) -> Request {
        self.response_body = mode;
        self
    }

    /// Marks the body as a secret (see [`Request::secret_body`]).
    pub fn with_secret_body(mut self) -> Request {
        self.secret_body = true;
        self
    }
}

/// A request body. Every variant can be sent again, which is what lets the
/// retry layer re-send uploads correctly.
#[derive(Clone)]
pub enum RequestBody {
    Empty,
    Bytes(Arc<[u8]>),
    Stream(BodySource),
}

type OpenBody = dyn Fn() -> Result<Box<dyn Read + Send>, RegistryError> + Send + Sync;

/// A body too big to hold in memory: its length and a way to open it from
/// the start, once per attempt.
#[derive(Clone)]
pub struct BodySource {
    pub length: u64,
    open: Arc<OpenBody>,
}

impl BodySource {
    pub fn new(
        length: u64,
        open: impl Fn() -> Result<Box<dyn Read + Send>, RegistryError> + Send + Sync + 'static,
    ) -> BodySource {
        BodySource {
            length,
            open: Arc::new(open),
        }
    }

    pub fn open(&self) -> Result<Box<dyn Read + Send>, RegistryError> {
        (self.open)()
    }
}

/// How the response body of a successful answer is delivered. Error answers
/// (non-2xx) are always buffered (small, and parsed for the error codes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseBodyMode {
    /// Read it whole before returning, so a connection reset mid-body is a
    /// failed attempt that the retry layer can repeat; more than `limit`
    /// bytes is an error.
    Buffer { limit: u64 },
    /// Hand back a reader (blobs too big to buffer); a failure while reading
    /// is the caller's to handle.
    Stream,
}

/// A response body, as requested by [`ResponseBodyMode`].
pub enum ResponseBody {
    Bytes(Vec<u8>),
    Stream(Box<dyn Read + Send>),
}

/// An answer from the registry (any status: deciding what a status means is
/// the caller's job, except for the retry and auth layers).
pub struct Response {
    pub status: u16,
    pub headers: ::ureq::http::HeaderMap,
    pub body: ResponseBody,
    /// The URL that gave this answer (after redirects), for `Location`
    /// resolution and error messages.
    pub url: String,
}

impl Response {
    /// A header's value, if present and valid text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// The buffered body (empty for a streamed one).
    pub fn bytes(&self) -> &[u8] {
        match &self.body {
            ResponseBody::Bytes(bytes) => bytes,
            ResponseBody::Stream(_) => &[],
        }
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// One layer of the stack.
pub trait Transport: Send + Sync {
    fn send(&self, request: &Request) -> Result<Response, RegistryError>;
}

/// Builds the stack for one registry host (see the module documentation):
/// `host` keys its credentials, `origin` is the one place they may go.
#[allow(clippy::too_many_arguments)]
pub fn build_host_transport(
    host: &str,
    origin: Option<super::protocol::Origin>,
    http: Arc<http::HttpTransport>,
    user_agent: &str,
    bucket: Option<Arc<rate_limit::TokenBucket>>,
    retry_policy: retry::RetryPolicy,
    auth_state: Arc<auth::AuthState>,
    counters: Arc<super::stats::Counters>,
) -> Arc<dyn Transport> {
    let with_user_agent = Arc::new(user_agent::UserAgentLayer::new(http, user_agent));
    let with_retry = Arc::new(
        retry::RetryLayer::new(with_user_agent, bucket, retry_policy).with_counters(counters),
    );
    Arc::new(auth::AuthLayer::new(with_retry, host, origin, auth_state))
}

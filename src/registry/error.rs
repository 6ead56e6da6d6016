//! Errors of the registry client.
//!
//! An error keeps what a person needs to act on it: the method, the URL
//! (with secrets removed: upload session state, userinfo), the status, and
//! the registry's own explanation (distribution-spec "Error codes": a body
//! of `{"errors":[{"code","message","detail"}]}`). Credentials never appear:
//! no header is ever copied into an error.
//!
//! Errors are cheap to clone (an `Arc` inside) because the single-flight
//! cache hands one failure to every waiter.

use std::fmt;
use std::sync::Arc;

use super::protocol::{self, Method};

/// What went wrong, coarsely, for callers that branch on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The registry answered with an unexpected status.
    Status,
    /// The connection failed, was reset, or timed out.
    Connection,
    /// The bytes read do not have the digest they should.
    DigestMismatch,
    /// The bytes read are not as many as announced.
    SizeMismatch,
    /// The registry answered something we cannot use (missing header,
    /// invalid JSON where a manifest was expected).
    InvalidResponse,
    /// An object is larger than we are willing to hold in memory.
    TooLarge,
    /// Authentication failed (token server refused, bad credentials).
    Authentication,
    /// Our own configuration is wrong (Docker config, proxy URL).
    Configuration,
    /// The caller asked for something impossible (a blob without digest).
    InvalidInput,
}

/// One entry of a distribution-spec error body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    /// `detail` as compact JSON (the spec allows any value); empty if absent.
    pub detail: String,
}

#[derive(Debug)]
struct Inner {
    kind: ErrorKind,
    method: Option<Method>,
    url: Option<String>,
    status: Option<u16>,
    details: Vec<ErrorDetail>,
    message: String,
}

/// A registry client error; see the module documentation.
#[derive(Clone, Debug)]
pub struct RegistryError {
    inner: Arc<Inner>,
}

impl RegistryError {
    /// An error without request context (configuration, input).
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> RegistryError {
        RegistryError {
            inner: Arc::new(Inner {
                kind,
                method: None,
                url: None,
                status: None,
                details: Vec::new(),
                message: message.into(),
            }),
        }
    }

    /// An error about one request; the URL is redacted here, once.
    pub fn for_request(
        kind: ErrorKind,
        method: Method,
        url: &str,
        message: impl Into<String>,
    ) -> RegistryError {
        RegistryError {
            inner: Arc::new(Inner {
                kind,
                method: Some(method),
                url: Some(redact_url(url)),
                status: None,
                details: Vec::new(),
                message: message.into(),
            }),
        }
    }

    /// An unexpected status, with the registry's error body parsed.
    pub fn from_status(method: Method, url: &str, status: u16, body: &[u8]) -> RegistryError {
        let details = parse_error_body(body);
        RegistryError {
            inner: Arc::new(Inner {
                kind: ErrorKind::Status,
                method: Some(method),
                url: Some(redact_url(url)),
                status: Some(status),
                details,
                message: status_text(status).to_string(),
            }),
        }
    }

    /// The same error with a status attached (a token server's refusal).
    pub fn with_status(self, status: u16) -> RegistryError {
        let inner = &self.inner;
        RegistryError {
            inner: Arc::new(Inner {
                kind: inner.kind,
                method: inner.method,
                url: inner.url.clone(),
                status: Some(status),
                details: inner.details.clone(),
                message: inner.message.clone(),
            }),
        }
    }

    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    pub fn status(&self) -> Option<u16> {
        self.inner.status
    }

    pub fn method(&self) -> Option<Method> {
        self.inner.method
    }

    /// The request URL with secrets removed.
    pub fn url(&self) -> Option<&str> {
        self.inner.url.as_deref()
    }

    /// The registry's error entries (distribution-spec error codes).
    pub fn details(&self) -> &[ErrorDetail] {
        &self.inner.details
    }

    /// Whether the registry named this error code (such as
    /// `MANIFEST_BLOB_UNKNOWN`).
    pub fn has_code(&self, code: &str) -> bool {
        self.inner.details.iter().any(|detail| detail.code == code)
    }

    /// Whether trying again later could succeed: rate limiting, the
    /// retried server statuses, and connection failures.
    pub fn is_temporary(&self) -> bool {
        match self.inner.kind {
            ErrorKind::Connection => true,
            ErrorKind::Status => self.inner.status.is_some_and(protocol::is_retryable_status),
            _ => false,
        }
    }

    /// Whether a lookup should read this as "not there": 404, and 401/403
    /// from the registry after authentication was tried (Docker Hub answers
    /// those for repositories that do not exist).
    pub fn is_not_found(&self) -> bool {
        self.inner.kind == ErrorKind::Status && matches!(self.inner.status, Some(401 | 403 | 404))
    }
}

impl fmt::Display for RegistryError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        if let (Some(method), Some(url)) = (inner.method, &inner.url) {
            write!(formatter, "{method} {url}: ")?;
        }
        if let Some(status) = inner.status {
            write!(formatter, "{status} ")?;
        }
        formatter.write_str(&inner.message)?;
        for detail in &inner.details {
            write!(formatter, "; {}", detail.code)?;
            if !detail.message.is_empty() {
                write!(formatter, ": {}", detail.message)?;
            }
            if !detail.detail.is_empty() && detail.detail != "null" {
                write!(formatter, " ({})", truncate(&detail.detail, 200))?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for RegistryError {}

fn truncate(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_string();
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

/// Parses `{"errors":[{"code","message","detail"}]}`; anything else gives no
/// entries (proxies and load balancers send HTML).
pub fn parse_error_body(body: &[u8]) -> Vec<ErrorDetail> {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Vec::new();
    };
    let Some(errors) = value.get("errors").and_then(|errors| errors.as_array()) else {
        return Vec::new();
    };
    errors
        .iter()
        .map(|entry| {
            let text = |field: &str| {
                entry
                    .get(field)
                    .and_then(|value| value.as_str())
                    .unwrap_or_default()
                    .to_string()
            };
            ErrorDetail {
                code: text("code"),
                message: text("message"),
                detail: entry
                    .get("detail")
                    .map(|detail| detail.to_string())
                    .unwrap_or_default(),
            }
        })
        .collect()
}

/// Removes secrets from a URL before it is shown: userinfo, and the value of
/// every query parameter except the few that name content (`digest`,
/// `mount`, `from`, `scope`, `service`, `n`, `last`); upload session state
/// (`_state`) is a bearer secret for the upload.
pub fn redact_url(url: &str) -> String {
    let (before_query, query) = match url.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (url, None),
    };
    let mut redacted = match before_query.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find('/').unwrap_or(rest.len());
            let authority = &rest[..authority_end];
            let host = authority
                .rsplit_once('@')
                .map_or(authority, |(_, host)| host);
            format!("{scheme}://{host}{}", &rest[authority_end..])
        }
        None => before_query.to_string(),
    };
    if let Some(query) = query {
        const SHOWN: [&str; 7] = ["digest", "mount", "from", "scope", "service", "n", "last"];
        let parameters: Vec<String> = query
            .split('&')
            .map(|parameter| match parameter.split_once('=') {
                Some((name, value)) if SHOWN.contains(&name) => format!("{name}={value}"),
                Some((name, _)) => format!("{name}=REDACTED"),
                None => parameter.to_string(),
            })
            .collect();
        redacted.push('?');
        redacted.push_str(&parameters.join("&"));
    }
    redacted
}

fn status_text(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Payload Too Large",
        416 => "Range Not Satisfiable",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        200..=299 => "unexpected success status",
        300..=399 => "unexpected redirect",
        _ => "unexpected status",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_errors_keep_method_url_status_and_registry_codes() {
        let body = br#"{"errors":[{"code":"MANIFEST_BLOB_UNKNOWN","message":"blob unknown to registry","detail":"sha256:abc"}]}"#;
        let error = RegistryError::from_status(
            Method::Put,
            "http://localhost:5000/v2/foo/manifests/latest",
            400,
            body,
        );
        assert_eq!(error.status(), Some(400));
        assert!(error.has_code("MANIFEST_BLOB_UNKNOWN"));
        assert!(!error.is_temporary());
        assert_eq!(
            error.to_string(),
            "PUT http://localhost:5000/v2/foo/manifests/latest: 400 Bad Request; MANIFEST_BLOB_UNKNOWN: blob unknown to registry (\"sha256:abc\")"
        );
    }

    #[test]
    fn temporary_and_not_found_classes() {
        let status = |code| RegistryError::from_status(Method::Get, "http://h/v2/", code, b"");
        for code in [429, 500, 502, 503, 504] {
            assert!(status(code).is_temporary(), "{code}");
        }
        for code in [401, 403, 404] {
            assert!(status(code).is_not_found(), "{code}");
            assert!(!status(code).is_temporary(), "{code}");
        }
        assert!(RegistryError::new(ErrorKind::Connection, "reset").is_temporary());
        assert!(!RegistryError::new(ErrorKind::DigestMismatch, "x").is_not_found());
    }

    #[test]
    fn urls_lose_userinfo_and_upload_state() {
        assert_eq!(
            redact_url(
                "https://user:secret@host/v2/foo/blobs/uploads/u?_state=SECRET&digest=sha256:1"
            ),
            "https://host/v2/foo/blobs/uploads/u?_state=REDACTED&digest=sha256:1"
        );
        assert_eq!(redact_url("http://h/v2/x"), "http://h/v2/x");
    }

    #[test]
    fn non_json_error_bodies_give_no_details() {
        assert!(parse_error_body(b"<html>bad gateway</html>").is_empty());
        assert!(parse_error_body(br#"{"errors":"nope"}"#).is_empty());
    }
}

//! Errors of the registry client.
//!
//! An error keeps what a person needs to act on it: the method, the URL
//! (with secrets removed: upload session state, userinfo), the status, and
//! the registry's own explanation (distribution-spec "Error codes": a body
//! of `{"errors":[{"code","message","detail"}]}`). Credentials never appear:
//! no header is ever copied into an error.
//!
//! Errors are cheap to clone (an `Arc` inside) because the single-flight
//! cache hands one failure to every waiter. `Display` is one complete line
//! (the CLIs print just that); [`std::error::Error::source`] hands code
//! that wants to look deeper the error underneath (the I/O or HTTP error, a
//! token server's refusal, a digest mismatch).

use std::fmt;
use std::sync::Arc;

use super::protocol::{self, Method};

/// The error underneath a [`RegistryError`], shared with its clones.
type Source = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong, coarsely, for callers that branch on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The registry answered with an unexpected status.
    Status,
    /// The connection failed or was reset.
    Connection,
    /// Nothing arrived for the inactivity timeout, or a transfer stayed
    /// below the floor rate (see `Timeouts`): retried like a connection
    /// failure, then reported with the limit that was hit.
    Stalled,
    /// The registry kept asking us to wait (`Retry-After`) past the
    /// request's wait budget.
    RetryBudgetExhausted,
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

/// The error codes of the distribution spec ("Error codes"), plus the ones
/// Docker's registry and Docker Hub send; anything else is kept as
/// [`ErrorCode::Other`] so no answer is lost.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    BlobUnknown,
    BlobUploadInvalid,
    BlobUploadUnknown,
    DigestInvalid,
    ManifestBlobUnknown,
    ManifestInvalid,
    ManifestUnknown,
    NameInvalid,
    NameUnknown,
    SizeInvalid,
    Unauthorized,
    Denied,
    Unsupported,
    TooManyRequests,
    /// Docker schema 1 (distribution 2.x).
    ManifestUnverified,
    /// Docker schema 1 (distribution 2.x).
    TagInvalid,
    /// distribution's code for a failure it has no better code for.
    Unknown,
    /// A code we do not know, as the registry spelled it.
    Other(String),
}

impl ErrorCode {
    /// Every known code with its wire spelling.
    const KNOWN: [(ErrorCode, &'static str); 17] = [
        (ErrorCode::BlobUnknown, "BLOB_UNKNOWN"),
        (ErrorCode::BlobUploadInvalid, "BLOB_UPLOAD_INVALID"),
        (ErrorCode::BlobUploadUnknown, "BLOB_UPLOAD_UNKNOWN"),
        (ErrorCode::DigestInvalid, "DIGEST_INVALID"),
        (ErrorCode::ManifestBlobUnknown, "MANIFEST_BLOB_UNKNOWN"),
        (ErrorCode::ManifestInvalid, "MANIFEST_INVALID"),
        (ErrorCode::ManifestUnknown, "MANIFEST_UNKNOWN"),
        (ErrorCode::NameInvalid, "NAME_INVALID"),
        (ErrorCode::NameUnknown, "NAME_UNKNOWN"),
        (ErrorCode::SizeInvalid, "SIZE_INVALID"),
        (ErrorCode::Unauthorized, "UNAUTHORIZED"),
        (ErrorCode::Denied, "DENIED"),
        (ErrorCode::Unsupported, "UNSUPPORTED"),
        (ErrorCode::TooManyRequests, "TOOMANYREQUESTS"),
        (ErrorCode::ManifestUnverified, "MANIFEST_UNVERIFIED"),
        (ErrorCode::TagInvalid, "TAG_INVALID"),
        (ErrorCode::Unknown, "UNKNOWN"),
    ];

    /// The code for its wire spelling (exact, as the spec writes codes).
    pub fn parse(text: &str) -> ErrorCode {
        ErrorCode::KNOWN
            .iter()
            .find(|(_, spelling)| *spelling == text)
            .map_or_else(
                || ErrorCode::Other(text.to_string()),
                |(code, _)| code.clone(),
            )
    }

    /// The wire spelling.
    pub fn as_str(&self) -> &str {
        match self {
            ErrorCode::Other(text) => text,
            known => ErrorCode::KNOWN
                .iter()
                .find(|(code, _)| code == known)
                .map_or("", |(_, spelling)| spelling),
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// One entry of a distribution-spec error body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorDetail {
    pub code: ErrorCode,
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
    source: Option<Source>,
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
                source: None,
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
                source: None,
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
                source: None,
            }),
        }
    }

    /// A refusal of `kind` with the status and the registry's error body,
    /// said in `message` (`POST URL: 401 MESSAGE; UNAUTHORIZED: ...`).
    pub fn refused(
        kind: ErrorKind,
        method: Method,
        url: &str,
        status: u16,
        body: &[u8],
        message: &str,
    ) -> RegistryError {
        RegistryError::from_status(method, url, status, body).rebuilt(|inner| {
            inner.kind = kind;
            inner.message = format!("{}: {message}", status_text(status));
        })
    }

    /// The same error with `source` as the error underneath it (what
    /// [`std::error::Error::source`] returns).
    pub fn with_source(
        self,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> RegistryError {
        self.rebuilt(|inner| inner.source = Some(Arc::new(source)))
    }

    /// The same error with a status attached (a token server's refusal).
    pub fn with_status(self, status: u16) -> RegistryError {
        self.rebuilt(|inner| inner.status = Some(status))
    }

    fn rebuilt(self, change: impl FnOnce(&mut Inner)) -> RegistryError {
        let mut inner = match Arc::try_unwrap(self.inner) {
            Ok(inner) => inner,
            Err(shared) => Inner {
                kind: shared.kind,
                method: shared.method,
                url: shared.url.clone(),
                status: shared.status,
                details: shared.details.clone(),
                message: shared.message.clone(),
                source: shared.source.clone(),
            },
        };
        change(&mut inner);
        RegistryError {
            inner: Arc::new(inner),
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
    /// [`ErrorCode::ManifestBlobUnknown`]).
    pub fn has_code(&self, code: &ErrorCode) -> bool {
        self.inner.details.iter().any(|detail| detail.code == *code)
    }

    /// Whether trying again later could succeed: rate limiting, the
    /// retried server statuses, and connection failures.
    pub fn is_temporary(&self) -> bool {
        match self.inner.kind {
            ErrorKind::Connection | ErrorKind::Stalled => true,
            ErrorKind::Status => self.inner.status.is_some_and(protocol::is_retryable_status),
            _ => false,
        }
    }

    /// Whether a lookup should read this as "not there": 404, and 401/403
    /// from the registry after authentication was tried (Docker Hub answers
    /// those for repositories that do not exist).
    pub fn is_not_found(&self) -> bool {
        self.inner.kind == ErrorKind::Status
            && self.inner.status.is_some_and(protocol::is_not_found_status)
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

impl std::error::Error for RegistryError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|source| source as &(dyn std::error::Error + 'static))
    }
}

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
                code: ErrorCode::parse(&text("code")),
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
        assert!(error.has_code(&ErrorCode::ManifestBlobUnknown));
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

    /// Bodies as the real registries send them: distribution 2.8 (captured
    /// from `docker-registry`), Docker Hub's token-less pull and rate limit,
    /// and a code no spec names.
    #[test]
    fn error_codes_of_real_registry_bodies() {
        let cases: &[(&[u8], &[ErrorCode])] = &[
            (
                br#"{"errors":[{"code":"MANIFEST_BLOB_UNKNOWN","message":"blob unknown to registry","detail":"sha256:d3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}]}"#,
                &[ErrorCode::ManifestBlobUnknown],
            ),
            (
                br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"nope"}}]}"#,
                &[ErrorCode::ManifestUnknown],
            ),
            (
                br#"{"errors":[{"code":"BLOB_UPLOAD_UNKNOWN","message":"blob upload unknown to registry","detail":"upload 0b6f2dc3 not found"}]}"#,
                &[ErrorCode::BlobUploadUnknown],
            ),
            (
                br#"{"errors":[{"code":"DIGEST_INVALID","message":"provided digest did not match uploaded content"}]}"#,
                &[ErrorCode::DigestInvalid],
            ),
            (
                br#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":[{"Type":"repository","Class":"","Name":"library/x","Action":"pull"}]}]}"#,
                &[ErrorCode::Unauthorized],
            ),
            (
                br#"{"errors":[{"code":"TOOMANYREQUESTS","message":"You have reached your pull rate limit."}]}"#,
                &[ErrorCode::TooManyRequests],
            ),
            (
                br#"{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"},{"code":"QUOTA_EXCEEDED","message":"x"}]}"#,
                &[ErrorCode::Denied, ErrorCode::Other("QUOTA_EXCEEDED".to_string())],
            ),
        ];
        for (body, codes) in cases {
            let details = parse_error_body(body);
            let parsed: Vec<ErrorCode> = details.iter().map(|detail| detail.code.clone()).collect();
            assert_eq!(parsed, *codes, "{}", String::from_utf8_lossy(body));
        }
        for (code, spelling) in ErrorCode::KNOWN {
            assert_eq!(ErrorCode::parse(spelling), code);
            assert_eq!(code.as_str(), spelling);
        }
        assert_eq!(
            ErrorCode::parse("QUOTA_EXCEEDED").to_string(),
            "QUOTA_EXCEEDED"
        );
    }

    #[test]
    fn sources_are_kept_through_clones_and_changes() {
        use std::error::Error as _;
        let cause = std::io::Error::new(std::io::ErrorKind::TimedOut, "no data for 2 s");
        let error =
            RegistryError::for_request(ErrorKind::Stalled, Method::Get, "http://h/v2/", "stalled")
                .with_source(cause);
        let copy = error.clone().with_status(504);
        let source = copy.source().map(|source| source.to_string());
        assert_eq!(source.as_deref(), Some("no data for 2 s"));
        assert_eq!(copy.status(), Some(504));
        assert!(copy.is_temporary());
    }

    #[test]
    fn non_json_error_bodies_give_no_details() {
        assert!(parse_error_body(b"<html>bad gateway</html>").is_empty());
        assert!(parse_error_body(br#"{"errors":"nope"}"#).is_empty());
    }
}

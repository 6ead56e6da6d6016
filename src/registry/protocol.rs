//! Every wire rule of the OCI distribution API that this crate relies on,
//! in one place: media types, endpoint paths, headers, and which answers
//! are worth retrying.
//!
//! Sources: the OCI distribution-spec ("Pulling manifests", "Pushing blobs",
//! "Mounting a blob from another repository", "Error codes") and the
//! behaviour of the distribution registry (`docker-registry`) that the spec
//! leaves open, noted where it matters.

use super::digest::Digest;
use crate::spec::media_type;

/// The `client_id` our OAuth2 token requests name (Docker's token
/// specification asks clients to identify themselves).
pub const OAUTH_CLIENT_ID: &str = "doi-deploy";

/// The four manifest media types, in the order we list them in `Accept`.
pub const MANIFEST_MEDIA_TYPES: [&str; 4] = [
    media_type::OCI_INDEX,
    media_type::OCI_MANIFEST,
    media_type::DOCKER_MANIFEST_LIST,
    media_type::DOCKER_MANIFEST,
];

/// `Accept` for every manifest GET and HEAD. All four types, always: the
/// distribution registry answers 404 (not 406) for a manifest whose type
/// was not accepted, which would look like "not found".
pub const MANIFEST_ACCEPT: &str = match std::str::from_utf8(&MANIFEST_ACCEPT_BYTES) {
    Ok(accept) => accept,
    Err(_) => panic!("media types are ASCII"),
};

/// [`MANIFEST_MEDIA_TYPES`] joined by `", "`, at compile time (so the header
/// is a constant and cannot drift from the list).
const MANIFEST_ACCEPT_BYTES: [u8; joined_length(&MANIFEST_MEDIA_TYPES)] =
    join(&MANIFEST_MEDIA_TYPES);

const SEPARATOR: &[u8] = b", ";

const fn joined_length(parts: &[&str]) -> usize {
    let mut length = 0;
    let mut index = 0;
    while index < parts.len() {
        if index > 0 {
            length += SEPARATOR.len();
        }
        length += parts[index].len();
        index += 1;
    }
    length
}

const fn join<const N: usize>(parts: &[&str]) -> [u8; N] {
    let mut out = [0u8; N];
    let mut at = 0;
    let mut index = 0;
    while index < parts.len() {
        if index > 0 {
            let mut byte = 0;
            while byte < SEPARATOR.len() {
                out[at] = SEPARATOR[byte];
                at += 1;
                byte += 1;
            }
        }
        let part = parts[index].as_bytes();
        let mut byte = 0;
        while byte < part.len() {
            out[at] = part[byte];
            at += 1;
            byte += 1;
        }
        index += 1;
    }
    out
}

/// Whether `media_type` is one of the two index types.
pub fn is_index_media_type(media_type: &str) -> bool {
    media_type == media_type::OCI_INDEX || media_type == media_type::DOCKER_MANIFEST_LIST
}

/// Whether `media_type` is one of the two single-image manifest types.
pub fn is_image_manifest_media_type(media_type: &str) -> bool {
    media_type == media_type::OCI_MANIFEST || media_type == media_type::DOCKER_MANIFEST
}

/// Whether `media_type` is any manifest type we accept.
pub fn is_manifest_media_type(media_type: &str) -> bool {
    MANIFEST_MEDIA_TYPES.contains(&media_type)
}

/// Header names (lowercase: HTTP/1.1 header names are case-insensitive and
/// ureq compares them so).
pub mod header {
    pub const ACCEPT: &str = "accept";
    pub const AUTHORIZATION: &str = "authorization";
    pub const CONTENT_LENGTH: &str = "content-length";
    pub const CONTENT_TYPE: &str = "content-type";
    /// The registry's digest of what it stored or serves (distribution-spec).
    pub const DOCKER_CONTENT_DIGEST: &str = "docker-content-digest";
    pub const LOCATION: &str = "location";
    pub const RETRY_AFTER: &str = "retry-after";
    pub const USER_AGENT: &str = "user-agent";
    pub const WWW_AUTHENTICATE: &str = "www-authenticate";
}

/// HTTP methods we use, named once so request counters and errors agree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    Head,
    Get,
    Put,
    Post,
    Patch,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Head => "HEAD",
            Method::Get => "GET",
            Method::Put => "PUT",
            Method::Post => "POST",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// `scheme://host` for a registry host (see
/// [`super::reference::host_uses_plain_http`] for the scheme rule).
pub fn base_url(host: &str) -> String {
    let scheme = if super::reference::host_uses_plain_http(host) {
        "http"
    } else {
        "https"
    };
    format!("{scheme}://{host}")
}

/// `GET/HEAD/PUT {base}/v2/{repository}/manifests/{tag-or-digest}`.
/// Tags and digests need no escaping (their grammar is URL-safe).
pub fn manifest_url(base: &str, repository: &str, tag_or_digest: &str) -> String {
    format!("{base}/v2/{repository}/manifests/{tag_or_digest}")
}

/// `GET/HEAD {base}/v2/{repository}/blobs/{digest}` (the digest's text, as
/// [`manifest_url`] takes a tag's or a digest's).
pub fn blob_url(base: &str, repository: &str, digest: &str) -> String {
    format!("{base}/v2/{repository}/blobs/{digest}")
}

/// `POST {base}/v2/{repository}/blobs/uploads/`: opens an upload session
/// (202 with `Location`). The trailing slash is part of the spec's path.
pub fn upload_start_url(base: &str, repository: &str) -> String {
    format!("{base}/v2/{repository}/blobs/uploads/")
}

/// `POST {base}/v2/{repository}/blobs/uploads/?digest={digest}`: the
/// single-POST monolithic upload (the bytes are the POST's body). A
/// registry that supports it answers 201; one that does not answers 202
/// with a session as for any POST (distribution 2.8 does that).
pub fn single_post_upload_url(base: &str, repository: &str, digest: &Digest) -> String {
    format!("{base}/v2/{repository}/blobs/uploads/?digest={digest}")
}

/// `POST {base}/v2/{repository}/blobs/uploads/?mount={digest}&from={source}`:
/// asks the registry to link a blob from another repository it holds.
/// 201 means mounted; 202 means it did not (the source lacks the blob, or
/// the registry declines) and hands us an upload session instead.
pub fn mount_url(base: &str, repository: &str, digest: &Digest, from_repository: &str) -> String {
    format!("{base}/v2/{repository}/blobs/uploads/?mount={digest}&from={from_repository}")
}

/// The URL of the final `PUT` of a monolithic upload: the session's
/// `Location` plus `digest=`. The distribution registry answers an absolute
/// `Location` that already carries a query (`?_state=...`), so the digest
/// is appended with `&`; a relative one is resolved against `base`.
pub fn upload_finish_url(base: &str, location: &str, digest: &Digest) -> String {
    let absolute = resolve_location(base, location);
    let separator = if absolute.contains('?') { '&' } else { '?' };
    format!("{absolute}{separator}digest={digest}")
}

/// Resolves a `Location` header against `base` (`scheme://host`): absolute
/// URLs are kept, absolute paths get the base, anything else is taken as
/// relative to the root (registries only send the first two).
pub fn resolve_location(base: &str, location: &str) -> String {
    if location.starts_with("http://") || location.starts_with("https://") {
        location.to_string()
    } else if location.starts_with('/') {
        format!("{base}{location}")
    } else {
        format!("{base}/{location}")
    }
}

/// Where a URL's requests go, as credentials are scoped (RFC 6454's
/// origin): scheme, host (lowercase) and port (the scheme's default when
/// not written, so `http://h` and `http://h:80` are one origin).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Origin {
    scheme: &'static str,
    host: String,
    port: u16,
}

impl Origin {
    /// The origin of an absolute `http` or `https` URL; None for anything
    /// else (a relative URL, another scheme, a port that is no port), which
    /// is never the origin of a credential.
    pub fn of(url: &str) -> Option<Origin> {
        let (scheme, default_port, rest) = if let Some(rest) = url.strip_prefix("https://") {
            ("https", 443, rest)
        } else if let Some(rest) = url.strip_prefix("http://") {
            ("http", 80, rest)
        } else {
            return None;
        };
        let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
        let authority = authority
            .rsplit_once('@')
            .map_or(authority, |(_, host)| host);
        let (host, port) = match authority.rfind(':') {
            // A colon inside brackets belongs to an IPv6 address.
            Some(colon) if !authority[colon..].contains(']') => {
                let digits = &authority[colon + 1..];
                if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
                    return None;
                }
                (&authority[..colon], digits.parse::<u16>().ok()?)
            }
            _ => (authority, default_port),
        };
        if host.is_empty() || port == 0 {
            return None;
        }
        Some(Origin {
            scheme,
            host: host.to_ascii_lowercase(),
            port,
        })
    }

    /// `scheme://host:port`, for resolving paths against.
    pub fn base(&self) -> String {
        format!("{}://{}:{}", self.scheme, self.host, self.port)
    }

    pub fn is_https(&self) -> bool {
        self.scheme == "https"
    }

    /// The host name or bracketed address, without the port.
    pub fn host(&self) -> &str {
        &self.host
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.base())
    }
}

/// Whether `status` sends the client elsewhere with a `Location` (RFC 9110
/// 15.4; 300 and 304 do not).
pub fn is_redirect_status(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// How many redirects one request follows before the last answer is taken
/// as it is (registries redirect once, to blob storage).
pub const MAX_REDIRECTS: usize = 10;

/// The `host[:port]` of an absolute URL (used to decide whether credentials
/// may follow a redirect or a `Location`).
pub fn url_host(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    // Never treat userinfo as part of the host.
    Some(
        authority
            .rsplit_once('@')
            .map_or(authority, |(_, host)| host),
    )
}

/// Statuses a read takes as "not there". 401 and 403 reach a caller only
/// after the auth layer tried to authenticate, and Docker Hub answers them
/// for repositories that do not exist (to not tell private ones apart).
pub fn is_not_found_status(status: u16) -> bool {
    matches!(status, 401 | 403 | 404)
}

/// The token scope for reading a repository (distribution "Token Scope
/// Documentation": `repository:NAME:ACTIONS`).
pub fn pull_scope(repository: &str) -> String {
    format!("repository:{repository}:pull")
}

/// The token scope for writing a repository (a push needs pull too: the
/// registry answers HEADs and mounts within it).
pub fn push_scope(repository: &str) -> String {
    format!("repository:{repository}:pull,push")
}

/// The scopes of a cross-repository mount: push to the destination, pull
/// from the source, space-separated as a request's scope list.
pub fn mount_scope(destination: &str, source: &str) -> String {
    format!("{} {}", push_scope(destination), pull_scope(source))
}

/// Answers that mean "try again later": 429 (rate limited) and the four
/// gateway/server statuses that are usually temporary.
pub fn is_retryable_status(status: u16) -> bool {
    status == 429 || is_retryable_server_status(status)
}

/// The server statuses that are retried a bounded number of times.
pub fn is_retryable_server_status(status: u16) -> bool {
    matches!(status, 500 | 502 | 503 | 504)
}

/// How many times a request is tried in all when it keeps getting one of
/// [`is_retryable_server_status`]; the last answer becomes the error.
pub const MAX_SERVER_ERROR_TRIES: u32 = 3;

/// How many times a request answered 429 is tried in all before giving up
/// (Docker Hub can rate-limit for a long time; we must not loop forever).
pub const MAX_RATE_LIMITED_TRIES: u32 = 10;

/// Manifests and blobs up to this size are kept in memory with their bytes
/// by the per-process cache; bigger blobs are streamed and only their
/// descriptor is kept.
pub const MAX_CACHED_BODY_SIZE: u64 = 4 * 1024 * 1024;

/// Registries cap manifest size (the distribution registry at 4 MiB); we
/// refuse to read a larger one rather than buffer something unbounded.
pub const MAX_MANIFEST_SIZE: u64 = 4 * 1024 * 1024;

/// The media type a `Content-Type` header names, parameters dropped; a
/// registry that names none serves plain bytes (`application/octet-stream`).
pub fn media_type_of(content_type: Option<&str>) -> String {
    content_type
        .and_then(|value| value.split(';').next())
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .map_or_else(|| media_type::OCTET_STREAM.to_string(), str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn urls_follow_the_distribution_spec() {
        let digest: Digest = DIGEST.parse().unwrap();
        let base = base_url("localhost:5000");
        assert_eq!(base, "http://localhost:5000");
        assert_eq!(
            base_url("registry-1.docker.io"),
            "https://registry-1.docker.io"
        );
        assert_eq!(
            manifest_url(&base, "foo/bar", "latest"),
            "http://localhost:5000/v2/foo/bar/manifests/latest"
        );
        assert_eq!(
            blob_url(&base, "foo", digest.as_str()),
            format!("http://localhost:5000/v2/foo/blobs/{DIGEST}")
        );
        assert_eq!(
            upload_start_url(&base, "foo"),
            "http://localhost:5000/v2/foo/blobs/uploads/"
        );
        assert_eq!(
            single_post_upload_url(&base, "foo", &digest),
            format!("http://localhost:5000/v2/foo/blobs/uploads/?digest={DIGEST}")
        );
        assert_eq!(
            mount_url(&base, "dest", &digest, "src/repo"),
            format!("http://localhost:5000/v2/dest/blobs/uploads/?mount={DIGEST}&from=src/repo")
        );
    }

    #[test]
    fn upload_location_with_a_query_gets_the_digest_appended() {
        let digest: Digest = DIGEST.parse().unwrap();
        let base = "http://localhost:5000";
        assert_eq!(
            upload_finish_url(
                base,
                "http://localhost:5000/v2/foo/blobs/uploads/uuid?_state=abc",
                &digest
            ),
            format!("http://localhost:5000/v2/foo/blobs/uploads/uuid?_state=abc&digest={DIGEST}")
        );
        assert_eq!(
            upload_finish_url(base, "/v2/foo/blobs/uploads/uuid", &digest),
            format!("http://localhost:5000/v2/foo/blobs/uploads/uuid?digest={DIGEST}")
        );
    }

    #[test]
    fn origins_are_scheme_host_and_port() {
        let origin = |url: &str| Origin::of(url).map(|origin| origin.to_string());
        assert_eq!(
            origin("http://127.0.0.1:5000/v2/x"),
            Some("http://127.0.0.1:5000".into())
        );
        assert_eq!(origin("http://h/v2/x?y"), Some("http://h:80".into()));
        assert_eq!(
            origin("https://User:pw@Blob.Example.com"),
            Some("https://blob.example.com:443".into())
        );
        assert_eq!(
            origin("http://[::1]:8080/x"),
            Some("http://[::1]:8080".into())
        );
        assert_eq!(origin("http://[::1]/x"), Some("http://[::1]:80".into()));
        assert_eq!(Origin::of("http://h:80/a"), Origin::of("http://H/b"));
        assert_ne!(Origin::of("http://h:5000/"), Origin::of("http://h:5001/"));
        assert_ne!(Origin::of("http://h/"), Origin::of("https://h/"));
        for bad in [
            "/v2/x",
            "ftp://h/",
            "http://",
            "http://h:99999/",
            "http://h:0/",
            "http://h:x/",
            "http://h:/",
        ] {
            assert_eq!(Origin::of(bad), None, "{bad}");
        }
    }

    #[test]
    fn url_host_ignores_userinfo_path_and_query() {
        assert_eq!(
            url_host("https://user:pw@blob.example.com/x?y"),
            Some("blob.example.com")
        );
        assert_eq!(url_host("http://127.0.0.1:5000"), Some("127.0.0.1:5000"));
        assert_eq!(url_host("/v2/x"), None);
    }

    #[test]
    fn not_found_statuses_and_scopes() {
        for status in [401, 403, 404] {
            assert!(is_not_found_status(status), "{status}");
        }
        for status in [200, 400, 405, 429, 500] {
            assert!(!is_not_found_status(status), "{status}");
        }
        assert_eq!(pull_scope("a/b"), "repository:a/b:pull");
        assert_eq!(push_scope("a/b"), "repository:a/b:pull,push");
        assert_eq!(
            mount_scope("dest", "src/repo"),
            "repository:dest:pull,push repository:src/repo:pull"
        );
    }

    #[test]
    fn retried_statuses() {
        for status in [429, 500, 502, 503, 504] {
            assert!(is_retryable_status(status), "{status}");
        }
        for status in [200, 400, 401, 403, 404, 501, 505] {
            assert!(!is_retryable_status(status), "{status}");
        }
    }

    #[test]
    fn media_type_classes() {
        assert!(is_index_media_type(media_type::DOCKER_MANIFEST_LIST));
        assert!(is_image_manifest_media_type(media_type::DOCKER_MANIFEST));
        assert!(!is_manifest_media_type(media_type::OCI_CONFIG));
        assert_eq!(MANIFEST_ACCEPT, MANIFEST_MEDIA_TYPES.join(", "));
    }
}

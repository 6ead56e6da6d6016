//! Image references (`[host/]name[:tag][@digest]`), normalized on parse.
//!
//! The grammar is the one the distribution project documents for
//! `docker pull` arguments: a first path component is a host when it
//! contains `.` or `:`, is `localhost`, or has uppercase letters; name
//! components are lowercase alphanumerics joined by `.`, `_`, `__` or runs
//! of `-`; a tag is `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
//!
//! Docker Hub is normalized away at parse time (every alias becomes
//! `docker.io`, a one-part name gets `library/`) so two spellings of one
//! repository are one cache key, and undone when printing so output reads
//! like what people type (`hello-world:latest`).

use std::fmt;
use std::str::FromStr;

use super::digest::{Digest, DigestError};

/// The canonical name of Docker Hub after normalization.
pub const DOCKER_HUB_HOST: &str = "docker.io";
/// Where requests for Docker Hub go (`docker.io` itself serves no API).
pub const DOCKER_HUB_REGISTRY_HOST: &str = "registry-1.docker.io";
/// Every host name that means Docker Hub; credentials stored under any of
/// them apply to it.
pub const DOCKER_HUB_HOST_ALIASES: [&str; 4] = [
    "docker.io",
    "index.docker.io",
    "registry-1.docker.io",
    "registry.hub.docker.com",
];

/// Longest repository path the distribution registry accepts.
const MAX_NAME_LENGTH: usize = 255;
/// Longest tag (distribution's grammar allows 128 characters).
const MAX_TAG_LENGTH: usize = 128;

/// A normalized reference; fields are private so the invariants (valid
/// host, lowercase repository, valid tag, valid digest, Docker Hub
/// normalized) always hold.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    host: String,
    repository: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

/// Why a string is not a reference; `Display` names the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReferenceError {
    pub input: String,
    pub reason: ReferenceErrorReason,
}

/// The one thing wrong with a reference string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReferenceErrorReason {
    Empty,
    InvalidHost(String),
    /// A port that is not a number from 1 to 65535 written without leading
    /// zeros (`:99999` would otherwise reach port 80 with the credentials
    /// of `host:99999`, and `:0` or `:05000` would name a registry that
    /// cannot exist or two spellings of one).
    InvalidPort(String),
    /// A repository path component with uppercase letters; said separately
    /// because it is the most common mistake.
    UppercaseRepository(String),
    InvalidRepositoryComponent(String),
    NameTooLong(usize),
    InvalidTag(String),
    InvalidDigest(DigestError),
}

impl fmt::Display for ReferenceError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "invalid reference {:?}: ", self.input)?;
        match &self.reason {
            ReferenceErrorReason::Empty => formatter.write_str("empty reference"),
            ReferenceErrorReason::InvalidHost(host) => {
                write!(formatter, "invalid registry host {host:?}")
            }
            ReferenceErrorReason::InvalidPort(port) => write!(
                formatter,
                "invalid registry port {port:?} (a number from 1 to 65535, without leading zeros)"
            ),
            ReferenceErrorReason::UppercaseRepository(name) => {
                write!(formatter, "repository name {name:?} must be lowercase")
            }
            ReferenceErrorReason::InvalidRepositoryComponent(component) => write!(
                formatter,
                "invalid repository name component {component:?} (lowercase letters and digits, separated by '.', '_', '__' or '-')"
            ),
            ReferenceErrorReason::NameTooLong(length) => write!(
                formatter,
                "repository name is {length} characters, at most {MAX_NAME_LENGTH} are allowed"
            ),
            ReferenceErrorReason::InvalidTag(tag) => write!(
                formatter,
                "invalid tag {tag:?} (1 to 128 of letters, digits, '_', '.', '-', not starting with '.' or '-')"
            ),
            ReferenceErrorReason::InvalidDigest(error) => write!(
                formatter,
                "{}",
                error.to_string().trim_start_matches("invalid ")
            ),
        }
    }
}

impl std::error::Error for ReferenceError {}

impl Reference {
    /// The normalized host (`docker.io` for Docker Hub).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The repository path (`library/hello-world` for Docker Hub's short
    /// names).
    pub fn repository(&self) -> &str {
        &self.repository
    }

    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// The host requests go to: Docker Hub's API lives on
    /// `registry-1.docker.io`, not on `docker.io`.
    pub fn registry_host(&self) -> &str {
        if self.is_docker_hub() {
            DOCKER_HUB_REGISTRY_HOST
        } else {
            &self.host
        }
    }

    pub fn is_docker_hub(&self) -> bool {
        self.host == DOCKER_HUB_HOST
    }

    /// Loopback registries are run without TLS (as `docker` itself assumes
    /// for `localhost`); every other host is HTTPS.
    pub fn uses_plain_http(&self) -> bool {
        host_uses_plain_http(&self.host)
    }

    /// What the manifest endpoint is asked for: the digest when pinned,
    /// else the tag, else `latest` (what `docker pull NAME` means).
    pub fn manifest_target(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(digest), _) => digest.to_string(),
            (None, Some(tag)) => tag.clone(),
            (None, None) => "latest".to_string(),
        }
    }

    /// The repository as people write it (`hello-world`, `tianon/true`,
    /// `localhost:5000/foo`), without tag or digest.
    pub fn name(&self) -> String {
        if self.is_docker_hub() {
            match self.repository.strip_prefix("library/") {
                Some(short) if !short.contains('/') => short.to_string(),
                _ => self.repository.clone(),
            }
        } else {
            format!("{}/{}", self.host, self.repository)
        }
    }

    /// The same repository and digest with `tag`; the tag is checked.
    pub fn with_tag(&self, tag: &str) -> Result<Reference, ReferenceError> {
        if !is_valid_tag(tag) {
            return Err(ReferenceError {
                input: format!("{}:{tag}", self.name()),
                reason: ReferenceErrorReason::InvalidTag(tag.to_string()),
            });
        }
        Ok(Reference {
            tag: Some(tag.to_string()),
            ..self.clone()
        })
    }

    /// The same repository and tag, pinned to `digest`.
    pub fn with_digest(&self, digest: Digest) -> Reference {
        Reference {
            digest: Some(digest),
            ..self.clone()
        }
    }

    /// Drops the tag, keeping the digest (`repo@digest` is the cache key for
    /// content, whatever tag led to it).
    pub fn without_tag(&self) -> Reference {
        Reference {
            tag: None,
            ..self.clone()
        }
    }

    /// Drops the digest, keeping the tag.
    pub fn without_digest(&self) -> Reference {
        Reference {
            digest: None,
            ..self.clone()
        }
    }

    /// Just the repository (no tag, no digest).
    pub fn repository_reference(&self) -> Reference {
        Reference {
            host: self.host.clone(),
            repository: self.repository.clone(),
            tag: None,
            digest: None,
        }
    }

    /// Whether two references name the same repository on the same host.
    pub fn same_repository(&self, other: &Reference) -> bool {
        self.host == other.host && self.repository == other.repository
    }
}

/// `localhost[:port]` and `127.0.0.1[:port]` are spoken to in plain HTTP.
pub fn host_uses_plain_http(host: &str) -> bool {
    let without_port = match host.rsplit_once(':') {
        Some((name, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    without_port == "localhost" || without_port == "127.0.0.1"
}

/// Whether `host` (any spelling) is Docker Hub.
pub fn is_docker_hub_host(host: &str) -> bool {
    DOCKER_HUB_HOST_ALIASES
        .iter()
        .any(|alias| alias.eq_ignore_ascii_case(host))
}

fn is_valid_tag(tag: &str) -> bool {
    let bytes = tag.as_bytes();
    let word = |byte: u8| byte.is_ascii_alphanumeric() || byte == b'_';
    match bytes.split_first() {
        Some((first, rest)) => {
            tag.len() <= MAX_TAG_LENGTH
                && word(*first)
                && rest
                    .iter()
                    .all(|&byte| word(byte) || byte == b'.' || byte == b'-')
        }
        None => false,
    }
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn is_valid_path_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alphanumeric = |byte: u8| byte.is_ascii_lowercase() || byte.is_ascii_digit();
    let mut index = 0;
    let run = |index: &mut usize| {
        let start = *index;
        while *index < bytes.len() && alphanumeric(bytes[*index]) {
            *index += 1;
        }
        *index > start
    };
    if !run(&mut index) {
        return false;
    }
    while index < bytes.len() {
        match bytes[index] {
            b'.' => index += 1,
            b'_' => {
                index += 1;
                if index < bytes.len() && bytes[index] == b'_' {
                    index += 1;
                }
            }
            b'-' => {
                while index < bytes.len() && bytes[index] == b'-' {
                    index += 1;
                }
            }
            _ => return false,
        }
        if !run(&mut index) {
            return false;
        }
    }
    true
}

/// `label(.label)*(:port)?` with labels `[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?`,
/// or a bracketed IPv6 address with an optional port; the port is checked
/// by [`check_port`].
fn check_host(host: &str) -> Result<(), ReferenceErrorReason> {
    let invalid = || ReferenceErrorReason::InvalidHost(host.to_string());
    let (name, port) = if let Some(rest) = host.strip_prefix('[') {
        let (address, after) = rest.split_once(']').ok_or_else(invalid)?;
        if address.is_empty() || !address.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
            return Err(invalid());
        }
        match after.strip_prefix(':') {
            Some(port) => (None, Some(port)),
            None if after.is_empty() => (None, None),
            None => return Err(invalid()),
        }
    } else {
        match host.split_once(':') {
            Some((name, port)) => (Some(name), Some(port)),
            None => (Some(host), None),
        }
    };
    if let Some(name) = name {
        let valid_name = !name.is_empty()
            && name.split('.').all(|label| {
                let bytes = label.as_bytes();
                !bytes.is_empty()
                    && bytes
                        .iter()
                        .all(|&b| b.is_ascii_alphanumeric() || b == b'-')
                    && bytes[0] != b'-'
                    && bytes[bytes.len() - 1] != b'-'
            });
        if !valid_name {
            return Err(invalid());
        }
    }
    match port {
        // `host:` and `host:name` are no port at all: the host is invalid.
        Some(port) if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) => {
            Err(invalid())
        }
        Some(port) => check_port(port),
        None => Ok(()),
    }
}

/// A TCP port as digits: 1 to 65535, in its one canonical spelling, so two
/// references to one registry always have one host text (credentials and
/// caches are keyed by it).
fn check_port(digits: &str) -> Result<(), ReferenceErrorReason> {
    match digits.parse::<u16>() {
        Ok(port) if port > 0 && !digits.starts_with('0') => Ok(()),
        _ => Err(ReferenceErrorReason::InvalidPort(digits.to_string())),
    }
}

impl FromStr for Reference {
    type Err = ReferenceError;

    fn from_str(input: &str) -> Result<Reference, ReferenceError> {
        let error = |reason| ReferenceError {
            input: input.to_string(),
            reason,
        };
        if input.is_empty() {
            return Err(error(ReferenceErrorReason::Empty));
        }
        let (name_and_tag, digest) = match input.split_once('@') {
            Some((name_and_tag, digest_text)) => {
                let digest = digest_text.parse::<Digest>().map_err(|digest_error| {
                    error(ReferenceErrorReason::InvalidDigest(digest_error))
                })?;
                (name_and_tag, Some(digest))
            }
            None => (input, None),
        };
        let last_slash = name_and_tag.rfind('/');
        let (name, tag) = match name_and_tag.rfind(':') {
            Some(colon) if last_slash.is_none_or(|slash| colon > slash) => {
                (&name_and_tag[..colon], Some(&name_and_tag[colon + 1..]))
            }
            _ => (name_and_tag, None),
        };
        if let Some(tag) = tag {
            if !is_valid_tag(tag) {
                return Err(error(ReferenceErrorReason::InvalidTag(tag.to_string())));
            }
        }
        if name.is_empty() {
            return Err(error(ReferenceErrorReason::Empty));
        }
        let (host, path) = match name.split_once('/') {
            Some((first, rest))
                if first.contains(['.', ':'])
                    || first == "localhost"
                    || first.bytes().any(|b| b.is_ascii_uppercase()) =>
            {
                (Some(first), rest)
            }
            _ => (None, name),
        };
        if let Some(host) = host {
            check_host(host).map_err(error)?;
        }
        if name.len() > MAX_NAME_LENGTH {
            return Err(error(ReferenceErrorReason::NameTooLong(name.len())));
        }
        for component in path.split('/') {
            if !is_valid_path_component(component) {
                let lowered = component.to_ascii_lowercase();
                if lowered != component && is_valid_path_component(&lowered) {
                    return Err(error(ReferenceErrorReason::UppercaseRepository(
                        path.to_string(),
                    )));
                }
                return Err(error(ReferenceErrorReason::InvalidRepositoryComponent(
                    component.to_string(),
                )));
            }
        }
        let host = match host {
            None => DOCKER_HUB_HOST.to_string(),
            Some(host) if is_docker_hub_host(host) => DOCKER_HUB_HOST.to_string(),
            Some(host) => host.to_ascii_lowercase(),
        };
        let repository = if host == DOCKER_HUB_HOST && !path.contains('/') {
            format!("library/{path}")
        } else {
            path.to_string()
        };
        Ok(Reference {
            host,
            repository,
            tag: tag.map(str::to_string),
            digest,
        })
    }
}

impl TryFrom<&str> for Reference {
    type Error = ReferenceError;
    fn try_from(input: &str) -> Result<Reference, ReferenceError> {
        input.parse()
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.name())?;
        if let Some(tag) = &self.tag {
            write!(formatter, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(formatter, "@{digest}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Reference {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "Reference({self})")
    }
}

/// References appear in JSON as the string people type (Docker Hub short).
impl From<&Reference> for serde_json::Value {
    fn from(reference: &Reference) -> serde_json::Value {
        serde_json::Value::String(reference.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn parse(input: &str) -> Reference {
        input.parse().unwrap_or_else(|error| panic!("{error}"))
    }

    #[test]
    fn valid_references_normalize_and_print_short() {
        // (input, host, repository, tag, unused, printed)
        type Case<'a> = (&'a str, &'a str, &'a str, Option<&'a str>, bool, &'a str);
        let cases: &[Case] = &[
            (
                "hello-world",
                "docker.io",
                "library/hello-world",
                None,
                false,
                "hello-world",
            ),
            (
                "hello-world:latest",
                "docker.io",
                "library/hello-world",
                Some("latest"),
                false,
                "hello-world:latest",
            ),
            (
                "tianon/true",
                "docker.io",
                "tianon/true",
                None,
                false,
                "tianon/true",
            ),
            (
                "docker.io/tianon/true:oci",
                "docker.io",
                "tianon/true",
                Some("oci"),
                false,
                "tianon/true:oci",
            ),
            (
                "docker.io/library/busybox",
                "docker.io",
                "library/busybox",
                None,
                false,
                "busybox",
            ),
            (
                "index.docker.io/library/busybox:1",
                "docker.io",
                "library/busybox",
                Some("1"),
                false,
                "busybox:1",
            ),
            (
                "registry-1.docker.io/busybox",
                "docker.io",
                "library/busybox",
                None,
                false,
                "busybox",
            ),
            (
                "registry.hub.docker.com/foo/bar",
                "docker.io",
                "foo/bar",
                None,
                false,
                "foo/bar",
            ),
            (
                "library/foo/bar",
                "docker.io",
                "library/foo/bar",
                None,
                false,
                "library/foo/bar",
            ),
            (
                "localhost:5000/foo:bar",
                "localhost:5000",
                "foo",
                Some("bar"),
                false,
                "localhost:5000/foo:bar",
            ),
            (
                "localhost/foo",
                "localhost",
                "foo",
                None,
                false,
                "localhost/foo",
            ),
            (
                "127.0.0.1:3000/a/b/c",
                "127.0.0.1:3000",
                "a/b/c",
                None,
                false,
                "127.0.0.1:3000/a/b/c",
            ),
            (
                "Example.COM/x",
                "example.com",
                "x",
                None,
                false,
                "example.com/x",
            ),
            (
                "[::1]:5000/foo",
                "[::1]:5000",
                "foo",
                None,
                false,
                "[::1]:5000/foo",
            ),
            (
                "a__b/c---d.e_f",
                "docker.io",
                "a__b/c---d.e_f",
                None,
                false,
                "a__b/c---d.e_f",
            ),
        ];
        for (input, host, repository, tag, _, printed) in cases {
            let reference = parse(input);
            assert_eq!(reference.host(), *host, "{input}");
            assert_eq!(reference.repository(), *repository, "{input}");
            assert_eq!(reference.tag(), *tag, "{input}");
            assert_eq!(reference.to_string(), *printed, "{input}");
            assert_eq!(parse(printed), reference, "printing round-trips: {input}");
        }
        let pinned = parse(&format!("localhost:5000/foo:bar@{DIGEST}"));
        assert_eq!(pinned.digest().map(|d| d.as_str()), Some(DIGEST));
        assert_eq!(
            pinned.to_string(),
            format!("localhost:5000/foo:bar@{DIGEST}")
        );
        assert_eq!(
            parse(&format!("docker.io/library/hello-world@{DIGEST}")).to_string(),
            format!("hello-world@{DIGEST}")
        );
    }

    #[test]
    fn invalid_references_have_exact_errors() {
        let cases: &[(&str, &str)] = &[
            ("", "invalid reference \"\": empty reference"),
            (":tag", "invalid reference \":tag\": empty reference"),
            ("Ubuntu", "invalid reference \"Ubuntu\": repository name \"Ubuntu\" must be lowercase"),
            ("foo/Bar", "invalid reference \"foo/Bar\": repository name \"foo/Bar\" must be lowercase"),
            ("foo//bar", "invalid reference \"foo//bar\": invalid repository name component \"\" (lowercase letters and digits, separated by '.', '_', '__' or '-')"),
            ("foo/-bar", "invalid reference \"foo/-bar\": invalid repository name component \"-bar\" (lowercase letters and digits, separated by '.', '_', '__' or '-')"),
            ("foo___bar", "invalid reference \"foo___bar\": invalid repository name component \"foo___bar\" (lowercase letters and digits, separated by '.', '_', '__' or '-')"),
            ("foo:", "invalid reference \"foo:\": invalid tag \"\" (1 to 128 of letters, digits, '_', '.', '-', not starting with '.' or '-')"),
            ("foo:.bar", "invalid reference \"foo:.bar\": invalid tag \".bar\" (1 to 128 of letters, digits, '_', '.', '-', not starting with '.' or '-')"),
            ("foo:a+b", "invalid reference \"foo:a+b\": invalid tag \"a+b\" (1 to 128 of letters, digits, '_', '.', '-', not starting with '.' or '-')"),
            ("foo@sha256:abc", "invalid reference \"foo@sha256:abc\": digest \"sha256:abc\": expected 64 hex digits, found 3"),
            ("foo@latest", "invalid reference \"foo@latest\": digest \"latest\": expected ALGORITHM:HEX, such as sha256:<64 hex digits>"),
            ("-host.com/foo", "invalid reference \"-host.com/foo\": invalid registry host \"-host.com\""),
            ("host.com:port/foo", "invalid reference \"host.com:port/foo\": invalid registry host \"host.com:port\""),
            ("localhost:/foo", "invalid reference \"localhost:/foo\": invalid registry host \"localhost:\""),
        ];
        for (input, expected) in cases {
            let error = input.parse::<Reference>().unwrap_err();
            assert_eq!(error.to_string(), *expected, "input {input:?}");
        }
        let long_tag = "a".repeat(129);
        assert!(format!("foo:{long_tag}").parse::<Reference>().is_err());
        assert!(format!("foo:{}", "a".repeat(128))
            .parse::<Reference>()
            .is_ok());
        let long_name = "a".repeat(256);
        assert_eq!(
            long_name.parse::<Reference>().unwrap_err().reason,
            ReferenceErrorReason::NameTooLong(256)
        );
    }

    /// Issue 9: `127.0.0.1:99999/x` used to parse, and the request went to
    /// port 80 with the credentials stored for `127.0.0.1:99999`.
    #[test]
    fn ports_are_1_to_65535_in_one_spelling() {
        let port_error = |input: &str, port: &str| {
            format!("invalid reference {input:?}: invalid registry port {port:?} (a number from 1 to 65535, without leading zeros)")
        };
        let cases: &[(&str, String)] = &[
            ("127.0.0.1:99999/x", port_error("127.0.0.1:99999/x", "99999")),
            ("127.0.0.1:65536/x", port_error("127.0.0.1:65536/x", "65536")),
            ("localhost:0/x", port_error("localhost:0/x", "0")),
            ("localhost:05000/x", port_error("localhost:05000/x", "05000")),
            ("localhost:00/x", port_error("localhost:00/x", "00")),
            (
                "localhost:184467440737095516160/x",
                port_error("localhost:184467440737095516160/x", "184467440737095516160"),
            ),
            ("[::1]:99999/x", port_error("[::1]:99999/x", "99999")),
            ("[::1]:0/x:tag", port_error("[::1]:0/x:tag", "0")),
            (
                "localhost:5x/x",
                "invalid reference \"localhost:5x/x\": invalid registry host \"localhost:5x\"".to_string(),
            ),
            (
                "localhost:-1/x",
                "invalid reference \"localhost:-1/x\": invalid registry host \"localhost:-1\"".to_string(),
            ),
            (
                "localhost:+80/x",
                "invalid reference \"localhost:+80/x\": invalid registry host \"localhost:+80\"".to_string(),
            ),
            (
                "localhost:80:80/x",
                "invalid reference \"localhost:80:80/x\": invalid registry host \"localhost:80:80\"".to_string(),
            ),
            (
                "[::1]x/y",
                "invalid reference \"[::1]x/y\": invalid registry host \"[::1]x\"".to_string(),
            ),
        ];
        for (input, expected) in cases {
            let error = input.parse::<Reference>().unwrap_err();
            assert_eq!(error.to_string(), *expected, "input {input:?}");
        }
        for valid in [
            "localhost:1/x",
            "localhost:65535/x",
            "127.0.0.1:5000/x",
            "[::1]:443/x",
        ] {
            assert!(valid.parse::<Reference>().is_ok(), "{valid}");
        }
    }

    #[test]
    fn docker_hub_goes_to_registry_1_and_loopback_is_plain_http() {
        let hub = parse("hello-world");
        assert!(hub.is_docker_hub());
        assert_eq!(hub.registry_host(), "registry-1.docker.io");
        assert!(!hub.uses_plain_http());
        for host in [
            "localhost",
            "localhost:5000",
            "127.0.0.1",
            "127.0.0.1:40000",
        ] {
            assert!(parse(&format!("{host}/foo")).uses_plain_http(), "{host}");
        }
        for host in [
            "example.com",
            "localhost.example.com:5000",
            "127.0.0.2:5000",
        ] {
            assert!(!parse(&format!("{host}/foo")).uses_plain_http(), "{host}");
        }
    }

    #[test]
    fn tag_and_digest_builders_keep_invariants() {
        let base = parse("tianon/true");
        assert_eq!(base.manifest_target(), "latest");
        let tagged = base.with_tag("oci").unwrap();
        assert_eq!(tagged.manifest_target(), "oci");
        assert_eq!(tagged.to_string(), "tianon/true:oci");
        let pinned = tagged.with_digest(DIGEST.parse().unwrap());
        assert_eq!(pinned.manifest_target(), DIGEST);
        assert_eq!(
            pinned.without_tag().to_string(),
            format!("tianon/true@{DIGEST}")
        );
        assert_eq!(pinned.without_digest().to_string(), "tianon/true:oci");
        assert_eq!(pinned.repository_reference().to_string(), "tianon/true");
        assert!(pinned.same_repository(&base));
        assert_eq!(
            base.with_tag("-x").unwrap_err().to_string(),
            "invalid reference \"tianon/true:-x\": invalid tag \"-x\" (1 to 128 of letters, digits, '_', '.', '-', not starting with '.' or '-')"
        );
    }

    #[test]
    fn json_form_is_the_short_string() {
        let value = serde_json::Value::from(&parse("docker.io/library/busybox:latest"));
        assert_eq!(value, serde_json::Value::String("busybox:latest".into()));
    }
}

//! Image references as `builds` writes them: lookup keys, cache keys and
//! the images it asks the registry for.
//!
//! The form is the one `lookup` prints (issue 4): Docker Hub's host names
//! dropped and `library/` removed from one-part official names, so that
//! `docker.io/library/alpine:3.18` and `alpine:3.18` are one cache entry and
//! one lookup. The reference tooling keys its cache the same way
//! (`alpine@sha256:...` in `cache-builds.json`).

use std::fmt;

/// Host names that all mean Docker Hub (the Docker CLI accepts each of them).
const DOCKER_HUB_HOSTS: [&str; 4] = [
    "docker.io",
    "index.docker.io",
    "registry-1.docker.io",
    "registry.hub.docker.com",
];

/// Docker's limit on tag length (distribution/reference grammar).
const MAX_TAG_LENGTH: usize = 128;

/// A parsed `[host/]name[:tag][@digest]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageReference {
    /// `None` for Docker Hub.
    host: Option<String>,
    /// Repository path as the registry knows it (`library/alpine`).
    repository: String,
    tag: Option<String>,
    digest: Option<String>,
}

impl ImageReference {
    /// Parses a reference, naming the input in the error.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (name_and_tag, digest) = match text.split_once('@') {
            Some((name_and_tag, digest)) => {
                check_digest(digest)?;
                (name_and_tag, Some(digest.to_string()))
            }
            None => (text, None),
        };
        let last_slash = name_and_tag.rfind('/').map_or(0, |index| index + 1);
        let (name, tag) = match name_and_tag[last_slash..].rfind(':') {
            Some(colon) => {
                let colon = last_slash + colon;
                (
                    &name_and_tag[..colon],
                    Some(name_and_tag[colon + 1..].to_string()),
                )
            }
            None => (name_and_tag, None),
        };
        if let Some(tag) = &tag {
            check_tag(tag)
                .map_err(|problem| format!("invalid image reference {text:?}: {problem}"))?;
        }
        let (host, path) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                check_host(first)
                    .map_err(|problem| format!("invalid image reference {text:?}: {problem}"))?;
                (Some(first.to_ascii_lowercase()), rest)
            }
            _ => (None, name),
        };
        check_path(path)
            .map_err(|problem| format!("invalid image reference {text:?}: {problem}"))?;
        let host = host.filter(|host| !DOCKER_HUB_HOSTS.contains(&host.as_str()));
        let repository = if host.is_none() && !path.contains('/') {
            format!("library/{path}")
        } else {
            path.to_string()
        };
        Ok(Self {
            host,
            repository,
            tag,
            digest,
        })
    }

    /// The same image by digest, without its tag: the reference looks a
    /// pinned parent up as `name@pin` (`alpine@sha256:...`), because the
    /// digest alone names the content and the tag may have moved since.
    pub fn pinned(&self, digest: &str) -> Result<Self, String> {
        check_digest(digest)?;
        Ok(Self {
            host: self.host.clone(),
            repository: self.repository.clone(),
            tag: None,
            digest: Some(digest.to_string()),
        })
    }

    /// Whether the content behind this reference can never change, so that
    /// caching it across runs is safe.
    pub fn is_by_digest(&self) -> bool {
        self.digest.is_some()
    }

    /// The repository name in its short printed form (`alpine`,
    /// `mcr.microsoft.com/windows/servercore`).
    pub fn name(&self) -> String {
        match &self.host {
            Some(host) => format!("{host}/{}", self.repository),
            None => self
                .repository
                .strip_prefix("library/")
                .filter(|rest| !rest.contains('/'))
                .unwrap_or(&self.repository)
                .to_string(),
        }
    }
}

impl fmt::Display for ImageReference {
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

/// A digest is `sha256:` + 64 or `sha512:` + 128 lowercase hex digits (the
/// two algorithms the OCI image spec registers).
pub fn check_digest(digest: &str) -> Result<(), String> {
    let valid = match digest.split_once(':') {
        Some(("sha256", hex)) => is_lower_hex(hex, 64),
        Some(("sha512", hex)) => is_lower_hex(hex, 128),
        _ => false,
    };
    if valid {
        Ok(())
    } else {
        Err(format!(
            "invalid digest {digest:?} (expected sha256: and 64 lowercase hex digits, or sha512: and 128)"
        ))
    }
}

fn is_lower_hex(text: &str, length: usize) -> bool {
    text.len() == length
        && text
            .bytes()
            .all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'))
}

fn check_tag(tag: &str) -> Result<(), String> {
    let mut bytes = tag.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|byte| byte.is_ascii_alphanumeric() || byte == b'_');
    if !first_ok
        || tag.len() > MAX_TAG_LENGTH
        || !bytes.all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'.' | b'-'))
    {
        return Err(format!("invalid tag {tag:?}"));
    }
    Ok(())
}

fn check_host(host: &str) -> Result<(), String> {
    let valid = !host.is_empty()
        && host.bytes().all(|byte| {
            byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'-' | b':' | b'[' | b']')
        });
    if valid {
        Ok(())
    } else {
        Err(format!("invalid registry host {host:?}"))
    }
}

/// Path components are lowercase letters and digits joined by `.`, `_` or
/// `-` (the distribution reference grammar, slightly relaxed on separators).
fn check_path(path: &str) -> Result<(), String> {
    for component in path.split('/') {
        let bytes = component.as_bytes();
        let valid = match (bytes.first(), bytes.last()) {
            (Some(first), Some(last)) => {
                is_lower_alphanumeric(*first)
                    && is_lower_alphanumeric(*last)
                    && bytes.iter().all(|byte| {
                        is_lower_alphanumeric(*byte) || matches!(byte, b'.' | b'_' | b'-')
                    })
            }
            _ => false,
        };
        if !valid {
            return Err(format!("invalid repository name {path:?}"));
        }
    }
    Ok(())
}

fn is_lower_alphanumeric(byte: u8) -> bool {
    byte.is_ascii_lowercase() || byte.is_ascii_digit()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:34871e7290500828b39e22294660bee86d966bc0017544e848dd9a255cdf59e0";

    fn short(text: &str) -> String {
        ImageReference::parse(text).unwrap().to_string()
    }

    #[test]
    fn docker_hub_names_are_printed_short() {
        assert_eq!(short("alpine:3.18"), "alpine:3.18");
        assert_eq!(short("docker.io/library/alpine:3.18"), "alpine:3.18");
        assert_eq!(short("index.docker.io/library/alpine"), "alpine");
        assert_eq!(short("registry-1.docker.io/tianon/true"), "tianon/true");
        assert_eq!(short("library/alpine"), "alpine");
    }

    #[test]
    fn other_registries_keep_their_host() {
        assert_eq!(
            short("mcr.microsoft.com/windows/servercore:ltsc2022"),
            "mcr.microsoft.com/windows/servercore:ltsc2022"
        );
        assert_eq!(short("localhost:5000/foo:bar"), "localhost:5000/foo:bar");
        assert_eq!(short("localhost/library/foo"), "localhost/library/foo");
    }

    #[test]
    fn pin_replaces_tag_and_makes_it_by_digest() {
        let reference = ImageReference::parse("alpine:3.18").unwrap();
        assert!(!reference.is_by_digest());
        let pinned = reference.pinned(DIGEST).unwrap();
        assert!(pinned.is_by_digest());
        assert_eq!(pinned.to_string(), format!("alpine@{DIGEST}"));
    }

    #[test]
    fn tag_and_digest_are_both_kept() {
        assert_eq!(
            short(&format!("alpine:3.18@{DIGEST}")),
            format!("alpine:3.18@{DIGEST}")
        );
    }

    #[test]
    fn bad_references_are_errors_naming_the_input() {
        for bad in [
            "",
            "Alpine",
            "alpine:",
            "alpine:-x",
            "alpine@sha256:abc",
            "a//b",
            "alpine/",
        ] {
            let error = ImageReference::parse(bad).unwrap_err();
            assert!(
                error.contains(&format!("{bad:?}")) || error.contains("digest"),
                "{bad}: {error}"
            );
        }
    }

    #[test]
    fn digests_are_checked() {
        assert!(check_digest(DIGEST).is_ok());
        assert!(check_digest(&DIGEST.to_uppercase()).is_err());
        assert!(check_digest("md5:00").is_err());
        assert!(check_digest(&format!("sha512:{}", "0".repeat(128))).is_ok());
    }
}

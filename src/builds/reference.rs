//! Image references as `builds` writes them: lookup keys, cache keys and
//! the images it asks the registry for.
//!
//! The form is the one `lookup` prints (the registry's [`Reference`]
//! display: Docker Hub host names dropped, `library/` removed from one-part
//! names), so that `docker.io/library/alpine:3.18` and `alpine:3.18` are one
//! cache entry and one lookup. The reference tooling keys its cache the same
//! way (`alpine@sha256:...` in `cache-builds.json`).

use crate::registry::{Digest, DigestError, Reference, ReferenceError};

/// Parses a reference; the error names the input.
pub fn parse(text: &str) -> Result<Reference, ReferenceError> {
    text.parse()
}

/// The same image by digest, without its tag: the reference looks a pinned
/// parent up as `name@pin` (`alpine@sha256:...`), because the digest alone
/// names the content and the tag may have moved since.
pub fn pinned(reference: &Reference, pin: &str) -> Result<Reference, DigestError> {
    Ok(reference.without_tag().with_digest(pin.parse::<Digest>()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:34871e7290500828b39e22294660bee86d966bc0017544e848dd9a255cdf59e0";

    fn short(text: &str) -> String {
        parse(text).unwrap().to_string()
    }

    /// Cache keys depend on this form: `cache-builds.json` uses it.
    #[test]
    fn docker_hub_names_are_printed_short() {
        assert_eq!(short("alpine:3.18"), "alpine:3.18");
        assert_eq!(short("docker.io/library/alpine:3.18"), "alpine:3.18");
        assert_eq!(short("registry-1.docker.io/tianon/true"), "tianon/true");
        assert_eq!(
            short("mcr.microsoft.com/windows/servercore:ltsc2022"),
            "mcr.microsoft.com/windows/servercore:ltsc2022"
        );
    }

    #[test]
    fn pin_replaces_tag() {
        let reference = parse("alpine:3.18").unwrap();
        assert_eq!(
            pinned(&reference, DIGEST).unwrap().to_string(),
            format!("alpine@{DIGEST}")
        );
        assert!(pinned(&reference, "sha256:00")
            .unwrap_err()
            .to_string()
            .contains("\"sha256:00\""));
    }

    #[test]
    fn bad_references_are_errors_naming_the_input() {
        for bad in ["", "Alpine", "alpine:", "alpine@sha256:abc", "a//b"] {
            let error = parse(bad).unwrap_err().to_string();
            assert!(error.contains(&format!("{bad:?}")), "{bad}: {error}");
        }
    }
}

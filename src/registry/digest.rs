//! Content digests, valid by construction.
//!
//! Every object a registry stores is named by the digest of its exact bytes
//! (OCI image-spec, "Descriptors: Digests"). We accept only the two
//! algorithms the spec registers, `sha256` (64 lowercase hex digits) and
//! `sha512` (128), so a `Digest` value can always be used to verify bytes and
//! can be put in a URL path without escaping.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest as _, Sha256, Sha512};

/// A registered digest algorithm (OCI image-spec lists exactly these two).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DigestAlgorithm {
    Sha256,
    Sha512,
}

impl DigestAlgorithm {
    /// The name written before the `:`.
    pub fn name(self) -> &'static str {
        match self {
            DigestAlgorithm::Sha256 => "sha256",
            DigestAlgorithm::Sha512 => "sha512",
        }
    }

    /// How many hex digits an encoded digest of this algorithm has.
    pub fn hex_length(self) -> usize {
        match self {
            DigestAlgorithm::Sha256 => 64,
            DigestAlgorithm::Sha512 => 128,
        }
    }
}

/// `algorithm:hex`, always one of the registered algorithms with the right
/// number of lowercase hex digits.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    /// The full text, kept so `as_str` never allocates; the algorithm is
    /// recovered from its prefix.
    text: String,
}

/// Why a string is not a digest; `Display` names the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DigestError {
    pub input: String,
    pub reason: DigestErrorReason,
}

/// The one thing wrong with a digest string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DigestErrorReason {
    /// No `:` separates algorithm and hex.
    MissingAlgorithm,
    /// An algorithm other than sha256 or sha512.
    UnsupportedAlgorithm(String),
    /// The hex part has the wrong number of characters.
    WrongLength { expected: usize, found: usize },
    /// A character that is not a lowercase hex digit (uppercase is refused
    /// because the spec's grammar for registered algorithms is lowercase, and
    /// two spellings of one digest would break caching by name).
    NotLowercaseHex,
}

impl fmt::Display for DigestError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "invalid digest {:?}: ", self.input)?;
        match &self.reason {
            DigestErrorReason::MissingAlgorithm => {
                formatter.write_str("expected ALGORITHM:HEX, such as sha256:<64 hex digits>")
            }
            DigestErrorReason::UnsupportedAlgorithm(algorithm) => write!(
                formatter,
                "unsupported algorithm {algorithm:?} (only sha256 and sha512)"
            ),
            DigestErrorReason::WrongLength { expected, found } => {
                write!(formatter, "expected {expected} hex digits, found {found}")
            }
            DigestErrorReason::NotLowercaseHex => {
                formatter.write_str("the hex part must be lowercase hex digits (0-9, a-f)")
            }
        }
    }
}

impl std::error::Error for DigestError {}

/// Bytes whose digest is not the one expected; `Display` names both.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DigestMismatch {
    pub expected: Digest,
    pub actual: Digest,
}

impl fmt::Display for DigestMismatch {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "content digest mismatch: expected {}, got {}",
            self.expected, self.actual
        )
    }
}

impl std::error::Error for DigestMismatch {}

impl Digest {
    /// The sha256 digest of `bytes` (what we compute for anything we push).
    pub fn sha256_of(bytes: &[u8]) -> Digest {
        Digest {
            text: format!("sha256:{}", hex(&Sha256::digest(bytes))),
        }
    }

    /// The digest of `bytes` with `algorithm`.
    pub fn compute(algorithm: DigestAlgorithm, bytes: &[u8]) -> Digest {
        match algorithm {
            DigestAlgorithm::Sha256 => Digest::sha256_of(bytes),
            DigestAlgorithm::Sha512 => Digest {
                text: format!("sha512:{}", hex(&Sha512::digest(bytes))),
            },
        }
    }

    /// Checks `bytes` against this digest, with the same algorithm.
    pub fn verify(&self, bytes: &[u8]) -> Result<(), DigestMismatch> {
        let actual = Digest::compute(self.algorithm(), bytes);
        if actual == *self {
            Ok(())
        } else {
            Err(DigestMismatch {
                expected: self.clone(),
                actual,
            })
        }
    }

    /// A streaming hasher for this digest's algorithm, for blobs too big to
    /// hold in memory.
    pub fn hasher(&self) -> DigestHasher {
        DigestHasher::new(self.algorithm())
    }

    pub fn algorithm(&self) -> DigestAlgorithm {
        if self.text.starts_with("sha512:") {
            DigestAlgorithm::Sha512
        } else {
            DigestAlgorithm::Sha256
        }
    }

    /// The hex digits after the `:`.
    pub fn hex(&self) -> &str {
        let prefix_length = self.algorithm().name().len() + 1;
        &self.text[prefix_length..]
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// Incremental digest computation (see [`Digest::hasher`]).
#[derive(Clone)]
pub struct DigestHasher {
    state: HasherState,
}

#[derive(Clone)]
enum HasherState {
    Sha256(Sha256),
    Sha512(Sha512),
}

impl DigestHasher {
    pub fn new(algorithm: DigestAlgorithm) -> DigestHasher {
        let state = match algorithm {
            DigestAlgorithm::Sha256 => HasherState::Sha256(Sha256::new()),
            DigestAlgorithm::Sha512 => HasherState::Sha512(Sha512::new()),
        };
        DigestHasher { state }
    }

    pub fn update(&mut self, bytes: &[u8]) {
        match &mut self.state {
            HasherState::Sha256(hasher) => hasher.update(bytes),
            HasherState::Sha512(hasher) => hasher.update(bytes),
        }
    }

    pub fn finish(self) -> Digest {
        match self.state {
            HasherState::Sha256(hasher) => Digest {
                text: format!("sha256:{}", hex(&hasher.finalize())),
            },
            HasherState::Sha512(hasher) => Digest {
                text: format!("sha512:{}", hex(&hasher.finalize())),
            },
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(DIGITS[usize::from(byte >> 4)] as char);
        text.push(DIGITS[usize::from(byte & 0x0f)] as char);
    }
    text
}

impl FromStr for Digest {
    type Err = DigestError;

    fn from_str(input: &str) -> Result<Digest, DigestError> {
        let error = |reason| DigestError {
            input: input.to_string(),
            reason,
        };
        let Some((algorithm_name, encoded)) = input.split_once(':') else {
            return Err(error(DigestErrorReason::MissingAlgorithm));
        };
        let algorithm = match algorithm_name {
            "sha256" => DigestAlgorithm::Sha256,
            "sha512" => DigestAlgorithm::Sha512,
            other => {
                return Err(error(DigestErrorReason::UnsupportedAlgorithm(
                    other.to_string(),
                )))
            }
        };
        if !encoded
            .bytes()
            .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte))
        {
            return Err(error(DigestErrorReason::NotLowercaseHex));
        }
        if encoded.len() != algorithm.hex_length() {
            return Err(error(DigestErrorReason::WrongLength {
                expected: algorithm.hex_length(),
                found: encoded.len(),
            }));
        }
        Ok(Digest {
            text: input.to_string(),
        })
    }
}

impl TryFrom<&str> for Digest {
    type Error = DigestError;
    fn try_from(input: &str) -> Result<Digest, DigestError> {
        input.parse()
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.text)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "Digest({})", self.text)
    }
}

impl From<&Digest> for serde_json::Value {
    fn from(digest: &Digest) -> serde_json::Value {
        serde_json::Value::String(digest.text.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY_SHA256: &str =
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn sha256_of_empty_input_is_the_well_known_value() {
        assert_eq!(Digest::sha256_of(b"").as_str(), EMPTY_SHA256);
    }

    #[test]
    fn sha512_is_computed_and_verified() {
        let digest = Digest::compute(DigestAlgorithm::Sha512, b"abc");
        assert!(digest.as_str().starts_with("sha512:ddaf35a193617aba"));
        let parsed: Digest = digest.as_str().parse().unwrap();
        assert_eq!(parsed.algorithm(), DigestAlgorithm::Sha512);
        assert!(parsed.verify(b"abc").is_ok());
        assert!(parsed.verify(b"abd").is_err());
    }

    #[test]
    fn verify_reports_both_digests() {
        let digest: Digest = EMPTY_SHA256.parse().unwrap();
        let mismatch = digest.verify(b"x").unwrap_err();
        assert_eq!(mismatch.expected, digest);
        assert_eq!(mismatch.actual, Digest::sha256_of(b"x"));
        assert!(mismatch
            .to_string()
            .starts_with("content digest mismatch: expected sha256:e3b0c442"));
    }

    #[test]
    fn streaming_hasher_matches_one_shot() {
        let digest = Digest::sha256_of(b"hello world");
        let mut hasher = digest.hasher();
        hasher.update(b"hello ");
        hasher.update(b"world");
        assert_eq!(hasher.finish(), digest);
    }

    #[test]
    fn parse_errors_name_input_and_reason() {
        let cases: &[(&str, &str)] = &[
            ("", "invalid digest \"\": expected ALGORITHM:HEX, such as sha256:<64 hex digits>"),
            ("e3b0c44298fc", "invalid digest \"e3b0c44298fc\": expected ALGORITHM:HEX, such as sha256:<64 hex digits>"),
            ("md5:abc", "invalid digest \"md5:abc\": unsupported algorithm \"md5\" (only sha256 and sha512)"),
            ("SHA256:abc", "invalid digest \"SHA256:abc\": unsupported algorithm \"SHA256\" (only sha256 and sha512)"),
            ("sha256:abc", "invalid digest \"sha256:abc\": expected 64 hex digits, found 3"),
            ("sha512:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "invalid digest \"sha512:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\": expected 128 hex digits, found 64"),
            ("sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", "invalid digest \"sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855\": the hex part must be lowercase hex digits (0-9, a-f)"),
            ("sha256:g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "invalid digest \"sha256:g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\": the hex part must be lowercase hex digits (0-9, a-f)"),
            ("sha256:", "invalid digest \"sha256:\": expected 64 hex digits, found 0"),
        ];
        for (input, expected) in cases {
            let error = input.parse::<Digest>().unwrap_err();
            assert_eq!(error.to_string(), *expected, "input {input:?}");
        }
    }

    #[test]
    fn display_round_trips_and_hex_is_the_suffix() {
        let digest: Digest = EMPTY_SHA256.parse().unwrap();
        assert_eq!(digest.to_string(), EMPTY_SHA256);
        assert_eq!(digest.hex(), &EMPTY_SHA256[7..]);
        assert_eq!(digest.algorithm().name(), "sha256");
    }
}

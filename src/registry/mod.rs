//! The registry client: references and digests, the wire protocol, and a
//! blocking HTTP client built to send as few requests as possible.
//!
//! Docker Hub limits how many requests we may make, so everything here is
//! organized around not asking twice: a per-process cache with single-flight
//! (concurrent asks for one object share one request), a token cache per
//! host and scope, a token-bucket rate limit per host, and retries that back
//! off instead of adding load during an outage. [`reference`] and [`digest`]
//! are the names, [`protocol`] holds every wire rule (paths, media types,
//! headers, retried statuses), and the client is layered one concern per
//! file so each rule lives in exactly one place.

pub mod digest;
pub mod protocol;
pub mod reference;

pub use digest::{Digest, DigestAlgorithm, DigestError, DigestMismatch};
pub use reference::{Reference, ReferenceError};

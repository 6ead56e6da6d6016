//! The registry client: references and digests, the wire protocol, and a
//! blocking HTTP client built to send as few requests as possible.
//!
//! Docker Hub limits how many requests we may make, so everything here is
//! organized around not asking twice: a per-process cache with single-flight
//! (concurrent asks for one object share one request), a token cache per
//! host and scope, a token-bucket rate limit per host, and retries that back
//! off instead of adding load during an outage. [`reference`](mod@reference) and [`digest`]
//! are the names, [`protocol`] holds every wire rule (paths, media types,
//! headers, retried statuses), and the client is layered one concern per
//! file (see [`transport`]) so each rule lives in exactly one place.
//!
//! Use: build one [`Client`] per process ([`Client::from_env`] reads
//! `DOCKERHUB_PUBLIC_PROXY`; [`ClientConfig`] sets the rest) and share it
//! (it is `Clone + Send + Sync`, an `Arc` inside). Reads:
//! [`Client::head_manifest`], [`Client::get_manifest`], [`Client::head_blob`],
//! [`Client::get_blob`], [`Client::open_blob`] (streaming), and
//! [`Client::lookup_index`] (the synthesized index `lookup` prints). Writes
//! have one path: the primitives in [`write`](mod@write)
//! ([`Client::put_manifest`], [`Client::upload_blob`],
//! [`Client::upload_blob_stream`], [`Client::mount_blob`],
//! [`Client::start_upload`] / [`Client::finish_upload`]), composed by
//! [`push::Pusher`] into pushes of manifests with their children from a
//! [`push::ChildSources`] (registry references or local content).
//! Streamed blobs are read through the one verifying reader of [`stream`].
//! How long anything may wait is [`limits`]. Counters: [`Client::stats`].
//! Not found is `Ok(None)`; everything else that goes wrong is a
//! [`RegistryError`].

pub(crate) mod auth;
pub(crate) mod cache;
pub(crate) mod client;
pub(crate) mod credentials;
pub(crate) mod digest;
pub mod error;
pub mod limits;
pub(crate) mod lookup;
pub mod lookup_command;
pub(crate) mod manifest;
pub mod protocol;
pub mod push;
pub(crate) mod reference;
pub(crate) mod stats;
pub(crate) mod stream;
pub(crate) mod transport;
pub(crate) mod write;

pub use client::{Client, ClientConfig, Descriptor, Object, ObjectType, DOCKERHUB_PUBLIC_PROXY};
pub use credentials::Credentials;
pub use digest::{Digest, DigestAlgorithm, DigestError, DigestMismatch};
pub use error::{ErrorCode, ErrorDetail, ErrorKind, RegistryError};
pub use limits::Limits;
pub use lookup::Platform;
pub use reference::{Reference, ReferenceError};
pub use stats::{RequestKind, RequestStats};
pub use stream::BlobReader;
pub use transport::rate_limit::RateLimit;
pub use transport::retry::RetryPolicy;
pub use transport::watch::Timeouts;
pub use transport::{BodySource, RequestBody};
pub use write::{MountOutcome, UploadSession};

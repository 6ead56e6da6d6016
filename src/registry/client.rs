//! The client: configuration, one transport stack per host, and reads
//! through the per-process cache.
//!
//! Reads (HEAD and GET of manifests and blobs) go through two
//! single-flight maps keyed by host, repository and tag-or-digest: the same
//! question is asked at most once per process, concurrent asks share the
//! request in flight, a GET answers a later HEAD, and an answer by tag also
//! answers the same object by digest. Everything read is checked against
//! its digest (and its announced size) before anyone sees it.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use base64::Engine as _;

use super::auth::AuthState;
use super::cache::SingleFlight;
use super::credentials::{CredentialStore, Credentials};
use super::digest::Digest;
use super::error::{ErrorKind, RegistryError};
use super::limits::Limits;
use super::protocol::{self, header, Method, Origin};
use super::reference::{Reference, DOCKER_HUB_REGISTRY_HOST};
use super::stats::{Counters, RequestKind, RequestStats};
use super::transport::http::{HttpTransport, Timeouts};
use super::transport::rate_limit::{RateLimit, TokenBucket};
use super::transport::retry::{RetryLayer, RetryPolicy};
use super::transport::user_agent::{default_user_agent, UserAgentLayer};
use super::transport::{
    build_host_transport, Request, Response, ResponseBody, ResponseBodyMode, Transport,
};

/// The environment variable naming a Docker Hub pull-through mirror.
pub const DOCKERHUB_PUBLIC_PROXY: &str = "DOCKERHUB_PUBLIC_PROXY";

/// Blobs read whole with [`Client::get_blob`] may be at most this big;
/// bigger ones are streamed with [`Client::open_blob`].
pub const MAX_BUFFERED_BLOB_SIZE: u64 = 256 * 1024 * 1024;

/// How the client behaves; [`ClientConfig::from_env`] is what the CLIs use.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Sent as `User-Agent` on every request.
    pub user_agent: String,
    /// Rate limits by request host (Docker Hub: `registry-1.docker.io`);
    /// hosts not listed are unlimited.
    pub rate_limits: HashMap<String, RateLimit>,
    /// Base URL (`http[s]://host[:port]`) of a Docker Hub mirror for reads.
    pub docker_hub_proxy: Option<String>,
    /// Docker config directory (None: `$DOCKER_CONFIG`, else `~/.docker`).
    pub docker_config_dir: Option<PathBuf>,
    /// Where `docker-credential-*` helpers are looked for first.
    pub credential_helper_dir: Option<PathBuf>,
    /// Credentials given directly, by request host; used before the config.
    pub credentials: HashMap<String, Credentials>,
    /// Request host -> base URL, to send a host's traffic elsewhere (tests
    /// point `registry-1.docker.io` at a local registry this way).
    pub host_overrides: HashMap<String, String>,
    pub retry: RetryPolicy,
    pub timeouts: Timeouts,
}

impl Default for ClientConfig {
    fn default() -> Self {
        let mut rate_limits = HashMap::new();
        rate_limits.insert(DOCKER_HUB_REGISTRY_HOST.to_string(), RateLimit::DOCKER_HUB);
        ClientConfig {
            user_agent: default_user_agent(),
            rate_limits,
            docker_hub_proxy: None,
            docker_config_dir: None,
            credential_helper_dir: None,
            credentials: HashMap::new(),
            host_overrides: HashMap::new(),
            retry: RetryPolicy::default(),
            timeouts: Timeouts::default(),
        }
    }
}

impl ClientConfig {
    /// Defaults plus `DOCKERHUB_PUBLIC_PROXY` (validated) and the limits of
    /// [`super::limits`] (`DOI_TIMEOUT`, `DOI_RETRY_MAX_WAIT`,
    /// `DOI_RETRY_BUDGET`); the Docker config is found through
    /// `DOCKER_CONFIG`/`HOME` when first needed.
    pub fn from_env() -> Result<ClientConfig, RegistryError> {
        let mut config = ClientConfig::default();
        if let Ok(proxy) = std::env::var(DOCKERHUB_PUBLIC_PROXY) {
            if !proxy.is_empty() {
                config.docker_hub_proxy = Some(validate_proxy_url(&proxy)?);
            }
        }
        Limits::from_env()?.apply(&mut config);
        Ok(config)
    }

    /// Sets the rate limit of one request host.
    pub fn with_rate_limit(mut self, host: &str, limit: Option<RateLimit>) -> ClientConfig {
        match limit {
            Some(limit) => self.rate_limits.insert(host.to_string(), limit),
            None => self.rate_limits.remove(host),
        };
        self
    }
}

/// Checks a `DOCKERHUB_PUBLIC_PROXY` value: an http or https URL with a
/// host and no path; returns it without a trailing slash.
pub fn validate_proxy_url(url: &str) -> Result<String, RegistryError> {
    let invalid = |why: &str| {
        RegistryError::new(
            ErrorKind::Configuration,
            format!("{DOCKERHUB_PUBLIC_PROXY}={url:?}: {why}"),
        )
    };
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| invalid("must start with http:// or https://"))?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty() {
        return Err(invalid("has no host"));
    }
    if rest.contains(['/', '?', '#', '@']) {
        return Err(invalid(
            "must be just scheme and host (no path, query or credentials)",
        ));
    }
    if Origin::of(url).is_none() {
        return Err(invalid("has a port that is not 1 to 65535"));
    }
    Ok(url.strip_suffix('/').unwrap_or(url).to_string())
}

/// What a HEAD tells: an object's media type, digest and size.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Descriptor {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
}

impl Descriptor {
    /// `{mediaType, digest, size}` plus `data` (base64) when the bytes are
    /// given, in the key order of OCI descriptors.
    pub fn to_json(&self, data: Option<&[u8]>) -> serde_json::Value {
        let mut object = serde_json::Map::new();
        object.insert("mediaType".into(), self.media_type.clone().into());
        object.insert("digest".into(), self.digest.to_string().into());
        object.insert("size".into(), self.size.into());
        if let Some(data) = data {
            object.insert(
                "data".into(),
                base64::engine::general_purpose::STANDARD
                    .encode(data)
                    .into(),
            );
        }
        serde_json::Value::Object(object)
    }
}

/// An object read whole: its descriptor and exactly the bytes the registry
/// served (verified against the digest). Manifests are kept as these bytes
/// and never re-serialized, since their digest is of these bytes.
#[derive(Clone, Debug)]
pub struct Object {
    pub descriptor: Descriptor,
    pub bytes: Arc<[u8]>,
}

impl Object {
    /// The bytes parsed as JSON (key order kept).
    pub fn json(&self) -> Result<serde_json::Value, RegistryError> {
        serde_json::from_slice(&self.bytes).map_err(|error| {
            RegistryError::new(
                ErrorKind::InvalidResponse,
                format!("{} is not valid JSON: {error}", self.descriptor.digest),
            )
        })
    }
}

/// Manifest or blob: the two kinds of object, with separate endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ObjectType {
    Manifest,
    Blob,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ObjectKey {
    host: String,
    repository: String,
    object_type: ObjectType,
    /// The tag, or the digest text.
    target: String,
}

impl ObjectKey {
    fn with_target(&self, target: String) -> ObjectKey {
        ObjectKey {
            target,
            ..self.clone()
        }
    }
}

/// Whether a request reads or writes (reads of Docker Hub may go to the
/// mirror; writes never do).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    Write,
}

/// Where requests for one reference go.
pub(crate) struct Endpoint {
    /// The host whose stack (auth, rate limit) the request uses.
    pub host: String,
    /// `scheme://host[:port]`.
    pub base: String,
}

struct Inner {
    config: ClientConfig,
    counters: Arc<Counters>,
    http: Arc<HttpTransport>,
    auth: Arc<AuthState>,
    transports: Mutex<HashMap<String, Arc<dyn Transport>>>,
    heads: SingleFlight<ObjectKey, Option<Descriptor>, RegistryError>,
    gets: SingleFlight<ObjectKey, Option<Object>, RegistryError>,
    /// Hosts that answered a single-POST upload with a session (see
    /// [`super::write`]): they get empty POSTs from then on.
    single_post_refused: Mutex<HashSet<String>>,
}

/// The registry client; cheap to clone and safe to share between threads
/// (everything lives behind one `Arc`).
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl Client {
    pub fn new(config: ClientConfig) -> Client {
        let counters = Arc::new(Counters::default());
        let http = Arc::new(HttpTransport::new(config.timeouts, counters.clone()));
        let mut credentials = CredentialStore::new(
            config.docker_config_dir.clone(),
            config.credential_helper_dir.clone(),
        )
        .with_helper_timeout(config.timeouts.inactivity);
        for (host, fixed) in &config.credentials {
            credentials = credentials.with_fixed(host, fixed.clone());
        }
        let token_transport: Arc<dyn Transport> = Arc::new(
            RetryLayer::new(
                Arc::new(UserAgentLayer::new(http.clone(), &config.user_agent)),
                None,
                config.retry,
            )
            .with_counters(counters.clone()),
        );
        let auth = Arc::new(AuthState::new(credentials, token_transport));
        Client {
            inner: Arc::new(Inner {
                config,
                counters,
                http,
                auth,
                transports: Mutex::new(HashMap::new()),
                heads: SingleFlight::new(),
                gets: SingleFlight::new(),
                single_post_refused: Mutex::new(HashSet::new()),
            }),
        }
    }

    /// A client configured from the environment (see
    /// [`ClientConfig::from_env`]).
    pub fn from_env() -> Result<Client, RegistryError> {
        Ok(Client::new(ClientConfig::from_env()?))
    }

    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// Requests sent so far, by kind.
    pub fn stats(&self) -> RequestStats {
        self.inner.counters.snapshot()
    }

    /// The rate limit of the host that writes to `reference` go to (None:
    /// unlimited), so a worker pool can size itself to it.
    pub fn write_rate_limit(&self, reference: &Reference) -> Option<RateLimit> {
        let endpoint = self.endpoint(reference, Access::Write);
        self.inner.config.rate_limits.get(&endpoint.host).copied()
    }

    pub(crate) fn endpoint(&self, reference: &Reference, access: Access) -> Endpoint {
        let config = &self.inner.config;
        if reference.is_docker_hub() && access == Access::Read {
            if let Some(proxy) = &config.docker_hub_proxy {
                let host = protocol::url_host(proxy).unwrap_or(proxy).to_string();
                return Endpoint {
                    host,
                    base: proxy.clone(),
                };
            }
        }
        let host = reference.registry_host().to_string();
        let base = config
            .host_overrides
            .get(&host)
            .cloned()
            .unwrap_or_else(|| protocol::base_url(&host));
        Endpoint { host, base }
    }

    /// The stack of `endpoint`'s host; its credentials may go to the
    /// endpoint's origin only (an endpoint whose base is no URL, which
    /// validation keeps from happening, gets none sent anywhere).
    pub(crate) fn transport(&self, endpoint: &Endpoint) -> Arc<dyn Transport> {
        let host = endpoint.host.as_str();
        let mut transports = self
            .inner
            .transports
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(transport) = transports.get(host) {
            return transport.clone();
        }
        let config = &self.inner.config;
        let bucket = config
            .rate_limits
            .get(host)
            .map(|limit| Arc::new(TokenBucket::new(*limit)));
        let origin = Origin::of(&endpoint.base);
        let transport = build_host_transport(
            host,
            origin,
            self.inner.http.clone(),
            &config.user_agent,
            bucket,
            config.retry,
            self.inner.auth.clone(),
            self.inner.counters.clone(),
        );
        transports.insert(host.to_string(), transport.clone());
        transport
    }

    /// Sends `request` through the stack of `endpoint`.
    pub(crate) fn send(
        &self,
        endpoint: &Endpoint,
        request: &Request,
    ) -> Result<Response, RegistryError> {
        self.transport(endpoint).send(request)
    }

    /// Sends a read: the answer when it is a success, None when it means
    /// "not there" ([`protocol::is_not_found_status`]), else the error.
    pub(crate) fn send_read(
        &self,
        endpoint: &Endpoint,
        request: &Request,
    ) -> Result<Option<Response>, RegistryError> {
        let response = self.send(endpoint, request)?;
        if protocol::is_not_found_status(response.status) {
            return Ok(None);
        }
        if !response.is_success() {
            return Err(RegistryError::from_status(
                request.method,
                &request.url,
                response.status,
                response.bytes(),
            ));
        }
        Ok(Some(response))
    }

    fn key(reference: &Reference, object_type: ObjectType) -> Result<ObjectKey, RegistryError> {
        let target = match object_type {
            ObjectType::Manifest => reference.manifest_target(),
            ObjectType::Blob => reference
                .digest()
                .ok_or_else(|| {
                    RegistryError::new(
                        ErrorKind::InvalidInput,
                        format!("blob reference {reference} has no digest (blobs are only addressed by digest)"),
                    )
                })?
                .to_string(),
        };
        Ok(ObjectKey {
            host: reference.host().to_string(),
            repository: reference.repository().to_string(),
            object_type,
            target,
        })
    }

    fn object_url(endpoint: &Endpoint, key: &ObjectKey) -> String {
        match key.object_type {
            ObjectType::Manifest => {
                protocol::manifest_url(&endpoint.base, &key.repository, &key.target)
            }
            ObjectType::Blob => protocol::blob_url(&endpoint.base, &key.repository, &key.target),
        }
    }

    fn read_request(&self, method: Method, endpoint: &Endpoint, key: &ObjectKey) -> Request {
        let kind = if method == Method::Head {
            RequestKind::Head
        } else {
            RequestKind::Get
        };
        let mut request = Request::new(method, kind, Self::object_url(endpoint, key))
            .scope(protocol::pull_scope(&key.repository));
        if key.object_type == ObjectType::Manifest {
            request = request.header(header::ACCEPT, protocol::MANIFEST_ACCEPT);
        }
        request
    }

    /// HEAD of a manifest: its descriptor, or None when not found. A GET
    /// already made answers it without a request.
    pub fn head_manifest(
        &self,
        reference: &Reference,
    ) -> Result<Option<Descriptor>, RegistryError> {
        self.head(reference, ObjectType::Manifest)
    }

    /// HEAD of a blob (the reference must carry the digest).
    pub fn head_blob(&self, reference: &Reference) -> Result<Option<Descriptor>, RegistryError> {
        self.head(reference, ObjectType::Blob)
    }

    /// GET of a manifest: its exact bytes, verified; None when not found.
    pub fn get_manifest(&self, reference: &Reference) -> Result<Option<Object>, RegistryError> {
        self.get(reference, ObjectType::Manifest)
    }

    /// GET of a blob, read whole (up to [`MAX_BUFFERED_BLOB_SIZE`]) and
    /// verified; kept in the cache when at most 4 MiB.
    pub fn get_blob(&self, reference: &Reference) -> Result<Option<Object>, RegistryError> {
        self.get(reference, ObjectType::Blob)
    }

    /// The bytes of an object already read in this process, if any (lookup
    /// prints them with a HEAD answer).
    pub fn known_bytes(&self, reference: &Reference, object_type: ObjectType) -> Option<Arc<[u8]>> {
        let key = Self::key(reference, object_type).ok()?;
        self.inner
            .gets
            .get(&key)
            .flatten()
            .map(|object| object.bytes)
    }

    /// What this process already knows about an object (from a GET, a HEAD
    /// or a push), without asking the registry.
    pub fn cached_descriptor(
        &self,
        reference: &Reference,
        object_type: ObjectType,
    ) -> Option<Descriptor> {
        let key = Self::key(reference, object_type).ok()?;
        if let Some(Some(object)) = self.inner.gets.get(&key) {
            return Some(object.descriptor);
        }
        self.inner.heads.get(&key).flatten()
    }

    /// HEAD of a manifest or blob; see [`Client::head_manifest`].
    pub fn head(
        &self,
        reference: &Reference,
        object_type: ObjectType,
    ) -> Result<Option<Descriptor>, RegistryError> {
        let key = Self::key(reference, object_type)?;
        // A GET stored or on the wire answers this HEAD too.
        if let Some(Ok(answer)) = self.inner.gets.get_or_wait(&key) {
            return Ok(answer.map(|object| object.descriptor));
        }
        let answer = self.inner.heads.get_or_try_insert_with(&key, || {
            if let Some(answer) = self.inner.gets.get(&key) {
                return Ok(answer.map(|object| object.descriptor));
            }
            self.head_uncached(reference, &key)
        })?;
        if let Some(descriptor) = &answer {
            if reference.digest().is_none() {
                let by_digest = key.with_target(descriptor.digest.to_string());
                if self.inner.heads.get(&by_digest).is_none() {
                    self.inner.heads.insert(by_digest, Some(descriptor.clone()));
                }
            }
        }
        Ok(answer)
    }

    fn head_uncached(
        &self,
        reference: &Reference,
        key: &ObjectKey,
    ) -> Result<Option<Descriptor>, RegistryError> {
        let endpoint = self.endpoint(reference, Access::Read);
        let request = self.read_request(Method::Head, &endpoint, key);
        let Some(response) = self.send_read(&endpoint, &request)? else {
            return Ok(None);
        };
        let header_digest = match response.header(header::DOCKER_CONTENT_DIGEST) {
            Some(text) => Some(text.trim().parse::<Digest>().map_err(|error| {
                RegistryError::for_request(
                    ErrorKind::InvalidResponse,
                    Method::Head,
                    &request.url,
                    format!("Docker-Content-Digest: {error}"),
                )
            })?),
            None => None,
        };
        let digest = match (reference.digest(), header_digest) {
            (Some(expected), Some(answered))
                if answered.algorithm() == expected.algorithm() && answered != *expected =>
            {
                return Err(RegistryError::for_request(
                    ErrorKind::DigestMismatch,
                    Method::Head,
                    &request.url,
                    format!("asked for {expected}, the registry answered {answered}"),
                ));
            }
            (Some(expected), _) => expected.clone(),
            (None, Some(answered)) => answered,
            // A registry that does not say the digest of a tag: only a GET
            // can tell (and then also answers later HEADs).
            (None, None) => {
                return Ok(self
                    .get(reference, key.object_type)?
                    .map(|object| object.descriptor))
            }
        };
        let size = response
            .header(header::CONTENT_LENGTH)
            .and_then(|length| length.trim().parse::<u64>().ok())
            .ok_or_else(|| {
                RegistryError::for_request(
                    ErrorKind::InvalidResponse,
                    Method::Head,
                    &request.url,
                    "no Content-Length in the answer",
                )
            })?;
        Ok(Some(Descriptor {
            media_type: protocol::media_type_of(response.header(header::CONTENT_TYPE)),
            digest,
            size,
        }))
    }

    /// GET of a manifest or blob; see [`Client::get_manifest`].
    pub fn get(
        &self,
        reference: &Reference,
        object_type: ObjectType,
    ) -> Result<Option<Object>, RegistryError> {
        let key = Self::key(reference, object_type)?;
        let answer = self.inner.gets.get_or_try_insert_with(&key, || {
            if let Some(None) = self.inner.heads.get(&key) {
                return Ok(None);
            }
            self.get_uncached(reference, &key)
        })?;
        if let Some(object) = &answer {
            let cacheable = object.descriptor.size <= protocol::MAX_CACHED_BODY_SIZE;
            if !cacheable {
                // Too big to keep: remember what it is, not its bytes.
                self.inner.gets.remove(&key);
                self.inner
                    .heads
                    .insert(key.clone(), Some(object.descriptor.clone()));
            }
            if reference.digest().is_none() {
                let by_digest = key.with_target(object.descriptor.digest.to_string());
                if cacheable {
                    if self.inner.gets.get(&by_digest).is_none() {
                        self.inner.gets.insert(by_digest, Some(object.clone()));
                    }
                } else {
                    self.inner
                        .heads
                        .insert(by_digest, Some(object.descriptor.clone()));
                }
            }
        }
        Ok(answer)
    }

    fn get_uncached(
        &self,
        reference: &Reference,
        key: &ObjectKey,
    ) -> Result<Option<Object>, RegistryError> {
        let endpoint = self.endpoint(reference, Access::Read);
        let limit = match key.object_type {
            ObjectType::Manifest => protocol::MAX_MANIFEST_SIZE,
            ObjectType::Blob => MAX_BUFFERED_BLOB_SIZE,
        };
        let request = self
            .read_request(Method::Get, &endpoint, key)
            .response_body(ResponseBodyMode::Buffer { limit });
        let Some(response) = self.send_read(&endpoint, &request)? else {
            return Ok(None);
        };
        let media_type_from_header = protocol::media_type_of(response.header(header::CONTENT_TYPE));
        let header_digest = response
            .header(header::DOCKER_CONTENT_DIGEST)
            .and_then(|text| text.trim().parse::<Digest>().ok());
        let bytes: Arc<[u8]> = match response.body {
            ResponseBody::Bytes(bytes) => bytes.into(),
            ResponseBody::Stream(_) => Arc::from(Vec::new()),
        };
        let mismatch = |expected: &Digest| {
            expected.verify(&bytes).map_err(|mismatch| {
                RegistryError::for_request(
                    ErrorKind::DigestMismatch,
                    Method::Get,
                    &request.url,
                    format!(
                        "the registry sent other bytes: {mismatch} ({} bytes)",
                        bytes.len()
                    ),
                )
            })
        };
        let digest = match (reference.digest(), &header_digest) {
            (Some(expected), _) => {
                mismatch(expected)?;
                expected.clone()
            }
            (None, Some(answered)) => {
                mismatch(answered)?;
                answered.clone()
            }
            (None, None) => Digest::sha256_of(&bytes),
        };
        let media_type = match key.object_type {
            ObjectType::Manifest => {
                let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|error| {
                    RegistryError::for_request(
                        ErrorKind::InvalidResponse,
                        Method::Get,
                        &request.url,
                        format!("the manifest is not valid JSON: {error}"),
                    )
                })?;
                value
                    .get("mediaType")
                    .and_then(|media_type| media_type.as_str())
                    .map(str::to_string)
                    .unwrap_or(media_type_from_header)
            }
            ObjectType::Blob => media_type_from_header,
        };
        Ok(Some(Object {
            descriptor: Descriptor {
                media_type,
                digest,
                size: bytes.len() as u64,
            },
            bytes,
        }))
    }

    /// Whether `host` answered a single-POST upload with a session before.
    pub(crate) fn single_post_refused(&self, host: &str) -> bool {
        self.inner
            .single_post_refused
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(host)
    }

    pub(crate) fn refuse_single_post(&self, host: &str) {
        self.inner
            .single_post_refused
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(host.to_string());
    }

    /// Records that `reference` (tag and/or digest) now holds `object`, after
    /// we pushed it, so later reads in this process need no request.
    pub(crate) fn remember(&self, reference: &Reference, object_type: ObjectType, object: &Object) {
        let Ok(key) = Self::key(reference, object_type) else {
            return;
        };
        let by_digest = key.with_target(object.descriptor.digest.to_string());
        let cacheable = object.descriptor.size <= protocol::MAX_CACHED_BODY_SIZE;
        for key in [key, by_digest] {
            if cacheable {
                self.inner.gets.insert(key.clone(), Some(object.clone()));
            } else {
                self.inner.gets.remove(&key);
            }
            self.inner
                .heads
                .insert(key, Some(object.descriptor.clone()));
        }
    }

    /// Records that `reference` now holds an object described by
    /// `descriptor` (bytes not kept: a blob uploaded by streaming, or
    /// mounted).
    pub(crate) fn remember_descriptor(
        &self,
        reference: &Reference,
        object_type: ObjectType,
        descriptor: &Descriptor,
    ) {
        let Ok(key) = Self::key(reference, object_type) else {
            return;
        };
        let by_digest = key.with_target(descriptor.digest.to_string());
        for key in [key, by_digest] {
            if self.inner.gets.get(&key).flatten().is_none() {
                self.inner.gets.remove(&key);
            }
            self.inner.heads.insert(key, Some(descriptor.clone()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_urls_are_scheme_and_host_only() {
        assert_eq!(
            validate_proxy_url("http://127.0.0.1:5000/").unwrap(),
            "http://127.0.0.1:5000"
        );
        assert_eq!(
            validate_proxy_url("https://mirror.example").unwrap(),
            "https://mirror.example"
        );
        for bad in [
            "127.0.0.1:5000",
            "ftp://x",
            "http://",
            "http://x/path",
            "https://u:p@x",
            "http://127.0.0.1:99999",
        ] {
            assert!(validate_proxy_url(bad).is_err(), "{bad}");
        }
        assert_eq!(
            validate_proxy_url("http://x/v2").unwrap_err().to_string(),
            "DOCKERHUB_PUBLIC_PROXY=\"http://x/v2\": must be just scheme and host (no path, query or credentials)"
        );
    }

    #[test]
    fn docker_hub_reads_go_to_the_proxy_and_writes_do_not() {
        let config = ClientConfig {
            docker_hub_proxy: Some("http://127.0.0.1:9".into()),
            ..ClientConfig::default()
        };
        let client = Client::new(config);
        let hub: Reference = "busybox:latest".parse().unwrap();
        let read = client.endpoint(&hub, Access::Read);
        assert_eq!(
            (read.host.as_str(), read.base.as_str()),
            ("127.0.0.1:9", "http://127.0.0.1:9")
        );
        let write = client.endpoint(&hub, Access::Write);
        assert_eq!(
            (write.host.as_str(), write.base.as_str()),
            ("registry-1.docker.io", "https://registry-1.docker.io")
        );
        let local: Reference = "localhost:5000/foo".parse().unwrap();
        assert_eq!(
            client.endpoint(&local, Access::Read).base,
            "http://localhost:5000"
        );
    }

    #[test]
    fn docker_hub_is_rate_limited_by_default_and_others_are_not() {
        let config = ClientConfig::default();
        assert_eq!(config.rate_limits.len(), 1);
        assert_eq!(
            config.rate_limits.get("registry-1.docker.io"),
            Some(&RateLimit {
                per_minute: 300.0,
                burst: 300
            })
        );
        let client = Client::new(config.clone());
        assert_eq!(
            client.write_rate_limit(&"busybox".parse().unwrap()),
            Some(RateLimit::DOCKER_HUB)
        );
        assert_eq!(
            client.write_rate_limit(&"localhost:5000/x".parse().unwrap()),
            None
        );
        let unlimited = config.with_rate_limit("registry-1.docker.io", None);
        assert!(unlimited.rate_limits.is_empty());
    }

    #[test]
    fn client_is_send_sync_and_cheap_to_clone() {
        fn assert_send_sync<T: Send + Sync + Clone>() {}
        assert_send_sync::<Client>();
    }

    #[test]
    fn descriptor_json_key_order() {
        let descriptor = Descriptor {
            media_type: "application/octet-stream".into(),
            digest: Digest::sha256_of(b"x"),
            size: 1,
        };
        let text = serde_json::to_string(&descriptor.to_json(Some(b"x"))).unwrap();
        assert_eq!(
            text,
            format!("{{\"mediaType\":\"application/octet-stream\",\"digest\":\"{}\",\"size\":1,\"data\":\"eA==\"}}", Digest::sha256_of(b"x"))
        );
    }
}

//! The setups registry tests keep starting from, once each:
//!
//! - [`registry`]: a real registry, or a skip when the tools are missing;
//! - [`Proxied`]: a real registry with a counting [`FaultProxy`] in front
//!   (tests name the proxy's host, so every request is seen and can be
//!   faulted);
//! - [`DockerConfig`]: a `DOCKER_CONFIG` directory whose `config.json`
//!   holds `auths`, identity tokens and `credHelpers`, as Docker writes it.

use std::path::Path;

use base64::Engine as _;
use serde_json::{json, Map, Value};

use super::{FaultProxy, Registry, RegistryAuth};

/// A registry; `None` when the registry tools are missing (the test is
/// then skipped, or fails under CI: see [`super::require_registry`]).
pub fn registry(auth: RegistryAuth) -> Option<Registry> {
    super::require_registry().then(|| Registry::start(auth))
}

/// A registry and a fault proxy in front of it.
pub struct Proxied {
    pub registry: Registry,
    pub proxy: FaultProxy,
}

impl Proxied {
    /// Starts both; `None` when the registry tools are missing (the test
    /// is then skipped, or fails under CI: see [`super::require_registry`]).
    pub fn start(auth: RegistryAuth) -> Option<Proxied> {
        if !super::require_registry() {
            return None;
        }
        let registry = Registry::start(auth);
        let proxy = FaultProxy::start(&registry.host());
        Some(Proxied { registry, proxy })
    }

    /// `127.0.0.1:PORT` of the proxy: the host tests put in references.
    pub fn host(&self) -> String {
        self.proxy.host()
    }
}

/// A Docker config directory; each method rewrites `config.json`.
pub struct DockerConfig {
    directory: tempfile::TempDir,
    document: Map<String, Value>,
}

impl Default for DockerConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl DockerConfig {
    /// An empty configuration (no `config.json` yet: no credentials).
    pub fn new() -> Self {
        Self {
            directory: tempfile::tempdir().expect("a Docker config directory"),
            document: Map::new(),
        }
    }

    /// `auths[host].auth`: `user:password` in base64.
    pub fn auth(self, host: &str, user: &str, password: &str) -> Self {
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        self.auths_entry(host, "auth", &auth)
    }

    /// `auths[host].identitytoken`: an OAuth2 refresh token.
    pub fn identity_token(self, host: &str, token: &str) -> Self {
        self.auths_entry(host, "identitytoken", token)
    }

    /// `credHelpers[host]`: the helper `docker-credential-NAME` answers
    /// for the host (install one with the registry-auth tests' helper).
    pub fn cred_helper(mut self, host: &str, name: &str) -> Self {
        section(&mut self.document, "credHelpers").insert(host.to_string(), json!(name));
        self.written()
    }

    /// The directory, for `DOCKER_CONFIG` or `ClientConfig::docker_config_dir`.
    pub fn path(&self) -> &Path {
        self.directory.path()
    }

    fn auths_entry(mut self, host: &str, field: &str, value: &str) -> Self {
        let entry = section(&mut self.document, "auths")
            .entry(host.to_string())
            .or_insert_with(|| json!({}));
        if let Value::Object(entry) = entry {
            entry.insert(field.to_string(), json!(value));
        }
        self.written()
    }

    fn written(self) -> Self {
        std::fs::write(
            self.directory.path().join("config.json"),
            Value::Object(self.document.clone()).to_string(),
        )
        .expect("write config.json");
        self
    }
}

fn section<'d>(document: &'d mut Map<String, Value>, name: &str) -> &'d mut Map<String, Value> {
    let section = document
        .entry(name.to_string())
        .or_insert_with(|| json!({}));
    section
        .as_object_mut()
        .expect("sections are only ever objects")
}

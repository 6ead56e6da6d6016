//! Credentials from Docker's configuration.
//!
//! Read the way `docker login` stores them (Docker CLI docs, "Credential
//! stores" and the `config.json` reference): `$DOCKER_CONFIG/config.json`,
//! else `~/.docker/config.json`; `auths` entries (`auth` = base64 of
//! `user:password`, or `username`/`password`); `credHelpers` (per host) and
//! `credsStore` (default) name a `docker-credential-NAME` program run as
//! `docker-credential-NAME get` with the server URL on stdin, answering
//! `{"Username":..., "Secret":...}`. Docker Hub entries may be stored under
//! any of its host names (`https://index.docker.io/v1/` by `docker login`).
//!
//! Credentials are looked up once per host per process, and never printed:
//! `Debug` hides the password.

use std::collections::HashMap;
use std::fmt;
use std::io::{Read, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;

use super::error::{ErrorKind, RegistryError};
use super::reference::is_docker_hub_host;
use super::transport::watch::seconds;

/// The server URL `docker login` uses for Docker Hub, which credential
/// helpers are asked for.
const DOCKER_HUB_LOGIN_URL: &str = "https://index.docker.io/v1/";

/// A user name and password (or token) for one registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    password: String,
    /// Docker's identity tokens (a helper answering the user `<token>`, or
    /// `identitytoken` in config.json) are OAuth2 refresh tokens: they buy
    /// bearer tokens and are never sent as a password.
    identity_token: bool,
}

impl Credentials {
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Credentials {
        Credentials {
            username: username.into(),
            password: password.into(),
            identity_token: false,
        }
    }

    /// An identity token (OAuth2 refresh token) for a registry.
    pub fn identity_token(token: impl Into<String>) -> Credentials {
        Credentials {
            username: "<token>".to_string(),
            password: token.into(),
            identity_token: true,
        }
    }

    /// The refresh token, when these credentials are an identity token.
    pub fn refresh_token(&self) -> Option<&str> {
        self.identity_token.then_some(self.password.as_str())
    }

    /// The `Authorization` value for HTTP Basic authentication.
    pub fn basic_authorization(&self) -> String {
        let pair = format!("{}:{}", self.username, self.password);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "Credentials({}, <hidden>)", self.username)
    }
}

/// Where credentials come from, and what was already found per host.
pub struct CredentialStore {
    /// `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`; None: no
    /// credentials at all.
    config_file: Option<PathBuf>,
    /// Where to look for `docker-credential-*` first (tests); else `PATH`.
    helper_directory: Option<PathBuf>,
    config: Mutex<Option<Result<serde_json::Value, RegistryError>>>,
    found: Mutex<HashMap<String, Option<Credentials>>>,
    /// Fixed credentials per host, used before the config (tests, callers
    /// that get credentials elsewhere).
    fixed: HashMap<String, Credentials>,
    /// How long a credential helper has to answer (the client's
    /// `--timeout`): a helper that hangs must not hang the run.
    helper_timeout: Duration,
}

impl CredentialStore {
    /// The store for Docker config directory `directory` (None: the default
    /// place, `$DOCKER_CONFIG` else `~/.docker`).
    pub fn new(directory: Option<PathBuf>, helper_directory: Option<PathBuf>) -> CredentialStore {
        let directory = directory
            .or_else(|| std::env::var_os("DOCKER_CONFIG").map(PathBuf::from))
            .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".docker")));
        CredentialStore {
            config_file: directory.map(|directory| directory.join("config.json")),
            helper_directory,
            config: Mutex::new(None),
            found: Mutex::new(HashMap::new()),
            fixed: HashMap::new(),
            helper_timeout: DEFAULT_HELPER_TIMEOUT,
        }
    }

    /// Gives credential helpers `timeout` to answer.
    pub fn with_helper_timeout(mut self, timeout: Duration) -> CredentialStore {
        self.helper_timeout = timeout;
        self
    }

    /// Adds fixed credentials for `host`, used instead of the config.
    pub fn with_fixed(mut self, host: &str, credentials: Credentials) -> CredentialStore {
        self.fixed.insert(host.to_ascii_lowercase(), credentials);
        self
    }

    /// The credentials for `host` (a registry host as requests go to it),
    /// looked up once per process.
    pub fn lookup(&self, host: &str) -> Result<Option<Credentials>, RegistryError> {
        let host = host.to_ascii_lowercase();
        let key = if is_docker_hub_host(&host) {
            "docker.io".to_string()
        } else {
            host.clone()
        };
        if let Some(credentials) = self.fixed.get(&key).or_else(|| self.fixed.get(&host)) {
            return Ok(Some(credentials.clone()));
        }
        if let Some(found) = self
            .found
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&key)
        {
            return Ok(found.clone());
        }
        let found = self.lookup_uncached(&key)?;
        self.found
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(key, found.clone());
        Ok(found)
    }

    fn config(&self) -> Result<Option<serde_json::Value>, RegistryError> {
        let Some(path) = &self.config_file else {
            return Ok(None);
        };
        let mut cached = self
            .config
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if cached.is_none() {
            let loaded = match std::fs::read(path) {
                Ok(bytes) => serde_json::from_slice(&bytes).map_err(|error| {
                    RegistryError::new(
                        ErrorKind::Configuration,
                        format!("docker config {}: invalid JSON: {error}", path.display()),
                    )
                }),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                    Ok(serde_json::Value::Null)
                }
                Err(error) => Err(RegistryError::new(
                    ErrorKind::Configuration,
                    format!("docker config {}: {error}", path.display()),
                )),
            };
            *cached = Some(loaded);
        }
        match cached.as_ref() {
            Some(Ok(serde_json::Value::Null)) | None => Ok(None),
            Some(Ok(value)) => Ok(Some(value.clone())),
            Some(Err(error)) => Err(error.clone()),
        }
    }

    fn lookup_uncached(&self, key: &str) -> Result<Option<Credentials>, RegistryError> {
        let Some(config) = self.config()? else {
            return Ok(None);
        };
        let docker_hub = key == "docker.io";
        let matches = |entry_key: &str| {
            let entry_host = server_host(entry_key);
            if docker_hub {
                is_docker_hub_host(&entry_host)
            } else {
                entry_host == key
            }
        };
        // A per-host helper wins over everything, as in the Docker CLI.
        if let Some(helpers) = config
            .get("credHelpers")
            .and_then(|value| value.as_object())
        {
            for (entry_key, helper) in helpers {
                if let (true, Some(helper)) = (matches(entry_key), helper.as_str()) {
                    return self.run_helper(helper, entry_key);
                }
            }
        }
        if let Some(auths) = config.get("auths").and_then(|value| value.as_object()) {
            for (entry_key, entry) in auths {
                if matches(entry_key) {
                    if let Some(credentials) = decode_auth_entry(entry_key, entry)? {
                        return Ok(Some(credentials));
                    }
                }
            }
        }
        if let Some(store) = config.get("credsStore").and_then(|value| value.as_str()) {
            let server = if docker_hub {
                DOCKER_HUB_LOGIN_URL.to_string()
            } else {
                key.to_string()
            };
            return self.run_helper(store, &server);
        }
        Ok(None)
    }

    fn run_helper(&self, helper: &str, server: &str) -> Result<Option<Credentials>, RegistryError> {
        let program_name = format!("docker-credential-{helper}");
        let program = self
            .helper_directory
            .as_ref()
            .map(|directory| directory.join(&program_name))
            .filter(|path| path.exists())
            .unwrap_or_else(|| PathBuf::from(&program_name));
        let failure = |message: String| {
            RegistryError::new(
                ErrorKind::Configuration,
                format!("credential helper {program_name} for {server}: {message}"),
            )
        };
        let mut child = Command::new(&program)
            .arg("get")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|error| failure(format!("cannot run: {error}")))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(server.as_bytes())
                .map_err(|error| failure(format!("cannot write to it: {error}")))?;
        }
        let output = wait_bounded(child, self.helper_timeout).map_err(|error| match error {
            Waited::TimedOut => failure(format!(
                "no answer within {} (--timeout, DOI_TIMEOUT); it was stopped",
                seconds(self.helper_timeout)
            )),
            Waited::Failed(error) => failure(format!("failed: {error}")),
        })?;
        if !output.status.success() {
            // Helpers say "credentials not found" with a failure status;
            // that means anonymous access, not an error.
            let text = String::from_utf8_lossy(&output.stdout).to_string()
                + &String::from_utf8_lossy(&output.stderr);
            if text.to_ascii_lowercase().contains("not found") {
                return Ok(None);
            }
            return Err(failure(format!("exited with {}", output.status)));
        }
        let answer: serde_json::Value = serde_json::from_slice(&output.stdout)
            .map_err(|_| failure("answered something that is not JSON".to_string()))?;
        let field = |name: &str| {
            answer
                .get(name)
                .and_then(|value| value.as_str())
                .unwrap_or_default()
        };
        let (username, secret) = (field("Username"), field("Secret"));
        if secret.is_empty() {
            return Ok(None);
        }
        // `<token>` marks an identity token (Docker's OAuth2 refresh token).
        if username == "<token>" {
            return Ok(Some(Credentials::identity_token(secret)));
        }
        Ok(Some(Credentials::new(username, secret)))
    }
}

/// What a helper gets when the client says nothing (the default of
/// `--timeout`).
const DEFAULT_HELPER_TIMEOUT: Duration = Duration::from_secs(30);

enum Waited {
    TimedOut,
    Failed(std::io::Error),
}

/// `wait_with_output` with a deadline: the pipes are drained by threads
/// of their own (so a chatty helper cannot block on a full pipe), and a
/// helper still running at the deadline is killed.
fn wait_bounded(mut child: Child, timeout: Duration) -> Result<Output, Waited> {
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|pipe| Box::new(pipe) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|pipe| Box::new(pipe) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Waited::TimedOut);
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(error) => return Err(Waited::Failed(error)),
        }
    };
    Ok(Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// `https://index.docker.io/v1/` -> `index.docker.io`; `host:5000` stays.
fn server_host(entry_key: &str) -> String {
    let without_scheme = entry_key
        .strip_prefix("https://")
        .or_else(|| entry_key.strip_prefix("http://"))
        .unwrap_or(entry_key);
    without_scheme
        .split('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

fn decode_auth_entry(
    entry_key: &str,
    entry: &serde_json::Value,
) -> Result<Option<Credentials>, RegistryError> {
    let field = |name: &str| {
        entry
            .get(name)
            .and_then(|value| value.as_str())
            .unwrap_or_default()
    };
    let (username, password) = (field("username"), field("password"));
    if !username.is_empty() && !password.is_empty() {
        return Ok(Some(Credentials::new(username, password)));
    }
    let identity_token = field("identitytoken");
    if !identity_token.is_empty() {
        return Ok(Some(Credentials::identity_token(identity_token)));
    }
    let auth = field("auth");
    if auth.is_empty() {
        return Ok(None);
    }
    let invalid = || {
        RegistryError::new(
            ErrorKind::Configuration,
            format!("docker config: auths[{entry_key:?}].auth is not base64 of USER:PASSWORD"),
        )
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(auth.trim())
        .map_err(|_| invalid())?;
    let text = String::from_utf8(decoded).map_err(|_| invalid())?;
    let (username, password) = text.split_once(':').ok_or_else(invalid)?;
    Ok(Some(Credentials::new(username, password)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store_with(config: &str) -> (tempfile::TempDir, CredentialStore) {
        let directory = tempfile::tempdir().unwrap();
        std::fs::write(directory.path().join("config.json"), config).unwrap();
        let store = CredentialStore::new(
            Some(directory.path().to_path_buf()),
            Some(directory.path().to_path_buf()),
        );
        (directory, store)
    }

    #[test]
    fn auths_entries_by_host_and_docker_hub_aliases() {
        let (_directory, store) = store_with(
            r#"{"auths": {
                "https://index.docker.io/v1/": {"auth": "aHViOnNlY3JldA=="},
                "localhost:5000": {"username": "local", "password": "pw"}
            }}"#,
        );
        assert_eq!(
            store.lookup("registry-1.docker.io").unwrap(),
            Some(Credentials::new("hub", "secret"))
        );
        assert_eq!(
            store.lookup("docker.io").unwrap(),
            Some(Credentials::new("hub", "secret"))
        );
        assert_eq!(
            store.lookup("localhost:5000").unwrap(),
            Some(Credentials::new("local", "pw"))
        );
        assert_eq!(store.lookup("localhost:5001").unwrap(), None);
    }

    #[test]
    fn helpers_are_run_with_the_server_on_stdin() {
        use std::os::unix::fs::PermissionsExt as _;
        let (directory, store) =
            store_with(r#"{"credsStore": "fake", "credHelpers": {"special.example": "other"}}"#);
        let script = |name: &str, body: &str| {
            let path = directory.path().join(format!("docker-credential-{name}"));
            std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        };
        script(
            "fake",
            r#"read server; if [ "$server" = "https://index.docker.io/v1/" ]; then echo '{"Username":"hubuser","Secret":"hubsecret"}'; else echo "credentials not found in native keychain"; exit 1; fi"#,
        );
        script(
            "other",
            r#"read server; echo "{\"Username\":\"u-$server\",\"Secret\":\"s\"}""#,
        );
        assert_eq!(
            store.lookup("index.docker.io").unwrap(),
            Some(Credentials::new("hubuser", "hubsecret"))
        );
        assert_eq!(store.lookup("example.com").unwrap(), None);
        assert_eq!(
            store.lookup("special.example").unwrap(),
            Some(Credentials::new("u-special.example", "s"))
        );
    }

    #[test]
    fn corrupt_config_is_a_clear_error_and_missing_is_anonymous() {
        let (_directory, store) = store_with("{not json");
        let error = store.lookup("localhost:5000").unwrap_err();
        assert!(error.to_string().contains("invalid JSON"), "{error}");
        let empty_directory = tempfile::tempdir().unwrap();
        let store = CredentialStore::new(Some(empty_directory.path().to_path_buf()), None);
        assert_eq!(store.lookup("localhost:5000").unwrap(), None);
    }

    #[test]
    fn debug_never_shows_the_password() {
        let credentials = Credentials::new("user", "hunter2");
        assert!(!format!("{credentials:?}").contains("hunter2"));
        assert_eq!(credentials.basic_authorization(), "Basic dXNlcjpodW50ZXIy");
    }
}

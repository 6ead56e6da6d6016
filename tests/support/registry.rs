//! A real CNCF distribution registry (Debian's `docker-registry`, 2.8) per
//! test, on a free 127.0.0.1 port with its storage in a temp dir.
//!
//! Process lifetime: the registry runs under a tiny `sh` supervisor whose
//! stdin is a pipe from the test process. Drop closes the pipe; so does the
//! kernel when the test process dies for any reason (panic=abort, SIGKILL),
//! and the supervisor then kills the registry. No orphan outlives a test run.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use super::proxy::FaultProxy;
use super::token::TokenServer;
use super::{free_port, http, seed};

/// How long a registry gets to answer `GET /v2/`; it normally takes ~50 ms,
/// but a loaded 2-core CI box running many suites can be far slower.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Fixed credentials of token-auth registries (their token server accepts
/// them, and also hands anonymous tokens out unless told not to).
pub const TOKEN_USER: &str = "doi-token-user";
pub const TOKEN_PASSWORD: &str = "doi-token-password";

/// Registry `service` name and token issuer used for token auth.
pub const TOKEN_SERVICE: &str = "doi-test-registry";
pub const TOKEN_ISSUER: &str = "doi-test-token-issuer";

/// Which authentication the registry demands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryAuth {
    /// Anonymous read and write.
    None,
    /// `auth.htpasswd` with one bcrypt user.
    Basic { user: String, password: String },
    /// `auth.token` backed by our [`TokenServer`] (credentials
    /// [`TOKEN_USER`]/[`TOKEN_PASSWORD`]).
    Token,
}

impl RegistryAuth {
    /// Shorthand for `RegistryAuth::Basic`.
    pub fn basic(user: &str, password: &str) -> RegistryAuth {
        RegistryAuth::Basic {
            user: user.to_string(),
            password: password.to_string(),
        }
    }
}

/// A running registry. Dropping it kills the process and deletes its storage.
pub struct Registry {
    port: u16,
    auth: RegistryAuth,
    credentials: Option<(String, String)>,
    supervisor: Child,
    supervisor_stdin: Option<ChildStdin>,
    token_server: Option<TokenServer>,
    token_proxy: Option<FaultProxy>,
    log_path: PathBuf,
    storage_path: PathBuf,
    // Last: removed after the process is gone.
    directory: tempfile::TempDir,
}

impl Registry {
    /// Starts a registry and waits until it serves `GET /v2/`. Panics (with
    /// the registry's log) when it cannot start: a test without its registry
    /// cannot mean anything.
    pub fn start(auth: RegistryAuth) -> Registry {
        let mut last_failure = String::new();
        // A port from free_port() can be taken by someone else between its
        // release and the registry's bind; a retry on a new port fixes that.
        for _ in 0..5 {
            match Registry::try_start(auth.clone()) {
                Ok(registry) => return registry,
                Err(failure) => last_failure = failure,
            }
        }
        panic!("{last_failure}");
    }

    fn try_start(auth: RegistryAuth) -> Result<Registry, String> {
        let directory = tempfile::Builder::new()
            .prefix("doi-registry-")
            .tempdir()
            .map_err(|error| format!("registry: cannot create a temp dir: {error}"))?;
        let port = free_port();
        let storage_path = directory.path().join("storage");
        let log_path = directory.path().join("registry.log");
        let config_path = directory.path().join("config.yml");

        let mut token_server = None;
        let mut token_proxy = None;
        let (auth_section, credentials) = match &auth {
            RegistryAuth::None => (String::new(), None),
            RegistryAuth::Basic { user, password } => {
                let htpasswd_path = directory.path().join("htpasswd");
                write_htpasswd(&htpasswd_path, user, password)?;
                (
                    format!(
                        "auth:\n  htpasswd:\n    realm: doi-test-registry\n    path: {}\n",
                        yaml_string(&htpasswd_path)
                    ),
                    Some((user.clone(), password.clone())),
                )
            }
            RegistryAuth::Token => {
                let server = TokenServer::start_in(
                    directory.path(),
                    TOKEN_SERVICE,
                    TOKEN_ISSUER,
                    Some((TOKEN_USER, TOKEN_PASSWORD)),
                );
                // The realm goes through a fault proxy so tests can fail
                // token fetches (429, 503, resets) like any other request.
                let proxy = FaultProxy::start(&server.host());
                let section = format!(
                    "auth:\n  token:\n    realm: {}\n    service: {}\n    issuer: {}\n    rootcertbundle: {}\n",
                    yaml_quote(&format!("{}/token", proxy.url())),
                    yaml_quote(TOKEN_SERVICE),
                    yaml_quote(TOKEN_ISSUER),
                    yaml_string(server.certificate_path()),
                );
                token_server = Some(server);
                token_proxy = Some(proxy);
                (
                    section,
                    Some((TOKEN_USER.to_string(), TOKEN_PASSWORD.to_string())),
                )
            }
        };
        // Upload purging off: its sweeper would touch storage behind a test's
        // back. Access log off and level error: the log is for failures.
        let config = format!(
            "version: 0.1\n\
             log:\n  level: error\n  accesslog:\n    disabled: true\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n  \
             maintenance:\n    uploadpurging:\n      enabled: false\n\
             http:\n  addr: 127.0.0.1:{port}\n  secret: doi-test-secret\n  \
             headers:\n    {IDENTITY_HEADER}: [{}]\n\
             {auth_section}",
            yaml_string(&storage_path),
            yaml_quote(&identity(directory.path())),
        );
        std::fs::write(&config_path, config).map_err(|error| {
            format!("registry: cannot write {}: {error}", config_path.display())
        })?;

        // The supervisor: runs the registry in the background, kills it when
        // stdin (our pipe) reaches EOF, and exits when the registry exits so
        // a failed start is seen at once. fd 3 carries stdin into the
        // watcher because background jobs of a non-interactive shell get
        // /dev/null as stdin (POSIX 2.9.3). Once the registry is gone the
        // watcher removes the temp dir, which Drop would also do but a
        // killed test process cannot.
        let script = r#"exec 3<&0
docker-registry serve "$1" >>"$2" 2>&1 &
registry=$!
(
    read -r _ignored <&3
    kill "$registry" 2>/dev/null
    while kill -0 "$registry" 2>/dev/null; do sleep 0.05; done
    case "$3" in */doi-registry-*) rm -rf -- "$3" ;; esac
) &
wait "$registry"
"#;
        let log_file = std::fs::File::create(&log_path)
            .map_err(|error| format!("registry: cannot create {}: {error}", log_path.display()))?;
        let supervisor = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg("doi-registry-supervisor")
            .arg(&config_path)
            .arg(&log_path)
            .arg(directory.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .map_err(|error| format!("registry: cannot run sh: {error}"))?;
        let mut registry = Registry {
            port,
            auth,
            credentials,
            supervisor,
            supervisor_stdin: None,
            token_server,
            token_proxy,
            log_path,
            storage_path,
            directory,
        };
        registry.supervisor_stdin = registry.supervisor.stdin.take();
        registry.wait_until_ready()?;
        Ok(registry)
    }

    fn wait_until_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + START_TIMEOUT;
        let url = format!("{}/v2/", self.url());
        let expected = identity(self.directory.path());
        let mut last;
        loop {
            if let Ok(Some(status)) = self.supervisor.try_wait() {
                return Err(format!(
                    "registry on port {} exited ({status}) during start; log tail:\n{}",
                    self.port,
                    self.log_tail(40)
                ));
            }
            match http::request("GET", &url, &[], b"") {
                // 401 is the auth variants' normal answer to an anonymous /v2/.
                Ok(response)
                    if (response.status == 200 || response.status == 401)
                        && response.header(IDENTITY_HEADER) == Some(expected.as_str()) =>
                {
                    return Ok(())
                }
                Ok(response) => {
                    last = format!(
                        "status {}, {IDENTITY_HEADER} {:?} (another server on the port?)",
                        response.status,
                        response.header(IDENTITY_HEADER)
                    )
                }
                Err(error) => last = error.to_string(),
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "registry on port {} did not answer GET /v2/ within {:?} (last: {last}); log tail:\n{}",
                    self.port,
                    START_TIMEOUT,
                    self.log_tail(40)
                ));
            }
            std::thread::sleep(Duration::from_millis(15));
        }
    }

    /// `127.0.0.1:PORT`, the registry part of image references.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The port the registry listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.host())
    }

    /// `http://user:password@127.0.0.1:PORT` for the seed helpers, or the
    /// plain URL when the registry is anonymous.
    pub fn authenticated_url(&self) -> String {
        match &self.credentials {
            // Percent-encoded (RFC 3986 3.2.1) so any password survives.
            Some((user, password)) => format!(
                "http://{}:{}@{}",
                http::percent_encode(user),
                http::percent_encode(password),
                self.host()
            ),
            None => self.url(),
        }
    }

    /// The auth mode the registry was started with.
    pub fn auth(&self) -> &RegistryAuth {
        &self.auth
    }

    /// `(user, password)` accepted by the registry (Basic) or by its token
    /// server (Token); None for anonymous registries.
    pub fn credentials(&self) -> Option<(&str, &str)> {
        self.credentials
            .as_ref()
            .map(|(user, password)| (user.as_str(), password.as_str()))
    }

    /// `user:password` as skopeo's `--creds` wants it.
    pub fn skopeo_creds(&self) -> Option<String> {
        self.credentials()
            .map(|(user, password)| format!("{user}:{password}"))
    }

    /// The token server of a `RegistryAuth::Token` registry.
    pub fn token_server(&self) -> Option<&TokenServer> {
        self.token_server.as_ref()
    }

    /// The fault proxy in front of the token server of a
    /// `RegistryAuth::Token` registry: its `inject` fails token fetches,
    /// its counts are the token requests as seen on the wire.
    pub fn token_proxy(&self) -> Option<&FaultProxy> {
        self.token_proxy.as_ref()
    }

    /// The realm the registry announces in its `Bearer` challenges
    /// (`http://127.0.0.1:PORT/token`, through the token proxy).
    pub fn token_realm(&self) -> Option<String> {
        self.token_proxy
            .as_ref()
            .map(|proxy| format!("{}/token", proxy.url()))
    }

    /// The registry's storage root (filesystem driver).
    pub fn storage_path(&self) -> &Path {
        &self.storage_path
    }

    /// The temp dir holding config, log and storage.
    pub fn directory(&self) -> &Path {
        self.directory.path()
    }

    /// The whole registry log (errors only, by configuration).
    pub fn log(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = std::fs::File::open(&self.log_path) {
            let _ = file.read_to_string(&mut text);
        }
        text
    }

    /// The last `lines` lines of the log, for panic messages.
    pub fn log_tail(&self, lines: usize) -> String {
        let log = self.log();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Uploads a blob; returns its `sha256:` digest. See [`seed::seed_blob`].
    pub fn seed_blob(&self, repository: &str, bytes: &[u8]) -> String {
        seed::seed_blob(&self.authenticated_url(), repository, bytes)
    }

    /// Uploads a manifest under a tag or digest; returns its digest.
    pub fn seed_manifest(
        &self,
        repository: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> String {
        seed::seed_manifest(
            &self.authenticated_url(),
            repository,
            reference,
            media_type,
            bytes,
        )
    }

    /// Uploads a small two-platform image index under `tag`.
    pub fn seed_image(&self, repository: &str, tag: &str) -> seed::SeededImage {
        seed::seed_image(&self.authenticated_url(), repository, tag)
    }

    /// [`Registry::seed_image`] with Docker or OCI media types.
    pub fn seed_image_as(
        &self,
        repository: &str,
        tag: &str,
        flavor: seed::ImageFlavor,
    ) -> seed::SeededImage {
        seed::seed_image_as(&self.authenticated_url(), repository, tag, flavor)
    }

    /// Fetches a manifest: `Some((content type, bytes))`, None on 404.
    pub fn fetch_manifest(&self, repository: &str, reference: &str) -> Option<(String, Vec<u8>)> {
        seed::fetch_manifest(&self.authenticated_url(), repository, reference)
    }

    /// Fetches a blob; None on 404.
    pub fn fetch_blob(&self, repository: &str, digest: &str) -> Option<Vec<u8>> {
        seed::fetch_blob(&self.authenticated_url(), repository, digest)
    }

    /// `skopeo inspect --raw` of `REFERENCE` (`repo:tag` or `repo@digest`)
    /// on this registry, with its credentials.
    pub fn skopeo_inspect_raw(&self, reference: &str) -> Vec<u8> {
        super::skopeo_inspect_raw(&self.host(), reference, self.skopeo_creds().as_deref())
    }

    /// A repository's tags, sorted (empty when the repository is unknown).
    pub fn tags(&self, repository: &str) -> Vec<String> {
        seed::list_tags(&self.authenticated_url(), repository)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        // EOF on the supervisor's stdin makes it kill the registry.
        drop(self.supervisor_stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.supervisor.try_wait() {
                Ok(Some(_)) | Err(_) => break,
                Ok(None) if Instant::now() > deadline => {
                    let _ = self.supervisor.kill();
                    let _ = self.supervisor.wait();
                    break;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    }
}

/// A header every response of our registry carries (distribution's
/// `http.headers`), so start-up never mistakes another process's server,
/// which may have grabbed the port first, for ours.
pub const IDENTITY_HEADER: &str = "X-Doi-Test-Registry";

/// The temp dir's name: unique among live registries.
fn identity(directory: &Path) -> String {
    directory
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `htpasswd -nbB` with the lowest bcrypt cost (4): distribution accepts only
/// bcrypt entries, and every authenticated request pays the hash cost.
fn write_htpasswd(path: &Path, user: &str, password: &str) -> Result<(), String> {
    let entry = super::tool_output(
        Command::new("htpasswd").args(["-nbB", "-C", "4", user, password]),
        b"",
    )
    .map_err(|error| format!("registry: htpasswd (apache2-utils): {error}"))?;
    std::fs::write(path, entry)
        .map_err(|error| format!("registry: cannot write {}: {error}", path.display()))
}

fn yaml_string(path: &Path) -> String {
    yaml_quote(&path.to_string_lossy())
}

/// A YAML double-quoted scalar.
fn yaml_quote(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

//! Shared harness for registry integration tests and benchmarks.
//!
//! Tests run against a REAL registry (Debian's `docker-registry`, CNCF
//! distribution 2.8), never a fake one: faults come from [`FaultProxy`], a
//! small proxy of ours in front of it. Everything binds 127.0.0.1 only.
//!
//! Typical use:
//!
//! ```ignore
//! mod support;
//! use support::{FaultProxy, Fault, Match, Registry, RegistryAuth};
//!
//! #[test]
//! fn retries_on_503() {
//!     if !support::require_tools(&["docker-registry"]) {
//!         return;
//!     }
//!     let registry = Registry::start(RegistryAuth::None);
//!     let image = registry.seed_image("library/busybox", "latest");
//!     let proxy = FaultProxy::start(&registry.host());
//!     proxy.inject(Match::new("GET", "/manifests/"), Fault::status(503), 1);
//!     // ... point the client at proxy.host() ...
//! }
//! ```
//!
//! API at a glance (details on each item):
//!
//! - [`Registry::start`]`(RegistryAuth::None | RegistryAuth::basic(u, p) |
//!   RegistryAuth::Token) -> Registry`; `host()` (`127.0.0.1:PORT`), `url()`,
//!   `authenticated_url()`, `credentials() -> Option<(&str, &str)>`,
//!   `skopeo_creds()`, `token_server() -> Option<&TokenServer>`,
//!   `token_proxy() -> Option<&FaultProxy>` (the realm goes through it, so
//!   token fetches can be faulted), `token_realm()`, `log()`,
//!   and the seed/fetch helpers as methods (`seed_blob`, `seed_manifest`,
//!   `seed_image`, `seed_image_as`, `fetch_manifest`, `fetch_blob`, `tags`,
//!   `skopeo_inspect_raw`). Dropping it kills the registry.
//! - [`FaultProxy::start`]`(upstream_host) -> FaultProxy`; `host()`, `url()`,
//!   `inject(Match, Fault, times)`, `count()`, `count_matching(&Match)`,
//!   `faulted_count()`, `requests() -> Vec<(method, path)>`, `records()`,
//!   `log()`, `reset_counts()`, `clear_faults()`, `pending_faults()`.
//! - [`TokenServer`] (behind `RegistryAuth::Token`): `request_count()`,
//!   `requests() -> Vec<TokenRequest>`, `scopes()`, `reset()`,
//!   `require_credentials(bool)`, `set_credentials(..)`,
//!   `set_expires_in(secs)`, `issue(&[scope]) -> String`, `realm()`.
//! - [`bin`]: the one way to run our binaries (`bin::deploy().run(..)`),
//!   with the variables they read cleared; [`skopeo`]: the independent
//!   client; [`fixture`]: `Proxied` (registry + proxy) and `DockerConfig`.
//! - Free functions: [`free_port`], [`tool_available`], [`require_tools`],
//!   [`require_registry`], [`seed_blob`], [`seed_manifest`], [`seed_image`],
//!   [`seed_image_as`], [`fetch_manifest`], [`fetch_blob`], [`list_tags`],
//!   [`sha256_digest`], [`skopeo_inspect_raw`], and the raw client
//!   [`request`], [`request_with_auth`], [`RawConnection`].
//!
//! Lifetimes: every handle stops its process or thread on Drop, and a
//! registry also dies (and its temp dir goes) when the test process is
//! killed. Prefer one registry per test (starting one costs ~50 ms); a
//! registry kept in a `static` is never dropped, so its temp dir is only
//! removed when the process exits.
//!
//! Debugging: `DOI_PROXY_LOG=1` prints every proxied request (and its
//! fault) to stderr; `Registry::log()` has the registry's errors.
//!
//! Benchmarks include this file with
//! `#[path = "../tests/support/mod.rs"] mod support;`.
//!
//! Self-tests of the harness live in `tests/harness.rs`, not in
//! `#[cfg(test)]` modules here: every test binary compiles this module, so
//! such tests would run once per binary.
#![allow(dead_code, unused_imports)]

pub mod bin;
pub mod bounded;
pub mod fixture;
pub mod generate;
pub mod http;
pub mod proxy;
pub mod registry;
pub mod scripted;
pub mod seed;
pub mod skopeo;
pub mod token;
pub mod wire;

pub use http::{request, request_with_auth, RawConnection, RawResponse};
pub use proxy::{Fault, FaultProxy, Match, RequestRecord};
pub use registry::{Registry, RegistryAuth};
pub use seed::{
    fetch_blob, fetch_manifest, list_tags, seed_blob, seed_image, seed_image_as, seed_manifest,
    sha256_digest, ImageFlavor, SeededImage, SeededManifest,
};
pub use token::{TokenRequest, TokenServer};

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

/// A port on 127.0.0.1 that was free a moment ago, never the same one twice
/// in this process (so parallel tests cannot be handed one port). Another
/// process can still grab it before use; `Registry::start` retries on that.
pub fn free_port() -> u16 {
    static HANDED_OUT: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    let handed_out = HANDED_OUT.get_or_init(|| Mutex::new(HashSet::new()));
    loop {
        let listener = match std::net::TcpListener::bind("127.0.0.1:0") {
            Ok(listener) => listener,
            Err(error) => panic!("free_port: cannot bind 127.0.0.1:0: {error}"),
        };
        let port = match listener.local_addr() {
            Ok(address) => address.port(),
            Err(error) => panic!("free_port: no local address: {error}"),
        };
        let fresh = handed_out
            .lock()
            .map(|mut ports| ports.insert(port))
            .unwrap_or(true);
        if fresh {
            return port;
        }
    }
}

/// Whether `name` is an executable file on `PATH`.
pub fn tool_available(name: &str) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|directory| {
        std::fs::metadata(directory.join(name))
            .map(|metadata| metadata.is_file() && metadata.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    })
}

/// Whether every tool is installed. When one is missing: panics if env `CI`
/// is set (CI must install them, see `.ci/install-test-deps.sh`, so a skip
/// there would hide a broken setup), else prints why the test is skipped and
/// returns false. Use as `if !support::require_tools(&[..]) { return; }`.
pub fn require_tools(tools: &[&str]) -> bool {
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|tool| !tool_available(tool))
        .collect();
    if missing.is_empty() {
        return true;
    }
    unavailable(&format!(
        "missing test tools: {} (install them with .ci/install-test-deps.sh)",
        missing.join(", ")
    ));
    false
}

/// Asserts that `text` holds `expected`, showing all of `text` when not
/// (the one check most of our tests make of what a binary printed).
#[track_caller]
pub fn assert_contains(text: &str, expected: &str) {
    assert!(text.contains(expected), "lacks {expected:?}:\n{text}");
}

/// Runs a setup tool (`openssl`, `htpasswd`) to the end with `stdin`
/// written to it: its stdout, or one line saying why it could not run or
/// what it printed when it failed.
pub fn tool_output(command: &mut std::process::Command, stdin: &[u8]) -> Result<Vec<u8>, String> {
    use std::io::Write as _;
    use std::process::Stdio;
    let program = command.get_program().to_string_lossy().into_owned();
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| format!("cannot run {program}: {error}"))?;
    if let Some(mut pipe) = child.stdin.take() {
        pipe.write_all(stdin)
            .map_err(|error| format!("{program} stdin: {error}"))?;
    }
    let output = child
        .wait_with_output()
        .map_err(|error| format!("{program}: {error}"))?;
    if !output.status.success() {
        return Err(format!(
            "{program} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(output.stdout)
}

/// Something a test needs is not there (a tool, `../shared`): panics if env
/// `CI` is set (CI provides everything, so a skip there would hide a broken
/// setup), else prints why the test is skipped.
pub fn unavailable(message: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("{message}; CI is set, so this is a failure, not a skip");
    }
    eprintln!("SKIPPED: {message}");
}

/// A benchmark's size: its first command-line argument as a count, else
/// `default`.
pub fn count_argument(default: usize) -> usize {
    std::env::args()
        .nth(1)
        .and_then(|text| text.parse().ok())
        .unwrap_or(default)
}

/// [`require_tools`] for what a registry test needs: `docker-registry`,
/// `htpasswd` (Basic auth) and `openssl` (token auth).
pub fn require_registry() -> bool {
    require_tools(&["docker-registry", "htpasswd", "openssl"])
}

/// `skopeo inspect --raw` of `docker://HOST/REFERENCE` (see [`skopeo`]).
pub fn skopeo_inspect_raw(host: &str, reference: &str, creds: Option<&str>) -> Vec<u8> {
    skopeo::inspect_raw(&format!("{host}/{reference}"), creds)
}

/// Runs one of our binaries as a user does, with `stdin` piped in, and
/// returns what it printed and how it exited (see [`bin`]). Pass
/// `env!("CARGO_BIN_EXE_deploy")` (or another binary) as `binary`.
pub fn run_binary(binary: &str, arguments: &[&str], stdin: &[u8]) -> std::process::Output {
    bin::BinaryRun::new(binary).run(arguments, stdin)
}

//! Issue 9's registry promises, each held by a server of ours on another
//! loopback port, in front of or beside the real registry:
//!
//! - credentials (Basic and bearer) go only to the exact scheme, host and
//!   port they are for: a redirect to another port (GET, HEAD, PUT), an
//!   upload `Location` elsewhere, and a token realm's redirect are all
//!   followed without them, and the other port sees none;
//! - a reference with a port outside 1..65535 is refused before anything
//!   is sent;
//! - nothing waits forever: a body that stalls after its headers, one that
//!   drips, and an answer that never comes end within the timeout, after
//!   retries, with one clear line;
//! - `Retry-After` is honoured up to the cap per wait, and past the budget
//!   the request fails naming what it asked for.

use crate::support;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use doi::registry::{Client, ClientConfig, Reference, RetryPolicy};
use serde_json::json;
use support::bounded::run_bounded;
use support::scripted::{owned, Reply, ScriptedServer, Seen};
use support::{Fault, FaultProxy, Match, Registry, RegistryAuth};

const USER: &str = "alice";
const PASSWORD: &str = "wonderland";
/// Long enough that only a hang reaches it.
const DEADLINE: Duration = Duration::from_secs(90);

fn reference(text: &str) -> Reference {
    text.parse().unwrap_or_else(|error| panic!("{error}"))
}

fn basic(user: &str, password: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}

/// A Docker config directory whose `auths` has `entries` (host -> the
/// entry's JSON, such as `{"auth": ...}` or `{"identitytoken": ...}`).
fn docker_config(entries: &[(&str, serde_json::Value)]) -> tempfile::TempDir {
    let directory = tempfile::tempdir().expect("temporary directory");
    let auths: serde_json::Map<String, serde_json::Value> = entries
        .iter()
        .map(|(host, entry)| (host.to_string(), entry.clone()))
        .collect();
    std::fs::write(
        directory.path().join("config.json"),
        json!({ "auths": auths }).to_string(),
    )
    .expect("write docker config");
    directory
}

fn client(config: &tempfile::TempDir) -> Client {
    Client::new(ClientConfig {
        docker_config_dir: Some(config.path().to_path_buf()),
        retry: RetryPolicy {
            minimum_delay: Duration::from_millis(20),
            ..RetryPolicy::default()
        },
        ..ClientConfig::default()
    })
}

/// A server in front of `upstream` that forwards everything, except that
/// an authorized request `redirected` picks is sent to `elsewhere` (same
/// path) with a 307.
fn redirecting_front(
    upstream: &str,
    elsewhere: &str,
    redirected: fn(&Seen) -> bool,
) -> ScriptedServer {
    let upstream = upstream.to_string();
    let elsewhere = elsewhere.to_string();
    ScriptedServer::start(move |seen| {
        if seen.header("Authorization").is_some() && redirected(seen) {
            Reply::redirect(&format!("{elsewhere}{}", seen.target))
        } else {
            Reply::forward(&upstream)
        }
    })
}

/// Asserts `server` saw requests, and none with a credential in it.
fn assert_saw_no_credentials(server: &ScriptedServer, secrets: &[&str]) {
    let seen = server.seen();
    assert!(!seen.is_empty(), "the other port saw nothing");
    for request in &seen {
        for secret in secrets {
            assert!(
                !request.carries(secret),
                "the other port got a credential: {} {} {:?}",
                request.method,
                request.target,
                request.headers
            );
        }
    }
}

fn authorized_count(server: &ScriptedServer) -> usize {
    server
        .seen()
        .iter()
        .filter(|seen| seen.header("Authorization").is_some())
        .count()
}

fn reads(seen: &Seen) -> bool {
    matches!(seen.method.as_str(), "GET" | "HEAD")
        && (seen.target.contains("/manifests/") || seen.target.contains("/blobs/sha256:"))
}

/// Reads redirected to another port: HEAD and GET of a manifest and GET of
/// a blob, with Basic credentials, then with a bearer token.
#[test]
fn reads_redirected_to_another_port_carry_no_credentials() {
    if !support::require_registry() {
        return;
    }
    for auth in [RegistryAuth::basic(USER, PASSWORD), RegistryAuth::Token] {
        let registry = Registry::start(auth);
        let image = support::seed_image(&registry.authenticated_url(), "test/redirect", "v1");
        let (user, password) = registry.credentials().expect("credentials");
        let recorder = ScriptedServer::start({
            let upstream = registry.host();
            move |_| Reply::forward(&upstream)
        });
        let front = redirecting_front(&registry.host(), &recorder.url(), reads);
        let config = docker_config(&[(&front.host(), json!({ "auth": basic(user, password) }))]);
        let client = client(&config);
        let tag = reference(&format!("{}/test/redirect:v1", front.host()));
        // Each answer comes from the other port, which gets no credentials:
        // the registry behind it then says "unauthorized", read as absent.
        assert_eq!(client.head_manifest(&tag).unwrap(), None);
        let pinned = tag
            .without_tag()
            .with_digest(image.index_digest.parse().unwrap());
        assert!(client.get_manifest(&pinned).unwrap().is_none());
        let layer = tag
            .without_tag()
            .with_digest(image.manifests[0].layer_digest.parse().unwrap());
        assert!(client.get_blob(&layer).unwrap().is_none());
        assert!(
            authorized_count(&front) >= 3,
            "the credentials went to their registry: {}",
            front.log()
        );
        let mut secrets = vec![basic(user, password), password.to_string()];
        if let Some(server) = registry.token_server() {
            assert!(server.request_count() > 0, "a token was fetched");
            secrets.push("Bearer".to_string());
        }
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        assert_saw_no_credentials(&recorder, &secrets);
        assert!(recorder.seen().iter().any(|seen| seen.method == "HEAD"));
        assert!(recorder.seen().iter().any(|seen| seen.method == "GET"));
    }
}

/// Writes through `deploy`'s one write path: a manifest PUT redirected to
/// another port, and a blob upload whose `Location` names another port.
#[test]
fn writes_sent_elsewhere_carry_no_credentials() {
    if !support::require_registry() {
        return;
    }
    for auth in [RegistryAuth::basic(USER, PASSWORD), RegistryAuth::Token] {
        let registry = Registry::start(auth);
        let (user, password) = registry.credentials().expect("credentials");
        let recorder = ScriptedServer::start({
            let upstream = registry.host();
            move |_| Reply::forward(&upstream)
        });
        let front = ScriptedServer::start({
            let upstream = registry.host();
            let elsewhere = recorder.url();
            let recorder_host = recorder.host();
            move |seen: &Seen| {
                let authorized = seen.header("Authorization").is_some();
                if authorized && seen.method == "PUT" && seen.target.contains("/manifests/") {
                    return Reply::redirect(&format!("{elsewhere}{}", seen.target));
                }
                if seen.method == "POST" && seen.target.contains("/blobs/uploads/") {
                    let host = seen.header("Host").unwrap_or_default().to_string();
                    return Reply::Forward {
                        upstream: upstream.clone(),
                        relocate: Some((host, recorder_host.clone())),
                    };
                }
                Reply::forward(&upstream)
            }
        });
        let config = docker_config(&[(&front.host(), json!({ "auth": basic(user, password) }))]);
        let host = front.host();
        let index = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [],
        });
        let input = format!(
            "{}\n{}\n",
            json!({"type": "blob", "refs": [format!("{host}/test/writes")], "data": "d3JpdHRlbiBlbHNld2hlcmUK"}),
            json!({"type": "manifest", "refs": [format!("{host}/test/writes:v1")], "data": index}),
        );
        let config_dir = config.path().to_string_lossy().into_owned();
        let run = run_bounded(
            env!("CARGO_BIN_EXE_deploy"),
            &[],
            input.as_bytes(),
            &[("DOCKER_CONFIG", &config_dir)],
            DEADLINE,
        );
        assert_eq!(run.code(), 1, "{}", run.stderr());
        assert!(authorized_count(&front) > 0, "{}", front.log());
        let mut secrets = vec![basic(user, password), password.to_string()];
        if registry.token_server().is_some() {
            secrets.push("Bearer".to_string());
        }
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        assert_saw_no_credentials(&recorder, &secrets);
        let puts: Vec<String> = recorder
            .seen()
            .iter()
            .filter(|seen| seen.method == "PUT")
            .map(|seen| seen.target.clone())
            .collect();
        assert!(
            puts.iter().any(|target| target.contains("/blobs/uploads/"))
                && puts.iter().any(|target| target.contains("/manifests/v1")),
            "both writes reached the other port: {}",
            recorder.log()
        );
        // Refused there (no credentials), so nothing was stored.
        assert!(registry.fetch_manifest("test/writes", "v1").is_none());
        assert!(run.stderr().contains("401"), "{}", run.stderr());
    }
}

/// A token realm that redirects elsewhere: its own origin gets the flow's
/// Basic credentials, the redirect target none; a refresh token (POSTed) is
/// never sent to another origin at all.
#[test]
fn a_token_realm_redirecting_elsewhere_keeps_the_credentials() {
    let elsewhere = ScriptedServer::start(|_| {
        Reply::json(200, r#"{"token":"from-elsewhere","expires_in":300}"#)
    });
    let realm = ScriptedServer::start({
        let elsewhere = elsewhere.url();
        move |seen| Reply::redirect(&format!("{elsewhere}{}", seen.target))
    });
    let challenge = format!(
        "Bearer realm=\"{}/token\",service=\"scripted\"",
        realm.url()
    );
    let registry = ScriptedServer::start(move |seen| {
        if seen.header("Authorization") == Some("Bearer from-elsewhere") {
            Reply::status(404, &[])
        } else {
            Reply::Answer {
                status: 401,
                headers: owned(&[("WWW-Authenticate", &challenge)]),
                body: Vec::new(),
            }
        }
    });
    let tag = reference(&format!("{}/test/realm:v1", registry.host()));
    let config = docker_config(&[(&registry.host(), json!({ "auth": basic(USER, PASSWORD) }))]);
    assert_eq!(client(&config).head_manifest(&tag).unwrap(), None);
    let flow = format!("Basic {}", basic(USER, PASSWORD));
    assert!(
        !realm.seen().is_empty()
            && realm
                .seen()
                .iter()
                .all(|seen| seen.header("Authorization") == Some(flow.as_str())),
        "the realm gets the flow's Basic credentials: {:?}",
        realm.seen()
    );
    assert_saw_no_credentials(&elsewhere, &[&basic(USER, PASSWORD), PASSWORD]);

    // An identity token is POSTed as a refresh-token grant: a redirect
    // elsewhere would resend it, so it is not followed.
    let before = elsewhere.seen().len();
    let config = docker_config(&[(
        &registry.host(),
        json!({ "identitytoken": "refresh-secret" }),
    )]);
    let error = client(&config).head_manifest(&tag).unwrap_err();
    assert_eq!(elsewhere.seen().len(), before, "{}", elsewhere.log());
    let line = error.to_string();
    assert!(
        line.starts_with(&format!("POST {}/token: 307 ", realm.url()))
            && line.contains(&format!(
                "the token server refused a token for {}",
                registry.host()
            ))
            && !line.contains("refresh-secret")
            && !line.contains('\n'),
        "{line}"
    );
}

/// Issue 10: the refused-token message said the request twice and named
/// GET for a POST.
#[test]
fn a_refused_token_is_one_line_naming_the_request_sent() {
    let realm = ScriptedServer::start(|_| {
        Reply::json(
            401,
            r#"{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}"#,
        )
    });
    let challenge = format!("Bearer realm=\"{}/token\",service=\"svc\"", realm.url());
    let registry = ScriptedServer::start(move |_| Reply::Answer {
        status: 401,
        headers: owned(&[("WWW-Authenticate", &challenge)]),
        body: Vec::new(),
    });
    let tag = reference(&format!("{}/test/refused:v1", registry.host()));
    let config = docker_config(&[(&registry.host(), json!({ "auth": basic(USER, "wrong") }))]);
    let error = client(&config).head_manifest(&tag).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "GET {}/token?service=svc&scope=repository%3Atest%2Frefused%3Apull: 401 Unauthorized: the token server refused a token for {} (scope \"repository:test/refused:pull\"); UNAUTHORIZED: bad credentials",
            realm.url(),
            registry.host()
        )
    );
    let config = docker_config(&[(&registry.host(), json!({ "identitytoken": "refresh" }))]);
    let error = client(&config).head_manifest(&tag).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with(&format!("POST {}/token: 401 Unauthorized: ", realm.url())),
        "{error}"
    );
}

/// Issue 9: `127.0.0.1:99999/x` connected to port 80 with that
/// registry's credentials. Now it is refused before anything is sent.
#[test]
fn references_with_impossible_ports_are_refused_before_any_request() {
    for bad in ["127.0.0.1:99999/x", "localhost:0/x", "localhost:08080/x"] {
        let run = run_bounded(env!("CARGO_BIN_EXE_lookup"), &[bad], b"", &[], DEADLINE);
        assert_eq!(run.code(), 2, "{}", run.stderr());
        assert!(
            run.stderr().contains("invalid registry port"),
            "{}",
            run.stderr()
        );
        let input = json!({"type": "blob", "refs": [bad], "data": ""}).to_string();
        let run = run_bounded(
            env!("CARGO_BIN_EXE_deploy"),
            &[],
            input.as_bytes(),
            &[],
            DEADLINE,
        );
        assert_eq!(run.code(), 1, "{}", run.stderr());
        assert!(
            run.stderr().contains("refs[0]: invalid reference")
                && run.stderr().contains("invalid registry port"),
            "{}",
            run.stderr()
        );
    }
}

/// `lookup` against `server` with `arguments`, bounded.
fn lookup(arguments: &[&str], env: &[(&str, &str)]) -> support::bounded::Finished {
    run_bounded(env!("CARGO_BIN_EXE_lookup"), arguments, b"", env, DEADLINE)
}

fn count(server: &ScriptedServer, method: &str) -> usize {
    server
        .seen()
        .iter()
        .filter(|seen| seen.method == method)
        .count()
}

#[test]
fn a_body_that_stalls_after_its_headers_fails_within_the_timeout() {
    let server = ScriptedServer::start(|_| Reply::Stall {
        status: 200,
        headers: owned(&[("Content-Type", "application/vnd.oci.image.index.v1+json")]),
        length: 500,
        sent: b"{\"schemaVersion\"".to_vec(),
    });
    let tag = format!("{}/test/stall:v1", server.host());
    let run = lookup(&["--timeout", "1", "--type", "manifest", &tag], &[]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    assert_eq!(
        run.stderr().trim(),
        format!(
            "lookup: error: {tag}: GET {}/v2/test/stall/manifests/v1: stalled: no data for 1 s (the limit set by --timeout or DOI_TIMEOUT)",
            server.url()
        )
    );
    assert_eq!(
        count(&server, "GET"),
        3,
        "a stall is retried: {}",
        server.log()
    );
}

#[test]
fn a_dripping_body_is_stalled_by_the_floor_rate() {
    let digest = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    let server = ScriptedServer::start(|_| Reply::Drip {
        status: 200,
        headers: owned(&[("Content-Type", "application/octet-stream")]),
        body: vec![b'x'; 4_000],
        every: Duration::from_millis(20),
    });
    let blob = format!("{}/test/drip@{digest}", server.host());
    // The variable sets what the flag would: one knob, two spellings.
    let run = lookup(&["--type", "blob", &blob], &[("DOI_TIMEOUT", "1")]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    let line = run.stderr();
    assert!(
        line.contains(&format!(
            "GET {}/v2/test/drip/blobs/{digest}: stalled: ",
            server.url()
        )) && line.contains("bytes in 1 s, below the floor of 1024 bytes/s")
            && line.trim().lines().count() == 1,
        "{line}"
    );
    assert_eq!(count(&server, "GET"), 3, "{}", server.log());
}

#[test]
fn an_answer_that_never_comes_ends_every_binary() {
    let server = ScriptedServer::start(|_| Reply::Hang);
    let tag = format!("{}/test/hang:v1", server.host());
    let run = lookup(&["--timeout", "1", "--head", &tag], &[]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    assert!(
        run.stderr().contains("stalled: no data for 1 s"),
        "{}",
        run.stderr()
    );
    assert_eq!(count(&server, "HEAD"), 3, "{}", server.log());
    // deploy: the HEAD of its blob hangs too.
    let input =
        json!({"type": "blob", "refs": [format!("{}/test/hang", server.host())], "data": ""})
            .to_string();
    let run = run_bounded(
        env!("CARGO_BIN_EXE_deploy"),
        &["--timeout", "0.5"],
        input.as_bytes(),
        &[],
        DEADLINE,
    );
    assert_eq!(run.code(), 1, "{}", run.stderr());
    assert!(
        run.stderr().contains("stalled: no data for 0.5 s"),
        "{}",
        run.stderr()
    );
}

/// A FaultProxy in front of a registry holding `test/limits:v1`.
fn rate_limited_registry() -> Option<(Registry, FaultProxy)> {
    if !support::require_registry() {
        return None;
    }
    let registry = Registry::start(RegistryAuth::None);
    support::seed_image(&registry.url(), "test/limits", "v1");
    let proxy = FaultProxy::start(&registry.host());
    Some((registry, proxy))
}

#[test]
fn retry_after_past_the_budget_fails_naming_the_request_and_what_was_asked() {
    let Some((_registry, proxy)) = rate_limited_registry() else {
        return;
    };
    proxy.inject(
        Match::new("GET", "/manifests/"),
        Fault::too_many_requests(Some(5)),
        100,
    );
    let tag = format!("{}/test/limits:v1", proxy.host());
    let run = lookup(
        &[
            "--retry-max-wait",
            "1",
            "--retry-budget",
            "2",
            "--type",
            "manifest",
            &tag,
        ],
        &[],
    );
    assert_eq!(run.code(), 1, "{}", run.stderr());
    assert_eq!(
        run.stderr().trim(),
        format!(
            "lookup: error: {tag}: GET {}/v2/test/limits/manifests/v1: gave up: the registry answered 429 and asked to wait 5 s more (Retry-After), past this request's wait budget of 2 s (2 s waited already; --retry-budget, DOI_RETRY_BUDGET)",
            proxy.url()
        )
    );
    // Waits of 1 s (the cap, not the 5 s asked), 1 s, then the budget.
    assert_eq!(proxy.count(), 3, "{}", proxy.log());
}

#[test]
fn retry_after_within_the_cap_and_budget_is_waited_out() {
    let Some((_registry, proxy)) = rate_limited_registry() else {
        return;
    };
    proxy.inject(
        Match::new("GET", "/manifests/"),
        Fault::too_many_requests(Some(1)),
        2,
    );
    let tag = format!("{}/test/limits:v1", proxy.host());
    let run = lookup(
        &["--type", "manifest", &tag],
        &[("DOI_RETRY_MAX_WAIT", "1"), ("DOI_RETRY_BUDGET", "5")],
    );
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert!(run.stdout().contains("schemaVersion"), "{}", run.stdout());
    assert_eq!(proxy.count(), 3, "{}", proxy.log());
}

#[test]
fn the_limits_are_documented_in_every_binary_and_checked() {
    for binary in [
        env!("CARGO_BIN_EXE_lookup"),
        env!("CARGO_BIN_EXE_deploy"),
        env!("CARGO_BIN_EXE_builds"),
    ] {
        let run = run_bounded(binary, &["--help"], b"", &[], DEADLINE);
        let help = run.stdout();
        for needle in [
            "--timeout",
            "--retry-max-wait",
            "--retry-budget",
            "DOI_TIMEOUT",
            "DOI_RETRY_MAX_WAIT",
            "DOI_RETRY_BUDGET",
            "1 KiB/s",
        ] {
            assert!(
                help.contains(needle),
                "{binary} --help lacks {needle}:\n{help}"
            );
        }
    }
    let run = lookup(&["localhost:5000/x"], &[("DOI_TIMEOUT", "soon")]);
    assert_eq!(run.code(), 1);
    assert_eq!(
        run.stderr().trim(),
        "lookup: error: DOI_TIMEOUT=\"soon\": expected a number of seconds, got \"soon\""
    );
    let run = run_bounded(
        env!("CARGO_BIN_EXE_deploy"),
        &["--retry-budget", "0"],
        b"",
        &[],
        DEADLINE,
    );
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("--retry-budget"), "{}", run.stderr());
}

/// The bytes the client got past a redirect are what it verifies: a 307 to
/// a server with other bytes is a digest mismatch, not an answer.
#[test]
fn a_redirect_does_not_bypass_verification() {
    let digest = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    let liar = ScriptedServer::start(|_| Reply::Answer {
        status: 200,
        headers: owned(&[("Content-Type", "application/octet-stream")]),
        body: b"not empty".to_vec(),
    });
    let front = ScriptedServer::start({
        let liar = liar.url();
        move |seen| Reply::redirect(&format!("{liar}{}", seen.target))
    });
    let config = docker_config(&[]);
    let blob = reference(&format!("{}/test/liar@{digest}", front.host()));
    let error = client(&config).get_blob(&blob).unwrap_err();
    assert_eq!(
        error.kind(),
        doi::registry::ErrorKind::DigestMismatch,
        "{error}"
    );
}

/// Content held locally (what `oci-push` has: a layout's blobs) through
/// the one write path: children first when the registry says they are
/// missing, small blobs uploaded, a big one streamed after a HEAD, and a
/// re-push costs one HEAD.
#[test]
fn local_content_is_pushed_through_the_one_write_path() {
    use doi::registry::push::{BlobContent, ChildSources, Manifest, Pushed, Pusher};
    use doi::registry::{BodySource, Digest};
    use std::collections::HashMap;

    struct Layout(HashMap<Digest, BlobContent>);
    impl ChildSources for Layout {
        fn listed(&self, _digest: &Digest) -> Option<&Reference> {
            None
        }
        fn fallback(&self) -> Option<&Reference> {
            None
        }
        fn local(&self, digest: &Digest) -> Option<BlobContent> {
            self.0.get(digest).cloned()
        }
    }
    if !support::require_registry() {
        return;
    }
    let registry = Registry::start(RegistryAuth::None);
    let proxy = FaultProxy::start(&registry.host());
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#
            .to_vec();
    let big: Arc<[u8]> = (0..100_000u32)
        .map(|index| (index % 251) as u8)
        .collect::<Vec<u8>>()
        .into();
    let descriptor = |media_type: &str, bytes: &[u8]| json!({"mediaType": media_type, "digest": Digest::sha256_of(bytes).to_string(), "size": bytes.len()});
    let image = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": descriptor("application/vnd.oci.image.config.v1+json", &config),
        "layers": [descriptor("application/vnd.oci.image.layer.v1.tar", &big)],
    })
    .to_string()
    .into_bytes();
    let index = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [descriptor("application/vnd.oci.image.manifest.v1+json", &image)],
    })
    .to_string()
    .into_bytes();
    let streamed = big.clone();
    let layout = Layout(HashMap::from([
        (
            Digest::sha256_of(&config),
            BlobContent::Bytes(config.clone().into()),
        ),
        (
            Digest::sha256_of(&big),
            BlobContent::Stream(BodySource::new(big.len() as u64, move || {
                Ok(Box::new(std::io::Cursor::new(streamed.clone()))
                    as Box<dyn std::io::Read + Send>)
            })),
        ),
        (
            Digest::sha256_of(&image),
            BlobContent::Bytes(image.clone().into()),
        ),
    ]));
    let manifest = Manifest::from_bytes(index.clone().into(), Digest::sha256_of(&index)).unwrap();
    let tag = reference(&format!("{}/test/layout:v1", proxy.host()));
    let config_dir = docker_config(&[]);
    let pusher = Pusher::new(client(&config_dir));
    assert_eq!(
        pusher.push_manifest(&tag, &manifest, &layout).unwrap(),
        Pushed::Written
    );
    let kind = |path: &str| {
        if path.contains("/manifests/") {
            "manifests"
        } else if path.contains("/blobs/uploads/") {
            "uploads"
        } else {
            "blobs"
        }
    };
    let requests: Vec<String> = proxy
        .requests()
        .iter()
        .map(|(method, path)| format!("{method} {}", kind(path)))
        .collect();
    assert_eq!(
        requests,
        vec![
            "HEAD manifests", // the index: not there
            "PUT manifests",  // refused: children missing
            "POST uploads",   // the config, offered in one POST
            "PUT uploads",    // docker-registry wants the PUT
            "HEAD blobs",     // the big layer: looked for first
            "POST uploads",
            "PUT uploads",   // streamed
            "PUT manifests", // the image, by digest
            "PUT manifests", // the index again
        ],
        "{}",
        proxy.log()
    );
    assert_eq!(
        registry
            .fetch_manifest("test/layout", "v1")
            .map(|(_, bytes)| bytes),
        Some(index.clone())
    );
    assert_eq!(
        registry
            .fetch_blob("test/layout", Digest::sha256_of(&big).as_str())
            .as_deref(),
        Some(&big[..])
    );
    proxy.reset_counts();
    let again = Pusher::new(client(&config_dir));
    assert_eq!(
        again.push_manifest(&tag, &manifest, &layout).unwrap(),
        Pushed::AlreadyThere
    );
    assert_eq!(proxy.requests().len(), 1, "{}", proxy.log());
}

/// Issue 10: registry error codes are an enum; these are the bodies the
/// real registry sends, parsed as the client parses them.
#[test]
fn error_codes_of_the_real_registry_are_known() {
    use doi::registry::error::parse_error_body;
    use doi::registry::ErrorCode;
    if !support::require_registry() {
        return;
    }
    let registry = Registry::start(RegistryAuth::None);
    let url = registry.url();
    let zeros = format!("sha256:{}", "0".repeat(64));
    let codes = |method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]| {
        let answer =
            support::request(method, &format!("{url}{path}"), headers, body).expect("request");
        parse_error_body(&answer.body)
            .into_iter()
            .map(|detail| detail.code)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        codes("GET", "/v2/test/codes/manifests/nope", &[], b""),
        vec![ErrorCode::ManifestUnknown]
    );
    assert_eq!(
        codes("GET", &format!("/v2/test/codes/blobs/{zeros}"), &[], b""),
        vec![ErrorCode::BlobUnknown]
    );
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": zeros, "size": 1},
        "layers": [],
    })
    .to_string();
    assert_eq!(
        codes(
            "PUT",
            "/v2/test/codes/manifests/v1",
            &[("Content-Type", "application/vnd.oci.image.manifest.v1+json")],
            manifest.as_bytes()
        ),
        vec![ErrorCode::ManifestBlobUnknown]
    );
    let started = support::request(
        "POST",
        &format!("{url}/v2/test/codes/blobs/uploads/"),
        &[],
        b"",
    )
    .expect("POST");
    let location = started.header("Location").expect("Location").to_string();
    let put = format!("{location}&digest={zeros}");
    let path = put.strip_prefix(&url).unwrap_or(&put).to_string();
    assert_eq!(
        codes(
            "PUT",
            &path,
            &[("Content-Type", "application/octet-stream")],
            b"other bytes"
        ),
        vec![ErrorCode::DigestInvalid]
    );
    let protected = Registry::start(RegistryAuth::basic(USER, PASSWORD));
    let answer = support::request(
        "GET",
        &format!("{}/v2/test/codes/manifests/v1", protected.url()),
        &[],
        b"",
    )
    .expect("GET");
    assert_eq!(
        parse_error_body(&answer.body)
            .into_iter()
            .map(|detail| detail.code)
            .collect::<Vec<_>>(),
        vec![ErrorCode::Unauthorized]
    );
}

/// A credential helper that never answers is stopped at `--timeout`, and
/// the request fails with one line saying so (nothing waits forever).
#[test]
fn a_credential_helper_that_hangs_is_stopped_at_the_timeout() {
    use std::os::unix::fs::PermissionsExt as _;
    let registry = ScriptedServer::start(|_| Reply::Answer {
        status: 401,
        headers: owned(&[("WWW-Authenticate", "Basic realm=\"scripted\"")]),
        body: Vec::new(),
    });
    let helpers = tempfile::tempdir().expect("temporary directory");
    let helper = helpers.path().join("docker-credential-stuck");
    std::fs::write(&helper, "#!/bin/sh\nexec sleep 600\n").expect("write helper");
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let config = tempfile::tempdir().expect("temporary directory");
    std::fs::write(
        config.path().join("config.json"),
        json!({"credsStore": "stuck"}).to_string(),
    )
    .expect("write docker config");
    let client = Client::new(ClientConfig {
        docker_config_dir: Some(config.path().to_path_buf()),
        credential_helper_dir: Some(helpers.path().to_path_buf()),
        timeouts: doi::registry::Timeouts {
            inactivity: Duration::from_millis(500),
            ..doi::registry::Timeouts::default()
        },
        ..ClientConfig::default()
    });
    let tag = reference(&format!("{}/test/helper:v1", registry.host()));
    let error = client.head_manifest(&tag).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "credential helper docker-credential-stuck for {}: no answer within 0.5 s (--timeout, DOI_TIMEOUT); it was stopped",
            registry.host()
        )
    );
}

//! Authentication and header rules of the registry client: Basic and token
//! auth against a real registry, the token cache by count, and where
//! credentials and the User-Agent go (checked on the wire with a small
//! recording server of ours).

use crate::support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use doi::registry::{Client, ClientConfig, Digest, ErrorKind, Reference, RetryPolicy};
use support::fixture::{self, DockerConfig, Proxied};
use support::RegistryAuth;

/// A client whose Docker config holds `auths` for `entries` (host, user,
/// password).
fn client_with_auths(
    entries: &[(&str, &str, &str)],
    adjust: impl FnOnce(&mut ClientConfig),
) -> (DockerConfig, Client) {
    let mut docker_config = DockerConfig::new();
    for (host, user, password) in entries {
        docker_config = docker_config.auth(host, user, password);
    }
    let mut config = ClientConfig {
        docker_config_dir: Some(docker_config.path().to_path_buf()),
        retry: RetryPolicy {
            minimum_delay: Duration::from_millis(50),
            maximum_delay: Duration::from_secs(2),
            ..RetryPolicy::default()
        },
        ..ClientConfig::default()
    };
    adjust(&mut config);
    (docker_config, Client::new(config))
}

fn reference(text: &str) -> Reference {
    text.parse().unwrap_or_else(|error| panic!("{error}"))
}

#[test]
fn basic_auth_with_credentials_from_the_docker_config() {
    let Some(Proxied { registry, proxy }) =
        Proxied::start(RegistryAuth::basic("alice", "wonderland"))
    else {
        return;
    };
    let image = support::seed_image(&registry.authenticated_url(), "test/basic", "v1");
    let (_config, client) = client_with_auths(&[(&proxy.host(), "alice", "wonderland")], |_| {});
    let tag = reference(&format!("{}/test/basic:v1", proxy.host()));
    let index = client.lookup_index(&tag).unwrap().unwrap();
    assert_eq!(index["manifests"].as_array().map(Vec::len), Some(2));
    // The first request met the challenge (401, then again with Basic);
    // every later one carried Basic from the start.
    assert_eq!(proxy.count(), 2, "{}", proxy.log());
    let config = tag
        .without_tag()
        .with_digest(image.manifests[0].config_digest.parse().unwrap());
    assert!(client.get_blob(&config).unwrap().is_some());
    assert_eq!(proxy.count(), 3, "{}", proxy.log());
    assert_eq!(client.stats().token_fetches, 0);
}

#[test]
fn without_credentials_a_protected_registry_reads_as_not_found() {
    let Some(registry) = fixture::registry(RegistryAuth::basic("alice", "wonderland")) else {
        return;
    };
    support::seed_image(&registry.authenticated_url(), "test/basic", "v1");
    let (_config, client) = client_with_auths(&[], |_| {});
    let tag = reference(&format!("{}/test/basic:v1", registry.host()));
    assert!(client.lookup_index(&tag).unwrap().is_none());
    // Wrong credentials: the registry still says 401 after we tried.
    let (_config, wrong) =
        client_with_auths(&[(&registry.host(), "alice", "not-the-password")], |_| {});
    assert!(wrong.head_manifest(&tag).unwrap().is_none());
}

#[test]
fn tokens_are_fetched_once_per_scope_and_up_front_once_the_host_is_known() {
    let Some(Proxied { registry, proxy }) = Proxied::start(RegistryAuth::Token) else {
        return;
    };
    let (user, password) = registry.credentials().expect("token credentials");
    let (user, password) = (user.to_string(), password.to_string());
    let url = registry.authenticated_url();
    let first = support::seed_image(&url, "test/first", "v1");
    support::seed_image(&url, "test/second", "v1");
    let token_server = registry.token_server().expect("token server");
    token_server.reset();
    let (_config, client) = client_with_auths(&[(&proxy.host(), &user, &password)], |_| {});
    let tag = reference(&format!("{}/test/first:v1", proxy.host()));
    client.lookup_index(&tag).unwrap().unwrap();
    let config = tag
        .without_tag()
        .with_digest(first.manifests[0].config_digest.parse().unwrap());
    client.get_blob(&config).unwrap().unwrap();
    assert_eq!(token_server.request_count(), 1);
    // The registry saw: anonymous GET (401), GET with the token, blob GET.
    assert_eq!(proxy.count(), 3, "{}", proxy.log());
    assert_eq!(
        token_server.scopes(),
        vec!["repository:test/first:pull".to_string()]
    );
    // A second repository: its token is fetched before the request, so no
    // 401 round trip.
    let second = reference(&format!("{}/test/second:v1", proxy.host()));
    client.head_manifest(&second).unwrap().unwrap();
    assert_eq!(token_server.request_count(), 2);
    assert_eq!(proxy.count(), 4, "{}", proxy.log());
    let stats = client.stats();
    assert_eq!(stats.token_fetches, 2);
    assert_eq!(stats.registry_requests(), 4);
}

#[test]
fn concurrent_first_requests_share_one_token_fetch() {
    let Some(registry) = fixture::registry(RegistryAuth::Token) else {
        return;
    };
    let (user, password) = registry.credentials().expect("token credentials");
    let (user, password) = (user.to_string(), password.to_string());
    let url = registry.authenticated_url();
    let image = support::seed_image(&url, "test/many", "base");
    for number in 0..8 {
        support::seed_manifest(
            &url,
            "test/many",
            &format!("t{number}"),
            "application/vnd.oci.image.index.v1+json",
            &image.index_bytes,
        );
    }
    let token_server = registry.token_server().expect("token server");
    token_server.reset();
    let (_config, client) = client_with_auths(&[(&registry.host(), &user, &password)], |_| {});
    let barrier = Arc::new(std::sync::Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|number| {
            let client = client.clone();
            let barrier = barrier.clone();
            let tag = reference(&format!("{}/test/many:t{number}", registry.host()));
            std::thread::spawn(move || {
                barrier.wait();
                client.head_manifest(&tag).unwrap().is_some()
            })
        })
        .collect();
    for handle in handles {
        assert!(handle.join().unwrap());
    }
    assert_eq!(token_server.request_count(), 1);
}

#[test]
fn expired_tokens_are_fetched_again() {
    let Some(registry) = fixture::registry(RegistryAuth::Token) else {
        return;
    };
    let (user, password) = registry.credentials().expect("token credentials");
    let (user, password) = (user.to_string(), password.to_string());
    let image = support::seed_image(&registry.authenticated_url(), "test/expiry", "v1");
    let token_server = registry.token_server().expect("token server");
    token_server.set_expires_in(1);
    token_server.reset();
    let (_config, client) = client_with_auths(&[(&registry.host(), &user, &password)], |_| {});
    let tag = reference(&format!("{}/test/expiry:v1", registry.host()));
    client.head_manifest(&tag).unwrap().unwrap();
    assert_eq!(token_server.request_count(), 1);
    std::thread::sleep(Duration::from_millis(1100));
    let blob = tag
        .without_tag()
        .with_digest(image.manifests[0].layer_digest.parse().unwrap());
    client.head_blob(&blob).unwrap().unwrap();
    assert_eq!(token_server.request_count(), 2);
}

#[test]
fn pushes_get_a_push_token_and_bad_credentials_are_a_clear_error() {
    let Some(registry) = fixture::registry(RegistryAuth::Token) else {
        return;
    };
    let (user, password) = registry.credentials().expect("token credentials");
    let (user, password) = (user.to_string(), password.to_string());
    let token_server = registry.token_server().expect("token server");
    let (_config, client) = client_with_auths(&[(&registry.host(), &user, &password)], |_| {});
    let repository = reference(&format!("{}/test/pushed", registry.host()));
    let bytes: Arc<[u8]> = Arc::from(&b"pushed with a token"[..]);
    let digest = Digest::sha256_of(&bytes);
    client.upload_blob(&repository, &digest, bytes).unwrap();
    assert!(token_server
        .scopes()
        .contains(&"repository:test/pushed:pull,push".to_string()));
    // The token server refuses these credentials.
    let (_config, wrong) = client_with_auths(&[(&registry.host(), &user, "wrong-secret")], |_| {});
    token_server.require_credentials(true);
    let error = wrong
        .head_manifest(&repository.with_tag("v1").unwrap())
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Authentication);
    assert!(
        error
            .to_string()
            .contains("the token server refused a token for"),
        "{error}"
    );
    assert!(!error.to_string().contains("wrong-secret"), "{error}");
}

/// A server that records each request head and answers with `answer`.
struct Recorder {
    port: u16,
    heads: Arc<Mutex<Vec<String>>>,
}

impl Recorder {
    fn start(answer: impl Fn(&str) -> String + Send + Sync + 'static) -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        let heads = Arc::new(Mutex::new(Vec::new()));
        let recorded = heads.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut head = String::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    head.push_str(&line);
                }
                let response = answer(&head);
                recorded.lock().unwrap().push(head);
                let _ = stream.write_all(response.as_bytes());
            }
        });
        Recorder { port, heads }
    }

    fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }
}

fn respond(status: &str, extra_headers: &str) -> String {
    format!("HTTP/1.1 {status}\r\n{extra_headers}Content-Length: 0\r\nConnection: close\r\n\r\n")
}

#[test]
fn a_redirect_to_another_host_loses_the_credentials() {
    // Blob storage: `localhost` is another host name than `127.0.0.1`.
    let storage = Recorder::start(|_| respond("404 Not Found", ""));
    let storage_port = storage.port;
    let registry = Recorder::start(move |head| {
        if head.to_ascii_lowercase().contains("authorization: basic") {
            respond(
                "307 Temporary Redirect",
                &format!("Location: http://localhost:{storage_port}/blob-storage/x\r\n"),
            )
        } else {
            respond(
                "401 Unauthorized",
                "WWW-Authenticate: Basic realm=\"test\"\r\n",
            )
        }
    });
    let host = format!("127.0.0.1:{}", registry.port);
    let (_config, client) = client_with_auths(&[(&host, "alice", "s3cret")], |_| {});
    let digest = Digest::sha256_of(b"x");
    let blob = reference(&format!("{host}/test/redirect@{digest}"));
    assert!(client.head_blob(&blob).unwrap().is_none());
    let registry_heads = registry.heads();
    assert_eq!(registry_heads.len(), 2, "{registry_heads:?}");
    assert!(registry_heads[1]
        .to_ascii_lowercase()
        .contains("authorization: basic"));
    let storage_heads = storage.heads();
    assert_eq!(storage_heads.len(), 1, "{storage_heads:?}");
    assert!(
        !storage_heads[0]
            .to_ascii_lowercase()
            .contains("authorization"),
        "{}",
        storage_heads[0]
    );
}

#[test]
fn docker_hub_credentials_never_go_to_the_public_proxy() {
    let mirror = Recorder::start(|_| respond("404 Not Found", ""));
    let mirror_url = format!("http://127.0.0.1:{}", mirror.port);
    let (_config, client) = client_with_auths(
        &[("https://index.docker.io/v1/", "hubuser", "hubsecret")],
        |config| config.docker_hub_proxy = Some(mirror_url.clone()),
    );
    assert!(client
        .lookup_index(&reference("busybox:latest"))
        .unwrap()
        .is_none());
    let heads = mirror.heads();
    assert_eq!(heads.len(), 1);
    assert!(heads[0].starts_with("GET /v2/library/busybox/manifests/latest HTTP/1.1"));
    assert!(!heads[0].to_ascii_lowercase().contains("authorization"));
}

#[test]
fn every_request_carries_our_user_agent_or_the_configured_one() {
    let recorder = Recorder::start(|_| respond("404 Not Found", ""));
    let host = format!("127.0.0.1:{}", recorder.port);
    let (_config, client) = client_with_auths(&[], |_| {});
    client
        .head_manifest(&reference(&format!("{host}/a:b")))
        .unwrap();
    let (_config, custom) =
        client_with_auths(&[], |config| config.user_agent = "custom-agent/9".into());
    custom
        .get_manifest(&reference(&format!("{host}/a:c")))
        .unwrap();
    let heads = recorder.heads();
    assert_eq!(heads.len(), 2);
    let user_agent = |head: &str| {
        head.lines()
            .find_map(|line| {
                line.to_ascii_lowercase()
                    .strip_prefix("user-agent: ")
                    .map(|value| value.trim().to_string())
            })
            .unwrap_or_default()
    };
    assert_eq!(
        user_agent(&heads[0]),
        format!("doi-deploy/{}", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(user_agent(&heads[1]), "custom-agent/9");
    // Manifest requests accept all four manifest types.
    assert!(heads[1].contains("application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json"));
}

#[test]
fn credential_helpers_named_in_the_docker_config_are_run() {
    let Some(registry) = fixture::registry(RegistryAuth::basic("helper-user", "helper-pass"))
    else {
        return;
    };
    support::seed_image(&registry.authenticated_url(), "test/helper", "v1");
    let docker_config = DockerConfig::new().cred_helper(&registry.host(), "doitest");
    let directory = docker_config.path();
    install_credential_helper(directory, "doitest", "helper-user", "helper-pass");
    let client = Client::new(ClientConfig {
        docker_config_dir: Some(directory.to_path_buf()),
        credential_helper_dir: Some(directory.to_path_buf()),
        ..ClientConfig::default()
    });
    let tag = reference(&format!("{}/test/helper:v1", registry.host()));
    assert!(client.lookup_index(&tag).unwrap().is_some());
}

#[test]
fn the_rate_limit_of_a_host_spaces_its_requests() {
    let recorder = Recorder::start(|_| respond("404 Not Found", ""));
    let host = format!("127.0.0.1:{}", recorder.port);
    let (_config, client) = client_with_auths(&[], |config| {
        config.rate_limits.insert(
            host.clone(),
            doi::registry::RateLimit {
                per_minute: 240.0,
                burst: 1,
            },
        );
    });
    let started = std::time::Instant::now();
    for tag in ["a", "b", "c"] {
        client
            .head_manifest(&reference(&format!("{host}/limited:{tag}")))
            .unwrap();
    }
    // One token at once, then one every 250 ms.
    assert!(
        started.elapsed() >= Duration::from_millis(450),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(recorder.heads().len(), 3);
}

/// Docker's identity tokens (a credential helper answering the user
/// `<token>`, or `identitytoken` in config.json) are OAuth2 refresh tokens:
/// they are exchanged with a POSTed refresh-token grant and never sent as a
/// password. Holds down the earlier behaviour of reading such hosts
/// anonymously.
#[test]
fn identity_tokens_are_exchanged_with_a_refresh_token_grant() {
    let Some(registry) = fixture::registry(RegistryAuth::Token) else {
        return;
    };
    let (_, password) = registry.credentials().expect("token credentials");
    let password = password.to_string();
    support::seed_image(&registry.authenticated_url(), "test/identity", "v1");
    let token_server = registry.token_server().expect("token server");
    token_server.require_credentials(true);

    // From a credential helper.
    let docker_config = DockerConfig::new().cred_helper(&registry.host(), "doiidentity");
    let directory = docker_config.path();
    install_credential_helper(directory, "doiidentity", "<token>", &password);
    token_server.reset();
    let client = Client::new(ClientConfig {
        docker_config_dir: Some(directory.to_path_buf()),
        credential_helper_dir: Some(directory.to_path_buf()),
        ..ClientConfig::default()
    });
    let tag = reference(&format!("{}/test/identity:v1", registry.host()));
    assert!(client.lookup_index(&tag).unwrap().is_some());
    let requests = token_server.requests();
    assert!(
        !requests.is_empty()
            && requests
                .iter()
                .all(|request| request.method == "POST" && request.status == 200),
        "{requests:?}"
    );

    // From config.json's identitytoken.
    let docker_config = DockerConfig::new().identity_token(&registry.host(), &password);
    token_server.reset();
    let client = Client::new(ClientConfig {
        docker_config_dir: Some(docker_config.path().to_path_buf()),
        ..ClientConfig::default()
    });
    assert!(client.lookup_index(&tag).unwrap().is_some());
    assert!(token_server
        .requests()
        .iter()
        .all(|request| request.method == "POST"));
}

/// Writes an executable `docker-credential-NAME` into `directory` that
/// answers every `get` with these credentials, as Docker's helpers do.
fn install_credential_helper(
    directory: &std::path::Path,
    name: &str,
    username: &str,
    secret: &str,
) {
    use std::os::unix::fs::PermissionsExt as _;
    let helper = directory.join(format!("docker-credential-{name}"));
    let answer = serde_json::json!({ "Username": username, "Secret": secret }).to_string();
    std::fs::write(
        &helper,
        format!("#!/bin/sh\nread server\ncat <<'EOF'\n{answer}\nEOF\n"),
    )
    .unwrap();
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
}

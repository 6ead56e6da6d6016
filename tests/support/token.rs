//! A Docker token server (the "token" auth scheme of the distribution
//! registry) for auth tests.
//!
//! Protocol kept (distribution `docs/spec/auth/token.md` and `jwt.md`): the
//! client GETs `realm?service=S&scope=T:NAME:ACTIONS[&scope=...]`, optionally
//! with Basic credentials, and gets `{"token", "access_token", "expires_in",
//! "issued_at"}`. The token is an RS256 JWT whose header carries the signing
//! certificate in `x5c`; distribution 2.8 verifies that chain against its
//! `auth.token.rootcertbundle` and then the claims `iss`, `aud` (= service),
//! `exp`/`nbf` (with a minute of leeway) and `access`. The OAuth2 POST form
//! (`grant_type=password`) is answered too, for clients that prefer it.
//!
//! Every scope requested is granted (the harness tests clients, not policy);
//! requests are recorded so tests can assert on what a client asked for.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use tokio::io::{AsyncWriteExt, BufReader};

use super::http::{percent_decode, percent_encode};
use super::wire::{self, BackgroundServer};

/// Default `expires_in`: the lifetime Docker Hub hands out.
const DEFAULT_EXPIRES_IN: u64 = 300;

/// One request the token server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// The `service` parameter, if sent.
    pub service: Option<String>,
    /// Every scope asked for, in order (a `scope` parameter holding several
    /// space-separated scopes counts as several).
    pub scopes: Vec<String>,
    /// The user name of the Basic credentials (or form `username`), if any.
    pub user: Option<String>,
    /// The status answered: 200, or 401 for missing/wrong credentials.
    pub status: u16,
}

struct State {
    service: String,
    issuer: String,
    key_path: PathBuf,
    certificate_der_base64: String,
    credentials: Mutex<Option<(String, String)>>,
    require_credentials: AtomicBool,
    expires_in: AtomicU64,
    requests: Mutex<Vec<TokenRequest>>,
}

/// The token server. Dropping it stops it.
pub struct TokenServer {
    state: Arc<State>,
    server: BackgroundServer,
    certificate_path: PathBuf,
    _directory: tempfile::TempDir,
}

/// Key and self-signed certificate, generated once per test process because
/// RSA key generation costs tens of milliseconds and suites start many
/// registries.
struct KeyMaterial {
    key_pem: Vec<u8>,
    certificate_pem: Vec<u8>,
    certificate_der_base64: String,
}

fn key_material() -> &'static KeyMaterial {
    static MATERIAL: OnceLock<KeyMaterial> = OnceLock::new();
    MATERIAL.get_or_init(|| match generate_key_material() {
        Ok(material) => material,
        Err(error) => panic!("token server: cannot generate a signing key with openssl: {error}"),
    })
}

fn generate_key_material() -> Result<KeyMaterial, String> {
    let directory = tempfile::tempdir().map_err(|error| format!("temp dir: {error}"))?;
    let key = directory.path().join("key.pem");
    let certificate = directory.path().join("cert.pem");
    super::tool_output(
        Command::new("openssl")
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256"])
            .args(["-days", "3650", "-subj", "/CN=doi-test-token-issuer"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&certificate),
        b"",
    )?;
    let key_pem = std::fs::read(&key).map_err(|error| format!("{}: {error}", key.display()))?;
    let certificate_pem = std::fs::read(&certificate)
        .map_err(|error| format!("{}: {error}", certificate.display()))?;
    // x5c holds standard (not URL-safe) base64 of the DER (RFC 7515 4.1.6),
    // which is exactly the PEM body without its armour and line breaks.
    let text = String::from_utf8_lossy(&certificate_pem);
    let certificate_der_base64: String = text
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect::<Vec<_>>()
        .concat();
    if certificate_der_base64.is_empty() {
        return Err("openssl wrote an empty certificate".to_string());
    }
    Ok(KeyMaterial {
        key_pem,
        certificate_pem,
        certificate_der_base64,
    })
}

impl TokenServer {
    /// Starts a token server for registry `service`, signing as `issuer`.
    /// Anonymous requests get tokens; requests with credentials other than
    /// `credentials` get 401 (see [`TokenServer::require_credentials`]).
    pub fn start(service: &str, issuer: &str, credentials: Option<(&str, &str)>) -> TokenServer {
        TokenServer::start_in(&std::env::temp_dir(), service, issuer, credentials)
    }

    /// [`TokenServer::start`] keeping its key files in a new directory
    /// under `parent` (a registry puts them in its own temp dir, so one
    /// cleanup covers both).
    pub fn start_in(
        parent: &Path,
        service: &str,
        issuer: &str,
        credentials: Option<(&str, &str)>,
    ) -> TokenServer {
        let material = key_material();
        let directory = match tempfile::Builder::new()
            .prefix("doi-token-")
            .tempdir_in(parent)
        {
            Ok(directory) => directory,
            Err(error) => panic!("token server: cannot create a temp dir: {error}"),
        };
        let key_path = directory.path().join("key.pem");
        let certificate_path = directory.path().join("cert.pem");
        for (path, bytes) in [
            (&key_path, &material.key_pem),
            (&certificate_path, &material.certificate_pem),
        ] {
            if let Err(error) = std::fs::write(path, bytes) {
                panic!("token server: cannot write {}: {error}", path.display());
            }
        }
        let state = Arc::new(State {
            service: service.to_string(),
            issuer: issuer.to_string(),
            key_path,
            certificate_der_base64: material.certificate_der_base64.clone(),
            credentials: Mutex::new(
                credentials.map(|(user, password)| (user.to_string(), password.to_string())),
            ),
            require_credentials: AtomicBool::new(false),
            expires_in: AtomicU64::new(DEFAULT_EXPIRES_IN),
            requests: Mutex::new(Vec::new()),
        });
        let shared = Arc::clone(&state);
        let server = match BackgroundServer::start("token-server", move |stream| {
            serve_connection(Arc::clone(&shared), stream)
        }) {
            Ok(server) => server,
            Err(error) => panic!("token server: cannot start: {error}"),
        };
        TokenServer {
            state,
            server,
            certificate_path,
            _directory: directory,
        }
    }

    /// `http://127.0.0.1:PORT/token`, the endpoint itself. (A `Registry`
    /// announces the realm through its token proxy instead; see
    /// `Registry::token_realm`.)
    pub fn realm(&self) -> String {
        format!("http://{}/token", self.host())
    }

    /// `127.0.0.1:PORT` of the token server.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.server.port())
    }

    /// The certificate to give the registry as `auth.token.rootcertbundle`.
    pub fn certificate_path(&self) -> &Path {
        &self.certificate_path
    }

    /// The `service` the tokens are issued for (their `aud`).
    pub fn service(&self) -> &str {
        &self.state.service
    }

    /// The `iss` of the tokens.
    pub fn issuer(&self) -> &str {
        &self.state.issuer
    }

    /// When true, anonymous token requests get 401 too.
    pub fn require_credentials(&self, required: bool) {
        self.state
            .require_credentials
            .store(required, Ordering::SeqCst);
    }

    /// Replaces the accepted credentials (None: any credentials are refused,
    /// anonymous requests still get tokens unless required).
    pub fn set_credentials(&self, credentials: Option<(&str, &str)>) {
        if let Ok(mut guard) = self.state.credentials.lock() {
            *guard = credentials.map(|(user, password)| (user.to_string(), password.to_string()));
        }
    }

    /// Sets `expires_in` (and the JWT `exp`) of tokens issued from now on.
    /// The registry allows a minute of clock leeway past `exp`.
    pub fn set_expires_in(&self, seconds: u64) {
        self.state.expires_in.store(seconds, Ordering::SeqCst);
    }

    /// How many token requests were answered (any status).
    pub fn request_count(&self) -> usize {
        self.requests().len()
    }

    /// Every request answered, in order.
    pub fn requests(&self) -> Vec<TokenRequest> {
        self.state
            .requests
            .lock()
            .map(|guard| guard.clone())
            .unwrap_or_default()
    }

    /// Every scope requested, in order, over all requests.
    pub fn scopes(&self) -> Vec<String> {
        self.requests()
            .into_iter()
            .flat_map(|request| request.scopes)
            .collect()
    }

    /// Forgets the recorded requests.
    pub fn reset(&self) {
        if let Ok(mut guard) = self.state.requests.lock() {
            guard.clear();
        }
    }

    /// Mints a token for `scopes` directly, without an HTTP round trip.
    pub fn issue(&self, scopes: &[&str]) -> String {
        let scopes: Vec<String> = scopes.iter().map(|scope| scope.to_string()).collect();
        match sign_token(&self.state, None, &scopes) {
            Ok((token, _, _)) => token,
            Err(error) => panic!("token server: cannot sign a token: {error}"),
        }
    }
}

async fn serve_connection(state: Arc<State>, stream: tokio::net::TcpStream) {
    let mut reader = BufReader::new(stream);
    loop {
        let head = match wire::read_head(&mut reader).await {
            Ok(Some(head)) => head,
            Ok(None) | Err(_) => return,
        };
        let body = match wire::request_framing(&head) {
            Ok(framing) => match wire::read_body(&mut reader, framing).await {
                Ok(body) => body,
                Err(_) => return,
            },
            Err(_) => return,
        };
        let close = head.header_has_token("Connection", "close");
        let (status, extra, payload) = answer(&state, &head, &body).await;
        let mut headers = vec![
            ("Content-Type", "application/json".to_string()),
            ("Content-Length", payload.len().to_string()),
        ];
        headers.extend(extra);
        if close {
            headers.push(("Connection", "close".to_string()));
        }
        let mut out = wire::response_head(status, wire::reason(status), &headers);
        out.extend_from_slice(&payload);
        if reader.get_mut().write_all(&out).await.is_err() || close {
            return;
        }
    }
}

async fn answer(
    state: &Arc<State>,
    head: &wire::Head,
    body: &[u8],
) -> (u16, Vec<(&'static str, String)>, Vec<u8>) {
    let method = head.first.to_ascii_uppercase();
    let (path, query) = head
        .second
        .split_once('?')
        .unwrap_or((head.second.as_str(), ""));
    if path != "/token" || (method != "GET" && method != "POST") {
        return (
            404,
            Vec::new(),
            br#"{"details":"token server: only GET/POST /token"}"#.to_vec(),
        );
    }
    let form = if method == "POST" {
        String::from_utf8_lossy(body).into_owned()
    } else {
        query.to_string()
    };
    let parameters = parse_query(&form);
    let get = |name: &str| super::http::parameter(&parameters, name);
    let scopes: Vec<String> = parameters
        .iter()
        .filter(|(key, _)| key == "scope")
        .flat_map(|(_, value)| value.split(' ').map(str::to_string).collect::<Vec<_>>())
        .filter(|scope| !scope.is_empty())
        .collect();
    // Credentials: Basic header (GET), or form fields (POST password grant).
    let presented = head
        .header("Authorization")
        .and_then(decode_basic)
        .or_else(|| match (get("username"), get("password")) {
            (Some(user), Some(password)) if method == "POST" => Some((user, password)),
            _ => None,
        })
        .or_else(|| {
            // OAuth2 refresh-token grant (Docker's identity tokens): this
            // server's identity token for the user is their password.
            let token = get("refresh_token").filter(|_| method == "POST")?;
            let accepted = state.credentials.lock().ok()?.clone()?;
            (get("grant_type").as_deref() == Some("refresh_token") && token == accepted.1)
                .then_some(accepted)
        });
    let accepted = state
        .credentials
        .lock()
        .map(|guard| guard.clone())
        .unwrap_or_default();
    let authorized = match &presented {
        Some(presented) => accepted.as_ref() == Some(presented),
        None => !state.require_credentials.load(Ordering::SeqCst),
    };
    let user = presented.as_ref().map(|(user, _)| user.clone());
    let status = if authorized { 200 } else { 401 };
    if let Ok(mut guard) = state.requests.lock() {
        guard.push(TokenRequest {
            method: method.clone(),
            service: get("service"),
            scopes: scopes.clone(),
            user: user.clone(),
            status,
        });
    }
    if !authorized {
        return (
            401,
            vec![(
                "WWW-Authenticate",
                "Basic realm=\"doi-test-token-server\"".to_string(),
            )],
            br#"{"details":"incorrect username or password"}"#.to_vec(),
        );
    }
    let signer = Arc::clone(state);
    let signed =
        match tokio::task::spawn_blocking(move || sign_token(&signer, user.as_deref(), &scopes))
            .await
        {
            Ok(result) => result,
            Err(error) => Err(SignError(format!("signing task failed: {error}"))),
        };
    match signed {
        Ok((token, expires_in, issued_at)) => {
            let document = serde_json::json!({
                "token": token,
                "access_token": token,
                "expires_in": expires_in,
                "issued_at": issued_at,
            });
            (200, Vec::new(), document.to_string().into_bytes())
        }
        Err(error) => {
            let document = serde_json::json!({ "details": format!("cannot sign: {error}") });
            (500, Vec::new(), document.to_string().into_bytes())
        }
    }
}

/// Why a token could not be signed (openssl missing or failing).
#[derive(Debug)]
struct SignError(String);

impl std::fmt::Display for SignError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.0)
    }
}

fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(key), percent_decode(value))
        })
        .collect()
}

fn decode_basic(value: &str) -> Option<(String, String)> {
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// Turns scopes (`repository:library/busybox:pull,push`, `registry:catalog:*`)
/// into the JWT `access` claim, merging repeated resources. The name is
/// everything between the first and the last colon, since repository names
/// may carry a `host:port/` prefix.
pub fn access_claim(scopes: &[String]) -> serde_json::Value {
    let mut entries: Vec<(String, String, Vec<String>)> = Vec::new();
    for scope in scopes {
        let Some((kind, rest)) = scope.split_once(':') else {
            continue;
        };
        let Some((name, actions)) = rest.rsplit_once(':') else {
            continue;
        };
        let actions: Vec<String> = actions
            .split(',')
            .filter(|action| !action.is_empty())
            .map(str::to_string)
            .collect();
        match entries
            .iter_mut()
            .find(|(existing_kind, existing_name, _)| {
                existing_kind == kind && existing_name == name
            }) {
            Some((_, _, existing)) => {
                for action in actions {
                    if !existing.contains(&action) {
                        existing.push(action);
                    }
                }
            }
            None => entries.push((kind.to_string(), name.to_string(), actions)),
        }
    }
    serde_json::Value::Array(
        entries
            .into_iter()
            .map(|(kind, name, actions)| {
                serde_json::json!({ "type": kind, "name": name, "actions": actions })
            })
            .collect(),
    )
}

/// Signs a JWT; returns (token, expires_in, issued_at in RFC 3339).
fn sign_token(
    state: &State,
    subject: Option<&str>,
    scopes: &[String],
) -> Result<(String, u64, String), SignError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|duration| duration.as_secs())
        .unwrap_or_default();
    let expires_in = state.expires_in.load(Ordering::SeqCst);
    let url_safe = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = serde_json::json!({
        "typ": "JWT",
        "alg": "RS256",
        "x5c": [state.certificate_der_base64],
    });
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let claims = serde_json::json!({
        "iss": state.issuer,
        "sub": subject.unwrap_or(""),
        "aud": state.service,
        "exp": now + expires_in,
        // A little in the past so a registry clock a hair behind ours agrees.
        "nbf": now.saturating_sub(5),
        "iat": now,
        "jti": format!("doi-test-{now}-{}", SEQUENCE.fetch_add(1, Ordering::SeqCst)),
        "access": access_claim(scopes),
    });
    let signing_input = format!(
        "{}.{}",
        url_safe.encode(header.to_string()),
        url_safe.encode(claims.to_string())
    );
    let signature = openssl_sign(&state.key_path, signing_input.as_bytes())?;
    Ok((
        format!("{signing_input}.{}", url_safe.encode(signature)),
        expires_in,
        rfc3339(now),
    ))
}

/// RS256 = RSASSA-PKCS1-v1_5 over SHA-256 (RFC 7518 3.3), which is what
/// `openssl dgst -sha256 -sign` produces with an RSA key.
fn openssl_sign(key_path: &Path, input: &[u8]) -> Result<Vec<u8>, SignError> {
    let signature = super::tool_output(
        Command::new("openssl")
            .args(["dgst", "-sha256", "-sign"])
            .arg(key_path),
        input,
    )
    .map_err(SignError)?;
    if signature.is_empty() {
        return Err(SignError("openssl dgst wrote no signature".to_string()));
    }
    Ok(signature)
}

/// `YYYY-MM-DDTHH:MM:SSZ` for a Unix time (civil-from-days, proleptic
/// Gregorian), as the token spec's `issued_at` wants RFC 3339.
pub fn rfc3339(unix_seconds: u64) -> String {
    let days = (unix_seconds / 86_400) as i64;
    let second_of_day = unix_seconds % 86_400;
    let (year, month, day) = doi::calendar::civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60
    )
}

/// `realm?service=..&scope=..` for a scope, for tests that call the token
/// server by hand.
pub fn token_url(realm: &str, service: &str, scopes: &[&str]) -> String {
    let mut url = format!("{realm}?service={}", percent_encode(service));
    for scope in scopes {
        url.push_str("&scope=");
        url.push_str(&percent_encode(scope));
    }
    url
}

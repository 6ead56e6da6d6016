//! Registry authentication: challenges, tokens, and who may see
//! credentials.
//!
//! The flow is Docker's token authentication (distribution "Token
//! Authentication Specification"): a request goes out anonymously; a 401
//! carries `WWW-Authenticate: Bearer realm=...,service=...,scope=...`; we
//! fetch a token from the realm (with Basic credentials when we have them)
//! and send the request again with `Authorization: Bearer`. `Basic`
//! challenges get Basic credentials directly. Tokens are cached per host and
//! scope until they expire (`expires_in`, 60 seconds when absent, as the
//! spec says), and fetched once however many threads need them at the same
//! moment. Once a host has challenged us, later requests for new scopes
//! fetch their token up front instead of earning a 401 first.
//!
//! Credentials for a host go to that host (Basic) or to the realm it names
//! (token fetch, over TLS or on loopback), never anywhere else: each value
//! is bound to the origin it is for, and the transport's redirect rule
//! ([`super::transport::auth::follow`]) drops it on any hop elsewhere.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::cache::SingleFlight;
use super::credentials::CredentialStore;
use super::credentials::Credentials;
use super::error::{ErrorKind, RegistryError};
use super::protocol::{self, Method, Origin};
use super::stats::RequestKind;
use super::transport::auth::{follow, Credential};
use super::transport::{Request, RequestBody, Response, Transport};

/// A parsed `WWW-Authenticate` challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Challenge {
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
    Basic,
}

/// Parses a `WWW-Authenticate` value (RFC 7235: `scheme param=value, ...`,
/// values quoted or not, possibly several challenges). Unknown schemes are
/// skipped; a Bearer challenge without realm is unusable and skipped.
pub fn parse_challenges(header: &str) -> Vec<Challenge> {
    let mut challenges = Vec::new();
    let mut rest = header.trim();
    while !rest.is_empty() {
        let scheme_end = rest.find([' ', ',']).unwrap_or(rest.len());
        let scheme = &rest[..scheme_end];
        rest = rest[scheme_end..].trim_start_matches([' ', ',']);
        let mut parameters: HashMap<String, String> = HashMap::new();
        // Parameters until the next token that is not followed by '='.
        while let Some(equals) = rest.find('=') {
            let name = &rest[..equals];
            if name.is_empty() || name.contains([' ', ',']) {
                break;
            }
            let after = &rest[equals + 1..];
            let (value, remaining) = if let Some(quoted) = after.strip_prefix('"') {
                let mut value = String::new();
                let mut characters = quoted.char_indices();
                let mut end = quoted.len();
                while let Some((index, character)) = characters.next() {
                    match character {
                        '\\' => {
                            if let Some((_, escaped)) = characters.next() {
                                value.push(escaped);
                            }
                        }
                        '"' => {
                            end = index + 1;
                            break;
                        }
                        other => value.push(other),
                    }
                }
                (value, &quoted[end.min(quoted.len())..])
            } else {
                let end = after.find(',').unwrap_or(after.len());
                (after[..end].trim().to_string(), &after[end..])
            };
            parameters.insert(name.to_ascii_lowercase(), value);
            rest = remaining.trim_start_matches([' ', ',']);
        }
        if scheme.eq_ignore_ascii_case("bearer") {
            if let Some(realm) = parameters.remove("realm") {
                challenges.push(Challenge::Bearer {
                    realm,
                    service: parameters.remove("service"),
                    scope: parameters.remove("scope"),
                });
            }
        } else if scheme.eq_ignore_ascii_case("basic") {
            challenges.push(Challenge::Basic);
        }
        if scheme.is_empty() {
            break;
        }
    }
    challenges
}

#[derive(Clone, Debug)]
struct Token {
    value: String,
    /// A little before expiry (a tenth of the lifetime, at most 5 s), so a
    /// token is never sent just as it runs out.
    refresh_at: Instant,
}

/// Authentication state shared by every host stack of one client.
pub struct AuthState {
    credentials: CredentialStore,
    /// Sends token requests (retry and User-Agent layers, no auth).
    token_transport: Arc<dyn Transport>,
    /// (host, scope) -> token, fetched once at a time.
    tokens: SingleFlight<(String, String), Token, RegistryError>,
    /// host -> the last challenge it sent (so new scopes get a token up
    /// front).
    challenges: Mutex<HashMap<String, Challenge>>,
}

/// What to put in `Authorization`, and whether it was obtained just now
/// (a fresh token that is refused is not worth fetching again).
pub struct Authorization {
    pub value: String,
    pub fresh: bool,
}

impl AuthState {
    pub fn new(credentials: CredentialStore, token_transport: Arc<dyn Transport>) -> AuthState {
        AuthState {
            credentials,
            token_transport,
            tokens: SingleFlight::new(),
            challenges: Mutex::new(HashMap::new()),
        }
    }

    fn known_challenge(&self, host: &str) -> Option<Challenge> {
        self.challenges
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(host)
            .cloned()
    }

    /// What to send with a first attempt to `host` for `scope`: a cached
    /// token, or (when the host is known to want one) a token fetched now,
    /// or Basic credentials for a host that asked for Basic; None means go
    /// anonymous.
    pub fn authorization_before(
        &self,
        host: &str,
        scope: &str,
    ) -> Result<Option<Authorization>, RegistryError> {
        match self.known_challenge(host) {
            None => Ok(None),
            Some(challenge) => self.authorize(host, scope, &challenge, false),
        }
    }

    /// What to send after `host` answered 401 with `challenge`.
    pub fn authorization_after(
        &self,
        host: &str,
        scope: &str,
        challenge: &Challenge,
        refused: Option<&Authorization>,
    ) -> Result<Option<Authorization>, RegistryError> {
        self.challenges
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(host.to_string(), challenge.clone());
        if refused.is_some() {
            // The cached token was refused (revoked, or too narrow): drop
            // it so the fetch below is a real one.
            self.tokens.remove(&(host.to_string(), scope.to_string()));
        }
        self.authorize(host, scope, challenge, true)
    }

    fn authorize(
        &self,
        host: &str,
        scope: &str,
        challenge: &Challenge,
        include_challenge_scope: bool,
    ) -> Result<Option<Authorization>, RegistryError> {
        match challenge {
            Challenge::Basic => {
                // An identity token only buys bearer tokens; it is no password.
                Ok(self
                    .credentials
                    .lookup(host)?
                    .filter(|credentials| credentials.refresh_token().is_none())
                    .map(|credentials| Authorization {
                        value: credentials.basic_authorization(),
                        fresh: false,
                    }))
            }
            Challenge::Bearer {
                realm,
                service,
                scope: challenge_scope,
            } => {
                let key = (host.to_string(), scope.to_string());
                // Expired, or about to: a token must outlive the request.
                self.tokens
                    .remove_if(&key, |token| token.refresh_at <= Instant::now());
                let mut fresh = false;
                let token = self.tokens.get_or_try_insert_with(&key, || {
                    fresh = true;
                    let mut scopes: Vec<&str> = scope.split_whitespace().collect();
                    if include_challenge_scope {
                        for extra in challenge_scope
                            .as_deref()
                            .unwrap_or_default()
                            .split_whitespace()
                        {
                            if !scopes.contains(&extra) {
                                scopes.push(extra);
                            }
                        }
                    }
                    self.fetch_token(host, realm, service.as_deref(), &scopes)
                })?;
                Ok(Some(Authorization {
                    value: format!("Bearer {}", token.value),
                    fresh,
                }))
            }
        }
    }

    /// Fetches a token for `scopes` from `realm`, in three phases: the
    /// request (what Docker's token flow sends, see [`token_request`]), the
    /// exchange (redirects followed, credentials kept on the realm's
    /// origin), and the answer ([`read_token`]).
    fn fetch_token(
        &self,
        host: &str,
        realm: &str,
        service: Option<&str>,
        scopes: &[&str],
    ) -> Result<Token, RegistryError> {
        let realm_origin = Origin::of(realm).ok_or_else(|| {
            RegistryError::new(
                ErrorKind::Authentication,
                format!("{host} names a token realm that is no http(s) URL: {realm:?}"),
            )
        })?;
        // Credentials go to the realm only over TLS, or on loopback.
        let realm_is_safe =
            realm_origin.is_https() || super::reference::host_uses_plain_http(realm_origin.host());
        let credentials = if realm_is_safe {
            self.credentials.lookup(host)?
        } else {
            None
        };
        let (request, basic) = token_request(realm, service, scopes, credentials.as_ref());
        let credential = basic.as_deref().map(|value| Credential {
            origin: &realm_origin,
            value,
        });
        let started = Instant::now();
        let response = follow(&request, credential.as_ref(), &mut |hop| {
            self.token_transport.send(hop)
        })?;
        read_token(&request, &response, host, scopes, started)
    }
}

/// The token request of Docker's flow: a GET of `realm` with `service` and
/// every scope in the query, with Basic credentials when we have a
/// password; or, for an identity token (an OAuth2 refresh token), a POSTed
/// refresh-token grant, never sending it as a password. Returns the request
/// and the Basic value to send with it.
fn token_request(
    realm: &str,
    service: Option<&str>,
    scopes: &[&str],
    credentials: Option<&Credentials>,
) -> (Request, Option<String>) {
    if let Some(refresh_token) = credentials.and_then(Credentials::refresh_token) {
        let mut form = format!(
            "grant_type=refresh_token&client_id={}&refresh_token={}",
            percent_encode(protocol::OAUTH_CLIENT_ID),
            percent_encode(refresh_token)
        );
        if let Some(service) = service {
            form.push_str(&format!("&service={}", percent_encode(service)));
        }
        if !scopes.is_empty() {
            form.push_str(&format!("&scope={}", percent_encode(&scopes.join(" "))));
        }
        let request = Request::new(Method::Post, RequestKind::Token, realm.to_string())
            .header(
                protocol::header::CONTENT_TYPE,
                crate::spec::media_type::FORM,
            )
            .body(RequestBody::Bytes(Arc::from(form.into_bytes())))
            .with_secret_body();
        return (request, None);
    }
    let mut url = realm.to_string();
    let mut separator = if realm.contains('?') { '&' } else { '?' };
    if let Some(service) = service {
        url.push_str(&format!("{separator}service={}", percent_encode(service)));
        separator = '&';
    }
    for scope in scopes {
        url.push_str(&format!("{separator}scope={}", percent_encode(scope)));
        separator = '&';
    }
    let basic = credentials.map(Credentials::basic_authorization);
    (Request::new(Method::Get, RequestKind::Token, url), basic)
}

/// The token in a token server's answer, with its lifetime (`expires_in`,
/// 60 s when absent as the spec says). A refusal is one line naming the
/// request as sent, the registry the token was for and the scopes asked.
fn read_token(
    request: &Request,
    response: &Response,
    host: &str,
    scopes: &[&str],
    started: Instant,
) -> Result<Token, RegistryError> {
    let failure = |message: &str| {
        RegistryError::for_request(
            ErrorKind::Authentication,
            request.method,
            &response.url,
            format!(
                "{message} (a token for {host}, scope {:?})",
                scopes.join(" ")
            ),
        )
    };
    if !response.is_success() {
        return Err(RegistryError::refused(
            ErrorKind::Authentication,
            request.method,
            &response.url,
            response.status,
            response.bytes(),
            &format!(
                "the token server refused a token for {host} (scope {:?})",
                scopes.join(" ")
            ),
        ));
    }
    let answer: serde_json::Value = serde_json::from_slice(response.bytes())
        .map_err(|_| failure("the token answer is not JSON"))?;
    let value = answer
        .get("token")
        .or_else(|| answer.get("access_token"))
        .and_then(|token| token.as_str())
        .filter(|token| !token.is_empty())
        .ok_or_else(|| failure("the token answer has no token"))?;
    let lifetime = answer
        .get("expires_in")
        .and_then(|seconds| seconds.as_u64())
        .filter(|seconds| *seconds > 0)
        .unwrap_or(60);
    let lifetime = Duration::from_secs(lifetime);
    let margin = (lifetime / 10).min(Duration::from_secs(5));
    Ok(Token {
        value: value.to_string(),
        refresh_at: started + lifetime - margin,
    })
}

/// Percent-encodes a query value (RFC 3986 unreserved characters kept).
pub fn percent_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_challenges_with_quoted_and_bare_values() {
        let challenges = parse_challenges(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/foo:pull,push""#,
        );
        assert_eq!(
            challenges,
            vec![Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
                scope: Some("repository:library/foo:pull,push".into()),
            }]
        );
        let bare = parse_challenges("bearer realm=http://127.0.0.1:1/token, service=test");
        assert_eq!(
            bare,
            vec![Challenge::Bearer {
                realm: "http://127.0.0.1:1/token".into(),
                service: Some("test".into()),
                scope: None,
            }]
        );
    }

    #[test]
    fn basic_and_several_challenges() {
        assert_eq!(
            parse_challenges(r#"Basic realm="Registry Realm""#),
            vec![Challenge::Basic]
        );
        assert_eq!(
            parse_challenges(r#"Basic realm="x", Bearer realm="https://a/t",service="s""#),
            vec![
                Challenge::Basic,
                Challenge::Bearer {
                    realm: "https://a/t".into(),
                    service: Some("s".into()),
                    scope: None
                }
            ]
        );
        assert!(parse_challenges("Bearer service=\"no realm\"").is_empty());
        assert!(parse_challenges("Negotiate").is_empty());
        assert!(parse_challenges("").is_empty());
    }

    #[test]
    fn escaped_quotes_in_values() {
        assert_eq!(
            parse_challenges(r#"Bearer realm="https://a/t",service="a \"quoted\" name""#),
            vec![Challenge::Bearer {
                realm: "https://a/t".into(),
                service: Some("a \"quoted\" name".into()),
                scope: None
            }]
        );
    }

    #[test]
    fn scopes_are_percent_encoded() {
        assert_eq!(
            percent_encode("repository:foo/bar:pull,push"),
            "repository%3Afoo%2Fbar%3Apull%2Cpush"
        );
    }
}

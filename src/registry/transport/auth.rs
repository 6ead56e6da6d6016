//! The outermost layer: follows redirects, attaches authorization for this
//! registry and answers 401 challenges once (see [`crate::registry::auth`]
//! for tokens and credentials).
//!
//! The one rule of who may see credentials lives here, in [`follow`]:
//! an `Authorization` value is bound to the origin (scheme, host and port)
//! it was issued for, and a request, or any hop of its redirects, that goes
//! to another origin is sent without it, whoever built the request. That is
//! why the HTTP layer follows no redirects itself: a 307 to another port of
//! the same host, or an upload `Location` elsewhere, is sent anonymously.
//!
//! A request is retried at most once after a 401; the second answer is
//! returned whatever it is (Docker Hub answers 401 for repositories that do
//! not exist, even with a valid token, and lookups read that as "not
//! found"). Only answers of this registry's own origin are challenges.

use std::sync::Arc;

pub use crate::registry::auth::AuthState;
use crate::registry::auth::{parse_challenges, Authorization, Challenge};
use crate::registry::error::RegistryError;
use crate::registry::protocol::{self, header, Method, Origin};

use super::{Request, RequestBody, Response, Transport};

/// An `Authorization` value and the one origin it may be sent to.
pub struct Credential<'a> {
    pub origin: &'a Origin,
    pub value: &'a str,
}

/// Sends `request` with `send_hop`, following redirects (up to
/// [`protocol::MAX_REDIRECTS`]); each hop carries `credential` only when it
/// goes to the credential's origin, and never any `Authorization` the
/// request itself had. A request whose body is a secret is not redirected
/// to another origin at all: the redirect is the answer.
pub fn follow(
    request: &Request,
    credential: Option<&Credential<'_>>,
    send_hop: &mut dyn FnMut(&Request) -> Result<Response, RegistryError>,
) -> Result<Response, RegistryError> {
    let mut hop = request.clone();
    let mut redirects = 0;
    loop {
        hop.headers
            .retain(|(name, _)| !name.eq_ignore_ascii_case(header::AUTHORIZATION));
        if let Some(credential) = credential {
            if Origin::of(&hop.url).as_ref() == Some(credential.origin) {
                hop.headers
                    .push((header::AUTHORIZATION, credential.value.to_string()));
            }
        }
        let response = send_hop(&hop)?;
        let Some(next) = redirected(&hop, &response) else {
            return Ok(response);
        };
        let elsewhere = Origin::of(&next.url) != Origin::of(&hop.url);
        if redirects == protocol::MAX_REDIRECTS || (request.secret_body && elsewhere) {
            // The redirect is the answer (the caller reports its status).
            return Ok(response);
        }
        redirects += 1;
        hop = next;
    }
}

/// The request a redirect asks for, or None when `response` is none
/// (RFC 9110 15.4: 307 and 308 keep method and body; 301, 302 and 303
/// turn anything but GET and HEAD into a GET without body, as browsers and
/// HTTP libraries do).
fn redirected(hop: &Request, response: &Response) -> Option<Request> {
    if !protocol::is_redirect_status(response.status) {
        return None;
    }
    let location = response.header(header::LOCATION)?;
    let base = Origin::of(&hop.url)?.base();
    let mut next = hop.clone();
    next.url = protocol::resolve_location(&base, location);
    if !matches!(response.status, 307 | 308) && !matches!(hop.method, Method::Get | Method::Head) {
        next.method = Method::Get;
        next.body = RequestBody::Empty;
        next.headers
            .retain(|(name, _)| !name.eq_ignore_ascii_case(header::CONTENT_TYPE));
    }
    Some(next)
}

pub struct AuthLayer {
    inner: Arc<dyn Transport>,
    /// The host whose credentials and tokens these are.
    host: String,
    /// Where they may go (None: nowhere).
    origin: Option<Origin>,
    state: Arc<AuthState>,
}

impl AuthLayer {
    pub fn new(
        inner: Arc<dyn Transport>,
        host: &str,
        origin: Option<Origin>,
        state: Arc<AuthState>,
    ) -> AuthLayer {
        AuthLayer {
            inner,
            host: host.to_string(),
            origin,
            state,
        }
    }

    /// Sends `request` (following redirects) with `authorization`, if any.
    fn send_with(
        &self,
        request: &Request,
        authorization: Option<&Authorization>,
    ) -> Result<Response, RegistryError> {
        let credential = match (&self.origin, authorization) {
            (Some(origin), Some(authorization)) => Some(Credential {
                origin,
                value: &authorization.value,
            }),
            _ => None,
        };
        follow(request, credential.as_ref(), &mut |hop| {
            self.inner.send(hop)
        })
    }

    /// The challenge of a 401 of this registry's own origin, if it is one.
    fn challenge(&self, response: &Response) -> Option<Challenge> {
        if response.status != 401
            || self.origin.is_none()
            || Origin::of(&response.url) != self.origin
        {
            return None;
        }
        let challenges = response
            .header(header::WWW_AUTHENTICATE)
            .map(parse_challenges)
            .unwrap_or_default();
        challenges
            .iter()
            .find(|challenge| matches!(challenge, Challenge::Bearer { .. }))
            .or_else(|| challenges.first())
            .cloned()
    }
}

impl Transport for AuthLayer {
    fn send(&self, request: &Request) -> Result<Response, RegistryError> {
        if self.origin.is_none() || Origin::of(&request.url) != self.origin {
            // Not this registry (an upload Location on blob storage): no
            // credentials, and its 401s are not ours to answer.
            return follow(request, None, &mut |hop| self.inner.send(hop));
        }
        let scope = request.scope.as_deref().unwrap_or_default();
        let before = self.state.authorization_before(&self.host, scope)?;
        let response = self.send_with(request, before.as_ref())?;
        let Some(challenge) = self.challenge(&response) else {
            return Ok(response);
        };
        if before.as_ref().is_some_and(|auth| auth.fresh) {
            // A token fetched for this very request was refused: no access.
            return Ok(response);
        }
        let after =
            self.state
                .authorization_after(&self.host, scope, &challenge, before.as_ref())?;
        match after {
            Some(auth)
                if before
                    .as_ref()
                    .is_none_or(|previous| previous.value != auth.value) =>
            {
                self.send_with(request, Some(&auth))
            }
            _ => Ok(response),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::stats::RequestKind;
    use crate::registry::transport::ResponseBody;
    use std::sync::Mutex;

    /// Answers each URL from a script, recording the Authorization it saw.
    struct Script {
        answers: Vec<(&'static str, u16, Option<&'static str>)>,
        seen: Mutex<Vec<(String, Method, Option<String>)>>,
    }

    impl Script {
        fn send(&self, hop: &Request) -> Result<Response, RegistryError> {
            let authorization = hop
                .headers
                .iter()
                .find(|(name, _)| *name == header::AUTHORIZATION)
                .map(|(_, value)| value.clone());
            self.seen
                .lock()
                .unwrap()
                .push((hop.url.clone(), hop.method, authorization));
            let (status, location) = self
                .answers
                .iter()
                .find(|(url, _, _)| *url == hop.url)
                .map_or((404, None), |(_, status, location)| (*status, *location));
            let mut headers = ::ureq::http::HeaderMap::new();
            if let Some(location) = location.and_then(|location| location.parse().ok()) {
                headers.insert(header::LOCATION, location);
            }
            Ok(Response {
                status,
                headers,
                body: ResponseBody::Bytes(Vec::new()),
                url: hop.url.clone(),
            })
        }
    }

    fn run(
        request: Request,
        answers: Vec<(&'static str, u16, Option<&'static str>)>,
    ) -> Vec<(String, Method, Option<String>)> {
        let script = Script {
            answers,
            seen: Mutex::new(Vec::new()),
        };
        let origin = Origin::of("http://127.0.0.1:5000").unwrap();
        let credential = Credential {
            origin: &origin,
            value: "Bearer secret",
        };
        follow(&request, Some(&credential), &mut |hop| script.send(hop)).unwrap();
        script.seen.into_inner().unwrap()
    }

    #[test]
    fn credentials_stay_on_their_origin_across_redirects() {
        let request = Request::new(
            Method::Get,
            RequestKind::Get,
            "http://127.0.0.1:5000/v2/x/blobs/a".into(),
        )
        .header(header::AUTHORIZATION, "Basic smuggled");
        let seen = run(
            request,
            vec![
                (
                    "http://127.0.0.1:5000/v2/x/blobs/a",
                    307,
                    Some("http://127.0.0.1:5001/b"),
                ),
                ("http://127.0.0.1:5001/b", 302, Some("/c")),
                (
                    "http://127.0.0.1:5001/c",
                    301,
                    Some("http://127.0.0.1:5000/d"),
                ),
                ("http://127.0.0.1:5000/d", 200, None),
            ],
        );
        let authorizations: Vec<(&str, Option<&str>)> = seen
            .iter()
            .map(|(url, _, auth)| (url.as_str(), auth.as_deref()))
            .collect();
        assert_eq!(
            authorizations,
            vec![
                ("http://127.0.0.1:5000/v2/x/blobs/a", Some("Bearer secret")),
                ("http://127.0.0.1:5001/b", None),
                ("http://127.0.0.1:5001/c", None),
                ("http://127.0.0.1:5000/d", Some("Bearer secret")),
            ]
        );
    }

    #[test]
    fn redirects_keep_or_change_the_method_as_http_says() {
        let put = || {
            Request::new(
                Method::Put,
                RequestKind::Put,
                "http://127.0.0.1:5000/v2/x/manifests/t".into(),
            )
            .body(RequestBody::Bytes(Arc::from(&b"{}"[..])))
        };
        let seen = run(
            put(),
            vec![(
                "http://127.0.0.1:5000/v2/x/manifests/t",
                307,
                Some("http://127.0.0.1:5001/t"),
            )],
        );
        assert_eq!(seen[1].1, Method::Put);
        let seen = run(
            put(),
            vec![(
                "http://127.0.0.1:5000/v2/x/manifests/t",
                303,
                Some("http://127.0.0.1:5001/t"),
            )],
        );
        assert_eq!(seen[1].1, Method::Get);
    }

    #[test]
    fn a_secret_body_is_not_redirected_elsewhere_and_loops_end() {
        let request = Request::new(
            Method::Post,
            RequestKind::Token,
            "http://127.0.0.1:5000/token".into(),
        )
        .with_secret_body();
        let seen = run(
            request,
            vec![(
                "http://127.0.0.1:5000/token",
                307,
                Some("http://127.0.0.1:5001/token"),
            )],
        );
        assert_eq!(seen.len(), 1);
        let looping = Request::new(
            Method::Get,
            RequestKind::Get,
            "http://127.0.0.1:5000/a".into(),
        );
        let seen = run(looping, vec![("http://127.0.0.1:5000/a", 302, Some("/a"))]);
        assert_eq!(seen.len(), protocol::MAX_REDIRECTS + 1);
    }
}
